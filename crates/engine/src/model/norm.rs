//! RMSNorm.

use burn::tensor::Tensor;

/// `x · rsqrt(mean(x²) + eps) · weight` over the last dimension, in f32 like HF's `LlamaRMSNorm`.
pub fn rms_norm<const D: usize>(x: Tensor<D>, weight: &Tensor<1>, eps: f32) -> Tensor<D> {
    // One token on WebGPU: one dispatch of our own (model/gpu.rs) instead of seven.
    #[cfg(webgpu)]
    if let Some(y) = super::gpu::rms_norm_one_row(&x, weight, eps) {
        return y;
    }
    let mean_square = x.clone().square().mean_dim(D - 1);
    let inv_rms = mean_square.add_scalar(eps).sqrt().recip();
    x * inv_rms * weight.clone().unsqueeze::<D>()
}
