//! Our own WebGPU kernels for the decode step (one token, batch 1), where burn's general ops
//! cost several dispatches each (docs/webgpu-decode.md). Used only when the tensors live on a
//! cubecl device without fusion; everything else runs burn's ops.

use burn::backend::wgpu::CubeTensor;
use burn::backend::{BackendTensor, Cube, DispatchTensorKind};
use burn::tensor::quantization::QuantValue;
use burn::tensor::{DType, Shape, Tensor};
use cubecl::prelude::{CubeCount, CubeDim};

use crate::device::{MatvecShape, webgpu_shapes};

use kernels::{
    cap_row, decode_attention, quantized_matvec_rows, rms_norm_row, rope_into_cache, swiglu_row,
};

/// Units per cube of the row kernels (a power of two: their reductions halve it).
const UNITS: usize = 64;

/// Rows per cube and units per row of the quantized mat-vec (`rows × lanes` = [`UNITS`]).
fn rows_and_lanes(shape: MatvecShape) -> (usize, usize) {
    match shape {
        MatvecShape::Cooperative => (16, 4),
        MatvecShape::RowPerUnit => (UNITS, 1),
    }
}

/// The cubecl tensor behind `t`, if it lives on a cubecl device (not flex, not fusion).
fn cube_of<const D: usize>(t: Tensor<D>) -> Option<CubeTensor> {
    match t.into_dispatch().kind {
        DispatchTensorKind::Cube(BackendTensor::Float(c))
        | DispatchTensorKind::Cube(BackendTensor::Quantized(c)) => Some(c),
        _ => None,
    }
}

/// The cubecl tensor behind `t` (a new handle to it), if it is on a cubecl device and
/// contiguous: the layout the row kernels index.
fn contiguous_cube<const D: usize>(t: &Tensor<D>) -> Option<CubeTensor> {
    cube_of(t.clone()).filter(CubeTensor::is_contiguous)
}

/// The kernels (CubeCL, compiled to WGSL by the browser's WebGPU at first use).
mod kernels {
    use cubecl::prelude::*;

    /// The `bits`-bit field at bit `shift` of `word`, unsigned, as f32.
    #[cube]
    fn field(word: u32, shift: u32, #[comptime] bits: u32) -> f32 {
        f32::cast_from((word >> shift) & ((1u32 << bits) - 1u32))
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

    /// `y = W · x`, `y = residual + W · x` (`with_residual`) or `y = W · rms_norm(x, n)`
    /// (`normed`) for one row `x`, with burn's packed Q4F (`bits` 4: 8 values per word) or Q8F
    /// (`bits` 8: 4 per word) weights, one scale per block of 32, value `k` of word `j` at bit
    /// `k·bits`: `Σ_b d[o,b] · Σ_{i∈b} q[o,i] · x[i] (+ offset[b,o] · Σ_{i∈b} x[i])`. GGUF Q4_1
    /// as the engine loads it is Q4F values `q − 8`, scale `d`, plus the offset `m + 8d`
    /// (`with_offset`; see `weights::WeightMode`); Q8_0 is Q8F.
    ///
    /// `w`: `[out, in·bits/32]` words; `scales`: `[out, in/32]`; `offsets`: `[in/32, out]`
    /// (unread without `with_offset`); `x`: `[in]`; `side`: the residual (`[out]`) or RMSNorm's
    /// weight `n` (`[in]`), unread otherwise; `y`: `[out]`. Each cube computes `rows_per_cube`
    /// rows, `lanes` units per row, each unit every `lanes`-th block of 32 values of its row; one
    /// barrier adds a row's partial sums (a few lanes each: no tree), or none with one lane per
    /// row ([`crate::device::MatvecShape`]).
    ///
    /// With a GPU's shape, RMSNorm costs no pass of its own: its factor
    /// `1/sqrt(mean(x²) + eps)` is one number per row, so the units multiply the weights by
    /// `x[i] · n[i]`, keep the sum of `x[i]²` over the values they read (a row's lanes read every
    /// `x[i]` once between them), and the same barrier adds those; the row's first lane scales
    /// its total at the end. (With one unit per row the norm runs first: [`quantized_matvec`].)
    #[cube(launch)]
    #[allow(clippy::too_many_arguments)]
    pub fn quantized_matvec_rows(
        w: &Tensor<u32>,
        scales: &Tensor<f32>,
        offsets: &Tensor<f32>,
        x: &Tensor<f32>,
        side: &Tensor<f32>,
        y: &mut Tensor<f32>,
        eps: f32,
        #[comptime] bits: u32,
        #[comptime] with_offset: bool,
        #[comptime] with_residual: bool,
        #[comptime] normed: bool,
        #[comptime] rows_per_cube: usize,
        #[comptime] lanes: usize,
    ) {
        let per_word = 32 / bits;
        let words_per_block = 32 / per_word;
        // Each field holds a signed value `q` in two's complement; flipping its top bit makes
        // it `u = q + half`, unsigned, so a value costs a shift, a mask and a conversion, and
        // `Σ q·x = Σ u·x − half·Σ x` takes the sign once per block (`Σ x` is summed anyway
        // for Q4_1's offset). For Q4_1 this is GGUF's own `d·u + m` again.
        let half = 1u32 << (bits - 1u32);
        let flip = if bits == 4 {
            0x8888_8888u32
        } else {
            0x8080_8080u32
        };
        let cube = CUBE_POS_Y as usize * CUBE_COUNT_X as usize + CUBE_POS_X as usize;
        let unit = UNIT_POS_X as usize;
        let lane = unit % lanes;
        let row = cube * rows_per_cube + unit / lanes;
        let blocks = w.shape(1) / words_per_block as usize;
        let mut acc = 0.0f32;
        let mut squares = 0.0f32;
        if row < w.shape(0) {
            let w_row = row * w.stride(0);
            let s_row = row * scales.stride(0);
            // A block of 32 values per step: its scale and offset are read once.
            let mut block = lane;
            while block < blocks {
                let first_word = block * words_per_block as usize;
                let mut dot = 0.0f32;
                let mut sum = 0.0f32;
                #[unroll]
                for jw in 0..words_per_block {
                    let j = first_word + jw as usize;
                    let word = w[w_row + j] ^ flip;
                    let i = j * per_word as usize;
                    #[unroll]
                    for k in 0..per_word {
                        let at = i + k as usize;
                        let mut xi = x[at];
                        if normed {
                            squares += xi * xi;
                            xi *= side[at];
                        }
                        dot += field(word, k * bits, bits) * xi;
                        sum += xi;
                    }
                }
                let d = scales[s_row + block];
                acc += d * (dot - f32::cast_from(half) * sum);
                if with_offset {
                    acc += offsets[block * offsets.stride(0) + row] * sum;
                }
                block += lanes;
            }
        }
        // The row's sums: with one lane per row its one unit has them (no shared memory, no
        // barrier); with more, its first lane adds its lanes' after one barrier.
        let mut total = acc;
        let mut sum_squares = squares;
        if lanes > 1 {
            let mut partial = Shared::new_slice(rows_per_cube * lanes);
            let mut partial_squares = Shared::new_slice(rows_per_cube * lanes);
            partial[unit] = acc;
            partial_squares[unit] = squares;
            sync_cube();
            if lane == 0 {
                #[unroll]
                for l in 1..lanes {
                    total += partial[unit + l];
                    sum_squares += partial_squares[unit + l];
                }
            }
        }
        if lane == 0 && row < y.len() {
            finish_row(
                total,
                sum_squares,
                x.len(),
                eps,
                side,
                y,
                row,
                with_residual,
                normed,
            );
        }
    }

    /// Row `row` of [`quantized_matvec_rows`] from its dot product and, for RMSNorm, the sum
    /// of the squares of `x`.
    #[cube]
    #[allow(clippy::too_many_arguments)]
    fn finish_row(
        dot: f32,
        sum_squares: f32,
        width: usize,
        eps: f32,
        side: &Tensor<f32>,
        y: &mut Tensor<f32>,
        row: usize,
        #[comptime] with_residual: bool,
        #[comptime] normed: bool,
    ) {
        let mut total = dot;
        if normed {
            total *= 1.0f32 / f32::sqrt(sum_squares / f32::cast_from(width) + eps);
        }
        if with_residual {
            // `h + attention`, `h + mlp`: the same sum either way round (IEEE addition
            // commutes exactly).
            total += side[row];
        }
        y[row] = total;
    }

    /// One token's row of the fused QKV projection (`qkv`: `[hidden + 2·kv]`, queries first,
    /// then keys, then values) turned into attention's inputs in one pass: the queries rotated
    /// into `q`, the keys rotated and the values copied into slot `slot` of the layer's cache
    /// buffers (`keys`, `values`: `[1, kv_heads, capacity, head_dim]`), in place. Rotation:
    /// pair `p` of a head turns by `cos[p]`, `sin[p]`; `adjacent`: pairs are `(x[2p], x[2p+1])`
    /// (GGUF llama), else `(x[p], x[p + d/2])` (Qwen2). One unit per pair, then one per value.
    #[cube(launch)]
    #[allow(clippy::too_many_arguments)]
    pub fn rope_into_cache(
        qkv: &Tensor<f32>,
        cos: &Tensor<f32>,
        sin: &Tensor<f32>,
        q: &mut Tensor<f32>,
        keys: &mut Tensor<f32>,
        values: &mut Tensor<f32>,
        slot: u32,
        #[comptime] q_heads: usize,
        #[comptime] k_heads: usize,
        #[comptime] head_dim: usize,
        #[comptime] adjacent: bool,
    ) {
        let half = head_dim / 2;
        let pairs = (q_heads + k_heads) * half;
        let slot = slot as usize;
        let index = ABSOLUTE_POS;
        if index < pairs {
            let head = index / half;
            let p = index % half;
            let c = cos[p];
            let s = sin[p];
            let (a, b) = if adjacent {
                (2 * p, 2 * p + 1)
            } else {
                (p, p + half)
            };
            if head < q_heads {
                let base = head * head_dim;
                let x0 = qkv[base + a];
                let x1 = qkv[base + b];
                q[base + a] = x0 * c - x1 * s;
                q[base + b] = x0 * s + x1 * c;
            } else {
                let kv_head = head - q_heads;
                let from = (q_heads + kv_head) * head_dim;
                let x0 = qkv[from + a];
                let x1 = qkv[from + b];
                let to = kv_head * keys.stride(1) + slot * keys.stride(2);
                let step = keys.stride(3);
                keys[to + a * step] = x0 * c - x1 * s;
                keys[to + b * step] = x0 * s + x1 * c;
            }
        } else if index < pairs + k_heads * head_dim {
            let value = index - pairs;
            let kv_head = value / head_dim;
            let i = value % head_dim;
            let to = kv_head * values.stride(1) + slot * values.stride(2) + i * values.stride(3);
            values[to] = qkv[(q_heads + k_heads) * head_dim + value];
        }
    }

    /// RMSNorm of one row: `y = x · (1 / sqrt(mean(x²) + eps)) · w`, in the order of the
    /// engine's burn ops (`norm.rs`). One cube; `units` a power of two.
    #[cube(launch)]
    pub fn rms_norm_row(
        x: &Tensor<f32>,
        w: &Tensor<f32>,
        y: &mut Tensor<f32>,
        eps: f32,
        #[comptime] units: usize,
    ) {
        let n = x.len();
        let mut acc = 0.0f32;
        let mut i = UNIT_POS_X as usize;
        while i < n {
            let v = x[i];
            acc += v * v;
            i += units;
        }
        let total = cube_sum(acc, units);
        let inv_rms = 1.0f32 / f32::sqrt(total / f32::cast_from(n) + eps);
        let mut j = UNIT_POS_X as usize;
        while j < n {
            y[j] = x[j] * inv_rms * w[j];
            j += units;
        }
    }

    /// The activation cap of one row (`interventions::cap`): `y = h − v · min(⟨h, v⟩ − τ, 0)`
    /// for a unit `v`, in one cube. Where the projection is already at least `τ` the correction
    /// is exactly zero and `y = h` bit for bit, as on the CPU.
    #[cube(launch)]
    pub fn cap_row(
        h: &Tensor<f32>,
        v: &Tensor<f32>,
        y: &mut Tensor<f32>,
        tau: f32,
        #[comptime] units: usize,
    ) {
        let n = h.len();
        let mut acc = 0.0f32;
        let mut i = UNIT_POS_X as usize;
        while i < n {
            acc += h[i] * v[i];
            i += units;
        }
        let projection = cube_sum(acc, units);
        let deficit = f32::min(projection - tau, 0.0f32);
        let mut j = UNIT_POS_X as usize;
        while j < n {
            y[j] = h[j] - deficit * v[j];
            j += units;
        }
    }

    /// SwiGLU of one row of the fused gate|up projection (`gate_up`: `[2·ffn]`):
    /// `out[i] = silu(gate[i]) · up[i]`, `silu(g) = g / (1 + exp(−g))`. One unit per output.
    #[cube(launch)]
    pub fn swiglu_row(gate_up: &Tensor<f32>, out: &mut Tensor<f32>) {
        let ffn = out.len();
        let i = ABSOLUTE_POS;
        if i < ffn {
            let g = gate_up[i];
            out[i] = g / (1.0f32 + f32::exp(-g)) * gate_up[ffn + i];
        }
    }

    /// Maximum of `value` over the cube's units (shared-memory tree); every unit gets it.
    #[cube]
    fn cube_max(value: f32, #[comptime] units: usize) -> f32 {
        let unit = UNIT_POS_X as usize;
        let mut partial = Shared::new_slice(units);
        partial[unit] = value;
        sync_cube();
        let mut half = (units / 2).runtime();
        while half > 0 {
            if unit < half {
                partial[unit] = f32::max(partial[unit], partial[unit + half]);
            }
            sync_cube();
            half /= 2;
        }
        partial[0]
    }

    /// Attention of one token over the first `len` slots of the cache, one cube per query head
    /// (head `h` reads KV head `h / group`): scores `q·k · scale` into `scores` (`[heads, ≥ len]`,
    /// scratch), softmax over them, then `Σ p·v`. `q`: `[heads·head_dim]`; `keys`, `values`:
    /// `[1, kv_heads, capacity, head_dim]`; `out`: `[heads·head_dim]`, heads in order.
    #[cube(launch)]
    pub fn decode_attention(
        q: &Tensor<f32>,
        keys: &Tensor<f32>,
        values: &Tensor<f32>,
        scores: &mut Tensor<f32>,
        out: &mut Tensor<f32>,
        len: u32,
        scale: f32,
        #[comptime] group: usize,
        #[comptime] head_dim: usize,
        #[comptime] units: usize,
    ) {
        let head = CUBE_POS_X as usize;
        let kv_head = head / group;
        let unit = UNIT_POS_X as usize;
        let len = len as usize;
        let q_base = head * head_dim;
        let k_base = kv_head * keys.stride(1);
        let v_base = kv_head * values.stride(1);
        let s_base = head * scores.stride(0);

        let mut local_max = f32::new(-3.0e38);
        let mut t = unit;
        while t < len {
            let k_row = k_base + t * keys.stride(2);
            let mut dot = 0.0f32;
            for i in 0..head_dim {
                dot += q[q_base + i] * keys[k_row + i * keys.stride(3)];
            }
            let score = dot * scale;
            scores[s_base + t] = score;
            local_max = f32::max(local_max, score);
            t += units;
        }
        let max = cube_max(local_max, units);

        let mut local_sum = 0.0f32;
        let mut u = unit;
        while u < len {
            let p = f32::exp(scores[s_base + u] - max);
            scores[s_base + u] = p;
            local_sum += p;
            u += units;
        }
        let sum = cube_sum(local_sum, units);
        // The weights written above are read by other units of this cube below.
        sync_storage();

        let mut d = unit;
        while d < head_dim {
            let mut acc = 0.0f32;
            for slot in 0..len {
                acc += scores[s_base + slot]
                    * values[v_base + slot * values.stride(2) + d * values.stride(3)];
            }
            out[q_base + d] = acc / sum;
            d += units;
        }
    }
}

/// `n` cubes, spilling into y past WebGPU's 65,535 per dimension.
fn grid(cubes: usize) -> CubeCount {
    const MAX: usize = 65_535;
    if cubes <= MAX {
        CubeCount::Static(cubes as u32, 1, 1)
    } else {
        CubeCount::Static(MAX as u32, cubes.div_ceil(MAX) as u32, 1)
    }
}

/// A quantized weight as our mat-vec kernels read it.
struct QuantizedWeight {
    /// Packed values, `[out, in·bits/32]` words.
    values: CubeTensor,
    /// Block scales, `[out, in/32]`.
    scales: CubeTensor,
    /// Q4_1's `[in/32, out]` offsets, or the scales standing in, unread.
    offsets: CubeTensor,
    with_offset: bool,
    bits: u32,
    out: usize,
}

impl QuantizedWeight {
    /// The engine's quantized weight `[out, in]` (Q4F or Q8F, blocks of 32) and optional
    /// offsets, for rows of `input` values; `None` when not on a cubecl device or not a layout
    /// the kernels read.
    fn of(weight: &Tensor<2>, offset: Option<&Tensor<2>>, input: usize) -> Option<Self> {
        let w = cube_of(weight.clone())?;
        let DType::QFloat(scheme) = w.dtype else {
            return None;
        };
        // A storage-tiled weight is laid out for burn's matmul, not as rows: leave it to burn.
        if w.meta.is_tiled() {
            return None;
        }
        let out = w.meta.shape()[0];
        let (values, scales) = w.quantized_handles()?;
        let bits = match scheme.value {
            QuantValue::Q4F => 4,
            QuantValue::Q8F if offset.is_none() => 8,
            _ => return None,
        };
        if !input.is_multiple_of(32) || values.meta.shape()[1] * 32 / bits as usize != input {
            return None;
        }
        // The kernels index the scales and offsets by these shapes.
        let blocks = input / 32;
        if scales.meta.shape().num_elements() != out * blocks {
            return None;
        }
        let offsets = match offset {
            Some(o) if o.dims() == [blocks, out] => {
                Some(cube_of(o.clone()).filter(|o| !o.meta.is_tiled())?)
            }
            Some(_) => return None,
            None => None,
        };
        let with_offset = offsets.is_some();
        let offsets = offsets.unwrap_or_else(|| scales.clone());
        Some(Self {
            values,
            scales,
            offsets,
            with_offset,
            bits,
            out,
        })
    }

    fn cubes(&self, rows_per_cube: usize) -> CubeCount {
        grid(self.out.div_ceil(rows_per_cube))
    }
}

/// What a quantized mat-vec does besides the product.
pub enum MatvecInput<'a> {
    /// `x · Wᵀ`.
    Plain,
    /// `residual + x · Wᵀ`, `residual`: `[1, out]` (burn's op: one more dispatch).
    AddTo(&'a Tensor<2>),
    /// `rms_norm(x, weight, eps) · Wᵀ`, `weight`: `[in]` (the engine's RMSNorm: one more).
    RmsNormed(&'a Tensor<1>, f32),
}

/// `x · Wᵀ` (+ Q4_1's offset term) for one row `x` (`[1, in]`), with a residual add or
/// RMSNorm of `x` folded in ([`MatvecInput`]): one dispatch instead of burn's matmul, three for
/// the offset and those of the add or the norm. `None` when the tensors are not on a cubecl
/// device or the weight is not a format this kernel reads; the caller then runs burn's ops.
pub fn quantized_matvec(
    weight: &Tensor<2>,
    offset: Option<&Tensor<2>>,
    x: &Tensor<2>,
    input: MatvecInput<'_>,
) -> Option<Tensor<2>> {
    let [rows, width] = x.dims();
    if rows != 1 {
        return None;
    }
    let shape = webgpu_shapes().matvec;
    // One unit per row would redo the norm's loads and products in every row: the norm runs
    // first in its own kernel instead (the caller's fallback), then this one, plain. Refused
    // before the weight's handles are taken, which the plain call takes again.
    if shape == MatvecShape::RowPerUnit && matches!(input, MatvecInput::RmsNormed(..)) {
        return None;
    }
    let w = QuantizedWeight::of(weight, offset, width)?;
    let x = contiguous_cube(x)?;
    let (side, with_residual, normed, eps) = match input {
        // The kernel still takes a tensor there: `x` stands in, unread.
        MatvecInput::Plain => (x.clone(), false, false, 0.0),
        MatvecInput::AddTo(r) if r.dims() == [1, w.out] => (contiguous_cube(r)?, true, false, 0.0),
        MatvecInput::RmsNormed(n, eps) if n.dims() == [width] => {
            (contiguous_cube(n)?, false, true, eps)
        }
        MatvecInput::AddTo(_) | MatvecInput::RmsNormed(..) => return None,
    };
    let y = empty_like(&x, Shape::new([1, w.out]));
    let client = x.client.clone();
    let (rows_per_cube, lanes) = rows_and_lanes(shape);
    quantized_matvec_rows::launch(
        &client,
        w.cubes(rows_per_cube),
        CubeDim::new_1d(UNITS as u32),
        w.values.into_tensor_arg(),
        w.scales.into_tensor_arg(),
        w.offsets.into_tensor_arg(),
        x.into_tensor_arg(),
        side.into_tensor_arg(),
        y.clone().into_tensor_arg(),
        eps,
        w.bits,
        w.with_offset,
        with_residual,
        normed,
        rows_per_cube,
        lanes,
    );
    Some(Tensor::from_primitive::<Cube>(y))
}

/// The cubecl tensor behind `t`, or `t` back when it is not on a cubecl device.
// The `Err` is the caller's own tensor handed back (a handle, moved once per layer), not an error.
#[allow(clippy::result_large_err)]
fn into_cube<const D: usize>(t: Tensor<D>) -> Result<CubeTensor, Tensor<D>> {
    let dispatch = t.into_dispatch();
    match dispatch.kind {
        DispatchTensorKind::Cube(BackendTensor::Float(c)) => Ok(c),
        _ => Err(Tensor::from_dispatch(dispatch)),
    }
}

/// A layer's cache buffer ready to be written in place: itself when no other tensor shares its
/// memory, else a copy (what burn's `slice_assign` does).
fn writable(cache: CubeTensor) -> CubeTensor {
    if cache.can_mut() && cache.is_nonoverlapping() {
        cache
    } else {
        cache.copy()
    }
}

/// One token's queries, keys and values from its fused QKV row (`[1, q_heads·head_dim +
/// 2·k_heads·head_dim]`) in one dispatch: the queries rotated (returned, `[1, 1, q_heads,
/// head_dim]`), the keys rotated and the values copied into slot `slot` of the layer's cache
/// buffers `keys`, `values` (`[1, k_heads, capacity, head_dim]`, returned after the write).
/// Burn's ops take about twenty dispatches for the rotations and two for the cache writes.
/// `cos`/`sin`: the token's angles (`[1, 1, 1, head_dim/2]`). `Err` gives the buffers back,
/// unwritten, when the tensors are not on a cubecl device or the shapes do not fit.
// The `Err` is the caller's cache buffers handed back unwritten (moved), not an error value.
#[allow(
    clippy::too_many_arguments,
    clippy::type_complexity,
    clippy::result_large_err
)]
pub fn rope_into_cache_one_token(
    qkv: &Tensor<2>,
    cos: &Tensor<4>,
    sin: &Tensor<4>,
    keys: Tensor<4>,
    values: Tensor<4>,
    slot: usize,
    q_heads: usize,
    head_dim: usize,
    adjacent: bool,
) -> Result<(Tensor<4>, Tensor<4>, Tensor<4>), (Tensor<4>, Tensor<4>)> {
    let [rows, width] = qkv.dims();
    let [kb, k_heads, capacity, kd] = keys.dims();
    let fits = rows == 1
        && kb == 1
        && kd == head_dim
        && slot < capacity
        && values.dims() == keys.dims()
        && width == (q_heads + 2 * k_heads) * head_dim
        && cos.dims() == [1, 1, 1, head_dim / 2]
        && sin.dims() == cos.dims();
    if !fits {
        return Err((keys, values));
    }
    let (Some(qkv), Some(cos), Some(sin)) = (
        contiguous_cube(qkv),
        contiguous_cube(cos),
        contiguous_cube(sin),
    ) else {
        return Err((keys, values));
    };
    let (keys, values) = match (into_cube(keys), into_cube(values)) {
        (Ok(k), Ok(v)) => (writable(k), writable(v)),
        (k, v) => {
            let back = |t: Result<CubeTensor, Tensor<4>>| match t {
                Ok(c) => Tensor::from_primitive::<Cube>(c),
                Err(t) => t,
            };
            return Err((back(k), back(v)));
        }
    };
    let q = empty_like(&qkv, Shape::new([1, 1, q_heads, head_dim]));
    let client = qkv.client.clone();
    let units = (q_heads + k_heads) * head_dim / 2 + k_heads * head_dim;
    rope_into_cache::launch(
        &client,
        CubeCount::Static(units.div_ceil(UNITS) as u32, 1, 1),
        CubeDim::new_1d(UNITS as u32),
        qkv.into_tensor_arg(),
        cos.into_tensor_arg(),
        sin.into_tensor_arg(),
        q.clone().into_tensor_arg(),
        keys.clone().into_tensor_arg(),
        values.clone().into_tensor_arg(),
        slot as u32,
        q_heads,
        k_heads,
        head_dim,
        adjacent,
    );
    Ok((
        Tensor::from_primitive::<Cube>(q),
        Tensor::from_primitive::<Cube>(keys),
        Tensor::from_primitive::<Cube>(values),
    ))
}

/// Units of the one-cube RMSNorm (WebGPU's default limit is 256 per workgroup).
const NORM_UNITS: usize = 256;

/// A new contiguous f32 tensor of `shape` on `like`'s device, its contents unset.
fn empty_like(like: &CubeTensor, shape: Shape) -> CubeTensor {
    let client = like.client.clone();
    let bytes = shape.num_elements() * core::mem::size_of::<f32>();
    CubeTensor::new_contiguous(
        client.clone(),
        like.device.clone(),
        shape,
        client.empty(bytes),
        DType::F32,
    )
}

/// RMSNorm of a single row (`x` of any rank whose leading dimensions are all 1) in one dispatch
/// instead of burn's seven; `None` when not on a cubecl device or not one row.
pub fn rms_norm_one_row<const D: usize>(
    x: &Tensor<D>,
    weight: &Tensor<1>,
    eps: f32,
) -> Option<Tensor<D>> {
    let dims = x.dims();
    if dims[..D - 1].iter().any(|&d| d != 1) || weight.dims() != [dims[D - 1]] {
        return None;
    }
    let x = contiguous_cube(x)?;
    let w = contiguous_cube(weight)?;
    let y = empty_like(&x, Shape::from(dims.to_vec()));
    let client = x.client.clone();
    rms_norm_row::launch(
        &client,
        CubeCount::Static(1, 1, 1),
        CubeDim::new_1d(NORM_UNITS as u32),
        x.into_tensor_arg(),
        w.into_tensor_arg(),
        y.clone().into_tensor_arg(),
        eps,
        NORM_UNITS,
    );
    Some(Tensor::from_primitive::<Cube>(y))
}

/// The cap of a single row `h` (`[1, hidden]`) along the unit `v` (`[1, hidden]`) at `tau`, in
/// one dispatch instead of burn's five (projection, shift, clamp, scale, subtract); `None` when
/// not on a cubecl device or not one row.
pub fn cap_one_row(h: &Tensor<2>, v_row: &Tensor<2>, tau: f32) -> Option<Tensor<2>> {
    let [rows, hidden] = h.dims();
    if rows != 1 || v_row.dims() != [1, hidden] {
        return None;
    }
    let h = contiguous_cube(h)?;
    let v = contiguous_cube(v_row)?;
    let y = empty_like(&h, Shape::new([1, hidden]));
    let client = h.client.clone();
    cap_row::launch(
        &client,
        CubeCount::Static(1, 1, 1),
        CubeDim::new_1d(NORM_UNITS as u32),
        h.into_tensor_arg(),
        v.into_tensor_arg(),
        y.clone().into_tensor_arg(),
        tau,
        NORM_UNITS,
    );
    Some(Tensor::from_primitive::<Cube>(y))
}

/// `silu(gate) · up` of one row of the fused gate|up projection (`[1, 2·ffn]`) in one dispatch
/// instead of burn's eight (silu is seven); `None` when not on a cubecl device or not one row.
pub fn swiglu_one_row(gate_up: &Tensor<2>, ffn: usize) -> Option<Tensor<2>> {
    if gate_up.dims() != [1, 2 * ffn] {
        return None;
    }
    let gate_up = contiguous_cube(gate_up)?;
    let out = empty_like(&gate_up, Shape::new([1, ffn]));
    let client = gate_up.client.clone();
    swiglu_row::launch(
        &client,
        CubeCount::Static(ffn.div_ceil(UNITS) as u32, 1, 1),
        CubeDim::new_1d(UNITS as u32),
        gate_up.into_tensor_arg(),
        out.clone().into_tensor_arg(),
    );
    Some(Tensor::from_primitive::<Cube>(out))
}

/// One token's attention over the first `len` slots of the cache, all of them real (one row,
/// no padding, so no mask), in one dispatch instead of burn's eleven plus the copies around
/// them. `q`: `[1, 1, heads, head_dim]`; `keys`, `values`: the layer's cache buffers
/// `[1, kv_heads, capacity, head_dim]`. Returns `[1, heads·head_dim]` (heads in order, as the
/// output projection expects); `None` when not on a cubecl device or the shapes do not fit.
pub fn decode_attention_one_token(
    q: &Tensor<4>,
    keys: &Tensor<4>,
    values: &Tensor<4>,
    len: usize,
) -> Option<Tensor<2>> {
    let [b, s, heads, head_dim] = q.dims();
    let [kb, kv_heads, capacity, kd] = keys.dims();
    if b != 1 || s != 1 || kb != 1 || kd != head_dim || values.dims() != keys.dims() {
        return None;
    }
    if len == 0 || len > capacity || kv_heads == 0 || !heads.is_multiple_of(kv_heads) {
        return None;
    }
    let q = contiguous_cube(q)?;
    let keys = cube_of(keys.clone())?;
    let values = cube_of(values.clone())?;
    let scores = empty_like(&q, Shape::new([heads, len]));
    let out = empty_like(&q, Shape::new([1, heads * head_dim]));
    let client = q.client.clone();
    decode_attention::launch(
        &client,
        CubeCount::Static(heads as u32, 1, 1),
        CubeDim::new_1d(UNITS as u32),
        q.into_tensor_arg(),
        keys.into_tensor_arg(),
        values.into_tensor_arg(),
        scores.into_tensor_arg(),
        out.clone().into_tensor_arg(),
        len as u32,
        1.0 / (head_dim as f32).sqrt(),
        heads / kv_heads,
        head_dim,
        UNITS,
    );
    Some(Tensor::from_primitive::<Cube>(out))
}
