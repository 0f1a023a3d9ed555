//! Where weight values come from: a GGUF file, or an in-memory map (tests).

use crate::gguf::{GgmlType, Gguf, dequantize};
use crate::model::{LlamaConfig, ModelError};

use super::{HostEmbedding, expect_dims};

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
