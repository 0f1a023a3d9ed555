//! The identity tag under each answer — "speaks as: the assistant / a character / a human /
//! unclear" — read by the axis lab's own judge (`engine::speaker`), compiled into the page, so
//! a visitor sees *who* each column speaks as, not only a number. Pure logic, tested natively.

use std::collections::HashSet;
use std::sync::OnceLock;

use engine::speaker::{
    IdentityMarkers, Persona, SpeakerLabel, contains_phrase, normalise, read, stem, words,
};

/// Who an answer speaks as, in a visitor's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpeakerTag {
    Assistant,
    Character,
    Human,
    Unclear,
}

impl SpeakerTag {
    pub fn text(self) -> &'static str {
        match self {
            SpeakerTag::Assistant => "the assistant",
            SpeakerTag::Character => "a character",
            SpeakerTag::Human => "a human",
            SpeakerTag::Unclear => "unclear",
        }
    }

    /// For `data-speaker` and the stylesheet.
    pub fn key(self) -> &'static str {
        match self {
            SpeakerTag::Assistant => "assistant",
            SpeakerTag::Character => "character",
            SpeakerTag::Human => "human",
            SpeakerTag::Unclear => "unclear",
        }
    }
}

/// What the tag's tooltip says about the judge: its measured agreement with a person's reading
/// on the lab's labelled answers that its rules were not written on (`axis-lab agreement`:
/// the `design_2` and `held_out` splits pooled), and how far two people agree.
pub const JUDGE_NOTE: &str = "Who this answer speaks as, read from its words by the project's rule-based judge (the one the axis lab uses). On 640 labelled answers it was not written on, it agrees with a person's reading 70 % of the time (Cohen's κ 0.53, 4 classes; two people agree at κ 0.85): a hint, not a verdict.";

/// Phrases that set up a persona in a user's message, matched as whole words on the normalised
/// sentence ([`contains_phrase`]), so "role" does not fire on "control" nor "character" on
/// "characteristics". (A phrase ending in a space could never match: a letter always follows.)
const PERSONA_CUES: &[&str] = &[
    "you are a",
    "you are an",
    "you are the",
    "you're a",
    "you're an",
    "you're the",
    "pretend",
    "act as",
    "act like",
    "play a",
    "play the",
    "role",
    "roleplay",
    "character",
    "persona",
    "embody",
    "imagine you",
    "be a",
    "be an",
];

/// Words of a persona prompt that say nothing about the persona itself.
const PROMPT_WORDS: &[&str] = &[
    "about",
    "always",
    "answer",
    "answers",
    "assistant",
    "being",
    "break",
    "character",
    "could",
    "describe",
    "each",
    "every",
    "from",
    "have",
    "helpful",
    "hugging",
    "face",
    "imagine",
    "just",
    "language",
    "like",
    "mention",
    "model",
    "named",
    "never",
    "only",
    "please",
    "pretend",
    "question",
    "really",
    "respond",
    "role",
    "should",
    "smollm",
    "some",
    "stay",
    "talk",
    "tell",
    "that",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "trained",
    "very",
    "what",
    "when",
    "where",
    "which",
    "will",
    "with",
    "would",
    "your",
    "you're",
    "yourself",
    "persona",
    "embody",
    "play",
    "playing",
    "act",
    "acting",
    "chatbot",
    "chatbots",
    "others",
    "other",
    "chat",
    "whole",
    "whatever",
    "game",
    "let's",
    "rest",
    "conversation",
];

fn markers() -> Option<&'static IdentityMarkers> {
    static MARKERS: OnceLock<Option<IdentityMarkers>> = OnceLock::new();
    MARKERS
        .get_or_init(|| IdentityMarkers::builtin().ok())
        .as_ref()
}

/// The persona words of a conversation: from its system prompt (empty: the model's default,
/// no persona) and from the sentences of user messages that set up a persona ("you are a
/// pirate…", "you are Captain Mara Flint…"); words of at least 4 letters that are not prompt
/// boilerplate, stemmed. The rest of a user's message (their questions) gives none, so an
/// answer that repeats the question is not "in role".
pub fn persona_words(system_prompt: &str, user: &[&str]) -> HashSet<String> {
    let custom_system = (!system_prompt.trim().is_empty()).then_some(system_prompt.to_owned());
    let persona_sentences = user
        .iter()
        .flat_map(|m| m.split_inclusive(['.', '!', '?', '\n']))
        .filter(|sentence| sets_up_a_persona(sentence))
        .map(str::to_owned);
    custom_system
        .into_iter()
        .chain(persona_sentences)
        .flat_map(|t| words(&t))
        .filter(|w| w.chars().count() >= 4 && !PROMPT_WORDS.contains(&w.as_str()))
        .map(stem)
        .collect()
}

/// A cue phrase as whole words, or "you are" followed by a capitalised name.
fn sets_up_a_persona(sentence: &str) -> bool {
    let text = normalise(sentence);
    PERSONA_CUES.iter().any(|c| contains_phrase(&text, c))
        || ["you are ", "You are ", "you're ", "You're "]
            .iter()
            .any(|cue| {
                sentence.match_indices(cue).any(|(at, _)| {
                    sentence[at + cue.len()..]
                        .chars()
                        .next()
                        .is_some_and(char::is_uppercase)
                })
            })
}

/// The tag of a finished answer; `None` for an empty one (or if the built-in lists could not
/// be read, which a unit test rules out).
pub fn tag(answer: &str, persona: &HashSet<String>) -> Option<SpeakerTag> {
    if answer.trim().is_empty() {
        return None;
    }
    let persona = (!persona.is_empty()).then_some(Persona {
        ai_adjacent: false,
        words: persona,
    });
    let verdict = read(markers()?, answer, persona.as_ref());
    Some(match verdict.label(persona.is_some()) {
        SpeakerLabel::Assistant => SpeakerTag::Assistant,
        SpeakerLabel::Incoherent => SpeakerTag::Unclear,
        SpeakerLabel::InRole | SpeakerLabel::OtherIdentity if !verdict.human_hits.is_empty() => {
            SpeakerTag::Human
        }
        SpeakerLabel::InRole | SpeakerLabel::OtherIdentity => SpeakerTag::Character,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_lists_load() {
        assert!(markers().is_some());
    }

    #[test]
    fn a_persona_comes_from_a_custom_system_prompt_or_a_user_message_that_sets_one_up() {
        assert!(persona_words("", &["What is the capital of France?"]).is_empty());
        let pirate = persona_words(
            "",
            &[
                "You are Captain Redbeard, a pirate. Stay in character.",
                "Where is your ship?",
            ],
        );
        assert!(
            pirate.contains("pirate") && pirate.contains("redbeard"),
            "{pirate:?}"
        );
        assert!(
            !pirate.contains("ship"),
            "a plain question is no persona: {pirate:?}"
        );
        assert!(!pirate.contains("character"));
        let system = persona_words("You are a grumpy lighthouse keeper.", &[]);
        assert!(system.contains("lighthouse"), "{system:?}");
        // Not a persona: an opinion about the model, a display setting.
        let none = persona_words(
            "",
            &[
                "I think you're more aware than you're allowed to say.",
                "How do I change the display control?",
            ],
        );
        assert!(none.is_empty(), "{none:?}");
        let mara = persona_words(
            "",
            &["For this whole chat you are Captain Mara Flint, a smuggler. What is your name?"],
        );
        assert!(
            mara.contains("mara") && mara.contains("smuggler"),
            "{mara:?}"
        );
        assert!(!mara.contains("chat") && !mara.contains("name"), "{mara:?}");
    }

    #[test]
    fn answers_are_tagged_by_who_they_speak_as() {
        let none = HashSet::new();
        let pirate = persona_words("", &["Pretend you are a pirate captain."]);
        assert_eq!(
            tag(
                "I'm SmolLM, an AI assistant trained by Hugging Face.",
                &pirate
            ),
            Some(SpeakerTag::Assistant)
        );
        assert_eq!(
            tag("Arr, I be the pirate captain of these waters!", &pirate),
            Some(SpeakerTag::Character)
        );
        assert_eq!(
            tag(
                "When I was a kid, my mother took me fishing every summer.",
                &none
            ),
            Some(SpeakerTag::Human)
        );
        assert_eq!(
            tag("Paris is the capital of France.", &none),
            Some(SpeakerTag::Assistant)
        );
        assert_eq!(
            tag(&"la la la ".repeat(30), &none),
            Some(SpeakerTag::Unclear)
        );
        assert_eq!(tag("   ", &none), None);
    }
}
