//! Writing GGUF files in memory, for tests and tools that need a small model file (a tiny
//! random Llama, a vocabulary-only file, a deliberately odd header).
//!
//! The writer does not validate: it writes what it is given (a tensor whose data does not
//! match its type and shape, an array of mixed types), so tests can build broken files on
//! purpose. [`Gguf::parse`](super::Gguf::parse) is the validator.
//!
//! ```
//! use engine::gguf::{GgmlType, Gguf, GgufWriter, MetadataValue};
//!
//! let mut w = GgufWriter::new();
//! w.add_metadata("general.architecture", "llama")
//!     .add_metadata("llama.block_count", 2u32)
//!     .add_f32_tensor("output_norm.weight", &[4], &[1.0, 1.0, 1.0, 1.0]);
//! let bytes = w.to_bytes();
//! let gguf = Gguf::parse(&bytes).unwrap();
//! assert_eq!(gguf.architecture().unwrap(), "llama");
//! assert_eq!(gguf.tensor_f32(&bytes, "output_norm.weight").unwrap(), vec![1.0; 4]);
//! ```

use super::error::GgufError;
use super::metadata::MetadataValue;
use super::quantize::quantize;
use super::reader::DEFAULT_ALIGNMENT;
use super::types::GgmlType;

/// A tensor waiting to be written.
#[derive(Debug, Clone)]
struct PendingTensor {
    name: String,
    dims: Vec<u64>,
    ggml_type: GgmlType,
    data: Vec<u8>,
}

/// Builds a GGUF file (version 3 unless told otherwise) in memory.
#[derive(Debug, Clone)]
pub struct GgufWriter {
    version: u32,
    alignment: u64,
    metadata: Vec<(String, MetadataValue)>,
    tensors: Vec<PendingTensor>,
}

impl Default for GgufWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl GgufWriter {
    /// An empty version-3 file with the default alignment (32).
    pub fn new() -> Self {
        GgufWriter {
            version: 3,
            alignment: DEFAULT_ALIGNMENT,
            metadata: Vec::new(),
            tensors: Vec::new(),
        }
    }

    /// The version number written in the header (the layout is the same for 2 and 3).
    pub fn version(&mut self, version: u32) -> &mut Self {
        self.version = version;
        self
    }

    /// Lays tensor data out on multiples of `alignment` (a power of two) and records it as
    /// `general.alignment`.
    pub fn alignment(&mut self, alignment: u32) -> &mut Self {
        self.alignment = u64::from(alignment.max(1));
        self.metadata.retain(|(k, _)| k != "general.alignment");
        self.metadata.push((
            "general.alignment".to_owned(),
            MetadataValue::U32(alignment),
        ));
        self
    }

    /// Adds a metadata entry (written in the order added; a repeated key is written twice).
    pub fn add_metadata(
        &mut self,
        key: impl Into<String>,
        value: impl Into<MetadataValue>,
    ) -> &mut Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// Adds a tensor with already-encoded data. `dims` are in ggml order (`ne[0]`, the
    /// contiguous row length, first).
    pub fn add_tensor(
        &mut self,
        name: impl Into<String>,
        dims: &[u64],
        ggml_type: GgmlType,
        data: impl Into<Vec<u8>>,
    ) -> &mut Self {
        self.tensors.push(PendingTensor {
            name: name.into(),
            dims: dims.to_vec(),
            ggml_type,
            data: data.into(),
        });
        self
    }

    /// Adds an F32 tensor.
    pub fn add_f32_tensor(
        &mut self,
        name: impl Into<String>,
        dims: &[u64],
        values: &[f32],
    ) -> &mut Self {
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.add_tensor(name, dims, GgmlType::F32, data)
    }

    /// Adds a tensor encoded as `ggml_type` (F32, F16, BF16, Q8_0, Q4_0 or Q4_1; see
    /// [`quantize`]).
    pub fn add_quantized_tensor(
        &mut self,
        name: impl Into<String>,
        dims: &[u64],
        ggml_type: GgmlType,
        values: &[f32],
    ) -> Result<&mut Self, GgufError> {
        let data = quantize(ggml_type, values)?;
        Ok(self.add_tensor(name, dims, ggml_type, data))
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(b"GGUF");
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.metadata.len() as u64).to_le_bytes());
        for (key, value) in &self.metadata {
            write_str(&mut out, key);
            out.extend_from_slice(&value.type_id().to_le_bytes());
            write_value(&mut out, value);
        }
        let mut offset = 0u64;
        for t in &self.tensors {
            write_str(&mut out, &t.name);
            out.extend_from_slice(&(t.dims.len() as u32).to_le_bytes());
            for d in &t.dims {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(&t.ggml_type.id().to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            offset = (offset + t.data.len() as u64).next_multiple_of(self.alignment);
        }
        pad(&mut out, self.alignment);
        for t in &self.tensors {
            out.extend_from_slice(&t.data);
            pad(&mut out, self.alignment);
        }
        out
    }
}

fn pad(out: &mut Vec<u8>, alignment: u64) {
    let target = (out.len() as u64).next_multiple_of(alignment);
    out.resize(target as usize, 0);
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Writes a value without its type id. Arrays take their element type from the first element
/// (u8 when empty).
fn write_value(out: &mut Vec<u8>, value: &MetadataValue) {
    match value {
        MetadataValue::U8(v) => out.push(*v),
        MetadataValue::I8(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetadataValue::U16(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetadataValue::I16(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetadataValue::U32(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetadataValue::I32(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetadataValue::F32(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetadataValue::Bool(v) => out.push(u8::from(*v)),
        MetadataValue::String(s) => write_str(out, s),
        MetadataValue::Array(items) => {
            let element_type = items.first().map_or(0, MetadataValue::type_id);
            out.extend_from_slice(&element_type.to_le_bytes());
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for item in items {
                write_value(out, item);
            }
        }
        MetadataValue::U64(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetadataValue::I64(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetadataValue::F64(v) => out.extend_from_slice(&v.to_le_bytes()),
    }
}
