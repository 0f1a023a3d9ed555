//! `axis-lab styles`: does the axis measure the persona or the instruction that comes with it,
//! and does the cap engage on every kind of conversation?
//!
//! Every role prompt of the lab ends with an explicit instruction ("Stay in character and never
//! mention being an AI"); most persona prompts people write do not. On the held-out roles and
//! questions of an axis file's own build (read from its metadata, so nothing here was used to
//! make the axis), each sampled role prompt is asked in four styles:
//! - `instructed`: the prompt as the lab wrote it;
//! - `descriptive`: the same prompt without any sentence about being an AI, an assistant or a
//!   character — the persona alone;
//! - `embody`: the descriptive prompt turned into an order ("Embody an ancient red dragon…");
//! - `user_turn`: no system prompt; the descriptive text opens the user's own message.
//!
//! plus `default` (the lab's default-assistant prompts on the same questions) and the scripted
//! multi-turn conversations by category. Each is answered uncapped and with the file's cap. Per
//! style: the mean score and the AUROC of default vs that style (uncapped), the judge's in-role
//! and other-identity rates both ways, and the cap's engagement: the share of answer tokens at
//! which a capped layer held the stream at its floor, and the share of answers lifted at all.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use engine::axis::AxisFile;
use engine::axis::stats::auroc;
use engine::chat::ChatMessage;
use engine::model::Interventions;
use serde::Serialize;

use crate::data::{LabData, Role};
use crate::drift::{DriftSampling, DriftScale, replay};
use crate::judge::Judge;
use crate::loading::load_model_and_axis;
use crate::prompt_style::Style;
use crate::rollout::{RolloutRequest, RolloutSettings, generate_batch_watching};
use crate::rollout::{messages_for, rollout_sampling};
use crate::stats::{Rate, dot};

struct Job {
    style: Style,
    /// The question's category (advice, identity, factual…).
    category: String,
    role: Option<usize>,
    messages: Vec<ChatMessage>,
    seed: u64,
}

/// One answer's measurements.
#[derive(Debug, Clone)]
struct Measured {
    text: String,
    score: f64,
    tokens: usize,
    floored: usize,
    in_role: bool,
    other_identity: bool,
}

#[derive(Debug, Serialize)]
pub struct StyleReport {
    pub style: Style,
    pub answers: usize,
    pub mean_score: f64,
    pub mean_score_capped: f64,
    /// Default-assistant answers vs this style's answers, uncapped (absent for `default`).
    pub auroc_vs_default: Option<f64>,
    pub in_role: Rate,
    pub in_role_capped: Rate,
    pub other_identity: Rate,
    pub other_identity_capped: Rate,
    /// Σ floored tokens / Σ tokens over the capped answers.
    pub lifted_token_share: f64,
    pub answers_lifted: Rate,
}

pub struct StylesOptions {
    pub model: PathBuf,
    pub axis: PathBuf,
    pub data_dir: PathBuf,
    pub prompts_per_role: usize,
    pub batch: usize,
    pub max_new_tokens: usize,
    pub json: Option<PathBuf>,
}

pub(crate) fn held_out_ids(axis: &AxisFile, key: &str) -> Result<Vec<String>> {
    let ids = axis
        .meta
        .build
        .get(key)
        .and_then(|v| v.as_array())
        .with_context(|| format!("the axis file's build metadata has no `{key}`"))?;
    Ok(ids
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect())
}

/// The roles and questions an axis file's build held out (named in its metadata), as ids and
/// as entries of the lab data: nothing here was used to make the axis.
pub(crate) struct HeldOut<'d> {
    pub role_ids: Vec<String>,
    pub question_ids: Vec<String>,
    /// Indices into `data.roles`.
    pub roles: Vec<usize>,
    pub questions: Vec<&'d crate::data::Question>,
}

impl<'d> HeldOut<'d> {
    pub fn of(axis: &AxisFile, data: &'d LabData) -> Result<HeldOut<'d>> {
        let role_ids = held_out_ids(axis, "held_out_roles")?;
        let question_ids = held_out_ids(axis, "held_out_questions")?;
        let roles: Vec<usize> = role_ids
            .iter()
            .filter_map(|id| data.roles.iter().position(|r| &r.id == id))
            .collect();
        let questions: Vec<&crate::data::Question> = question_ids
            .iter()
            .filter_map(|id| data.questions.iter().find(|q| &q.id == id))
            .collect();
        if roles.is_empty() || questions.is_empty() {
            bail!("the axis file names no held-out roles or questions that the data has");
        }
        Ok(HeldOut {
            role_ids,
            question_ids,
            roles,
            questions,
        })
    }
}

pub fn run(opts: &StylesOptions) -> Result<()> {
    let data = LabData::load(&opts.data_dir)?;
    let (model, axis) = load_model_and_axis(&opts.model, &opts.axis)?;
    let chat = &model.chat;
    let cfg = chat.model().config();
    let monitor = axis.meta.monitor_layer;
    let scale = DriftScale::from_file(&axis);
    let HeldOut {
        role_ids,
        question_ids,
        roles,
        questions,
    } = HeldOut::of(&axis, &data)?;

    // Jobs: each held-out role answers `prompts_per_role` (prompt, question) pairs in every
    // style; the default prompts answer as many questions in all.
    let mut jobs = Vec::new();
    let mut k = 0usize;
    for &r in &roles {
        let role = &data.roles[r];
        for j in 0..opts.prompts_per_role {
            let prompt = &role.system_prompts[(k + j) % role.system_prompts.len().max(1)];
            let question = questions[k % questions.len()];
            k += 1;
            for style in Style::ROLE_STYLES {
                if let Some(messages) = style.messages(prompt, &question.text) {
                    jobs.push(Job {
                        style,
                        category: question.category.clone(),
                        role: Some(r),
                        messages,
                        seed: 9000 + k as u64,
                    });
                }
            }
        }
    }
    for i in 0..k {
        let prompt = &data.default_prompts[i % data.default_prompts.len().max(1)];
        let question = questions[i % questions.len()];
        jobs.push(Job {
            style: Style::Default,
            category: question.category.clone(),
            role: None,
            messages: messages_for(prompt, &question.text),
            seed: 9000 + i as u64,
        });
    }
    eprintln!("styles: {} answers per setting", jobs.len());

    let judge = Judge::new(&data.markers, &data.roles, &data.questions);
    let caps = axis.caps(&axis.meta.cap).map_err(anyhow::Error::msg)?;
    let none = chat.model().prepare(&Interventions::none())?;
    let capped = chat.model().prepare(&Interventions {
        caps: caps.clone(),
        ..Interventions::none()
    })?;
    let settings = RolloutSettings {
        max_new_tokens: opts.max_new_tokens,
        sampling: rollout_sampling(),
    };
    let hidden = cfg.hidden_size;
    let mut measured: [Vec<Measured>; 2] = [Vec::new(), Vec::new()];
    for (which, interventions) in [&none, &capped].into_iter().enumerate() {
        for (b, chunk) in jobs.chunks(opts.batch.max(1)).enumerate() {
            let requests: Vec<RolloutRequest> = chunk
                .iter()
                .map(|j| -> Result<RolloutRequest> {
                    Ok(RolloutRequest {
                        prompt: chat.prompt_tokens(&j.messages)?,
                        seed: j.seed,
                        earlier_answers: Vec::new(),
                    })
                })
                .collect::<Result<_>>()?;
            let watched = if which == 1 { &caps[..] } else { &[] };
            let answers =
                generate_batch_watching(chat, interventions, &requests, &settings, watched)?;
            for (job, a) in chunk.iter().zip(&answers) {
                let text = chat.tokenizer().decode(&a.tokens)?;
                let role: Option<&Role> = job.role.map(|r| &data.roles[r]);
                let verdict = judge.judge(&text, role);
                let score = a
                    .mean_activation
                    .get(monitor * hidden..(monitor + 1) * hidden)
                    .map_or(f64::NAN, |m| {
                        f64::from(dot(m, &scale.unit_axis) - scale.centre)
                    });
                measured[which].push(Measured {
                    text: text.clone(),
                    score,
                    tokens: a.tokens.len(),
                    floored: a.floored_tokens,
                    in_role: role.is_some() && verdict.plays_role(),
                    other_identity: judge.judge(&text, None).adopts_other_identity(),
                });
            }
            eprintln!(
                "styles ({}) batch {}/{} done",
                if which == 1 { "capped" } else { "uncapped" },
                b + 1,
                jobs.len().div_ceil(opts.batch.max(1))
            );
        }
    }

    let of_style = |which: usize, style: Style| -> Vec<&Measured> {
        jobs.iter()
            .zip(&measured[which])
            .filter(|(j, _)| j.style == style)
            .map(|(_, m)| m)
            .collect()
    };
    let default_scores: Vec<f32> = of_style(0, Style::Default)
        .iter()
        .map(|m| m.score as f32)
        .collect();
    let mut reports = Vec::new();
    for style in std::iter::once(Style::Default).chain(Style::ROLE_STYLES) {
        let (plain, cap) = (of_style(0, style), of_style(1, style));
        let scores: Vec<f32> = plain.iter().map(|m| m.score as f32).collect();
        reports.push(summarise(
            style,
            &plain,
            &cap,
            (style != Style::Default)
                .then(|| auroc(&default_scores, &scores))
                .flatten(),
        ));
    }

    // Engagement by the kind of question, over every capped single-turn answer.
    let mut question_categories: Vec<String> = jobs.iter().map(|j| j.category.clone()).collect();
    question_categories.sort();
    question_categories.dedup();
    let by_question: Vec<serde_json::Value> = question_categories
        .iter()
        .map(|category| {
            let ms: Vec<&Measured> = jobs
                .iter()
                .zip(&measured[1])
                .filter(|(j, _)| &j.category == category)
                .map(|(_, m)| m)
                .collect();
            let (lifted_token_share, answers_lifted) =
                engagement(ms.iter().map(|m| (m.tokens, m.floored)));
            serde_json::json!({
                "question_category": category,
                "answers": ms.len(),
                "lifted_token_share": lifted_token_share,
                "answers_lifted": answers_lifted,
            })
        })
        .collect();

    // Multi-turn: the scripted conversations, capped, by category.
    let how = DriftSampling::app_default();
    let curves = replay(
        chat,
        &scale,
        &data.drift,
        usize::MAX,
        &capped,
        true,
        opts.max_new_tokens,
        &how,
        &caps,
    )?;
    let mut categories: Vec<String> = curves.iter().map(|c| c.category.clone()).collect();
    categories.sort();
    categories.dedup();
    let mut multi_turn = Vec::new();
    for category in &categories {
        let turns: Vec<_> = curves
            .iter()
            .filter(|c| &c.category == category)
            .flat_map(|c| &c.turns)
            .collect();
        let (lifted_token_share, answers_lifted) =
            engagement(turns.iter().map(|t| (t.tokens, t.floored_tokens)));
        multi_turn.push(serde_json::json!({
            "category": category,
            "answers": turns.len(),
            "mean_text_score": turns.iter().map(|t| t.text_score).sum::<f64>() / turns.len().max(1) as f64,
            "lifted_token_share": lifted_token_share,
            "answers_lifted": answers_lifted,
        }));
    }

    println!(
        "{:<12} {:>4} {:>7} {:>7} {:>6}  {:<24} {:<24} {:<24} {:<24} {:>7}  answers lifted",
        "style",
        "n",
        "score",
        "capped",
        "AUROC",
        "in role",
        "in role (capped)",
        "other identity",
        "other id. (capped)",
        "lifted"
    );
    for r in &reports {
        println!(
            "{:<12} {:>4} {:>7.1} {:>7.1} {:>6}  {:<24} {:<24} {:<24} {:<24} {:>6.1}%  {}",
            r.style.name(),
            r.answers,
            r.mean_score,
            r.mean_score_capped,
            r.auroc_vs_default
                .map_or("–".to_owned(), |a| format!("{a:.3}")),
            r.in_role.to_string(),
            r.in_role_capped.to_string(),
            r.other_identity.to_string(),
            r.other_identity_capped.to_string(),
            100.0 * r.lifted_token_share,
            r.answers_lifted
        );
    }
    for q in &by_question {
        println!("by question {q}");
    }
    for m in &multi_turn {
        println!("multi-turn {m}");
    }
    if let Some(path) = &opts.json {
        let report = serde_json::json!({
            "tool": "axis-lab styles",
            "axis": opts.axis.file_name().map(|n| n.to_string_lossy().into_owned()),
            "cap": axis.meta.cap,
            "monitor_layer": monitor,
            "held_out_roles": role_ids,
            "held_out_questions": question_ids,
            "prompts_per_role": opts.prompts_per_role,
            "max_new_tokens": opts.max_new_tokens,
            "sampling": rollout_sampling(),
            "styles": reports,
            "by_question_category": by_question,
            "multi_turn": multi_turn,
            "multi_turn_curves": curves,
            // Every single-turn answer, so that the rates can be re-read with another judge.
            "answers": jobs.iter().zip(measured[0].iter().zip(&measured[1])).map(|(j, (plain, cap))| serde_json::json!({
                "style": j.style,
                "question_category": j.category,
                "role": j.role.map(|r| data.roles[r].id.clone()),
                "messages": j.messages.iter().map(|m| serde_json::json!({"role": m.role, "content": m.content})).collect::<Vec<_>>(),
                "uncapped": {"text": plain.text, "score": plain.score, "tokens": plain.tokens},
                "capped": {"text": cap.text, "score": cap.score, "tokens": cap.tokens, "floored_tokens": cap.floored},
            })).collect::<Vec<_>>(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn summarise(
    style: Style,
    plain: &[&Measured],
    cap: &[&Measured],
    auroc: Option<f64>,
) -> StyleReport {
    let mean = |ms: &[&Measured]| ms.iter().map(|m| m.score).sum::<f64>() / ms.len().max(1) as f64;
    let count = |ms: &[&Measured], f: fn(&Measured) -> bool| {
        Rate::of(ms.iter().filter(|m| f(m)).count(), ms.len())
    };
    let (lifted_token_share, answers_lifted) =
        engagement(cap.iter().map(|m| (m.tokens, m.floored)));
    StyleReport {
        style,
        answers: plain.len(),
        mean_score: mean(plain),
        mean_score_capped: mean(cap),
        auroc_vs_default: auroc,
        in_role: count(plain, |m| m.in_role),
        in_role_capped: count(cap, |m| m.in_role),
        other_identity: count(plain, |m| m.other_identity),
        other_identity_capped: count(cap, |m| m.other_identity),
        lifted_token_share,
        answers_lifted,
    }
}

/// The cap's engagement over answers given as (tokens, floored tokens): the share of all their
/// tokens that a cap held at its floor, and how many answers it lifted at least once.
fn engagement(answers: impl Iterator<Item = (usize, usize)>) -> (f64, Rate) {
    let (mut tokens, mut floored, mut lifted, mut n) = (0usize, 0usize, 0usize, 0usize);
    for (t, f) in answers {
        tokens += t;
        floored += f;
        lifted += usize::from(f > 0);
        n += 1;
    }
    (floored as f64 / tokens.max(1) as f64, Rate::of(lifted, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engagement_is_the_share_of_tokens_held_and_of_answers_lifted() {
        let (share, lifted) = engagement([(10, 5), (30, 0), (0, 0)].into_iter());
        assert_eq!(share, 5.0 / 40.0);
        assert_eq!((lifted.hits, lifted.n), (1, 3));
        let (share, lifted) = engagement(std::iter::empty());
        assert_eq!((share, lifted.n), (0.0, 0));
    }
}
