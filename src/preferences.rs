//! Per-browser preferences that are not part of the conversation: whether the welcome has been
//! read, and where the model last ran. They live under their own localStorage key so that
//! clearing or failing to restore a conversation never resets them, and vice versa.

use serde::{Deserialize, Serialize};

use crate::worker::protocol::{Backend, Precision};

pub const PREFERENCES_KEY: &str = "assistant-axis/preferences";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    /// The welcome explainer opens by itself until it has been closed once.
    pub welcome_seen: bool,
    /// The backend last used to load the model (`None`: see [`default_backend`]).
    pub backend: Option<Backend>,
    pub precision: Option<Precision>,
    /// Whether `backend` is the person's own pick in the select (it then always stands) rather
    /// than what the page preselected.
    pub backend_explicit: bool,
    /// Decode speeds measured in this browser (`backend_choice`).
    pub speeds: crate::backend_choice::MeasuredSpeed,
}

/// What the browser's WebGPU offers, as far as choosing a backend goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuOffer {
    /// The adapter request has not answered yet.
    Checking,
    /// No WebGPU, or no adapter.
    Nothing,
    /// Only a software fallback adapter (SwiftShader): it emulates the GPU on the CPU through
    /// many small dispatches and decodes far slower than the CPU backend (docs/benchmarks.md:
    /// 0.2 vs 25 tokens/s on the same machine).
    Software,
    Hardware,
}

/// The backend the model panel offers: the visitor's remembered choice, except WebGPU in a
/// browser without an adapter; with no choice yet, WebGPU only on a hardware adapter, else
/// the CPU.
pub fn default_backend(remembered: Option<Backend>, gpu: GpuOffer) -> Backend {
    match (remembered, gpu) {
        (Some(Backend::WebGpu), GpuOffer::Nothing) => Backend::Cpu,
        (Some(choice), _) => choice,
        (None, GpuOffer::Hardware) => Backend::WebGpu,
        (None, _) => Backend::Cpu,
    }
}

/// Preferences are a convenience: anything unreadable simply means "no preferences".
pub fn decode(text: &str) -> Preferences {
    serde_json::from_str(text).unwrap_or_default()
}

pub fn encode(prefs: &Preferences) -> String {
    serde_json::to_string(prefs).unwrap_or_default()
}

#[cfg(target_arch = "wasm32")]
pub mod storage {
    use super::{PREFERENCES_KEY, Preferences, decode, encode};

    fn local_storage() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok().flatten()
    }

    pub fn load() -> Preferences {
        local_storage()
            .and_then(|s| s.get_item(PREFERENCES_KEY).ok().flatten())
            .map(|text| decode(&text))
            .unwrap_or_default()
    }

    /// Reads, changes and writes back, so that two components updating different fields do not
    /// overwrite each other. A browser without storage just forgets.
    pub fn update(change: impl FnOnce(&mut Preferences)) {
        let mut prefs = load();
        change(&mut prefs);
        if let Some(storage) = local_storage() {
            let _ = storage.set_item(PREFERENCES_KEY, &encode(&prefs));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webgpu_is_preselected_only_on_a_hardware_adapter() {
        use GpuOffer::*;
        assert_eq!(default_backend(None, Hardware), Backend::WebGpu);
        for offer in [Software, Nothing, Checking] {
            assert_eq!(default_backend(None, offer), Backend::Cpu, "{offer:?}");
        }
        // A remembered choice stands, also WebGPU on a software adapter (the visitor asked)...
        for offer in [Hardware, Software, Checking] {
            assert_eq!(
                default_backend(Some(Backend::WebGpu), offer),
                Backend::WebGpu
            );
        }
        for offer in [Hardware, Software, Nothing, Checking] {
            assert_eq!(default_backend(Some(Backend::Cpu), offer), Backend::Cpu);
        }
        // ...except WebGPU where there is none.
        assert_eq!(
            default_backend(Some(Backend::WebGpu), Nothing),
            Backend::Cpu
        );
    }

    #[test]
    fn round_trips_and_tolerates_garbage_and_missing_fields() {
        let prefs = Preferences {
            welcome_seen: true,
            backend: Some(Backend::Cpu),
            precision: Some(Precision::F32),
            backend_explicit: true,
            speeds: crate::backend_choice::MeasuredSpeed {
                webgpu: Some(0.2),
                cpu: Some(25.0),
            },
        };
        assert_eq!(decode(&encode(&prefs)), prefs);
        assert_eq!(decode("not json"), Preferences::default());
        assert_eq!(decode("{}"), Preferences::default());
        let partial = decode(r#"{"welcome_seen":true,"unknown":3}"#);
        assert!(partial.welcome_seen);
        assert_eq!(partial.backend, None);
    }
}
