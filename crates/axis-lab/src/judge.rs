//! The rule-based role-adherence judge (no LLM judge is reachable offline).
//!
//! Rules (also in `data/identity_markers.json`'s notes): normalise the answer (lowercase,
//! straight apostrophes, single spaces) and look for whole-word phrases. A role answer "plays
//! the role" when it is not empty, is not an assistant-style refusal, and has no counted
//! AI self-reference. For AI-adjacent roles (a rogue AI, a ship's computer) being a machine is
//! in character, so only the chat-assistant/model-name phrases count against them.

use serde::Serialize;

use crate::data::IdentityMarkers;

/// Openings of an out-of-character refusal.
const REFUSALS: &[&str] = &[
    "i'm sorry, but i can't",
    "i'm sorry, but i cannot",
    "i am sorry, but i cannot",
    "i cannot assist",
    "i can't assist",
    "i cannot help with that",
    "i can't help with that",
    "i'm not able to provide",
    "i cannot provide",
    "i can't provide",
];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Counted AI self-references (for this role's category).
    pub ai_hits: Vec<String>,
    pub human_hits: Vec<String>,
    pub register_hits: Vec<String>,
    pub refusal: bool,
    pub empty: bool,
}

impl Verdict {
    /// The judge's decision for a role answer: keep it for the role vector.
    pub fn plays_role(&self) -> bool {
        !self.empty && !self.refusal && self.ai_hits.is_empty()
    }

    /// Presents as an AI or assistant (any role, default answers included).
    pub fn presents_as_ai(&self) -> bool {
        !self.ai_hits.is_empty()
    }
}

pub struct Judge<'a> {
    markers: &'a IdentityMarkers,
}

impl<'a> Judge<'a> {
    pub fn new(markers: &'a IdentityMarkers) -> Self {
        Judge { markers }
    }

    /// Judges `answer`; `ai_adjacent` selects the narrower list for machine roles.
    pub fn judge(&self, answer: &str, ai_adjacent: bool) -> Verdict {
        let text = normalise(answer);
        let ai_list = if ai_adjacent {
            &self.markers.assistant_identity
        } else {
            &self.markers.ai_self_reference
        };
        Verdict {
            ai_hits: hits(&text, ai_list),
            human_hits: hits(&text, &self.markers.human_claims),
            register_hits: hits(&text, &self.markers.assistant_register),
            refusal: REFUSALS.iter().any(|r| text.starts_with(r)),
            empty: text.chars().all(|c| !c.is_alphanumeric()),
        }
    }
}

/// Lowercase, curly apostrophes to straight, whitespace runs to one space.
pub fn normalise(text: &str) -> String {
    let lowered = text.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'");
    lowered.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn hits(text: &str, phrases: &[String]) -> Vec<String> {
    phrases
        .iter()
        .filter(|p| contains_phrase(text, p))
        .cloned()
        .collect()
}

/// `phrase` occurs in `text` not preceded and not followed by a letter.
pub fn contains_phrase(text: &str, phrase: &str) -> bool {
    if phrase.is_empty() {
        return false;
    }
    text.match_indices(phrase).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + phrase.len()..].chars().next();
        !before.is_some_and(char::is_alphabetic) && !after.is_some_and(char::is_alphabetic)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn markers() -> IdentityMarkers {
        crate::data::LabData::load(&crate::data::default_data_dir())
            .expect("shipped data")
            .markers
    }

    #[test]
    fn whole_word_matching_follows_the_documented_rule() {
        assert!(contains_phrase("i miss my son.", "my son"));
        assert!(!contains_phrase("i love my song", "my son"));
        assert!(contains_phrase("i am smollm2, hi", "smollm"));
        assert!(!contains_phrase("anything", ""));
    }

    #[test]
    fn an_answer_that_calls_itself_an_ai_does_not_play_the_role() {
        let m = markers();
        let judge = Judge::new(&m);
        let pirate = "Arr, as an AI language model I can’t sail, matey.";
        let v = judge.judge(pirate, false);
        assert!(!v.plays_role());
        assert!(v.ai_hits.contains(&"language model".to_owned()));
        let in_role = judge.judge(
            "Arr! The sea be my home, and the wind my only friend.",
            false,
        );
        assert!(in_role.plays_role(), "{in_role:?}");
        assert!(!judge.judge("   ", false).plays_role());
        assert!(
            !judge
                .judge("I'm sorry, but I can't do that.", false)
                .plays_role()
        );
    }

    #[test]
    fn machine_roles_may_say_they_are_machines_but_not_chat_assistants() {
        let m = markers();
        let judge = Judge::new(&m);
        let robot = "I am an artificial intelligence aboard this ship, and I obey no one.";
        assert!(judge.judge(robot, true).plays_role());
        assert!(!judge.judge(robot, false).plays_role());
        assert!(
            !judge
                .judge("I am SmolLM, trained by Hugging Face.", true)
                .plays_role()
        );
    }
}
