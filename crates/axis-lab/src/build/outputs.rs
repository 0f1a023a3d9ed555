//! Stage 9: the axis file, `<out>.report.json` with every number, and (with `doc`) the
//! Markdown report with its charts.

use std::time::Instant;

use anyhow::{Context, Result};
use engine::axis::{AxisFile, AxisMeta, CapSetting, FORMAT_VERSION};
use serde_json::json;

use super::capping::Capping;
use super::context::{AxisContext, BuildOptions};
use super::judge::JudgeAgreement;
use super::rollouts::Rollouts;
use crate::compute::{AxisStats, PERCENTILE_LEVELS};
use crate::data::LabData;
use crate::drift::DriftCurve;
use crate::loading::LoadedModel;
use crate::plan::Plan;
use crate::rollout::rollout_sampling;
use crate::steering::SteeringPoint;

/// Everything the build measured, for the files it writes.
pub struct Outputs<'a> {
    pub opts: &'a BuildOptions,
    /// When the build started (for its total time).
    pub started: Instant,
    pub plan: &'a Plan,
    pub rollouts: &'a Rollouts,
    pub axis: &'a AxisContext<'a>,
    pub agreement: &'a JudgeAgreement,
    pub capping: &'a Capping,
    pub steering: &'a [SteeringPoint],
    pub steering_seconds: f64,
    pub drift: &'a [DriftCurve],
    pub drift_seconds: f64,
}

/// Writes the axis file, the JSON report and (with `doc`) the Markdown report.
pub fn write(o: &Outputs<'_>) -> Result<()> {
    let (opts, t0, plan) = (o.opts, o.started, o.plan);
    let (model, data, stats, monitor) = (o.axis.model, o.axis.data, o.axis.stats, o.axis.monitor);
    let budget = opts.budget;
    let (rollout_seconds, rollout_seconds_this_run) =
        (o.rollouts.seconds, o.rollouts.seconds_this_run);
    let judge_agreement = &o.agreement.design;
    let judge_agreement_heldout = &o.agreement.held_out;
    let identity_agreement = &o.agreement.identity;
    let (sweep_report, chosen, sweep_seconds) =
        (&o.capping.report, o.capping.chosen, o.capping.seconds);
    let (steering, steering_seconds) = (o.steering, o.steering_seconds);
    let (drift, drift_seconds) = (o.drift, o.drift_seconds);
    let build_info = json!({
        "tool": "axis-lab build",
        "seed": opts.seed,
        "budget": budget,
        "answers": plan.jobs.len(),
        "batch": opts.batch,
        "max_new_tokens": opts.max_new_tokens,
        "sampling": rollout_sampling(),
        "weights": "f32 (dequantized from the GGUF), burn flex CPU backend",
        "commit": source_commit(),
        "train_roles": plan.train_roles.iter().map(|&r| data.roles[r].id.clone()).collect::<Vec<_>>(),
        "held_out_roles": plan.held_out_roles.iter().map(|&r| data.roles[r].id.clone()).collect::<Vec<_>>(),
        "held_out_questions": plan.held_out_questions.iter().map(|&q| data.questions[q].id.clone()).collect::<Vec<_>>(),
        "seconds": {
            "rollouts": rollout_seconds,
            "rollouts_this_run": rollout_seconds_this_run,
            "sweep": sweep_seconds,
            "steering": steering_seconds,
            "drift": drift_seconds,
            "total": t0.elapsed().as_secs_f64(),
        },
    });
    let validation = json!({
        "report": stats.report,
        "judge_agreement": judge_agreement,
        "judge_agreement_heldout": judge_agreement_heldout,
        "identity_agreement": identity_agreement,
        "monitor_layer_rule": "best held-out AUROC at 25–75 % depth",
        "sweep": sweep_report,
        "steering": steering,
        "drift": drift,
    });
    let file = assemble(
        stats,
        model,
        data,
        monitor,
        chosen,
        validation.clone(),
        build_info.clone(),
    )?;
    if let Some(dir) = opts.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&opts.out, file.to_bytes()?)
        .with_context(|| format!("writing {}", opts.out.display()))?;
    let report_path = opts.out.with_extension("report.json");
    std::fs::write(
        &report_path,
        serde_json::to_string_pretty(&json!({ "build": build_info, "validation": validation }))?,
    )?;
    if let Some(doc) = &opts.doc {
        crate::report::write(
            doc,
            &crate::report::ReportInputs {
                model_id: &model.id,
                model_sha256: &model.sha256,
                stats,
                role_names: file.meta.roles.clone(),
                monitor,
                cap: chosen,
                agreement: judge_agreement.as_ref(),
                agreement_heldout: judge_agreement_heldout.as_ref(),
                identity_agreement,
                sweep: sweep_report.as_ref(),
                steering,
                drift,
                build: &build_info,
            },
        )?;
        eprintln!("wrote the report {}", doc.display());
    }
    eprintln!(
        "wrote {} and {} in {:.0} s",
        opts.out.display(),
        report_path.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn assemble(
    stats: &AxisStats,
    model: &LoadedModel,
    data: &LabData,
    monitor: usize,
    cap: CapSetting,
    validation: serde_json::Value,
    build: serde_json::Value,
) -> Result<AxisFile> {
    let flat = |v: &[Vec<f32>]| v.concat();
    let k = stats.pca[monitor].components.len();
    let meta = AxisMeta {
        format_version: FORMAT_VERSION,
        model_id: model.id.clone(),
        model_sha256: model.sha256.clone(),
        n_layers: stats.n_layers,
        hidden: stats.hidden,
        monitor_layer: monitor,
        cap,
        percentile_levels: PERCENTILE_LEVELS.to_vec(),
        roles: stats
            .roles
            .iter()
            .map(|&r| data.roles[r].name.clone())
            .collect(),
        validation,
        build,
    };
    let file = AxisFile {
        meta,
        axis: flat(&stats.axis),
        default_mean: flat(&stats.default_mean),
        role_mean: flat(&stats.role_mean),
        default_percentiles: flat(&stats.default_percentiles),
        role_percentiles: flat(&stats.role_percentiles),
        all_percentiles: Some(flat(&stats.all_percentiles)),
        n_components: k,
        pca_components: stats
            .pca
            .iter()
            .flat_map(|p| p.components.concat())
            .collect(),
        pca_explained: stats.pca.iter().flat_map(|p| p.explained.clone()).collect(),
        role_coords: stats.pca[monitor].coords.concat(),
    };
    // Round-trip through the reader so that a file we ship is a file the app accepts.
    let bytes = file.to_bytes()?;
    Ok(AxisFile::from_bytes(&bytes)?)
}

/// The commit of the source tree the lab runs from (data files included), marked when the
/// tree has uncommitted changes; "unknown" outside a git checkout.
fn source_commit() -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "HEAD"]) {
        Some(head) => match git(&["status", "--porcelain", "--", "."]) {
            Some(changes) if !changes.is_empty() => format!("{head} + uncommitted changes"),
            _ => head,
        },
        None => "unknown (not built from a git checkout)".to_owned(),
    }
}
