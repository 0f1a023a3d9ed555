//! The SwiGLU MLP: `down(silu(gate(x)) · up(x))`.

use burn::tensor::{Tensor, activation::silu};

use super::LayerWeights;

/// Apply the block's MLP to normalised rows `x` (`[rows, hidden]`).
pub fn mlp(x: Tensor<2>, weights: &LayerWeights, ffn_size: usize) -> Tensor<2> {
    let gate_up = weights.w_gate_up.forward(x);
    // One token on WebGPU: SwiGLU in one dispatch of our own (model/gpu.rs) instead of eight.
    #[cfg(target_arch = "wasm32")]
    if let Some(h) = super::gpu::swiglu_one_row(&gate_up, ffn_size) {
        return weights.w_down.forward(h);
    }
    let gate = gate_up.clone().narrow(1, 0, ffn_size);
    let up = gate_up.narrow(1, ffn_size, ffn_size);
    weights.w_down.forward(silu(gate) * up)
}
