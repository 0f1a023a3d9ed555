//! Weights: from GGUF bytes into burn tensors on a device.
//!
//! Layout choices, and why:
//! - Every projection is stored **input-major** (`[in, out]`) so the forward pass is a plain
//!   `x.matmul(w)`: a quantized tensor is never transposed (on flex a transpose of a
//!   block-quantized tensor dequantizes and requantizes the whole matrix).
//! - Q, K and V are fused into one `[hidden, q + 2·kv]` matrix and gate/up into one
//!   `[hidden, 2·ffn]` matrix: two matmuls per block instead of five.
//! - The token embedding stays **on the host** in its GGUF encoding (Q8_0 here, 30 MB) and only
//!   the rows a forward needs are dequantized and uploaded. Gathering rows from a
//!   block-quantized burn tensor dequantizes the whole table on every backend in burn 0.22.1
//!   (`q_select` falls back to dequantize → select → requantize), so a device-side lookup would
//!   cost a 113 MB f32 temporary per forward. The LM head is a separate device tensor.

mod embedding;
mod linear;
mod loader;
mod source;

use burn::tensor::quantization::{QuantScheme, QuantValue, ScaleDtype};
use burn::tensor::{Device, Tensor, TensorData};

use super::{LlamaConfig, MAX_LAYERS, ModelError};
use crate::gguf::Gguf;

pub use embedding::HostEmbedding;
pub use linear::{HOST_KERNEL_MAX_ROWS, Linear};
pub use source::{GgufSource, MemorySource, WeightSource};

use loader::Loader;

/// Values per block, along a matrix's input dimension (GGUF's block length and direction).
pub const QUANT_BLOCK: usize = 32;

/// How projection matrices and the LM head live in device memory.
///
/// # Quantized weights
///
/// burn 0.22.1 quantizes symmetrically only (`x = s·q`, no zero point), while GGUF Q4_1 is
/// asymmetric (`x = d·q + m`, `q ∈ 0..16`, one `d`, `m` per 32 inputs). [`WeightMode::Quantized`]
/// still carries Q4_1 over **exactly** by splitting it:
///
/// `x·W = Σ_i x_i·d_b·(q_i − 8) + Σ_b (Σ_{i∈b} x_i)·(m_b + 8·d_b)`
///
/// The first term is burn's `Q4F` (4-bit, range −8..7) with block scale `d` — exact, since
/// `q − 8` is the stored value; the second is a small f32 matmul of per-block input sums against
/// an `[in/32, out]` offset matrix (1/32 of the weight's size). Q8_0 (the embedding/LM head) maps
/// exactly onto `Q8F` with scale `d`. Any other tensor type is requantized to `Q8S` (approximate).
/// The embedding/LM head Q8_0 blocks run along the hidden dimension, which is the LM head's
/// input, so they too stay exact.
/// [`WeightMode::Requantized`] instead requantizes everything to a chosen symmetric scheme, which
/// is what a plain `quantize_dynamic` gives and is kept to measure that cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightMode {
    /// Dequantized to f32: the reference path, matching HF transformers to ~1e-4.
    F32,
    /// GGUF blocks carried over exactly (Q4_1 → `Q4F` + offset term, Q8_0 → `Q8F`; other types
    /// → `Q8S`). Meant for GPU backends: flex stores every quantized value as an `i8` and
    /// dequantizes the whole matrix on every matmul, so on flex it saves memory but decodes
    /// far slower than [`WeightMode::F32`].
    Quantized,
    /// Dequantize, then requantize to a symmetric block scheme (`Q8S` or `Q4S`, blocks of 32
    /// along the input). Lossy; kept to measure what exactness buys.
    Requantized(QuantValue),
    /// GGUF Q4_1 / Q8_0 blocks kept in host memory as they are and multiplied by our own CPU
    /// kernel (`block_matmul`), which reads the 4/8-bit values directly: the fast quantized
    /// path on burn's CPU backend (flex), the only device it loads on. Weights equal
    /// [`WeightMode::F32`]'s exactly; other tensor types load as f32.
    HostBlocks,
}

impl WeightMode {
    /// Plain symmetric 8-bit requantization.
    pub const Q8S: WeightMode = WeightMode::Requantized(QuantValue::Q8S);
    /// Plain symmetric 4-bit requantization.
    pub const Q4S: WeightMode = WeightMode::Requantized(QuantValue::Q4S);
}

pub(super) fn block_scheme(value: QuantValue) -> QuantScheme {
    QuantScheme::default()
        .with_value(value)
        .per_block([QUANT_BLOCK as u8], ScaleDtype::F32)
}

/// Byte counts of the loaded weights, for the memory budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResidentBytes {
    /// Host memory: the token-embedding table (GGUF encoding) and, with
    /// [`WeightMode::HostBlocks`], the block matrices.
    pub host: usize,
    /// Device bytes as a packing backend stores them (wgpu/WebGPU: 4-bit values packed eight
    /// to a `u32`, 8-bit four to a `u32`, plus one f32 scale per block and any offset matrix).
    pub device_packed: usize,
    /// Device bytes on flex, which unpacks every quantized value to one `i8` (so 4-bit costs
    /// as much as 8-bit there) and keeps f32 block scales.
    pub device_flex: usize,
}

impl ResidentBytes {
    pub(super) fn add_f32(&mut self, n: usize) {
        self.device_packed += 4 * n;
        self.device_flex += 4 * n;
    }

    pub(super) fn add_quantized(&mut self, n: usize, value: QuantValue) {
        let scales = 4 * n.div_ceil(QUANT_BLOCK);
        self.device_packed += (n * value.size_bits()).div_ceil(8) + scales;
        self.device_flex += n + scales;
    }

    /// Host plus flex device bytes.
    pub fn total_flex(&self) -> usize {
        self.host + self.device_flex
    }

    /// Host plus packed device bytes.
    pub fn total_packed(&self) -> usize {
        self.host + self.device_packed
    }
}

/// One decoder block's parameters.
#[derive(Debug, Clone)]
pub struct LayerWeights {
    /// RMSNorm weight before attention, `[hidden]`.
    pub attn_norm: Tensor<1>,
    /// Fused Q|K|V projection, `[hidden, hidden + 2·kv]`.
    pub wqkv: Linear,
    /// Fused Q|K|V bias (Qwen2), `[hidden + 2·kv]`.
    pub bqkv: Option<Tensor<1>>,
    /// Attention output projection, `[hidden, hidden]`.
    pub wo: Linear,
    /// RMSNorm weight before the MLP, `[hidden]`.
    pub ffn_norm: Tensor<1>,
    /// Fused gate|up projection, `[hidden, 2·ffn]`.
    pub w_gate_up: Linear,
    /// Down projection, `[ffn, hidden]`.
    pub w_down: Linear,
}

/// All parameters of the model.
#[derive(Debug, Clone)]
pub struct Weights {
    /// Token embeddings, on the host.
    pub embedding: HostEmbedding,
    /// Decoder blocks.
    pub layers: Vec<LayerWeights>,
    /// Final RMSNorm weight, `[hidden]`.
    pub output_norm: Tensor<1>,
    /// LM head, `[hidden, vocab]` (the transposed embedding when tied).
    pub lm_head: Linear,
    /// How the matrices are stored.
    pub mode: WeightMode,
    /// Memory accounting.
    pub resident: ResidentBytes,
}

impl Weights {
    /// Read every tensor the configuration needs from `bytes` (the whole GGUF file) onto
    /// `device`.
    pub fn load(
        gguf: &Gguf,
        bytes: &[u8],
        config: &LlamaConfig,
        mode: WeightMode,
        device: &Device,
    ) -> Result<Self, ModelError> {
        Self::from_source(&GgufSource { gguf, bytes }, config, mode, device)
    }

    /// Read every tensor the configuration needs from `source` onto `device`.
    pub fn from_source(
        source: &dyn WeightSource,
        config: &LlamaConfig,
        mode: WeightMode,
        device: &Device,
    ) -> Result<Self, ModelError> {
        if mode == WeightMode::HostBlocks && *device != Device::flex() {
            return Err(ModelError::InvalidConfig(
                "host-block weights run on the CPU backend (flex) only".into(),
            ));
        }
        let h = config.hidden_size;
        let kv = config.kv_size();
        let f = config.ffn_size;
        let mut loader = Loader {
            source,
            device,
            mode,
            resident: ResidentBytes::default(),
        };

        let embedding = source.embedding(config)?;
        loader.resident.host += embedding.bytes();

        // `LlamaConfig::from_gguf` bounds `n_layers` by the blocks in the file, but a config
        // built by hand is not validated: reserve no more than MAX_LAYERS up front, so a wrong
        // count fails on its first missing tensor instead of in one huge allocation.
        let mut layers = Vec::with_capacity(config.n_layers.min(MAX_LAYERS));
        for l in 0..config.n_layers {
            let name = |s: &str| format!("blk.{l}.{s}");
            let attn_norm = loader.vector(&name("attn_norm.weight"), h)?;
            let wqkv = loader.matrix(
                &[
                    (name("attn_q.weight"), h),
                    (name("attn_k.weight"), kv),
                    (name("attn_v.weight"), kv),
                ],
                h,
            )?;
            let bqkv = if config.qkv_bias {
                let mut b = source.f32(&name("attn_q.bias"), &[h])?;
                b.extend(source.f32(&name("attn_k.bias"), &[kv])?);
                b.extend(source.f32(&name("attn_v.bias"), &[kv])?);
                loader.resident.add_f32(b.len());
                let n = b.len();
                Some(Tensor::from_data(TensorData::new(b, [n]), device))
            } else {
                None
            };
            let wo = loader.matrix(&[(name("attn_output.weight"), h)], h)?;
            let ffn_norm = loader.vector(&name("ffn_norm.weight"), h)?;
            let w_gate_up = loader.matrix(
                &[(name("ffn_gate.weight"), f), (name("ffn_up.weight"), f)],
                h,
            )?;
            let w_down = loader.matrix(&[(name("ffn_down.weight"), h)], f)?;
            layers.push(LayerWeights {
                attn_norm,
                wqkv,
                bqkv,
                wo,
                ffn_norm,
                w_gate_up,
                w_down,
            });
        }

        let output_norm = loader.vector("output_norm.weight", h)?;
        let head_name = if config.tied_embeddings {
            "token_embd.weight"
        } else {
            "output.weight"
        };
        let lm_head = loader.matrix(&[(head_name.to_string(), config.vocab_size)], h)?;

        Ok(Self {
            embedding,
            layers,
            output_norm,
            lm_head,
            mode,
            resident: loader.resident,
        })
    }
}

/// Check that a tensor's ggml dims are the expected ones.
fn expect_dims(name: &str, got: &[u64], expected: &[usize]) -> Result<(), ModelError> {
    let expected: Vec<u64> = expected.iter().map(|&d| d as u64).collect();
    if got == expected.as_slice() {
        Ok(())
    } else {
        Err(ModelError::TensorShape {
            name: name.to_string(),
            got: got.to_vec(),
            expected,
        })
    }
}
