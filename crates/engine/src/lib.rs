//! The engine: everything between a GGUF file and a scored, possibly capped, generation.
//! It knows nothing about the browser; the web app and the axis lab both drive it.
//!
//! The `model` feature (on by default) adds the transformer and burn; without it only the file
//! formats remain (see `Cargo.toml`), plus `model::LlamaConfig`, which reads and validates a
//! model's hyper-parameters without burn.
pub mod axis;
#[cfg(feature = "model")]
pub mod chat;
pub mod chat_template;
#[cfg(feature = "model")]
pub mod device;
#[doc(hidden)]
pub mod fuzz_entry;
#[cfg(feature = "model")]
pub mod generation;
pub mod gguf;
// Without the `model` feature only the configuration (`LlamaConfig`, `ModelError`) is built.
pub mod model;
pub mod speaker;
pub mod tokenizer;
