//! A decode step's attention on burn's CPU backend (flex), read straight out of the KV cache.
//!
//! Why it exists: flex's attention runs two `gemm` calls per KV head. With one token per row
//! there are only `group` query rows (3 for SmolLM2) per call, and `gemm` spends most of its
//! time packing the whole cache buffer into its own layout before multiplying: with a 640-token
//! context that packing was 16 % of a native decode step's CPU samples and its products 6 %
//! (docs/threads.md, "A decode step's attention without gemm"). Here every query head reads its
//! keys and values where the cache keeps them — one contiguous `[slots, head_dim]` buffer per KV
//! head — with plain loops the compiler vectorises (simd128 in wasm), and no copy of the cache.
//!
//! Only one-token forwards take this path (any batch; padding and masked slots as in
//! `build_mask` (`model/attention.rs`)). Prompts keep flex's attention, whose `gemm` is the right
//! tool for many query rows; the WebGPU path has its own kernel (`model/gpu.rs`).

use burn::backend::{BackendTensor, DispatchTensorKind};
use burn::tensor::{Tensor, TensorData};

/// Lanes of the dot products' accumulators: what one simd128 register (or two, for AVX2) holds.
const LANES: usize = 8;

/// The layout of one decode attention: `batch` rows, `heads` query heads sharing `kv_heads`
/// KV heads in groups (head `h` reads KV head `h / group`), `head_dim` values per head and
/// `slots` cache slots per KV head.
#[derive(Debug, Clone, Copy)]
struct Shape {
    batch: usize,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    slots: usize,
}

/// One token's attention for every row: `q` the rotated queries `[batch, 1, heads, head_dim]`,
/// `keys` and `values` the layer's whole cache buffers `[batch, kv_heads, capacity, head_dim]`
/// with this token already written at slot `slot`, and `validity[row][k]` whether slot `k`
/// holds a real token of `row`. Returns `[batch, heads · head_dim]` (heads in order), or `None`
/// when the tensors are not flex's or not laid out as expected — the caller then runs the
/// general attention, which gives the same result.
pub fn decode_attention(
    q: &Tensor<4>,
    keys: &Tensor<4>,
    values: &Tensor<4>,
    validity: &[Vec<bool>],
    slot: usize,
) -> Option<Tensor<2>> {
    let [batch, seq, heads, head_dim] = q.dims();
    let [k_batch, kv_heads, slots, k_dim] = keys.dims();
    if seq != 1
        || k_batch != batch
        || k_dim != head_dim
        || values.dims() != keys.dims()
        || kv_heads == 0
        || heads % kv_heads != 0
        || head_dim % LANES != 0
        || slot >= slots
        || validity.len() != batch
        || validity.iter().any(|row| row.len() <= slot)
    {
        return None;
    }
    let keys = flex_f32(keys)?;
    let values = flex_f32(values)?;
    let (keys, values) = (keys.as_slice::<f32>()?, values.as_slice::<f32>()?);
    // The queries are a few hundred values, possibly a strided view after RoPE: a copy is cheap.
    let queries = q.clone().try_into_data().ok()?.try_into_vec::<f32>().ok()?;
    let shape = Shape {
        batch,
        heads,
        kv_heads,
        head_dim,
        slots,
    };
    let out = attend(shape, &queries, keys, values, validity, slot);
    Some(Tensor::from_data(
        TensorData::new(out, [batch, heads * head_dim]),
        &q.device(),
    ))
}

/// The flex tensor behind `t` (a new handle to the same storage), if `t` lives on flex as f32.
fn flex_f32<const D: usize>(t: &Tensor<D>) -> Option<burn::backend::flex::FlexTensor> {
    match t.clone().into_dispatch().kind {
        DispatchTensorKind::Flex(BackendTensor::Float(f)) => Some(f),
        _ => None,
    }
}

/// The attention itself, on plain slices laid out as [`decode_attention`] describes.
fn attend(
    shape: Shape,
    queries: &[f32],
    keys: &[f32],
    values: &[f32],
    validity: &[Vec<bool>],
    slot: usize,
) -> Vec<f32> {
    let d = shape.head_dim;
    let mut out = vec![0.0f32; shape.batch * shape.heads * d];
    let work = |(i, dst): (usize, &mut [f32])| {
        let (row, head) = (i / shape.heads, i % shape.heads);
        let kv = row * shape.kv_heads + head / (shape.heads / shape.kv_heads);
        let span = kv * shape.slots * d..(kv + 1) * shape.slots * d;
        one_head(
            &queries[i * d..(i + 1) * d],
            &keys[span.clone()],
            &values[span],
            &validity[row],
            slot,
            dst,
        );
    };
    // Heads in parallel where the build has threads (as the block kernel's products).
    super::chunks::for_each_chunk_mut(&mut out, d, work);
    out
}

/// One query head against its KV head's `keys` and `values` (`[slots, head_dim]` each): the
/// softmax-weighted sum of the values of the slots this token may see (slot `k ≤ slot` that
/// holds a real token, and its own slot always), into `out`.
fn one_head(
    query: &[f32],
    keys: &[f32],
    values: &[f32],
    validity: &[bool],
    slot: usize,
    out: &mut [f32],
) {
    let d = query.len();
    let scale = 1.0 / (d as f32).sqrt();
    let seen = |k: usize| k == slot || validity[k];
    let mut scores = vec![f32::NEG_INFINITY; slot + 1];
    for (k, (score, key)) in scores.iter_mut().zip(keys.chunks_exact(d)).enumerate() {
        if seen(k) {
            *score = dot(query, key) * scale;
        }
    }
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut total = 0.0f32;
    for s in &mut scores {
        // exp(−∞ − max) = 0 for the slots this token does not see.
        *s = (*s - max).exp();
        total += *s;
    }
    out.fill(0.0);
    for (&p, value) in scores.iter().zip(values.chunks_exact(d)) {
        if p != 0.0 {
            for (o, &v) in out.iter_mut().zip(value) {
                *o += p * v;
            }
        }
    }
    let inverse = 1.0 / total;
    out.iter_mut().for_each(|o| *o *= inverse);
}

/// `a · b` for equal lengths that are whole multiples of [`LANES`], in `LANES` accumulators
/// (fixed-size arrays, so the loop vectorises; summed once at the end).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    for (x, y) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for j in 0..LANES {
            acc[j] += x[j] * y[j];
        }
    }
    acc.iter().sum()
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Distribution, Tensor};

    use super::decode_attention;

    // The comparisons with flex's attention are in `model/attention.rs`, beside the mask they
    // need (this module must not import that one: it calls this one).

    #[test]
    fn refuses_what_it_does_not_cover() {
        let device = Device::flex();
        let dist = Distribution::Normal(0.0, 1.0);
        let keys = Tensor::<4>::random([1, 3, 64, 64], dist, &device);
        // Two tokens per row: a prompt, for flex's own attention.
        let q = Tensor::<4>::random([1, 2, 9, 64], dist, &device);
        assert!(decode_attention(&q, &keys, &keys, &[vec![true; 2]], 1).is_none());
        // A slot past the buffer, or validity that does not reach it.
        let q = Tensor::<4>::random([1, 1, 9, 64], dist, &device);
        assert!(decode_attention(&q, &keys, &keys, &[vec![true; 65]], 64).is_none());
        assert!(decode_attention(&q, &keys, &keys, &[vec![true; 3]], 5).is_none());
    }
}
