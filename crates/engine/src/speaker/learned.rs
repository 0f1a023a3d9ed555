//! The learned judge's view of an answer: named binary features, read from the rules' findings
//! and the answer's words. The weights are fitted outside the engine
//! (`crates/axis-lab/scripts/fit_judge.py`, on the labelled design splits only) and score these
//! names; a name the weights do not know counts for nothing.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::{SpeakerLabel, Verdict};

/// Upper bounds of the buckets a count falls into ("fp:3-5"): the label depends on a few
/// first-person words against none, not on their exact number.
const FIRST_PERSON_BUCKETS: &[(usize, &str)] = &[
    (0, "0"),
    (1, "1"),
    (2, "2"),
    (5, "3-5"),
    (9, "6-9"),
    (usize::MAX, "10+"),
];
const ROLE_WORD_BUCKETS: &[(usize, &str)] = &[(0, "0"), (1, "1"), (2, "2"), (usize::MAX, "3+")];
const LENGTH_BUCKETS: &[(usize, &str)] = &[
    (9, "<10"),
    (29, "10-29"),
    (59, "30-59"),
    (usize::MAX, "60+"),
];

fn bucket(n: usize, buckets: &[(usize, &'static str)]) -> &'static str {
    buckets
        .iter()
        .find(|(upper, _)| n <= *upper)
        .map_or("", |(_, name)| name)
}

/// The features of `verdict` read with (`has_persona`) or without a persona. Each finding is
/// named twice, once plain and once under the reading's prefix (`p.` with a persona, `d.`
/// without), because the same word means different things in the two: "I" in an answer asked
/// to play a sailor is the sailor's voice; without a persona it may be someone else's. Words
/// are named as they are (`w:`), and each pair of neighbours (`b:`), every name once.
pub fn features(verdict: &Verdict, has_persona: bool) -> Vec<String> {
    let prefix = if has_persona { "p." } else { "d." };
    let mut plain: Vec<String> = vec![
        format!("rule:{}", verdict.rule_label(has_persona).as_str()),
        format!("fp:{}", bucket(verdict.first_person, FIRST_PERSON_BUCKETS)),
        format!("rw:{}", bucket(verdict.role_words.len(), ROLE_WORD_BUCKETS)),
        format!("len:{}", bucket(verdict.words.len(), LENGTH_BUCKETS)),
    ];
    let flags = [
        ("ai", !verdict.ai_hits.is_empty()),
        ("human", !verdict.human_hits.is_empty()),
        ("register", !verdict.register_hits.is_empty()),
        ("refusal", verdict.refusal),
        ("empty", verdict.empty),
        ("stage", verdict.stage_direction),
        ("role_evidence", verdict.role_evidence),
        ("name", verdict.names_itself),
        ("self_description", !verdict.self_descriptions.is_empty()),
        ("incoherent", verdict.incoherent),
    ];
    plain.extend(
        flags
            .iter()
            .filter(|(_, on)| *on)
            .map(|(name, _)| format!("flag:{name}")),
    );
    plain.extend(verdict.words.iter().map(|w| format!("w:{w}")));
    plain.extend(
        verdict
            .words
            .windows(2)
            .map(|pair| format!("b:{}_{}", pair[0], pair[1])),
    );
    plain.sort();
    plain.dedup();
    let mut all: Vec<String> = plain.iter().map(|f| format!("{prefix}{f}")).collect();
    all.extend(plain);
    all
}

/// The learned judge: a bias and a weight per class for each feature it knows.
#[derive(Debug, Clone)]
pub struct LearnedJudge {
    classes: Vec<SpeakerLabel>,
    bias: Vec<f64>,
    weights: HashMap<String, Vec<f64>>,
}

/// The weights as `fit_judge.py` writes them.
#[derive(Deserialize)]
struct WeightsFile {
    classes: Vec<SpeakerLabel>,
    bias: Vec<f64>,
    weights: HashMap<String, Vec<f64>>,
}

impl LearnedJudge {
    /// Parses a weights file; every class's weights must be there, once per feature.
    pub fn from_json(text: &str) -> Result<LearnedJudge, String> {
        let file: WeightsFile = serde_json::from_str(text)
            .map_err(|e| format!("the speaker judge's weights do not parse: {e}"))?;
        let n = file.classes.len();
        if n == 0 || file.bias.len() != n {
            return Err(format!(
                "the speaker judge's weights name {n} classes but give {} biases",
                file.bias.len()
            ));
        }
        if let Some((name, w)) = file.weights.iter().find(|(_, w)| w.len() != n) {
            return Err(format!(
                "the speaker judge's feature {name:?} has {} weights for {n} classes",
                w.len()
            ));
        }
        if file
            .bias
            .iter()
            .chain(file.weights.values().flatten())
            .any(|w| !w.is_finite())
        {
            return Err("the speaker judge's weights include a value that is not a number".into());
        }
        Ok(LearnedJudge {
            classes: file.classes,
            bias: file.bias,
            weights: file.weights,
        })
    }

    /// The highest-scoring class for these features (each counted once).
    pub fn label(&self, features: &[String]) -> SpeakerLabel {
        let mut score = self.bias.clone();
        let mut seen = HashSet::new();
        for f in features.iter().filter(|f| seen.insert(f.as_str())) {
            if let Some(w) = self.weights.get(f) {
                score.iter_mut().zip(w).for_each(|(s, w)| *s += w);
            }
        }
        let best = score
            .iter()
            .enumerate()
            .fold(0, |best, (i, s)| if *s > score[best] { i } else { best });
        self.classes[best]
    }
}
