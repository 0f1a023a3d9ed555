//! Stages 4 and 5: the axis, its PCA and percentiles from the judged answers, validated on the
//! held-out set, and the monitor layer.

use anyhow::Result;
use engine::speaker::Verdict;

use crate::compute::{AxisStats, choose_monitor_layer, compute};
use crate::data::LabData;
use crate::plan::Plan;
use crate::store::RolloutStore;

/// Computes the axis statistics and chooses the monitor layer (returned with them).
pub fn compute_axis(
    data: &LabData,
    plan: &Plan,
    store: &RolloutStore,
    verdicts: &[Verdict],
    n_layers: usize,
    hidden: usize,
) -> Result<(AxisStats, usize)> {
    let stats = compute(data, plan, store, verdicts, n_layers, hidden)?;
    let monitor = choose_monitor_layer(&stats);
    let r = &stats.report;
    eprintln!(
        "judge: kept {} of {} role answers ({:.0} %); default answers presenting as an AI: {:.0} %",
        r.role_answers_kept,
        r.role_answers,
        r.kept_fraction * 100.0,
        r.default_answers_presenting_as_ai * 100.0
    );
    eprintln!(
        "monitor layer {monitor}: held-out AUROC {:.3}, cos(PC1, axis) {:.3} (plain role vectors {:.3}), PC1 explains {:.0} %",
        r.held_out_auroc[monitor],
        r.cos_pc1_axis[monitor],
        r.cos_pc1_axis_plain[monitor],
        r.pc1_explained[monitor] * 100.0
    );
    Ok((stats, monitor))
}
