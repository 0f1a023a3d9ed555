//! Grouped-query self-attention over the KV cache.
//!
//! GQA without copying keys: the `group` query heads that share one KV head are stacked along
//! the sequence axis (`[b, kv_heads, group·seq, head_dim]`), so a plain equal-head attention
//! call sees each KV head once. This works on every backend (burn's fallback attention cannot
//! broadcast 9 query heads against 3 KV heads) and copies only the queries, which matters in
//! decode where `seq = 1` and the cache is long.

use burn::tensor::module::attention as sdpa;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Device, Tensor, TensorData};

use super::{KvCache, LayerWeights, LlamaConfig, RopeAngles};

/// The attention mask of one forward, `true` = masked out, `[b, 1, group·seq, slots]`, where
/// `slots` is the cache's capacity (at least `start + seq`): attention runs over the whole
/// cache buffer, whose unused tail is masked, so the keys and values are never copied out of it
/// (a narrowed view of the buffer is not contiguous, and attention would copy it every step).
///
/// Query slot `t` of row `r` may see key slot `k` iff `k ≤ t` and (`k` is a real token of `r`
/// or `k = t`). The `k = t` escape keeps padding rows finite (a row with nothing to attend to
/// would be 0/0); no real token ever sees a padding slot, and no query sees a slot after it.
pub fn build_mask(
    validity: &[Vec<bool>],
    start: usize,
    seq: usize,
    slots: usize,
    group: usize,
    device: &Device,
) -> Tensor<4, Bool> {
    let slots = slots.max(start + seq);
    let batch = validity.len();
    let mut mask = Vec::with_capacity(batch * group * seq * slots);
    for row in validity {
        let mut block = Vec::with_capacity(seq * slots);
        for i in 0..seq {
            let t = start + i;
            block.extend((0..slots).map(|k| !(k <= t && (row.get(k) == Some(&true) || k == t))));
        }
        for _ in 0..group {
            mask.extend_from_slice(&block);
        }
    }
    Tensor::from_data(
        TensorData::new(mask, [batch, 1, group * seq, slots]),
        device,
    )
}

/// Which cache slots a forward's queries may see.
#[derive(Debug, Clone)]
pub struct AttentionMask {
    /// `true` = masked out, `[b, 1, group·seq, slots]` ([`build_mask`]).
    pub slots: Tensor<4, Bool>,
    /// For one token of one row whose slots all hold real tokens: how many slots it sees (all
    /// of them up to its own), so a kernel can attend without reading the mask. Read only by
    /// the WebGPU kernel path (`model/gpu.rs`, wasm builds).
    #[cfg_attr(not(webgpu), allow(dead_code))]
    pub dense_len: Option<usize>,
}

/// The attention half of one block on the residual stream `h` (`[b, seq, hidden]`): RMSNorm,
/// self-attention that writes this forward's keys and values into `cache`, the output
/// projection and the residual add. Returns the new stream, `[b·seq, hidden]`.
pub fn attention(
    h: Tensor<3>,
    weights: &LayerWeights,
    config: &LlamaConfig,
    layer: usize,
    rope: &RopeAngles,
    mask: &AttentionMask,
    cache: &mut KvCache,
) -> Tensor<2> {
    let [b, s, hidden] = h.dims();
    let (n_kv, d, group) = (config.n_kv_heads, config.head_dim, config.group_size());
    let rows = h.reshape([b * s, hidden]);

    let mut qkv = weights
        .wqkv
        .forward_normed(rows.clone(), &weights.attn_norm, config.rms_eps);
    if let Some(bias) = &weights.bqkv {
        qkv = qkv + bias.clone().unsqueeze::<2>();
    }
    let (q, keys, values) = rotate_and_cache(qkv, [b, s, hidden], config, layer, rope, cache);

    // One token of one row on WebGPU: attention in one dispatch of our own (model/gpu.rs).
    #[cfg(webgpu)]
    if let Some(out) = mask
        .dense_len
        .and_then(|len| crate::model::gpu::decode_attention_one_token(&q, &keys, &values, len))
    {
        return weights.wo.forward_add(out, rows);
    }

    // One token per row on the CPU: our own loop over the cache (model/decode_attention.rs);
    // flex's attention would pack the whole cache for a few query rows.
    if let Some(out) =
        super::decode_attention::decode_attention(&q, &keys, &values, cache.validity(), cache.len())
    {
        return weights.wo.forward_add(out, rows);
    }

    let q = q
        .reshape([b, s, n_kv, group, d])
        .permute([0, 2, 3, 1, 4])
        .reshape([b, n_kv, group * s, d]);
    let slots = keys.dims()[2];

    let mask = mask.slots.clone().expand([b, n_kv, group * s, slots]);
    let out = sdpa(
        q,
        keys,
        values,
        Some(mask),
        None,
        AttentionModuleOptions {
            scale: Some(1.0 / (d as f64).sqrt()),
            softcap: None,
            is_causal: false,
        },
    );
    let out = out
        .reshape([b, n_kv, group, s, d])
        .permute([0, 3, 1, 2, 4])
        .reshape([b * s, hidden]);
    weights.wo.forward_add(out, rows)
}

/// The rotated queries (`[b, seq, heads, head_dim]`) of the fused projection `qkv`
/// (`[b·seq, hidden + 2·kv]`), with its rotated keys and its values written into `cache`;
/// returns the queries and the layer's whole cache buffers.
fn rotate_and_cache(
    qkv: Tensor<2>,
    [b, s, hidden]: [usize; 3],
    config: &LlamaConfig,
    layer: usize,
    rope: &RopeAngles,
    cache: &mut KvCache,
) -> (Tensor<4>, Tensor<4>, Tensor<4>) {
    let (n_kv, d) = (config.n_kv_heads, config.head_dim);
    let kv = config.kv_size();
    // One token on WebGPU: both rotations and both cache writes in one dispatch of our own
    // (model/gpu.rs), into the cache's buffers in place.
    #[cfg(webgpu)]
    {
        let (keys, values) = cache.take(layer);
        match crate::model::gpu::rope_into_cache_one_token(
            &qkv,
            &rope.cos,
            &rope.sin,
            keys,
            values,
            cache.len(),
            config.n_heads,
            d,
            config.rope_style == super::RopeStyle::AdjacentPairs,
        ) {
            Ok((q, keys, values)) => {
                cache.put(layer, keys.clone(), values.clone());
                return (q, keys, values);
            }
            Err((keys, values)) => cache.put(layer, keys, values),
        }
    }
    let q = qkv
        .clone()
        .narrow(1, 0, hidden)
        .reshape([b, s, config.n_heads, d]);
    let k = qkv.clone().narrow(1, hidden, kv).reshape([b, s, n_kv, d]);
    let v = qkv.narrow(1, hidden + kv, kv).reshape([b, s, n_kv, d]);
    let q = rope.apply(q, config.rope_style);
    let k = rope.apply(k, config.rope_style);
    // Head h uses KV head h / group (HF `repeat_kv` order): the caller makes q
    // [b, n_kv, group·s, d].
    let (keys, values) = cache.write(layer, k.swap_dims(1, 2), v.swap_dims(1, 2));
    (q, keys, values)
}

#[cfg(test)]
mod tests {
    use burn::tensor::module::attention as sdpa;
    use burn::tensor::ops::AttentionModuleOptions;
    use burn::tensor::{Device, Distribution, Tensor};

    use super::build_mask;
    use crate::model::decode_attention::decode_attention;

    /// Flex's general attention as [`super::attention`] calls it, for one token per row.
    fn reference(
        q: &Tensor<4>,
        keys: &Tensor<4>,
        values: &Tensor<4>,
        validity: &[Vec<bool>],
        slot: usize,
    ) -> Tensor<2> {
        let [b, _, heads, d] = q.dims();
        let [_, kv_heads, slots, _] = keys.dims();
        let group = heads / kv_heads;
        let q = q
            .clone()
            .reshape([b, 1, kv_heads, group, d])
            .permute([0, 2, 3, 1, 4])
            .reshape([b, kv_heads, group, d]);
        let mask = build_mask(validity, slot, 1, slots, group, &q.device());
        let out = sdpa(
            q,
            keys.clone(),
            values.clone(),
            Some(mask.expand([b, kv_heads, group, slots])),
            None,
            AttentionModuleOptions {
                scale: Some(1.0 / (d as f64).sqrt()),
                softcap: None,
                is_causal: false,
            },
        );
        out.reshape([b, heads * d])
    }

    fn check(validity: Vec<Vec<bool>>, slot: usize, slots: usize) {
        let device = Device::flex();
        let (b, heads, kv_heads, d) = (validity.len(), 9, 3, 64);
        let dist = Distribution::Normal(0.0, 1.0);
        let q = Tensor::<4>::random([b, 1, heads, d], dist, &device);
        let keys = Tensor::<4>::random([b, kv_heads, slots, d], dist, &device);
        let values = Tensor::<4>::random([b, kv_heads, slots, d], dist, &device);
        let ours = decode_attention(&q, &keys, &values, &validity, slot)
            .expect("flex tensors in the expected layout");
        let want = reference(&q, &keys, &values, &validity, slot);
        let (ours, want) = (
            ours.into_data().try_into_vec::<f32>().unwrap(),
            want.into_data().try_into_vec::<f32>().unwrap(),
        );
        assert_eq!(ours.len(), want.len());
        let worst = ours
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "max |Δ| {worst}");
    }

    #[test]
    fn one_row_with_every_slot_real_matches_flex_attention() {
        // 70 of 128 slots in use, the rest of the buffer stale.
        check(vec![vec![true; 71]], 70, 128);
    }

    #[test]
    fn padded_rows_match_flex_attention() {
        // Two rows, the first left-padded by 3 slots and the second with a padded slot in the
        // middle (a ragged follow-up turn); each row's last slot is this token.
        let mut first = vec![false; 3];
        first.extend([true; 10]);
        let mut second = vec![true; 13];
        second[5] = false;
        check(vec![first, second], 12, 64);
    }
}
