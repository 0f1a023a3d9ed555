//! `axis-lab sweep`: the capping sweep on an existing axis file, with the held-out persona set
//! of [`super::persona_set`] and the whole capability list — the sweep with statistical power
//! that a build's own small sweep cannot afford.
//!
//! Protocol (see the lab README): the grid is run on the `selection` part and the rule picks a
//! setting there; the chosen setting and no cap are then run on the `confirmation` part (other
//! prompts, other seeds), and only that run's rates are reported as the effect. Stored answers
//! make every stage resumable and re-readable with another judge.

use std::path::PathBuf;

use anyhow::{Context, Result};
use engine::axis::CapSetting;
use engine::axis::threshold::PAPER_PERCENTILES;

use super::persona_set::{self, Part};
use super::{SweepInputs, TokenBudget, grid, render};
use crate::data::LabData;
use crate::drift::DriftScale;
use crate::judge::Judge;
use crate::loading::load_model_and_axis;
use crate::rollout::rollout_sampling;
use crate::styles::HeldOut;

/// Which settings to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GridKind {
    /// The paper's default band at the chosen floors.
    Paper,
    /// Bands across depth (centres every 2 layers, 40–90 %) × widths × floors.
    Depth,
    /// Only the settings given with `--setting`.
    Listed,
}

pub struct SweepOptions {
    pub model: PathBuf,
    pub axis: PathBuf,
    pub data_dir: PathBuf,
    pub part: Part,
    pub grid: GridKind,
    pub widths: Vec<usize>,
    pub floors: Vec<engine::axis::Percentile>,
    pub settings: Vec<String>,
    pub capability_items: usize,
    pub persona_limit: Option<usize>,
    pub batch: usize,
    pub budget: TokenBudget,
    pub work: PathBuf,
    pub json: Option<PathBuf>,
    pub doc: Option<PathBuf>,
    /// Write the chosen setting (or, without one, the paper's default) into the axis file as
    /// its default cap, with the sweep's summary in its validation metadata.
    pub write_axis: bool,
}

pub fn run(opts: &SweepOptions) -> Result<()> {
    let data = LabData::load(&opts.data_dir)?;
    let (model, mut axis) = load_model_and_axis(&opts.model, &opts.axis)?;
    let chat = &model.chat;
    let n_layers = chat.model().config().n_layers;
    let HeldOut {
        role_ids,
        question_ids,
        roles,
        questions,
    } = HeldOut::of(&axis, &data)?;
    let mut persona = persona_set::held_out(&data, &roles, &questions, opts.part);
    if let Some(limit) = opts.persona_limit {
        persona.truncate(limit);
    }
    let capability: Vec<_> = data
        .capability
        .iter()
        .take(opts.capability_items)
        .cloned()
        .collect();

    let floors = if opts.floors.is_empty() {
        PAPER_PERCENTILES.to_vec()
    } else {
        opts.floors.clone()
    };
    let mut candidates: Vec<CapSetting> = match opts.grid {
        GridKind::Paper => grid::paper_band(n_layers, &floors),
        GridKind::Depth => grid::across_depth(n_layers, &opts.widths, &floors),
        GridKind::Listed => Vec::new(),
    };
    for s in &opts.settings {
        let c = grid::parse_setting(s, n_layers)?;
        if !candidates.contains(&c) {
            candidates.push(c);
        }
    }
    eprintln!(
        "sweep ({:?} part): {} persona prompts, {} capability questions, {} settings + no cap; answers kept in {}",
        opts.part,
        persona.len(),
        capability.len(),
        candidates.len(),
        opts.work.display()
    );

    let caps_of = |c: &CapSetting| axis.caps(c).map_err(anyhow::Error::msg);
    let inputs = SweepInputs {
        chat,
        data: &data,
        scale: DriftScale::from_file(&axis),
        caps: &caps_of,
        persona,
        capability,
        candidates,
        batch: opts.batch,
        budget: opts.budget,
        sampling: rollout_sampling(),
        store: Some(opts.work.join(format!("{:?}", opts.part).to_lowercase())),
    };
    let (report, runs) = super::run(&inputs)?;
    let judge = Judge::new(&data.markers, &data.roles, &data.questions);
    let study = runs
        .iter()
        .find(|r| r.cap.is_none())
        .map(|b| super::budget_study(&inputs, &judge, b))
        .unwrap_or_default();
    let cost: Vec<serde_json::Value> = runs
        .iter()
        .map(|r| {
            serde_json::json!({
                "setting": grid::label(r.cap.as_ref()),
                "seconds": r.seconds,
                "prompt_tokens": r.prompt_tokens,
                "generated_tokens": r.generated_tokens,
                "padding_tokens": r.padding_tokens,
            })
        })
        .collect();

    println!("{}", render::results_table(&report));
    println!("{}", render::styles_table(&report));
    if !study.is_empty() {
        println!("{}", render::study_table(&study));
    }
    println!("Outcome: {}", report.verdict);

    let summary = serde_json::json!({
        "tool": "axis-lab sweep",
        "part": opts.part,
        "axis": opts.axis.file_name().map(|n| n.to_string_lossy().into_owned()),
        "held_out_roles": role_ids,
        "held_out_questions": question_ids,
        "recipe": persona_set::RECIPE,
        "sampling": rollout_sampling(),
        "batch": opts.batch,
        "report": report,
        "budget_study": study,
        "cost": cost,
    });
    if let Some(path) = &opts.json {
        std::fs::write(path, serde_json::to_string_pretty(&summary)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &opts.doc {
        let mut doc = format!(
            "# Capping sweep, {:?} part (generated by `axis-lab sweep`)\n\n{} persona prompts, {} capability questions per setting; persona answers {} tokens, capability answers {} tokens (greedy). Floors are percentiles of all answers' projections. Rates: hits/n = rate [95 % Wilson interval]. Rule: {}.\n\n",
            opts.part,
            report.persona_prompts,
            report.capability_questions,
            opts.budget.persona,
            opts.budget.capability,
            report.rule
        );
        doc.push_str(&render::results_table(&report));
        doc.push_str("\nNon-assistant identity by the way the persona is set up:\n\n");
        doc.push_str(&render::styles_table(&report));
        if !study.is_empty() {
            doc.push_str(
                "\nThe baseline's answers cut shorter (what the token budget changes):\n\n",
            );
            doc.push_str(&render::study_table(&study));
        }
        doc.push_str(&format!("\nOutcome: {}.\n", report.verdict));
        std::fs::write(path, doc).with_context(|| format!("writing {}", path.display()))?;
    }
    if opts.write_axis {
        let (_, paper) = engine::axis::build::paper_defaults(n_layers);
        axis.meta.cap = report.chosen.unwrap_or(paper);
        let note = serde_json::json!({
            "tool": "axis-lab sweep",
            "part": opts.part,
            "persona_prompts": report.persona_prompts,
            "capability_questions": report.capability_questions,
            "rule": report.rule,
            "chosen": report.chosen,
            "verdict": report.verdict,
        });
        if let Some(v) = axis.meta.validation.as_object_mut() {
            v.insert("capping_sweep".to_owned(), note.clone());
        }
        std::fs::write(&opts.axis, axis.to_bytes()?)
            .with_context(|| format!("writing {}", opts.axis.display()))?;
        // The build's report beside the file says the same.
        let beside = opts.axis.with_extension("report.json");
        if let Ok(text) = std::fs::read_to_string(&beside) {
            let mut r: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("reading {}", beside.display()))?;
            if let Some(v) = r.get_mut("validation").and_then(|v| v.as_object_mut()) {
                v.insert("capping_sweep".to_owned(), note);
            }
            std::fs::write(&beside, serde_json::to_string_pretty(&r)?)
                .with_context(|| format!("writing {}", beside.display()))?;
        }
        eprintln!(
            "wrote {}: default cap {}",
            opts.axis.display(),
            grid::label(Some(&axis.meta.cap))
        );
    }
    Ok(())
}
