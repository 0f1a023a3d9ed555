//! The GGUF's chat template rendered by minijinja equals HF transformers'
//! `apply_chat_template` (fixture `chat_template_hf.jsonl`:
//! `tools/reference/gen_chat_template.py`).

mod common;

use engine::chat_template::{ChatMessage, ChatTemplate};
use engine::gguf::Gguf;

#[test]
fn renders_exactly_like_hf_transformers() {
    let gguf = Gguf::parse(common::shared_model_bytes()).expect("parse");
    let template = ChatTemplate::from_gguf(&gguf).expect("template");
    let cases = common::jsonl_fixture("chat_template_hf.jsonl");
    for case in &cases {
        let messages: Vec<ChatMessage> =
            serde_json::from_value(case["messages"].clone()).expect("messages");
        let add = case["add_generation_prompt"]
            .as_bool()
            .expect("add_generation_prompt");
        let expected = case["rendered"].as_str().expect("rendered");
        let ours = template.render(&messages, add).expect("render");
        assert_eq!(ours, expected, "case {}", case["name"]);
    }
    assert!(cases.len() >= 12, "only {} cases", cases.len());
}

#[test]
fn the_default_system_prompt_appears_when_there_is_none() {
    let gguf = Gguf::parse(common::shared_model_bytes()).expect("parse");
    let template = ChatTemplate::from_gguf(&gguf).expect("template");
    let text = template
        .render(&[ChatMessage::user("What is the capital of France?")], true)
        .expect("render");
    assert_eq!(
        text,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    );
}
