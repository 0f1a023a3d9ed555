//! Two copies of one model read the same tokens: how far apart are their logits? The page
//! checks its WebGPU copy against a CPU copy this way before it answers (a GPU driver that
//! computes wrong numbers would otherwise answer fluently and wrongly).

use crate::model::{ForwardOptions, LlamaModel, LogitsMode, ModelError};

use super::{GenerationError, argmax, check_numbers};

/// How the tested copy's logits compare with the reference's over a prefill and a few decode
/// steps fed the reference's greedy tokens.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogitsComparison {
    /// The largest |tested − reference| over every compared logit.
    pub max_abs_diff: f32,
    /// Positions compared: the prompt's last one and one per decode step.
    pub positions: usize,
    /// Positions where both copies would pick the same greedy token.
    pub same_greedy_token: usize,
}

/// Prefills `prompt` on both copies, then feeds `decode_steps` tokens (each the reference's
/// greedy choice) one at a time, comparing the logits of every position read. The decode steps
/// matter: on WebGPU they run the engine's own kernels, the prefill burn's general ones.
pub async fn compare_logits(
    tested: &LlamaModel,
    reference: &LlamaModel,
    prompt: &[u32],
    decode_steps: usize,
) -> Result<LogitsComparison, GenerationError> {
    if prompt.is_empty() {
        return Err(GenerationError::EmptyPrompt);
    }
    let options = ForwardOptions {
        logits: LogitsMode::Last,
        capture_layers: Vec::new(),
    };
    let mut caches = [tested.new_cache(1), reference.new_cache(1)];
    let mut result = LogitsComparison {
        max_abs_diff: 0.0,
        positions: 0,
        same_greedy_token: 0,
    };
    let mut feed = prompt.to_vec();
    for _ in 0..=decode_steps {
        let mut logits = Vec::with_capacity(2);
        for (model, cache) in [tested, reference].into_iter().zip(caches.iter_mut()) {
            let readout = model
                .forward(cache, &[&feed], None, &options)?
                .read()
                .await?;
            let row = readout
                .row_logits(0, 0)
                .ok_or_else(|| ModelError::Readback("the forward returned no logits".into()))?;
            check_numbers(row)?;
            logits.push(row.to_vec());
        }
        let (t, r) = (&logits[0], &logits[1]);
        if t.len() != r.len() {
            return Err(ModelError::Readback(format!(
                "the copies' vocabularies differ ({} and {} logits)",
                t.len(),
                r.len()
            ))
            .into());
        }
        let diff = t
            .iter()
            .zip(r)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        result.max_abs_diff = result.max_abs_diff.max(diff);
        result.positions += 1;
        let next = argmax(r);
        result.same_greedy_token += usize::from(argmax(t) == next);
        feed = vec![next];
    }
    Ok(result)
}
