//! Turning a source's tensors into [`Linear`]s and vectors for one [`WeightMode`], with the
//! memory they take.

use std::sync::Arc;

use burn::tensor::quantization::QuantValue;
use burn::tensor::{DType, Device, Tensor, TensorData};

use crate::gguf::dequant::f16_at;
use crate::model::ModelError;
use crate::model::block_matmul::{BlockKind, BlockMatrix};

use super::{Linear, QUANT_BLOCK, ResidentBytes, WeightMode, WeightSource, block_scheme};

pub(super) struct Loader<'a> {
    pub(super) source: &'a dyn WeightSource,
    pub(super) device: &'a Device,
    pub(super) mode: WeightMode,
    pub(super) resident: ResidentBytes,
}

/// Exactly decoded GGUF blocks: integer values `[out, in]` (row-major), one scale per block in
/// the same order, and Q4_1's offsets on the `[in/32, out]` grid.
struct ExactBlocks {
    values: Vec<i8>,
    scales: Vec<f32>,
    offsets: Vec<f32>,
}

impl Loader<'_> {
    pub(super) fn vector(&mut self, name: &str, len: usize) -> Result<Tensor<1>, ModelError> {
        let v = self.source.f32(name, &[len])?;
        self.resident.add_f32(len);
        Ok(Tensor::from_data(TensorData::new(v, [len]), self.device))
    }

    /// Load GGUF matrices stored `[out_i][input]` (ggml dims `[input, out_i]`) and stack them
    /// along the output dimension. f32 weights are transposed on the host to `[input, Σ out_i]`;
    /// quantized weights keep the GGUF orientation `[Σ out_i, input]` (see [`Linear`]).
    pub(super) fn matrix(
        &mut self,
        parts: &[(String, usize)],
        input: usize,
    ) -> Result<Linear, ModelError> {
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
