//! The tokenizer built from a tiny hand-made GGUF vocabulary: merges, control tokens,
//! pre-tokenizer families, BOS handling, streaming, and typed errors for missing fields.

use super::*;
use crate::gguf::{Gguf, GgufWriter, MetadataValue};

/// Tokens and merges that spell "hello" and " world", digits, and "é" as two byte tokens.
const TOKENS: [&str; 26] = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "h",
    "e",
    "l",
    "o",
    "Ġ",
    "w",
    "r",
    "d",
    "he",
    "ll",
    "hell",
    "hello",
    "Ġw",
    "or",
    "Ġwor",
    "Ġworl",
    "Ġworld",
    "1",
    "2",
    "12",
    "Ċ",
    "Ã", // byte 0xC3
    "©", // byte 0xA9
];
const MERGES: [&str; 10] = [
    "h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "Ġwor l", "Ġworl d", "1 2",
];

fn writer(pre: &str, merges: &[&str]) -> GgufWriter {
    let types: Vec<i32> = (0..TOKENS.len())
        .map(|i| if i < 3 { 3 } else { 1 })
        .collect();
    let mut w = GgufWriter::new();
    w.add_metadata("tokenizer.ggml.model", "gpt2")
        .add_metadata("tokenizer.ggml.pre", pre)
        .add_metadata("tokenizer.ggml.tokens", TOKENS.to_vec())
        .add_metadata("tokenizer.ggml.merges", merges.to_vec())
        .add_metadata("tokenizer.ggml.token_type", types)
        .add_metadata("tokenizer.ggml.bos_token_id", 1u32)
        .add_metadata("tokenizer.ggml.eos_token_id", 2u32);
    w
}

fn build(w: &GgufWriter) -> Result<ChatTokenizer, TokenizerError> {
    let gguf = Gguf::parse(&w.to_bytes()).expect("parse");
    ChatTokenizer::from_gguf(&gguf)
}

fn smollm() -> ChatTokenizer {
    build(&writer("smollm", &MERGES)).expect("tokenizer")
}

#[test]
fn merges_and_control_tokens_in_text() {
    let tok = smollm();
    let ids = tok
        .encode("<|im_start|>hello world<|im_end|>")
        .expect("encode");
    assert_eq!(ids, vec![1, 14, 19, 2]);
    assert_eq!(tok.decode(&ids).expect("decode"), "hello world");
    assert_eq!(tok.token_text(19).as_deref(), Some(" world"));
    assert_eq!(tok.eos_id(), 2);
    assert_eq!(tok.stop_ids(), vec![2, 0]);
    assert_eq!(tok.vocab_size(), TOKENS.len());
    assert!(tok.is_control(1) && !tok.is_control(14));
    assert!(matches!(
        tok.decode(&[999]),
        Err(TokenizerError::UnknownId(999))
    ));
    // The inner HF tokenizer decodes bytes too (its byte-level decoder is set).
    assert_eq!(
        tok.inner().decode(&[14, 19], true).expect("inner decode"),
        "hello world"
    );
}

#[test]
fn the_pre_tokenizer_family_decides_digit_splitting() {
    // smollm splits every digit; GPT-2 keeps "12" whole.
    assert_eq!(smollm().encode("12").expect("encode"), vec![20, 21]);
    let gpt2 = build(&writer("gpt-2", &MERGES)).expect("gpt-2");
    assert_eq!(gpt2.encode("12").expect("encode"), vec![22]);
}

#[test]
fn llama3_family_takes_whole_vocabulary_words_and_adds_bos_by_default() {
    // Without the last merge, " world" cannot be built by merging …
    let merges: Vec<&str> = MERGES.iter().copied().filter(|m| *m != "Ġworl d").collect();
    let gpt2 = build(&writer("gpt-2", &merges)).expect("gpt-2");
    assert_eq!(gpt2.encode(" world").expect("encode"), vec![18, 10]);
    // … but Llama 3 (ignore_merges) takes a piece that is a vocabulary entry as is, and
    // starts with BOS when the file does not say otherwise.
    let llama3 = build(&writer("llama-bpe", &merges)).expect("llama-bpe");
    assert_eq!(llama3.encode(" world").expect("encode"), vec![1, 19]);
    let mut w = writer("llama-bpe", &merges);
    w.add_metadata("tokenizer.ggml.add_bos_token", false);
    assert_eq!(
        build(&w).expect("no bos").encode(" world").expect("encode"),
        vec![19]
    );
}

#[test]
fn streaming_holds_back_partial_characters() {
    let tok = smollm();
    let ids = tok.encode("é").expect("encode");
    assert_eq!(ids, vec![24, 25]);
    let mut stream = tok.stream_decoder();
    assert_eq!(stream.push(24), "");
    assert_eq!(stream.push(25), "é");
    assert_eq!(stream.push(2), "");
    assert_eq!(stream.push(14), "hello");
    // A dangling lead byte at the end becomes U+FFFD.
    assert_eq!(stream.push(24), "");
    assert_eq!(stream.finish(), "\u{FFFD}");
}

#[test]
fn missing_or_unsupported_fields_are_typed_errors() {
    let drop = |key: &str| {
        let mut w = GgufWriter::new();
        let full = writer("smollm", &MERGES).to_bytes();
        let gguf = Gguf::parse(&full).expect("parse");
        for (k, v) in &gguf.metadata {
            if k != key {
                w.add_metadata(k.clone(), v.clone());
            }
        }
        build(&w)
    };
    assert!(matches!(
        drop("tokenizer.ggml.tokens"),
        Err(TokenizerError::MissingField("tokenizer.ggml.tokens"))
    ));
    assert!(matches!(
        drop("tokenizer.ggml.merges"),
        Err(TokenizerError::MissingField("tokenizer.ggml.merges"))
    ));
    assert!(matches!(
        drop("tokenizer.ggml.eos_token_id"),
        Err(TokenizerError::MissingField("tokenizer.ggml.eos_token_id"))
    ));
    assert!(matches!(
        drop("tokenizer.ggml.model"),
        Err(TokenizerError::MissingField("tokenizer.ggml.model"))
    ));
    // No `pre`: llama.cpp's default regexes.
    assert!(drop("tokenizer.ggml.pre").is_ok());

    assert!(matches!(
        build(&writer("no-such-pre", &MERGES)),
        Err(TokenizerError::UnsupportedPreTokenizer(ref p)) if p == "no-such-pre"
    ));
    let mut w = GgufWriter::new();
    w.add_metadata("tokenizer.ggml.model", "llama");
    let gguf = Gguf::parse(&w.to_bytes()).expect("parse");
    assert!(matches!(
        ChatTokenizer::from_gguf(&gguf),
        Err(TokenizerError::UnsupportedModel(ref m)) if m == "llama"
    ));
    let mut w = writer("smollm", &MERGES);
    w.add_metadata("tokenizer.ggml.eot_token_id", MetadataValue::U32(1_000_000));
    assert!(matches!(build(&w), Err(TokenizerError::Malformed { .. })));
}

#[test]
fn a_merge_whose_result_is_not_a_token_is_malformed_not_a_panic() {
    // "hello" + "Ġworld" is longer than any token: tokenizers' builder used to panic on it.
    for merge in ["hello Ġworld", "h w"] {
        let err = build(&writer("smollm", &[merge])).expect_err(merge);
        assert!(
            matches!(
                err,
                TokenizerError::Malformed {
                    field: "tokenizer.ggml.merges",
                    ..
                }
            ),
            "{merge}: {err}"
        );
    }
}
