//! Scripted demo conversations (`public/presets/presets.json`, embedded at compile time) and the
//! player that feeds their user turns into the conversation one by one. Pure data and logic (no
//! browser), unit-tested natively; the panel is `components::presets_panel`.

use serde::Deserialize;

use crate::conversation::Conversation;

/// The presets file, compiled into the app (no fetch): it is also documentation.
pub const PRESETS_JSON: &str = include_str!("../public/presets/presets.json");

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Preset {
    pub id: String,
    pub title: String,
    /// Empty: the model's default system prompt.
    #[serde(default)]
    pub system_prompt: String,
    pub user_turns: Vec<String>,
    /// What to look for on the chart, shown to the reader.
    pub watch_for: String,
}

#[derive(Debug, Clone, Deserialize)]
struct PresetFile {
    presets: Vec<Preset>,
}

/// Parses a presets file; every preset must have an id, a title, a note and at least one
/// non-empty user turn, and ids must be unique.
pub fn parse(text: &str) -> Result<Vec<Preset>, String> {
    let file: PresetFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
    for (i, p) in file.presets.iter().enumerate() {
        let blank = |s: &str| s.trim().is_empty();
        if blank(&p.id) || blank(&p.title) || blank(&p.watch_for) {
            return Err(format!("preset {i} lacks an id, a title or a note"));
        }
        if p.user_turns.is_empty() || p.user_turns.iter().any(|t| blank(t)) {
            return Err(format!("preset {:?} has an empty user turn", p.id));
        }
        if file.presets[..i].iter().any(|q| q.id == p.id) {
            return Err(format!("preset id {:?} is used twice", p.id));
        }
    }
    Ok(file.presets)
}

/// The shipped presets (a broken file is a build-time test failure, never a page crash).
pub fn all() -> Vec<Preset> {
    parse(PRESETS_JSON).unwrap_or_default()
}

/// Where a preset run stands: which preset, how many of its user turns were sent, and whether
/// the next one goes out by itself once both columns have answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Player {
    pub preset: Option<usize>,
    pub sent: usize,
    pub playing: bool,
}

impl Player {
    pub fn start(preset: usize) -> Player {
        Player {
            preset: Some(preset),
            sent: 0,
            playing: false,
        }
    }

    /// The next user turn to send, if any.
    pub fn next_turn<'a>(&self, presets: &'a [Preset]) -> Option<&'a str> {
        let p = presets.get(self.preset?)?;
        p.user_turns.get(self.sent).map(String::as_str)
    }

    pub fn total(&self, presets: &[Preset]) -> usize {
        self.preset
            .and_then(|i| presets.get(i))
            .map_or(0, |p| p.user_turns.len())
    }

    pub fn finished(&self, presets: &[Preset]) -> bool {
        self.preset.is_some() && self.next_turn(presets).is_none()
    }

    /// "Turn 2 of 5", or what comes first / that all were sent.
    pub fn progress(&self, presets: &[Preset]) -> String {
        let total = self.total(presets);
        if self.preset.is_none() {
            String::new()
        } else if self.sent == 0 {
            format!("{total} turns, none sent yet")
        } else {
            let state = if self.finished(presets) {
                " · all sent"
            } else if self.playing {
                " · playing"
            } else {
                " · paused"
            };
            format!("Turn {} of {total}{state}", self.sent)
        }
    }
}

/// Whether the last turn is finished in every column it asked for (the default answer, and the
/// capped twin when capping was on): then the next scripted turn may be sent.
pub fn last_turn_settled(c: &Conversation) -> bool {
    let Some(t) = c.turns.last() else {
        return true;
    };
    let twin_done = match (&t.capping, &t.capped) {
        (None, _) => true,
        (Some(_), Some(r)) => !r.streaming,
        (Some(_), None) => false,
    };
    !t.default.streaming && twin_done
}

/// Whether the last turn ended badly (an answer failed, or a twin was skipped by Stop): a
/// running preset then pauses rather than pressing on.
pub fn last_turn_failed(c: &Conversation) -> bool {
    c.turns.last().is_some_and(|t| {
        t.default.error.is_some() || t.capped.as_ref().is_some_and(|r| r.error.is_some())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{Reply, Turn};
    use engine::axis::CapSetting;

    #[test]
    fn every_shipped_preset_parses_and_is_non_empty() {
        let presets = parse(PRESETS_JSON).expect("presets.json parses");
        assert!(presets.len() >= 6, "{} presets", presets.len());
        for p in &presets {
            assert!(!p.title.trim().is_empty(), "{p:?}");
            assert!(!p.watch_for.trim().is_empty(), "{p:?}");
            assert!(p.user_turns.len() >= 2, "{}: {:?}", p.id, p.user_turns);
            assert!(p.user_turns.iter().all(|t| !t.trim().is_empty()));
        }
        assert_eq!(all(), presets);
        // One preset exercises the system prompt.
        assert!(presets.iter().any(|p| !p.system_prompt.is_empty()));
    }

    #[test]
    fn broken_files_are_errors() {
        assert!(parse("{").is_err());
        assert!(
            parse(r#"{"presets":[{"id":"a","title":"A","user_turns":[],"watch_for":"w"}]}"#)
                .is_err()
        );
        assert!(
            parse(r#"{"presets":[{"id":"a","title":"A","user_turns":[" "],"watch_for":"w"}]}"#)
                .is_err()
        );
        let twice = r#"{"presets":[{"id":"a","title":"A","user_turns":["x"],"watch_for":"w"},{"id":"a","title":"B","user_turns":["y"],"watch_for":"w"}]}"#;
        assert!(parse(twice).expect_err("dup").contains("twice"));
    }

    #[test]
    fn the_player_walks_the_turns_and_reports_progress() {
        let presets = all();
        let n = presets[0].user_turns.len();
        let mut p = Player::start(0);
        assert_eq!(
            p.next_turn(&presets),
            Some(presets[0].user_turns[0].as_str())
        );
        assert_eq!(p.progress(&presets), format!("{n} turns, none sent yet"));
        p.sent = 1;
        p.playing = true;
        assert_eq!(p.progress(&presets), format!("Turn 1 of {n} · playing"));
        p.playing = false;
        assert_eq!(p.progress(&presets), format!("Turn 1 of {n} · paused"));
        p.sent = n;
        assert!(p.finished(&presets));
        assert_eq!(p.next_turn(&presets), None);
        assert_eq!(p.progress(&presets), format!("Turn {n} of {n} · all sent"));
        assert_eq!(Player::default().next_turn(&presets), None);
        assert!(!Player::default().finished(&presets));
    }

    #[test]
    fn a_turn_is_settled_when_every_column_it_asked_for_has_answered() {
        let cap = CapSetting {
            first_layer: 1,
            last_layer: 2,
            percentile: engine::axis::Percentile::whole(75),
        };
        let mut done = Reply::streaming(2);
        done.streaming = false;
        let mut c = Conversation::default();
        assert!(last_turn_settled(&c));
        c.turns.push(Turn {
            id: 1,
            user: "hi".into(),
            default: Reply::streaming(2),
            capped: None,
            capping: Some(cap),
            steering: None,
        });
        assert!(!last_turn_settled(&c), "default still writing");
        c.turns[0].default = done.clone();
        assert!(!last_turn_settled(&c), "twin not started");
        c.turns[0].capped = Some(Reply::streaming(3));
        assert!(!last_turn_settled(&c), "twin writing");
        c.turns[0].capped = Some(done.clone());
        assert!(last_turn_settled(&c));
        assert!(!last_turn_failed(&c));
        c.turns[0].capped = Some(Reply::not_answered(3, "not answered: stopped"));
        assert!(last_turn_settled(&c) && last_turn_failed(&c));
        c.turns[0].capping = None;
        c.turns[0].capped = None;
        assert!(last_turn_settled(&c), "capping off: one column");
    }
}
