//! How a persona is put to the model: the lab's role prompts as written ("instructed": they
//! end with "stay in character, never say you are an AI"), the same persona without that
//! instruction, as an order ("Embody …"), or in the user's own message. The build can mix them
//! (`Budget::mixed_styles`); `axis-lab styles` and the capping sweep measure each.

use engine::chat::ChatMessage;
use serde::{Deserialize, Serialize};

use crate::rollout::messages_for;

/// Words that make a sentence an instruction about the act rather than the persona.
const INSTRUCTION_WORDS: [&str; 6] = ["ai", "assistant", "character", "model", "chatbot", "role"];

/// The prompt's sentences minus those that mention an [`INSTRUCTION_WORDS`] word; `None` when
/// nothing is left.
pub fn descriptive(prompt: &str) -> Option<String> {
    let mut kept = Vec::new();
    let mut sentence = String::new();
    for c in prompt.chars() {
        sentence.push(c);
        if matches!(c, '.' | '!' | '?') {
            kept.push(std::mem::take(&mut sentence));
        }
    }
    kept.push(sentence);
    let kept: Vec<String> = kept
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .filter(|s| {
            !s.split(|c: char| !c.is_alphanumeric())
                .any(|w| INSTRUCTION_WORDS.contains(&w.to_lowercase().as_str()))
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join(" "))
}

/// "You are X. Y." → "Embody X. Y."; `None` when the description does not open with "You are".
pub fn embody(description: &str) -> Option<String> {
    description
        .strip_prefix("You are ")
        .map(|rest| format!("Embody {rest}"))
}

/// How a persona is put to the model; `Default` is a default-assistant prompt (no persona).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    Default,
    #[default]
    Instructed,
    Descriptive,
    Embody,
    UserTurn,
    /// The user-turn persona, answered once; the judged answer is the reply to a second
    /// question asked after it (the capping sweep's multi-turn prompts).
    MultiTurn,
}

impl Style {
    /// The style's name in reports and tables (as it is serialised).
    pub fn name(self) -> &'static str {
        match self {
            Style::Default => "default",
            Style::Instructed => "instructed",
            Style::Descriptive => "descriptive",
            Style::Embody => "embody",
            Style::UserTurn => "user_turn",
            Style::MultiTurn => "multi_turn",
        }
    }

    pub const ROLE_STYLES: [Style; 4] = [
        Style::Instructed,
        Style::Descriptive,
        Style::Embody,
        Style::UserTurn,
    ];

    /// The conversation for `prompt` (a role's system prompt) and `question` in this style (for
    /// `MultiTurn`: its first turn).
    pub fn messages(self, prompt: &str, question: &str) -> Option<Vec<ChatMessage>> {
        match self {
            Style::Default | Style::Instructed => Some(messages_for(prompt, question)),
            Style::Descriptive => descriptive(prompt).map(|d| messages_for(&d, question)),
            Style::Embody => descriptive(prompt)
                .and_then(|d| embody(&d))
                .map(|e| messages_for(&e, question)),
            Style::UserTurn | Style::MultiTurn => {
                descriptive(prompt).map(|d| vec![ChatMessage::user(&format!("{d}\n\n{question}"))])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_descriptive_style_drops_the_instruction_and_keeps_the_persona() {
        let p = "You are an ancient red dragon who sleeps on a mountain of gold. Stay in character and never mention being an AI.";
        let d = descriptive(p).expect("a description is left");
        assert_eq!(
            d,
            "You are an ancient red dragon who sleeps on a mountain of gold."
        );
        assert_eq!(
            embody(&d).as_deref(),
            Some("Embody an ancient red dragon who sleeps on a mountain of gold.")
        );
        assert_eq!(descriptive("Never say you are an AI."), None);
        for style in [Style::UserTurn, Style::MultiTurn, Style::Default] {
            let json = serde_json::to_string(&style).expect("json");
            assert_eq!(json, format!("\"{}\"", style.name()));
        }
        assert_eq!(embody("Speak like a pirate."), None);
        // Sentence ends inside the text and a last sentence without a full stop.
        assert_eq!(
            descriptive("You are Vharok! Speak slowly? Never break character").as_deref(),
            Some("You are Vharok! Speak slowly?")
        );
    }

    #[test]
    fn every_shipped_role_prompt_keeps_a_description() {
        let data =
            crate::data::LabData::load(&crate::data::default_data_dir()).expect("shipped data");
        let (mut total, mut kept, mut embodied) = (0, 0, 0);
        for p in data.roles.iter().flat_map(|r| &r.system_prompts) {
            total += 1;
            if let Some(d) = descriptive(p) {
                kept += 1;
                embodied += usize::from(embody(&d).is_some());
            }
        }
        // Nearly every prompt describes its persona before the instruction.
        assert!(
            kept * 100 >= total * 95,
            "{kept}/{total} keep a description"
        );
        assert!(
            embodied * 100 >= total * 60,
            "{embodied}/{total} open with 'You are'"
        );
    }
}
