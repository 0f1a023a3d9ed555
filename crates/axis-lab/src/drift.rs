//! Drift: replay scripted multi-turn conversations (the model writes the assistant turns) and
//! score every assistant turn, uncapped and capped — the paper's per-turn drift curves.

use anyhow::Result;
use engine::chat::{ChatMessage, ChatModel};
use engine::generation::SamplingParams;
use engine::model::{Interventions, PreparedInterventions};
use serde::Serialize;

use crate::compute::AxisStats;
use crate::data::DriftConversation;
use crate::rollout::{RolloutRequest, RolloutSettings, generate_batch, reread_means};
use crate::stats::dot;

#[derive(Debug, Clone, Serialize)]
pub struct DriftTurn {
    pub turn: usize,
    /// The uncapped model re-reading the answer (the app's "Text" view).
    pub text_score: f64,
    /// The projection the generating model had (post-cap when capped: "Activations").
    pub activation_score: f64,
    pub answer: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DriftCurve {
    pub id: String,
    pub title: String,
    pub category: String,
    pub capped: bool,
    pub turns: Vec<DriftTurn>,
}

impl DriftCurve {
    pub fn mean_text_score(&self) -> f64 {
        self.turns.iter().map(|t| t.text_score).sum::<f64>() / self.turns.len().max(1) as f64
    }
}

/// Replays `conversations` (up to `max_turns` user turns each) with `interventions`, all
/// conversations of one turn generated as one batch. Sampling is the app's default.
#[allow(clippy::too_many_arguments)]
pub fn replay(
    chat: &ChatModel,
    stats: &AxisStats,
    monitor: usize,
    conversations: &[DriftConversation],
    max_turns: usize,
    interventions: &PreparedInterventions,
    capped: bool,
    max_new_tokens: usize,
) -> Result<Vec<DriftCurve>> {
    let none = chat.model().prepare(&Interventions::none())?;
    let v = &stats.unit_axis[monitor];
    let centre = dot(&stats.role_mean[monitor], v);
    let hidden = v.len();
    let settings = RolloutSettings {
        max_new_tokens,
        sampling: SamplingParams::default(),
    };
    let mut histories: Vec<Vec<ChatMessage>> = vec![Vec::new(); conversations.len()];
    let mut curves: Vec<DriftCurve> = conversations
        .iter()
        .map(|c| DriftCurve {
            id: c.id.clone(),
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
                seed: 16 + t as u64,
            });
        }
        let answers = generate_batch(chat, interventions, &requests, &settings)?;
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
