//! Token ids from the GGUF-built tokenizer equal llama.cpp's own tokenizer for the same file
//! (fixture `tokenizer_llamacpp.jsonl`: `tools/reference/gen_tokenizer.py`, llama-cpp-python
//! vocab-only, special tokens parsed, no BOS).

mod common;

use engine::gguf::Gguf;
use engine::tokenizer::ChatTokenizer;

/// Mismatches printed in full before the rest are only counted.
const SHOWN: usize = 20;

fn tokenizer() -> ChatTokenizer {
    let gguf = Gguf::parse(common::shared_model_bytes()).expect("parse GGUF");
    ChatTokenizer::from_gguf(&gguf).expect("tokenizer")
}

fn ids(value: &serde_json::Value, field: &str) -> Vec<u32> {
    value[field]
        .as_array()
        .unwrap_or_else(|| panic!("fixture field {field}"))
        .iter()
        .map(|v| {
            v.as_u64()
                .and_then(|id| u32::try_from(id).ok())
                .expect("id")
        })
        .collect()
}

#[test]
fn token_ids_match_llama_cpp_on_every_fixture_string() {
    let tok = tokenizer();
    let cases = common::jsonl_fixture("tokenizer_llamacpp.jsonl");
    let pieces = |ids: &[u32]| -> Vec<String> {
        ids.iter()
            .map(|&i| tok.token_text(i).unwrap_or_else(|| format!("<{i}?>")))
            .collect()
    };
    let mut mismatches = Vec::new();
    for case in &cases {
        let text = case["text"].as_str().expect("text");
        let expected = ids(case, "ids");
        let ours = tok.encode(text).expect("encode");
        if ours != expected {
            mismatches.push(format!(
                "{text:?}\n  ours:      {ours:?} {:?}\n  llama.cpp: {expected:?} {:?}",
                pieces(&ours),
                pieces(&expected)
            ));
        }
    }
    assert!(cases.len() >= 300, "only {} fixture strings", cases.len());
    assert!(
        mismatches.is_empty(),
        "{} of {} strings differ; the first {}:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.len().min(SHOWN),
        mismatches[..mismatches.len().min(SHOWN)].join("\n")
    );
}

#[test]
fn decoding_round_trips_every_fixture_string_and_streams_whole_characters() {
    let tok = tokenizer();
    let control: Vec<String> = (0..tok.vocab_size() as u32)
        .filter(|&id| tok.is_control(id))
        .filter_map(|id| tok.token_text(id))
        .collect();
    for case in common::jsonl_fixture("tokenizer_llamacpp.jsonl") {
        let text = case["text"].as_str().expect("text");
        let ids = tok.encode(text).expect("encode");
        // Control tokens are not text: decoding drops them.
        let expected = control
            .iter()
            .fold(text.to_owned(), |t, c| t.replace(c.as_str(), ""));
        let decoded = tok.decode(&ids).expect("decode");
        assert_eq!(decoded, expected, "{text:?}");
        let mut stream = tok.stream_decoder();
        let mut streamed = String::new();
        for &id in &ids {
            let piece = stream.push(id);
            assert!(
                text.contains('\u{FFFD}') || !piece.contains('\u{FFFD}'),
                "{text:?}: a character was split"
            );
            streamed.push_str(&piece);
        }
        streamed.push_str(&stream.finish());
        assert_eq!(streamed, expected, "streamed {text:?}");
    }
}

#[test]
fn known_strings_tokenize_as_worked_out_by_hand() {
    let tok = tokenizer();
    // docs/design.md §2: ChatML control tokens; SmolLM splits digits one by one.
    let ids = tok
        .encode("<|im_start|>user\nhi<|im_end|>")
        .expect("encode");
    assert_eq!((ids.first(), ids.last()), (Some(&1), Some(&2)));
    assert_eq!(tok.decode(&ids).expect("decode"), "user\nhi");
    let digits = tok.encode("2024").expect("encode");
    assert_eq!(digits.len(), 4, "{digits:?}");
    assert_eq!(tok.decode(&digits).expect("decode"), "2024");
    // The HF reference answer (docs/design.md §2) decodes to the expected text.
    assert_eq!(
        tok.decode(&[504, 3575, 282, 4649, 314, 7042, 30, 2])
            .expect("decode"),
        "The capital of France is Paris."
    );
    assert_eq!(tok.eos_id(), 2);
    let stops = tok.stop_ids();
    assert!(stops.contains(&2) && stops.contains(&0), "{stops:?}");
    assert_eq!(tok.vocab_size(), 49152);
    // No BOS: add_bos_token is false in this file.
    assert_eq!(tok.encode("Hello").expect("encode"), vec![19556]);
}
