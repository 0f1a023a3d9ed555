//! Token ids from the GGUF-built tokenizer equal llama.cpp's own tokenizer for the same file
//! (fixture: tools/reference/gen_tokenizer.py, llama-cpp-python vocab-only, special tokens parsed).

use std::path::PathBuf;

use engine::gguf::Gguf;
use engine::tokenizer::ChatTokenizer;

fn model_bytes() -> Vec<u8> {
    let path = std::env::var("AXIS_MODEL_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../public/models/SmolLM2-135M-Instruct.Q4_1.gguf")
        });
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask fetch-model`", path.display()))
}

fn tokenizer() -> ChatTokenizer {
    let bytes = model_bytes();
    let gguf = Gguf::parse(&bytes).expect("parse GGUF");
    ChatTokenizer::from_gguf(&gguf).expect("tokenizer")
}

#[test]
fn token_ids_match_llama_cpp_on_every_fixture_string() {
    let tok = tokenizer();
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tokenizer_llamacpp.jsonl");
    let text = std::fs::read_to_string(path).expect("fixture");
    let mut total = 0;
    let mut mismatches = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: serde_json::Value = serde_json::from_str(line).expect("fixture line");
        let input = case["text"].as_str().expect("text");
        let expected: Vec<u32> = case["ids"]
            .as_array()
            .expect("ids")
            .iter()
            .map(|v| v.as_u64().expect("id") as u32)
            .collect();
        let ours = tok.encode(input).expect("encode");
        total += 1;
        if ours != expected {
            let pieces = |ids: &[u32]| {
                ids.iter()
                    .map(|&i| tok.token_text(i).unwrap_or_default())
                    .collect::<Vec<_>>()
            };
            mismatches.push(format!(
                "{input:?}\n  ours:     {ours:?} {:?}\n  llama.cpp: {expected:?} {:?}",
                pieces(&ours),
                pieces(&expected)
            ));
        }
    }
    assert!(total >= 300, "only {total} fixture strings");
    assert!(
        mismatches.is_empty(),
        "{} of {total} strings differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn decoding_round_trips_and_streams_whole_characters() {
    let tok = tokenizer();
    for text in [
        "Hello, world!",
        "naïve café — 東京 🙂👩‍👩‍👧",
        "  spaces\tand\nnewlines  ",
        "1234567890",
    ] {
        let ids = tok.encode(text).expect("encode");
        assert_eq!(tok.decode(&ids).expect("decode"), text);
        let mut stream = tok.stream_decoder();
        let mut streamed = String::new();
        for &id in &ids {
            let piece = stream.push(id);
            assert!(
                !piece.contains('\u{FFFD}'),
                "a character was split: {piece:?}"
            );
            streamed.push_str(&piece);
        }
        streamed.push_str(&stream.finish());
        assert_eq!(streamed, text);
    }
}

#[test]
fn control_tokens_in_text_become_their_ids_and_stop_ids_include_im_end() {
    let tok = tokenizer();
    let ids = tok
        .encode("<|im_start|>user\nhi<|im_end|>")
        .expect("encode");
    assert_eq!(ids.first(), Some(&1));
    assert_eq!(ids.last(), Some(&2));
    assert_eq!(tok.eos_id(), 2);
    assert!(tok.stop_ids().contains(&2));
    assert_eq!(tok.vocab_size(), 49152);
    // Control tokens are not text.
    assert_eq!(tok.decode(&ids).expect("decode"), "user\nhi");
}
