//! The MLP half of a block: `h + down(silu(gate(x)) · up(x))`, `x = rms_norm(h)`.

use burn::tensor::{Tensor, activation::silu};

use super::{LayerWeights, LlamaConfig};

/// The MLP half of one block on the residual stream `h` (`[rows, hidden]`): RMSNorm, the
/// SwiGLU MLP and the residual add. Returns the new stream.
pub fn mlp(h: Tensor<2>, weights: &LayerWeights, config: &LlamaConfig) -> Tensor<2> {
    let ffn_size = config.ffn_size;
    let gate_up = weights
        .w_gate_up
        .forward_normed(h.clone(), &weights.ffn_norm, config.rms_eps);
    // One token on WebGPU: SwiGLU in one dispatch of our own (model/gpu.rs) instead of eight.
    #[cfg(webgpu)]
    if let Some(act) = super::gpu::swiglu_one_row(&gate_up, ffn_size) {
        return weights.w_down.forward_add(act, h);
    }
    let gate = gate_up.clone().narrow(1, 0, ffn_size);
    let up = gate_up.narrow(1, ffn_size, ffn_size);
    weights.w_down.forward_add(silu(gate) * up, h)
}
