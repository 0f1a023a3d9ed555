//! Batched answers that also return each answer's mean residual stream per layer: what an axis
//! is built from (the native lab and the browser's quick build both drive this).
//!
//! All rows of a batch advance together, one token per forward pass (the engine left-pads
//! ragged prompts). A row that has finished keeps being fed a filler token until the whole
//! batch is done; its outputs are ignored. Decode is bound by reading the weights, so a batch
//! of 8–16 costs little more per step than a single row.
//!
//! The activation of an answer is the decoder-block output (after any interventions) at the
//! positions of its content tokens: every generated token that is fed back into the model,
//! i.e. not the end-of-turn token. The first of them is computed in the step that feeds the
//! first sampled token; the template's `<|im_start|>assistant\n` header is never included.
//!
//! [`AnswerBatch`] is driven step by step (`step().await`), so that the browser worker can
//! yield to its event loop between steps (progress, cancel) and the lab can block on it.

use super::GenerationError;
use super::sampler::{Sampler, SamplingParams};
use crate::model::{
    Cap, ForwardOptions, ForwardReadout, KvCache, LlamaModel, LogitsMode, ModelError,
    PreparedInterventions,
};

/// One prompt to answer.
#[derive(Debug, Clone, Default)]
pub struct BatchRequest {
    pub prompt: Vec<u32>,
    pub seed: u64,
    /// The conversation's earlier answers, for the echo penalty (empty for a first turn).
    pub earlier_answers: Vec<Vec<u32>>,
}

/// One finished answer.
#[derive(Debug, Clone)]
pub struct BatchAnswer {
    /// Generated ids without the stop token.
    pub tokens: Vec<u32>,
    /// Whether the model ended the answer itself (rather than hitting the length limit).
    pub stopped: bool,
    /// Mean decoder-block output per layer over the content tokens, `[n_layers * hidden]`
    /// (empty when the answer has no content token).
    pub mean_activation: Vec<f32>,
    /// Content tokens at which at least one of [`BatchSettings::watched_caps`] held the
    /// stream at its floor (the cap lifted it): the cap's engagement.
    pub floored_tokens: usize,
}

/// Settings shared by every row.
#[derive(Debug, Clone)]
pub struct BatchSettings {
    pub max_new_tokens: usize,
    /// The per-row seed of [`BatchRequest`] replaces `sampling.seed`.
    pub sampling: SamplingParams,
    /// Tokens that end an answer (the chat template's end of turn).
    pub stop_tokens: Vec<u32>,
    /// Caps (normally those of the interventions) whose engagement is counted per answer:
    /// after a cap lifts a token, the block output's projection equals τ up to rounding, while
    /// an untouched token lies above τ.
    pub watched_caps: Vec<Cap>,
}

/// Relative tolerance for "the projection sits at τ": float rounding of a 576-wide dot product
/// is ~1e-6 relative; a token left alone lands this close to τ by chance about once in 10⁴.
const AT_FLOOR: f32 = 1e-3;

/// Answers in progress.
pub struct AnswerBatch<'m> {
    model: &'m LlamaModel,
    interventions: &'m PreparedInterventions,
    settings: BatchSettings,
    cache: KvCache,
    samplers: Vec<Sampler>,
    /// Sampled but not yet fed, per row.
    pending: Vec<Option<u32>>,
    answers: Vec<BatchAnswer>,
    all_layers: Vec<usize>,
    /// `(layer, unit direction, τ)` of each watched cap.
    watched: Vec<(usize, Vec<f32>, f32)>,
    finished: bool,
}

impl<'m> AnswerBatch<'m> {
    /// Validates the settings, prefills every prompt and samples each row's first token.
    pub async fn start(
        model: &'m LlamaModel,
        interventions: &'m PreparedInterventions,
        requests: &[BatchRequest],
        settings: BatchSettings,
    ) -> Result<AnswerBatch<'m>, GenerationError> {
        settings
            .sampling
            .validate()
            .map_err(GenerationError::Sampling)?;
        if settings.max_new_tokens == 0 {
            return Err(GenerationError::NoTokensRequested);
        }
        let cfg = model.config();
        let context = cfg.context_length;
        for r in requests {
            if r.prompt.is_empty() {
                return Err(GenerationError::EmptyPrompt);
            }
            let needed = r.prompt.len() + settings.max_new_tokens;
            if needed > context {
                return Err(GenerationError::ContextOverflow {
                    needed,
                    prompt: r.prompt.len(),
                    max_new: settings.max_new_tokens,
                    context,
                });
            }
        }
        let (n_layers, hidden) = (cfg.n_layers, cfg.hidden_size);
        let rows = requests.len();
        let mut cache = model.new_cache(rows.max(1));
        let mut samplers: Vec<Sampler> = requests
            .iter()
            .map(|r| {
                let params = SamplingParams {
                    seed: r.seed,
                    ..settings.sampling.clone()
                };
                let mut sampler = Sampler::new(params, cfg.vocab_size);
                sampler.avoid_echoes(&r.earlier_answers);
                sampler
            })
            .collect();
        let mut pending = Vec::with_capacity(rows);
        if rows > 0 {
            let prompts: Vec<&[u32]> = requests.iter().map(|r| r.prompt.as_slice()).collect();
            let options = ForwardOptions {
                logits: LogitsMode::Last,
                capture_layers: Vec::new(),
            };
            let prefill = model
                .forward(&mut cache, &prompts, Some(interventions), &options)?
                .read()
                .await?;
            for (r, sampler) in samplers.iter_mut().enumerate() {
                let logits = row_logits(&prefill, r)?;
                super::check_numbers(logits)?;
                pending.push(Some(sampler.sample(logits)));
            }
        }
        let answers = (0..rows)
            .map(|_| BatchAnswer {
                tokens: Vec::new(),
                stopped: false,
                mean_activation: vec![0.0; n_layers * hidden],
                floored_tokens: 0,
            })
            .collect();
        let mut watched = Vec::new();
        for c in &settings.watched_caps {
            let norm = c.direction.iter().map(|v| v * v).sum::<f32>().sqrt();
            if c.layer >= n_layers
                || c.direction.len() != hidden
                || !norm.is_finite()
                || norm <= 0.0
            {
                return Err(ModelError::InvalidIntervention(format!(
                    "a watched cap at layer {} does not fit the model",
                    c.layer
                ))
                .into());
            }
            let unit = c.direction.iter().map(|v| v / norm).collect();
            watched.push((c.layer, unit, c.tau));
        }
        Ok(AnswerBatch {
            model,
            interventions,
            settings,
            cache,
            samplers,
            pending,
            answers,
            all_layers: (0..n_layers).collect(),
            watched,
            finished: rows == 0,
        })
    }

    /// Feeds every live row its pending token (one forward pass). Returns `false` once every
    /// answer has ended; then [`AnswerBatch::finish`] gives them.
    pub async fn step(&mut self) -> Result<bool, GenerationError> {
        if self.finished {
            return Ok(false);
        }
        let rows = self.answers.len();
        let filler = self.settings.stop_tokens.first().copied().unwrap_or(0);
        let mut feeds = vec![filler; rows];
        let mut live = vec![false; rows];
        for r in 0..rows {
            if let Some(t) = self.pending[r].take() {
                if self.settings.stop_tokens.contains(&t) {
                    self.answers[r].stopped = true;
                } else {
                    self.answers[r].tokens.push(t);
                    feeds[r] = t;
                    live[r] = true;
                }
            }
        }
        if !live.iter().any(|&l| l) {
            self.finished = true;
            return Ok(false);
        }
        let feed_slices: Vec<&[u32]> = feeds.iter().map(std::slice::from_ref).collect();
        let options = ForwardOptions {
            logits: LogitsMode::Last,
            capture_layers: self.all_layers.clone(),
        };
        let out = self
            .model
            .forward(
                &mut self.cache,
                &feed_slices,
                Some(self.interventions),
                &options,
            )?
            .read()
            .await?;
        let hidden = self.model.config().hidden_size;
        for r in (0..rows).filter(|&r| live[r]) {
            for (layer, values, [_, seq, h]) in &out.captures {
                let at = (r * seq + (seq - 1)) * h;
                let (Some(src), Some(dst)) = (
                    values.get(at..at + h),
                    self.answers[r]
                        .mean_activation
                        .get_mut(layer * hidden..(layer + 1) * hidden),
                ) else {
                    return Err(ModelError::Readback(format!(
                        "layer {layer} came back with the wrong shape"
                    ))
                    .into());
                };
                for (d, v) in dst.iter_mut().zip(src) {
                    *d += v;
                }
            }
            let at_floor = self.watched.iter().any(|(layer, unit, tau)| {
                out.captures
                    .iter()
                    .find(|(l, ..)| l == layer)
                    .and_then(|(_, values, [_, seq, h])| {
                        let at = (r * seq + (seq - 1)) * h;
                        values.get(at..at + h)
                    })
                    .is_some_and(|x| {
                        let p: f32 = x.iter().zip(unit).map(|(a, b)| a * b).sum();
                        (p - tau).abs() <= AT_FLOOR * (1.0 + tau.abs())
                    })
            });
            self.answers[r].floored_tokens += usize::from(at_floor);
            if self.answers[r].tokens.len() < self.settings.max_new_tokens {
                let logits = row_logits(&out, r)?;
                super::check_numbers(logits)?;
                self.pending[r] = Some(self.samplers[r].sample(logits));
            }
        }
        Ok(true)
    }

    /// Rows whose answer has ended (stop token or length limit).
    pub fn ended(&self) -> usize {
        self.pending.iter().filter(|p| p.is_none()).count()
    }

    /// Tokens generated so far, over all rows.
    pub fn generated(&self) -> usize {
        self.answers.iter().map(|a| a.tokens.len()).sum()
    }

    /// The answers in request order, activations averaged over each answer's content tokens.
    pub fn finish(self) -> Vec<BatchAnswer> {
        let mut answers = self.answers;
        for a in &mut answers {
            let n = a.tokens.len();
            if n == 0 {
                a.mean_activation.clear();
            } else {
                a.mean_activation.iter_mut().for_each(|v| *v /= n as f32);
            }
        }
        answers
    }
}

fn row_logits(readout: &ForwardReadout, row: usize) -> Result<&[f32], ModelError> {
    readout
        .row_logits(row, 0)
        .ok_or_else(|| ModelError::Readback(format!("the model returned no logits for row {row}")))
}
