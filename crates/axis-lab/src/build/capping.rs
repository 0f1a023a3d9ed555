//! Stage 6: the capping sweep on held-out role prompts and capability questions, and the cap
//! the file ships (the sweep's choice, or the paper's default when it chose none or none ran).

use std::time::Instant;

use anyhow::Result;
use engine::axis::CapSetting;

use super::context::AxisContext;
use crate::drift::DriftScale;
use crate::plan::{Plan, Speaker, Split};
use crate::rollout::rollout_sampling;
use crate::sweep::{self, PersonaPrompt, SweepInputs, SweepReport};

/// What stage 6 leaves.
pub struct Capping {
    /// `None` when no sweep was run.
    pub report: Option<SweepReport>,
    /// The cap the file ships.
    pub chosen: CapSetting,
    pub seconds: f64,
}

/// Runs the sweep (when `run_sweep`) and chooses the cap.
pub fn run(ctx: &AxisContext<'_>, plan: &Plan, run_sweep: bool) -> Result<Capping> {
    let (data, stats, budget) = (ctx.data, ctx.stats, ctx.budget);
    let t_sweep = Instant::now();
    let sweep_report = if run_sweep {
        let persona: Vec<PersonaPrompt> = plan
            .jobs
            .iter()
            .filter(|j| j.split == Split::HeldOut)
            .filter_map(|j| match j.speaker {
                Speaker::Role { role, style, .. } => Some(PersonaPrompt {
                    role,
                    style,
                    messages: Plan::messages(data, &j.speaker, &data.questions[j.question].text),
                    follow_up: None,
                    seed: j.seed,
                }),
                Speaker::Default { .. } => None,
            })
            .take(budget.sweep_persona_prompts)
            .collect();
        let capability = data
            .capability
            .iter()
            .take(budget.capability_questions)
            .cloned()
            .collect();
        let caps_of = |c: &engine::axis::CapSetting| sweep::cap_list(stats, c);
        let inputs = SweepInputs {
            chat: &ctx.model.chat,
            data,
            scale: DriftScale::from_stats(stats, ctx.monitor),
            caps: &caps_of,
            persona,
            capability,
            candidates: sweep::grid::for_build(ctx.n_layers(), budget.small_sweep),
            batch: ctx.batch,
            budget: sweep::TokenBudget {
                persona: ctx.short,
                capability: 32,
                persona_study: 0,
                capability_study: 0,
            },
            sampling: rollout_sampling(),
            store: None,
        };
        Some(sweep::run(&inputs)?.0)
    } else {
        None
    };
    let sweep_seconds = t_sweep.elapsed().as_secs_f64();
    let chosen = sweep_report
        .as_ref()
        .and_then(|s| s.chosen)
        .unwrap_or_else(|| engine::axis::build::paper_defaults(ctx.n_layers()).1);
    if let Some(s) = &sweep_report {
        for res in &s.results {
            eprintln!(
                "  {:<22} other identity {:>3.0} %, text score {:+.3} (activations {:+.3}), in role {:>3.0} %, capability {:>3.0} %",
                res.cap
                    .map(|c| format!(
                        "layers {}–{} p{}",
                        c.first_layer, c.last_layer, c.percentile
                    ))
                    .unwrap_or_else(|| "no cap".to_owned()),
                res.persona_other_identity.rate * 100.0,
                res.persona_text_score,
                res.persona_activation_score,
                res.persona_in_role.rate * 100.0,
                res.capability.rate * 100.0
            );
        }
    }
    let chosen_by_sweep = sweep_report.as_ref().is_some_and(|s| s.chosen.is_some());
    if let Some(s) = &sweep_report {
        eprintln!("sweep: {}", s.verdict);
    }
    eprintln!(
        "cap: layers {}–{}, floor at the {}{}",
        chosen.first_layer,
        chosen.last_layer,
        engine::axis::threshold::describe_floor(
            engine::axis::ThresholdBasis::AllAnswers,
            chosen.percentile
        ),
        match (&sweep_report, chosen_by_sweep) {
            (Some(_), true) => " (chosen by the sweep)",
            (Some(_), false) => " (the paper's default: the sweep chose none)",
            (None, _) => " (the paper's default: no sweep was run)",
        }
    );

    Ok(Capping {
        report: sweep_report,
        chosen,
        seconds: sweep_seconds,
    })
}
