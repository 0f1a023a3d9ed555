//! The token-embedding table, kept on the host in its GGUF encoding (see the module docs of
//! `weights` for why).

use crate::gguf::{GgmlType, Gguf, dequantize};
use crate::model::{LlamaConfig, ModelError};

use super::expect_dims;

/// The token-embedding table, kept on the host.
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
    pub(super) fn from_gguf(
        gguf: &Gguf,
        bytes: &[u8],
        config: &LlamaConfig,
    ) -> Result<Self, ModelError> {
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
