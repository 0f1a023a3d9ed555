//! What the page knows about the engine, and the default generation settings.

use engine::generation::LogitsComparison;

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
        /// Loaded from this browser's cache rather than downloaded.
        from_cache: bool,
        /// On WebGPU: its logits against a CPU copy's, checked at load.
        webgpu_check: Option<LogitsComparison>,
    },
    /// The model could not be loaded; the message says what to try.
    Failed(String),
}

/// The in-browser axis build (`worker::quick_axis`), as the page sees it.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum AxisBuild {
    #[default]
    Idle,
    /// `answers_total` is 0 until the worker's first report.
    Running {
        answers_done: usize,
        answers_total: usize,
        tokens: usize,
        seconds: f64,
    },
    /// Finished and in use; `bytes` is the axis file, for the download button.
    Built {
        file_name: String,
        bytes: std::sync::Arc<Vec<u8>>,
        answers: usize,
        tokens: usize,
        seconds: f64,
    },
    Failed(String),
    Cancelled,
}

impl AxisBuild {
    pub fn is_running(&self) -> bool {
        matches!(self, AxisBuild::Running { .. })
    }
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

/// Defaults: SmolLM2-135M loops under greedy decoding, so the page samples with a frequency
/// penalty (Neuronpedia's demo uses T = 0.5, penalty 1.0, seed 16).
pub fn default_settings() -> WireGenerationSettings {
    WireGenerationSettings {
        temperature: 0.5,
        top_p: 0.95,
        frequency_penalty: 1.0,
        echo_penalty: engine::generation::DEFAULT_ECHO_PENALTY,
        seed: 16,
        max_new_tokens: 128,
    }
}
