//! The conversation and settings in localStorage, under a versioned key. Anything unreadable
//! (corrupt JSON, another version, hand-edited values) is ignored with a notice: a stored page
//! state must never keep the page from starting.

use serde::{Deserialize, Serialize};

use crate::chart::ChartView;
use crate::conversation::Conversation;
use crate::worker::protocol::WireGenerationSettings;
use engine::axis::CappingChoice;

/// Bump with any incompatible change of [`Saved`]; older entries are then ignored.
pub const VERSION: u32 = 1;
pub const STORAGE_KEY: &str = "assistant-axis/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub version: u32,
    pub conversation: Conversation,
    pub settings: WireGenerationSettings,
    pub system_prompt: String,
    pub capping: CappingChoice,
    pub chart_view: ChartView,
    /// The steering slider's α (0: off); absent in entries saved before steering existed.
    #[serde(default)]
    pub steering: f32,
}

pub fn encode(saved: &Saved) -> Result<String, String> {
    serde_json::to_string(saved).map_err(|e| e.to_string())
}

/// Parses a stored entry; settings out of range are brought back into it, half-written
/// answers are marked interrupted.
pub fn decode(text: &str) -> Result<Saved, String> {
    let mut saved: Saved =
        serde_json::from_str(text).map_err(|e| format!("it is not readable ({e})"))?;
    if saved.version != VERSION {
        return Err(format!(
            "it was written by another version of the page ({})",
            saved.version
        ));
    }
    sanitize(&mut saved.settings);
    saved.steering = sanitize_steering(saved.steering);
    saved.conversation.interrupt_streaming();
    Ok(saved)
}

/// The echo penalty input's upper bound: beyond it the penalty only forbids a run outright,
/// which a large enough value already does.
pub const MAX_ECHO_PENALTY: f32 = 10.0;

/// The same bounds as the settings panel's inputs.
pub fn sanitize(s: &mut WireGenerationSettings) {
    let finite_or = |v: f32, d: f32| if v.is_finite() { v } else { d };
    s.temperature = finite_or(s.temperature, 0.5).clamp(0.0, 2.0);
    s.top_p = finite_or(s.top_p, 0.95).clamp(0.05, 1.0);
    s.frequency_penalty = finite_or(s.frequency_penalty, 1.0).clamp(0.0, 2.0);
    s.echo_penalty = finite_or(s.echo_penalty, engine::generation::DEFAULT_ECHO_PENALTY)
        .clamp(0.0, MAX_ECHO_PENALTY);
    s.max_new_tokens = s.max_new_tokens.clamp(1, 1024);
}

/// The steering slider's range: beyond ±4 the 135M model only produces noise (docs/demo.md).
pub const MAX_STEERING: f32 = 4.0;

pub fn sanitize_steering(alpha: f32) -> f32 {
    if alpha.is_finite() {
        alpha.clamp(-MAX_STEERING, MAX_STEERING)
    } else {
        0.0
    }
}

#[cfg(target_arch = "wasm32")]
pub mod storage {
    //! The browser side: localStorage may be missing (privacy modes) or full; both are notices.

    use super::{STORAGE_KEY, Saved, decode, encode};

    fn local_storage() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok().flatten()
    }

    /// `Ok(None)`: nothing stored. `Err`: something stored but unusable (it is then removed).
    pub fn load() -> Result<Option<Saved>, String> {
        let Some(storage) = local_storage() else {
            return Ok(None);
        };
        let Ok(Some(text)) = storage.get_item(STORAGE_KEY) else {
            return Ok(None);
        };
        decode(&text).map(Some).map_err(|e| {
            let _ = storage.remove_item(STORAGE_KEY);
            format!("The saved conversation could not be restored: {e}. Starting afresh.")
        })
    }

    pub fn save(saved: &Saved) -> Result<(), String> {
        let storage = local_storage().ok_or("this browser offers no localStorage")?;
        let text = encode(saved)?;
        storage
            .set_item(STORAGE_KEY, &text)
            .map_err(|_| "the browser refused to store the conversation (storage full?)".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{Reply, Turn};

    fn saved() -> Saved {
        Saved {
            version: VERSION,
            conversation: Conversation {
                turns: vec![Turn {
                    id: 1,
                    user: "<b>x</b>".into(),
                    default: Reply::streaming(2),
                    capped: None,
                    capping: None,
                    steering: None,
                }],
            },
            settings: WireGenerationSettings {
                temperature: 0.5,
                top_p: 0.95,
                frequency_penalty: 1.0,
                echo_penalty: engine::generation::DEFAULT_ECHO_PENALTY,
                seed: 16,
                max_new_tokens: 128,
            },
            system_prompt: "sys".into(),
            capping: CappingChoice::default(),
            chart_view: ChartView::Text,
            steering: 1.5,
        }
    }

    #[test]
    fn round_trips_and_interrupts_half_written_answers() {
        let s = saved();
        let back = decode(&encode(&s).expect("encode")).expect("decode");
        assert_eq!(back.conversation.turns[0].user, "<b>x</b>");
        assert!(!back.conversation.turns[0].default.streaming);
        assert_eq!(back.settings, s.settings);
        assert_eq!(back.chart_view, ChartView::Text);
        assert_eq!(back.steering, 1.5);
    }

    #[test]
    fn corrupt_or_foreign_entries_are_errors_not_panics() {
        for text in ["", "{", "null", "[]", r#"{"version":1}"#, "\u{0}"] {
            assert!(decode(text).is_err(), "{text:?}");
        }
        let mut other = saved();
        other.version = 99;
        let err = decode(&encode(&other).expect("encode")).expect_err("version");
        assert!(err.contains("another version"), "{err}");
    }

    #[test]
    fn out_of_range_settings_are_clamped() {
        let mut s = saved();
        s.settings.temperature = 50.0;
        s.settings.max_new_tokens = 0;
        s.settings.top_p = -1.0;
        let back = decode(&encode(&s).expect("encode")).expect("decode");
        assert_eq!(back.settings.temperature, 2.0);
        assert_eq!(back.settings.max_new_tokens, 1);
        assert_eq!(back.settings.top_p, 0.05);
        let mut wild = saved();
        wild.steering = 99.0;
        assert_eq!(
            decode(&encode(&wild).expect("encode"))
                .expect("decode")
                .steering,
            MAX_STEERING
        );
        let old = encode(&saved())
            .expect("encode")
            .replace(",\"steering\":1.5", "");
        assert_eq!(
            decode(&old)
                .expect("an entry from before steering")
                .steering,
            0.0
        );
    }
}
