//! Reader tests on files built in memory: round trips through [`GgufWriter`], dequantization
//! of hand-built blocks against values worked out by hand, and hostile headers that must each
//! give one specific error.

use super::*;

const F16_ONE: [u8; 2] = [0x00, 0x3C];
const F16_HALF: [u8; 2] = [0x00, 0x38];
const F16_TWO: [u8; 2] = [0x00, 0x40];
const F16_MINUS_ONE: [u8; 2] = [0x00, 0xBC];

fn err(bytes: &[u8]) -> GgufError {
    match Gguf::parse(bytes) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

/// A small valid file exercising every metadata type and several tensor types. Its last
/// tensor ends on an alignment boundary, so every strict prefix is truncated.
fn tiny_writer() -> GgufWriter {
    let mut w = GgufWriter::new();
    w.add_metadata("general.architecture", "llama")
        .add_metadata("general.name", "tiny ✓")
        .add_metadata("llama.block_count", 2u32)
        .add_metadata("llama.context_length", 8192u64)
        .add_metadata("llama.rope.freq_base", 10000.0f32)
        .add_metadata("t.u8", 7u8)
        .add_metadata("t.i8", -7i8)
        .add_metadata("t.u16", 65535u16)
        .add_metadata("t.i16", -300i16)
        .add_metadata("t.i32", -5i32)
        .add_metadata("t.i64", -6i64)
        .add_metadata("t.f64", 0.25f64)
        .add_metadata("t.bool", true)
        .add_metadata("tokenizer.ggml.tokens", vec!["a", "b", "Ġc"])
        .add_metadata("tokenizer.ggml.scores", vec![0.5f32, -1.0, 2.0])
        .add_metadata("tokenizer.ggml.token_type", vec![1i32, 3, 4])
        .add_metadata(
            "t.nested",
            MetadataValue::Array(vec![vec![1u8, 2].into(), vec![3u8].into()]),
        )
        .add_metadata("t.empty", MetadataValue::Array(Vec::new()));
    let q8: Vec<f32> = (0..64).map(|i| (i as f32 - 32.0) / 8.0).collect();
    // On Q4_1's grid (min −1, step 0.25), so the round trip is exact.
    let q41: Vec<f32> = (0..32).map(|i| (i % 16) as f32 * 0.25 - 1.0).collect();
    w.add_f32_tensor("norm.weight", &[4], &[1.0, -2.0, 0.5, 3.25])
        .add_tensor(
            "half.weight",
            &[2, 2],
            GgmlType::F16,
            quantize(GgmlType::F16, &[1.0, 2.0, -0.5, 0.0]).expect("f16"),
        )
        .add_tensor(
            "q8.weight",
            &[32, 2],
            GgmlType::Q8_0,
            quantize(GgmlType::Q8_0, &q8).expect("q8"),
        )
        .add_tensor(
            "q41.weight",
            &[32],
            GgmlType::Q4_1,
            quantize(GgmlType::Q4_1, &q41).expect("q4_1"),
        )
        .add_f32_tensor("last.weight", &[8], &[0.0; 8]);
    w
}

fn tiny() -> Vec<u8> {
    tiny_writer().to_bytes()
}

// ---- Raw headers for hostile files -------------------------------------------------------

fn header(version: u32, n_tensors: u64, n_kv: u64) -> Vec<u8> {
    let mut v = b"GGUF".to_vec();
    v.extend_from_slice(&version.to_le_bytes());
    v.extend_from_slice(&n_tensors.to_le_bytes());
    v.extend_from_slice(&n_kv.to_le_bytes());
    v
}

fn push_str(v: &mut Vec<u8>, s: &[u8]) {
    v.extend_from_slice(&(s.len() as u64).to_le_bytes());
    v.extend_from_slice(s);
}

fn push_kv_u32(v: &mut Vec<u8>, key: &str, value: u32) {
    push_str(v, key.as_bytes());
    v.extend_from_slice(&4u32.to_le_bytes());
    v.extend_from_slice(&value.to_le_bytes());
}

fn push_tensor(v: &mut Vec<u8>, name: &str, dims: &[u64], type_id: u32, offset: u64) {
    push_str(v, name.as_bytes());
    v.extend_from_slice(&(dims.len() as u32).to_le_bytes());
    for d in dims {
        v.extend_from_slice(&d.to_le_bytes());
    }
    v.extend_from_slice(&type_id.to_le_bytes());
    v.extend_from_slice(&offset.to_le_bytes());
}

/// Pads to 32 and appends `data_len` zero bytes of tensor data.
fn with_data(mut v: Vec<u8>, data_len: usize) -> Vec<u8> {
    v.resize(v.len().next_multiple_of(32) + data_len, 0);
    v
}

// ---- Round trips --------------------------------------------------------------------------

#[test]
fn metadata_round_trips_with_every_value_type() {
    let bytes = tiny();
    let g = Gguf::parse(&bytes).expect("parse");
    assert_eq!(g.version, 3);
    assert_eq!(g.alignment, 32);
    assert_eq!(g.architecture().expect("arch"), "llama");
    assert_eq!(g.get_str("general.name").expect("name"), "tiny ✓");
    assert_eq!(g.get_u32("llama.block_count").expect("u32"), 2);
    assert_eq!(g.get_u64("llama.context_length").expect("u64"), 8192);
    assert_eq!(g.get_f32("llama.rope.freq_base").expect("f32"), 10000.0);
    assert_eq!(g.get("t.u8").expect("u8"), &MetadataValue::U8(7));
    assert_eq!(g.get("t.i8").expect("i8"), &MetadataValue::I8(-7));
    assert_eq!(g.get("t.u16").expect("u16"), &MetadataValue::U16(65535));
    assert_eq!(g.get("t.i16").expect("i16"), &MetadataValue::I16(-300));
    assert_eq!(g.get_i32("t.i32").expect("i32"), -5);
    assert_eq!(g.get("t.i64").expect("i64"), &MetadataValue::I64(-6));
    assert_eq!(g.get_f32("t.f64").expect("f64 as f32"), 0.25);
    assert!(g.get_bool("t.bool").expect("bool"));
    assert_eq!(
        g.get_str_array("tokenizer.ggml.tokens").expect("tokens"),
        vec!["a", "b", "Ġc"]
    );
    assert_eq!(
        g.get_f32_array("tokenizer.ggml.scores").expect("scores"),
        vec![0.5, -1.0, 2.0]
    );
    assert_eq!(
        g.get_i32_array("tokenizer.ggml.token_type").expect("types"),
        vec![1, 3, 4]
    );
    let nested = g.get_array("t.nested").expect("nested");
    assert_eq!(nested.len(), 2);
    assert_eq!(
        nested[0],
        MetadataValue::Array(vec![1u8.into(), 2u8.into()])
    );
    assert!(g.get_array("t.empty").expect("empty").is_empty());
    assert_eq!(g.metadata.len(), 18);
}

#[test]
fn tensors_round_trip_with_absolute_aligned_offsets() {
    let bytes = tiny();
    let g = Gguf::parse(&bytes).expect("parse");
    assert_eq!(g.tensors.len(), 5);
    assert_eq!(g.data_offset % 32, 0);
    for t in &g.tensors {
        assert_eq!(t.offset % 32, 0, "{}", t.name);
        assert!(t.offset >= g.data_offset);
    }
    let norm = g.tensor("norm.weight").expect("norm");
    assert_eq!(norm.offset, g.data_offset);
    assert_eq!(
        (norm.dims.clone(), norm.n_bytes, norm.n_elements()),
        (vec![4], 16, 4)
    );
    assert_eq!(
        g.tensor_f32(&bytes, "norm.weight").expect("f32"),
        vec![1.0, -2.0, 0.5, 3.25]
    );
    assert_eq!(
        g.tensor_f32(&bytes, "half.weight").expect("f16"),
        vec![1.0, 2.0, -0.5, 0.0]
    );
    let q8 = g.tensor("q8.weight").expect("q8");
    assert_eq!(
        (q8.ggml_type, q8.n_bytes, q8.n_elements()),
        (GgmlType::Q8_0, 68, 64)
    );
    let values = g.tensor_f32(&bytes, "q8.weight").expect("q8 values");
    for (i, v) in values.iter().enumerate() {
        let want = (i as f32 - 32.0) / 8.0;
        assert!((v - want).abs() < 0.02, "q8[{i}] = {v}, want {want}");
    }
    let q41 = g.tensor_f32(&bytes, "q41.weight").expect("q4_1 values");
    for (i, v) in q41.iter().enumerate() {
        assert_eq!(*v, (i % 16) as f32 * 0.25 - 1.0, "q41[{i}]");
    }
    let raw = g.tensor_bytes(&bytes, "q41.weight").expect("raw");
    assert_eq!(raw.len(), 20);
    assert!(matches!(
        g.tensor("nope"),
        Err(GgufError::MissingTensor(ref n)) if n == "nope"
    ));
}

#[test]
fn version_2_and_a_custom_alignment_round_trip() {
    let mut w = tiny_writer();
    w.version(2).alignment(64);
    let bytes = w.to_bytes();
    let g = Gguf::parse(&bytes).expect("parse");
    assert_eq!((g.version, g.alignment), (2, 64));
    assert_eq!(g.data_offset % 64, 0);
    assert!(g.tensors.iter().all(|t| t.offset % 64 == 0));
    assert_eq!(
        g.tensor_f32(&bytes, "norm.weight").expect("f32"),
        vec![1.0, -2.0, 0.5, 3.25]
    );
}

#[test]
fn a_file_without_tensors_parses() {
    let mut w = GgufWriter::new();
    w.add_metadata("general.architecture", "llama");
    let bytes = w.to_bytes();
    let g = Gguf::parse(&bytes).expect("parse");
    assert!(g.tensors.is_empty());
}

#[test]
fn getters_are_lenient_about_integer_width_but_not_about_meaning() {
    let mut w = GgufWriter::new();
    w.add_metadata("u64", 5u64)
        .add_metadata("big", u64::MAX)
        .add_metadata("neg", -1i32)
        .add_metadata("s", "text")
        .add_metadata(
            "mixed",
            vec![MetadataValue::U8(1), MetadataValue::String("x".into())],
        );
    let g = Gguf::parse(&w.to_bytes()).expect("parse");
    assert_eq!(g.get_u32("u64"), Ok(5));
    assert_eq!(g.get_i32("u64"), Ok(5));
    assert!(matches!(g.get_u32("big"), Err(GgufError::WrongType { .. })));
    assert!(matches!(g.get_u64("neg"), Err(GgufError::WrongType { .. })));
    assert!(matches!(g.get_f32("u64"), Err(GgufError::WrongType { .. })));
    let e = g.get_u32("s").expect_err("string is not a number");
    assert_eq!(
        e.to_string(),
        "metadata `s` should be an integer in u32 range but is the string \"text\""
    );
    assert_eq!(
        g.get_u32("absent"),
        Err(GgufError::MissingKey("absent".into()))
    );
    assert_eq!(g.get_u32_opt("absent"), Ok(None));
    assert_eq!(g.get_u32_opt("u64"), Ok(Some(5)));
    assert!(g.get_u32_opt("s").is_err());
    assert_eq!(g.get_str_opt("s"), Ok(Some("text")));
    assert!(g.architecture().is_err());
}

// ---- Dequantization of hand-built blocks ------------------------------------------------

#[test]
fn f16_and_bf16_decode() {
    let data = [F16_ONE, [0x00, 0xC0], [0x00, 0x7C]].concat(); // 1, -2, +inf
    let v = dequantize(GgmlType::F16, &data, 3).expect("f16");
    assert_eq!(&v[..2], &[1.0, -2.0]);
    assert!(v[2].is_infinite());
    let data = [[0x80, 0x3F], [0x20, 0xC0]].concat(); // bf16 1.0, -2.5
    assert_eq!(dequantize(GgmlType::BF16, &data, 2), Ok(vec![1.0, -2.5]));
}

#[test]
fn q8_0_block_decodes_to_q_times_d() {
    let mut block = F16_HALF.to_vec();
    let qs: [i8; 32] = {
        let mut q = [0i8; 32];
        q[..6].copy_from_slice(&[0, 1, -1, 127, -128, 2]);
        q
    };
    block.extend(qs.iter().map(|&q| q as u8));
    let v = dequantize(GgmlType::Q8_0, &block, 32).expect("q8_0");
    assert_eq!(&v[..6], &[0.0, 0.5, -0.5, 63.5, -64.0, 1.0]);
    assert!(v[6..].iter().all(|&x| x == 0.0));
}

#[test]
fn q4_0_block_puts_low_nibbles_first_and_centres_on_8() {
    let mut block = F16_TWO.to_vec();
    let mut qs = [0u8; 16];
    qs[0] = 0x0F; // value 0: 15 → (15−8)·2 = 14; value 16: 0 → −16
    qs[1] = 0x88; // values 1 and 17: 8 → 0
    block.extend_from_slice(&qs);
    let v = dequantize(GgmlType::Q4_0, &block, 32).expect("q4_0");
    assert_eq!(
        (v[0], v[16], v[1], v[17], v[2], v[31]),
        (14.0, -16.0, 0.0, 0.0, -16.0, -16.0)
    );
}

#[test]
fn q4_1_block_is_q_times_d_plus_m() {
    let mut block = [F16_HALF, F16_MINUS_ONE].concat();
    let mut qs = [0u8; 16];
    qs[0] = 0x3A; // value 0: 10·0.5 − 1 = 4; value 16: 3·0.5 − 1 = 0.5
    block.extend_from_slice(&qs);
    let v = dequantize(GgmlType::Q4_1, &block, 32).expect("q4_1");
    assert_eq!((v[0], v[16], v[1], v[31]), (4.0, 0.5, -1.0, -1.0));
}

#[test]
fn q5_0_block_takes_bit_j_of_qh_as_the_fifth_bit_of_value_j() {
    let mut block = F16_ONE.to_vec();
    block.extend_from_slice(&0x8001_0001u32.to_le_bytes()); // bits 0, 16, 31
    let mut qs = [0u8; 16];
    qs[0] = 0x21; // value 0: 1|16 − 16 = 1; value 16: 2|16 − 16 = 2
    qs[15] = 0xF0; // value 15: 0 − 16; value 31: 15|16 − 16 = 15
    block.extend_from_slice(&qs);
    let v = dequantize(GgmlType::Q5_0, &block, 32).expect("q5_0");
    assert_eq!(
        (v[0], v[16], v[15], v[31], v[1]),
        (1.0, 2.0, -16.0, 15.0, -16.0)
    );
}

#[test]
fn q5_1_block_is_five_bit_q_times_d_plus_m() {
    let mut block = [F16_HALF, F16_ONE].concat();
    block.extend_from_slice(&0x0001_0000u32.to_le_bytes()); // bit 16
    let mut qs = [0u8; 16];
    qs[0] = 0x13; // value 0: 3·0.5 + 1 = 2.5; value 16: 17·0.5 + 1 = 9.5
    block.extend_from_slice(&qs);
    let v = dequantize(GgmlType::Q5_1, &block, 32).expect("q5_1");
    assert_eq!((v[0], v[16], v[1], v[17]), (2.5, 9.5, 1.0, 1.0));
}

/// Packed K-quant scales: sub-block 0 (scale 2, min 4), 1 (3, 1) and 5 (17, 35, which needs
/// the high bits stored in bytes 1 and 5); the others 0.
fn k_scales() -> [u8; 12] {
    let mut s = [0u8; 12];
    s[0] = 2;
    s[4] = 4;
    s[1] = 0b01_000011;
    s[5] = 0b10_000001;
    s[9] = 0x31;
    s
}

#[test]
fn q4_k_block_unpacks_six_bit_scales_and_mins() {
    let mut block = [F16_ONE, F16_HALF].concat();
    block.extend_from_slice(&k_scales());
    let mut qs = [0u8; 128];
    qs[0] = 0x5A; // value 0: 2·10 − 0.5·4 = 18; value 32: 3·5 − 0.5·1 = 14.5
    qs[64] = 0xF0; // value 128 (sub-block 4): 0; value 160 (sub-block 5): 17·15 − 0.5·35
    block.extend_from_slice(&qs);
    let v = dequantize(GgmlType::Q4_K, &block, 256).expect("q4_k");
    assert_eq!((v[0], v[32], v[128], v[160]), (18.0, 14.5, 0.0, 237.5));
    assert_eq!((v[1], v[33], v[161], v[255]), (-2.0, -0.5, -17.5, 0.0));
}

#[test]
fn q5_k_block_adds_the_fifth_bit_per_chunk_half() {
    let mut block = [F16_ONE, F16_HALF].concat();
    block.extend_from_slice(&k_scales());
    let mut qh = [0u8; 32];
    qh[0] = 0x23; // bits 0, 1 (chunk 0, both halves) and 5 (chunk 2, second half) of value 0
    block.extend_from_slice(&qh);
    let mut qs = [0u8; 128];
    qs[0] = 0x5A;
    qs[64] = 0xF0;
    block.extend_from_slice(&qs);
    let v = dequantize(GgmlType::Q5_K, &block, 256).expect("q5_k");
    // 2·26 − 2; 3·21 − 0.5; 0; 17·31 − 17.5
    assert_eq!((v[0], v[32], v[128], v[160]), (50.0, 62.5, 0.0, 509.5));
    assert_eq!((v[1], v[33], v[161]), (-2.0, -0.5, -17.5));
}

#[test]
fn q6_k_block_combines_low_nibbles_high_pairs_and_signed_scales() {
    let mut block = vec![0u8; 210];
    block[0] = 0x21; // ql[0]: low 1 (value 0), high 2 (value 64)
    block[32] = 0x43; // ql[32]: low 3 (value 32), high 4 (value 96)
    block[128] = 0xE4; // qh[0]: pairs 0, 1, 2, 3 for values 0, 32, 64, 96
    block[64 + 16] = 0x0F; // second half, value 128+16: low 15
    block[128 + 32 + 16] = 0x03; // its high pair 3 → q = 63 − 32 = 31
    let scales: [i8; 16] = [2, 0, -3, 0, 1, 0, 4, 0, 0, 5, 0, 0, 0, 0, 0, 0];
    for (i, s) in scales.iter().enumerate() {
        block[192 + i] = *s as u8;
    }
    block[208..210].copy_from_slice(&F16_HALF);
    let v = dequantize(GgmlType::Q6_K, &block, 256).expect("q6_k");
    // 0.5·2·(1−32); 0.5·(−3)·(19−32); 0.5·1·(34−32); 0.5·4·(52−32); 0.5·5·31
    assert_eq!(
        (v[0], v[32], v[64], v[96], v[144]),
        (-31.0, 19.5, 1.0, 40.0, 77.5)
    );
    // Untouched quants are −32: 0.5·2·(−32); 0.5·(−3)·(−32); scale 0 → 0.
    assert_eq!((v[1], v[33], v[20]), (-32.0, 48.0, 0.0));
}

#[test]
fn dequantize_into_reuses_a_buffer_and_checks_sizes() {
    let block = quantize(GgmlType::Q8_0, &[1.0; 32]).expect("q8");
    let mut out = [0.0f32; 32];
    dequantize_into(GgmlType::Q8_0, &block, &mut out).expect("into");
    assert!(out.iter().all(|&v| (v - 1.0).abs() < 1e-3));
    assert!(matches!(
        dequantize(GgmlType::Q8_0, &block, 31),
        Err(GgufError::NotBlockMultiple { .. })
    ));
    assert!(matches!(
        dequantize(GgmlType::Q8_0, &block, 64),
        Err(GgufError::SizeMismatch {
            expected: 68,
            actual: 34,
            ..
        })
    ));
    assert!(matches!(
        dequantize(GgmlType::Q2_K, &[0; 84], 256),
        Err(GgufError::UnsupportedTensorType { .. })
    ));
    assert!(matches!(
        dequantize(GgmlType::Unknown(99), &[], 0),
        Err(GgufError::UnsupportedTensorType { .. })
    ));
}

#[test]
fn quantizers_round_trip_within_half_a_step() {
    let values: Vec<f32> = (0..64)
        .map(|i| ((i * 37) % 64) as f32 / 10.0 - 3.0)
        .collect();
    for (t, step) in [
        (GgmlType::Q8_0, 3.3 / 127.0),
        (GgmlType::Q4_0, 3.3 / 8.0),
        (GgmlType::Q4_1, 6.3 / 15.0),
        (GgmlType::F16, 0.002),
        (GgmlType::BF16, 0.02),
    ] {
        let encoded = quantize(t, &values).expect("quantize");
        let decoded = dequantize(t, &encoded, values.len()).expect("dequantize");
        for (a, b) in values.iter().zip(&decoded) {
            assert!((a - b).abs() <= step / 2.0 + 1e-3, "{t}: {a} → {b}");
        }
    }
    assert!(quantize(GgmlType::Q4_K, &[0.0; 256]).is_err());
}

// ---- Hostile and damaged files -----------------------------------------------------------

#[test]
fn bad_magic_is_reported_with_a_hint() {
    let e = err(b"<!DOCTYPE html><html>404</html>");
    assert!(matches!(e, GgufError::BadMagic { .. }));
    let msg = e.to_string();
    assert!(
        msg.starts_with("this file is not a GGUF model (bad magic"),
        "{msg}"
    );
    assert!(msg.contains("HTML"), "{msg}");
    assert!(matches!(err(b"GGML\x03\0\0\0"), GgufError::BadMagic { .. }));
    assert!(matches!(err(b"XY"), GgufError::BadMagic { .. }));
    assert!(
        err(b"version https://git-lfs.github.com/spec/v1\n")
            .to_string()
            .contains("LFS")
    );
}

#[test]
fn versions_other_than_2_and_3_are_refused() {
    assert_eq!(err(&header(1, 0, 0)), GgufError::UnsupportedVersion(1));
    assert_eq!(err(&header(4, 0, 0)), GgufError::UnsupportedVersion(4));
    assert_eq!(err(&header(3u32.swap_bytes(), 0, 0)), GgufError::BigEndian);
}

#[test]
fn a_header_claiming_2_pow_40_tensors_is_refused_before_allocating() {
    let e = err(&header(3, 1 << 40, 0));
    assert!(
        matches!(e, GgufError::CountTooLarge { count, .. } if count == 1 << 40),
        "{e}"
    );
    assert!(matches!(
        err(&header(3, 0, u64::MAX)),
        GgufError::CountTooLarge { .. }
    ));
}

#[test]
fn a_string_of_4_gib_is_truncation_not_an_allocation() {
    let mut v = header(3, 0, 1);
    v.extend_from_slice(&(4u64 << 30).to_le_bytes());
    v.extend_from_slice(b"general.architecture and then the file ends");
    let e = err(&v);
    assert!(
        matches!(e, GgufError::Truncated { end, .. } if end == 24 + 8 + (4 << 30)),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("truncated file: metadata key #0 needs bytes 32..")
    );
}

#[test]
fn huge_arrays_and_deep_nesting_are_refused() {
    // An array claiming 2^40 u8 values in a tiny file.
    let mut v = header(3, 0, 1);
    push_str(&mut v, b"k");
    v.extend_from_slice(&9u32.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&(1u64 << 40).to_le_bytes());
    v.extend_from_slice(&[0; 16]);
    assert!(matches!(err(&v), GgufError::CountTooLarge { .. }));

    // Arrays of arrays of arrays of arrays.
    let mut v = header(3, 0, 1);
    push_str(&mut v, b"deep");
    v.extend_from_slice(&9u32.to_le_bytes());
    for _ in 0..4 {
        v.extend_from_slice(&9u32.to_le_bytes());
        v.extend_from_slice(&1u64.to_le_bytes());
    }
    v.extend_from_slice(&[0; 64]);
    assert!(matches!(err(&v), GgufError::NestingTooDeep { .. }));
}

#[test]
fn malformed_metadata_values_are_refused() {
    let kv = |key: &[u8], type_id: u32, value: &[u8]| {
        let mut v = header(3, 0, 1);
        push_str(&mut v, key);
        v.extend_from_slice(&type_id.to_le_bytes());
        v.extend_from_slice(value);
        v.extend_from_slice(&[0; 16]);
        v
    };
    assert!(matches!(
        err(&kv(b"k", 13, &[0; 8])),
        GgufError::UnknownMetadataType { type_id: 13, .. }
    ));
    assert!(matches!(
        err(&kv(b"k", 7, &[2])),
        GgufError::InvalidBool { value: 2, .. }
    ));
    assert!(matches!(
        err(&kv(b"\xFF\xFE", 0, &[1])),
        GgufError::InvalidUtf8 { .. }
    ));

    let mut v = header(3, 0, 2);
    push_kv_u32(&mut v, "same", 1);
    push_kv_u32(&mut v, "same", 2);
    assert_eq!(err(&v), GgufError::DuplicateKey("same".into()));
}

#[test]
fn alignment_must_be_a_non_zero_power_of_two() {
    for (value, ok) in [
        (0u32, false),
        (3, false),
        (48, false),
        (1, true),
        (64, true),
    ] {
        let mut v = header(3, 0, 1);
        push_kv_u32(&mut v, "general.alignment", value);
        let result = Gguf::parse(&v);
        assert_eq!(result.is_ok(), ok, "alignment {value}: {result:?}");
        if !ok {
            assert!(matches!(result, Err(GgufError::BadAlignment { .. })));
        }
    }
    let mut w = GgufWriter::new();
    w.add_metadata("general.alignment", "32");
    assert!(matches!(err(&w.to_bytes()), GgufError::BadAlignment { .. }));
}

#[test]
fn tensor_shapes_are_checked() {
    let one = |dims: &[u64], type_id: u32| {
        let mut v = header(3, 1, 0);
        push_tensor(&mut v, "t", dims, type_id, 0);
        with_data(v, 64)
    };
    assert!(Gguf::parse(&one(&[16], 0)).is_ok());
    assert!(matches!(
        err(&one(&[1, 1, 1, 1, 1], 0)),
        GgufError::TooManyDims { n_dims: 5, .. }
    ));
    // Product overflows u64.
    assert!(matches!(
        err(&one(&[1 << 32, 1 << 32, 2], 0)),
        GgufError::ShapeOverflow { .. }
    ));
    // Fits u64 but not ggml's i64 element count.
    assert!(matches!(
        err(&one(&[1 << 63], 0)),
        GgufError::ShapeOverflow { .. }
    ));
    // Element count fine, byte size (×4) overflows.
    assert!(matches!(
        err(&one(&[1 << 62], 0)),
        GgufError::ShapeOverflow { .. }
    ));
    // Q4_1 rows must be whole 32-value blocks.
    assert!(matches!(
        err(&one(&[16, 2], 3)),
        GgufError::RowNotBlockMultiple {
            row: 16,
            block: 32,
            ..
        }
    ));
    // A huge but representable shape runs past the end of the file.
    assert!(matches!(
        err(&one(&[1 << 20, 1 << 20], 0)),
        GgufError::TensorOutOfBounds { .. }
    ));
}

#[test]
fn tensor_placement_is_checked() {
    // Offset past the end.
    let mut v = header(3, 1, 0);
    push_tensor(&mut v, "blk.0.w", &[8], 0, 1 << 20);
    let e = err(&with_data(v, 32));
    assert!(matches!(e, GgufError::TensorOutOfBounds { .. }));
    let msg = e.to_string();
    assert!(
        msg.starts_with("truncated file: tensor `blk.0.w` needs bytes"),
        "{msg}"
    );

    // Offset so large that data_offset + offset overflows.
    let mut v = header(3, 1, 0);
    push_tensor(&mut v, "t", &[8], 0, u64::MAX - 31);
    assert!(matches!(
        err(&with_data(v, 32)),
        GgufError::TensorOutOfBounds { .. }
    ));

    // Misaligned.
    let mut v = header(3, 1, 0);
    push_tensor(&mut v, "t", &[8], 0, 4);
    assert!(matches!(
        err(&with_data(v, 64)),
        GgufError::MisalignedTensor { offset: 4, .. }
    ));

    // Overlapping: the second starts inside the first.
    let mut v = header(3, 2, 0);
    push_tensor(&mut v, "a", &[16], 0, 0); // bytes 0..64
    push_tensor(&mut v, "b", &[8], 0, 32); // bytes 32..64
    assert_eq!(
        err(&with_data(v, 96)),
        GgufError::OverlappingTensors {
            first: "a".into(),
            second: "b".into()
        }
    );

    // Duplicate names.
    let mut v = header(3, 2, 0);
    push_tensor(&mut v, "a", &[8], 0, 0);
    push_tensor(&mut v, "a", &[8], 0, 32);
    assert_eq!(
        err(&with_data(v, 64)),
        GgufError::DuplicateTensor("a".into())
    );
}

#[test]
fn unknown_tensor_types_parse_but_do_not_decode() {
    let mut v = header(3, 2, 1);
    push_kv_u32(&mut v, "llama.block_count", 30);
    push_tensor(&mut v, "future.weight", &[32, 4], 99, 0);
    push_tensor(&mut v, "mx.weight", &[32], 39, 0);
    let bytes = with_data(v, 64);
    let g = Gguf::parse(&bytes).expect("metadata stays readable");
    assert_eq!(g.get_u32("llama.block_count"), Ok(30));
    let future = g.tensor("future.weight").expect("listed");
    assert_eq!(
        (future.ggml_type, future.n_bytes),
        (GgmlType::Unknown(99), 0)
    );
    let e = g
        .tensor_f32(&bytes, "future.weight")
        .expect_err("cannot decode");
    assert!(
        e.to_string()
            .starts_with("unsupported tensor type id 99 for tensor `future.weight`"),
        "{e}"
    );
    assert!(g.tensor_bytes(&bytes, "future.weight").is_err());
    // MXFP4 has a known layout (so its bytes are available) but no decoder here.
    assert_eq!(g.tensor_bytes(&bytes, "mx.weight").map(<[u8]>::len), Ok(17));
    let e = g.tensor_f32(&bytes, "mx.weight").expect_err("no decoder");
    assert!(
        e.to_string()
            .starts_with("unsupported tensor type MXFP4 (id 39) for tensor `mx.weight`"),
        "{e}"
    );
}

#[test]
fn every_strict_prefix_of_a_valid_file_is_an_error() {
    let bytes = tiny();
    assert!(Gguf::parse(&bytes).is_ok());
    for n in 0..bytes.len() {
        assert!(
            Gguf::parse(&bytes[..n]).is_err(),
            "prefix of {n} bytes parsed"
        );
    }
}

#[test]
fn random_corruption_never_panics() {
    let bytes = tiny();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let mut damaged = bytes.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() % damaged.len() as u64) as usize;
            damaged[at] = next() as u8;
        }
        if let Ok(g) = Gguf::parse(&damaged) {
            for t in &g.tensors {
                let _ = g.tensor_f32(&damaged, &t.name);
            }
        }
    }
}

#[test]
fn tensor_bytes_checks_the_buffer_it_is_given() {
    let bytes = tiny();
    let g = Gguf::parse(&bytes).expect("parse");
    let short = &bytes[..bytes.len() - 1];
    assert!(matches!(
        g.tensor_bytes(short, "last.weight"),
        Err(GgufError::TensorOutOfBounds { .. })
    ));
}
