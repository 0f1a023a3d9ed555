//! ggml tensor types: their ids in GGUF files and their block layouts.
//!
//! Every type stores its values in blocks: `block_size` values take `type_size` bytes. A tensor
//! of `n` values (with `n` a multiple of the block size) takes `n / block_size * type_size`
//! bytes. The ids and sizes follow ggml's `enum ggml_type` and `ggml-common.h`; ids that ggml
//! has retired (4, 5, 31–33, 36–38) or that are newer than this table parse as
//! [`GgmlType::Unknown`], so a file that uses them still opens and its metadata stays readable.

use std::fmt;

/// The type of a tensor's data, as stored in a GGUF file.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// IEEE half float.
    F16,
    /// 32 values: f16 scale, 4-bit quants centred on 8.
    Q4_0,
    /// 32 values: f16 scale and minimum, 4-bit quants.
    Q4_1,
    /// 32 values: f16 scale, 5-bit quants centred on 16.
    Q5_0,
    /// 32 values: f16 scale and minimum, 5-bit quants.
    Q5_1,
    /// 32 values: f16 scale, 8-bit quants.
    Q8_0,
    /// 32 values: f16 scale and sum, 8-bit quants (an intermediate format).
    Q8_1,
    /// 256-value super-block, 2-bit.
    Q2_K,
    /// 256-value super-block, 3-bit.
    Q3_K,
    /// 256-value super-block: 8 sub-blocks of 32 with 6-bit scales and minimums, 4-bit quants.
    Q4_K,
    /// 256-value super-block like Q4_K with a fifth bit per quant.
    Q5_K,
    /// 256-value super-block: 16 sub-blocks of 16 with 8-bit scales, 6-bit quants.
    Q6_K,
    /// 256-value super-block, 8-bit (an intermediate format).
    Q8_K,
    /// Importance-matrix 2-bit type.
    IQ2_XXS,
    /// Importance-matrix 2-bit type.
    IQ2_XS,
    /// Importance-matrix 3-bit type.
    IQ3_XXS,
    /// Importance-matrix 1-bit type.
    IQ1_S,
    /// Non-linear 4-bit type (32-value blocks).
    IQ4_NL,
    /// Importance-matrix 3-bit type.
    IQ3_S,
    /// Importance-matrix 2-bit type.
    IQ2_S,
    /// Non-linear 4-bit type (256-value super-blocks).
    IQ4_XS,
    /// 8-bit integer.
    I8,
    /// 16-bit integer.
    I16,
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 64-bit float.
    F64,
    /// Importance-matrix 1-bit type.
    IQ1_M,
    /// bfloat16.
    BF16,
    /// Ternary type.
    TQ1_0,
    /// Ternary type.
    TQ2_0,
    /// Microscaling FP4 (32 values: E8M0 scale, 4-bit E2M1 values).
    MXFP4,
    /// An id this reader does not know; such tensors are listed but their size is unknown.
    Unknown(u32),
}

/// `(type, id, name, block size, bytes per block)` for every known type.
const TABLE: [(GgmlType, u32, &str, usize, usize); 32] = [
    (GgmlType::F32, 0, "F32", 1, 4),
    (GgmlType::F16, 1, "F16", 1, 2),
    (GgmlType::Q4_0, 2, "Q4_0", 32, 18),
    (GgmlType::Q4_1, 3, "Q4_1", 32, 20),
    (GgmlType::Q5_0, 6, "Q5_0", 32, 22),
    (GgmlType::Q5_1, 7, "Q5_1", 32, 24),
    (GgmlType::Q8_0, 8, "Q8_0", 32, 34),
    (GgmlType::Q8_1, 9, "Q8_1", 32, 36),
    (GgmlType::Q2_K, 10, "Q2_K", 256, 84),
    (GgmlType::Q3_K, 11, "Q3_K", 256, 110),
    (GgmlType::Q4_K, 12, "Q4_K", 256, 144),
    (GgmlType::Q5_K, 13, "Q5_K", 256, 176),
    (GgmlType::Q6_K, 14, "Q6_K", 256, 210),
    (GgmlType::Q8_K, 15, "Q8_K", 256, 292),
    (GgmlType::IQ2_XXS, 16, "IQ2_XXS", 256, 66),
    (GgmlType::IQ2_XS, 17, "IQ2_XS", 256, 74),
    (GgmlType::IQ3_XXS, 18, "IQ3_XXS", 256, 98),
    (GgmlType::IQ1_S, 19, "IQ1_S", 256, 50),
    (GgmlType::IQ4_NL, 20, "IQ4_NL", 32, 18),
    (GgmlType::IQ3_S, 21, "IQ3_S", 256, 110),
    (GgmlType::IQ2_S, 22, "IQ2_S", 256, 82),
    (GgmlType::IQ4_XS, 23, "IQ4_XS", 256, 136),
    (GgmlType::I8, 24, "I8", 1, 1),
    (GgmlType::I16, 25, "I16", 1, 2),
    (GgmlType::I32, 26, "I32", 1, 4),
    (GgmlType::I64, 27, "I64", 1, 8),
    (GgmlType::F64, 28, "F64", 1, 8),
    (GgmlType::IQ1_M, 29, "IQ1_M", 256, 56),
    (GgmlType::BF16, 30, "BF16", 1, 2),
    (GgmlType::TQ1_0, 34, "TQ1_0", 256, 54),
    (GgmlType::TQ2_0, 35, "TQ2_0", 256, 66),
    (GgmlType::MXFP4, 39, "MXFP4", 32, 17),
];

impl GgmlType {
    /// The type with GGUF id `id`; ids this reader does not know become [`GgmlType::Unknown`].
    pub fn from_u32(id: u32) -> GgmlType {
        TABLE
            .iter()
            .find(|row| row.1 == id)
            .map_or(GgmlType::Unknown(id), |row| row.0)
    }

    fn row(self) -> Option<&'static (GgmlType, u32, &'static str, usize, usize)> {
        TABLE.iter().find(|row| row.0 == self)
    }

    /// The id written in GGUF files.
    pub fn id(self) -> u32 {
        match self {
            GgmlType::Unknown(id) => id,
            known => known.row().map_or(u32::MAX, |row| row.1),
        }
    }

    /// ggml's name for the type (`"Q4_1"`), or `"unknown"`.
    pub fn name(self) -> &'static str {
        self.row().map_or("unknown", |row| row.2)
    }

    /// Values per block, or `None` for an unknown type.
    pub fn block_size(self) -> Option<usize> {
        self.row().map(|row| row.3)
    }

    /// Bytes per block, or `None` for an unknown type.
    pub fn type_size(self) -> Option<usize> {
        self.row().map(|row| row.4)
    }

    /// Bytes taken by `n_elements` values: `None` for an unknown type, a count that is not a
    /// whole number of blocks, or a size that overflows `u64`.
    pub fn bytes_for(self, n_elements: u64) -> Option<u64> {
        let block = u64::try_from(self.block_size()?).ok()?;
        let size = u64::try_from(self.type_size()?).ok()?;
        if !n_elements.is_multiple_of(block) {
            return None;
        }
        (n_elements / block).checked_mul(size)
    }

    /// Whether [`dequantize`](super::dequantize) can decode this type.
    pub fn can_dequantize(self) -> bool {
        matches!(
            self,
            GgmlType::F32
                | GgmlType::F16
                | GgmlType::BF16
                | GgmlType::F64
                | GgmlType::I8
                | GgmlType::I16
                | GgmlType::I32
                | GgmlType::I64
                | GgmlType::Q4_0
                | GgmlType::Q4_1
                | GgmlType::Q5_0
                | GgmlType::Q5_1
                | GgmlType::Q8_0
                | GgmlType::Q4_K
                | GgmlType::Q5_K
                | GgmlType::Q6_K
        )
    }

    /// The types [`dequantize`](super::dequantize) decodes, for error messages.
    pub fn dequantizable() -> impl Iterator<Item = GgmlType> {
        TABLE.iter().map(|row| row.0).filter(|t| t.can_dequantize())
    }
}

impl fmt::Display for GgmlType {
    /// `Q4_1`, or `unknown type 42` for an id this reader does not know.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GgmlType::Unknown(id) => write!(f, "unknown type {id}"),
            known => f.write_str(known.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_unknown_ids_are_kept() {
        for row in TABLE {
            assert_eq!(GgmlType::from_u32(row.1), row.0);
            assert_eq!(row.0.id(), row.1);
        }
        assert_eq!(GgmlType::from_u32(4), GgmlType::Unknown(4));
        assert_eq!(GgmlType::Unknown(77).id(), 77);
        assert_eq!(GgmlType::Unknown(77).to_string(), "unknown type 77");
        assert_eq!(GgmlType::Q4_1.to_string(), "Q4_1");
    }

    #[test]
    fn block_layouts_match_ggml() {
        assert_eq!(GgmlType::Q4_1.bytes_for(64), Some(40));
        assert_eq!(GgmlType::Q8_0.bytes_for(576), Some(18 * 34));
        assert_eq!(GgmlType::Q6_K.bytes_for(256), Some(210));
        assert_eq!(GgmlType::Q4_K.bytes_for(100), None);
        assert_eq!(GgmlType::Unknown(99).bytes_for(32), None);
        assert_eq!(GgmlType::F32.bytes_for(u64::MAX), None);
    }
}
