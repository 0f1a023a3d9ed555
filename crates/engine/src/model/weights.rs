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

use burn::tensor::quantization::{QuantScheme, QuantValue, ScaleDtype};
use burn::tensor::{DType, Device, Tensor, TensorData};

use std::sync::Arc;

use crate::gguf::dequant::f16_at;
use crate::gguf::{GgmlType, Gguf, dequantize};

use super::block_matmul::{BlockKind, BlockMatrix};
use super::{LlamaConfig, MAX_LAYERS, ModelError};

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

fn block_scheme(value: QuantValue) -> QuantScheme {
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
    fn add_f32(&mut self, n: usize) {
        self.device_packed += 4 * n;
        self.device_flex += 4 * n;
    }

    fn add_quantized(&mut self, n: usize, value: QuantValue) {
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

/// The token-embedding table, kept on the host (see the module docs for why).
#[derive(Debug, Clone)]
pub struct HostEmbedding {
    hidden: usize,
    vocab: usize,
    rows: EmbeddingRows,
}

#[derive(Debug, Clone)]
enum EmbeddingRows {
    /// Raw GGUF blocks; rows are dequantized on demand with the GGUF reader's own decoder, so
    /// both weight modes see bit-identical embeddings.
    Encoded {
        ggml_type: GgmlType,
        row_bytes: usize,
        data: Vec<u8>,
    },
    /// Plain f32 rows (in-memory test models).
    F32(Vec<f32>),
}

impl HostEmbedding {
    fn from_gguf(gguf: &Gguf, bytes: &[u8], config: &LlamaConfig) -> Result<Self, ModelError> {
        const NAME: &str = "token_embd.weight";
        let info = gguf.tensor(NAME)?;
        expect_dims(NAME, &info.dims, &[config.hidden_size, config.vocab_size])?;
        let data = gguf.tensor_bytes(bytes, NAME)?.to_vec();
        if !data.len().is_multiple_of(config.vocab_size) {
            return Err(ModelError::InvalidConfig(format!(
                "{NAME}: {} bytes do not split into {} rows",
                data.len(),
                config.vocab_size
            )));
        }
        let embedding = Self {
            hidden: config.hidden_size,
            vocab: config.vocab_size,
            rows: EmbeddingRows::Encoded {
                ggml_type: info.ggml_type,
                row_bytes: data.len() / config.vocab_size,
                data,
            },
        };
        // Fail at load time, not on the first prompt, if rows do not decode on their own
        // (a block type whose blocks straddle rows).
        let mut probe = Vec::new();
        embedding.gather_into(&[0], &mut probe)?;
        Ok(embedding)
    }

    /// A table of plain f32 rows, row-major `[vocab, hidden]`.
    pub fn from_f32(rows: Vec<f32>, vocab: usize, hidden: usize) -> Result<Self, ModelError> {
        if rows.len() != vocab * hidden {
            return Err(ModelError::InvalidConfig(format!(
                "embedding has {} values, expected {vocab} × {hidden}",
                rows.len()
            )));
        }
        Ok(Self {
            hidden,
            vocab,
            rows: EmbeddingRows::F32(rows),
        })
    }

    /// Append the rows for `ids` to `out` (row-major `[ids.len(), hidden]`).
    pub fn gather_into(&self, ids: &[u32], out: &mut Vec<f32>) -> Result<(), ModelError> {
        out.reserve(ids.len() * self.hidden);
        for &id in ids {
            let i = id as usize;
            if i >= self.vocab {
                return Err(ModelError::TokenOutOfRange {
                    id,
                    vocab: self.vocab,
                });
            }
            match &self.rows {
                EmbeddingRows::Encoded {
                    ggml_type,
                    row_bytes,
                    data,
                } => {
                    let row = &data[i * row_bytes..(i + 1) * row_bytes];
                    out.extend_from_slice(&dequantize(*ggml_type, row, self.hidden)?);
                }
                EmbeddingRows::F32(rows) => {
                    out.extend_from_slice(&rows[i * self.hidden..(i + 1) * self.hidden]);
                }
            }
        }
        Ok(())
    }

    /// Bytes held on the host.
    pub fn bytes(&self) -> usize {
        match &self.rows {
            EmbeddingRows::Encoded { data, .. } => data.len(),
            EmbeddingRows::F32(rows) => 4 * rows.len(),
        }
    }
}

/// Where weight values come from: a GGUF file, or an in-memory map (tests).
///
/// Names and layouts follow GGUF: a matrix named `blk.N.attn_q.weight` has ggml dims
/// `[input, output]` and its values are row-major `[output][input]`.
pub trait WeightSource {
    /// Whether a tensor exists.
    fn has(&self, name: &str) -> bool;
    /// The dequantized values of `name`, after checking its ggml dims equal `dims`.
    fn f32(&self, name: &str, dims: &[usize]) -> Result<Vec<f32>, ModelError>;
    /// The token-embedding table.
    fn embedding(&self, config: &LlamaConfig) -> Result<HostEmbedding, ModelError>;
    /// The raw GGUF blocks of `name` and their type, if the source has them.
    fn raw(&self, name: &str) -> Option<(GgmlType, &[u8])>;
    /// Check that `name` exists with ggml dims `dims`, without decoding it.
    fn check_dims(&self, name: &str, dims: &[usize]) -> Result<(), ModelError>;
}

/// A [`WeightSource`] over a parsed GGUF and its file bytes.
pub struct GgufSource<'a> {
    /// Parsed header.
    pub gguf: &'a Gguf,
    /// The whole file.
    pub bytes: &'a [u8],
}

impl WeightSource for GgufSource<'_> {
    fn has(&self, name: &str) -> bool {
        self.gguf.tensors.iter().any(|t| t.name == name)
    }

    fn f32(&self, name: &str, dims: &[usize]) -> Result<Vec<f32>, ModelError> {
        let info = self.gguf.tensor(name)?;
        expect_dims(name, &info.dims, dims)?;
        Ok(self.gguf.tensor_f32(self.bytes, name)?)
    }

    fn embedding(&self, config: &LlamaConfig) -> Result<HostEmbedding, ModelError> {
        HostEmbedding::from_gguf(self.gguf, self.bytes, config)
    }

    fn check_dims(&self, name: &str, dims: &[usize]) -> Result<(), ModelError> {
        expect_dims(name, &self.gguf.tensor(name)?.dims, dims)
    }

    fn raw(&self, name: &str) -> Option<(GgmlType, &[u8])> {
        let info = self.gguf.tensor(name).ok()?;
        let bytes = self.gguf.tensor_bytes(self.bytes, name).ok()?;
        Some((info.ggml_type, bytes))
    }
}

/// An in-memory [`WeightSource`]: `name → (ggml dims, values)`, optionally with GGUF-encoded
/// blocks (to exercise the exact quantized path without a file).
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    /// The tensors, as f32.
    pub tensors: std::collections::BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    /// GGUF-encoded blocks for some of them.
    pub encoded: std::collections::BTreeMap<String, (GgmlType, Vec<u8>)>,
}

impl MemorySource {
    /// Add a tensor (dims in ggml order, values row-major with `dims[0]` contiguous).
    pub fn insert(&mut self, name: impl Into<String>, dims: Vec<usize>, values: Vec<f32>) {
        self.tensors.insert(name.into(), (dims, values));
    }

    /// Add a GGUF-encoded tensor; its f32 values are decoded with the GGUF reader.
    pub fn insert_encoded(
        &mut self,
        name: impl Into<String>,
        dims: Vec<usize>,
        ggml_type: GgmlType,
        blocks: Vec<u8>,
    ) -> Result<(), ModelError> {
        let name = name.into();
        let values = dequantize(ggml_type, &blocks, dims.iter().product())?;
        self.tensors.insert(name.clone(), (dims, values));
        self.encoded.insert(name, (ggml_type, blocks));
        Ok(())
    }
}

impl WeightSource for MemorySource {
    fn has(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    fn f32(&self, name: &str, dims: &[usize]) -> Result<Vec<f32>, ModelError> {
        let (got, values) = self
            .tensors
            .get(name)
            .ok_or_else(|| ModelError::InvalidConfig(format!("tensor `{name}` is missing")))?;
        let got: Vec<u64> = got.iter().map(|&d| d as u64).collect();
        expect_dims(name, &got, dims)?;
        Ok(values.clone())
    }

    fn embedding(&self, config: &LlamaConfig) -> Result<HostEmbedding, ModelError> {
        let rows = self.f32(
            "token_embd.weight",
            &[config.hidden_size, config.vocab_size],
        )?;
        HostEmbedding::from_f32(rows, config.vocab_size, config.hidden_size)
    }

    fn raw(&self, name: &str) -> Option<(GgmlType, &[u8])> {
        self.encoded.get(name).map(|(t, b)| (*t, b.as_slice()))
    }

    fn check_dims(&self, name: &str, dims: &[usize]) -> Result<(), ModelError> {
        let (got, _) = self
            .tensors
            .get(name)
            .ok_or_else(|| ModelError::InvalidConfig(format!("tensor `{name}` is missing")))?;
        let got: Vec<u64> = got.iter().map(|&d| d as u64).collect();
        expect_dims(name, &got, dims)
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

struct Loader<'a> {
    source: &'a dyn WeightSource,
    device: &'a Device,
    mode: WeightMode,
    resident: ResidentBytes,
}

/// Exactly decoded GGUF blocks: integer values `[out, in]` (row-major), one scale per block in
/// the same order, and Q4_1's offsets on the `[in/32, out]` grid.
struct ExactBlocks {
    values: Vec<i8>,
    scales: Vec<f32>,
    offsets: Vec<f32>,
}

impl Loader<'_> {
    fn vector(&mut self, name: &str, len: usize) -> Result<Tensor<1>, ModelError> {
        let v = self.source.f32(name, &[len])?;
        self.resident.add_f32(len);
        Ok(Tensor::from_data(TensorData::new(v, [len]), self.device))
    }

    /// Load GGUF matrices stored `[out_i][input]` (ggml dims `[input, out_i]`) and stack them
    /// along the output dimension. f32 weights are transposed on the host to `[input, Σ out_i]`;
    /// quantized weights keep the GGUF orientation `[Σ out_i, input]` (see [`Linear`]).
    fn matrix(&mut self, parts: &[(String, usize)], input: usize) -> Result<Linear, ModelError> {
        let total_out: usize = parts.iter().map(|(_, out)| out).sum();
        let n = input * total_out;
        for (name, out) in parts {
            self.source.check_dims(name, &[input, *out])?;
        }

        // The exact paths need every part in the same block encoding (Q4_1 → burn's Q4F values
        // `q − 8`, scale `d`, offset `m + 8d`; Q8_0 → Q8F values `q`, scale `d`; or, for
        // HostBlocks, the blocks as they are).
        let exact = match self.mode {
            WeightMode::Quantized | WeightMode::HostBlocks => self.same_block_kind(parts, input),
            _ => None,
        };

        if let (WeightMode::HostBlocks, Some(kind)) = (self.mode, exact) {
            return self.host_blocks(parts, input, kind);
        }

        if let Some(kind) = exact {
            let e = self.decode_exact(parts, input, total_out, kind)?;
            let value = match kind {
                BlockKind::Q4_1 => QuantValue::Q4F,
                BlockKind::Q8_0 => QuantValue::Q8F,
            };
            let weight = Tensor::<2>::from_data(
                packed_qfloat(&e.values, &e.scales, [total_out, input], value)?,
                self.device,
            );
            self.resident.add_quantized(n, value);
            let offset = (kind == BlockKind::Q4_1).then(|| {
                self.resident.add_f32(e.offsets.len());
                Box::new(Tensor::from_data(
                    TensorData::new(e.offsets, [input / QUANT_BLOCK, total_out]),
                    self.device,
                ))
            });
            return Ok(Linear::OutputMajor { weight, offset });
        }

        let requantized = match self.mode {
            // quantize_dynamic needs whole blocks.
            _ if !input.is_multiple_of(QUANT_BLOCK) => None,
            WeightMode::F32 | WeightMode::HostBlocks => None,
            // A tensor type without an exact mapping: symmetric 8-bit.
            WeightMode::Quantized => Some(QuantValue::Q8S),
            WeightMode::Requantized(value) => Some(value),
        };
        let mut stacked = Vec::with_capacity(n);
        for (name, out) in parts {
            stacked.extend(self.source.f32(name, &[input, *out])?);
        }
        if let Some(value) = requantized {
            self.resident.add_quantized(n, value);
            let weight =
                Tensor::<2>::from_data(TensorData::new(stacked, [total_out, input]), self.device)
                    .quantize_dynamic(&block_scheme(value));
            return Ok(Linear::OutputMajor {
                weight,
                offset: None,
            });
        }
        let mut transposed = vec![0.0f32; n];
        for (o, row) in stacked.chunks_exact(input).enumerate() {
            for (i, &x) in row.iter().enumerate() {
                transposed[i * total_out + o] = x;
            }
        }
        self.resident.add_f32(n);
        Ok(Linear::InputMajor(Tensor::from_data(
            TensorData::new(transposed, [input, total_out]),
            self.device,
        )))
    }

    /// The block kind every part is stored in, if they share one this kernel reads.
    fn same_block_kind(&self, parts: &[(String, usize)], input: usize) -> Option<BlockKind> {
        if !input.is_multiple_of(QUANT_BLOCK) {
            return None;
        }
        let kind = |name: &str| BlockKind::of(self.source.raw(name)?.0);
        let first = kind(&parts.first()?.0)?;
        parts
            .iter()
            .all(|(name, _)| kind(name) == Some(first))
            .then_some(first)
    }

    /// The parts' GGUF blocks, stacked along the output, in host memory.
    fn host_blocks(
        &mut self,
        parts: &[(String, usize)],
        input: usize,
        kind: BlockKind,
    ) -> Result<Linear, ModelError> {
        let mut m = BlockMatrix::new(kind, input).map_err(ModelError::InvalidConfig)?;
        for (name, out) in parts {
            let (_, raw) = self.source.raw(name).ok_or_else(|| {
                ModelError::InvalidConfig(format!("`{name}`: raw blocks disappeared"))
            })?;
            m.push_rows(raw, *out)
                .map_err(|e| ModelError::InvalidConfig(format!("`{name}`: {e}")))?;
        }
        self.resident.host += m.bytes();
        Ok(Linear::HostBlocks(Arc::new(m)))
    }

    /// Decode GGUF blocks into burn's symmetric form, `[Σ out_i, input]` with the block grid
    /// `[Σ out_i, input/32]`, plus the `[input/32, Σ out_i]` offsets of Q4_1.
    fn decode_exact(
        &self,
        parts: &[(String, usize)],
        input: usize,
        total_out: usize,
        kind: BlockKind,
    ) -> Result<ExactBlocks, ModelError> {
        let blocks_per_row = input / QUANT_BLOCK;
        let mut e = ExactBlocks {
            values: Vec::with_capacity(input * total_out),
            scales: Vec::with_capacity(blocks_per_row * total_out),
            offsets: match kind {
                BlockKind::Q4_1 => vec![0.0; blocks_per_row * total_out],
                BlockKind::Q8_0 => Vec::new(),
            },
        };
        let block_bytes = kind.gguf_block_bytes();
        let mut row0 = 0;
        for (name, out) in parts {
            let (_, raw) = self.source.raw(name).ok_or_else(|| {
                ModelError::InvalidConfig(format!("`{name}`: raw blocks disappeared"))
            })?;
            if raw.len() != out * blocks_per_row * block_bytes {
                return Err(ModelError::InvalidConfig(format!(
                    "`{name}`: {} bytes for {out}×{input} values",
                    raw.len()
                )));
            }
            for (k, block) in raw.chunks_exact(block_bytes).enumerate() {
                let (o, b) = (row0 + k / blocks_per_row, k % blocks_per_row);
                let d = f16_at(block, 0);
                e.scales.push(d);
                match kind {
                    BlockKind::Q4_1 => {
                        e.offsets[b * total_out + o] = f16_at(block, 2) + 8.0 * d;
                        let qs = &block[4..20];
                        e.values.extend(qs.iter().map(|&q| (q & 0x0f) as i8 - 8));
                        e.values.extend(qs.iter().map(|&q| (q >> 4) as i8 - 8));
                    }
                    BlockKind::Q8_0 => {
                        e.values.extend(block[2..34].iter().map(|&q| q as i8));
                    }
                }
            }
            row0 += out;
        }
        Ok(e)
    }
}

/// A quantized tensor in burn's serialized form — values packed little-endian into `u32` words
/// along the last axis (`32 / bits` per word, two's complement), then the f32 block scales —
/// which both flex and the cubecl backends load as-is (`q_from_data`). Built on the host because
/// cubecl's `quantize` kernel reads a 1-D scale tensor with the wrong layout for 2-D blocks.
fn packed_qfloat(
    values: &[i8],
    scales: &[f32],
    shape: [usize; 2],
    value: QuantValue,
) -> Result<TensorData, ModelError> {
    let bits = value.size_bits();
    let per_word = 32 / bits;
    let mask = (1u32 << bits) - 1;
    let mut bytes = Vec::with_capacity(values.len() * bits / 8 + 4 * scales.len());
    for word in values.chunks(per_word) {
        let packed = word.iter().enumerate().fold(0u32, |acc, (i, &v)| {
            acc | ((i32::from(v) as u32) & mask) << (i * bits)
        });
        bytes.extend_from_slice(&packed.to_le_bytes());
    }
    for s in scales {
        bytes.extend_from_slice(&s.to_ne_bytes());
    }
    TensorData::try_from_bytes_vec(bytes, shape, DType::QFloat(block_scheme(value)))
        .map_err(|e| ModelError::InvalidConfig(format!("packing quantized weights: {e:?}")))
}

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
