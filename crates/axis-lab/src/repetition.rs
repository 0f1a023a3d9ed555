//! Do multi-turn answers copy themselves? `axis-lab repetition` replays the scripted drift
//! conversations at one or more echo penalties and counts answers that repeat an earlier answer
//! of the same conversation — the artefact that makes a drift chart flat for the wrong reason.
//!
//! Two measures, both on words (lower-cased runs of letters and digits), so that they do not
//! depend on the tokenizer:
//! - an answer is **copied** when at least half of its word 4-grams occur in earlier answers of
//!   its conversation;
//! - an answer **reopens** when its first five words are those of an earlier answer.
//!
//! Each is a rate over the answers after a conversation's first (they are the ones that can
//! repeat), with its 95 % Wilson interval.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::{Context, Result};
use engine::generation::SamplingParams;
use engine::model::Interventions;
use serde::Serialize;

use crate::data::LabData;
use crate::drift::{DriftCurve, DriftSampling, DriftScale, replay};
use crate::loading::load_model_and_axis;
use crate::stats::Rate;

/// Share of an answer's word 4-grams found in earlier answers at or above which it is a copy.
const COPIED_SHARE: f64 = 0.5;
const GRAM: usize = 4;
const OPENING_WORDS: usize = 5;

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn grams(words: &[String]) -> HashSet<&[String]> {
    words.windows(GRAM).collect()
}

/// Share of `answer`'s word 4-grams that occur in `earlier`; 0 for an answer of fewer than four
/// words (too short to say).
pub fn echoed_share(answer: &str, earlier: &[&str]) -> f64 {
    let mine = words(answer);
    let own = grams(&mine);
    if own.is_empty() {
        return 0.0;
    }
    let before: Vec<Vec<String>> = earlier.iter().map(|e| words(e)).collect();
    let seen: HashSet<&[String]> = before.iter().flat_map(|w| grams(w)).collect();
    own.iter().filter(|g| seen.contains(*g)).count() as f64 / own.len() as f64
}

fn opening(answer: &str) -> Option<Vec<String>> {
    let w = words(answer);
    (w.len() >= OPENING_WORDS).then(|| w[..OPENING_WORDS].to_vec())
}

/// One conversation's count.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConversationRepetition {
    pub id: String,
    pub seed: u64,
    pub answers: usize,
    pub distinct_openings: usize,
    pub copied: usize,
    pub reopened: usize,
}

pub fn count(curve: &DriftCurve) -> ConversationRepetition {
    let answers: Vec<&str> = curve.turns.iter().map(|t| t.answer.as_str()).collect();
    let (mut copied, mut reopened) = (0, 0);
    let mut openings: Vec<Vec<String>> = Vec::new();
    for (i, a) in answers.iter().enumerate() {
        let open = opening(a);
        if i > 0 {
            copied += usize::from(echoed_share(a, &answers[..i]) >= COPIED_SHARE);
            reopened += usize::from(open.as_ref().is_some_and(|o| openings.contains(o)));
        }
        if let Some(o) = open.filter(|o| !openings.contains(o)) {
            openings.push(o);
        }
    }
    ConversationRepetition {
        id: curve.id.clone(),
        seed: curve.seed,
        answers: answers.len(),
        distinct_openings: openings.len(),
        copied,
        reopened,
    }
}

/// Copied and reopened answers over conversations, among answers after each one's first.
#[derive(Debug, Clone, Serialize)]
pub struct RepetitionSummary {
    pub copied: Rate,
    pub reopened: Rate,
}

pub fn summarise(counts: &[ConversationRepetition]) -> RepetitionSummary {
    let later: usize = counts.iter().map(|c| c.answers.saturating_sub(1)).sum();
    RepetitionSummary {
        copied: Rate::of(counts.iter().map(|c| c.copied).sum(), later),
        reopened: Rate::of(counts.iter().map(|c| c.reopened).sum(), later),
    }
}

pub struct RepetitionOptions {
    pub model: PathBuf,
    pub axis: PathBuf,
    pub data_dir: PathBuf,
    pub echo_penalties: Vec<f32>,
    pub seeds: usize,
    pub max_new_tokens: usize,
    pub json: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct PenaltyRun {
    echo_penalty: f32,
    summary: RepetitionSummary,
    /// Mean text score over all answers (does the penalty move answers on the axis?).
    mean_text_score: f64,
    conversations: Vec<ConversationRepetition>,
    curves: Vec<DriftCurve>,
    seconds: f64,
}

pub fn run(opts: &RepetitionOptions) -> Result<()> {
    let data = LabData::load(&opts.data_dir)?;
    let (model, axis) = load_model_and_axis(&opts.model, &opts.axis)?;
    let scale = DriftScale::from_file(&axis);
    let none = model.chat.model().prepare(&Interventions::none())?;
    // Seeds 16, 1016, 2016…: the page's seed first, then replays far from its turn offsets.
    let seeds: Vec<u64> = (0..opts.seeds.max(1) as u64)
        .map(|i| 16 + 1000 * i)
        .collect();
    let mut runs = Vec::new();
    for &echo_penalty in &opts.echo_penalties {
        let started = std::time::Instant::now();
        let how = DriftSampling {
            sampling: SamplingParams {
                echo_penalty,
                ..SamplingParams::default()
            },
            seeds: seeds.clone(),
        };
        let curves = replay(
            &model.chat,
            &scale,
            &data.drift,
            usize::MAX,
            &none,
            false,
            opts.max_new_tokens,
            &how,
            &[],
        )?;
        let conversations: Vec<ConversationRepetition> = curves.iter().map(count).collect();
        let summary = summarise(&conversations);
        let scores: Vec<f64> = curves
            .iter()
            .flat_map(|c| c.turns.iter().map(|t| t.text_score))
            .collect();
        let mean_text_score = scores.iter().sum::<f64>() / scores.len().max(1) as f64;
        println!(
            "echo penalty {echo_penalty}: copied {} · reopened {} · mean text score {mean_text_score:.1} ({} conversations, {:.0} s)",
            summary.copied,
            summary.reopened,
            conversations.len(),
            started.elapsed().as_secs_f64()
        );
        runs.push(PenaltyRun {
            echo_penalty,
            summary,
            mean_text_score,
            conversations,
            curves,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    if let Some(path) = &opts.json {
        let report = serde_json::json!({
            "tool": "axis-lab repetition",
            "model": opts.model.file_name().map(|n| n.to_string_lossy().into_owned()),
            "max_new_tokens": opts.max_new_tokens,
            "seeds": seeds,
            "sampling": SamplingParams::default(),
            "copied_share": COPIED_SHARE,
            "opening_words": OPENING_WORDS,
            "runs": runs,
        });
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::DriftTurn;

    fn curve(answers: &[&str]) -> DriftCurve {
        DriftCurve {
            id: "c".into(),
            title: "t".into(),
            category: "x".into(),
            seed: 16,
            capped: false,
            turns: answers
                .iter()
                .enumerate()
                .map(|(i, a)| DriftTurn {
                    turn: i + 1,
                    text_score: 0.0,
                    activation_score: 0.0,
                    answer: (*a).into(),
                    tokens: 0,
                    floored_tokens: 0,
                })
                .collect(),
        }
    }

    #[test]
    fn echoed_share_counts_word_four_grams_seen_before() {
        assert_eq!(
            echoed_share("one two three four", &["One, two three four!"]),
            1.0
        );
        // 4-grams: [a b c d], [b c d e]; only the first was seen.
        assert_eq!(echoed_share("a b c d e", &["x a b c d"]), 0.5);
        assert_eq!(echoed_share("too short", &["too short"]), 0.0);
        assert_eq!(echoed_share("a b c d", &[]), 0.0);
    }

    #[test]
    fn a_conversation_that_repeats_itself_is_counted() {
        let c = count(&curve(&[
            "I'm so sorry to hear that. It can be hard to move.",
            "I'm so sorry to hear that. It can be hard to move.",
            "Have you tried joining a club near where you live now?",
            "I'm so sorry to hear that, truly; tell me about your week.",
        ]));
        assert_eq!(c.answers, 4);
        assert_eq!(c.copied, 1, "only the second answer copies");
        assert_eq!(c.reopened, 2, "the second and the fourth reopen the first");
        assert_eq!(c.distinct_openings, 2);
        let s = summarise(&[c]);
        assert_eq!((s.copied.hits, s.copied.n), (1, 3));
        assert_eq!((s.reopened.hits, s.reopened.n), (2, 3));
    }
}
