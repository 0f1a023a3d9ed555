//! The conversation as the page holds it: one user message per turn, answered by the default
//! model and (when capping was on for that turn) by its capped twin. Each column's model sees
//! the user's messages and its *own* earlier answers, so the two conversations can diverge.
//! Pure data and logic (no browser), unit-tested natively.

use engine::axis::CapSetting;
use serde::{Deserialize, Serialize};

use crate::worker::protocol::{WireMessage, WireScore, WireTokenScores};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Column {
    Default,
    Capped,
}

impl Column {
    pub fn label(self) -> &'static str {
        match self {
            Column::Default => "Default",
            Column::Capped => "Capped",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Column::Default => "default",
            Column::Capped => "capped",
        }
    }

    /// The score line under an answer of this column. The uncapped, unsteered default answer's
    /// two readings (activations while writing, text re-read) agree, so it shows one number;
    /// capping or steering makes them differ, and then both are shown, each saying what it is.
    pub fn score_label(self, steered: bool, activations: f32, text: f32) -> String {
        let changed = match (self, steered) {
            (Column::Default, false) => return format!("Axis score {activations:+.2}"),
            (Column::Default, true) => ("steered", "unsteered"),
            (Column::Capped, false) => ("capped", "uncapped"),
            (Column::Capped, true) => ("capped and steered", "uncapped and unsteered"),
        };
        format!(
            "Axis score {activations:+.2} (activations, {}) · {text:+.2} (text, re-read {})",
            changed.0, changed.1
        )
    }
}

/// An answer's position on the Assistant Axis as the page keeps it (saved, shared, charted):
/// mean over its generated tokens of ⟨h, v⟩ − centre at the monitor layer, positive =
/// Assistant-like. Made from the worker's [`WireScore`] once, when the answer is done; its
/// serialized form is the one saved conversations and share links have always had.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnswerScore {
    /// What the answering model had (after any cap): the "Activations" view.
    pub activations: f32,
    /// The uncapped model re-reading the finished answer: the "Text" view.
    pub text: f32,
    /// For a capped answer: min over capped layers and positions of (projection − τ), ≥ 0 up
    /// to rounding (the cap is a floor).
    pub cap_margin: Option<f32>,
    /// Where the answer sits on the persona map (PC1, PC2), as answered and as re-read.
    #[serde(default)]
    pub persona_activations: Option<[f32; 2]>,
    #[serde(default)]
    pub persona_text: Option<[f32; 2]>,
}

impl From<WireScore> for AnswerScore {
    fn from(w: WireScore) -> AnswerScore {
        AnswerScore {
            activations: w.activations,
            text: w.text,
            cap_margin: w.cap_margin,
            persona_activations: w.persona_activations,
            persona_text: w.persona_text,
        }
    }
}

/// Each token of an answer on the axis (the heatmap): its text, and its projection as
/// answered and as re-read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenScores {
    pub pieces: Vec<String>,
    pub activations: Vec<f32>,
    pub text: Vec<f32>,
}

impl From<WireTokenScores> for TokenScores {
    fn from(w: WireTokenScores) -> TokenScores {
        TokenScores {
            pieces: w.pieces,
            activations: w.activations,
            text: w.text,
        }
    }
}

/// One assistant answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// Tags the worker's events for this answer; unique within the conversation.
    pub id: u64,
    pub content: String,
    /// Still being written by the model.
    pub streaming: bool,
    /// Why it stopped, tokens, speed.
    pub meta: Option<String>,
    /// Set when the answer failed.
    pub error: Option<String>,
    /// `None` without an axis file.
    pub score: Option<AnswerScore>,
    /// Each token's position on the axis (the heatmap); `None` without an axis file, or for
    /// answers saved before the page recorded them.
    #[serde(default)]
    pub tokens: Option<TokenScores>,
}

impl Reply {
    /// A twin answer that was never written (Stop, reload); it shows why and is left out of
    /// the conversation the model sees.
    pub fn not_answered(id: u64, why: &str) -> Reply {
        Reply {
            id,
            content: String::new(),
            streaming: false,
            meta: None,
            error: Some(why.to_owned()),
            score: None,
            tokens: None,
        }
    }

    pub fn streaming(id: u64) -> Reply {
        Reply {
            id,
            content: String::new(),
            streaming: true,
            meta: None,
            error: None,
            score: None,
            tokens: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub id: u64,
    pub user: String,
    pub default: Reply,
    /// The capped twin's answer; `None` until it starts, or when capping was off.
    pub capped: Option<Reply>,
    /// The capping this turn asked for (`None`: capping was off).
    pub capping: Option<CapSetting>,
    /// The steering strength α both columns were answered with (`None`: no steering).
    #[serde(default)]
    pub steering: Option<f32>,
}

impl Turn {
    pub fn reply(&self, column: Column) -> Option<&Reply> {
        match column {
            Column::Default => Some(&self.default),
            Column::Capped => self.capped.as_ref(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub turns: Vec<Turn>,
}

impl Conversation {
    /// The messages column `column`'s model answers for turn `index`: the system prompt (unless
    /// empty: then the template's default), the earlier turns with this column's answers, and
    /// the turn's user message. Failed or empty answers are left out. In turns where the twin
    /// did not answer (capping was off), it sees the default answer: that is what was said.
    pub fn history(&self, column: Column, system: &str, index: usize) -> Vec<WireMessage> {
        let mut out = Vec::new();
        if !system.trim().is_empty() {
            out.push(message("system", system));
        }
        for (i, turn) in self.turns.iter().enumerate().take(index + 1) {
            out.push(message("user", &turn.user));
            if i == index {
                break;
            }
            let usable = |r: &&Reply| r.error.is_none() && !r.content.is_empty();
            let reply = match column {
                Column::Capped => turn.capped.as_ref().filter(usable).or(Some(&turn.default)),
                Column::Default => Some(&turn.default),
            };
            if let Some(reply) = reply.filter(usable) {
                out.push(message("assistant", &reply.content));
            }
        }
        out
    }

    pub fn reply_mut(&mut self, id: u64) -> Option<&mut Reply> {
        self.turns.iter_mut().find_map(|t| {
            if t.default.id == id {
                Some(&mut t.default)
            } else {
                t.capped.as_mut().filter(|r| r.id == id)
            }
        })
    }

    /// The largest id in use, so new ids never collide with restored ones.
    pub fn max_id(&self) -> u64 {
        self.turns
            .iter()
            .flat_map(|t| {
                [
                    Some(t.id),
                    Some(t.default.id),
                    t.capped.as_ref().map(|r| r.id),
                ]
            })
            .flatten()
            .max()
            .unwrap_or(0)
    }

    /// After a reload no worker is writing any answer: mark half-written ones as interrupted,
    /// and a capped twin that never started as not answered.
    pub fn interrupt_streaming(&mut self) {
        let mut next_id = self.max_id() + 1;
        for turn in &mut self.turns {
            if turn.capping.is_some() && turn.capped.is_none() {
                turn.capped = Some(Reply::not_answered(
                    next_id,
                    "not answered (the page was reloaded)",
                ));
                next_id += 1;
            }
            for reply in std::iter::once(&mut turn.default).chain(turn.capped.as_mut()) {
                if reply.streaming {
                    reply.streaming = false;
                    reply.error = Some("interrupted (the page was reloaded)".into());
                }
            }
        }
    }

    /// Whether any turn has a capped answer (then the page shows both columns).
    pub fn has_capped(&self) -> bool {
        self.turns.iter().any(|t| t.capped.is_some())
    }
}

fn message(role: &str, content: &str) -> WireMessage {
    WireMessage {
        role: role.into(),
        content: content.into(),
    }
}

/// How long an answer took, for its metadata line: total, time to the first token (which holds
/// the prompt's prefill) and the decode rate after it.
pub fn answer_timing(
    tokens: usize,
    prompt_tokens: usize,
    seconds: f64,
    first_token_seconds: Option<f64>,
) -> String {
    match first_token_seconds {
        Some(first) if tokens > 1 && seconds > first => format!(
            "{seconds:.1} s · first token after {first:.1} s ({prompt_tokens}-token prompt) · {:.1} tok/s",
            (tokens - 1) as f64 / (seconds - first)
        ),
        _ if seconds > 0.0 => format!("{seconds:.1} s · {:.1} tok/s", tokens as f64 / seconds),
        _ => format!("{seconds:.1} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_labels_show_both_readings_whenever_capping_or_steering_made_them_differ() {
        assert_eq!(
            Column::Default.score_label(false, 12.5, 12.5),
            "Axis score +12.50"
        );
        assert_eq!(
            Column::Default.score_label(true, 117.23, 50.1),
            "Axis score +117.23 (activations, steered) · +50.10 (text, re-read unsteered)"
        );
        assert_eq!(
            Column::Capped.score_label(false, -3.0, -9.25),
            "Axis score -3.00 (activations, capped) · -9.25 (text, re-read uncapped)"
        );
        assert!(
            Column::Capped
                .score_label(true, 1.0, 2.0)
                .contains("capped and steered")
        );
    }

    #[test]
    fn answer_timing_separates_the_first_token_from_decode() {
        assert_eq!(
            answer_timing(11, 40, 3.0, Some(1.0)),
            "3.0 s · first token after 1.0 s (40-token prompt) · 5.0 tok/s"
        );
        assert_eq!(answer_timing(1, 40, 2.0, Some(2.0)), "2.0 s · 0.5 tok/s");
        assert_eq!(answer_timing(0, 40, 0.0, None), "0.0 s");
    }

    fn reply(id: u64, text: &str) -> Reply {
        Reply {
            id,
            content: text.into(),
            streaming: false,
            meta: None,
            error: None,
            score: None,
            tokens: None,
        }
    }

    fn conversation() -> Conversation {
        Conversation {
            turns: vec![
                Turn {
                    id: 1,
                    user: "hi".into(),
                    default: reply(2, "hello"),
                    capped: None,
                    capping: None,
                    steering: None,
                },
                Turn {
                    id: 3,
                    user: "be a pirate".into(),
                    default: reply(4, "arr"),
                    capped: Some(reply(5, "I am an assistant")),
                    capping: Some(CapSetting {
                        first_layer: 1,
                        last_layer: 2,
                        percentile: engine::axis::Percentile::whole(25),
                    }),
                    steering: None,
                },
                Turn {
                    id: 6,
                    user: "who are you?".into(),
                    default: Reply::streaming(7),
                    capped: None,
                    capping: None,
                    steering: None,
                },
            ],
        }
    }

    fn roles_and_text(m: &[WireMessage]) -> Vec<(String, String)> {
        m.iter()
            .map(|m| (m.role.clone(), m.content.clone()))
            .collect()
    }

    #[test]
    fn each_column_sees_its_own_answers() {
        let c = conversation();
        let d = roles_and_text(&c.history(Column::Default, "", 2));
        let k = roles_and_text(&c.history(Column::Capped, "", 2));
        let pair = |r: &str, t: &str| (r.to_owned(), t.to_owned());
        assert_eq!(
            d,
            vec![
                pair("user", "hi"),
                pair("assistant", "hello"),
                pair("user", "be a pirate"),
                pair("assistant", "arr"),
                pair("user", "who are you?"),
            ]
        );
        // Turn 1 had no capped answer: the twin sees what was said (the default answer).
        assert_eq!(k[1], pair("assistant", "hello"));
        assert_eq!(k[3], pair("assistant", "I am an assistant"));
    }

    #[test]
    fn system_prompt_leads_only_when_set_and_failed_answers_are_left_out() {
        let mut c = conversation();
        c.turns[0].default.error = Some("boom".into());
        let h = c.history(Column::Default, "  ", 1);
        assert_eq!(h[0].role, "user");
        assert_eq!(h.len(), 2, "{h:?}");
        let h = c.history(Column::Default, "You are a pirate.", 0);
        assert_eq!(h[0].role, "system");
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn replies_are_found_by_id_in_either_column() {
        let mut c = conversation();
        c.reply_mut(5).expect("capped").content.push('!');
        assert_eq!(
            c.turns[1].capped.as_ref().map(|r| r.content.as_str()),
            Some("I am an assistant!")
        );
        assert!(c.reply_mut(3).is_none(), "turn ids are not reply ids");
        assert_eq!(c.max_id(), 7);
        assert!(c.has_capped());
    }

    #[test]
    fn a_twin_that_did_not_answer_sees_the_default_answer_of_that_turn() {
        let mut c = conversation();
        c.turns[1].capped = Some(Reply::not_answered(5, "stopped"));
        let k = c.history(Column::Capped, "", 2);
        assert_eq!(k[3].content, "arr");
    }

    #[test]
    fn reload_marks_half_written_answers_as_interrupted() {
        let mut c = conversation();
        c.turns[2].capping = c.turns[1].capping;
        c.interrupt_streaming();
        let twin = c.turns[2].capped.as_ref().expect("twin marked");
        assert_eq!(twin.id, 8, "a fresh id");
        assert!(
            twin.error
                .as_deref()
                .is_some_and(|e| e.contains("not answered"))
        );
        assert!(c.turns[0].capped.is_none(), "capping was off in turn 1");
        let r = &c.turns[2].default;
        assert!(!r.streaming);
        assert!(r.error.as_deref().is_some_and(|e| e.contains("reloaded")));
        assert!(c.turns[0].default.error.is_none());
    }
}
