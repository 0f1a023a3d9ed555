//! Hyper-parameters of a Llama-family model, read from GGUF metadata.

use crate::gguf::Gguf;

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

impl LlamaConfig {
    /// Read the configuration from GGUF metadata and the tensor index.
    ///
    /// Fails with [`ModelError::UnsupportedArchitecture`] for any family other than `llama` and
    /// `qwen2`, and with [`ModelError::InvalidConfig`] when the numbers do not fit together.
    pub fn from_gguf(gguf: &Gguf) -> Result<Self, ModelError> {
        let arch_name = meta_str(gguf, "general.architecture")?;
        let architecture = match arch_name.as_str() {
            "llama" => Architecture::Llama,
            "qwen2" => Architecture::Qwen2,
            other => return Err(ModelError::UnsupportedArchitecture(other.to_string())),
        };
        let key = |suffix: &str| format!("{arch_name}.{suffix}");

        let n_layers = meta_usize(gguf, &key("block_count"))?;
        let hidden_size = meta_usize(gguf, &key("embedding_length"))?;
        let ffn_size = meta_usize(gguf, &key("feed_forward_length"))?;
        let n_heads = meta_usize(gguf, &key("attention.head_count"))?;
        let n_kv_heads = opt_usize(gguf, &key("attention.head_count_kv"))?.unwrap_or(n_heads);
        let rope_base = opt_f32(gguf, &key("rope.freq_base"))?.unwrap_or(10_000.0);
        let rms_eps = meta_f32(gguf, &key("attention.layer_norm_rms_epsilon"))?;
        let context_length = meta_usize(gguf, &key("context_length"))?;
        let vocab_size = vocab_size(gguf, &arch_name)?;

        if n_heads == 0 || n_kv_heads == 0 || hidden_size == 0 || n_layers == 0 || ffn_size == 0 {
            return Err(ModelError::InvalidConfig(format!(
                "zero-sized dimension: layers {n_layers}, hidden {hidden_size}, ffn {ffn_size}, \
                 heads {n_heads}/{n_kv_heads}"
            )));
        }
        if !n_heads.is_multiple_of(n_kv_heads) {
            return Err(ModelError::InvalidConfig(format!(
                "{n_heads} query heads are not a multiple of {n_kv_heads} key/value heads"
            )));
        }
        let head_dim = match opt_usize(gguf, &key("attention.key_length"))? {
            Some(d) => d,
            None if hidden_size.is_multiple_of(n_heads) => hidden_size / n_heads,
            None => {
                return Err(ModelError::InvalidConfig(format!(
                    "hidden size {hidden_size} is not a multiple of {n_heads} heads"
                )));
            }
        };
        if head_dim * n_heads != hidden_size || !head_dim.is_multiple_of(2) {
            return Err(ModelError::InvalidConfig(format!(
                "head_dim {head_dim} × {n_heads} heads must equal hidden size {hidden_size} and be even"
            )));
        }
        if let Some(rope_dims) = opt_usize(gguf, &key("rope.dimension_count"))?
            && rope_dims != head_dim
        {
            return Err(ModelError::InvalidConfig(format!(
                "partial rotary embeddings ({rope_dims} of {head_dim} dims) are not supported"
            )));
        }
        if !(rms_eps.is_finite() && rms_eps > 0.0 && rope_base.is_finite() && rope_base > 0.0) {
            return Err(ModelError::InvalidConfig(format!(
                "rms epsilon {rms_eps} and rope base {rope_base} must be positive"
            )));
        }

        let has = |name: &str| gguf.tensors.iter().any(|t| t.name == name);
        let tied_embeddings = !has("output.weight");
        let qkv_bias = has("blk.0.attn_q.bias");
        let rope_style = match architecture {
            Architecture::Llama => RopeStyle::AdjacentPairs,
            Architecture::Qwen2 => RopeStyle::Halves,
        };

        Ok(Self {
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
        })
    }

    /// Query heads that share one key/value head.
    pub fn group_size(&self) -> usize {
        self.n_heads / self.n_kv_heads
    }

    /// Width of the key (and value) projection: `n_kv_heads * head_dim`.
    pub fn kv_size(&self) -> usize {
        self.n_kv_heads * self.head_dim
    }
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
fn vocab_size(gguf: &Gguf, arch: &str) -> Result<usize, ModelError> {
    const TOKENS: &str = "tokenizer.ggml.tokens";
    if gguf.metadata.contains_key(TOKENS) {
        return gguf
            .get_array(TOKENS)
            .map(|a| a.len())
            .map_err(|e| metadata_error(TOKENS, e));
    }
    meta_usize(gguf, &format!("{arch}.vocab_size"))
}
