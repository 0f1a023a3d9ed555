//! Batched generation that also returns each answer's mean residual stream per layer.
//!
//! All rows of a batch advance together, one token per forward pass (the engine left-pads
//! ragged prompts). A row that has finished keeps being fed a filler token until the whole
//! batch is done; its outputs are ignored. On a CPU, a batch of 16 costs little more per step
//! than a single row because decode is bound by reading the weights, which is why the lab
//! batches at all.
//!
//! The activation of an answer is the decoder-block output (after any interventions) at the
//! positions of its content tokens: every generated token that is fed back into the model,
//! i.e. not the end-of-turn token. The first of them is computed in the step that feeds the
//! first sampled token; the template's `<|im_start|>assistant\n` header is never included.

use anyhow::{Result, anyhow};
use engine::chat::ChatModel;
use engine::generation::{Sampler, SamplingParams};
use engine::model::{ForwardOptions, ForwardReadout, KvCache, LogitsMode, PreparedInterventions};

/// One prompt to answer.
#[derive(Debug, Clone)]
pub struct RolloutRequest {
    pub prompt: Vec<u32>,
    pub seed: u64,
}

/// One finished answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Generated ids without the stop token.
    pub tokens: Vec<u32>,
    /// Whether the model ended the answer itself (rather than hitting the length limit).
    pub stopped: bool,
    /// Mean decoder-block output per layer over the content tokens, `[n_layers * hidden]`
    /// (empty when the answer has no content token).
    pub mean_activation: Vec<f32>,
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
    let model = chat.model();
    let cfg = model.config();
    let (n_layers, hidden) = (cfg.n_layers, cfg.hidden_size);
    let stops = chat.stop_tokens();
    let filler = stops.first().copied().unwrap_or(0);
    let rows = requests.len();
    if rows == 0 {
        return Ok(Vec::new());
    }
    let all_layers: Vec<usize> = (0..n_layers).collect();

    let mut cache = model.new_cache(rows);
    let prompts: Vec<&[u32]> = requests.iter().map(|r| r.prompt.as_slice()).collect();
    let prefill = forward(
        chat,
        &mut cache,
        &prompts,
        interventions,
        LogitsMode::Last,
        &[],
    )?;
    let mut samplers: Vec<Sampler> = requests
        .iter()
        .map(|r| {
            let params = SamplingParams {
                seed: r.seed,
                ..settings.sampling.clone()
            };
            Sampler::new(params, cfg.vocab_size)
        })
        .collect();
    let mut pending: Vec<Option<u32>> = Vec::with_capacity(rows);
    for (r, sampler) in samplers.iter_mut().enumerate() {
        pending.push(Some(sampler.sample(row_logits(&prefill, r)?)));
    }
    let mut answers: Vec<Answer> = (0..rows)
        .map(|_| Answer {
            tokens: Vec::new(),
            stopped: false,
            mean_activation: vec![0.0; n_layers * hidden],
        })
        .collect();

    loop {
        // Decide what each row feeds this step.
        let mut feeds = vec![filler; rows];
        let mut live = vec![false; rows];
        for r in 0..rows {
            if let Some(t) = pending[r].take() {
                if stops.contains(&t) {
                    answers[r].stopped = true;
                } else {
                    answers[r].tokens.push(t);
                    feeds[r] = t;
                    live[r] = true;
                }
            }
        }
        if !live.iter().any(|&l| l) {
            break;
        }
        let feed_slices: Vec<&[u32]> = feeds.iter().map(std::slice::from_ref).collect();
        let out = forward(
            chat,
            &mut cache,
            &feed_slices,
            interventions,
            LogitsMode::Last,
            &all_layers,
        )?;
        for r in (0..rows).filter(|&r| live[r]) {
            for (layer, values, [_, seq, h]) in &out.captures {
                let at = (r * seq + (seq - 1)) * h;
                let dst = &mut answers[r].mean_activation[layer * hidden..(layer + 1) * hidden];
                for (d, v) in dst.iter_mut().zip(&values[at..at + h]) {
                    *d += v;
                }
            }
            if answers[r].tokens.len() < settings.max_new_tokens {
                let logits = row_logits(&out, r)?;
                pending[r] = Some(samplers[r].sample(logits));
            }
        }
    }
    for a in &mut answers {
        let n = a.tokens.len();
        if n == 0 {
            a.mean_activation.clear();
        } else {
            a.mean_activation.iter_mut().for_each(|v| *v /= n as f32);
        }
    }
    Ok(answers)
}

/// Mean decoder-block output over the last `answer_len[r]` tokens of each sequence at
/// `layers` (a "re-read" without generating: the demo's Text view, the sweep's scores).
pub fn reread_means(
    chat: &ChatModel,
    interventions: &PreparedInterventions,
    sequences: &[(Vec<u32>, usize)],
    layers: &[usize],
) -> Result<Vec<Vec<f32>>> {
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

fn row_logits(readout: &ForwardReadout, row: usize) -> Result<&[f32]> {
    readout
        .row_logits(row, 0)
        .ok_or_else(|| anyhow!("the model returned no logits for row {row}"))
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
        // The France answer is the reference answer (DESIGN.md §2), stopped by <|im_end|>.
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
