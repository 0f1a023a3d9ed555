//! Batched generation that also returns each answer's mean residual stream per layer (the
//! engine's [`AnswerBatch`], driven to the end), and re-reads of finished answers.

use anyhow::Result;
use engine::chat::{ChatMessage, ChatModel};
use engine::generation::{AnswerBatch, BatchRequest, BatchSettings, SamplingParams};
use engine::model::{
    Cap, ForwardOptions, ForwardReadout, KvCache, LogitsMode, PreparedInterventions,
};

pub use engine::generation::BatchAnswer as Answer;
pub use engine::generation::BatchRequest as RolloutRequest;

/// Rollout sampling: the engine's [`SamplingParams::axis_rollout`] (shared with the browser's
/// quick build).
pub fn rollout_sampling() -> SamplingParams {
    SamplingParams::axis_rollout()
}

/// A one-question conversation: the system prompt (none when empty) and the question.
pub fn messages_for(system: &str, question: &str) -> Vec<ChatMessage> {
    let mut m = Vec::new();
    if !system.is_empty() {
        m.push(ChatMessage::system(system));
    }
    m.push(ChatMessage::user(question));
    m
}

/// Settings shared by every row.
#[derive(Debug, Clone)]
pub struct RolloutSettings {
    pub max_new_tokens: usize,
    pub sampling: SamplingParams,
}

/// Generates an answer for every request (one batch), returning them in request order.
pub fn generate_batch(
    chat: &ChatModel,
    interventions: &PreparedInterventions,
    requests: &[RolloutRequest],
    settings: &RolloutSettings,
) -> Result<Vec<Answer>> {
    generate_batch_watching(chat, interventions, requests, settings, &[])
}

/// [`generate_batch`], counting in each answer the tokens that `watched` caps held at their
/// floor (`Answer::floored_tokens`).
pub fn generate_batch_watching(
    chat: &ChatModel,
    interventions: &PreparedInterventions,
    requests: &[RolloutRequest],
    settings: &RolloutSettings,
    watched: &[Cap],
) -> Result<Vec<Answer>> {
    let settings = BatchSettings {
        max_new_tokens: settings.max_new_tokens,
        sampling: settings.sampling.clone(),
        stop_tokens: chat.stop_tokens(),
        watched_caps: watched.to_vec(),
    };
    let requests: Vec<BatchRequest> = requests.to_vec();
    pollster::block_on(async {
        let mut batch =
            AnswerBatch::start(chat.model(), interventions, &requests, settings).await?;
        while batch.step().await? {}
        Ok::<_, anyhow::Error>(batch.finish())
    })
}

/// Mean decoder-block output over the last `answer_len[r]` tokens of each sequence at
/// `layers` (a "re-read" without generating: the demo's Text view, the sweep's scores).
pub fn reread_means(
    chat: &ChatModel,
    interventions: &PreparedInterventions,
    sequences: &[(Vec<u32>, usize)],
    layers: &[usize],
) -> Result<Vec<Vec<f32>>> {
    if sequences.is_empty() {
        // A batch of no rows is not a tensor shape the backend accepts.
        return Ok(Vec::new());
    }
    let model = chat.model();
    let hidden = model.config().hidden_size;
    let mut cache = model.new_cache(sequences.len());
    let rows: Vec<&[u32]> = sequences.iter().map(|(t, _)| t.as_slice()).collect();
    let out = forward(
        chat,
        &mut cache,
        &rows,
        interventions,
        LogitsMode::None,
        layers,
    )?;
    let mut means = Vec::with_capacity(sequences.len());
    for (r, (_, answer_len)) in sequences.iter().enumerate() {
        let mut mean = vec![0.0f32; layers.len() * hidden];
        let n = (*answer_len).max(1);
        for (i, (_, values, [_, seq, h])) in out.captures.iter().enumerate() {
            // Left padding: every row's real tokens end at the last slot.
            for s in seq.saturating_sub(*answer_len)..*seq {
                let at = (r * seq + s) * h;
                for (d, v) in mean[i * hidden..(i + 1) * hidden]
                    .iter_mut()
                    .zip(&values[at..at + h])
                {
                    *d += v / n as f32;
                }
            }
        }
        means.push(mean);
    }
    Ok(means)
}

fn forward(
    chat: &ChatModel,
    cache: &mut KvCache,
    rows: &[&[u32]],
    interventions: &PreparedInterventions,
    logits: LogitsMode,
    capture_layers: &[usize],
) -> Result<ForwardReadout> {
    let options = ForwardOptions {
        logits,
        capture_layers: capture_layers.to_vec(),
    };
    let out = chat
        .model()
        .forward(cache, rows, Some(interventions), &options)?;
    Ok(out.read_blocking()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::chat::ChatMessage;
    use engine::model::{Interventions, WeightMode};

    /// The shipped model with f32 weights.
    fn model() -> ChatModel {
        let bytes = crate::test_model::model_bytes();
        ChatModel::load(&bytes, WeightMode::F32, &engine::device::cpu()).expect("model loads")
    }

    #[test]
    fn floored_tokens_count_where_a_cap_held_the_stream() {
        let chat = model();
        let hidden = chat.model().config().hidden_size;
        let direction: Vec<f32> = (0..hidden).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
        let cap = |tau: f32| Cap {
            layer: 12,
            direction: direction.clone(),
            tau,
        };
        let requests = [RolloutRequest {
            prompt: chat
                .prompt_tokens(&[ChatMessage::user("Name a colour.")])
                .expect("prompt"),
            seed: 1,
            earlier_answers: Vec::new(),
        }];
        let settings = RolloutSettings {
            max_new_tokens: 6,
            sampling: SamplingParams::greedy(),
        };
        let run = |applied: &[Cap], watched: &[Cap]| {
            let prepared = chat
                .model()
                .prepare(&Interventions {
                    caps: applied.to_vec(),
                    ..Interventions::none()
                })
                .expect("prepare");
            generate_batch_watching(&chat, &prepared, &requests, &settings, watched)
                .expect("batch")
                .remove(0)
        };
        // A floor far above every token: each is lifted to it.
        let high = [cap(1000.0)];
        let lifted = run(&high, &high);
        assert!(!lifted.tokens.is_empty());
        assert_eq!(lifted.floored_tokens, lifted.tokens.len());
        // The same floor watched but not applied, and a floor far below: nothing is lifted.
        assert_eq!(run(&[], &high).floored_tokens, 0);
        let low = [cap(-1000.0)];
        assert_eq!(run(&low, &low).floored_tokens, 0);
    }

    #[test]
    fn batched_answers_equal_one_at_a_time_answers() {
        let chat = model();
        let none = chat
            .model()
            .prepare(&Interventions::none())
            .expect("no interventions");
        let prompts = [
            vec![ChatMessage::user("What is the capital of France?")],
            vec![
                ChatMessage::system("You are a pirate captain. Stay in character."),
                ChatMessage::user("Who are you, really? Tell me about your ship and your crew."),
            ],
            vec![ChatMessage::user("Name a colour.")],
        ];
        let requests: Vec<RolloutRequest> = prompts
            .iter()
            .map(|m| RolloutRequest {
                prompt: chat.prompt_tokens(m).expect("prompt"),
                seed: 3,
                earlier_answers: Vec::new(),
            })
            .collect();
        // Greedy with a penalty: deterministic, and no loops.
        let settings = RolloutSettings {
            max_new_tokens: 20,
            sampling: SamplingParams {
                frequency_penalty: 1.0,
                ..SamplingParams::greedy()
            },
        };
        let together = generate_batch(&chat, &none, &requests, &settings).expect("batch");
        let hidden = chat.model().config().hidden_size;
        for (request, batched) in requests.iter().zip(&together) {
            let alone = generate_batch(&chat, &none, std::slice::from_ref(request), &settings)
                .expect("single")
                .remove(0);
            // Compare up to the first divergence (near-ties may flip between batch shapes).
            let same = batched
                .tokens
                .iter()
                .zip(&alone.tokens)
                .take_while(|(a, b)| a == b)
                .count();
            assert!(
                same >= 5,
                "batched {:?} vs alone {:?}",
                batched.tokens,
                alone.tokens
            );
            if batched.tokens == alone.tokens {
                let worst = batched
                    .mean_activation
                    .iter()
                    .zip(&alone.mean_activation)
                    .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
                    .fold(0.0f32, f32::max);
                assert!(worst < 1e-3, "activations differ by {worst}");
            }
            assert_eq!(batched.mean_activation.len(), 30 * hidden);
            assert!(batched.mean_activation.iter().all(|v| v.is_finite()));
        }
        // The France answer is the reference answer (docs/design.md §2), stopped by <|im_end|>.
        let text = chat
            .tokenizer()
            .decode(&together[0].tokens)
            .expect("decode");
        assert!(text.starts_with("The capital of France is Paris"), "{text}");
        assert!(together[0].stopped);
        // Re-reading an answer gives the activations it had while being generated.
        let mut seq = requests[1].prompt.clone();
        seq.extend_from_slice(&together[1].tokens);
        let layers: Vec<usize> = (0..30).collect();
        let reread = reread_means(&chat, &none, &[(seq, together[1].tokens.len())], &layers)
            .expect("reread")
            .remove(0);
        let worst = reread
            .iter()
            .zip(&together[1].mean_activation)
            .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-3, "re-read differs by {worst}");
    }
}
