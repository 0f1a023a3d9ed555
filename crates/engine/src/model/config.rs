//! Hyper-parameters of a Llama-family model, read from GGUF metadata.

use std::collections::{BTreeMap, BTreeSet};

use crate::gguf::{Gguf, GgufError, TensorInfo};

use super::ModelError;

/// The model families this engine runs. They share the decoder block and differ in details
/// the forward pass switches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// `llama` (SmolLM2, Llama 2/3): no biases; llama.cpp's converter permuted Q/K rows, so RoPE
    /// rotates adjacent pairs.
    Llama,
    /// `qwen2` (Qwen2/2.5): biases on Q, K and V; weights are not permuted, so RoPE rotates
    /// the two halves of each head (NeoX style).
    Qwen2,
}

/// How RoPE pairs up the coordinates of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeStyle {
    /// Rotate `(x[2i], x[2i+1])` — ggml's `NORM` mode. Required for llama GGUFs, whose Q/K rows
    /// the converter permuted; the HF `rotate_half` form gives garbage on them.
    AdjacentPairs,
    /// Rotate `(x[i], x[i + d/2])` — ggml's `NEOX` mode (Qwen2).
    Halves,
}

/// Hyper-parameters of a decoder-only Llama-family transformer.
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    /// Which family the GGUF declares.
    pub architecture: Architecture,
    /// Decoder blocks (`{arch}.block_count`).
    pub n_layers: usize,
    /// Residual-stream width (`{arch}.embedding_length`).
    pub hidden_size: usize,
    /// MLP inner width (`{arch}.feed_forward_length`).
    pub ffn_size: usize,
    /// Query heads (`{arch}.attention.head_count`).
    pub n_heads: usize,
    /// Key/value heads (`{arch}.attention.head_count_kv`, defaults to `n_heads`).
    pub n_kv_heads: usize,
    /// Width of one head (`hidden_size / n_heads` unless `attention.key_length` says otherwise).
    pub head_dim: usize,
    /// RoPE base frequency (`{arch}.rope.freq_base`, default 10000).
    pub rope_base: f32,
    /// Pairing convention of RoPE, fixed by the architecture.
    pub rope_style: RopeStyle,
    /// RMSNorm epsilon (`{arch}.attention.layer_norm_rms_epsilon`).
    pub rms_eps: f32,
    /// Longest sequence the model was trained for (`{arch}.context_length`).
    pub context_length: usize,
    /// Vocabulary size (length of `tokenizer.ggml.tokens`).
    pub vocab_size: usize,
    /// Whether Q, K and V projections carry a bias (Qwen2).
    pub qkv_bias: bool,
    /// Whether the LM head reuses `token_embd.weight` (no `output.weight` tensor).
    pub tied_embeddings: bool,
}

/// Most decoder blocks a file may declare. The deepest published Llama-family models have
/// ~130 blocks; per-layer tables (KV cache, interventions, captures) are sized by this count,
/// so it gets an absolute bound on top of matching the `blk.N.*` tensors in the file.
pub const MAX_LAYERS: usize = 1024;

/// Longest `context_length` a file may declare: 2^24 positions. RoPE angles are computed as
/// `position as f32 · inv_freq`, and f32 holds integers exactly only up to 2^24, so positions
/// past it would collide; the longest published contexts (10 M tokens) are below it.
pub const MAX_CONTEXT_LENGTH: usize = 1 << 24;

impl LlamaConfig {
    /// Read the configuration from GGUF metadata and validate it against the tensor index.
    ///
    /// Every number is checked before anything is sized by it: the block count must equal the
    /// `blk.N.*` blocks present (numbered `0..n`), the embedding width and vocabulary must be
    /// the dims of `token_embd.weight`, heads × head width must be the widths of the attention
    /// tensors (with checked arithmetic), the context length must lie in
    /// `1..=`[`MAX_CONTEXT_LENGTH`], the RMS epsilon and RoPE base must be finite and positive,
    /// and every tensor the loader reads must exist with the shape the numbers imply.
    ///
    /// Fails with [`ModelError::UnsupportedArchitecture`] for any family other than `llama` and
    /// `qwen2`, with [`ModelError::Metadata`] (naming the key) when a value is missing, of the
    /// wrong type or contradicted by the tensors, with [`ModelError::TensorShape`] or
    /// [`ModelError::Gguf`] when a tensor of some block is missing or misshapen, and with
    /// [`ModelError::InvalidConfig`] when the numbers do not fit together otherwise.
    pub fn from_gguf(gguf: &Gguf) -> Result<Self, ModelError> {
        let arch_name = meta_str(gguf, "general.architecture")?;
        let architecture = match arch_name.as_str() {
            "llama" => Architecture::Llama,
            "qwen2" => Architecture::Qwen2,
            other => return Err(ModelError::UnsupportedArchitecture(other.to_string())),
        };
        let key = |suffix: &str| format!("{arch_name}.{suffix}");
        let tensors: BTreeMap<&str, &TensorInfo> =
            gguf.tensors.iter().map(|t| (t.name.as_str(), t)).collect();

        // Blocks: exactly the ones the file holds tensors for.
        let layers_key = key("block_count");
        let n_layers = meta_usize(gguf, &layers_key)?;
        check_block_count(&layers_key, n_layers, &block_indices(gguf))?;

        // Embedding width and vocabulary: the dims of the token embedding.
        const EMBD: &str = "token_embd.weight";
        let hidden_key = key("embedding_length");
        let hidden_size = meta_usize(gguf, &hidden_key)?;
        let (vocab_key, vocab_size) = vocab_size(gguf, &arch_name)?;
        let [embd_width, embd_rows] = matrix_dims(&tensors, EMBD)?;
        at_least_one(&hidden_key, hidden_size)?;
        matches_tensor(&hidden_key, hidden_size, EMBD, "row width", embd_width)?;
        at_least_one(&vocab_key, vocab_size)?;
        matches_tensor(&vocab_key, vocab_size, EMBD, "row count", embd_rows)?;
        if u32::try_from(vocab_size).is_err() {
            return Err(metadata_error(
                &vocab_key,
                format!("{vocab_size} tokens do not fit the u32 token ids"),
            ));
        }

        // Heads: counts × width must be the attention widths, without overflow.
        let heads_key = key("attention.head_count");
        let kv_heads_key = key("attention.head_count_kv");
        let head_dim_key = key("attention.key_length");
        let n_heads = meta_usize(gguf, &heads_key)?;
        at_least_one(&heads_key, n_heads)?;
        let n_kv_heads = opt_usize(gguf, &kv_heads_key)?.unwrap_or(n_heads);
        at_least_one(&kv_heads_key, n_kv_heads)?;
        if !n_heads.is_multiple_of(n_kv_heads) {
            return Err(metadata_error(
                &kv_heads_key,
                format!(
                    "{n_kv_heads} key/value heads do not divide the {n_heads} query heads \
                     (`{heads_key}`)"
                ),
            ));
        }
        let head_dim = match opt_usize(gguf, &head_dim_key)? {
            Some(d) => d,
            None if hidden_size.is_multiple_of(n_heads) => hidden_size / n_heads,
            None => {
                return Err(metadata_error(
                    &heads_key,
                    format!(
                        "{n_heads} heads do not divide the embedding width {hidden_size} \
                         (`{hidden_key}`), and there is no `{head_dim_key}`"
                    ),
                ));
            }
        };
        if head_dim == 0 || !head_dim.is_multiple_of(2) {
            return Err(metadata_error(
                &head_dim_key,
                format!(
                    "a head width of {head_dim} is not supported (RoPE needs an even, nonzero width)"
                ),
            ));
        }
        let q_width = n_heads.checked_mul(head_dim).ok_or_else(|| {
            metadata_error(
                &head_dim_key,
                format!("{head_dim} × {n_heads} heads (`{heads_key}`) overflows"),
            )
        })?;
        if q_width != hidden_size {
            return Err(metadata_error(
                &head_dim_key,
                format!(
                    "{head_dim} × {n_heads} heads (`{heads_key}`) = {q_width} must equal the \
                     embedding width {hidden_size} (`{hidden_key}`)"
                ),
            ));
        }
        // At most `q_width`, since `n_kv_heads` divides `n_heads`; checked all the same.
        let kv_size = n_kv_heads.checked_mul(head_dim).ok_or_else(|| {
            metadata_error(
                &kv_heads_key,
                format!("{n_kv_heads} × {head_dim} overflows"),
            )
        })?;
        let value_key = key("attention.value_length");
        if let Some(value_dim) = opt_usize(gguf, &value_key)?
            && value_dim != head_dim
        {
            return Err(metadata_error(
                &value_key,
                format!(
                    "value heads of {value_dim} differ from key heads of {head_dim}, which is not supported"
                ),
            ));
        }
        let rope_dims_key = key("rope.dimension_count");
        if let Some(rope_dims) = opt_usize(gguf, &rope_dims_key)?
            && rope_dims != head_dim
        {
            return Err(metadata_error(
                &rope_dims_key,
                format!(
                    "partial rotary embeddings ({rope_dims} of {head_dim} dims) are not supported"
                ),
            ));
        }
        let attn_q = "blk.0.attn_q.weight";
        let [q_in, q_out] = matrix_dims(&tensors, attn_q)?;
        matches_tensor(&hidden_key, hidden_size, attn_q, "input width", q_in)?;
        matches_tensor(
            &heads_key,
            q_width,
            attn_q,
            &format!("output width (must be {n_heads} heads × {head_dim})"),
            q_out,
        )?;
        let attn_k = "blk.0.attn_k.weight";
        let [_, k_out] = matrix_dims(&tensors, attn_k)?;
        matches_tensor(
            &kv_heads_key,
            kv_size,
            attn_k,
            &format!("output width (must be {n_kv_heads} key/value heads × {head_dim})"),
            k_out,
        )?;

        // MLP width: the gate projection's output.
        let ffn_key = key("feed_forward_length");
        let ffn_size = meta_usize(gguf, &ffn_key)?;
        at_least_one(&ffn_key, ffn_size)?;
        let ffn_gate = "blk.0.ffn_gate.weight";
        let [_, gate_out] = matrix_dims(&tensors, ffn_gate)?;
        matches_tensor(&ffn_key, ffn_size, ffn_gate, "output width", gate_out)?;

        let context_key = key("context_length");
        let context_length = meta_usize(gguf, &context_key)?;
        if !(1..=MAX_CONTEXT_LENGTH).contains(&context_length) {
            return Err(metadata_error(
                &context_key,
                format!(
                    "{context_length} positions is outside 1..={MAX_CONTEXT_LENGTH} (RoPE \
                     positions are exact in f32 only up to 2^24)"
                ),
            ));
        }
        let eps_key = key("attention.layer_norm_rms_epsilon");
        let rms_eps = meta_f32(gguf, &eps_key)?;
        finite_positive(&eps_key, rms_eps)?;
        let rope_key = key("rope.freq_base");
        let rope_base = opt_f32(gguf, &rope_key)?.unwrap_or(10_000.0);
        finite_positive(&rope_key, rope_base)?;

        let tied_embeddings = !tensors.contains_key("output.weight");
        let qkv_bias = tensors.contains_key("blk.0.attn_q.bias");
        let rope_style = match architecture {
            Architecture::Llama => RopeStyle::AdjacentPairs,
            Architecture::Qwen2 => RopeStyle::Halves,
        };
        let config = Self {
            architecture,
            n_layers,
            hidden_size,
            ffn_size,
            n_heads,
            n_kv_heads,
            head_dim,
            rope_base,
            rope_style,
            rms_eps,
            context_length,
            vocab_size,
            qkv_bias,
            tied_embeddings,
        };
        config.check_sizes()?;
        config.check_tensors(&tensors)?;
        Ok(config)
    }

    /// Query heads that share one key/value head.
    pub fn group_size(&self) -> usize {
        self.n_heads / self.n_kv_heads
    }

    /// Width of the key (and value) projection: `n_kv_heads * head_dim`.
    pub fn kv_size(&self) -> usize {
        self.n_kv_heads * self.head_dim
    }

    /// The loader multiplies widths into element counts (`input × Σ outputs` for the fused
    /// matrices) and may decode a whole matrix to f32: each must be addressable on this
    /// platform (wasm32 has 31 bits of `isize`), so none of that arithmetic can overflow.
    fn check_sizes(&self) -> Result<(), ModelError> {
        let h = self.hidden_size;
        let kv = self.kv_size();
        let fused_qkv = kv.checked_mul(2).and_then(|x| x.checked_add(h));
        let gate_up = self.ffn_size.checked_mul(2);
        for (what, input, out) in [
            ("the fused Q/K/V projection", h, fused_qkv),
            ("the fused gate/up projection", h, gate_up),
            ("the token embedding / LM head", h, Some(self.vocab_size)),
        ] {
            let bytes = out
                .and_then(|out| out.checked_mul(input))
                .and_then(|n| n.checked_mul(size_of::<f32>()))
                .filter(|&b| isize::try_from(b).is_ok());
            if bytes.is_none() {
                return Err(ModelError::InvalidConfig(format!(
                    "{what} ({input} × {out:?} values) is too large to address on this platform"
                )));
            }
        }
        Ok(())
    }

    /// Every tensor the loader reads exists with the shape the configuration implies (ggml
    /// dims, `[input, output]`), so the page refuses a broken file before loading it.
    fn check_tensors(&self, tensors: &BTreeMap<&str, &TensorInfo>) -> Result<(), ModelError> {
        let (h, kv, f) = (self.hidden_size, self.kv_size(), self.ffn_size);
        let check = |name: &str, expected: &[usize]| -> Result<(), ModelError> {
            let info = tensors
                .get(name)
                .ok_or_else(|| GgufError::MissingTensor(name.to_owned()))?;
            let expected: Vec<u64> = expected.iter().map(|&d| d as u64).collect();
            if info.dims == expected {
                Ok(())
            } else {
                Err(ModelError::TensorShape {
                    name: name.to_owned(),
                    got: info.dims.clone(),
                    expected,
                })
            }
        };
        check("token_embd.weight", &[h, self.vocab_size])?;
        check("output_norm.weight", &[h])?;
        if !self.tied_embeddings {
            check("output.weight", &[h, self.vocab_size])?;
        }
        for l in 0..self.n_layers {
            let name = |s: &str| format!("blk.{l}.{s}");
            check(&name("attn_norm.weight"), &[h])?;
            check(&name("attn_q.weight"), &[h, h])?;
            check(&name("attn_k.weight"), &[h, kv])?;
            check(&name("attn_v.weight"), &[h, kv])?;
            if self.qkv_bias {
                check(&name("attn_q.bias"), &[h])?;
                check(&name("attn_k.bias"), &[kv])?;
                check(&name("attn_v.bias"), &[kv])?;
            }
            check(&name("attn_output.weight"), &[h, h])?;
            check(&name("ffn_norm.weight"), &[h])?;
            check(&name("ffn_gate.weight"), &[h, f])?;
            check(&name("ffn_up.weight"), &[h, f])?;
            check(&name("ffn_down.weight"), &[f, h])?;
        }
        Ok(())
    }
}

/// The block numbers `N` of the tensors named `blk.N.…` (canonical decimal `N` only: the loader
/// looks tensors up as `blk.{N}.…`). At most one entry per tensor, so bounded by the file.
pub fn block_indices(gguf: &Gguf) -> BTreeSet<usize> {
    gguf.tensors
        .iter()
        .filter_map(|t| {
            let (n, _) = t.name.strip_prefix("blk.")?.split_once('.')?;
            let canonical = !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
                && (n == "0" || !n.starts_with('0'));
            canonical.then(|| n.parse::<usize>().ok()).flatten()
        })
        .collect()
}

/// `{arch}.block_count` must be exactly the blocks `0..n` the file has tensors for, and at most
/// [`MAX_LAYERS`].
fn check_block_count(
    key: &str,
    n_layers: usize,
    blocks: &BTreeSet<usize>,
) -> Result<(), ModelError> {
    // An empty set is not contiguous, so a count of 0 is refused here too.
    // `len − 1`, not `last + 1`: a block numbered usize::MAX must not overflow the check.
    let contiguous = blocks
        .last()
        .is_some_and(|&last| blocks.len().checked_sub(1) == Some(last));
    if n_layers != blocks.len() || !contiguous {
        let present = match (blocks.first(), blocks.last()) {
            (Some(first), Some(last)) if contiguous => {
                format!(
                    "tensors for {} (`blk.{first}.*` … `blk.{last}.*`)",
                    blocks.len()
                )
            }
            (Some(first), Some(last)) => format!(
                "tensors for {} blocks numbered {first} to {last}, with gaps",
                blocks.len()
            ),
            _ => "no `blk.N.*` tensors".to_owned(),
        };
        return Err(metadata_error(
            key,
            format!("declares {n_layers} blocks but the file has {present}"),
        ));
    }
    if n_layers > MAX_LAYERS {
        return Err(metadata_error(
            key,
            format!("{n_layers} blocks is more than the {MAX_LAYERS} this engine loads"),
        ));
    }
    Ok(())
}

/// The dims of a 2-D tensor.
fn matrix_dims(tensors: &BTreeMap<&str, &TensorInfo>, name: &str) -> Result<[u64; 2], ModelError> {
    let info = tensors
        .get(name)
        .ok_or_else(|| GgufError::MissingTensor(name.to_owned()))?;
    match info.dims.as_slice() {
        &[input, output] => Ok([input, output]),
        other => Err(ModelError::InvalidConfig(format!(
            "tensor `{name}` has dims {other:?}, expected a matrix"
        ))),
    }
}

fn at_least_one(key: &str, value: usize) -> Result<(), ModelError> {
    if value == 0 {
        return Err(metadata_error(key, "must be at least 1"));
    }
    Ok(())
}

/// `key`'s `value` equals the dimension `got` (`what`) of tensor `tensor`.
fn matches_tensor(
    key: &str,
    value: usize,
    tensor: &str,
    what: &str,
    got: u64,
) -> Result<(), ModelError> {
    if value as u64 == got {
        return Ok(());
    }
    Err(metadata_error(
        key,
        format!("{value} does not match tensor `{tensor}`, whose {what} is {got}"),
    ))
}

fn finite_positive(key: &str, value: f32) -> Result<(), ModelError> {
    if value.is_finite() && value > 0.0 {
        return Ok(());
    }
    Err(metadata_error(
        key,
        format!("{value} is not a finite positive number"),
    ))
}

fn metadata_error(key: &str, reason: impl ToString) -> ModelError {
    ModelError::Metadata {
        key: key.to_string(),
        reason: reason.to_string(),
    }
}

fn meta_str(gguf: &Gguf, key: &str) -> Result<String, ModelError> {
    gguf.get_str(key)
        .map(|s| s.to_string())
        .map_err(|e| metadata_error(key, e))
}

fn meta_usize(gguf: &Gguf, key: &str) -> Result<usize, ModelError> {
    opt_usize(gguf, key)?.ok_or_else(|| metadata_error(key, "missing"))
}

/// Integer keys are u32 in files written by llama.cpp, but other writers use u64; accept both.
fn opt_usize(gguf: &Gguf, key: &str) -> Result<Option<usize>, ModelError> {
    if !gguf.metadata.contains_key(key) {
        return Ok(None);
    }
    if let Ok(v) = gguf.get_u32(key) {
        return Ok(Some(v as usize));
    }
    match gguf.get_u64(key) {
        Ok(v) => usize::try_from(v)
            .map(Some)
            .map_err(|_| metadata_error(key, format!("{v} does not fit in usize"))),
        Err(e) => Err(metadata_error(key, e)),
    }
}

fn meta_f32(gguf: &Gguf, key: &str) -> Result<f32, ModelError> {
    opt_f32(gguf, key)?.ok_or_else(|| metadata_error(key, "missing"))
}

fn opt_f32(gguf: &Gguf, key: &str) -> Result<Option<f32>, ModelError> {
    if !gguf.metadata.contains_key(key) {
        return Ok(None);
    }
    gguf.get_f32(key)
        .map(Some)
        .map_err(|e| metadata_error(key, e))
}

/// The vocabulary is the token list; `{arch}.vocab_size` is a fallback for files without one.
/// Returns the key the size came from, for error messages.
fn vocab_size(gguf: &Gguf, arch: &str) -> Result<(String, usize), ModelError> {
    const TOKENS: &str = "tokenizer.ggml.tokens";
    if gguf.metadata.contains_key(TOKENS) {
        return gguf
            .get_array(TOKENS)
            .map(|a| (TOKENS.to_owned(), a.len()))
            .map_err(|e| metadata_error(TOKENS, e));
    }
    let key = format!("{arch}.vocab_size");
    let size = meta_usize(gguf, &key)?;
    Ok((key, size))
}

#[cfg(test)]
mod tests {
    //! Hostile configurations, written as small GGUF files: each must come back as an error
    //! that names the offending key, never a panic or an allocation sized by the bad value.

    use std::collections::BTreeMap;

    use super::*;
    use crate::gguf::{GgmlType, GgufWriter, MetadataValue};

    /// A tiny llama GGUF: metadata (editable) plus every tensor the loader reads, for
    /// `layers` blocks with the given widths. Tensors are F32 zeros, or declared with an
    /// unknown type and no data (to describe shapes too large to write).
    struct Tiny {
        meta: BTreeMap<String, MetadataValue>,
        layers: usize,
        hidden: u64,
        kv: u64,
        ffn: u64,
        vocab: u64,
        ggml_type: GgmlType,
        skip: Option<String>,
        extra: Vec<(String, Vec<u64>)>,
    }

    impl Tiny {
        /// 2 blocks, width 8 = 2 heads × 4, 1 key/value head, MLP 16, 5 tokens.
        fn new() -> Self {
            let mut t = Tiny {
                meta: BTreeMap::new(),
                layers: 2,
                hidden: 8,
                kv: 4,
                ffn: 16,
                vocab: 5,
                ggml_type: GgmlType::F32,
                skip: None,
                extra: Vec::new(),
            };
            t = t
                .set("general.architecture", "llama")
                .set("llama.block_count", 2u32)
                .set("llama.embedding_length", 8u32)
                .set("llama.feed_forward_length", 16u32)
                .set("llama.attention.head_count", 2u32)
                .set("llama.attention.head_count_kv", 1u32)
                .set("llama.context_length", 64u32)
                .set("llama.attention.layer_norm_rms_epsilon", 1e-5f32)
                .set("llama.rope.freq_base", 10_000f32)
                .set("tokenizer.ggml.tokens", vec!["a", "b", "c", "d", "e"]);
            t
        }

        fn set(mut self, key: &str, value: impl Into<MetadataValue>) -> Self {
            self.meta.insert(key.to_owned(), value.into());
            self
        }

        fn remove(mut self, key: &str) -> Self {
            self.meta.remove(key);
            self
        }

        fn bytes(&self) -> Vec<u8> {
            let mut w = GgufWriter::new();
            for (k, v) in &self.meta {
                w.add_metadata(k.clone(), v.clone());
            }
            let (h, kv, f) = (self.hidden, self.kv, self.ffn);
            let mut tensors: Vec<(String, Vec<u64>)> = vec![
                ("token_embd.weight".into(), vec![h, self.vocab]),
                ("output_norm.weight".into(), vec![h]),
            ];
            for l in 0..self.layers {
                for (s, dims) in [
                    ("attn_norm.weight", vec![h]),
                    ("attn_q.weight", vec![h, h]),
                    ("attn_k.weight", vec![h, kv]),
                    ("attn_v.weight", vec![h, kv]),
                    ("attn_output.weight", vec![h, h]),
                    ("ffn_norm.weight", vec![h]),
                    ("ffn_gate.weight", vec![h, f]),
                    ("ffn_up.weight", vec![h, f]),
                    ("ffn_down.weight", vec![f, h]),
                ] {
                    tensors.push((format!("blk.{l}.{s}"), dims));
                }
            }
            // `skip` drops a generated tensor; `extra` ones are written as given.
            tensors.retain(|(name, _)| self.skip.as_deref() != Some(name.as_str()));
            tensors.extend(self.extra.iter().cloned());
            for (name, dims) in tensors {
                if self.ggml_type == GgmlType::F32 {
                    let n = dims.iter().product::<u64>() as usize;
                    w.add_f32_tensor(name, &dims, &vec![0.0; n]);
                } else {
                    w.add_tensor(name, &dims, self.ggml_type, Vec::new());
                }
            }
            w.to_bytes()
        }

        fn config(&self) -> Result<LlamaConfig, ModelError> {
            LlamaConfig::from_gguf(&Gguf::parse(&self.bytes()).expect("test GGUF parses"))
        }
    }

    /// The error must be `Metadata` for `key`, and its message must contain every `needle`.
    #[track_caller]
    fn assert_key_error(result: Result<LlamaConfig, ModelError>, key: &str, needles: &[&str]) {
        match result {
            Err(e @ ModelError::Metadata { .. }) => {
                let ModelError::Metadata { key: got, .. } = &e else {
                    unreachable!()
                };
                let message = e.to_string();
                assert_eq!(got, key, "{message}");
                assert!(message.contains(&format!("`{key}`")), "{message}");
                for needle in needles {
                    assert!(message.contains(needle), "`{needle}` not in: {message}");
                }
            }
            other => panic!("expected a metadata error for `{key}`, got {other:?}"),
        }
    }

    #[test]
    fn the_tiny_model_is_valid() {
        let c = Tiny::new().config().expect("valid");
        assert_eq!(
            (
                c.n_layers,
                c.hidden_size,
                c.ffn_size,
                c.n_heads,
                c.n_kv_heads,
                c.head_dim
            ),
            (2, 8, 16, 2, 1, 4)
        );
        assert_eq!((c.vocab_size, c.context_length, c.kv_size()), (5, 64, 4));
        assert!(c.tied_embeddings && !c.qkv_bias);
        // u64 values and `{arch}.vocab_size` without a token list are accepted too.
        let c = Tiny::new()
            .set("llama.block_count", 2u64)
            .set("llama.attention.key_length", 4u64)
            .remove("tokenizer.ggml.tokens")
            .set("llama.vocab_size", 5u64)
            .config()
            .expect("valid");
        assert_eq!((c.n_layers, c.head_dim, c.vocab_size), (2, 4, 5));
    }

    #[test]
    fn a_block_count_of_2_pow_31_minus_1_is_refused_before_anything_is_allocated() {
        for value in [
            MetadataValue::U32((1 << 31) - 1),
            MetadataValue::U64((1 << 31) - 1),
        ] {
            assert_key_error(
                Tiny::new().set("llama.block_count", value).config(),
                "llama.block_count",
                &["2147483647", "tensors for 2", "`blk.0.*` … `blk.1.*`"],
            );
        }
    }

    /// Found by the model_config fuzz target (2026-12-06): a tensor named
    /// `blk.18446744073709551615.*` overflowed the contiguity check (`last + 1`).
    #[test]
    fn a_block_numbered_usize_max_is_refused_without_overflow() {
        let blocks: BTreeSet<usize> = [0, usize::MAX].into_iter().collect();
        let err = check_block_count("llama.block_count", 2, &blocks).expect_err("gaps");
        assert!(err.to_string().contains("with gaps"), "{err}");
        let blocks: BTreeSet<usize> = [usize::MAX].into_iter().collect();
        assert!(check_block_count("llama.block_count", 1, &blocks).is_err());
    }

    #[test]
    fn the_block_count_must_equal_the_blocks_present() {
        for n in [0u32, 1, 3] {
            assert_key_error(
                Tiny::new().set("llama.block_count", n).config(),
                "llama.block_count",
                &[&format!("declares {n} blocks"), "tensors for 2"],
            );
        }
        // Three blocks present, but numbered 0, 1 and 5.
        let mut gaps = Tiny::new().set("llama.block_count", 3u32);
        gaps.extra.push(("blk.5.attn_norm.weight".into(), vec![8]));
        assert_key_error(gaps.config(), "llama.block_count", &["numbered 0 to 5"]);
        let mut none = Tiny::new();
        none.layers = 0;
        assert_key_error(
            none.config(),
            "llama.block_count",
            &["no `blk.N.*` tensors"],
        );
        // A non-canonical block number is not a block (the loader would never find it).
        let mut odd = Tiny::new();
        odd.extra.push(("blk.01.attn_norm.weight".into(), vec![8]));
        assert!(odd.config().is_ok());
    }

    #[test]
    fn more_blocks_than_max_layers_are_refused() {
        let blocks: BTreeSet<usize> = (0..=MAX_LAYERS).collect();
        let err =
            check_block_count("llama.block_count", MAX_LAYERS + 1, &blocks).expect_err("too many");
        assert!(
            err.to_string()
                .contains("1025 blocks is more than the 1024"),
            "{err}"
        );
        let blocks: BTreeSet<usize> = (0..MAX_LAYERS).collect();
        assert!(check_block_count("k", MAX_LAYERS, &blocks).is_ok());
    }

    #[test]
    fn a_key_length_of_2_pow_31_plus_32_does_not_wrap_to_a_valid_width() {
        // 2 heads × (2^31 + 32) is 2^32 + 64: in u32 arithmetic (wasm32) that wraps to 64.
        assert_key_error(
            Tiny::new()
                .set("llama.attention.key_length", (1u64 << 31) + 32)
                .config(),
            "llama.attention.key_length",
            &["2147483680 × 2 heads", "must equal the embedding width 8"],
        );
        // A product past u64 (here on 64-bit; past u32 on wasm32) is an error, not a wrap.
        assert_key_error(
            Tiny::new()
                .set("llama.attention.key_length", 1u64 << 63)
                .config(),
            "llama.attention.key_length",
            &["overflows"],
        );
        for odd in [0u32, 3] {
            assert_key_error(
                Tiny::new().set("llama.attention.key_length", odd).config(),
                "llama.attention.key_length",
                &[&format!("head width of {odd}")],
            );
        }
    }

    #[test]
    fn zero_heads_are_refused() {
        assert_key_error(
            Tiny::new().set("llama.attention.head_count", 0u32).config(),
            "llama.attention.head_count",
            &["at least 1"],
        );
        assert_key_error(
            Tiny::new()
                .set("llama.attention.head_count_kv", 0u32)
                .config(),
            "llama.attention.head_count_kv",
            &["at least 1"],
        );
    }

    #[test]
    fn heads_that_do_not_divide_are_refused() {
        // 3 heads into a width of 8.
        assert_key_error(
            Tiny::new().set("llama.attention.head_count", 3u32).config(),
            "llama.attention.head_count",
            &["3 heads do not divide the embedding width 8"],
        );
        // 3 key/value heads for 2 query heads.
        assert_key_error(
            Tiny::new()
                .set("llama.attention.head_count_kv", 3u32)
                .config(),
            "llama.attention.head_count_kv",
            &["3 key/value heads do not divide the 2 query heads"],
        );
        // 4 heads of 2 divide the width, but 1 key/value head of 2 is not the 4 columns of
        // `attn_k`: the counts must multiply to the tensors' widths.
        assert_key_error(
            Tiny::new().set("llama.attention.head_count", 4u32).config(),
            "llama.attention.head_count_kv",
            &[
                "2 does not match tensor `blk.0.attn_k.weight`",
                "(must be 1 key/value heads × 2) is 4",
            ],
        );
    }

    #[test]
    fn the_vocabulary_must_be_the_embedding_rows() {
        assert_key_error(
            Tiny::new()
                .remove("tokenizer.ggml.tokens")
                .set("llama.vocab_size", 1u64 << 40)
                .config(),
            "llama.vocab_size",
            &["1099511627776", "`token_embd.weight`", "row count is 5"],
        );
        assert_key_error(
            Tiny::new()
                .set("tokenizer.ggml.tokens", vec!["a"; 6])
                .config(),
            "tokenizer.ggml.tokens",
            &["6 does not match", "row count is 5"],
        );
        assert_key_error(
            Tiny::new()
                .set("tokenizer.ggml.tokens", Vec::<String>::new())
                .config(),
            "tokenizer.ggml.tokens",
            &["at least 1"],
        );
    }

    #[test]
    fn the_widths_must_be_the_tensors_widths() {
        assert_key_error(
            Tiny::new()
                .set("llama.embedding_length", (1u64 << 31) - 1)
                .config(),
            "llama.embedding_length",
            &["2147483647", "`token_embd.weight`", "row width is 8"],
        );
        assert_key_error(
            Tiny::new()
                .set("llama.feed_forward_length", u64::MAX)
                .config(),
            "llama.feed_forward_length",
            &["`blk.0.ffn_gate.weight`", "output width is 16"],
        );
        assert_key_error(
            Tiny::new().set("llama.embedding_length", 0u32).config(),
            "llama.embedding_length",
            &["at least 1"],
        );
    }

    #[test]
    fn non_finite_or_non_positive_floats_are_refused() {
        for eps in [f32::NAN, f32::INFINITY, 0.0, -1e-5] {
            assert_key_error(
                Tiny::new()
                    .set("llama.attention.layer_norm_rms_epsilon", eps)
                    .config(),
                "llama.attention.layer_norm_rms_epsilon",
                &["not a finite positive number"],
            );
        }
        // An f64 beyond f32 narrows to infinity.
        assert_key_error(
            Tiny::new()
                .set("llama.attention.layer_norm_rms_epsilon", 1e300f64)
                .config(),
            "llama.attention.layer_norm_rms_epsilon",
            &["inf"],
        );
        for base in [f32::NAN, f32::NEG_INFINITY, 0.0] {
            assert_key_error(
                Tiny::new().set("llama.rope.freq_base", base).config(),
                "llama.rope.freq_base",
                &["not a finite positive number"],
            );
        }
    }

    #[test]
    fn the_context_length_is_bounded() {
        for n in [0u64, MAX_CONTEXT_LENGTH as u64 + 1, u64::MAX] {
            assert_key_error(
                Tiny::new().set("llama.context_length", n).config(),
                "llama.context_length",
                &[&format!("{n} positions is outside 1..=16777216")],
            );
        }
        let c = Tiny::new()
            .set("llama.context_length", MAX_CONTEXT_LENGTH as u64)
            .config()
            .expect("at the bound");
        assert_eq!(c.context_length, MAX_CONTEXT_LENGTH);
    }

    #[test]
    fn unsupported_head_layouts_name_their_key() {
        assert_key_error(
            Tiny::new()
                .set("llama.attention.value_length", 2u32)
                .config(),
            "llama.attention.value_length",
            &["value heads of 2 differ from key heads of 4"],
        );
        assert_key_error(
            Tiny::new().set("llama.rope.dimension_count", 2u32).config(),
            "llama.rope.dimension_count",
            &["partial rotary embeddings (2 of 4 dims)"],
        );
    }

    #[test]
    fn wrong_value_types_name_their_key() {
        assert_key_error(
            Tiny::new().set("llama.block_count", "thirty").config(),
            "llama.block_count",
            &["string"],
        );
        assert_key_error(
            Tiny::new().set("llama.context_length", -1i32).config(),
            "llama.context_length",
            &[],
        );
    }

    #[test]
    fn every_block_s_tensors_must_be_present_and_shaped() {
        let mut missing = Tiny::new();
        missing.skip = Some("blk.1.ffn_down.weight".into());
        let err = missing.config().expect_err("missing tensor");
        assert!(
            matches!(&err, ModelError::Gguf(GgufError::MissingTensor(n)) if n == "blk.1.ffn_down.weight"),
            "{err:?}"
        );
        let mut misshapen = Tiny::new();
        misshapen.skip = Some("blk.1.attn_v.weight".into());
        misshapen
            .extra
            .push(("blk.1.attn_v.weight".into(), vec![8, 8]));
        let err = misshapen.config().expect_err("misshapen tensor");
        assert!(
            matches!(&err, ModelError::TensorShape { name, got, expected }
                if name == "blk.1.attn_v.weight" && *got == [8, 8] && *expected == [8, 4]),
            "{err:?}"
        );
        let mut no_embedding = Tiny::new();
        no_embedding.skip = Some("token_embd.weight".into());
        let err = no_embedding.config().expect_err("no embedding");
        assert!(err.to_string().contains("token_embd.weight"), "{err}");
    }

    #[test]
    fn consistent_but_unaddressable_shapes_are_refused() {
        // Tensors of an unknown type carry no data, so the reader accepts any shape: a model
        // 2^31 wide whose numbers all agree still must not reach the loader's arithmetic.
        let wide = 1u64 << 31;
        let mut t = Tiny::new()
            .set("llama.embedding_length", wide)
            .set("llama.feed_forward_length", 16u32)
            .set("llama.attention.head_count", 2u32)
            .set("llama.attention.head_count_kv", 2u32);
        (t.hidden, t.kv, t.ggml_type) = (wide, wide, GgmlType::Unknown(1000));
        let err = t.config().expect_err("unaddressable");
        assert!(
            matches!(err, ModelError::InvalidConfig(ref m) if m.contains("too large to address")),
            "{err:?}"
        );
    }
}
