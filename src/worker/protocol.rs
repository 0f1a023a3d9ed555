//! Messages between the page and the inference worker, sent as JSON strings.
//!
//! The page never sees tensors and the worker never touches the DOM; this file is the whole
//! contract between them.

use serde::{Deserialize, Serialize};

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

/// Sampling and length settings for one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireGenerationSettings {
    pub temperature: f32,
    pub top_p: f32,
    pub frequency_penalty: f32,
    pub seed: u64,
    pub max_new_tokens: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ToWorker {
    /// Download (or re-use) and load a model.
    Load {
        model_url: String,
        backend: Backend,
        precision: Precision,
    },
    /// Answer the conversation; `id` tags every event of this answer.
    Generate {
        id: u64,
        messages: Vec<WireMessage>,
        settings: WireGenerationSettings,
    },
    /// Stop the answer in progress (its text so far is kept).
    Stop,
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
    /// After the download: parsing, uploading weights, compiling shaders.
    Preparing {
        step: String,
    },
    Ready {
        backend: Backend,
        precision: Precision,
        device: String,
        resident_bytes: f64,
        n_layers: usize,
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
        seconds: f64,
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
        let msg = ToWorker::Generate {
            id: 7,
            messages: vec![WireMessage {
                role: "user".into(),
                content: "<b>hi</b> \"there\"".into(),
            }],
            settings: WireGenerationSettings {
                temperature: 0.0,
                top_p: 1.0,
                frequency_penalty: 0.0,
                seed: 16,
                max_new_tokens: 32,
            },
        };
        let back: ToWorker = serde_json::from_str(&msg.to_json()).expect("parse");
        assert_eq!(back, msg);
        let ev = FromWorker::Failed {
            id: None,
            message: "x".into(),
        };
        let back: FromWorker = serde_json::from_str(&ev.to_json()).expect("parse");
        assert_eq!(back, ev);
    }
}
