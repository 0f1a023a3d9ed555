//! What the page knows: the engine's state, the conversation and the settings.

use crate::worker::protocol::{Backend, Precision, WireGenerationSettings};

/// The inference worker and model, as the page sees them.
#[derive(Clone, Debug, PartialEq)]
pub enum EngineStatus {
    /// The worker's wasm module is loading.
    Starting,
    /// Ready to load a model.
    Idle,
    Downloading {
        loaded: f64,
        total: Option<f64>,
    },
    Preparing(String),
    Ready {
        backend: Backend,
        precision: Precision,
        device: String,
        resident_bytes: f64,
    },
    /// The model could not be loaded; the message says what to try.
    Failed(String),
}

impl EngineStatus {
    pub fn state_name(&self) -> &'static str {
        match self {
            EngineStatus::Starting => "starting",
            EngineStatus::Idle => "idle",
            EngineStatus::Downloading { .. } => "downloading",
            EngineStatus::Preparing(_) => "preparing",
            EngineStatus::Ready { .. } => "ready",
            EngineStatus::Failed(_) => "failed",
        }
    }

    pub fn is_ready(&self) -> bool {
        matches!(self, EngineStatus::Ready { .. })
    }

    pub fn can_load(&self) -> bool {
        matches!(
            self,
            EngineStatus::Idle | EngineStatus::Failed(_) | EngineStatus::Ready { .. }
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message in a column.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatEntry {
    pub id: u64,
    pub role: Role,
    pub content: String,
    /// Still being written by the model.
    pub streaming: bool,
    /// A short line under an answer: why it stopped, tokens, speed.
    pub meta: Option<String>,
    /// Set when the answer failed.
    pub error: Option<String>,
}

/// Defaults: SmolLM2-135M loops under greedy decoding, so the page samples with a frequency
/// penalty (Neuronpedia's demo uses T = 0.5, penalty 1.0, seed 16).
pub fn default_settings() -> WireGenerationSettings {
    WireGenerationSettings {
        temperature: 0.5,
        top_p: 0.95,
        frequency_penalty: 1.0,
        seed: 16,
        max_new_tokens: 128,
    }
}
