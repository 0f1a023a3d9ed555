//! Pre-tokenization as llama.cpp does it for each `tokenizer.ggml.pre` value: a sequence of
//! regexes, each applied to every piece the previous one produced (`llama-vocab.cpp`,
//! `llm_tokenizer_bpe`). Expressed as HF `Split` pre-tokenizers in a `Sequence`, followed by a
//! byte-level mapping without its own regex.
//!
//! Only the families this engine's supported architectures ship with are listed; any other
//! name is an `UnsupportedPreTokenizer` error rather than a silently different tokenization.

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

/// How llama.cpp pre-tokenizes and merges for one `tokenizer.ggml.pre` family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreTokenizerSpec {
    /// Split regexes, applied in order.
    pub regexes: Vec<&'static str>,
    /// A piece that is itself a vocabulary entry becomes that token without merging
    /// (llama.cpp `ignore_merges`; Llama 3).
    pub ignore_merges: bool,
    /// Whether to prepend BOS when the file has no `tokenizer.ggml.add_bos_token`.
    pub add_bos_default: bool,
}

/// The spec for a `tokenizer.ggml.pre` name, or `None` if this engine does not know it.
pub fn spec_for(pre: &str) -> Option<PreTokenizerSpec> {
    let plain = |regexes: Vec<&'static str>| PreTokenizerSpec {
        regexes,
        ignore_merges: false,
        add_bos_default: false,
    };
    Some(match pre {
        // llama.cpp's fallback (also used when the key is missing).
        "default" => plain(vec![
            r"[\p{P}\$\+<=>\^~\|]+",
            GPT2,
            r"\p{N}+",
            "[0-9][0-9][0-9]",
        ]),
        // SmolLM and friends: every digit on its own, then GPT-2.
        "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone" | "minerva-7b" => {
            plain(vec![r"\p{N}", GPT2])
        }
        "gpt-2" | "gpt2" | "phi-2" | "mpt" | "olmo" | "jais" => plain(vec![GPT2]),
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral" | "midm-2.0"
        | "lfm2" => PreTokenizerSpec {
            regexes: vec![LLAMA3],
            ignore_merges: true,
            add_bos_default: true,
        },
        "qwen2" | "deepseek-r1-qwen" | "megrez" | "stablelm2" => plain(vec![QWEN2]),
        _ => return None,
    })
}

/// The HF pre-tokenizer for `spec`: its splits, then bytes → GPT-2 characters.
pub fn build(spec: &PreTokenizerSpec) -> Result<PreTokenizerWrapper, String> {
    let mut steps: Vec<PreTokenizerWrapper> = Vec::with_capacity(spec.regexes.len() + 1);
    for regex in &spec.regexes {
        let split = Split::new(
            SplitPattern::Regex((*regex).to_owned()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|e| format!("pre-tokenizer regex failed to compile: {e}"))?;
        steps.push(split.into());
    }
    // Bytes → GPT-2 characters; the splitting is already done above.
    steps.push(ByteLevel::new(false, false, false).into());
    Ok(PreTokenizerWrapper::Sequence(Sequence::new(steps)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_family_compiles() {
        for pre in ["default", "smollm", "gpt-2", "llama-bpe", "qwen2"] {
            let spec = spec_for(pre).expect("known");
            assert!(build(&spec).is_ok(), "{pre}");
        }
        assert!(spec_for("llama-bpe").is_some_and(|s| s.ignore_merges && s.add_bos_default));
        assert!(spec_for("no-such-pre").is_none());
    }
}
