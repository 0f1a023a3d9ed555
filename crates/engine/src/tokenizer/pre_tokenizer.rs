//! Pre-tokenization as llama.cpp does it for each `tokenizer.ggml.pre` value: a sequence of
//! regexes, each applied to every piece the previous one produced (llama.cpp `llama-vocab.cpp`).
//! Expressed as HF `Split` pre-tokenizers in a `Sequence`, followed by a byte-level mapping
//! without its own regex.

use tokenizers::SplitDelimiterBehavior;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};

/// GPT-2's split regex.
const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
/// Llama 3's split regex (digits in groups of up to three).
const LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen2's: like Llama 3 but single digits.
const QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The regex sequence for a `tokenizer.ggml.pre` name, or `None` if we do not know it.
pub fn regexes_for(pre: &str) -> Option<Vec<&'static str>> {
    Some(match pre {
        // SmolLM: every digit on its own, then GPT-2.
        "smollm" => vec![r"\p{N}", GPT2],
        "gpt2" | "default" => vec![GPT2],
        "llama3" | "llama-v3" | "llama-bpe" => vec![LLAMA3],
        "qwen2" => vec![QWEN2],
        _ => return None,
    })
}

pub fn build(pre: &str) -> Result<Option<PreTokenizerWrapper>, String> {
    let Some(regexes) = regexes_for(pre) else {
        return Ok(None);
    };
    let mut steps: Vec<PreTokenizerWrapper> = Vec::with_capacity(regexes.len() + 1);
    for regex in regexes {
        let split = Split::new(
            SplitPattern::Regex(regex.to_owned()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|e| format!("pre-tokenizer regex failed to compile: {e}"))?;
        steps.push(split.into());
    }
    // Bytes → GPT-2 characters; the splitting is already done above.
    steps.push(ByteLevel::new(false, false, false).into());
    Ok(Some(PreTokenizerWrapper::Sequence(Sequence::new(steps))))
}
