//! A projection matrix on its device, and how rows are multiplied by it.

use std::sync::Arc;

use burn::tensor::{Tensor, TensorData};

use super::QUANT_BLOCK;
use crate::model::block_matmul::BlockMatrix;
#[cfg(webgpu)]
use crate::model::gpu;
use crate::model::norm::rms_norm;

/// A projection `y = x·W (+ block sums of x · offset)`.
///
/// Orientation: f32 weights are stored input-major (`[in, out]`, a plain `x.matmul(w)`).
/// Quantized weights keep GGUF's output-major orientation (`[out, in]`, blocks of 32 along the
/// input, the last axis) and run as `(W·xᵀ)ᵀ`, so the quantized tensor is the matmul's lhs and is
/// never transposed: burn's packed quantization (wgpu) only accepts blocks along the packed last
/// axis, and flex would dequantize and requantize a transposed block-quantized tensor.
#[derive(Debug, Clone)]
pub enum Linear {
    /// `[in, out]` f32 weights on the device.
    InputMajor(Tensor<2>),
    /// `[out, in]` burn-quantized weights on the device, plus the `[in/32, out]` correction for
    /// asymmetric blocks (Q4_1's `m + 8d`), if any.
    OutputMajor {
        /// The quantized matrix.
        weight: Tensor<2>,
        /// Q4_1's offset term (boxed: a tensor handle is large, and most projections on most
        /// devices have none).
        offset: Option<Box<Tensor<2>>>,
    },
    /// GGUF blocks in host memory, multiplied by our CPU kernel ([`WeightMode::HostBlocks`]).
    HostBlocks(Arc<BlockMatrix>),
}

/// Up to this many rows a [`Linear::HostBlocks`] product runs in our kernel (decode, the lab's
/// batches of 16); more rows (prefill) dequantize the matrix for burn's matmul, which multiplies
/// many rows faster than the kernel once reading the weights is no longer the cost.
pub const HOST_KERNEL_MAX_ROWS: usize = 16;

impl Linear {
    /// Apply to rows `x` (`[rows, in]`).
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        match self {
            Linear::InputMajor(w) => x.matmul(w.clone()),
            Linear::OutputMajor { weight, offset } => {
                // One token on WebGPU: our kernel reads the blocks and adds the offset term in
                // one dispatch (burn's ops take four).
                #[cfg(webgpu)]
                if let Some(y) = self.one_row_kernel(&x, gpu::MatvecInput::Plain) {
                    return y;
                }
                let sums = offset.as_ref().map(|_| {
                    let [rows, input] = x.dims();
                    let blocks = input / QUANT_BLOCK;
                    x.clone()
                        .reshape([rows, blocks, QUANT_BLOCK])
                        .sum_dim(2)
                        .reshape([rows, blocks])
                });
                let y = weight.clone().matmul(x.transpose()).transpose();
                match (sums, offset) {
                    (Some(sums), Some(offset)) => y + sums.matmul((**offset).clone()),
                    _ => y,
                }
            }
            Linear::HostBlocks(m) => host_blocks_forward(m, x),
        }
    }

    /// `residual + x·W`: a sublayer's projection added to the residual stream (`[rows, out]`).
    pub fn forward_add(&self, x: Tensor<2>, residual: Tensor<2>) -> Tensor<2> {
        // One token on WebGPU: the add in the mat-vec's last step, one dispatch fewer.
        #[cfg(webgpu)]
        if let Some(y) = self.one_row_kernel(&x, gpu::MatvecInput::AddTo(&residual)) {
            return y;
        }
        residual + self.forward(x)
    }

    /// `rms_norm(x, norm, eps)·W`: a projection of RMSNorm's output (`x`: `[rows, in]`).
    pub fn forward_normed(&self, x: Tensor<2>, norm: &Tensor<1>, eps: f32) -> Tensor<2> {
        // One token on WebGPU: the norm inside the mat-vec, one dispatch fewer.
        #[cfg(webgpu)]
        if let Some(y) = self.one_row_kernel(&x, gpu::MatvecInput::RmsNormed(norm, eps)) {
            return y;
        }
        self.forward(rms_norm(x, norm, eps))
    }

    /// Our WebGPU mat-vec kernel for one row of quantized weights (`model/gpu.rs`); `None`
    /// where it does not apply and burn's ops run instead.
    #[cfg(webgpu)]
    fn one_row_kernel(&self, x: &Tensor<2>, input: gpu::MatvecInput<'_>) -> Option<Tensor<2>> {
        match self {
            Linear::OutputMajor { weight, offset } => {
                gpu::quantized_matvec(weight, offset.as_deref(), x, input)
            }
            _ => None,
        }
    }
}

/// [`Linear::HostBlocks`]: the kernel for a few rows, burn's matmul on the dequantized matrix
/// otherwise. Reading `x` back is immediate on flex, the only device this mode loads on; should
/// it ever fail, the dequantized path gives the same result, so nothing is lost.
fn host_blocks_forward(m: &BlockMatrix, x: Tensor<2>) -> Tensor<2> {
    let [rows, _] = x.dims();
    let device = x.device();
    if rows <= HOST_KERNEL_MAX_ROWS {
        let product = x
            .clone()
            .try_into_data()
            .ok()
            .and_then(|d| d.try_into_vec::<f32>().ok())
            .and_then(|xs| m.matmul(&xs, rows).ok());
        if let Some(y) = product {
            return Tensor::from_data(TensorData::new(y, [rows, m.out()]), &device);
        }
    }
    let w: Tensor<2> = Tensor::from_data(
        TensorData::new(m.dequantize(), [m.out(), m.input()]),
        &device,
    );
    x.matmul(w.transpose())
}
