//! Metadata values and typed access to them.
//!
//! Getters are lenient about integer width and signedness (converters write `u32`, `i32` or
//! `u64` for the same key) but never about meaning: a value that does not fit the requested
//! type, or a string where a number was asked for, is a [`GgufError::WrongType`].

use super::Gguf;
use super::error::GgufError;

/// One metadata value (GGUF value types 0–12).
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataValue {
    /// Type 0.
    U8(u8),
    /// Type 1.
    I8(i8),
    /// Type 2.
    U16(u16),
    /// Type 3.
    I16(i16),
    /// Type 4.
    U32(u32),
    /// Type 5.
    I32(i32),
    /// Type 6.
    F32(f32),
    /// Type 7.
    Bool(bool),
    /// Type 8. Invalid UTF-8 in a value is replaced by U+FFFD rather than rejected, so one odd
    /// vocabulary entry does not make a model unloadable.
    String(String),
    /// Type 9: elements of one type.
    Array(Vec<MetadataValue>),
    /// Type 10.
    U64(u64),
    /// Type 11.
    I64(i64),
    /// Type 12.
    F64(f64),
}

impl MetadataValue {
    /// The GGUF name of the value's type, for messages (`"u32"`, `"array"` …).
    pub fn type_name(&self) -> &'static str {
        match self {
            MetadataValue::U8(_) => "u8",
            MetadataValue::I8(_) => "i8",
            MetadataValue::U16(_) => "u16",
            MetadataValue::I16(_) => "i16",
            MetadataValue::U32(_) => "u32",
            MetadataValue::I32(_) => "i32",
            MetadataValue::F32(_) => "f32",
            MetadataValue::Bool(_) => "bool",
            MetadataValue::String(_) => "string",
            MetadataValue::Array(_) => "array",
            MetadataValue::U64(_) => "u64",
            MetadataValue::I64(_) => "i64",
            MetadataValue::F64(_) => "f64",
        }
    }

    /// The GGUF type id of the value (0–12).
    pub fn type_id(&self) -> u32 {
        match self {
            MetadataValue::U8(_) => 0,
            MetadataValue::I8(_) => 1,
            MetadataValue::U16(_) => 2,
            MetadataValue::I16(_) => 3,
            MetadataValue::U32(_) => 4,
            MetadataValue::I32(_) => 5,
            MetadataValue::F32(_) => 6,
            MetadataValue::Bool(_) => 7,
            MetadataValue::String(_) => 8,
            MetadataValue::Array(_) => 9,
            MetadataValue::U64(_) => 10,
            MetadataValue::I64(_) => 11,
            MetadataValue::F64(_) => 12,
        }
    }

    /// Any integer value, widened.
    pub fn as_i128(&self) -> Option<i128> {
        Some(match *self {
            MetadataValue::U8(v) => v.into(),
            MetadataValue::I8(v) => v.into(),
            MetadataValue::U16(v) => v.into(),
            MetadataValue::I16(v) => v.into(),
            MetadataValue::U32(v) => v.into(),
            MetadataValue::I32(v) => v.into(),
            MetadataValue::U64(v) => v.into(),
            MetadataValue::I64(v) => v.into(),
            _ => return None,
        })
    }

    /// An integer value that fits `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_i128().and_then(|v| u64::try_from(v).ok())
    }

    /// An integer value that fits `u32`.
    pub fn as_u32(&self) -> Option<u32> {
        self.as_i128().and_then(|v| u32::try_from(v).ok())
    }

    /// An integer value that fits `i32`.
    pub fn as_i32(&self) -> Option<i32> {
        self.as_i128().and_then(|v| i32::try_from(v).ok())
    }

    /// A float value (f32, or f64 narrowed).
    pub fn as_f32(&self) -> Option<f32> {
        match *self {
            MetadataValue::F32(v) => Some(v),
            MetadataValue::F64(v) => Some(v as f32),
            _ => None,
        }
    }

    /// A boolean value.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            MetadataValue::Bool(v) => Some(v),
            _ => None,
        }
    }

    /// A string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetadataValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// An array value.
    pub fn as_array(&self) -> Option<&[MetadataValue]> {
        match self {
            MetadataValue::Array(v) => Some(v),
            _ => None,
        }
    }

    /// Describes the value for an error message: its type, and the value if it is short.
    fn describe(&self) -> String {
        match self {
            MetadataValue::String(s) if s.len() <= 40 => format!("the string {s:?}"),
            MetadataValue::String(_) => "a string".to_owned(),
            MetadataValue::Array(v) => format!("an array of {} values", v.len()),
            MetadataValue::F32(v) => format!("the f32 {v}"),
            MetadataValue::F64(v) => format!("the f64 {v}"),
            MetadataValue::Bool(v) => format!("the bool {v}"),
            other => match other.as_i128() {
                Some(v) => format!("the {} {v}", other.type_name()),
                None => other.type_name().to_owned(),
            },
        }
    }
}

/// Converts `value` with `convert`, or names what was found instead.
fn typed<'a, T>(
    key: &str,
    value: &'a MetadataValue,
    expected: &'static str,
    convert: impl FnOnce(&'a MetadataValue) -> Option<T>,
) -> Result<T, GgufError> {
    convert(value).ok_or_else(|| GgufError::WrongType {
        key: key.to_owned(),
        expected,
        found: value.describe(),
    })
}

/// Converts every element of the array at `key`.
fn typed_array<'a, T>(
    gguf: &'a Gguf,
    key: &str,
    expected: &'static str,
    convert: impl Fn(&'a MetadataValue) -> Option<T>,
) -> Result<Vec<T>, GgufError> {
    gguf.get_array(key)?
        .iter()
        .map(|v| typed(key, v, expected, &convert))
        .collect()
}

macro_rules! optional {
    ($(#[$doc:meta])* $name:ident => $getter:ident -> $ty:ty) => {
        $(#[$doc])*
        ///
        /// `Ok(None)` when the key is absent; an error when it is present with the wrong type.
        pub fn $name(&self, key: &str) -> Result<Option<$ty>, GgufError> {
            if self.metadata.contains_key(key) {
                self.$getter(key).map(Some)
            } else {
                Ok(None)
            }
        }
    };
}

impl Gguf {
    /// The raw value at `key`.
    pub fn get(&self, key: &str) -> Result<&MetadataValue, GgufError> {
        self.metadata
            .get(key)
            .ok_or_else(|| GgufError::MissingKey(key.to_owned()))
    }

    /// An integer that fits `u32` (any integer type in the file).
    pub fn get_u32(&self, key: &str) -> Result<u32, GgufError> {
        typed(
            key,
            self.get(key)?,
            "an integer in u32 range",
            MetadataValue::as_u32,
        )
    }

    /// An integer that fits `u64` (any integer type in the file).
    pub fn get_u64(&self, key: &str) -> Result<u64, GgufError> {
        typed(
            key,
            self.get(key)?,
            "a non-negative integer",
            MetadataValue::as_u64,
        )
    }

    /// An integer that fits `i32` (any integer type in the file).
    pub fn get_i32(&self, key: &str) -> Result<i32, GgufError> {
        typed(
            key,
            self.get(key)?,
            "an integer in i32 range",
            MetadataValue::as_i32,
        )
    }

    /// A float (f32, or f64 narrowed).
    pub fn get_f32(&self, key: &str) -> Result<f32, GgufError> {
        typed(key, self.get(key)?, "a float", MetadataValue::as_f32)
    }

    /// A boolean.
    pub fn get_bool(&self, key: &str) -> Result<bool, GgufError> {
        typed(key, self.get(key)?, "a bool", MetadataValue::as_bool)
    }

    /// A string.
    pub fn get_str(&self, key: &str) -> Result<&str, GgufError> {
        typed(key, self.get(key)?, "a string", MetadataValue::as_str)
    }

    /// An array, whatever its element type.
    pub fn get_array(&self, key: &str) -> Result<&[MetadataValue], GgufError> {
        typed(key, self.get(key)?, "an array", MetadataValue::as_array)
    }

    /// An array of strings.
    pub fn get_str_array(&self, key: &str) -> Result<Vec<&str>, GgufError> {
        typed_array(self, key, "an array of strings", MetadataValue::as_str)
    }

    /// An array of floats.
    pub fn get_f32_array(&self, key: &str) -> Result<Vec<f32>, GgufError> {
        typed_array(self, key, "an array of floats", MetadataValue::as_f32)
    }

    /// An array of integers that fit `i32`.
    pub fn get_i32_array(&self, key: &str) -> Result<Vec<i32>, GgufError> {
        typed_array(self, key, "an array of i32 integers", MetadataValue::as_i32)
    }

    /// An array of integers that fit `u32`.
    pub fn get_u32_array(&self, key: &str) -> Result<Vec<u32>, GgufError> {
        typed_array(self, key, "an array of u32 integers", MetadataValue::as_u32)
    }

    optional!(
        /// [`get_u32`](Self::get_u32) for an optional key.
        get_u32_opt => get_u32 -> u32
    );
    optional!(
        /// [`get_u64`](Self::get_u64) for an optional key.
        get_u64_opt => get_u64 -> u64
    );
    optional!(
        /// [`get_i32`](Self::get_i32) for an optional key.
        get_i32_opt => get_i32 -> i32
    );
    optional!(
        /// [`get_f32`](Self::get_f32) for an optional key.
        get_f32_opt => get_f32 -> f32
    );
    optional!(
        /// [`get_bool`](Self::get_bool) for an optional key.
        get_bool_opt => get_bool -> bool
    );

    /// [`get_str`](Self::get_str) for an optional key.
    ///
    /// `Ok(None)` when the key is absent; an error when it is present with the wrong type.
    pub fn get_str_opt(&self, key: &str) -> Result<Option<&str>, GgufError> {
        match self.metadata.get(key) {
            Some(value) => typed(key, value, "a string", MetadataValue::as_str).map(Some),
            None => Ok(None),
        }
    }

    /// [`get_array`](Self::get_array) for an optional key.
    ///
    /// `Ok(None)` when the key is absent; an error when it is present with the wrong type.
    pub fn get_array_opt(&self, key: &str) -> Result<Option<&[MetadataValue]>, GgufError> {
        match self.metadata.get(key) {
            Some(value) => typed(key, value, "an array", MetadataValue::as_array).map(Some),
            None => Ok(None),
        }
    }

    /// `general.architecture` (`"llama"`, `"qwen2"` …): the prefix of the model's own keys.
    pub fn architecture(&self) -> Result<&str, GgufError> {
        self.get_str("general.architecture")
    }
}

macro_rules! from_scalar {
    ($($ty:ty => $variant:ident),* $(,)?) => {
        $(impl From<$ty> for MetadataValue {
            fn from(v: $ty) -> Self {
                MetadataValue::$variant(v)
            }
        })*
    };
}

from_scalar!(
    u8 => U8, i8 => I8, u16 => U16, i16 => I16, u32 => U32, i32 => I32, f32 => F32,
    bool => Bool, String => String, u64 => U64, i64 => I64, f64 => F64,
);

impl From<&str> for MetadataValue {
    fn from(v: &str) -> Self {
        MetadataValue::String(v.to_owned())
    }
}

impl<T: Into<MetadataValue>> From<Vec<T>> for MetadataValue {
    /// A homogeneous array: `vec!["a", "b"].into()`, `vec![1i32, 3].into()`.
    fn from(items: Vec<T>) -> Self {
        MetadataValue::Array(items.into_iter().map(Into::into).collect())
    }
}
