//! Encoding f32 values into ggml blocks, for building test models and small files with
//! [`GgufWriter`](super::GgufWriter). The rounding follows ggml's reference quantizers
//! closely enough that [`dequantize`](super::dequantize) returns each value within half a
//! quantization step; it is not meant to produce byte-identical files to llama.cpp.

use super::error::GgufError;
use super::types::GgmlType;

/// Encodes `values` as type `t`. Supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1.
pub fn quantize(t: GgmlType, values: &[f32]) -> Result<Vec<u8>, GgufError> {
    let block = t.block_size().unwrap_or(1);
    if !values.len().is_multiple_of(block) {
        return Err(GgufError::NotBlockMultiple {
            ggml_type: t,
            n_elements: values.len(),
            block,
        });
    }
    let capacity = values.len() / block * t.type_size().unwrap_or(0);
    let mut out = Vec::with_capacity(capacity);
    match t {
        GgmlType::F32 => values
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        GgmlType::F16 => values
            .iter()
            .for_each(|v| out.extend_from_slice(&half::f16::from_f32(*v).to_le_bytes())),
        GgmlType::BF16 => values
            .iter()
            .for_each(|v| out.extend_from_slice(&half::bf16::from_f32(*v).to_le_bytes())),
        GgmlType::Q8_0 => values.chunks_exact(32).for_each(|b| q8_0(b, &mut out)),
        GgmlType::Q4_0 => values.chunks_exact(32).for_each(|b| q4_0(b, &mut out)),
        GgmlType::Q4_1 => values.chunks_exact(32).for_each(|b| q4_1(b, &mut out)),
        other => {
            return Err(GgufError::UnsupportedTensorType {
                name: String::new(),
                ggml_type: other,
            });
        }
    }
    Ok(out)
}

fn push_f16(out: &mut Vec<u8>, v: f32) {
    out.extend_from_slice(&half::f16::from_f32(v).to_le_bytes());
}

/// Symmetric 8-bit: the largest magnitude maps to ±127.
fn q8_0(x: &[f32], out: &mut Vec<u8>) {
    let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let inv = if d != 0.0 { 1.0 / d } else { 0.0 };
    push_f16(out, d);
    out.extend(
        x.iter()
            .map(|v| (v * inv).round().clamp(-128.0, 127.0) as i8 as u8),
    );
}

/// Symmetric 4-bit: the value of largest magnitude maps to −8 (so its sign sets `d`'s sign).
fn q4_0(x: &[f32], out: &mut Vec<u8>) {
    let extreme = x
        .iter()
        .copied()
        .fold(0.0f32, |m, v| if v.abs() > m.abs() { v } else { m });
    let d = extreme / -8.0;
    let inv = if d != 0.0 { 1.0 / d } else { 0.0 };
    push_f16(out, d);
    let q = |v: f32| ((v * inv + 8.5) as i32).clamp(0, 15) as u8;
    out.extend((0..16).map(|j| q(x[j]) | (q(x[j + 16]) << 4)));
}

/// Asymmetric 4-bit: minimum and 15 steps up to the maximum.
fn q4_1(x: &[f32], out: &mut Vec<u8>) {
    let min = x.iter().copied().fold(f32::INFINITY, f32::min);
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let d = (max - min) / 15.0;
    let inv = if d != 0.0 { 1.0 / d } else { 0.0 };
    push_f16(out, d);
    push_f16(out, min);
    let q = |v: f32| (((v - min) * inv + 0.5) as i32).clamp(0, 15) as u8;
    out.extend((0..16).map(|j| q(x[j]) | (q(x[j + 16]) << 4)));
}
