//! Stage 8: the scripted conversations replayed turn by turn, uncapped and under the chosen cap.

use std::time::Instant;

use anyhow::Result;
use engine::axis::CapSetting;
use engine::model::Interventions;

use super::context::AxisContext;
use crate::drift::DriftCurve;
use crate::sweep;

/// Replays the budget's conversations with answers of up to `max_new_tokens`; returns the
/// uncapped curves, then the capped ones, and the stage's seconds.
pub fn run(
    ctx: &AxisContext<'_>,
    chosen: &CapSetting,
    max_new_tokens: usize,
) -> Result<(Vec<DriftCurve>, f64)> {
    let (model, stats, monitor, budget) = (ctx.model, ctx.stats, ctx.monitor, ctx.budget);
    let t_drift = Instant::now();
    let conversations: Vec<_> = ctx
        .data
        .drift
        .iter()
        .take(budget.drift_conversations)
        .cloned()
        .collect();
    let none = model.chat.model().prepare(&Interventions::none())?;
    let cap_interventions = Interventions {
        caps: sweep::cap_list(stats, chosen)?,
        ..Interventions::none()
    };
    let capped = model.chat.model().prepare(&cap_interventions)?;
    let scale = crate::drift::DriftScale::from_stats(stats, monitor);
    let app = crate::drift::DriftSampling::app_default();
    let mut drift = crate::drift::replay(
        &model.chat,
        &scale,
        &conversations,
        budget.drift_turns,
        &none,
        false,
        max_new_tokens,
        &app,
        &[],
    )?;
    drift.extend(crate::drift::replay(
        &model.chat,
        &scale,
        &conversations,
        budget.drift_turns,
        &capped,
        true,
        max_new_tokens,
        &app,
        &cap_interventions.caps,
    )?);
    let drift_seconds = t_drift.elapsed().as_secs_f64();
    Ok((drift, drift_seconds))
}
