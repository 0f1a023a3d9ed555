//! Scoring without generating: run a whole token sequence through the model (prefill only) and
//! return every token's probe values. The demo's "Text" view (the uncapped model re-reads each
//! message) and the axis lab's activation statistics both use this.

use crate::model::{ForwardOptions, LlamaModel, LogitsMode, ModelError, PreparedInterventions};

/// Probe values per token, `[token][probe]`, in sequence order.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredTokens {
    pub probes: Vec<Vec<f32>>,
}

impl ScoredTokens {
    /// Mean of probe `probe` over tokens `range` (e.g. one message's content tokens).
    pub fn mean(&self, probe: usize, range: std::ops::Range<usize>) -> Option<f32> {
        let values: Vec<f32> = self
            .probes
            .get(range)?
            .iter()
            .filter_map(|p| p.get(probe).copied())
            .collect();
        if values.is_empty() {
            return None;
        }
        Some(values.iter().sum::<f32>() / values.len() as f32)
    }
}

/// One prefill over `tokens` with `interventions` (probes, and caps/steers if given).
pub async fn score_tokens(
    model: &LlamaModel,
    interventions: &PreparedInterventions,
    tokens: &[u32],
) -> Result<ScoredTokens, ModelError> {
    let mut cache = model.new_cache(1);
    let options = ForwardOptions {
        logits: LogitsMode::None,
        capture_layers: Vec::new(),
    };
    let out = model.forward(&mut cache, &[tokens], Some(interventions), &options)?;
    let readout = out.read().await?;
    Ok(ScoredTokens {
        probes: readout.row_probes(0),
    })
}
