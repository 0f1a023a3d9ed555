//! The GGUF reader on the real SmolLM2-135M-Instruct Q4_1 file (the facts of docs/design.md §2),
//! and its decoders against the reference `gguf` Python package on random blocks
//! (`tests/fixtures/dequant_gguf_py.json`, written by `dequant_gguf_py.py` beside it).

mod common;

use std::collections::BTreeMap;

use engine::gguf::{GgmlType, Gguf, GgufError, dequantize};

fn parsed() -> (&'static [u8], Gguf) {
    let bytes = common::shared_model_bytes();
    (bytes, Gguf::parse(bytes).expect("the real model parses"))
}

#[test]
fn real_model_header_has_the_documented_shape() {
    let (bytes, g) = parsed();
    assert_eq!(bytes.len(), 98_362_432, "file size (docs/design.md §2)");
    assert_eq!((g.version, g.alignment), (3, 32));
    assert_eq!(g.data_offset % 32, 0);
    assert_eq!(g.architecture(), Ok("llama"));
    let u32_of = |key: &str| g.get_u32(key).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(u32_of("llama.block_count"), 30);
    assert_eq!(u32_of("llama.embedding_length"), 576);
    assert_eq!(u32_of("llama.feed_forward_length"), 1536);
    assert_eq!(u32_of("llama.attention.head_count"), 9);
    assert_eq!(u32_of("llama.attention.head_count_kv"), 3);
    assert_eq!(u32_of("llama.context_length"), 8192);
    assert_eq!(u32_of("llama.vocab_size"), 49152);
    assert_eq!(g.get_f32("llama.rope.freq_base"), Ok(100_000.0));
    assert_eq!(
        g.get_f32("llama.attention.layer_norm_rms_epsilon"),
        Ok(1e-5)
    );

    // Tensors: 30 blocks × 9, token_embd, output_norm; tied embeddings (no output.weight).
    assert_eq!(g.tensors.len(), 272);
    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    for t in &g.tensors {
        *by_type.entry(t.ggml_type.to_string()).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = [("Q4_1", 210), ("F32", 61), ("Q8_0", 1)]
        .map(|(k, v)| (k.to_owned(), v))
        .into();
    assert_eq!(by_type, expected);
    let embd = g.tensor("token_embd.weight").expect("token_embd");
    assert_eq!(
        (embd.ggml_type, embd.dims.clone()),
        (GgmlType::Q8_0, vec![576, 49152])
    );
    assert!(matches!(
        g.tensor("output.weight"),
        Err(GgufError::MissingTensor(_))
    ));
    for block in 0..30 {
        for (name, dims, ty) in [
            ("attn_norm.weight", vec![576], GgmlType::F32),
            ("ffn_norm.weight", vec![576], GgmlType::F32),
            ("attn_q.weight", vec![576, 576], GgmlType::Q4_1),
            ("attn_k.weight", vec![576, 192], GgmlType::Q4_1),
            ("attn_v.weight", vec![576, 192], GgmlType::Q4_1),
            ("attn_output.weight", vec![576, 576], GgmlType::Q4_1),
            ("ffn_gate.weight", vec![576, 1536], GgmlType::Q4_1),
            ("ffn_up.weight", vec![576, 1536], GgmlType::Q4_1),
            ("ffn_down.weight", vec![1536, 576], GgmlType::Q4_1),
        ] {
            let full = format!("blk.{block}.{name}");
            let t = g.tensor(&full).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!((&t.dims, t.ggml_type), (&dims, ty), "{full}");
        }
    }
    // The data section is packed: the last tensor ends at the end of the file.
    let end = g.tensors.iter().map(|t| t.offset + t.n_bytes).max();
    assert_eq!(end, Some(bytes.len() as u64));
}

#[test]
fn real_model_tokenizer_metadata_has_the_documented_shape() {
    let (_, g) = parsed();
    assert_eq!(g.get_str("tokenizer.ggml.model"), Ok("gpt2"));
    assert_eq!(g.get_str("tokenizer.ggml.pre"), Ok("smollm"));
    let tokens = g.get_str_array("tokenizer.ggml.tokens").expect("tokens");
    assert_eq!(tokens.len(), 49152);
    assert_eq!(
        &tokens[..3],
        &["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    );
    assert_eq!(
        g.get_str_array("tokenizer.ggml.merges").map(|m| m.len()),
        Ok(48900)
    );
    let types = g.get_i32_array("tokenizer.ggml.token_type").expect("types");
    let control: Vec<usize> = (0..types.len()).filter(|&i| types[i] == 3).collect();
    assert_eq!(
        control,
        (0..17).collect::<Vec<_>>(),
        "control tokens are ids 0–16"
    );
    assert_eq!(g.get_u32("tokenizer.ggml.eos_token_id"), Ok(2));
    assert_eq!(g.get_u32("tokenizer.ggml.bos_token_id"), Ok(1));
    assert_eq!(g.get_bool("tokenizer.ggml.add_bos_token"), Ok(false));
    let template = g.get_str("tokenizer.chat_template").expect("template");
    assert!(template.contains("<|im_start|>"));
    assert!(template.contains("You are a helpful AI assistant named SmolLM"));
}

#[test]
fn every_real_tensor_decodes_to_finite_values() {
    let (bytes, g) = parsed();
    let mut total = 0usize;
    for t in &g.tensors {
        let values = g
            .tensor_f32(bytes, &t.name)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(values.len() as u64, t.n_elements(), "{}", t.name);
        assert!(
            values.iter().all(|v| v.is_finite() && v.abs() < 100.0),
            "{}: a value is not finite or implausibly large",
            t.name
        );
        total += values.len();
    }
    assert_eq!(total, 134_515_008);
    // RMSNorm gains sit around 1–2, never all zero.
    let norm = g.tensor_f32(bytes, "output_norm.weight").expect("norm");
    let mean = norm.iter().sum::<f32>() / norm.len() as f32;
    assert!((0.5..4.0).contains(&mean), "output_norm mean {mean}");
}

#[test]
fn a_truncated_download_of_the_real_model_names_the_missing_tensor() {
    let (bytes, g) = parsed();
    let short = &bytes[..bytes.len() - 1000];
    let e = Gguf::parse(short).expect_err("truncated");
    let msg = e.to_string();
    assert!(msg.starts_with("truncated file: tensor `"), "{msg}");
    assert!(
        msg.ends_with(&format!("but the file has {} bytes", short.len())),
        "{msg}"
    );
    // Cut inside the metadata (the vocabulary arrays) too.
    let header = usize::try_from(g.data_offset).expect("offset") / 2;
    let e = Gguf::parse(&bytes[..header]).expect_err("truncated header");
    assert!(
        matches!(
            e,
            GgufError::Truncated { .. } | GgufError::CountTooLarge { .. }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("truncated"), "{e}");
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn decoders_match_the_gguf_python_reference_bit_for_bit() {
    let path = common::fixture_path("dequant_gguf_py.json");
    let text = std::fs::read_to_string(&path).expect("dequant fixture");
    let fixture: serde_json::Value = serde_json::from_str(&text).expect("json");
    let cases = fixture["cases"].as_array().expect("cases");
    let mut seen = Vec::new();
    for case in cases {
        let name = case["type"].as_str().expect("type");
        let t = GgmlType::dequantizable()
            .find(|t| t.name() == name)
            .unwrap_or_else(|| panic!("type {name}"));
        let data = hex(case["hex"].as_str().expect("hex"));
        let expected: Vec<f32> = case["values"]
            .as_array()
            .expect("values")
            .iter()
            .map(|v| v.as_f64().expect("number") as f32)
            .collect();
        let ours = dequantize(t, &data, expected.len()).unwrap_or_else(|e| panic!("{e}"));
        for (i, (a, b)) in ours.iter().zip(&expected).enumerate() {
            assert!(
                a.to_bits() == b.to_bits(),
                "{name}[{i}]: ours {a}, gguf-py {b}"
            );
        }
        seen.push(name);
    }
    assert_eq!(
        seen,
        [
            "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"
        ]
    );
}
