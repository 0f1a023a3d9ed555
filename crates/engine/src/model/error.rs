//! The one error type of the model layer.
//!
//! Everything a caller can get wrong (a GGUF of another architecture, a token id past the
//! vocabulary, a probe direction of the wrong width, a batch whose rows disagree) comes back as
//! a [`ModelError`] instead of a panic: the page shows the message, the lab logs it.

use crate::gguf::GgufError;

/// Why loading or running the model failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The GGUF reader failed (bad file, missing tensor, unsupported tensor type).
    #[error("GGUF: {0}")]
    Gguf(#[from] GgufError),
    /// `general.architecture` names a family this engine does not implement.
    #[error("unsupported architecture `{0}` (supported: llama, qwen2)")]
    UnsupportedArchitecture(String),
    /// A metadata key the architecture needs is absent or has the wrong type.
    #[error("metadata key `{key}`: {reason}")]
    Metadata {
        /// The GGUF key.
        key: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The hyper-parameters are inconsistent (e.g. heads that do not divide the width).
    #[error("invalid model configuration: {0}")]
    InvalidConfig(String),
    /// A weight tensor's shape disagrees with the configuration.
    #[error("tensor `{name}` has dims {got:?} (ggml order), expected {expected:?}")]
    TensorShape {
        /// Tensor name in the GGUF.
        name: String,
        /// Dims found in the file.
        got: Vec<u64>,
        /// Dims the configuration implies.
        expected: Vec<u64>,
    },
    /// A token id is outside the vocabulary.
    #[error("token id {id} is outside the vocabulary (size {vocab})")]
    TokenOutOfRange {
        /// The offending id.
        id: u32,
        /// Vocabulary size.
        vocab: usize,
    },
    /// The batch does not fit the cache or is malformed (empty rows, wrong batch size, …).
    #[error("invalid batch: {0}")]
    InvalidBatch(String),
    /// The sequence would run past the model's context length.
    #[error("context overflow: {needed} positions needed, the model allows {limit}")]
    ContextOverflow {
        /// Positions the longest sequence would use.
        needed: usize,
        /// `context_length` from the GGUF.
        limit: usize,
    },
    /// A probe, cap or steer is malformed (layer out of range, wrong width, non-finite values).
    #[error("invalid intervention: {0}")]
    InvalidIntervention(String),
    /// Reading results back from the device failed.
    #[error("device readback failed: {0}")]
    Readback(String),
}
