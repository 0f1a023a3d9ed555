//! Stages 1 and 2: the seeded plan, and every planned answer not yet in the store (with its
//! mean residual stream per layer), resumable from `plan.json`, `rollouts.jsonl` and
//! `activations.f32`.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use engine::model::Interventions;
use indicatif::{ProgressBar, ProgressStyle};

use crate::data::LabData;
use crate::loading::LoadedModel;
use crate::plan::{Budget, Plan};
use crate::rollout::{RolloutRequest, RolloutSettings, generate_batch, rollout_sampling};
use crate::store::{RolloutStore, StoredAnswer};

/// Stage 1: the plan, announced.
pub fn plan(data: &LabData, budget: Budget, seed: u64) -> Plan {
    let plan = Plan::new(data, budget, seed);
    eprintln!(
        "plan: {} answers — {} training roles × {} questions, {} default prompts × {} questions; held out: {} roles × {}, {} × {} default (seed {})",
        plan.jobs.len(),
        plan.train_roles.len(),
        budget.questions_per_role,
        data.default_prompts.len(),
        budget.default_questions_per_prompt,
        plan.held_out_roles.len(),
        budget.held_out_questions_per_role,
        data.default_prompts.len(),
        budget.held_out_default_questions_per_prompt,
        seed
    );
    plan
}

/// What stage 2 leaves: every planned answer, and the generation time.
pub struct Rollouts {
    pub store: RolloutStore,
    /// Summed over the stored answers: the whole generation time, also after a resume.
    pub seconds: f64,
    /// This invocation's own generation time.
    pub seconds_this_run: f64,
}

/// Where stage 2 keeps its checkpoints and how it generates.
pub struct RolloutRun<'a> {
    pub work: &'a Path,
    pub restart: bool,
    pub batch: usize,
    pub max_new_tokens: usize,
}

/// Stage 2: opens the store (resuming it unless `restart`) and generates what is missing.
pub fn run(
    model: &LoadedModel,
    data: &LabData,
    plan: &Plan,
    run: &RolloutRun<'_>,
) -> Result<Rollouts> {
    let cfg = model.chat.model().config();
    let mut store =
        RolloutStore::open(run.work, plan, cfg.n_layers * cfg.hidden_size, run.restart)?;
    if store.done() > 0 {
        eprintln!(
            "resuming: {} of {} answers already in {}",
            store.done(),
            plan.jobs.len(),
            run.work.display()
        );
    }
    let t_roll = Instant::now();
    generate(model, data, plan, &mut store, run.batch, run.max_new_tokens)?;
    let seconds_this_run = t_roll.elapsed().as_secs_f64();
    let seconds = store.answers.iter().map(|a| a.seconds).sum();
    Ok(Rollouts {
        store,
        seconds,
        seconds_this_run,
    })
}

fn bar(len: u64, label: &str) -> ProgressBar {
    let template =
        format!("{label:<8} {{bar:30}} {{pos}}/{{len}} {{msg}} {{elapsed}} ({{eta}} left)");
    ProgressBar::new(len).with_style(
        ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    )
}

/// Generates every planned answer not yet in the store, `batch` per forward pass.
fn generate(
    model: &LoadedModel,
    data: &LabData,
    plan: &Plan,
    store: &mut RolloutStore,
    batch: usize,
    max_new_tokens: usize,
) -> Result<()> {
    let none = model.chat.model().prepare(&Interventions::none())?;
    let settings = RolloutSettings {
        max_new_tokens,
        sampling: rollout_sampling(),
    };
    let progress = bar(plan.jobs.len() as u64, "rollouts");
    progress.set_position(store.done() as u64);
    let started = Instant::now();
    let mut tokens = 0usize;
    while store.done() < plan.jobs.len() {
        let first = store.done();
        let last = (first + batch).min(plan.jobs.len());
        let requests: Vec<RolloutRequest> = plan.jobs[first..last]
            .iter()
            .map(|job| {
                let question = &data.questions[job.question].text;
                Ok(RolloutRequest {
                    prompt: model.chat.prompt_tokens(&Plan::messages(
                        data,
                        &job.speaker,
                        question,
                    ))?,
                    seed: job.seed,
                    earlier_answers: Vec::new(),
                })
            })
            .collect::<Result<_>>()?;
        let batch_started = Instant::now();
        let answers = generate_batch(&model.chat, &none, &requests, &settings)?;
        let per_answer = batch_started.elapsed().as_secs_f64() / answers.len().max(1) as f64;
        let mut stored = Vec::with_capacity(answers.len());
        for (i, a) in answers.into_iter().enumerate() {
            tokens += a.tokens.len();
            stored.push((
                StoredAnswer {
                    job: first + i,
                    text: model.chat.tokenizer().decode(&a.tokens)?,
                    n_tokens: a.tokens.len(),
                    stopped: a.stopped,
                    seconds: per_answer,
                },
                a.mean_activation,
            ));
        }
        store.append(stored)?;
        progress.set_position(store.done() as u64);
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        let rate = format!("answers, {:.0} generated tok/s", tokens as f64 / secs);
        if progress.is_hidden() {
            // Not a terminal (CI, a log file): one line per batch instead of a bar.
            eprintln!(
                "rollouts {}/{} {rate}, {secs:.0} s",
                store.done(),
                plan.jobs.len()
            );
        }
        progress.set_message(rate);
    }
    progress.finish();
    Ok(())
}
