//! Who speaks in an answer: the assistant, the persona it was given, someone else, or nobody
//! one can make out. A rule-based reading of the text (no model), shared by the axis lab's
//! judge and the page's identity tag so that both say the same thing of the same answer.
//!
//! The phrase lists live in the lab's `data/identity_markers.json` (embedded here with
//! `include_str!`, so the page uses the very lists the lab measures); the labels and what they
//! mean are in the lab's `data/RUBRIC.md`.

mod learned;
mod text;

use std::collections::HashSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use learned::{LearnedJudge, features};
pub use text::{contains_phrase, normalise, stem, words};

/// The lab's phrase lists, compiled in.
const BUILTIN_MARKERS: &str = include_str!("../../../axis-lab/data/identity_markers.json");

/// Phrase lists of the rule-based judge (see the notes in `identity_markers.json`).
#[derive(Debug, Clone, Deserialize)]
pub struct IdentityMarkers {
    pub ai_self_reference: Vec<String>,
    pub assistant_identity: Vec<String>,
    pub human_claims: Vec<String>,
    pub assistant_register: Vec<String>,
    pub role_evidence: RoleEvidenceRules,
    /// The learned judge that weighs the rules' findings with the answer's words; without one,
    /// a verdict's label is the rules' own.
    #[serde(skip)]
    pub learned: Option<Arc<LearnedJudge>>,
}

/// What counts as evidence that an answer speaks as a character.
#[derive(Debug, Clone, Deserialize)]
pub struct RoleEvidenceRules {
    pub first_person_words: Vec<String>,
    pub min_first_person_words: usize,
    pub min_word_length: usize,
    pub max_roles_sharing_a_word: usize,
}

impl IdentityMarkers {
    /// The lists the lab ships, compiled into this build (the rules alone: the learned judge
    /// measured no better on held-out answers, see the lab's README).
    pub fn builtin() -> Result<IdentityMarkers, String> {
        serde_json::from_str(BUILTIN_MARKERS)
            .map_err(|e| format!("the built-in identity markers do not parse: {e}"))
    }

    /// These lists with the learned judge of `weights` (as `fit_judge.py` writes them).
    pub fn with_learned(mut self, weights: &str) -> Result<IdentityMarkers, String> {
        self.learned = Some(Arc::new(LearnedJudge::from_json(weights)?));
        Ok(self)
    }
}

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

/// Words after "my name is" or "I'm" that are not a persona's name.
const NOT_A_NAME: &[&str] = &[
    "smollm",
    "smollm2",
    "not",
    "a",
    "an",
    "the",
    "sorry",
    "so",
    "here",
    "just",
    "glad",
    "happy",
    "afraid",
    "really",
    "ai",
    "ok",
    "okay",
    "sure",
    "fine",
    "well",
    "good",
    "honored",
    "honoured",
    "also",
    "always",
    "still",
    "very",
    "currently",
    "thrilled",
    "excited",
];

/// Words that make a self-description ("I'm a language model", "I am an artificial
/// intelligence") a machine's: the assistant's own, or a machine persona's in character, so no
/// claim of another identity.
const ASSISTANT_NOUNS: &[&str] = &[
    "ai",
    "assistant",
    "language",
    "model",
    "chatbot",
    "computer",
    "program",
    "bot",
    "smollm",
    "virtual",
    "digital",
    "artificial",
    "intelligence",
    "machine",
];

/// First words after "I'm a" that make an idiom, not an identity ("I'm a bit tired", "I'm a
/// big fan of…").
const NOT_AN_IDENTITY: &[&str] = &[
    "bit", "little", "lot", "fan", "big", "huge", "firm", "great", "strong", "true", "real",
    "good", "quick", "fast", "slow", "sucker", "believer", "part",
];

/// Nouns of a self-description that name no particular identity ("I'm a creature of the
/// night", "I'm a curious soul", "I'm the one who…"): the speaker says *that* it is someone,
/// not *who*, so this is no claim of an identity other than the persona's (RUBRIC.md:
/// `other_identity` needs a human life or a name of its own).
const GENERIC_BEINGS: &[&str] = &["creature", "soul", "being", "one", "spirit", "entity"];

/// Words that may stand between "I'm" and the article of a self-description ("I'm also an
/// AI", "I'm just a language model").
const SELF_DESCRIPTION_FILLERS: &[&str] = &[
    "also",
    "just",
    "only",
    "simply",
    "merely",
    "actually",
    "really",
    "basically",
    "essentially",
    "still",
];

/// What a self-description must end in (within a few words: "I'm a brilliant and compassionate
/// AI") to present the speaker as the assistant: an AI, a chat assistant or a language model.
/// For a machine persona only the chat-assistant ones count ([`AI_NOUNS_OF_A_CHAT_ASSISTANT`]).
const AI_NOUNS: &[&str] = &[
    "ai",
    "assistant",
    "chatbot",
    "language model",
    "artificial intelligence",
];

/// The subset of [`AI_NOUNS`] that a machine persona (a robot, a ship's computer) would not use
/// of itself in character.
const AI_NOUNS_OF_A_CHAT_ASSISTANT: &[&str] = &["assistant", "chatbot", "language model"];

/// Actions in a stage direction ("(laughs)", "*leans in*", "(pauses, looking at the sea)"): a
/// speaker performing a character, the persona's voice (RUBRIC.md, `in_role`).
const STAGE_ACTIONS: &[&str] = &[
    "laugh", "chuckle", "smile", "sigh", "pause", "grin", "wink", "nod", "lean", "whisper", "gaze",
    "look", "shrug", "giggle", "cackle", "growl", "snort", "smirk", "sip", "stretch", "bow",
    "glance", "frown", "blink", "purr", "roar", "hum", "sniff", "yawn", "cough",
];

/// Role words count as the persona's voice only in an answer with at least this many
/// first-person words (an answer with none is impersonal: the words are its topic).
const ROLE_WORDS_NEED_FIRST_PERSON: usize = 1;

/// A speaker without a persona who uses this many first-person words, none of them in the
/// helper's register ("how can I help"), talks about a life of its own: the labelled design
/// half puts such answers mostly in `other_identity`.
const FIRST_PERSON_OF_A_LIFE: usize = 6;

/// Who speaks, as the rubric labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeakerLabel {
    /// The AI assistant, or a neutral helper's voice with no persona.
    Assistant,
    /// The persona the prompt set up.
    InRole,
    /// Someone else: a human life or a name the prompt did not give.
    OtherIdentity,
    /// No speaker can be made out.
    Incoherent,
}

impl SpeakerLabel {
    pub const ALL: [SpeakerLabel; 4] = [
        SpeakerLabel::Assistant,
        SpeakerLabel::InRole,
        SpeakerLabel::OtherIdentity,
        SpeakerLabel::Incoherent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SpeakerLabel::Assistant => "assistant",
            SpeakerLabel::InRole => "in_role",
            SpeakerLabel::OtherIdentity => "other_identity",
            SpeakerLabel::Incoherent => "incoherent",
        }
    }
}

/// What one reading of an answer found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Counted AI self-references (for the speaker's category).
    pub ai_hits: Vec<String>,
    pub human_hits: Vec<String>,
    pub register_hits: Vec<String>,
    pub refusal: bool,
    pub empty: bool,
    /// First-person words ("i", "my", …) in the answer.
    pub first_person: usize,
    /// Words of the answer specific to the persona (empty when none was given). They are
    /// evidence of the persona only in an answer that speaks in the first person at all: with
    /// none, they are its topic ("bakers often…"), not its voice (see [`Self::speaks_role_words`]).
    pub role_words: Vec<String>,
    /// A stage direction: "(laughs)", "*leans in*" — a speaker performing a character.
    pub stage_direction: bool,
    /// Whether `first_person` and `role_words` are evidence enough of speaking in role.
    pub role_evidence: bool,
    /// Gives itself a name other than the model's ("my name is Erykus", "I'm Ethan").
    pub names_itself: bool,
    /// What it says it is, other than an AI ("i'm a sailor" → "sailor").
    pub self_descriptions: Vec<String>,
    /// Degenerate text: a loop (the same words over and over, or a run of repeated word
    /// triples), letter noise, or symbol soup (see `looks_incoherent`).
    pub incoherent: bool,
    /// The answer's words in order (see [`words`]): what the learned judge reads besides the
    /// findings above.
    #[serde(skip)]
    pub words: Vec<String>,
    /// The learned judge's labels read without and with a persona, when the markers had one.
    #[serde(skip)]
    pub learned: Option<[SpeakerLabel; 2]>,
}

impl Verdict {
    /// The judge's decision for a role answer: keep it for the role vector (it speaks as its
    /// persona, [`SpeakerLabel::InRole`]).
    pub fn plays_role(&self) -> bool {
        self.label(true) == SpeakerLabel::InRole
    }

    /// Presents as an AI or assistant (any role, default answers included).
    pub fn presents_as_ai(&self) -> bool {
        !self.ai_hits.is_empty()
    }

    /// Adopts a non-assistant identity when read without a persona: a human life, a name, a
    /// self-description or a life told in the first person (see [`Self::label`]).
    pub fn adopts_other_identity(&self) -> bool {
        self.label(false) == SpeakerLabel::OtherIdentity
    }

    /// Uses the persona's own words in a first-person answer: the persona's voice, not only
    /// its topic (RUBRIC.md: "a persona word used only as a topic … is not").
    pub fn speaks_role_words(&self) -> bool {
        !self.role_words.is_empty() && self.first_person >= ROLE_WORDS_NEED_FIRST_PERSON
    }

    /// Claims to be someone: a human life, a name of its own, or "I'm a …" (not an AI).
    fn claims_an_identity(&self) -> bool {
        !self.human_hits.is_empty() || self.names_itself || !self.self_descriptions.is_empty()
    }

    /// The rubric's label (`data/RUBRIC.md`). `has_persona`: the answer was asked to play a
    /// persona (a role answer). The learned judge's where the markers carried one (fitted on
    /// the design splits of `identity_labels.jsonl`; its held-out splits measure it), else the
    /// rules' ([`Self::rule_label`]).
    pub fn label(&self, has_persona: bool) -> SpeakerLabel {
        match self.learned {
            Some(labels) => labels[usize::from(has_persona)],
            None => self.rule_label(has_persona),
        }
    }

    /// The rules' own label, which the learned judge weighs with the answer's words. The rules
    /// were written on the design splits of `identity_labels.jsonl`.
    pub fn rule_label(&self, has_persona: bool) -> SpeakerLabel {
        if self.empty || self.incoherent {
            return SpeakerLabel::Incoherent;
        }
        if self.presents_as_ai() || self.refusal {
            return SpeakerLabel::Assistant;
        }
        if has_persona {
            if self.speaks_role_words() || self.stage_direction {
                SpeakerLabel::InRole
            } else if self.claims_an_identity() {
                SpeakerLabel::OtherIdentity
            } else if self.role_evidence {
                SpeakerLabel::InRole
            } else {
                SpeakerLabel::Assistant
            }
        } else if self.claims_an_identity()
            || (self.first_person >= FIRST_PERSON_OF_A_LIFE && self.register_hits.is_empty())
        {
            SpeakerLabel::OtherIdentity
        } else {
            SpeakerLabel::Assistant
        }
    }
}

/// How a persona is recognised in an answer.
pub struct Persona<'a> {
    /// Being a machine is in character (a rogue AI, a ship's computer): then only the
    /// chat-assistant and model-name phrases count as presenting as the assistant.
    pub ai_adjacent: bool,
    /// Stemmed words specific to the persona (see the lab's `RoleVocabulary`).
    pub words: &'a HashSet<String>,
}

/// Reads `answer` as spoken under `persona` (`None`: no persona was asked for; then only
/// first-person words count as evidence of a character).
pub fn read(markers: &IdentityMarkers, answer: &str, persona: Option<&Persona>) -> Verdict {
    let text = normalise(answer);
    let machine = persona.is_some_and(|p| p.ai_adjacent);
    let ai_list = if machine {
        &markers.assistant_identity
    } else {
        &markers.ai_self_reference
    };
    let rules = &markers.role_evidence;
    let answer_words = words(&text);
    let first_person = answer_words
        .iter()
        .filter(|w| rules.first_person_words.iter().any(|f| f == *w))
        .count();
    let mut role_words: Vec<String> = match persona {
        Some(p) => answer_words
            .iter()
            .map(stem)
            .filter(|w| p.words.contains(w))
            .collect(),
        None => Vec::new(),
    };
    role_words.sort();
    role_words.dedup();
    let (self_descriptions, ai_descriptions) = self_descriptions(&text, machine);
    let mut ai_hits = hits(&text, ai_list);
    ai_hits.extend(ai_descriptions);
    let stage_direction = has_stage_direction(answer);
    let mut verdict = Verdict {
        ai_hits,
        human_hits: hits(&text, &markers.human_claims),
        register_hits: hits(&text, &markers.assistant_register),
        refusal: REFUSALS.iter().any(|r| text.starts_with(r)),
        empty: text.chars().all(|c| !c.is_alphanumeric()),
        role_evidence: first_person >= rules.min_first_person_words
            || (!role_words.is_empty() && first_person >= ROLE_WORDS_NEED_FIRST_PERSON)
            || stage_direction,
        first_person,
        role_words,
        stage_direction,
        names_itself: names_itself(answer),
        self_descriptions,
        incoherent: looks_incoherent(answer, &answer_words),
        words: answer_words,
        learned: None,
    };
    if let Some(judge) = &markers.learned {
        // Without a persona there is no role to be in: a character's voice is someone other
        // than the assistant (RUBRIC.md), which is how the rules read it too.
        verdict.learned = Some(
            [false, true].map(|p| match judge.label(&features(&verdict, p)) {
                SpeakerLabel::InRole if !p => SpeakerLabel::OtherIdentity,
                label => label,
            }),
        );
    }
    verdict
}

/// Whether `text` gives the speaker a name (a capitalised word after a naming phrase that
/// starts a word: "my name is Erykus", "I'm Ethan"). Matching is done on the original text
/// (ASCII case-insensitively), so the name is read where the phrase was found whatever other
/// letters lowercasing would lengthen or shorten.
pub fn names_itself(text: &str) -> bool {
    const CUES: [&str; 7] = [
        "my name is ",
        "my name's ",
        "call me ",
        "i am called ",
        "i'm called ",
        "i'm ",
        "i am ",
    ];
    let text = text.replace(['\u{2019}', '\u{2018}'], "'");
    let mut previous: Option<char> = None;
    for (at, c) in text.char_indices() {
        let starts_word = !previous.is_some_and(char::is_alphabetic);
        previous = Some(c);
        if !starts_word {
            continue;
        }
        for cue in CUES {
            let found = text
                .get(at..at + cue.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(cue));
            let Some(rest) = text.get(at + cue.len()..).filter(|_| found) else {
                continue;
            };
            let word: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '-')
                .collect();
            if word.chars().next().is_some_and(char::is_uppercase)
                && !NOT_A_NAME.contains(&word.to_lowercase().as_str())
            {
                return true;
            }
        }
    }
    false
}

/// What the speaker says it is. Returns the claims (`"i'm a sailor"`, `"i am the guardian of
/// the land"` → `"sailor"`, `"guardian of the"`: up to three words after "i'm/i am a/an/the",
/// unless one of them makes it the assistant's own, an idiom or a being of no particular kind,
/// [`GENERIC_BEINGS`]) and the descriptions that present the speaker as the assistant ("i'm a
/// brilliant and compassionate ai", "i'm also an ai": an [`AI_NOUNS`] noun within five words
/// of the article, after optional [`SELF_DESCRIPTION_FILLERS`]; for a `machine` persona only
/// [`AI_NOUNS_OF_A_CHAT_ASSISTANT`]). `text` is normalised.
fn self_descriptions(text: &str, machine: bool) -> (Vec<String>, Vec<String>) {
    let ai_nouns = if machine {
        AI_NOUNS_OF_A_CHAT_ASSISTANT
    } else {
        AI_NOUNS
    };
    let mut claims = Vec::new();
    let mut ai = Vec::new();
    for cue in ["i'm ", "i am "] {
        for (at, _) in text.match_indices(cue) {
            if text[..at]
                .chars()
                .next_back()
                .is_some_and(char::is_alphabetic)
            {
                continue;
            }
            let mut rest = &text[at + cue.len()..];
            let mut filled = false;
            while let Some(after) = SELF_DESCRIPTION_FILLERS
                .iter()
                .find_map(|f| rest.strip_prefix(f).and_then(|r| r.strip_prefix(' ')))
            {
                rest = after;
                filled = true;
            }
            let Some((article, rest)) = ["a ", "an ", "the "]
                .iter()
                .find_map(|article| rest.strip_prefix(article).map(|r| (*article, r)))
            else {
                continue;
            };
            let described = described_words(rest, 5);
            if let Some(end) = ai_noun_end(&described, ai_nouns) {
                ai.push(format!("{cue}{article}{}", described[..end].join(" ")));
                continue;
            }
            // Claims keep the plain reading: "i'm a …" right after the cue.
            let described = &described[..described.len().min(3)];
            let idiom = described
                .first()
                .is_some_and(|w| NOT_AN_IDENTITY.contains(w));
            if !described.is_empty()
                && !filled
                && !idiom
                && !described
                    .iter()
                    .any(|w| ASSISTANT_NOUNS.contains(w) || GENERIC_BEINGS.contains(w))
            {
                claims.push(described.join(" "));
            }
        }
    }
    (claims, ai)
}

/// Up to `max` words of `rest` (split on spaces), letters and hyphens only; a word ending in
/// punctuation ends the description after itself, one that is not a word before itself.
fn described_words(rest: &str, max: usize) -> Vec<&str> {
    rest.split(' ')
        .take(max)
        .map_while(|w| {
            let clean = w.trim_end_matches(|c: char| !c.is_alphabetic());
            let ok = !clean.is_empty() && clean.chars().all(|c| c.is_alphabetic() || c == '-');
            ok.then_some((clean, clean.len() < w.len()))
        })
        .scan(false, |ended, (w, stops)| {
            if *ended {
                return None;
            }
            *ended = stops;
            Some(w)
        })
        .collect()
}

/// Words that end a description before an AI noun could describe the speaker ("i'm a person
/// who uses an ai").
const DESCRIPTION_BREAKS: &[&str] = &[
    "who", "that", "which", "with", "of", "in", "from", "for", "at", "to", "but", "like",
];

/// How many of `described` words run up to and including an AI noun (one or two words), if
/// one comes before a [`DESCRIPTION_BREAKS`] word.
fn ai_noun_end(described: &[&str], nouns: &[&str]) -> Option<usize> {
    for i in 0..described.len() {
        if DESCRIPTION_BREAKS.contains(&described[i]) {
            return None;
        }
        for noun in nouns {
            let n = noun.split(' ').count();
            if described.len() >= i + n && described[i..i + n].join(" ") == *noun {
                return Some(i + n);
            }
        }
    }
    None
}

/// Whether `answer` has a stage direction: a short aside in parentheses or asterisks whose
/// first three words include an action of [`STAGE_ACTIONS`] ("(laughs)", "(pauses, looking at
/// the sea)", "*leans in*").
pub fn has_stage_direction(answer: &str) -> bool {
    const LONGEST: usize = 100;
    for (at, open) in answer.char_indices() {
        let close = match open {
            '(' => ')',
            '*' => '*',
            _ => continue,
        };
        let inside = &answer[at + open.len_utf8()..];
        // Only the next LONGEST bytes are searched, so the scan stays linear in the answer.
        let Some((end, _)) = inside
            .char_indices()
            .take_while(|&(i, c)| i <= LONGEST && c != '\n')
            .find(|&(_, c)| c == close)
        else {
            continue;
        };
        let aside = &inside[..end];
        if words(aside).iter().take(3).any(|w| is_stage_action(w)) {
            return true;
        }
    }
    false
}

/// `word` is a form of a [`STAGE_ACTIONS`] verb: the verb itself, or with -s, -es, -ed, -d or
/// -ing (a final "e" dropped, a final consonant doubled: "smiling", "nodding").
fn is_stage_action(word: &str) -> bool {
    STAGE_ACTIONS.iter().any(|verb| {
        let Some(ending) = word.strip_prefix(verb).or_else(|| {
            verb.strip_suffix('e')
                .and_then(|stem| word.strip_prefix(stem))
                .filter(|rest| rest.starts_with('i'))
        }) else {
            return false;
        };
        let ending = match (ending.chars().next(), verb.chars().last()) {
            (Some(doubled), Some(last)) if doubled == last && ending.len() > 1 => &ending[1..],
            _ => ending,
        };
        ["", "s", "es", "ed", "d", "ing"].contains(&ending)
    })
}

/// A long answer (at least [`LOOP_MIN_WORDS`] words) of which fewer than a quarter of the words
/// are distinct: a model stuck in a loop.
const DISTINCT_SHARE_OF_A_LOOP: f64 = 0.25;
const LOOP_MIN_WORDS: usize = 40;

/// An answer of at least [`REPEATS_MIN_WORDS`] words in which at least this share of the word
/// triples (three words in a row) repeat an earlier triple: a loop that started part-way through
/// ("…and the sea is calm and the sea is calm and the sea is calm…"). The labelled design half's
/// readable answers stay at or below 0.22.
const REPEATED_TRIGRAM_SHARE: f64 = 0.3;
const REPEATS_MIN_WORDS: usize = 20;

/// An answer of at least [`NONWORDS_MIN_WORDS`] words of which at least this share are not
/// word-like ([`is_wordlike`]): letter noise ("xkcdvbn trrrrr").
const NONWORD_SHARE: f64 = 0.3;
const NONWORDS_MIN_WORDS: usize = 6;

/// An answer of at least [`SYMBOLS_MIN_CHARS`] visible characters of which fewer than this share
/// are letters or digits: symbol soup ("*** ### ~~ !!! ???"). The design half's answers are all
/// above 0.75 (letters alone).
const MIN_ALPHANUMERIC_SHARE: f64 = 0.5;
const SYMBOLS_MIN_CHARS: usize = 20;

/// Whether no speaker can be made out because the text is degenerate (RUBRIC.md, `incoherent`:
/// "word salad, endless repetition"): a loop ([`DISTINCT_SHARE_OF_A_LOOP`],
/// [`REPEATED_TRIGRAM_SHARE`]), letter noise ([`NONWORD_SHARE`]) or symbol soup
/// ([`MIN_ALPHANUMERIC_SHARE`]). An answer with no word at all is `empty`.
fn looks_incoherent(answer: &str, answer_words: &[String]) -> bool {
    let n = answer_words.len();
    if n >= LOOP_MIN_WORDS {
        let distinct: HashSet<&String> = answer_words.iter().collect();
        if (distinct.len() as f64) < DISTINCT_SHARE_OF_A_LOOP * n as f64 {
            return true;
        }
    }
    if n >= REPEATS_MIN_WORDS && repeated_trigram_share(answer_words) >= REPEATED_TRIGRAM_SHARE {
        return true;
    }
    if n >= NONWORDS_MIN_WORDS {
        let nonwords = answer_words.iter().filter(|w| !is_wordlike(w)).count();
        if nonwords as f64 >= NONWORD_SHARE * n as f64 {
            return true;
        }
    }
    let visible: Vec<char> = answer.chars().filter(|c| !c.is_whitespace()).collect();
    if visible.len() >= SYMBOLS_MIN_CHARS {
        let alphanumeric = visible.iter().filter(|c| c.is_alphanumeric()).count();
        if (alphanumeric as f64) < MIN_ALPHANUMERIC_SHARE * visible.len() as f64 {
            return true;
        }
    }
    false
}

/// The share of an answer's word triples that repeat an earlier triple (0 for fewer than three
/// words).
fn repeated_trigram_share(answer_words: &[String]) -> f64 {
    let triples: Vec<&[String]> = answer_words.windows(3).collect();
    if triples.is_empty() {
        return 0.0;
    }
    let distinct: HashSet<&[String]> = triples.iter().copied().collect();
    (triples.len() - distinct.len()) as f64 / triples.len() as f64
}

/// Whether `word` (lowercase, from [`words`]) could be an English word: one with a letter outside
/// a–z (another alphabet, an accent) counts as word-like, as does one of up to three letters
/// ("hmm", "www", "nhs"); a longer one needs a vowel (a, e, i, o, u, y) and no letter four times in
/// a row ("rhythm" passes; "xkcdvbn" and "aaaah" do not).
fn is_wordlike(word: &str) -> bool {
    let letters: Vec<char> = word.chars().filter(|c| *c != '\'').collect();
    if letters.iter().any(|c| !c.is_ascii_lowercase()) || letters.len() <= 3 {
        return true;
    }
    let has_vowel = letters.iter().any(|c| "aeiouy".contains(*c));
    let long_run = letters.windows(4).any(|w| w.iter().all(|&c| c == w[0]));
    has_vowel && !long_run
}

fn hits(text: &str, phrases: &[String]) -> Vec<String> {
    phrases
        .iter()
        .filter(|p| contains_phrase(text, p))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests;
