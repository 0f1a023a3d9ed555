//! Key/value cache with per-sequence slot validity.
//!
//! Batching design: a batch is a set of rows that share **slots** (cache columns). Each forward
//! appends the same number of slots to every row; a row with fewer new tokens than the longest
//! is **left-padded** with invalid slots. Invalid slots are never attended to by valid queries,
//! do not advance the row's RoPE position, and each attends only to itself so its (discarded)
//! output stays finite. Because padding goes on the left, the last slot of every forward holds
//! a real token in every row: "last-position logits" need no per-row gather. The same rule
//! handles ragged follow-up turns, not only the first prompt.

use burn::tensor::{Device, Tensor};

use super::LlamaConfig;

/// Slots allocated the first time, and the growth step.
const MIN_CAPACITY: usize = 64;

/// Keys and values of every layer, plus the bookkeeping that turns slots into positions.
#[derive(Debug, Clone)]
pub struct KvCache {
    batch: usize,
    n_kv_heads: usize,
    head_dim: usize,
    device: Device,
    /// Per layer `(keys, values)`, each `[batch, n_kv_heads, capacity, head_dim]`.
    layers: Vec<Option<(Tensor<4>, Tensor<4>)>>,
    capacity: usize,
    /// Slots in use.
    len: usize,
    /// `valid[row][slot]`: whether the slot holds a real token of that row.
    valid: Vec<Vec<bool>>,
    /// Real tokens seen so far per row (the next token's RoPE position).
    next_position: Vec<usize>,
}

impl KvCache {
    /// An empty cache for `batch` rows on `device`. Memory is allocated on first use and grows
    /// in steps of 64 slots.
    pub fn new(config: &LlamaConfig, batch: usize, device: &Device) -> Self {
        Self {
            batch,
            n_kv_heads: config.n_kv_heads,
            head_dim: config.head_dim,
            device: device.clone(),
            layers: vec![None; config.n_layers],
            capacity: 0,
            len: 0,
            valid: vec![Vec::new(); batch],
            next_position: vec![0; batch],
        }
    }

    /// Rows in the batch.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Slots in use (real tokens plus padding).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been cached yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Real tokens cached for `row`.
    pub fn tokens_in_row(&self, row: usize) -> usize {
        self.next_position.get(row).copied().unwrap_or(0)
    }

    /// Slot validity of `row` (`true` = real token).
    pub fn row_validity(&self, row: usize) -> &[bool] {
        self.valid.get(row).map_or(&[], |v| v.as_slice())
    }

    /// Forget everything (keeps the allocation).
    pub fn clear(&mut self) {
        self.len = 0;
        self.valid.iter_mut().for_each(Vec::clear);
        self.next_position.iter_mut().for_each(|p| *p = 0);
    }

    /// Register `new_slots` slots whose validity per row is given, and return each row's RoPE
    /// positions for them (invalid slots get position 0: they are never attended to).
    pub(crate) fn plan_append(&mut self, validity: &[Vec<bool>]) -> Vec<usize> {
        let mut positions = Vec::new();
        for (row, slots) in validity.iter().enumerate() {
            for &is_valid in slots {
                if is_valid {
                    positions.push(self.next_position[row]);
                    self.next_position[row] += 1;
                } else {
                    positions.push(0);
                }
                self.valid[row].push(is_valid);
            }
        }
        positions
    }

    /// Make room for `extra` more slots in every layer.
    pub(crate) fn reserve(&mut self, extra: usize) {
        let needed = self.len + extra;
        if needed <= self.capacity {
            return;
        }
        // Grow in steps of MIN_CAPACITY slots, not by doubling: attention reads the whole
        // buffer (its unused tail masked), so spare slots cost every step, while a regrowth
        // (one copy of the cache) comes only once per MIN_CAPACITY tokens.
        let capacity = needed.div_ceil(MIN_CAPACITY).max(1) * MIN_CAPACITY;
        let shape = [self.batch, self.n_kv_heads, capacity, self.head_dim];
        for layer in &mut self.layers {
            let grown = |old: Option<Tensor<4>>| {
                let fresh = Tensor::zeros(shape, &self.device);
                match old {
                    Some(old) if self.len > 0 => {
                        let kept = old.narrow(2, 0, self.len);
                        fresh.slice_assign(
                            [0..shape[0], 0..shape[1], 0..self.len, 0..shape[3]],
                            kept,
                        )
                    }
                    _ => fresh,
                }
            };
            let (k, v) = match layer.take() {
                Some((k, v)) => (Some(k), Some(v)),
                None => (None, None),
            };
            *layer = Some((grown(k), grown(v)));
        }
        self.capacity = capacity;
    }

    /// Slots allocated in every layer (the attention mask's width).
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Write this forward's keys and values (`[batch, n_kv_heads, seq, head_dim]`) for `layer`
    /// at slots `len..len+seq`, and return the whole buffers (`capacity` slots; slots from
    /// `len + seq` on are zeros or stale, and masked: see `build_mask`).
    ///
    /// The stored tensors are taken out of the cache while written so they are uniquely owned,
    /// which lets flex's `slice_assign` write in place instead of copying the cache.
    pub(crate) fn write(
        &mut self,
        layer: usize,
        keys: Tensor<4>,
        values: Tensor<4>,
    ) -> (Tensor<4>, Tensor<4>) {
        let [b, h, s, d] = keys.dims();
        let start = self.len;
        let ranges = [0..b, 0..h, start..start + s, 0..d];
        let (k_all, v_all) = self.take(layer);
        let k_all = k_all.slice_assign(ranges.clone(), keys);
        let v_all = v_all.slice_assign(ranges, values);
        self.put(layer, k_all.clone(), v_all.clone());
        (k_all, v_all)
    }

    /// Take `layer`'s buffers out of the cache, so that the caller holds them alone and a write
    /// can go in place; [`KvCache::put`] stores them back.
    pub(crate) fn take(&mut self, layer: usize) -> (Tensor<4>, Tensor<4>) {
        self.layers[layer]
            .take()
            .expect("reserve() allocates every layer before a forward writes it")
    }

    /// Store `layer`'s buffers (`[batch, n_kv_heads, capacity, head_dim]`) after a write.
    pub(crate) fn put(&mut self, layer: usize, keys: Tensor<4>, values: Tensor<4>) {
        self.layers[layer] = Some((keys, values));
    }

    /// Close a forward that appended `seq` slots.
    pub(crate) fn commit(&mut self, seq: usize) {
        self.len += seq;
    }

    /// Validity of every slot of every row, `[row][slot]`.
    pub(crate) fn validity(&self) -> &[Vec<bool>] {
        &self.valid
    }
}
