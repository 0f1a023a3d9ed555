//! Building the tokenizer from the GGUF's `tokenizer.ggml.*` metadata.

use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

use super::byte_level::{byte_to_char_table, char_to_byte_table, chars_to_bytes};
use super::pre_tokenizer;
use super::stream::StreamDecoder;
use crate::gguf::{Gguf, MetadataValue};

/// llama.cpp's token types (`tokenizer.ggml.token_type`).
const TOKEN_TYPE_CONTROL: i64 = 3;
const TOKEN_TYPE_USER_DEFINED: i64 = 4;
/// A vocabulary larger than this is not a real tokenizer (and would be a huge allocation).
const MAX_VOCAB: usize = 1 << 20;

/// Why a tokenizer could not be built from the GGUF, or could not encode/decode.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    /// A required `tokenizer.ggml.*` key is absent (or not of the expected type).
    #[error("the model file has no tokenizer field `{0}`")]
    MissingField(&'static str),
    /// A field is present but unusable.
    #[error("tokenizer field `{field}` is malformed: {reason}")]
    Malformed {
        /// The GGUF key.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `tokenizer.ggml.model` is not byte-level BPE.
    #[error("tokenizer model `{0}` is not supported (only byte-level BPE, `gpt2`)")]
    UnsupportedModel(String),
    /// `tokenizer.ggml.pre` names a pre-tokenizer this engine does not implement.
    #[error(
        "pre-tokenizer `{0}` is not supported (supported: default, smollm, gpt-2, llama-bpe, qwen2 and their llama.cpp aliases)"
    )]
    UnsupportedPreTokenizer(String),
    /// The HF tokenizer failed on the text.
    #[error("tokenization failed: {0}")]
    Encode(String),
    /// A token id past the vocabulary.
    #[error("token id {0} is outside the vocabulary")]
    UnknownId(u32),
}

/// A chat model's tokenizer: byte-level BPE plus its control tokens, tokenizing like
/// llama.cpp does for the same GGUF (special tokens in the text are parsed).
pub struct ChatTokenizer {
    inner: Tokenizer,
    /// The bytes each id stands for; control tokens map to their literal text.
    token_bytes: Vec<Vec<u8>>,
    is_control: Vec<bool>,
    eos_id: u32,
    stop_ids: Vec<u32>,
    bos_id: Option<u32>,
    add_bos: bool,
}

impl std::fmt::Debug for ChatTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTokenizer")
            .field("vocab", &self.token_bytes.len())
            .field("eos_id", &self.eos_id)
            .finish()
    }
}

impl ChatTokenizer {
    /// Builds the tokenizer from `tokenizer.ggml.{model, pre, tokens, merges, token_type,
    /// eos_token_id, bos_token_id, add_bos_token}`.
    pub fn from_gguf(gguf: &Gguf) -> Result<ChatTokenizer, TokenizerError> {
        let model = get_str(gguf, "tokenizer.ggml.model")?;
        if model != "gpt2" {
            return Err(TokenizerError::UnsupportedModel(model.to_owned()));
        }
        let pre = get_str(gguf, "tokenizer.ggml.pre").unwrap_or("default");
        let spec = pre_tokenizer::spec_for(pre)
            .ok_or_else(|| TokenizerError::UnsupportedPreTokenizer(pre.to_owned()))?;
        let tokens = string_array(gguf, "tokenizer.ggml.tokens")?;
        if tokens.is_empty() || tokens.len() > MAX_VOCAB {
            return Err(TokenizerError::Malformed {
                field: "tokenizer.ggml.tokens",
                reason: format!("{} entries", tokens.len()),
            });
        }
        let merges = string_array(gguf, "tokenizer.ggml.merges")?;
        let types = match gguf.get_array("tokenizer.ggml.token_type") {
            Ok(values) => values
                .iter()
                .map(int_value)
                .collect::<Option<Vec<i64>>>()
                .ok_or(TokenizerError::Malformed {
                    field: "tokenizer.ggml.token_type",
                    reason: "not a list of integers".into(),
                })?,
            Err(_) => vec![1; tokens.len()],
        };
        if types.len() != tokens.len() {
            return Err(TokenizerError::Malformed {
                field: "tokenizer.ggml.token_type",
                reason: format!("{} types for {} tokens", types.len(), tokens.len()),
            });
        }

        let vocab: Vocab = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let mut merge_pairs = Vec::with_capacity(merges.len());
        for m in &merges {
            let (a, b) = m.split_once(' ').ok_or_else(|| TokenizerError::Malformed {
                field: "tokenizer.ggml.merges",
                reason: format!("merge {m:?} is not two tokens separated by a space"),
            })?;
            // The merged token must be in the vocabulary. tokenizers checks that too, but only
            // after copying `a` and `b` into a buffer as long as the longest token, so a merge of
            // two long tokens panics there instead (found by fuzzing).
            if !vocab.contains_key(&format!("{a}{b}")) {
                return Err(TokenizerError::Malformed {
                    field: "tokenizer.ggml.merges",
                    reason: format!("merge {m:?} makes a token that is not in the vocabulary"),
                });
            }
            merge_pairs.push((a.to_owned(), b.to_owned()));
        }
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merge_pairs)
            .ignore_merges(spec.ignore_merges)
            .build()
            .map_err(|e| TokenizerError::Malformed {
                field: "tokenizer.ggml.merges",
                reason: e.to_string(),
            })?;
        let mut inner = Tokenizer::new(bpe);
        let pre_tokenizer =
            pre_tokenizer::build(&spec).map_err(|reason| TokenizerError::Malformed {
                field: "tokenizer.ggml.pre",
                reason,
            })?;
        inner.with_pre_tokenizer(Some(pre_tokenizer));
        // So that `inner().decode` gives text, not GPT-2's byte characters.
        inner.with_decoder(Some(ByteLevel::default()));

        // Control tokens are matched in text as whole units (llama.cpp's `parse_special`);
        // user-defined tokens too, but they are ordinary text when decoded.
        let special: Vec<AddedToken> = tokens
            .iter()
            .zip(&types)
            .filter(|(_, t)| **t == TOKEN_TYPE_CONTROL || **t == TOKEN_TYPE_USER_DEFINED)
            .map(|(text, t)| {
                AddedToken::from(text.clone(), *t == TOKEN_TYPE_CONTROL).normalized(false)
            })
            .collect();
        inner
            .add_special_tokens(special)
            .map_err(|e| TokenizerError::Malformed {
                field: "tokenizer.ggml.token_type",
                reason: e.to_string(),
            })?;

        let inverse = char_to_byte_table(&byte_to_char_table());
        let is_control: Vec<bool> = types.iter().map(|t| *t == TOKEN_TYPE_CONTROL).collect();
        let token_bytes: Vec<Vec<u8>> = tokens
            .iter()
            .zip(&types)
            .map(|(text, t)| {
                if *t == TOKEN_TYPE_CONTROL || *t == TOKEN_TYPE_USER_DEFINED {
                    text.as_bytes().to_vec()
                } else {
                    chars_to_bytes(text, &inverse).unwrap_or_else(|| text.as_bytes().to_vec())
                }
            })
            .collect();

        let vocab_size = tokens.len() as u32;
        let id_field = |key: &'static str| -> Result<Option<u32>, TokenizerError> {
            match gguf.get_u32(key) {
                Ok(id) if id < vocab_size => Ok(Some(id)),
                Ok(id) => Err(TokenizerError::Malformed {
                    field: key,
                    reason: format!("id {id} ≥ vocabulary size"),
                }),
                Err(_) => Ok(None),
            }
        };
        let eos_id = id_field("tokenizer.ggml.eos_token_id")?
            .ok_or(TokenizerError::MissingField("tokenizer.ggml.eos_token_id"))?;
        let bos_id = id_field("tokenizer.ggml.bos_token_id")?;
        // The file's flag wins; without one, llama.cpp's default for the family.
        let add_bos = match gguf.metadata.get("tokenizer.ggml.add_bos_token") {
            Some(MetadataValue::Bool(flag)) => *flag,
            _ => spec.add_bos_default,
        };
        let mut stop_ids = vec![eos_id];
        if let Some(eot) = id_field("tokenizer.ggml.eot_token_id")? {
            stop_ids.push(eot);
        }
        for name in ["<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>"] {
            if let Some(id) = tokens.iter().position(|t| t == name)
                && is_control[id]
                && !stop_ids.contains(&(id as u32))
            {
                stop_ids.push(id as u32);
            }
        }
        Ok(ChatTokenizer {
            inner,
            token_bytes,
            is_control,
            eos_id,
            stop_ids,
            bos_id,
            add_bos,
        })
    }

    /// Token ids of `text`; control tokens written in the text become their ids. A BOS token is
    /// prepended only if the model asks for one (`tokenizer.ggml.add_bos_token`).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        let encoding = self
            .inner
            .encode_fast(text, false)
            .map_err(|e| TokenizerError::Encode(e.to_string()))?;
        let mut ids = Vec::with_capacity(encoding.len() + 1);
        if self.add_bos
            && let Some(bos) = self.bos_id
        {
            ids.push(bos);
        }
        ids.extend_from_slice(encoding.get_ids());
        Ok(ids)
    }

    /// Text of `ids`, without control tokens; invalid UTF-8 becomes U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        let mut bytes = Vec::new();
        for &id in ids {
            if !self.is_control(id) {
                bytes.extend_from_slice(self.token_bytes(id).ok_or(TokenizerError::UnknownId(id))?);
            }
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The bytes one token stands for (control tokens: their literal text).
    pub fn token_bytes(&self, id: u32) -> Option<&[u8]> {
        self.token_bytes.get(id as usize).map(Vec::as_slice)
    }

    /// The token's text for display (lossy for tokens that are part of a UTF-8 character).
    pub fn token_text(&self, id: u32) -> Option<String> {
        self.token_bytes(id)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// Whether `id` is a control token (token type 3: `<|im_start|>`, `<|endoftext|>` …).
    pub fn is_control(&self, id: u32) -> bool {
        self.is_control.get(id as usize).copied().unwrap_or(false)
    }

    /// `tokenizer.ggml.eos_token_id`.
    pub fn eos_id(&self) -> u32 {
        self.eos_id
    }

    /// Tokens that end an answer: EOS, EOT and the chat template's end-of-turn markers.
    pub fn stop_ids(&self) -> Vec<u32> {
        self.stop_ids.clone()
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.token_bytes.len()
    }

    /// A decoder for generated ids that emits only complete UTF-8 text.
    pub fn stream_decoder(&self) -> StreamDecoder<'_> {
        StreamDecoder::new(self)
    }

    /// The underlying HF tokenizer (its decoder is byte-level; control tokens are added
    /// special tokens).
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }
}

fn get_str<'a>(gguf: &'a Gguf, key: &'static str) -> Result<&'a str, TokenizerError> {
    gguf.get_str(key)
        .map_err(|_| TokenizerError::MissingField(key))
}

fn string_array(gguf: &Gguf, key: &'static str) -> Result<Vec<String>, TokenizerError> {
    let values = gguf
        .get_array(key)
        .map_err(|_| TokenizerError::MissingField(key))?;
    values
        .iter()
        .map(|v| match v {
            MetadataValue::String(s) => Ok(s.clone()),
            _ => Err(TokenizerError::Malformed {
                field: key,
                reason: "not a list of strings".into(),
            }),
        })
        .collect()
}

fn int_value(v: &MetadataValue) -> Option<i64> {
    Some(match v {
        MetadataValue::I32(x) => i64::from(*x),
        MetadataValue::U32(x) => i64::from(*x),
        MetadataValue::I8(x) => i64::from(*x),
        MetadataValue::U8(x) => i64::from(*x),
        MetadataValue::I16(x) => i64::from(*x),
        MetadataValue::U16(x) => i64::from(*x),
        MetadataValue::I64(x) => *x,
        _ => return None,
    })
}
