//! The GGUF's chat template rendered by minijinja equals HF transformers' `apply_chat_template`
//! (fixture: tools/reference/gen_chat_template.py).

use std::path::PathBuf;

use engine::chat_template::{ChatMessage, ChatTemplate};
use engine::gguf::Gguf;

#[test]
fn renders_exactly_like_hf_transformers() {
    let path = std::env::var("AXIS_MODEL_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../public/models/SmolLM2-135M-Instruct.Q4_1.gguf")
        });
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask fetch-model`", path.display()));
    let template = ChatTemplate::from_gguf(&Gguf::parse(&bytes).expect("parse")).expect("template");
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chat_template_hf.jsonl");
    let mut n = 0;
    for line in std::fs::read_to_string(fixture)
        .expect("fixture")
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let case: serde_json::Value = serde_json::from_str(line).expect("line");
        let messages: Vec<ChatMessage> =
            serde_json::from_value(case["messages"].clone()).expect("messages");
        let add = case["add_generation_prompt"].as_bool().expect("flag");
        let expected = case["rendered"].as_str().expect("rendered");
        let ours = template.render(&messages, add).expect("render");
        assert_eq!(ours, expected, "case {}", case["name"]);
        n += 1;
    }
    assert!(n >= 12, "only {n} cases");
}
