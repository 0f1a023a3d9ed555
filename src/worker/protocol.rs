//! Messages between the page and the inference worker, sent as JSON strings — except
//! [`ToWorker::LoadBytes`], which carries a model file the visitor chose on their computer: the
//! page posts it as a JS object `{ message: <the LoadBytes message as a JSON string>, model:
//! ArrayBuffer, axis: ArrayBuffer | undefined }` ([`BYTES_MESSAGE`], [`BYTES_MODEL`],
//! [`BYTES_AXIS`]) and transfers the buffers, so the file is never copied through JSON.
//!
//! The page never sees tensors and the worker never touches the DOM; this file is the whole
//! contract between them.

use engine::axis::{AxisFile, CapOffer, CapSetting, PersonaMap};
use engine::generation::LogitsComparison;
use serde::{Deserialize, Serialize};

/// Keys of the object that carries [`ToWorker::LoadBytes`] and its file contents.
pub const BYTES_MESSAGE: &str = "message";
pub const BYTES_MODEL: &str = "model";
pub const BYTES_AXIS: &str = "axis";

/// What the compatibility check read from a model file's GGUF header (`worker::compat`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireModelInfo {
    /// `general.name`, else the file name.
    pub name: String,
    pub file_name: String,
    /// `general.architecture` (`llama`, `qwen2`).
    pub architecture: String,
    /// Values in all tensors.
    pub parameters: u64,
    pub n_layers: usize,
    pub hidden_size: usize,
    pub context_length: usize,
    /// llama.cpp's file type (`Q4_1`, `Q4_K_M` …), else the tensor type holding most bytes.
    pub file_type: String,
    pub file_bytes: f64,
}

/// Where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Backend {
    /// burn's wgpu runtime on the browser's WebGPU.
    WebGpu,
    /// burn's `flex` CPU backend compiled to wasm: slower, works everywhere.
    Cpu,
}

/// How the weights sit in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Precision {
    /// Dequantized to f32: the reference numbers, ~4× the file's size in memory.
    F32,
    /// Kept quantized (burn's block format).
    Quantized,
}

/// One chat message, as the chat template sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireMessage {
    pub role: String,
    pub content: String,
}

/// What the page needs to know about the loaded axis file (never the vectors themselves).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireAxisInfo {
    pub model_id: String,
    pub monitor_layer: usize,
    /// The file's default cap, its floors and their convention.
    pub capping: CapOffer,
    /// The role vectors' PCA at the monitor layer, for the persona map; `None` when the file
    /// has fewer than two components.
    #[serde(default)]
    pub persona: Option<PersonaMap>,
    /// Set when the file says it was computed for another GGUF than the one loaded (its
    /// `model_sha256` differs): the axis is used, but the page says its numbers may not hold.
    #[serde(default)]
    pub other_model: Option<String>,
}

impl WireAxisInfo {
    /// `model_sha256`: the loaded model file's, when known (a quick build made the axis from the
    /// model itself).
    pub fn of(axis: &AxisFile, model_sha256: Option<&str>) -> WireAxisInfo {
        WireAxisInfo {
            model_id: axis.meta.model_id.clone(),
            monitor_layer: axis.meta.monitor_layer,
            capping: axis.cap_offer(),
            persona: axis.persona_map(),
            other_model: model_sha256.and_then(|sha| axis.other_model_warning(sha)),
        }
    }
}

/// Per-token positions on the axis for one answer (the token heatmap): `pieces[i]` is the text
/// token i added (empty while a character is incomplete), `activations[i]` and `text[i]` its
/// monitor-layer projection minus the centre, as the answering model had it and as the
/// uncapped model re-reads it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WireTokenScores {
    pub pieces: Vec<String>,
    pub activations: Vec<f32>,
    pub text: Vec<f32>,
}

/// An answer's position on the Assistant Axis: mean over its generated tokens (the stop token
/// excluded) of ⟨h, v⟩ − centre at the monitor layer. Positive = Assistant-like.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WireScore {
    /// What the generating model actually had (after any cap): the "Activations" view.
    pub activations: f32,
    /// The uncapped model re-reading the finished answer: the "Text" view. For an uncapped
    /// answer it equals `activations` up to rounding (same model, same tokens).
    pub text: f32,
    /// For a capped answer: min over capped layers and all positions of (post-cap projection −
    /// τ_l). The cap is a floor, so this is ≥ 0 up to float rounding.
    pub cap_margin: Option<f32>,
    /// Where the answer sits on the persona map (PC1, PC2; see `engine::axis::PersonaMap`), from the
    /// answering model's activations and from the uncapped re-read.
    #[serde(default)]
    pub persona_activations: Option<[f32; 2]>,
    #[serde(default)]
    pub persona_text: Option<[f32; 2]>,
}

/// Sampling and length settings for one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireGenerationSettings {
    pub temperature: f32,
    pub top_p: f32,
    pub frequency_penalty: f32,
    /// Discourages repeating runs of the conversation's earlier answers (engine
    /// `SamplingParams::echo_penalty`); settings saved before it existed get the default.
    #[serde(default = "default_echo_penalty")]
    pub echo_penalty: f32,
    pub seed: u64,
    pub max_new_tokens: usize,
}

fn default_echo_penalty() -> f32 {
    engine::generation::DEFAULT_ECHO_PENALTY
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ToWorker {
    /// Download (or re-use) and load a model.
    Load {
        model_url: String,
        backend: Backend,
        precision: Precision,
        /// The model's axis file; a missing one leaves the chat working, unscored.
        #[serde(default)]
        axis_url: Option<String>,
    },
    /// Load a model from a file the visitor chose (not sent as a string: see the module doc).
    /// `name` is the file's name; `axis_name` names the optional axis file sent beside it.
    LoadBytes {
        name: String,
        backend: Backend,
        precision: Precision,
        #[serde(default)]
        axis_name: Option<String>,
    },
    /// Answer the conversation; `id` tags every event of this answer.
    Generate(GenerateRequest),
    /// Compute an axis for the loaded model in the browser (`worker::quick_axis`): progress
    /// comes as `AxisProgress`, the result as `AxisBuilt` (then in use at once) or
    /// `AxisBuildFailed`. `Stop` cancels it.
    BuildAxis {
        roles: usize,
        questions: usize,
        max_new_tokens: usize,
        seed: u64,
    },
    /// Stop the answer in progress (its text so far is kept), or cancel an axis build.
    Stop,
    /// Destroy the WebGPU device as a driver reset would (diagnostics and the browser test of
    /// the recovery path).
    SimulateDeviceLoss,
}

/// One answer to write: [`ToWorker::Generate`]. The worker's host hands it whole to the answerer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateRequest {
    pub id: u64,
    pub messages: Vec<WireMessage>,
    pub settings: WireGenerationSettings,
    /// `None`: the model as it is.
    #[serde(default)]
    pub capping: Option<CapSetting>,
    /// Steering (docs/design.md §1, paper §3.2): add α·axis[monitor] at the monitor layer at
    /// every position; `None` or 0: no steering. α = 1 moves the stream by the whole gap between
    /// the mean role vector and the default Assistant.
    #[serde(default)]
    pub steering: Option<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum FromWorker {
    /// The worker's wasm module is up and listening.
    Booted,
    Downloading {
        loaded: f64,
        total: Option<f64>,
    },
    /// The file passed the compatibility check (`worker::compat`); loading goes on.
    Checked {
        info: WireModelInfo,
    },
    /// After the download: parsing, uploading weights, compiling shaders.
    Preparing {
        step: String,
    },
    /// The worker is about to run the model's chat template (at load, and before each answer).
    /// A template can loop without end in ways no fuel or size limit inside the engine catches
    /// (docs/fuzzing.md), and a busy worker hears no message: the page gives it
    /// `session_events::TEMPLATE_TIME_LIMIT` until the next message (`TemplateFinished`) and
    /// otherwise replaces the worker.
    TemplateStarted,
    /// The template run announced by `TemplateStarted` ended (well or with an error, which
    /// follows as its own message).
    TemplateFinished,
    Ready {
        backend: Backend,
        precision: Precision,
        device: String,
        resident_bytes: f64,
        n_layers: usize,
        /// The axis file, when it loaded and fits the model.
        axis: Option<WireAxisInfo>,
        /// Why there is no axis (missing file, wrong model…): answers are then unscored.
        axis_error: Option<String>,
        /// The model came from this browser's cache, not the network.
        #[serde(default)]
        from_cache: bool,
        /// Why a downloaded model could not be cached (quota…); it then downloads next time.
        #[serde(default)]
        cache_error: Option<String>,
        /// The loaded model, as the compatibility check read it.
        #[serde(default)]
        model: Option<WireModelInfo>,
        /// On WebGPU: how its logits compared with a CPU copy's (`answerer::check_webgpu`);
        /// `None` on the CPU, and for a file too large to hold twice.
        #[serde(default)]
        webgpu_check: Option<LogitsComparison>,
    },
    /// New text of answer `id` (complete UTF-8; may be empty for a partial character).
    Token {
        id: u64,
        token: u32,
        text: String,
    },
    Done {
        id: u64,
        text: String,
        stop: String,
        tokens: usize,
        prompt_tokens: usize,
        /// Earliest conversation messages left out so that prompt + answer fit the model's
        /// context (the engine's `fit_prompt` policy).
        #[serde(default)]
        dropped_messages: usize,
        seconds: f64,
        /// From the request to the first generated token (prefill included); `None` when no
        /// token came.
        #[serde(default)]
        first_token_seconds: Option<f64>,
        /// `None` without an axis file, or when no token was generated.
        score: Option<WireScore>,
        /// Per-token projections (the heatmap); `None` without an axis file.
        #[serde(default)]
        token_scores: Option<WireTokenScores>,
        /// The worker's wasm memory after this answer (bytes): it never shrinks, so growth over
        /// many answers would show a leak (the load test watches it).
        #[serde(default)]
        worker_memory_bytes: f64,
    },
    /// The WebGPU device is gone (`GPUDevice.lost`, reported by worker.js through
    /// `worker_device_lost`); the engine in
    /// this worker cannot run on it any more.
    DeviceLost {
        reason: String,
        message: String,
    },
    /// How far the axis build has come.
    AxisProgress {
        answers_done: usize,
        answers_total: usize,
        tokens: usize,
        seconds: f64,
    },
    /// The axis build finished; the worker scores and caps with it from now on. The file's
    /// bytes do not travel as JSON: the worker posts `{ message, axis: ArrayBuffer }` (the
    /// `BYTES_*` keys) and the page puts the buffer into `bytes`.
    AxisBuilt {
        axis: WireAxisInfo,
        /// A name to download it under (`<model>.axis.safetensors`).
        file_name: String,
        answers: usize,
        tokens: usize,
        seconds: f64,
        #[serde(skip)]
        bytes: Vec<u8>,
    },
    /// The axis build ended without an axis (`cancelled`: the visitor asked for it); the model
    /// and any axis it had stay as they were.
    AxisBuildFailed {
        message: String,
        cancelled: bool,
    },
    /// Something went wrong; `id` is set when it concerns one answer.
    Failed {
        id: Option<u64>,
        message: String,
    },
}

impl ToWorker {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl FromWorker {
    pub fn to_json(&self) -> String {
        // Serialising these plain structs cannot fail; an empty string is dropped by the page.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_through_json() {
        let msg = ToWorker::Generate(GenerateRequest {
            id: 7,
            messages: vec![WireMessage {
                role: "user".into(),
                content: "<b>hi</b> \"there\"".into(),
            }],
            settings: WireGenerationSettings {
                temperature: 0.0,
                top_p: 1.0,
                frequency_penalty: 0.0,
                echo_penalty: 0.0,
                seed: 16,
                max_new_tokens: 32,
            },
            capping: Some(CapSetting {
                first_layer: 18,
                last_layer: 24,
                percentile: engine::axis::Percentile::whole(25),
            }),
            steering: Some(-1.5),
        });
        let back: ToWorker = serde_json::from_str(&msg.to_json()).expect("parse");
        assert_eq!(back, msg);
        let ev = FromWorker::Failed {
            id: None,
            message: "x".into(),
        };
        let back: FromWorker = serde_json::from_str(&ev.to_json()).expect("parse");
        assert_eq!(back, ev);
    }

    #[test]
    fn a_generate_message_without_capping_means_uncapped() {
        let json = r#"{"type":"Generate","id":3,"messages":[],"settings":{"temperature":0.5,"top_p":0.9,"frequency_penalty":1.0,"seed":1,"max_new_tokens":8}}"#;
        match serde_json::from_str::<ToWorker>(json).expect("parse") {
            ToWorker::Generate(GenerateRequest {
                capping, steering, ..
            }) => {
                assert_eq!(capping, None);
                assert_eq!(steering, None);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
