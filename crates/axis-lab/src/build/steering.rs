//! Stage 7: the steering scan, α · axis added at the monitor layer.

use std::time::Instant;

use anyhow::Result;

use super::context::AxisContext;
use crate::steering::SteeringPoint;

/// Scans the budget's α values; returns the points and the stage's seconds.
pub fn run(ctx: &AxisContext<'_>) -> Result<(Vec<SteeringPoint>, f64)> {
    let t_steer = Instant::now();
    let alphas: &[f32] = if ctx.budget.small_sweep {
        &crate::steering::SMALL_ALPHAS
    } else {
        &crate::steering::FULL_ALPHAS
    };
    let steering = crate::steering::scan(
        &ctx.model.chat,
        ctx.data,
        ctx.stats,
        ctx.monitor,
        ctx.budget.steering_questions,
        alphas,
        ctx.short,
        ctx.batch,
    )?;
    Ok((steering, t_steer.elapsed().as_secs_f64()))
}
