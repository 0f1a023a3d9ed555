//! Parsing a GGUF header (v2/v3, little-endian) from a byte slice.
//!
//! Layout: magic `GGUF`, version u32, tensor count u64, metadata count u64, the metadata
//! entries (key string, type u32, value), the tensor infos (name string, n_dims u32, dims u64…,
//! type u32, offset u64), padding to `general.alignment`, then the tensor data. Strings are a
//! u64 length and UTF-8 bytes.
//!
//! The file may come from anywhere (a URL the user typed, a drag-and-drop), so every count and
//! length is checked against the bytes that remain *before* anything is allocated or sliced,
//! and arithmetic on file values is checked.

use std::collections::{BTreeMap, HashSet};

use super::error::GgufError;
use super::metadata::MetadataValue;
use super::types::GgmlType;
use super::{Gguf, TensorInfo};

const MAGIC: &[u8; 4] = b"GGUF";
/// ggml tensors have at most 4 dimensions.
const MAX_DIMS: u32 = 4;
/// An array may hold arrays, which may hold arrays… up to this depth. Real files use 1.
const MAX_ARRAY_DEPTH: usize = 3;
/// Total metadata values (array elements included). The largest real vocabularies hold well
/// under a million entries per array; this bounds memory at ~32 bytes per value even for a
/// file crafted to be all tiny values.
const MAX_METADATA_VALUES: u64 = 1 << 24;
/// The alignment when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// Smallest possible encoding of one metadata entry: key length, type, a 1-byte value.
const MIN_KV_BYTES: u64 = 8 + 4 + 1;
/// Smallest possible encoding of one tensor info: name length, n_dims, type, offset.
const MIN_TENSOR_INFO_BYTES: u64 = 8 + 4 + 4 + 8;

/// A read position in the file. Every read is bounds-checked and reports what it was reading.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn remaining(&self) -> u64 {
        self.bytes.len().saturating_sub(self.pos) as u64
    }

    fn truncated(&self, what: impl Into<String>, n: u64) -> GgufError {
        let start = self.pos as u64;
        GgufError::Truncated {
            what: what.into(),
            start,
            end: start.saturating_add(n),
            len: self.len(),
        }
    }

    /// The next `n` bytes; `what` names them for the error.
    fn take(&mut self, n: u64, what: impl FnOnce() -> String) -> Result<&'a [u8], GgufError> {
        if n > self.remaining() {
            return Err(self.truncated(what(), n));
        }
        // `n <= remaining`, so both conversions and the slice are in range.
        let end = self.pos + n as usize;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or_else(|| self.truncated("data", n))?;
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(
        &mut self,
        what: impl FnOnce() -> String,
    ) -> Result<[u8; N], GgufError> {
        let slice = self.take(N as u64, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    fn u8(&mut self, what: impl FnOnce() -> String) -> Result<u8, GgufError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u16(&mut self, what: impl FnOnce() -> String) -> Result<u16, GgufError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    fn u32(&mut self, what: impl FnOnce() -> String) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: impl FnOnce() -> String) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A length-prefixed byte string.
    fn bytes_string(&mut self, what: &dyn Fn() -> String) -> Result<&'a [u8], GgufError> {
        let n = self.u64(|| format!("the length of {}", what()))?;
        self.take(n, what)
    }

    /// A length-prefixed string that must be UTF-8 (keys, tensor names).
    fn strict_string(&mut self, what: &dyn Fn() -> String) -> Result<String, GgufError> {
        let raw = self.bytes_string(what)?;
        std::str::from_utf8(raw)
            .map(str::to_owned)
            .map_err(|_| GgufError::InvalidUtf8 { what: what() })
    }
}

/// Bounds `count` items of at least `min_bytes` each by what the rest of the file can hold.
fn check_count(count: u64, min_bytes: u64, remaining: u64, what: &str) -> Result<(), GgufError> {
    let max = remaining / min_bytes.max(1);
    if count > max {
        return Err(GgufError::CountTooLarge {
            what: what.to_owned(),
            count,
            remaining,
            max,
        });
    }
    Ok(())
}

/// Smallest encoding of one value of metadata type `type_id`, or `None` for an unknown type.
fn min_value_bytes(type_id: u32) -> Option<u64> {
    Some(match type_id {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        8 => 8,     // string: its length
        9 => 4 + 8, // array: element type and count
        10..=12 => 8,
        _ => return None,
    })
}

/// Reads metadata values, counting them against [`MAX_METADATA_VALUES`].
struct ValueReader<'c, 'a> {
    cursor: &'c mut Cursor<'a>,
    budget: u64,
}

impl ValueReader<'_, '_> {
    fn spend(&mut self, n: u64) -> Result<(), GgufError> {
        self.budget = self.budget.checked_sub(n).ok_or(GgufError::TooManyValues {
            limit: MAX_METADATA_VALUES,
        })?;
        Ok(())
    }

    fn value(&mut self, key: &str, type_id: u32, depth: usize) -> Result<MetadataValue, GgufError> {
        let what = || format!("the value of `{key}`");
        let c = &mut *self.cursor;
        Ok(match type_id {
            0 => MetadataValue::U8(c.u8(what)?),
            1 => MetadataValue::I8(i8::from_le_bytes(c.array(what)?)),
            2 => MetadataValue::U16(c.u16(what)?),
            3 => MetadataValue::I16(i16::from_le_bytes(c.array(what)?)),
            4 => MetadataValue::U32(c.u32(what)?),
            5 => MetadataValue::I32(i32::from_le_bytes(c.array(what)?)),
            6 => MetadataValue::F32(f32::from_le_bytes(c.array(what)?)),
            7 => match c.u8(what)? {
                0 => MetadataValue::Bool(false),
                1 => MetadataValue::Bool(true),
                value => {
                    return Err(GgufError::InvalidBool {
                        key: key.to_owned(),
                        value,
                    });
                }
            },
            8 => {
                MetadataValue::String(String::from_utf8_lossy(c.bytes_string(&what)?).into_owned())
            }
            9 => self.array(key, depth)?,
            10 => MetadataValue::U64(c.u64(what)?),
            11 => MetadataValue::I64(i64::from_le_bytes(c.array(what)?)),
            12 => MetadataValue::F64(f64::from_le_bytes(c.array(what)?)),
            type_id => {
                return Err(GgufError::UnknownMetadataType {
                    key: key.to_owned(),
                    type_id,
                });
            }
        })
    }

    fn array(&mut self, key: &str, depth: usize) -> Result<MetadataValue, GgufError> {
        let element_type = self.cursor.u32(|| format!("the array type of `{key}`"))?;
        let count = self.cursor.u64(|| format!("the array length of `{key}`"))?;
        let min = min_value_bytes(element_type).ok_or_else(|| GgufError::UnknownMetadataType {
            key: key.to_owned(),
            type_id: element_type,
        })?;
        if element_type == 9 && depth + 1 >= MAX_ARRAY_DEPTH {
            return Err(GgufError::NestingTooDeep {
                key: key.to_owned(),
                limit: MAX_ARRAY_DEPTH,
            });
        }
        check_count(
            count,
            min,
            self.cursor.remaining(),
            &format!("elements in array `{key}`"),
        )?;
        self.spend(count)?;
        // `count` elements of at least one byte each fit in the file, so it fits `usize`.
        let mut values = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        for _ in 0..count {
            values.push(self.value(key, element_type, depth + 1)?);
        }
        Ok(MetadataValue::Array(values))
    }
}

/// Rounds `pos` up to a multiple of `alignment` (a power of two).
fn align_up(pos: u64, alignment: u64) -> Option<u64> {
    pos.checked_next_multiple_of(alignment)
}

fn read_alignment(metadata: &BTreeMap<String, MetadataValue>) -> Result<u64, GgufError> {
    let Some(value) = metadata.get("general.alignment") else {
        return Ok(DEFAULT_ALIGNMENT);
    };
    match value.as_u64() {
        Some(a) if a.is_power_of_two() => Ok(a),
        Some(a) => Err(GgufError::BadAlignment {
            found: a.to_string(),
        }),
        None => Err(GgufError::BadAlignment {
            found: format!("a value of type {}", value.type_name()),
        }),
    }
}

/// A guess at what a non-GGUF file is, for the bad-magic message.
fn magic_hint(bytes: &[u8]) -> String {
    let start: Vec<u8> = bytes
        .iter()
        .copied()
        .skip_while(u8::is_ascii_whitespace)
        .take(64)
        .collect();
    let text = String::from_utf8_lossy(&start).to_ascii_lowercase();
    if text.starts_with('<') {
        "; it looks like an HTML page: is the model URL right?".to_owned()
    } else if text.starts_with("version https://git-lfs") {
        "; it is a Git LFS pointer, not the model: fetch the LFS object".to_owned()
    } else if text.starts_with('{') {
        "; it looks like JSON".to_owned()
    } else if bytes.starts_with(b"PK") {
        "; it looks like a ZIP archive (a wheel?): extract the .gguf first".to_owned()
    } else {
        String::new()
    }
}

fn read_header(c: &mut Cursor<'_>) -> Result<u32, GgufError> {
    let head = c.bytes.get(..c.bytes.len().min(4)).unwrap_or_default();
    if !MAGIC.starts_with(head) {
        return Err(GgufError::BadMagic {
            found: head.to_vec(),
            hint: magic_hint(c.bytes),
        });
    }
    c.take(4, || "the GGUF magic".to_owned())?;
    let version = c.u32(|| "the GGUF version".to_owned())?;
    match version {
        2 | 3 => Ok(version),
        // A big-endian file's small version number reads with its low bytes zero.
        v if v != 0 && v & 0xFFFF == 0 => Err(GgufError::BigEndian),
        v => Err(GgufError::UnsupportedVersion(v)),
    }
}

fn read_metadata(
    c: &mut Cursor<'_>,
    n_kv: u64,
) -> Result<BTreeMap<String, MetadataValue>, GgufError> {
    let mut metadata = BTreeMap::new();
    let mut reader = ValueReader {
        cursor: c,
        budget: MAX_METADATA_VALUES,
    };
    for i in 0..n_kv {
        let key = reader
            .cursor
            .strict_string(&|| format!("metadata key #{i}"))?;
        let type_id = reader.cursor.u32(|| format!("the value type of `{key}`"))?;
        reader.spend(1)?;
        let value = reader.value(&key, type_id, 0)?;
        if metadata.contains_key(&key) {
            return Err(GgufError::DuplicateKey(key));
        }
        metadata.insert(key, value);
    }
    Ok(metadata)
}

/// One tensor info as written, offset still relative to the data section.
fn read_tensor_info(c: &mut Cursor<'_>, index: u64) -> Result<TensorInfo, GgufError> {
    let name = c.strict_string(&|| format!("the name of tensor #{index}"))?;
    let n_dims = c.u32(|| format!("the dimension count of tensor `{name}`"))?;
    if n_dims > MAX_DIMS {
        return Err(GgufError::TooManyDims { name, n_dims });
    }
    let mut dims = Vec::with_capacity(MAX_DIMS as usize);
    for _ in 0..n_dims {
        dims.push(c.u64(|| format!("the dims of tensor `{name}`"))?);
    }
    let ggml_type = GgmlType::from_u32(c.u32(|| format!("the type of tensor `{name}`"))?);
    let offset = c.u64(|| format!("the offset of tensor `{name}`"))?;

    // ggml counts elements in i64.
    let n_elements = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .filter(|&n| i64::try_from(n).is_ok());
    let Some(n_elements) = n_elements else {
        return Err(GgufError::ShapeOverflow { name, dims });
    };
    let n_bytes = match (ggml_type.block_size(), ggml_type.type_size()) {
        (Some(block), Some(_)) => {
            let row = dims.first().copied().unwrap_or(1);
            if !row.is_multiple_of(block as u64) {
                return Err(GgufError::RowNotBlockMultiple {
                    name,
                    row,
                    ggml_type,
                    block,
                });
            }
            match ggml_type.bytes_for(n_elements) {
                Some(n) => n,
                None => return Err(GgufError::ShapeOverflow { name, dims }),
            }
        }
        // Unknown type: the size is unknown; the tensor is listed but cannot be read.
        _ => 0,
    };
    Ok(TensorInfo {
        name,
        dims,
        ggml_type,
        offset,
        n_bytes,
    })
}

/// Turns relative offsets into absolute ones and checks every tensor lies inside the file,
/// aligned, and apart from the others.
fn place_tensors(
    tensors: &mut [TensorInfo],
    data_offset: u64,
    alignment: u64,
    len: u64,
) -> Result<(), GgufError> {
    for t in tensors.iter_mut() {
        if !t.offset.is_multiple_of(alignment) {
            return Err(GgufError::MisalignedTensor {
                name: t.name.clone(),
                offset: t.offset,
                alignment,
            });
        }
        let start = data_offset.checked_add(t.offset);
        let end = start.and_then(|s| s.checked_add(t.n_bytes));
        match (start, end) {
            (Some(start), Some(end)) if end <= len && start <= len => t.offset = start,
            _ => {
                let start = start.unwrap_or(u64::MAX);
                return Err(GgufError::TensorOutOfBounds {
                    name: t.name.clone(),
                    start,
                    end: start.saturating_add(t.n_bytes),
                    len,
                });
            }
        }
    }
    let mut spans: Vec<(u64, u64, usize)> = tensors
        .iter()
        .enumerate()
        .filter(|(_, t)| t.n_bytes > 0)
        .map(|(i, t)| (t.offset, t.offset + t.n_bytes, i))
        .collect();
    spans.sort_unstable();
    for pair in spans.windows(2) {
        if let [(_, end_a, a), (start_b, _, b)] = *pair
            && start_b < end_a
        {
            let name = |i: usize| tensors.get(i).map(|t| t.name.clone()).unwrap_or_default();
            return Err(GgufError::OverlappingTensors {
                first: name(a),
                second: name(b),
            });
        }
    }
    Ok(())
}

/// Parses and validates the header of a GGUF file held in memory.
pub(super) fn parse(bytes: &[u8]) -> Result<Gguf, GgufError> {
    let mut c = Cursor { bytes, pos: 0 };
    let version = read_header(&mut c)?;
    let n_tensors = c.u64(|| "the tensor count".to_owned())?;
    let n_kv = c.u64(|| "the metadata count".to_owned())?;
    let remaining = c.remaining();
    check_count(n_kv, MIN_KV_BYTES, remaining, "metadata entries")?;
    check_count(n_tensors, MIN_TENSOR_INFO_BYTES, remaining, "tensors")?;
    // Both counts are bounded by the file length now; together they must fit too.
    let together = (n_kv * MIN_KV_BYTES).saturating_add(n_tensors * MIN_TENSOR_INFO_BYTES);
    if together > remaining {
        return Err(c.truncated("the metadata and tensor infos", together));
    }

    let metadata = read_metadata(&mut c, n_kv)?;
    let alignment = read_alignment(&metadata)?;

    check_count(n_tensors, MIN_TENSOR_INFO_BYTES, c.remaining(), "tensors")?;
    let mut tensors = Vec::with_capacity(usize::try_from(n_tensors).unwrap_or(0));
    let mut names = HashSet::new();
    for i in 0..n_tensors {
        let info = read_tensor_info(&mut c, i)?;
        if !names.insert(info.name.clone()) {
            return Err(GgufError::DuplicateTensor(info.name));
        }
        tensors.push(info);
    }

    let data_offset = align_up(c.pos as u64, alignment).ok_or_else(|| GgufError::BadAlignment {
        found: alignment.to_string(),
    })?;
    place_tensors(&mut tensors, data_offset, alignment, c.len())?;
    Ok(Gguf {
        version,
        metadata,
        tensors,
        alignment,
        data_offset,
    })
}
