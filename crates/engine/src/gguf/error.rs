//! What can be wrong with a GGUF file, in words a user of the page understands.
//!
//! The reader never panics on file contents: every check that could fail on a damaged,
//! truncated or hostile file ends in one of these variants.

use super::types::GgmlType;

/// Why a GGUF file could not be read, or a value could not be taken out of it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GgufError {
    /// The first four bytes are not `GGUF`.
    #[error("this file is not a GGUF model (bad magic {found:02X?}){hint}")]
    BadMagic {
        /// The first bytes of the file.
        found: Vec<u8>,
        /// A guess at what the file is instead, starting with "; " (or empty).
        hint: String,
    },
    /// A GGUF version other than 2 or 3.
    #[error("GGUF version {0} is not supported (this reader supports versions 2 and 3)")]
    UnsupportedVersion(u32),
    /// The version field reads as a byte-swapped small number.
    #[error("this GGUF file is big-endian; only little-endian GGUF files are supported")]
    BigEndian,
    /// Something runs past the end of the file.
    #[error("truncated file: {what} needs bytes {start}..{end} but the file has {len} bytes")]
    Truncated {
        /// What was being read.
        what: String,
        /// First byte needed.
        start: u64,
        /// One past the last byte needed (saturated at `u64::MAX`).
        end: u64,
        /// File length.
        len: u64,
    },
    /// A count in the file is larger than the rest of the file could possibly hold.
    #[error(
        "the file claims {count} {what}, but the remaining {remaining} bytes could hold at most {max}: the file is truncated or damaged"
    )]
    CountTooLarge {
        /// What was counted ("tensors", "metadata entries", "elements in array `key`").
        what: String,
        /// The count written in the file.
        count: u64,
        /// Bytes left after the count.
        remaining: u64,
        /// The most that fit.
        max: u64,
    },
    /// The metadata holds more values in total than any real model has.
    #[error("the metadata holds more than {limit} values; this is not a real model file")]
    TooManyValues {
        /// The limit.
        limit: u64,
    },
    /// Arrays nested deeper than the reader allows.
    #[error("metadata `{key}` nests arrays deeper than {limit} levels")]
    NestingTooDeep {
        /// The key whose value is too deep.
        key: String,
        /// The deepest nesting allowed.
        limit: usize,
    },
    /// A metadata value type id outside the GGUF specification.
    #[error("metadata `{key}` has unknown value type {type_id}")]
    UnknownMetadataType {
        /// The key.
        key: String,
        /// The type id found.
        type_id: u32,
    },
    /// A boolean byte other than 0 or 1.
    #[error("metadata `{key}` holds {value} where a boolean (0 or 1) was expected")]
    InvalidBool {
        /// The key.
        key: String,
        /// The byte found.
        value: u8,
    },
    /// A metadata key or tensor name that is not UTF-8.
    #[error("{what} is not valid UTF-8")]
    InvalidUtf8 {
        /// What was being read.
        what: String,
    },
    /// The same metadata key twice.
    #[error("metadata key `{0}` appears twice")]
    DuplicateKey(String),
    /// The same tensor name twice.
    #[error("tensor `{0}` appears twice")]
    DuplicateTensor(String),
    /// `general.alignment` is zero, not a power of two, or not an unsigned integer.
    #[error("general.alignment must be a non-zero power of two, found {found}")]
    BadAlignment {
        /// The value (or type) found.
        found: String,
    },
    /// More dimensions than ggml supports.
    #[error("tensor `{name}` has {n_dims} dimensions; GGUF allows at most 4")]
    TooManyDims {
        /// Tensor name.
        name: String,
        /// Dimension count found.
        n_dims: u32,
    },
    /// The element count (or byte size) of a tensor overflows.
    #[error("tensor `{name}` has dims {dims:?}, whose size overflows")]
    ShapeOverflow {
        /// Tensor name.
        name: String,
        /// Dims (ggml order).
        dims: Vec<u64>,
    },
    /// A row is not a whole number of blocks of the tensor's type.
    #[error(
        "tensor `{name}` has rows of {row} values, not a multiple of the {ggml_type} block size {block}"
    )]
    RowNotBlockMultiple {
        /// Tensor name.
        name: String,
        /// `ne[0]`.
        row: u64,
        /// The tensor type.
        ggml_type: GgmlType,
        /// Its block size.
        block: usize,
    },
    /// A tensor offset that is not a multiple of the file's alignment.
    #[error(
        "tensor `{name}` starts at data offset {offset}, not a multiple of the alignment {alignment}"
    )]
    MisalignedTensor {
        /// Tensor name.
        name: String,
        /// Offset relative to the data section.
        offset: u64,
        /// `general.alignment`.
        alignment: u64,
    },
    /// A tensor's bytes extend past the end of the file.
    #[error(
        "truncated file: tensor `{name}` needs bytes {start}..{end} but the file has {len} bytes"
    )]
    TensorOutOfBounds {
        /// Tensor name.
        name: String,
        /// First byte (absolute).
        start: u64,
        /// One past the last byte (absolute, saturated).
        end: u64,
        /// File length.
        len: u64,
    },
    /// Two tensors share bytes.
    #[error("tensors `{first}` and `{second}` overlap in the file")]
    OverlappingTensors {
        /// The tensor that starts first.
        first: String,
        /// The tensor that starts inside it.
        second: String,
    },
    /// No tensor of this name.
    #[error("the model has no tensor `{0}`")]
    MissingTensor(String),
    /// No metadata entry of this key.
    #[error("the model file has no metadata `{0}`")]
    MissingKey(String),
    /// A metadata value of another type (or out of the requested range).
    #[error("metadata `{key}` should be {expected} but is {found}")]
    WrongType {
        /// The key.
        key: String,
        /// What the caller asked for.
        expected: &'static str,
        /// What the file holds.
        found: String,
    },
    /// A tensor whose type this reader cannot decode.
    #[error(
        "unsupported tensor type {} for tensor `{name}` (this engine decodes {})",
        type_label(*ggml_type),
        supported_list()
    )]
    UnsupportedTensorType {
        /// Tensor name (empty when decoding bare blocks).
        name: String,
        /// Its type.
        ggml_type: GgmlType,
    },
    /// A value count that is not a whole number of blocks.
    #[error("{n_elements} values are not a whole number of {ggml_type} blocks of {block}")]
    NotBlockMultiple {
        /// The type.
        ggml_type: GgmlType,
        /// Values requested.
        n_elements: usize,
        /// Its block size.
        block: usize,
    },
    /// Encoded data of the wrong length for its type and value count.
    #[error("{n_elements} {ggml_type} values take {expected} bytes, but {actual} were given")]
    SizeMismatch {
        /// The type.
        ggml_type: GgmlType,
        /// Values requested.
        n_elements: usize,
        /// Bytes the type needs.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// A size that does not fit this platform's address space (e.g. > 4 GiB on wasm32).
    #[error("{what} is too large for this platform ({size} bytes)")]
    TooLarge {
        /// What was too large.
        what: String,
        /// Its size.
        size: u64,
    },
}

/// `Q2_K (id 10)`, or `id 99` for a type this reader does not know.
fn type_label(t: GgmlType) -> String {
    match t {
        GgmlType::Unknown(id) => format!("id {id}"),
        known => format!("{known} (id {})", known.id()),
    }
}

fn supported_list() -> String {
    GgmlType::dequantizable()
        .map(|t| t.name())
        .collect::<Vec<_>>()
        .join(", ")
}
