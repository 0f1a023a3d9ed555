//! Our own WebGPU kernels for the decode step (one token, batch 1), where burn's general ops
//! cost several dispatches each (docs/webgpu-decode.md). Used only when the tensors live on a
//! cubecl device without fusion; everything else runs burn's ops.

use burn::backend::wgpu::CubeTensor;
use burn::backend::{BackendTensor, Cube, DispatchTensorKind};
use burn::tensor::{DType, Shape, Tensor};
use cubecl::prelude::{CubeCount, CubeDim};

use kernels::{q4_matvec, q8_matvec};

/// Units per cube of the mat-vec kernels (a power of two: the reduction halves it).
const UNITS: usize = 64;

/// The cubecl tensor behind `t`, if it lives on a cubecl device (not flex, not fusion).
fn cube_of<const D: usize>(t: Tensor<D>) -> Option<CubeTensor> {
    match t.into_dispatch().kind {
        DispatchTensorKind::Cube(BackendTensor::Float(c))
        | DispatchTensorKind::Cube(BackendTensor::Quantized(c)) => Some(c),
        _ => None,
    }
}

/// The kernels (CubeCL, compiled to WGSL by the browser's WebGPU at first use).
mod kernels {
    use cubecl::prelude::*;

    /// The signed 4-bit value at bit `shift` of `word` (two's complement), as f32.
    #[cube]
    fn nibble(word: u32, shift: u32) -> f32 {
        let raw = (word >> shift) & 15u32;
        f32::cast_from(i32::cast_from(raw) - i32::cast_from(raw >= 8u32) * 16i32)
    }

    /// The signed byte at bit `shift` of `word`, as f32.
    #[cube]
    fn byte(word: u32, shift: u32) -> f32 {
        let raw = (word >> shift) & 255u32;
        f32::cast_from(i32::cast_from(raw) - i32::cast_from(raw >= 128u32) * 256i32)
    }

    /// Sum of `acc` over the cube's units (shared-memory tree); unit 0 gets the total.
    #[cube]
    fn cube_sum(acc: f32, #[comptime] units: usize) -> f32 {
        let unit = UNIT_POS_X as usize;
        let mut partial = Shared::new_slice(units);
        partial[unit] = acc;
        sync_cube();
        let mut half = (units / 2).runtime();
        while half > 0 {
            if unit < half {
                partial[unit] += partial[unit + half];
            }
            sync_cube();
            half /= 2;
        }
        partial[0]
    }

    /// `y[o] = Σ_b d[o,b] · Σ_{i∈b} q[o,i] · x[i] + Σ_b offset[b,o] · Σ_{i∈b} x[i]`: GGUF Q4_1 as
    /// the engine loads it (burn's Q4F values `q − 8`, scale `d`, offset `m + 8d`; see
    /// `weights::WeightMode`), in one pass. `w`: `[out, in/8]` words (value `8j + k` at bit
    /// `4k`); `scales`: `[out, in/32]`; `offsets`: `[in/32, out]` (ignored when `with_offset` is
    /// false: Q4F alone); `x`: `[in]`; `y`: `[out]`. One cube per output row.
    #[cube(launch)]
    pub fn q4_matvec(
        w: &Tensor<u32>,
        scales: &Tensor<f32>,
        offsets: &Tensor<f32>,
        x: &Tensor<f32>,
        y: &mut Tensor<f32>,
        #[comptime] with_offset: bool,
        #[comptime] units: usize,
    ) {
        let row = CUBE_POS_Y as usize * CUBE_COUNT_X as usize + CUBE_POS_X as usize;
        let rows = w.shape(0);
        let words = w.shape(1);
        let mut acc = 0.0f32;
        if row < rows {
            let w_row = row * w.stride(0);
            let s_row = row * scales.stride(0);
            let mut j = UNIT_POS_X as usize;
            while j < words {
                let word = w[w_row + j];
                let i = j * 8;
                let mut dot = 0.0f32;
                let mut sum = 0.0f32;
                #[unroll]
                for k in 0..8u32 {
                    let xi = x[i + k as usize];
                    dot += nibble(word, k * 4u32) * xi;
                    sum += xi;
                }
                let block = j / 4;
                acc += scales[s_row + block] * dot;
                if with_offset {
                    acc += offsets[block * offsets.stride(0) + row] * sum;
                }
                j += units;
            }
        }
        let total = cube_sum(acc, units);
        if UNIT_POS_X == 0 && row < rows {
            y[row] = total;
        }
    }

    /// The Q8F version of [`q4_matvec`] (GGUF Q8_0: values `q`, scale `d`): `w` is `[out, in/4]`
    /// words, value `4j + k` at bit `8k`.
    #[cube(launch)]
    pub fn q8_matvec(
        w: &Tensor<u32>,
        scales: &Tensor<f32>,
        x: &Tensor<f32>,
        y: &mut Tensor<f32>,
        #[comptime] units: usize,
    ) {
        let row = CUBE_POS_Y as usize * CUBE_COUNT_X as usize + CUBE_POS_X as usize;
        let rows = w.shape(0);
        let words = w.shape(1);
        let mut acc = 0.0f32;
        if row < rows {
            let w_row = row * w.stride(0);
            let s_row = row * scales.stride(0);
            let mut j = UNIT_POS_X as usize;
            while j < words {
                let word = w[w_row + j];
                let i = j * 4;
                let mut dot = 0.0f32;
                #[unroll]
                for k in 0..4u32 {
                    dot += byte(word, k * 8u32) * x[i + k as usize];
                }
                acc += scales[s_row + j / 8] * dot;
                j += units;
            }
        }
        let total = cube_sum(acc, units);
        if UNIT_POS_X == 0 && row < rows {
            y[row] = total;
        }
    }
}

/// Cubes for `rows` output rows, spilling into y past WebGPU's 65,535 per dimension.
fn grid(rows: usize) -> CubeCount {
    const MAX: usize = 65_535;
    if rows <= MAX {
        CubeCount::Static(rows as u32, 1, 1)
    } else {
        CubeCount::Static(MAX as u32, rows.div_ceil(MAX) as u32, 1)
    }
}

/// `x · Wᵀ` (+ Q4_1's offset term) for one row `x` (`[1, in]`), with the engine's quantized
/// weight `[out, in]` (Q4F or Q8F, blocks of 32) and optional `[in/32, out]` offsets: one
/// dispatch instead of burn's matmul plus three for the offset. `None` when the tensors are not
/// on a cubecl device or the weight is not a format this kernel reads; the caller then runs
/// burn's ops.
pub fn quantized_matvec(
    weight: &Tensor<2>,
    offset: Option<&Tensor<2>>,
    x: &Tensor<2>,
) -> Option<Tensor<2>> {
    let [rows, input] = x.dims();
    if rows != 1 {
        return None;
    }
    let w = cube_of(weight.clone())?;
    let DType::QFloat(scheme) = w.dtype else {
        return None;
    };
    // A storage-tiled weight is laid out for burn's matmul, not as rows: leave it to burn.
    if w.meta.is_tiled() {
        return None;
    }
    let (values, scales) = w.quantized_handles()?;
    let x = cube_of(x.clone())?;
    if !x.is_contiguous() {
        return None;
    }
    let out = w.meta.shape()[0];
    let client = x.client.clone();
    let y = CubeTensor::new_contiguous(
        client.clone(),
        x.device.clone(),
        Shape::new([1, out]),
        client.empty(out * core::mem::size_of::<f32>()),
        DType::F32,
    );
    use burn::tensor::quantization::QuantValue;
    match scheme.value {
        QuantValue::Q4F => {
            if values.meta.shape()[1] * 8 != input {
                return None;
            }
            let offsets = match offset {
                Some(o) => Some(cube_of(o.clone()).filter(|o| !o.meta.is_tiled())?),
                None => None,
            };
            let with_offset = offsets.is_some();
            // Without an offset the kernel still needs a tensor argument: the scales stand in,
            // unread.
            let offsets = offsets.unwrap_or_else(|| scales.clone());
            q4_matvec::launch(
                &client,
                grid(out),
                CubeDim::new_1d(UNITS as u32),
                values.into_tensor_arg(),
                scales.into_tensor_arg(),
                offsets.into_tensor_arg(),
                x.into_tensor_arg(),
                y.clone().into_tensor_arg(),
                with_offset,
                UNITS,
            );
        }
        QuantValue::Q8F if offset.is_none() => {
            if values.meta.shape()[1] * 4 != input {
                return None;
            }
            q8_matvec::launch(
                &client,
                grid(out),
                CubeDim::new_1d(UNITS as u32),
                values.into_tensor_arg(),
                scales.into_tensor_arg(),
                x.into_tensor_arg(),
                y.clone().into_tensor_arg(),
                UNITS,
            );
        }
        _ => return None,
    }
    Some(Tensor::from_primitive::<Cube>(y))
}
