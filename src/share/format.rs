//! The shared document: a versioned JSON copy of the conversation with everything needed to
//! show it again (messages, scores, settings, capping, system prompt, model and axis), its
//! conversion to and from the page's [`Conversation`], and [`from_json`], which reads it back
//! and refuses what the page cannot show.

use engine::axis::CapSetting;
use serde::{Deserialize, Serialize};

use crate::chart::ChartView;
use crate::conversation::{AnswerScore, TokenScores};
use crate::conversation::{Conversation, Reply, Turn};
use crate::persist::sanitize;
use crate::worker::protocol::WireGenerationSettings;
use engine::axis::CappingChoice;

/// The `format` field of every shared conversation.
pub const FORMAT: &str = "assistant-axis/conversation";
/// Bump with any incompatible change; the page reads this version and refuses newer ones.
pub const FORMAT_VERSION: u32 = 1;
/// Refuse what the page cannot show before parsing it. A long real conversation (200 turns of
/// 128-token answers with their token heatmaps, both columns) is about 3 MB of JSON; a link
/// carries far less (`link::MAX_LINK_JSON_BYTES`).
const MAX_JSON_BYTES: usize = 8 << 20;
/// Rendering time grows with turns (5,000 turns took 19 s in a review); 400 is beyond what a
/// context window of a few thousand tokens lets a conversation reach in one sitting.
const MAX_TURNS: usize = 400;
/// No score of a real model comes near this; anything beyond (or not finite) is damage.
const MAX_SCORE: f32 = 1.0e6;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedModel {
    /// Human-readable name of the model the page ran.
    pub name: String,
    /// The GGUF's URL, relative to the page for the shipped model.
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedAxis {
    /// The axis file's `model_id`.
    pub model_id: String,
    pub monitor_layer: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SharedScore {
    pub activations: f32,
    pub text: f32,
    #[serde(default)]
    pub cap_margin: Option<f32>,
    /// The answer on the persona map (PC1, PC2), as answered and as re-read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persona_activations: Option<[f32; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persona_text: Option<[f32; 2]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedReply {
    pub content: String,
    #[serde(default)]
    pub score: Option<SharedScore>,
    /// "24 tokens · stop token · 3.1 s · 7.7 tok/s".
    #[serde(default)]
    pub meta: Option<String>,
    /// Why the answer failed or was not written.
    #[serde(default)]
    pub error: Option<String>,
    /// Per-token values for the heatmap (left out when any is not finite: JSON has no NaN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenScores>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedTurn {
    pub user: String,
    /// The capping this turn asked for; `null`: capping was off.
    #[serde(default)]
    pub capping: Option<CapSetting>,
    pub default: SharedReply,
    #[serde(default)]
    pub capped: Option<SharedReply>,
    /// The steering strength α of this turn; absent: no steering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steering: Option<f32>,
}

/// Everything needed to show a conversation again: messages, scores, settings, capping, system
/// prompt, and which model and axis produced them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedConversation {
    pub format: String,
    pub version: u32,
    pub model: SharedModel,
    /// `null` when no axis file was loaded (answers are then unscored).
    pub axis: Option<SharedAxis>,
    pub system_prompt: String,
    pub settings: WireGenerationSettings,
    pub capping: CappingChoice,
    pub chart_view: ChartView,
    pub turns: Vec<SharedTurn>,
}

/// The page's state that a share carries (borrowed when exporting).
pub struct Snapshot<'a> {
    pub model: SharedModel,
    pub axis: Option<SharedAxis>,
    pub system_prompt: &'a str,
    pub settings: &'a WireGenerationSettings,
    pub capping: &'a CappingChoice,
    pub chart_view: ChartView,
    pub conversation: &'a Conversation,
}

impl SharedConversation {
    pub fn from_snapshot(s: Snapshot<'_>) -> SharedConversation {
        SharedConversation {
            format: FORMAT.to_owned(),
            version: FORMAT_VERSION,
            model: s.model,
            axis: s.axis,
            system_prompt: s.system_prompt.to_owned(),
            settings: s.settings.clone(),
            capping: s.capping.clone(),
            chart_view: s.chart_view,
            turns: s.conversation.turns.iter().map(shared_turn).collect(),
        }
    }

    /// The conversation as the page holds it, with fresh ids `first_id..`. Answers that were
    /// still being written when shared are marked as such.
    pub fn to_conversation(&self, first_id: u64) -> Conversation {
        let mut id = first_id;
        let mut take = || {
            id += 1;
            id - 1
        };
        let mut c = Conversation {
            turns: self
                .turns
                .iter()
                .map(|t| Turn {
                    id: take(),
                    user: t.user.clone(),
                    default: reply(&t.default, take()),
                    capped: t.capped.as_ref().map(|r| reply(r, take())),
                    capping: t.capping,
                    steering: t.steering.filter(|a| a.is_finite()),
                })
                .collect(),
        };
        c.interrupt_streaming();
        c
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// How many answers carry a score (what the chart can plot).
    pub fn scored_answers(&self) -> usize {
        self.turns
            .iter()
            .flat_map(|t| std::iter::once(&t.default).chain(t.capped.as_ref()))
            .filter(|r| r.score.is_some())
            .count()
    }
}

fn shared_turn(t: &Turn) -> SharedTurn {
    SharedTurn {
        user: t.user.clone(),
        capping: t.capping,
        default: shared_reply(&t.default),
        capped: t.capped.as_ref().map(shared_reply),
        steering: t.steering.filter(|a| a.is_finite()),
    }
}

fn finite_pair(p: Option<[f32; 2]>) -> Option<[f32; 2]> {
    p.filter(|v| v.iter().all(|x| x.is_finite()))
}

fn shared_reply(r: &Reply) -> SharedReply {
    let error = match (&r.error, r.streaming) {
        (Some(e), _) => Some(e.clone()),
        (None, true) => Some("interrupted (still being written when shared)".to_owned()),
        (None, false) => None,
    };
    SharedReply {
        content: r.content.clone(),
        // JSON has no NaN: a non-finite reading is left out rather than breaking the file.
        score: r
            .score
            .filter(|s| s.activations.is_finite() && s.text.is_finite())
            .map(|s| SharedScore {
                activations: s.activations,
                text: s.text,
                cap_margin: s.cap_margin.filter(|m| m.is_finite()),
                persona_activations: finite_pair(s.persona_activations),
                persona_text: finite_pair(s.persona_text),
            }),
        meta: r.meta.clone(),
        error,
        tokens: r.tokens.clone().filter(|t| {
            t.activations.iter().chain(&t.text).all(|v| v.is_finite())
                && t.activations.len() == t.pieces.len()
                && t.text.len() == t.pieces.len()
        }),
    }
}

fn reply(r: &SharedReply, id: u64) -> Reply {
    Reply {
        id,
        content: r.content.clone(),
        streaming: false,
        meta: r.meta.clone(),
        error: r.error.clone(),
        score: r.score.map(|s| AnswerScore {
            activations: s.activations,
            text: s.text,
            cap_margin: s.cap_margin,
            persona_activations: s.persona_activations,
            persona_text: s.persona_text,
        }),
        tokens: r.tokens.clone(),
    }
}

/// Reads and validates a shared conversation. The error is a phrase that completes "The file
/// could not be opened: …".
pub fn from_json(text: &str) -> Result<SharedConversation, String> {
    if text.len() > MAX_JSON_BYTES {
        return Err(format!(
            "it is too large ({:.1} MB; at most {} MB)",
            text.len() as f64 / 1e6,
            MAX_JSON_BYTES >> 20
        ));
    }
    let value: serde_json::Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| format!("it is not a conversation file (not valid JSON: {e})"))?;
    let format = value.get("format").and_then(|f| f.as_str());
    if format != Some(FORMAT) {
        return Err(format!(
            "it is not an Assistant Axis conversation (its \"format\" is {}, expected \"{FORMAT}\")",
            format.map_or_else(|| "missing".to_owned(), |f| format!("{f:?}"))
        ));
    }
    let version = value.get("version").and_then(|v| v.as_u64());
    match version {
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        Some(v) if v > u64::from(FORMAT_VERSION) => {
            return Err(format!(
                "it was saved by a newer version of this page (format version {v}; this page reads version {FORMAT_VERSION}). Open it with an up-to-date copy of the page"
            ));
        }
        other => {
            return Err(format!(
                "its format version is {} (this page reads version {FORMAT_VERSION})",
                other.map_or_else(|| "missing".to_owned(), |v| v.to_string())
            ));
        }
    }
    let mut shared: SharedConversation =
        serde_json::from_value(value).map_err(|e| format!("it is damaged ({e})"))?;
    if shared.turns.len() > MAX_TURNS {
        return Err(format!(
            "it has {} turns (at most {MAX_TURNS})",
            shared.turns.len()
        ));
    }
    check_numbers(&shared)?;
    sanitize(&mut shared.settings);
    Ok(shared)
}

/// Every score and token value must be a finite number of a sane size: JSON has no NaN, but
/// `1e39` parses as an infinite f32, which the page would print as "+inf" and chart as NaN.
fn check_numbers(shared: &SharedConversation) -> Result<(), String> {
    let sane = |v: f32| v.is_finite() && v.abs() <= MAX_SCORE;
    for (i, turn) in shared.turns.iter().enumerate() {
        for reply in std::iter::once(&turn.default).chain(&turn.capped) {
            let mut values: Vec<f32> = Vec::new();
            if let Some(s) = &reply.score {
                values.extend([s.activations, s.text]);
                values.extend(s.cap_margin);
                values.extend(s.persona_activations.into_iter().flatten());
                values.extend(s.persona_text.into_iter().flatten());
            }
            if let Some(t) = &reply.tokens {
                values.extend(t.activations.iter().chain(&t.text));
            }
            values.extend(turn.steering);
            if let Some(bad) = values.into_iter().find(|v| !sane(*v)) {
                return Err(format!(
                    "it is damaged (turn {} has a score of {bad}, which no model produces)",
                    i + 1
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::fixtures::{conversation, shared};

    /// The conversation without its ids (they are renumbered on import).
    fn without_ids(c: &Conversation) -> Vec<(String, Reply, Option<Reply>)> {
        let strip = |r: &Reply| Reply { id: 0, ..r.clone() };
        c.turns
            .iter()
            .map(|t| {
                (
                    t.user.clone(),
                    strip(&t.default),
                    t.capped.as_ref().map(strip),
                )
            })
            .collect()
    }

    #[test]
    fn the_file_round_trips_messages_scores_and_settings() {
        let c = conversation();
        let s = shared(&c);
        let back = from_json(&s.to_json_pretty()).expect("decode");
        assert_eq!(back, s);
        assert_eq!(back.system_prompt, "You are Max.");
        assert_eq!(back.chart_view, ChartView::Activations);
        assert_eq!(back.axis.as_ref().map(|a| a.monitor_layer), Some(21));
        let restored = back.to_conversation(1);
        // The answer that was still streaming is marked, everything else is as it was.
        let mut expected = c.clone();
        expected.turns[2].default.streaming = false;
        expected.turns[2].default.error =
            Some("interrupted (still being written when shared)".into());
        assert_eq!(without_ids(&restored), without_ids(&expected));
        assert_eq!(
            crate::chart::points(&restored, ChartView::Text).len(),
            crate::chart::points(&c, ChartView::Text).len()
        );
        assert_eq!(s.scored_answers(), 3);
    }

    #[test]
    fn steering_heatmap_and_persona_data_travel_and_nan_stays_out() {
        let mut c = conversation();
        c.turns[0].steering = Some(1.5);
        let tokens = TokenScores {
            pieces: vec!["Hi".into(), " there".into()],
            activations: vec![1.0, 2.0],
            text: vec![0.5, -0.25],
        };
        c.turns[0].default.tokens = Some(tokens.clone());
        c.turns[1].default.tokens = Some(TokenScores {
            text: vec![f32::NAN],
            ..tokens.clone()
        });
        let score = c.turns[0].default.score.as_mut().expect("score");
        score.persona_text = Some([0.5, -1.0]);
        score.persona_activations = Some([f32::INFINITY, 0.0]);
        let back = from_json(&shared(&c).to_json_pretty())
            .expect("parse")
            .to_conversation(1);
        assert_eq!(back.turns[0].steering, Some(1.5));
        assert_eq!(back.turns[1].steering, None);
        assert_eq!(back.turns[0].default.tokens, Some(tokens));
        assert_eq!(
            back.turns[1].default.tokens, None,
            "a NaN token value: left out"
        );
        let score = back.turns[0].default.score.expect("score");
        assert_eq!(score.persona_text, Some([0.5, -1.0]));
        assert_eq!(score.persona_activations, None);
    }

    #[test]
    fn imported_ids_are_fresh_and_unique() {
        let restored = shared(&conversation()).to_conversation(100);
        let mut ids: Vec<u64> = restored
            .turns
            .iter()
            .flat_map(|t| {
                [
                    Some(t.id),
                    Some(t.default.id),
                    t.capped.as_ref().map(|r| r.id),
                ]
            })
            .flatten()
            .collect();
        assert!(ids.iter().all(|&i| i >= 100));
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
        assert!(restored.turns.iter().all(|t| !t.default.streaming));
    }

    #[test]
    fn wrong_newer_or_damaged_inputs_say_why() {
        let s = shared(&conversation());
        let err = |text: &str| from_json(text).expect_err(text);
        assert!(err("").contains("not valid JSON"));
        assert!(err("{").contains("not valid JSON"));
        assert!(err("[]").contains("not an Assistant Axis conversation"));
        assert!(err(r#"{"version":1}"#).contains("\"format\" is missing"));
        assert!(err(r#"{"format":"other","version":1}"#).contains("\"other\""));
        let mut v: serde_json::Value = serde_json::to_value(&s).expect("value");
        v["version"] = 2.into();
        let e = err(&v.to_string());
        assert!(
            e.contains("newer version") && e.contains("version 2"),
            "{e}"
        );
        v["version"] = 0.into();
        assert!(err(&v.to_string()).contains("format version is 0"));
        v["version"] = "1".into();
        assert!(err(&v.to_string()).contains("format version is missing"));
        v["version"] = 1.into();
        v["turns"] = serde_json::json!([{"user": 3}]);
        assert!(err(&v.to_string()).contains("damaged"));
        // Hand-edited settings are clamped like stored ones.
        let mut v: serde_json::Value = serde_json::to_value(&s).expect("value");
        v["settings"]["temperature"] = 50.0.into();
        v["settings"]["max_new_tokens"] = 0.into();
        let back = from_json(&v.to_string()).expect("clamped");
        assert_eq!(back.settings.temperature, 2.0);
        assert_eq!(back.settings.max_new_tokens, 1);
    }

    #[test]
    fn imports_are_bounded_before_the_page_renders_them() {
        let s = shared(&conversation());
        // More turns than the page can show.
        let mut v: serde_json::Value = serde_json::to_value(&s).expect("value");
        let turn = v["turns"][0].clone();
        v["turns"] = serde_json::Value::Array(vec![turn; MAX_TURNS + 1]);
        let e = from_json(&v.to_string()).expect_err("turns");
        assert!(e.contains("at most 400"), "{e}");
        // Scores that are not finite f32s (1e39 overflows) or absurdly large.
        for bad in [1e39, -1e7] {
            let mut v: serde_json::Value = serde_json::to_value(&s).expect("value");
            v["turns"][0]["default"]["score"]["text"] = bad.into();
            let e = from_json(&v.to_string()).expect_err("score");
            assert!(e.contains("turn 1 has a score of"), "{e}");
        }
        let mut v: serde_json::Value = serde_json::to_value(&s).expect("value");
        v["turns"][0]["default"]["tokens"] = serde_json::json!({
            "pieces": ["a"], "activations": [1e39], "text": [0.0]
        });
        assert!(from_json(&v.to_string()).is_err());
        // The conversation itself still opens.
        assert!(from_json(&serde_json::to_string(&s).expect("json")).is_ok());
    }

    #[test]
    fn non_finite_scores_are_left_out_rather_than_breaking_the_file() {
        let mut c = conversation();
        c.turns[0].default.score.as_mut().expect("score").text = f32::NAN;
        c.turns[0]
            .capped
            .as_mut()
            .and_then(|r| r.score.as_mut())
            .expect("score")
            .cap_margin = Some(f32::INFINITY);
        let s = shared(&c);
        let back = from_json(&s.to_json_pretty()).expect("decode");
        assert_eq!(back.turns[0].default.score, None);
        assert_eq!(
            back.turns[0]
                .capped
                .as_ref()
                .and_then(|r| r.score)
                .and_then(|s| s.cap_margin),
            None
        );
    }
}
