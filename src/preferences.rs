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
