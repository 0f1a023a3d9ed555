//! The tokenizer, built from GGUF metadata so that token ids match llama.cpp's own tokenizer
//! for the same file (checked on 570 strings in `tests/tokenizer_parity.rs`).
//!
//! - [`pre_tokenizer`] maps `tokenizer.ggml.pre` to llama.cpp's sequence of split regexes.
//! - [`byte_level`] is GPT-2's byte ↔ character table (vocab entries are stored mapped).
//! - [`stream`] turns generated ids into text that never splits a UTF-8 character.

mod build;
mod byte_level;
mod pre_tokenizer;
mod stream;

pub use build::{ChatTokenizer, TokenizerError};
pub use stream::StreamDecoder;

#[cfg(test)]
mod tests;
