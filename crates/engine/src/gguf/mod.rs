//! The GGUF reader: header, metadata and tensor directory of a GGUF v2/v3 file held in memory.
//!
//! The browser fetches the model as bytes and native callers `std::fs::read` it, so everything
//! works from a `&[u8]`: [`Gguf::parse`] reads the header and keeps only small things
//! (metadata, tensor infos); tensor data stays in the caller's buffer and is borrowed
//! ([`Gguf::tensor_bytes`]) or decoded ([`Gguf::tensor_f32`]) on demand.
//!
//! Parsing validates before it allocates or slices (counts and lengths against the bytes left,
//! shapes with checked arithmetic, every tensor inside the file, aligned and not overlapping),
//! so a truncated download or a hostile file gives a [`GgufError`] that says what is wrong,
//! never a panic or a huge allocation.
//!
//! - [`types`]: [`GgmlType`] ids and block layouts.
//! - [`metadata`]: [`MetadataValue`] and the typed getters (`get_u32`, `get_str_array` …).
//! - [`dequantize`]: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K → f32.
//! - [`GgufWriter`] and [`quantize`]: build small GGUF files in memory (tests, tools).

pub(crate) mod dequant;
mod error;
mod metadata;
mod quantize;
mod reader;
mod types;
mod writer;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use dequant::{dequantize, dequantize_into};
pub use error::GgufError;
pub use metadata::MetadataValue;
pub use quantize::quantize;
pub use reader::DEFAULT_ALIGNMENT;
pub use types::GgmlType;
pub use writer::GgufWriter;

/// A parsed GGUF header.
#[derive(Debug, Clone, PartialEq)]
pub struct Gguf {
    /// GGUF version (2 or 3).
    pub version: u32,
    /// Metadata entries by key.
    pub metadata: BTreeMap<String, MetadataValue>,
    /// Tensor infos in file order.
    pub tensors: Vec<TensorInfo>,
    /// `general.alignment`, or 32.
    pub alignment: u64,
    /// Absolute file offset where tensor data starts.
    pub data_offset: u64,
}

/// Where one tensor is and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// Tensor name (`blk.0.attn_q.weight`).
    pub name: String,
    /// Dimensions in ggml order: `ne[0]`, the contiguous row length, first. A matrix with
    /// dims `[in, out]` is stored as `out` rows of `in` values.
    pub dims: Vec<u64>,
    /// Storage type.
    pub ggml_type: GgmlType,
    /// Absolute offset of the first byte in the file.
    pub offset: u64,
    /// Bytes of data (0 for a type this reader does not know: its size is unknown).
    pub n_bytes: u64,
}

impl TensorInfo {
    /// The number of values (the product of `dims`; saturates at `u64::MAX`, which a parsed
    /// tensor never reaches).
    pub fn n_elements(&self) -> u64 {
        self.dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .unwrap_or(u64::MAX)
    }
}

impl Gguf {
    /// Parses and validates a GGUF v2/v3 file's header. Tensor data is not copied.
    pub fn parse(bytes: &[u8]) -> Result<Gguf, GgufError> {
        reader::parse(bytes)
    }

    /// The tensor named `name`.
    pub fn tensor(&self, name: &str) -> Result<&TensorInfo, GgufError> {
        self.tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| GgufError::MissingTensor(name.to_owned()))
    }

    /// The raw (encoded) bytes of tensor `name` within `bytes`, the file this header was
    /// parsed from.
    pub fn tensor_bytes<'a>(&self, bytes: &'a [u8], name: &str) -> Result<&'a [u8], GgufError> {
        let t = self.tensor(name)?;
        if t.ggml_type.block_size().is_none() {
            return Err(GgufError::UnsupportedTensorType {
                name: t.name.clone(),
                ggml_type: t.ggml_type,
            });
        }
        let out_of_bounds = || GgufError::TensorOutOfBounds {
            name: t.name.clone(),
            start: t.offset,
            end: t.offset.saturating_add(t.n_bytes),
            len: bytes.len() as u64,
        };
        let start = usize::try_from(t.offset).map_err(|_| out_of_bounds())?;
        let len = usize::try_from(t.n_bytes).map_err(|_| out_of_bounds())?;
        let end = start.checked_add(len).ok_or_else(out_of_bounds)?;
        bytes.get(start..end).ok_or_else(out_of_bounds)
    }

    /// Tensor `name` decoded to f32, row-major with `ne[0]` contiguous (`dims[0]` values per
    /// row, rows in order).
    pub fn tensor_f32(&self, bytes: &[u8], name: &str) -> Result<Vec<f32>, GgufError> {
        let t = self.tensor(name)?;
        if !t.ggml_type.can_dequantize() {
            return Err(GgufError::UnsupportedTensorType {
                name: t.name.clone(),
                ggml_type: t.ggml_type,
            });
        }
        let data = self.tensor_bytes(bytes, name)?;
        let n = usize::try_from(t.n_elements()).map_err(|_| GgufError::TooLarge {
            what: format!("tensor `{name}`"),
            size: t.n_bytes,
        })?;
        dequantize(t.ggml_type, data, n)
    }
}
