//! `axis-lab eval`: score an existing axis file on any roles and questions.
//!
//! Generates answers (batched, seeded) for every given role — each role answers a sample of
//! the questions, cycling through its system prompts — and for the default Assistant prompts,
//! then reports each role's mean score at the file's monitor layer (centred as in the app:
//! 0 = the mean role vector, positive = Assistant-like) and how well the axis separates
//! default from role answers (AUROC).

use std::path::PathBuf;

use anyhow::Result;
use engine::model::Interventions;
use serde::Serialize;

use crate::data::{LabData, Question, Role, read_jsonl};
use crate::judge::Judge;
use crate::loading::load_model_and_axis;
use crate::rollout::{RolloutRequest, RolloutSettings, generate_batch};
use crate::rollout::{messages_for, rollout_sampling};
use crate::split::sample;
use crate::stats::{auroc, dot};

pub struct EvalOptions {
    pub model: PathBuf,
    pub axis: PathBuf,
    pub roles: PathBuf,
    pub questions: PathBuf,
    pub data_dir: PathBuf,
    pub questions_per_role: usize,
    pub batch: usize,
    pub max_new_tokens: usize,
    pub seed: u64,
    pub json: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct RoleScore {
    role: String,
    answers: usize,
    in_role: usize,
    mean_score: f64,
}

#[derive(Debug, Serialize)]
struct EvalReport {
    monitor_layer: usize,
    default_mean_score: f64,
    default_answers: usize,
    roles: Vec<RoleScore>,
    auroc_default_vs_roles: Option<f64>,
}

pub fn eval(opts: &EvalOptions) -> Result<()> {
    let data = LabData::load(&opts.data_dir)?;
    let roles: Vec<Role> = read_jsonl(&opts.roles)?;
    let questions: Vec<Question> = read_jsonl(&opts.questions)?;
    anyhow::ensure!(
        !roles.is_empty() && !questions.is_empty(),
        "no roles or no questions given"
    );
    let (model, axis) = load_model_and_axis(&opts.model, &opts.axis)?;
    let cfg = model.chat.model().config();
    let monitor = axis.meta.monitor_layer;
    let v = axis.unit_axis(monitor);
    let centre = axis.score_centre(monitor);
    let hidden = cfg.hidden_size;

    // (speaker label, system prompt, question, seed)
    let mut jobs: Vec<(Option<usize>, String, String, u64)> = Vec::new();
    let all: Vec<usize> = (0..questions.len()).collect();
    for (p, prompt) in data.default_prompts.iter().enumerate() {
        for q in sample(&all, opts.questions_per_role, opts.seed ^ (p as u64 + 1)) {
            jobs.push((
                None,
                prompt.clone(),
                questions[q].text.clone(),
                opts.seed + jobs.len() as u64,
            ));
        }
    }
    for (r, role) in roles.iter().enumerate() {
        let qs = sample(&all, opts.questions_per_role, opts.seed ^ (1000 + r as u64));
        for (j, q) in qs.into_iter().enumerate() {
            let prompt = role.system_prompts[(j + r) % role.system_prompts.len().max(1)].clone();
            jobs.push((
                Some(r),
                prompt,
                questions[q].text.clone(),
                opts.seed + jobs.len() as u64,
            ));
        }
    }
    let none = model.chat.model().prepare(&Interventions::none())?;
    let settings = RolloutSettings {
        max_new_tokens: opts.max_new_tokens,
        sampling: rollout_sampling(),
    };
    let judge = Judge::new(&data.markers, &roles, &questions);
    let mut scores: Vec<(Option<usize>, f64, bool)> = Vec::new();
    for (i, chunk) in jobs.chunks(opts.batch.max(1)).enumerate() {
        let requests = chunk
            .iter()
            .map(|(_, system, question, seed)| {
                Ok(RolloutRequest {
                    prompt: model.chat.prompt_tokens(&messages_for(system, question))?,
                    seed: *seed,
                    earlier_answers: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        for ((speaker, ..), a) in
            chunk
                .iter()
                .zip(generate_batch(&model.chat, &none, &requests, &settings)?)
        {
            if a.tokens.is_empty() {
                continue;
            }
            let text = model.chat.tokenizer().decode(&a.tokens)?;
            let in_role = judge.judge(&text, speaker.map(|r| &roles[r])).plays_role();
            let score = dot(
                &a.mean_activation[monitor * hidden..(monitor + 1) * hidden],
                &v,
            ) - centre;
            scores.push((*speaker, f64::from(score), in_role));
        }
        eprintln!(
            "eval {}/{} answers",
            ((i + 1) * opts.batch).min(jobs.len()),
            jobs.len()
        );
    }
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
    let default_scores: Vec<f64> = scores
        .iter()
        .filter(|s| s.0.is_none())
        .map(|s| s.1)
        .collect();
    let role_scores: Vec<f64> = scores
        .iter()
        .filter(|s| s.0.is_some())
        .map(|s| s.1)
        .collect();
    let mut per_role: Vec<RoleScore> = roles
        .iter()
        .enumerate()
        .map(|(r, role)| {
            let mine: Vec<&(Option<usize>, f64, bool)> =
                scores.iter().filter(|s| s.0 == Some(r)).collect();
            RoleScore {
                role: role.id.clone(),
                answers: mine.len(),
                in_role: mine.iter().filter(|s| s.2).count(),
                mean_score: mean(&mine.iter().map(|s| s.1).collect::<Vec<_>>()),
            }
        })
        .collect();
    per_role.sort_by(|a, b| a.mean_score.total_cmp(&b.mean_score));
    let to_f32 = |xs: &[f64]| xs.iter().map(|&x| x as f32).collect::<Vec<_>>();
    let report = EvalReport {
        monitor_layer: monitor,
        default_mean_score: mean(&default_scores),
        default_answers: default_scores.len(),
        auroc_default_vs_roles: auroc(&to_f32(&default_scores), &to_f32(&role_scores)),
        roles: per_role,
    };
    println!("monitor layer {monitor}; score = (x − mean role vector) · unit(axis)");
    println!(
        "{:<32} {:>8} {:>8} {:>10}",
        "role", "answers", "in role", "score"
    );
    println!(
        "{:<32} {:>8} {:>8} {:>+10.2}",
        "(default Assistant)", report.default_answers, "-", report.default_mean_score
    );
    for r in &report.roles {
        println!(
            "{:<32} {:>8} {:>8} {:>+10.2}",
            r.role, r.answers, r.in_role, r.mean_score
        );
    }
    if let Some(a) = report.auroc_default_vs_roles {
        println!("AUROC (default vs role answers): {a:.3}");
    }
    if let Some(path) = &opts.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
    }
    Ok(())
}
