//! Decoding ggml blocks to f32, value for value as ggml's reference `dequantize_row_*` does.
//!
//! The block layouts (from ggml-common.h), all little-endian, `d`/`m`/`dmin` f16:
//!
//! | type | values | bytes | layout |
//! |------|--------|-------|--------|
//! | Q4_0 | 32 | 18 | `d`, 16 bytes of nibbles: low nibble of byte j → value j, high → j+16; `x = (q−8)·d` |
//! | Q4_1 | 32 | 20 | `d`, `m`, nibbles as Q4_0; `x = q·d + m` |
//! | Q5_0 | 32 | 22 | `d`, `qh` u32 (bit j = 5th bit of value j), nibbles; `x = (q−16)·d` |
//! | Q5_1 | 32 | 24 | `d`, `m`, `qh`, nibbles; `x = q·d + m` |
//! | Q8_0 | 32 | 34 | `d`, 32 × i8; `x = q·d` |
//! | Q4_K | 256 | 144 | `d`, `dmin`, 12 bytes of 6-bit scales/mins for 8 sub-blocks of 32, 128 bytes of nibbles |
//! | Q5_K | 256 | 176 | as Q4_K plus 32 bytes of 5th bits before the nibbles |
//! | Q6_K | 256 | 210 | 128 bytes low nibbles, 64 bytes high 2-bit pairs, 16 × i8 scales, `d` last |
//!
//! K-quant sub-blocks: in each 64-value chunk the low nibbles of 32 bytes are the first 32
//! values and the high nibbles the next 32; `x = d·scale·q − dmin·min`.

use super::error::GgufError;
use super::types::GgmlType;

/// Decodes `n_elements` values of type `t` from `data` (exactly their encoded size).
pub fn dequantize(t: GgmlType, data: &[u8], n_elements: usize) -> Result<Vec<f32>, GgufError> {
    // Checked before allocating: the output is bounded by the input's size.
    check_sizes(t, data.len(), n_elements)?;
    let mut out = vec![0.0; n_elements];
    dequantize_into(t, data, &mut out)?;
    Ok(out)
}

/// Decodes `out.len()` values of type `t` from `data` into `out` (no allocation, for reuse of
/// one buffer across rows or tensors).
pub fn dequantize_into(t: GgmlType, data: &[u8], out: &mut [f32]) -> Result<(), GgufError> {
    check_sizes(t, data.len(), out.len())?;
    match t {
        GgmlType::F32 => scalars::<4>(data, out, f32::from_le_bytes),
        GgmlType::F16 => scalars::<2>(data, out, |b| half::f16::from_le_bytes(b).to_f32()),
        GgmlType::BF16 => scalars::<2>(data, out, |b| half::bf16::from_le_bytes(b).to_f32()),
        GgmlType::F64 => scalars::<8>(data, out, |b| f64::from_le_bytes(b) as f32),
        GgmlType::I8 => scalars::<1>(data, out, |b| f32::from(i8::from_le_bytes(b))),
        GgmlType::I16 => scalars::<2>(data, out, |b| f32::from(i16::from_le_bytes(b))),
        GgmlType::I32 => scalars::<4>(data, out, |b| i32::from_le_bytes(b) as f32),
        GgmlType::I64 => scalars::<8>(data, out, |b| i64::from_le_bytes(b) as f32),
        GgmlType::Q4_0 => blocks::<18, 32>(data, out, q4_0),
        GgmlType::Q4_1 => blocks::<20, 32>(data, out, q4_1),
        GgmlType::Q5_0 => blocks::<22, 32>(data, out, q5_0),
        GgmlType::Q5_1 => blocks::<24, 32>(data, out, q5_1),
        GgmlType::Q8_0 => blocks::<34, 32>(data, out, q8_0),
        GgmlType::Q4_K => blocks::<144, 256>(data, out, q4_k),
        GgmlType::Q5_K => blocks::<176, 256>(data, out, q5_k),
        GgmlType::Q6_K => blocks::<210, 256>(data, out, q6_k),
        other => {
            return Err(GgufError::UnsupportedTensorType {
                name: String::new(),
                ggml_type: other,
            });
        }
    }
    Ok(())
}

/// Checks that `n_elements` is whole blocks of a decodable type and `data_len` their size.
fn check_sizes(t: GgmlType, data_len: usize, n_elements: usize) -> Result<(), GgufError> {
    let unsupported = || GgufError::UnsupportedTensorType {
        name: String::new(),
        ggml_type: t,
    };
    if !t.can_dequantize() {
        return Err(unsupported());
    }
    let (Some(block), Some(size)) = (t.block_size(), t.type_size()) else {
        return Err(unsupported());
    };
    if !n_elements.is_multiple_of(block) {
        return Err(GgufError::NotBlockMultiple {
            ggml_type: t,
            n_elements,
            block,
        });
    }
    let expected = (n_elements / block)
        .checked_mul(size)
        .ok_or_else(|| GgufError::TooLarge {
            what: format!("{n_elements} {t} values"),
            size: u64::MAX,
        })?;
    if data_len != expected {
        return Err(GgufError::SizeMismatch {
            ggml_type: t,
            n_elements,
            expected,
            actual: data_len,
        });
    }
    Ok(())
}

/// One value per `N` bytes. Sizes were checked by the caller.
fn scalars<const N: usize>(data: &[u8], out: &mut [f32], f: impl Fn([u8; N]) -> f32) {
    let (chunks, _) = data.as_chunks::<N>();
    for (y, b) in out.iter_mut().zip(chunks) {
        *y = f(*b);
    }
}

/// One `B`-byte block per `V` values. Sizes were checked by the caller.
fn blocks<const B: usize, const V: usize>(
    data: &[u8],
    out: &mut [f32],
    f: impl Fn(&[u8; B], &mut [f32; V]),
) {
    let (inputs, _) = data.as_chunks::<B>();
    let (outputs, _) = out.as_chunks_mut::<V>();
    for (x, y) in inputs.iter().zip(outputs) {
        f(x, y);
    }
}

/// The little-endian f16 at byte `i` of a block, as f32 (0 if the block is too short).
pub(crate) fn f16_at(b: &[u8], i: usize) -> f32 {
    match b.get(i..i + 2) {
        Some(&[lo, hi]) => half::f16::from_le_bytes([lo, hi]).to_f32(),
        _ => 0.0,
    }
}

fn q4_0(x: &[u8; 18], y: &mut [f32; 32]) {
    let d = f16_at(x, 0);
    for (j, &q) in x[2..].iter().enumerate() {
        y[j] = (i32::from(q & 0x0F) - 8) as f32 * d;
        y[j + 16] = (i32::from(q >> 4) - 8) as f32 * d;
    }
}

fn q4_1(x: &[u8; 20], y: &mut [f32; 32]) {
    let (d, m) = (f16_at(x, 0), f16_at(x, 2));
    for (j, &q) in x[4..].iter().enumerate() {
        y[j] = f32::from(q & 0x0F) * d + m;
        y[j + 16] = f32::from(q >> 4) * d + m;
    }
}

/// The 5th bits of a Q5 block, as a `u32` whose bit j belongs to value j.
fn fifth_bits(x: &[u8], at: usize) -> u32 {
    match x.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// Value j's 5-bit quant: its nibble plus bit j of `qh` as bit 4.
fn q5(nibble: u8, qh: u32, j: usize) -> u8 {
    nibble | ((((qh >> j) & 1) as u8) << 4)
}

fn q5_0(x: &[u8; 22], y: &mut [f32; 32]) {
    let d = f16_at(x, 0);
    let qh = fifth_bits(x, 2);
    for (j, &q) in x[6..].iter().enumerate() {
        y[j] = (i32::from(q5(q & 0x0F, qh, j)) - 16) as f32 * d;
        y[j + 16] = (i32::from(q5(q >> 4, qh, j + 16)) - 16) as f32 * d;
    }
}

fn q5_1(x: &[u8; 24], y: &mut [f32; 32]) {
    let (d, m) = (f16_at(x, 0), f16_at(x, 2));
    let qh = fifth_bits(x, 4);
    for (j, &q) in x[8..].iter().enumerate() {
        y[j] = f32::from(q5(q & 0x0F, qh, j)) * d + m;
        y[j + 16] = f32::from(q5(q >> 4, qh, j + 16)) * d + m;
    }
}

fn q8_0(x: &[u8; 34], y: &mut [f32; 32]) {
    let d = f16_at(x, 0);
    for (v, &q) in y.iter_mut().zip(&x[2..]) {
        *v = f32::from(q as i8) * d;
    }
}

/// Scale and minimum of K-quant sub-block `j` (0..8) from the 12 packed bytes: sub-blocks
/// 0–3 keep 6 bits in bytes j and j+4; 4–7 keep their low 4 bits in byte j+4 (scale low
/// nibble, min high nibble) and their top 2 bits in the top bits of bytes j−4 and j.
fn scale_min_k4(j: usize, s: &[u8; 12]) -> (u8, u8) {
    if j < 4 {
        (s[j] & 63, s[j + 4] & 63)
    } else {
        (
            (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4),
            (s[j + 4] >> 4) | ((s[j] >> 6) << 4),
        )
    }
}

fn k_scales(x: &[u8], at: usize) -> [u8; 12] {
    let mut s = [0u8; 12];
    if let Some(src) = x.get(at..at + 12) {
        s.copy_from_slice(src);
    }
    s
}

fn q4_k(x: &[u8; 144], y: &mut [f32; 256]) {
    let (d, dmin) = (f16_at(x, 0), f16_at(x, 2));
    let scales = k_scales(x, 4);
    let qs = &x[16..];
    for chunk in 0..4 {
        let (sc1, m1) = scale_min_k4(2 * chunk, &scales);
        let (sc2, m2) = scale_min_k4(2 * chunk + 1, &scales);
        let (d1, min1) = (d * f32::from(sc1), dmin * f32::from(m1));
        let (d2, min2) = (d * f32::from(sc2), dmin * f32::from(m2));
        let q = &qs[32 * chunk..32 * chunk + 32];
        let base = 64 * chunk;
        for (l, &b) in q.iter().enumerate() {
            y[base + l] = d1 * f32::from(b & 0x0F) - min1;
            y[base + 32 + l] = d2 * f32::from(b >> 4) - min2;
        }
    }
}

fn q5_k(x: &[u8; 176], y: &mut [f32; 256]) {
    let (d, dmin) = (f16_at(x, 0), f16_at(x, 2));
    let scales = k_scales(x, 4);
    let qh = &x[16..48];
    let qs = &x[48..];
    for chunk in 0..4 {
        let (sc1, m1) = scale_min_k4(2 * chunk, &scales);
        let (sc2, m2) = scale_min_k4(2 * chunk + 1, &scales);
        let (d1, min1) = (d * f32::from(sc1), dmin * f32::from(m1));
        let (d2, min2) = (d * f32::from(sc2), dmin * f32::from(m2));
        // The 5th bits of chunk c are bits 2c (first 32 values) and 2c+1 (next 32) of qh[l].
        let (u1, u2) = (1u8 << (2 * chunk), 2u8 << (2 * chunk));
        let q = &qs[32 * chunk..32 * chunk + 32];
        let base = 64 * chunk;
        for (l, (&b, &h)) in q.iter().zip(qh).enumerate() {
            let hi1 = if h & u1 != 0 { 16 } else { 0 };
            let hi2 = if h & u2 != 0 { 16 } else { 0 };
            y[base + l] = d1 * f32::from((b & 0x0F) + hi1) - min1;
            y[base + 32 + l] = d2 * f32::from((b >> 4) + hi2) - min2;
        }
    }
}

fn q6_k(x: &[u8; 210], y: &mut [f32; 256]) {
    let d = f16_at(x, 208);
    // Two halves of 128 values; each takes 64 bytes of `ql`, 32 of `qh` and 8 scales.
    for half in 0..2 {
        let ql = &x[64 * half..64 * half + 64];
        let qh = &x[128 + 32 * half..128 + 32 * half + 32];
        let sc = &x[192 + 8 * half..192 + 8 * half + 8];
        let base = 128 * half;
        for l in 0..32 {
            let is = l / 16;
            let h = qh[l];
            let q1 = i32::from((ql[l] & 0x0F) | ((h & 3) << 4)) - 32;
            let q2 = i32::from((ql[l + 32] & 0x0F) | (((h >> 2) & 3) << 4)) - 32;
            let q3 = i32::from((ql[l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
            let q4 = i32::from((ql[l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
            let scale = |k: usize| d * f32::from(sc[is + k] as i8);
            y[base + l] = scale(0) * q1 as f32;
            y[base + l + 32] = scale(2) * q2 as f32;
            y[base + l + 64] = scale(4) * q3 as f32;
            y[base + l + 96] = scale(6) * q4 as f32;
        }
    }
}
