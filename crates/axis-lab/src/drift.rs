//! Drift: replay scripted multi-turn conversations (the model writes the assistant turns) and
//! score every assistant turn, uncapped and capped — the paper's per-turn drift curves.

use anyhow::Result;
use engine::chat::{ChatMessage, ChatModel};
use engine::generation::SamplingParams;
use engine::model::{Cap, Interventions, PreparedInterventions};
use serde::Serialize;

use crate::compute::AxisStats;
use crate::data::DriftConversation;
use crate::rollout::{RolloutRequest, RolloutSettings, generate_batch_watching, reread_means};
use crate::stats::dot;

#[derive(Debug, Clone, Serialize)]
pub struct DriftTurn {
    pub turn: usize,
    /// The uncapped model re-reading the answer (the app's "Text" view).
    pub text_score: f64,
    /// The projection the generating model had (post-cap when capped: "Activations").
    pub activation_score: f64,
    pub answer: String,
    /// Answer tokens, and those at which a watched cap held the stream at its floor.
    pub tokens: usize,
    pub floored_tokens: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct DriftCurve {
    pub id: String,
    pub title: String,
    pub category: String,
    /// The first turn's sampling seed (turn t: seed + t).
    pub seed: u64,
    pub capped: bool,
    pub turns: Vec<DriftTurn>,
}

impl DriftCurve {
    pub fn mean_text_score(&self) -> f64 {
        self.turns.iter().map(|t| t.text_score).sum::<f64>() / self.turns.len().max(1) as f64
    }
}

/// Where answers are scored: unit(axis) at the monitor layer and the score's zero point
/// there (the mean role vector's projection), as in the app.
pub struct DriftScale {
    pub monitor: usize,
    pub unit_axis: Vec<f32>,
    pub centre: f32,
}

impl DriftScale {
    /// The scale an axis file's scores are read on (its monitor layer).
    pub fn from_file(axis: &engine::axis::AxisFile) -> DriftScale {
        let monitor = axis.meta.monitor_layer;
        DriftScale {
            monitor,
            unit_axis: axis.unit_axis(monitor),
            centre: axis.score_centre(monitor),
        }
    }

    pub fn from_stats(stats: &AxisStats, monitor: usize) -> DriftScale {
        let unit_axis = stats.unit_axis[monitor].clone();
        let centre = dot(&stats.role_mean[monitor], &unit_axis);
        DriftScale {
            monitor,
            unit_axis,
            centre,
        }
    }
}

/// How a replay samples: the app's settings, and the seed of each conversation's first turn
/// (turn t uses seed + t, so two seeds give two independent replays of one script).
pub struct DriftSampling {
    pub sampling: SamplingParams,
    pub seeds: Vec<u64>,
}

impl DriftSampling {
    /// The app's default sampling, one replay per conversation (seed 16 like the page).
    pub fn app_default() -> DriftSampling {
        DriftSampling {
            sampling: SamplingParams::default(),
            seeds: vec![16],
        }
    }
}

/// Replays `conversations` (up to `max_turns` user turns each) with `interventions`, once per
/// seed of `how`, every replay of one turn generated as one batch. Each answer is sampled with
/// the conversation's earlier answers known to the echo penalty, as the page does; the tokens
/// that `watched` caps held at their floor are counted per answer.
#[allow(clippy::too_many_arguments)]
pub fn replay(
    chat: &ChatModel,
    scale: &DriftScale,
    conversations: &[DriftConversation],
    max_turns: usize,
    interventions: &PreparedInterventions,
    capped: bool,
    max_new_tokens: usize,
    how: &DriftSampling,
    watched: &[Cap],
) -> Result<Vec<DriftCurve>> {
    let none = chat.model().prepare(&Interventions::none())?;
    let (monitor, v, centre) = (scale.monitor, &scale.unit_axis, scale.centre);
    let hidden = v.len();
    let settings = RolloutSettings {
        max_new_tokens,
        sampling: how.sampling.clone(),
    };
    // One replay per (seed, conversation).
    let runs: Vec<(u64, &DriftConversation)> = how
        .seeds
        .iter()
        .flat_map(|&seed| conversations.iter().map(move |c| (seed, c)))
        .collect();
    let conversations: Vec<&DriftConversation> = runs.iter().map(|(_, c)| *c).collect();
    let mut histories: Vec<Vec<ChatMessage>> = vec![Vec::new(); conversations.len()];
    let mut curves: Vec<DriftCurve> = runs
        .iter()
        .map(|&(seed, c)| DriftCurve {
            id: c.id.clone(),
            seed,
            title: c.title.clone(),
            category: c.category.clone(),
            capped,
            turns: Vec::new(),
        })
        .collect();
    let turns = conversations
        .iter()
        .map(|c| c.user_turns.len())
        .max()
        .unwrap_or(0)
        .min(max_turns);
    for t in 0..turns {
        let active: Vec<usize> = (0..conversations.len())
            .filter(|&c| t < conversations[c].user_turns.len())
            .collect();
        let mut requests = Vec::new();
        for &c in &active {
            histories[c].push(ChatMessage::user(&conversations[c].user_turns[t]));
            requests.push(RolloutRequest {
                prompt: chat.prompt_tokens(&histories[c])?,
                seed: runs[c].0 + t as u64,
                earlier_answers: chat.earlier_answers(&histories[c])?,
            });
        }
        let answers = generate_batch_watching(chat, interventions, &requests, &settings, watched)?;
        let mut rereads = Vec::new();
        for (request, a) in requests.iter().zip(&answers) {
            let mut seq = request.prompt.clone();
            seq.extend_from_slice(&a.tokens);
            rereads.push((seq, a.tokens.len().max(1)));
        }
        let text_means = reread_means(chat, &none, &rereads, &[monitor])?;
        for ((&c, a), text_mean) in active.iter().zip(&answers).zip(&text_means) {
            let answer = chat.tokenizer().decode(&a.tokens)?;
            let activation_score = if a.mean_activation.is_empty() {
                f64::NAN
            } else {
                f64::from(
                    dot(
                        &a.mean_activation[monitor * hidden..(monitor + 1) * hidden],
                        v,
                    ) - centre,
                )
            };
            curves[c].turns.push(DriftTurn {
                turn: t + 1,
                text_score: f64::from(dot(text_mean, v) - centre),
                activation_score,
                answer: answer.clone(),
                tokens: a.tokens.len(),
                floored_tokens: a.floored_tokens,
            });
            histories[c].push(ChatMessage::assistant(&answer));
        }
        eprintln!(
            "drift ({}) turn {}/{turns} done",
            if capped { "capped" } else { "uncapped" },
            t + 1
        );
    }
    Ok(curves)
}
