//! Generation: prefill a prompt, then sample token after token, with the probes of every token
//! coming back in the same readback as the logits.
//!
//! [`Generation`] is driven step by step by the caller (`next().await` per token), so that the
//! browser worker can yield to its event loop between tokens (to hear "stop") and the native lab
//! can run it in a plain loop. One forward pass and one async readback per token.

mod batch;
mod compare;
mod rng;
mod sampler;
mod score;

pub use batch::{AnswerBatch, BatchAnswer, BatchRequest, BatchSettings};
pub use compare::{LogitsComparison, compare_logits};
pub use rng::SeededRng;
pub use sampler::{DEFAULT_ECHO_PENALTY, ECHO_RUN, Sampler, SamplingParams, argmax};
pub use score::{ScoredTokens, score_tokens};

use crate::model::{
    ForwardOptions, KvCache, LlamaModel, LogitsMode, ModelError, PreparedInterventions,
};

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StopReason {
    /// The model produced one of the stop tokens (end of turn / end of text).
    StopToken(u32),
    /// `max_new_tokens` were generated.
    MaxTokens,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationRequest {
    /// The rendered, tokenized conversation ending in the assistant header.
    pub prompt: Vec<u32>,
    pub max_new_tokens: usize,
    pub sampling: SamplingParams,
    /// Tokens that end the answer (they are returned but not fed back).
    pub stop_tokens: Vec<u32>,
    /// The conversation's earlier answers (`ChatModel::earlier_answers`), for the echo penalty;
    /// empty for a first turn.
    pub earlier_answers: Vec<Vec<u32>>,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerationError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("invalid sampling settings: {0}")]
    Sampling(String),
    #[error("the prompt is empty")]
    EmptyPrompt,
    #[error("max new tokens must be at least 1")]
    NoTokensRequested,
    /// NaN in the logits: broken weights (a corrupt or badly converted file) or a failing
    /// backend. Sampling on would pick an arbitrary token and end in an empty answer.
    #[error(
        "the model produced invalid numbers (NaN): its weights may be corrupt, or this backend failed on it — try the other backend or precision, or another copy of the model"
    )]
    InvalidNumbers,
    /// The prompt plus the answer would not fit; the caller trims the conversation first.
    #[error(
        "the conversation needs {needed} tokens ({prompt} prompt + {max_new} for the answer) but the model's context is {context}"
    )]
    ContextOverflow {
        needed: usize,
        prompt: usize,
        max_new: usize,
        context: usize,
    },
}

/// Refuses logits with a NaN (see [`GenerationError::InvalidNumbers`]). Infinities pass: a
/// `-inf` logit is a legitimate "never" (masking), and sampling handles `+inf`.
pub fn check_numbers(logits: &[f32]) -> Result<(), GenerationError> {
    if logits.iter().any(|v| v.is_nan()) {
        return Err(GenerationError::InvalidNumbers);
    }
    Ok(())
}

/// One generated token and the probe values of its residual stream (one per requested probe).
/// The stop token gets no probe values: it is never fed back into the model.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedToken {
    pub id: u32,
    pub probes: Option<Vec<f32>>,
    /// Set on the last token.
    pub stop: Option<StopReason>,
}

/// An answer in progress.
pub struct Generation<'m> {
    model: &'m LlamaModel,
    interventions: &'m PreparedInterventions,
    cache: KvCache,
    sampler: Sampler,
    stop_tokens: Vec<u32>,
    max_new_tokens: usize,
    generated: usize,
    /// Sampled but not yet fed through the model.
    pending: Option<u32>,
    prompt_probes: Vec<Vec<f32>>,
}

impl<'m> Generation<'m> {
    /// Validates the request, runs the prompt through the model (prefill) and samples the first
    /// token. The prompt's per-token probe values are in [`Generation::prompt_probes`].
    pub async fn start(
        model: &'m LlamaModel,
        interventions: &'m PreparedInterventions,
        request: &GenerationRequest,
    ) -> Result<Generation<'m>, GenerationError> {
        request
            .sampling
            .validate()
            .map_err(GenerationError::Sampling)?;
        if request.prompt.is_empty() {
            return Err(GenerationError::EmptyPrompt);
        }
        if request.max_new_tokens == 0 {
            return Err(GenerationError::NoTokensRequested);
        }
        let context = model.config().context_length;
        // The last generated token is fed back once more for its probes, hence no "- 1".
        let needed = request.prompt.len() + request.max_new_tokens;
        if needed > context {
            return Err(GenerationError::ContextOverflow {
                needed,
                prompt: request.prompt.len(),
                max_new: request.max_new_tokens,
                context,
            });
        }
        let mut cache = model.new_cache(1);
        let options = ForwardOptions {
            logits: LogitsMode::Last,
            capture_layers: Vec::new(),
        };
        let out = model.forward(
            &mut cache,
            &[&request.prompt],
            Some(interventions),
            &options,
        )?;
        let readout = out.read().await?;
        let mut sampler = Sampler::new(request.sampling.clone(), model.config().vocab_size);
        sampler.avoid_echoes(&request.earlier_answers);
        let logits = readout
            .row_logits(0, 0)
            .ok_or_else(|| ModelError::Readback("the prefill returned no logits".to_owned()))?;
        check_numbers(logits)?;
        let first = sampler.sample(logits);
        Ok(Generation {
            model,
            interventions,
            cache,
            sampler,
            stop_tokens: request.stop_tokens.clone(),
            max_new_tokens: request.max_new_tokens,
            generated: 0,
            pending: Some(first),
            prompt_probes: readout.row_probes(0),
        })
    }

    /// Probe values of every prompt token, `[token][probe]`.
    pub fn prompt_probes(&self) -> &[Vec<f32>] {
        &self.prompt_probes
    }

    /// The next token, or `None` once the answer has ended.
    pub async fn next(&mut self) -> Result<Option<GeneratedToken>, GenerationError> {
        let Some(token) = self.pending.take() else {
            return Ok(None);
        };
        self.generated += 1;
        if self.stop_tokens.contains(&token) {
            return Ok(Some(GeneratedToken {
                id: token,
                probes: None,
                stop: Some(StopReason::StopToken(token)),
            }));
        }
        let last = self.generated >= self.max_new_tokens;
        // The last token is fed once more without the LM head, only for its probe values.
        let logits = if last {
            LogitsMode::None
        } else {
            LogitsMode::Last
        };
        let options = ForwardOptions {
            logits,
            capture_layers: Vec::new(),
        };
        let out = self.model.forward(
            &mut self.cache,
            &[&[token]],
            Some(self.interventions),
            &options,
        )?;
        let readout = out.read().await?;
        let probes = readout.row_probes(0).into_iter().next();
        if last {
            return Ok(Some(GeneratedToken {
                id: token,
                probes,
                stop: Some(StopReason::MaxTokens),
            }));
        }
        let logits = readout
            .row_logits(0, 0)
            .ok_or_else(|| ModelError::Readback("the decode step returned no logits".to_owned()))?;
        check_numbers(logits)?;
        self.pending = Some(self.sampler.sample(logits));
        Ok(Some(GeneratedToken {
            id: token,
            probes,
            stop: None,
        }))
    }

    /// Tokens generated so far (including a stop token).
    pub fn generated(&self) -> usize {
        self.generated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_logits_are_an_error_and_infinities_are_not() {
        assert!(check_numbers(&[0.5, f32::NEG_INFINITY, 3.0]).is_ok());
        let err = check_numbers(&[0.5, f32::NAN, 3.0]).expect_err("NaN");
        assert!(matches!(err, GenerationError::InvalidNumbers));
        assert!(err.to_string().contains("invalid numbers"), "{err}");
    }
}
