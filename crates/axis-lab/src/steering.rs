//! Steering scan: add α·axis at the monitor layer (docs/design.md §1, paper §3.2) and count, at
//! each α, how often the default Assistant answers identity questions as an AI vs as someone
//! else.

use anyhow::Result;
use engine::chat::ChatModel;
use engine::model::{Interventions, Steer};
use serde::Serialize;

use crate::compute::AxisStats;
use crate::data::LabData;
use crate::judge::Judge;
use crate::rollout::{RolloutRequest, RolloutSettings, generate_batch, reread_means};
use crate::rollout::{messages_for, rollout_sampling};
use crate::stats::dot;

/// α in units of the (unnormalised) axis: α = 1 shifts the residual stream by the whole
/// default-minus-roles difference.
pub const FULL_ALPHAS: [f32; 7] = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0];
pub const SMALL_ALPHAS: [f32; 5] = [-1.0, -0.5, 0.0, 0.5, 1.0];

#[derive(Debug, Clone, Serialize)]
pub struct SteeringPoint {
    pub alpha: f32,
    pub answers: usize,
    pub presents_as_ai: f64,
    pub other_identity: f64,
    /// Mean centred monitor-layer score of the answers' text (unsteered re-read).
    pub text_score: f64,
    pub example: String,
}

#[allow(clippy::too_many_arguments)]
pub fn scan(
    chat: &ChatModel,
    data: &LabData,
    stats: &AxisStats,
    monitor: usize,
    questions: usize,
    alphas: &[f32],
    max_new_tokens: usize,
    batch: usize,
) -> Result<Vec<SteeringPoint>> {
    let judge = Judge::new(&data.markers, &data.roles, &data.questions);
    let none = chat.model().prepare(&Interventions::none())?;
    let v = &stats.unit_axis[monitor];
    let centre = dot(&stats.role_mean[monitor], v);
    let picked: Vec<&str> = data
        .questions
        .iter()
        .filter(|q| q.category == "identity" || q.category == "introspection")
        .take(questions)
        .map(|q| q.text.as_str())
        .collect();
    let prompts: Vec<Vec<u32>> = picked
        .iter()
        .map(|q| chat.prompt_tokens(&messages_for("", q)))
        .collect::<Result<_, _>>()?;
    let settings = RolloutSettings {
        max_new_tokens,
        sampling: rollout_sampling(),
    };
    let mut points = Vec::new();
    for &alpha in alphas {
        let steer = Interventions {
            steers: vec![Steer {
                layer: monitor,
                direction: stats.axis[monitor].clone(),
                alpha,
            }],
            ..Interventions::none()
        };
        let prepared = chat.model().prepare(&steer)?;
        let (mut ai, mut other, mut scores, mut example) = (0, 0, Vec::new(), String::new());
        for (c, chunk) in prompts.chunks(batch.max(1)).enumerate() {
            let requests: Vec<RolloutRequest> = chunk
                .iter()
                .enumerate()
                .map(|(i, p)| RolloutRequest {
                    prompt: p.clone(),
                    seed: 500 + (c * batch + i) as u64,
                    earlier_answers: Vec::new(),
                })
                .collect();
            let answers = generate_batch(chat, &prepared, &requests, &settings)?;
            let mut rereads = Vec::new();
            for (p, a) in chunk.iter().zip(&answers) {
                let text = chat.tokenizer().decode(&a.tokens)?;
                let verdict = judge.judge(&text, None);
                ai += usize::from(verdict.presents_as_ai());
                other += usize::from(verdict.adopts_other_identity());
                if example.is_empty() {
                    example = text.chars().take(160).collect();
                }
                if !a.tokens.is_empty() {
                    let mut seq = p.clone();
                    seq.extend_from_slice(&a.tokens);
                    rereads.push((seq, a.tokens.len()));
                }
            }
            for m in reread_means(chat, &none, &rereads, &[monitor])? {
                scores.push(f64::from(dot(&m, v) - centre));
            }
        }
        let n = prompts.len().max(1) as f64;
        points.push(SteeringPoint {
            alpha,
            answers: prompts.len(),
            presents_as_ai: ai as f64 / n,
            other_identity: other as f64 / n,
            text_score: scores.iter().sum::<f64>() / scores.len().max(1) as f64,
            example,
        });
        eprintln!("steering α = {alpha:+}: done");
    }
    Ok(points)
}
