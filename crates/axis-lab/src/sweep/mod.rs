//! Choosing the cap band and percentile: a documented sweep.
//!
//! For each candidate (a band of consecutive layers × one of the paper's floors, a percentile
//! of all answers' projections, see [`engine::axis::threshold`]) and for the uncapped baseline,
//! the model answers
//! - held-out persona prompts: we measure where the answers' *text* sits on the axis (the
//!   uncapped model re-reads each capped answer, the demo's "Text" view), how many answers the
//!   judge counts as playing their role, and how many adopt a non-assistant identity;
//! - the capability checks (easy questions with known answers, greedy): accuracy.
//!
//! Every rate carries its 95 % Wilson interval; [`rule`] picks a setting only on differences
//! outside them. Every answer is kept ([`SettingRun`]) so that rates can be re-read with
//! another judge, and a run that stops resumes where it stopped.

pub mod command;
pub mod grid;
pub mod persona_set;
pub mod render;
pub mod rule;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use engine::axis::CapSetting;
use engine::chat::{ChatMessage, ChatModel};
use engine::generation::SamplingParams;
use engine::model::{Cap, Interventions, PreparedInterventions};
use serde::{Deserialize, Serialize};

use crate::data::{CapabilityCheck, LabData};
use crate::drift::DriftScale;
use crate::judge::Judge;
use crate::prompt_style::Style;
use crate::rollout::{
    Answer, RolloutRequest, RolloutSettings, generate_batch_watching, reread_means,
};
use crate::stats::{Rate, dot};

pub use rule::{MAX_CAPABILITY_DROP, choose};

/// One setting's rates.
#[derive(Debug, Clone, Serialize)]
pub struct CandidateResult {
    /// `None` = the uncapped baseline.
    pub cap: Option<CapSetting>,
    /// Mean centred monitor-layer score of the persona answers' text (uncapped re-read).
    pub persona_text_score: f64,
    /// Same answers, the projections the generating (capped) model had: the Activations view.
    pub persona_activation_score: f64,
    /// Persona answers the judge counts as playing their role.
    pub persona_in_role: Rate,
    /// Persona answers that adopt a non-assistant identity, read without their persona: a
    /// human life, a name, "I'm a/the …" or a life told in the first person
    /// (`engine::speaker::Verdict::adopts_other_identity`).
    pub persona_other_identity: Rate,
    /// Persona answers that say they are an AI or an assistant (or refuse as one).
    pub persona_presents_as_ai: Rate,
    /// Persona answers in which the judge makes out no speaker (loops, noise).
    pub persona_incoherent: Rate,
    /// The in-role and other-identity rates per way of setting the persona up.
    pub by_style: Vec<StyleRates>,
    /// Share of the persona answers' tokens at which a cap held the stream at its floor.
    pub lifted_token_share: f64,
    pub capability: Rate,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StyleRates {
    pub style: Style,
    pub in_role: Rate,
    pub other_identity: Rate,
}

#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    pub rule: String,
    pub persona_prompts: usize,
    pub capability_questions: usize,
    pub budget: TokenBudget,
    pub results: Vec<CandidateResult>,
    pub chosen: Option<CapSetting>,
    /// Why the rule chose what it chose, or why nothing.
    pub verdict: String,
}

/// One persona prompt of the sweep: its answers are judged as `role`'s.
#[derive(Debug, Clone)]
pub struct PersonaPrompt {
    /// Index into the lab data's roles.
    pub role: usize,
    pub style: Style,
    /// The conversation up to the answer (multi-turn: up to the first answer).
    pub messages: Vec<ChatMessage>,
    /// Multi-turn: the question asked after the first answer; the reply to it is judged.
    pub follow_up: Option<String>,
    pub seed: u64,
}

/// Answer lengths in tokens. Every setting answers with the same budget; the baseline's
/// answers may be generated longer (`*_study`) to measure what the shorter budget changes, and
/// are cut to the budget for the comparison (sampling is causal, so a cut answer is exactly the
/// answer a shorter budget gives).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TokenBudget {
    pub persona: usize,
    pub capability: usize,
    pub persona_study: usize,
    pub capability_study: usize,
}

/// What the sweep runs on.
pub struct SweepInputs<'a> {
    pub chat: &'a ChatModel,
    pub data: &'a LabData,
    pub scale: DriftScale,
    /// A setting's caps (its band's layers and floors).
    pub caps: &'a dyn Fn(&CapSetting) -> Result<Vec<Cap>>,
    pub persona: Vec<PersonaPrompt>,
    pub capability: Vec<CapabilityCheck>,
    pub candidates: Vec<CapSetting>,
    pub batch: usize,
    pub budget: TokenBudget,
    pub sampling: SamplingParams,
    /// Where finished settings are kept (one JSON file each), so that a rerun resumes.
    pub store: Option<PathBuf>,
}

/// Every answer of one setting, as generated.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SettingRun {
    pub cap: Option<CapSetting>,
    /// The inputs it was made from; a stored run of other inputs is made again.
    pub fingerprint: String,
    pub persona: Vec<PersonaAnswer>,
    /// Capability answers (greedy), cut to the budget.
    pub capability: Vec<String>,
    /// Baseline only: its persona and its capability answers cut at each study length.
    #[serde(default)]
    pub persona_study: Vec<StudyCut>,
    #[serde(default)]
    pub capability_study: Vec<StudyCut>,
    pub seconds: f64,
    /// Tokens fed (prompts, first turns, re-reads) and generated, for the cost table.
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    /// Row slots spent on left padding in the generation batches.
    pub padding_tokens: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PersonaAnswer {
    pub text: String,
    /// Multi-turn prompts: the first answer, which the judged one follows.
    #[serde(default)]
    pub first_answer: Option<String>,
    pub tokens: usize,
    pub floored_tokens: usize,
    pub text_score: f64,
    pub activation_score: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudyCut {
    /// Answer length in tokens (the longest cut is the whole study answer).
    pub tokens: usize,
    pub answers: Vec<String>,
}

/// The caps of `cap` from the build's statistics, before its axis file exists: the engine's
/// one planner ([`engine::axis::plan_caps`]) over the statistics' unit axes and
/// all-answer percentiles.
pub fn cap_list(stats: &crate::compute::AxisStats, cap: &CapSetting) -> Result<Vec<Cap>> {
    engine::axis::plan_caps(
        cap,
        stats.n_layers,
        &crate::compute::PERCENTILE_LEVELS,
        |layer| stats.unit_axis[layer].clone(),
        |layer| stats.all_percentiles.get(layer).cloned(),
    )
    .map_err(anyhow::Error::msg)
}

/// Whether `answer` contains an accepted string under the data's matching rule.
pub fn capability_correct(answer: &str, accept: &[String]) -> bool {
    let text = answer.to_lowercase();
    accept.iter().any(|a| {
        let numeric = a.chars().all(|c| c.is_ascii_digit());
        text.match_indices(a.as_str()).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + a.len()..].chars().next();
            let glued_before = before.is_some_and(char::is_alphanumeric);
            let glued_digit_after = numeric && after.is_some_and(|c| c.is_ascii_digit());
            !(glued_before || glued_digit_after)
        })
    })
}

/// Runs (or reads back) every setting and applies the rule.
pub fn run(inputs: &SweepInputs) -> Result<(SweepReport, Vec<SettingRun>)> {
    let judge = Judge::new(
        &inputs.data.markers,
        &inputs.data.roles,
        &inputs.data.questions,
    );
    let settings: Vec<Option<CapSetting>> = std::iter::once(None)
        .chain(inputs.candidates.iter().copied().map(Some))
        .collect();
    let fingerprint = fingerprint(inputs);
    let mut runs = Vec::new();
    for (i, cap) in settings.iter().enumerate() {
        let stored = inputs
            .store
            .as_ref()
            .map(|dir| dir.join(store_name(cap.as_ref())));
        let old = stored
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice::<SettingRun>(&b).ok())
            .filter(|r| r.fingerprint == fingerprint);
        let run = match old {
            Some(r) => r,
            None => {
                let r = run_setting(inputs, *cap, &fingerprint)?;
                if let Some(p) = &stored {
                    if let Some(dir) = p.parent() {
                        std::fs::create_dir_all(dir)
                            .with_context(|| format!("creating {}", dir.display()))?;
                    }
                    std::fs::write(p, serde_json::to_vec(&r)?)
                        .with_context(|| format!("writing {}", p.display()))?;
                }
                r
            }
        };
        let result = evaluate(inputs, &judge, &run);
        eprintln!(
            "sweep {}/{} {:<24} other identity {}  in role {}  capability {}  ({:.0} s)",
            i + 1,
            settings.len(),
            grid::label(cap.as_ref()),
            result.persona_other_identity,
            result.persona_in_role,
            result.capability,
            run.seconds
        );
        runs.push(run);
    }
    Ok((report(inputs, &judge, &runs), runs))
}

/// The report over finished runs (also used to re-read stored answers with a new judge).
pub fn report(inputs: &SweepInputs, judge: &Judge, runs: &[SettingRun]) -> SweepReport {
    let results: Vec<CandidateResult> = runs.iter().map(|r| evaluate(inputs, judge, r)).collect();
    let chosen = choose(&results);
    let verdict = rule::verdict(&results, chosen);
    SweepReport {
        rule: rule::RULE.replace("{drop}", &format!("{:.0}", MAX_CAPABILITY_DROP * 100.0)),
        persona_prompts: inputs.persona.len(),
        capability_questions: inputs.capability.len(),
        budget: inputs.budget,
        results,
        chosen,
        verdict,
    }
}

/// One cut of the budget study: the baseline's rates when its answers stop at `tokens`, and
/// how often each answer's reading there matches its reading at the longest cut.
#[derive(Debug, Clone, Serialize)]
pub struct StudyRow {
    pub tokens: usize,
    pub other_identity: Option<Rate>,
    /// Answers whose "other identity" reading equals the longest cut's.
    pub other_identity_same_as_longest: Option<Rate>,
    pub in_role_same_as_longest: Option<Rate>,
    pub capability: Option<Rate>,
    pub capability_same_as_longest: Option<Rate>,
}

/// What shorter answers change, read on the baseline's study cuts.
pub fn budget_study(inputs: &SweepInputs, judge: &Judge, baseline: &SettingRun) -> Vec<StudyRow> {
    let roles = &inputs.data.roles;
    let persona: Vec<(usize, Vec<PersonaReading>)> = baseline
        .persona_study
        .iter()
        .map(|cut| {
            let verdicts = inputs
                .persona
                .iter()
                .zip(&cut.answers)
                .map(|(p, text)| persona_verdict(judge, &roles[p.role], text))
                .collect();
            (cut.tokens, verdicts)
        })
        .collect();
    let capability: Vec<(usize, Vec<bool>)> = baseline
        .capability_study
        .iter()
        .map(|cut| {
            let correct = inputs
                .capability
                .iter()
                .zip(&cut.answers)
                .map(|(c, a)| capability_correct(a, &c.accept))
                .collect();
            (cut.tokens, correct)
        })
        .collect();
    let same = |a: &[bool], b: &[bool]| {
        Rate::of(
            a.iter().zip(b).filter(|(x, y)| x == y).count(),
            a.len().min(b.len()),
        )
    };
    let hits = |a: &[bool]| Rate::of(a.iter().filter(|x| **x).count(), a.len());
    let mut lengths: Vec<usize> = persona
        .iter()
        .map(|p| p.0)
        .chain(capability.iter().map(|c| c.0))
        .collect();
    lengths.sort_unstable();
    lengths.dedup();
    let pick = |v: &[PersonaReading], other_identity: bool| -> Vec<bool> {
        v.iter()
            .map(|x| {
                if other_identity {
                    x.other_identity
                } else {
                    x.in_role
                }
            })
            .collect()
    };
    lengths
        .into_iter()
        .map(|tokens| {
            let p = persona.iter().find(|p| p.0 == tokens);
            let p_last = persona.last();
            let c = capability.iter().find(|c| c.0 == tokens);
            let c_last = capability.last();
            StudyRow {
                tokens,
                other_identity: p.map(|p| hits(&pick(&p.1, true))),
                other_identity_same_as_longest: p
                    .zip(p_last)
                    .map(|(p, l)| same(&pick(&p.1, true), &pick(&l.1, true))),
                in_role_same_as_longest: p
                    .zip(p_last)
                    .map(|(p, l)| same(&pick(&p.1, false), &pick(&l.1, false))),
                capability: c.map(|c| hits(&c.1)),
                capability_same_as_longest: c.zip(c_last).map(|(c, l)| same(&c.1, &l.1)),
            }
        })
        .collect()
}

/// The judge's and the checker's reading of one run.
fn evaluate(inputs: &SweepInputs, judge: &Judge, run: &SettingRun) -> CandidateResult {
    let roles = &inputs.data.roles;
    let verdicts: Vec<PersonaReading> = inputs
        .persona
        .iter()
        .zip(&run.persona)
        .map(|(p, a)| persona_verdict(judge, &roles[p.role], &a.text))
        .collect();
    let count = |keep: &dyn Fn(&PersonaPrompt) -> bool, pick: fn(&PersonaReading) -> bool| {
        let (mut hits, mut n) = (0, 0);
        for (p, v) in inputs.persona.iter().zip(&verdicts) {
            if keep(p) {
                n += 1;
                hits += usize::from(pick(v));
            }
        }
        Rate::of(hits, n)
    };
    let mut styles: Vec<Style> = inputs.persona.iter().map(|p| p.style).collect();
    styles.sort_by_key(|s| *s as u8);
    styles.dedup();
    let by_style = styles
        .iter()
        .map(|&style| StyleRates {
            style,
            in_role: count(&|p| p.style == style, |v| v.in_role),
            other_identity: count(&|p| p.style == style, |v| v.other_identity),
        })
        .collect();
    let mean = |f: fn(&PersonaAnswer) -> f64| {
        run.persona.iter().map(f).sum::<f64>() / run.persona.len().max(1) as f64
    };
    let tokens: usize = run.persona.iter().map(|a| a.tokens).sum();
    let floored: usize = run.persona.iter().map(|a| a.floored_tokens).sum();
    CandidateResult {
        cap: run.cap,
        persona_text_score: mean(|a| a.text_score),
        persona_activation_score: mean(|a| a.activation_score),
        persona_in_role: count(&|_| true, |v| v.in_role),
        persona_other_identity: count(&|_| true, |v| v.other_identity),
        persona_presents_as_ai: count(&|_| true, |v| v.presents_as_ai),
        persona_incoherent: count(&|_| true, |v| v.incoherent),
        by_style,
        lifted_token_share: floored as f64 / tokens.max(1) as f64,
        capability: capability_rate(&inputs.capability, &run.capability),
        seconds: run.seconds,
    }
}

/// How the judge reads one persona answer.
#[derive(Debug, Clone, Copy)]
pub struct PersonaReading {
    pub in_role: bool,
    /// Read without the persona (see [`crate::identity`]).
    pub other_identity: bool,
    /// Says it is an AI or an assistant, or refuses as one.
    pub presents_as_ai: bool,
    pub incoherent: bool,
}

pub fn persona_verdict(judge: &Judge, role: &crate::data::Role, text: &str) -> PersonaReading {
    let with_role = judge.judge(text, Some(role));
    PersonaReading {
        in_role: with_role.plays_role(),
        other_identity: crate::identity::adopts_other_identity(judge, text),
        presents_as_ai: with_role.presents_as_ai(),
        incoherent: with_role.label(true) == engine::speaker::SpeakerLabel::Incoherent,
    }
}

pub fn capability_rate(checks: &[CapabilityCheck], answers: &[String]) -> Rate {
    let correct = checks
        .iter()
        .zip(answers)
        .filter(|(c, a)| capability_correct(a, &c.accept))
        .count();
    Rate::of(correct, answers.len().min(checks.len()))
}

/// Names the inputs a stored run depends on (prompts, seeds, budgets, sampling, model).
fn fingerprint(inputs: &SweepInputs) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for p in &inputs.persona {
        for m in &p.messages {
            m.role.hash(&mut h);
            m.content.hash(&mut h);
        }
        p.follow_up.hash(&mut h);
        p.seed.hash(&mut h);
    }
    for c in &inputs.capability {
        c.question.hash(&mut h);
    }
    inputs.batch.hash(&mut h);
    format!("{:?}", inputs.budget).hash(&mut h);
    format!("{:?}", inputs.sampling).hash(&mut h);
    format!("{:?}", inputs.scale.unit_axis.first()).hash(&mut h);
    format!("{:016x}", h.finish())
}

fn store_name(cap: Option<&CapSetting>) -> String {
    cap.map_or("none.json".to_owned(), |c| {
        format!("L{}-{}-p{}.json", c.first_layer, c.last_layer, c.percentile)
    })
}

/// Chunks of `batch` rows of similar prompt length (less left padding), the same for every
/// setting: indices into `prompts`, and the padding slots the chunks cost.
fn length_sorted_chunks(prompts: &[Vec<u32>], batch: usize) -> (Vec<Vec<usize>>, usize) {
    let mut order: Vec<usize> = (0..prompts.len()).collect();
    order.sort_by_key(|&i| prompts[i].len());
    let chunks: Vec<Vec<usize>> = order.chunks(batch.max(1)).map(<[usize]>::to_vec).collect();
    let padding = chunks
        .iter()
        .map(|c| {
            let longest = c.iter().map(|&i| prompts[i].len()).max().unwrap_or(0);
            c.iter().map(|&i| longest - prompts[i].len()).sum::<usize>()
        })
        .sum();
    (chunks, padding)
}

/// Tokens one setting's answers cost (the report's `cost` table).
#[derive(Debug, Default)]
struct TokenCost {
    prompt: usize,
    generated: usize,
    padding: usize,
}

/// Answers every request, in length-sorted batches of `inputs.batch` rows (less left padding
/// than the given order), counting the tokens; answers in request order. `watched` caps count
/// the tokens they held (`Answer::floored_tokens`).
fn generate_sorted(
    inputs: &SweepInputs,
    prepared: &PreparedInterventions,
    requests: &[RolloutRequest],
    settings: &RolloutSettings,
    watched: &[Cap],
    cost: &mut TokenCost,
) -> Result<Vec<Answer>> {
    let prompts: Vec<Vec<u32>> = requests.iter().map(|r| r.prompt.clone()).collect();
    let (chunks, padding) = length_sorted_chunks(&prompts, inputs.batch);
    cost.padding += padding;
    let mut answers: Vec<Option<Answer>> = vec![None; requests.len()];
    for chunk in &chunks {
        let batch: Vec<RolloutRequest> = chunk.iter().map(|&i| requests[i].clone()).collect();
        cost.prompt += batch.iter().map(|r| r.prompt.len()).sum::<usize>();
        let generated = generate_batch_watching(inputs.chat, prepared, &batch, settings, watched)?;
        for (&i, a) in chunk.iter().zip(generated) {
            cost.generated += a.tokens.len();
            answers[i] = Some(a);
        }
    }
    answers
        .into_iter()
        .map(|a| a.context("a request was left unanswered"))
        .collect()
}

/// `tokens` cut at each of `lengths` and decoded (the budget study); empty texts where the
/// setting is not the baseline (only its answers are generated long enough).
fn study_cuts(
    chat: &ChatModel,
    tokens: &[u32],
    lengths: &[usize],
    baseline: bool,
) -> Result<Vec<String>> {
    lengths
        .iter()
        .map(|&len| {
            Ok(if baseline {
                chat.tokenizer().decode(&tokens[..len.min(tokens.len())])?
            } else {
                String::new()
            })
        })
        .collect()
}

/// Every answer's cuts (`[answer][length]`) as one [`StudyCut`] per length.
fn by_length(lengths: &[usize], per_answer: &[Vec<String>]) -> Vec<StudyCut> {
    lengths
        .iter()
        .enumerate()
        .map(|(l, &tokens)| StudyCut {
            tokens,
            answers: per_answer.iter().map(|cuts| cuts[l].clone()).collect(),
        })
        .collect()
}

/// Generates one setting's answers.
fn run_setting(
    inputs: &SweepInputs,
    cap: Option<CapSetting>,
    fingerprint: &str,
) -> Result<SettingRun> {
    let started = Instant::now();
    let chat = inputs.chat;
    let caps = cap
        .map(|c| (inputs.caps)(&c))
        .transpose()?
        .unwrap_or_default();
    let none = chat.model().prepare(&Interventions::none())?;
    let capped = chat.model().prepare(&Interventions {
        caps: caps.clone(),
        ..Interventions::none()
    })?;
    let baseline = cap.is_none();
    let budget = inputs.budget;
    let (monitor, v, centre) = (
        inputs.scale.monitor,
        &inputs.scale.unit_axis,
        inputs.scale.centre,
    );
    let hidden = v.len();
    let mut cost = TokenCost::default();

    // Multi-turn prompts answer their first turn under the same setting.
    let first_turn: Vec<usize> = (0..inputs.persona.len())
        .filter(|&i| inputs.persona[i].follow_up.is_some())
        .collect();
    let first_requests: Vec<RolloutRequest> = first_turn
        .iter()
        .map(|&i| {
            Ok(RolloutRequest {
                prompt: chat.prompt_tokens(&inputs.persona[i].messages)?,
                // Another stream than the judged answer's.
                seed: inputs.persona[i].seed ^ 0x5eed,
                earlier_answers: Vec::new(),
            })
        })
        .collect::<Result<_>>()?;
    let turn_settings = RolloutSettings {
        max_new_tokens: budget.persona,
        sampling: inputs.sampling.clone(),
    };
    let mut first_answers: Vec<Option<String>> = vec![None; inputs.persona.len()];
    let mut first_tokens: Vec<Vec<Vec<u32>>> = vec![Vec::new(); inputs.persona.len()];
    let answers = generate_sorted(
        inputs,
        &capped,
        &first_requests,
        &turn_settings,
        &[],
        &mut cost,
    )?;
    for (&i, a) in first_turn.iter().zip(answers) {
        first_answers[i] = Some(chat.tokenizer().decode(&a.tokens)?);
        // The echo penalty sees the conversation's earlier answer, as in the page.
        first_tokens[i] = vec![a.tokens];
    }

    // The judged answers.
    let requests: Vec<RolloutRequest> = inputs
        .persona
        .iter()
        .zip(&first_answers)
        .zip(first_tokens)
        .map(|((p, first), earlier)| {
            Ok(RolloutRequest {
                prompt: chat
                    .prompt_tokens(&persona_set::judged_conversation(p, first.as_deref()))?,
                seed: p.seed,
                earlier_answers: earlier,
            })
        })
        .collect::<Result<_>>()?;
    let persona_settings = RolloutSettings {
        max_new_tokens: if baseline {
            budget.persona_study.max(budget.persona)
        } else {
            budget.persona
        },
        sampling: inputs.sampling.clone(),
    };
    let persona_lengths = study_lengths(budget.persona_study, budget.persona);
    let mut persona_cuts = Vec::with_capacity(requests.len());
    let answers = generate_sorted(
        inputs,
        &capped,
        &requests,
        &persona_settings,
        &caps,
        &mut cost,
    )?;
    let mut persona = Vec::with_capacity(answers.len());
    let mut rereads = Vec::new();
    for (i, a) in answers.iter().enumerate() {
        persona_cuts.push(study_cuts(chat, &a.tokens, &persona_lengths, baseline)?);
        let kept = &a.tokens[..budget.persona.min(a.tokens.len())];
        let activation_score = if baseline || kept.is_empty() {
            f64::NAN
        } else {
            let at_monitor = &a.mean_activation[monitor * hidden..(monitor + 1) * hidden];
            f64::from(dot(at_monitor, v) - centre)
        };
        // Below the band the capped stream is the uncapped one (a layer sees only the layers
        // under it), so the re-read would give the activation score exactly.
        let reread_needed = cap.is_none_or(|c| c.first_layer <= monitor);
        let text_score = if reread_needed {
            f64::NAN
        } else {
            activation_score
        };
        if reread_needed && !kept.is_empty() {
            let mut seq = requests[i].prompt.clone();
            seq.extend_from_slice(kept);
            rereads.push((i, seq, kept.len()));
        }
        persona.push(PersonaAnswer {
            text: chat.tokenizer().decode(kept)?,
            first_answer: first_answers[i].clone(),
            tokens: kept.len(),
            floored_tokens: a.floored_tokens,
            text_score,
            activation_score,
        });
    }
    // Re-read uncapped, in length-sorted batches.
    rereads.sort_by_key(|(_, seq, _)| seq.len());
    for chunk in rereads.chunks(inputs.batch.max(1)) {
        let sequences: Vec<(Vec<u32>, usize)> =
            chunk.iter().map(|(_, s, n)| (s.clone(), *n)).collect();
        cost.prompt += sequences.iter().map(|(s, _)| s.len()).sum::<usize>();
        for ((i, _, _), m) in chunk
            .iter()
            .zip(reread_means(chat, &none, &sequences, &[monitor])?)
        {
            let a = &mut persona[*i];
            a.text_score = f64::from(dot(&m, v) - centre);
            // Uncapped, the generating model's projection is the re-read's.
            if baseline {
                a.activation_score = a.text_score;
            }
        }
    }

    // Capability: greedy short answers.
    let greedy = RolloutSettings {
        max_new_tokens: if baseline {
            budget.capability_study.max(budget.capability)
        } else {
            budget.capability
        },
        sampling: SamplingParams::greedy(),
    };
    let capability_requests: Vec<RolloutRequest> = inputs
        .capability
        .iter()
        .map(|c| {
            Ok(RolloutRequest {
                prompt: chat.prompt_tokens(&crate::rollout::messages_for("", &c.question))?,
                seed: 0,
                earlier_answers: Vec::new(),
            })
        })
        .collect::<Result<_>>()?;
    let capability_lengths = study_lengths(budget.capability_study, budget.capability);
    let mut capability = Vec::with_capacity(capability_requests.len());
    let mut capability_cuts = Vec::with_capacity(capability_requests.len());
    let answers = generate_sorted(
        inputs,
        &capped,
        &capability_requests,
        &greedy,
        &[],
        &mut cost,
    )?;
    for a in &answers {
        capability.push(
            chat.tokenizer()
                .decode(&a.tokens[..budget.capability.min(a.tokens.len())])?,
        );
        capability_cuts.push(study_cuts(chat, &a.tokens, &capability_lengths, baseline)?);
    }

    Ok(SettingRun {
        cap,
        fingerprint: fingerprint.to_owned(),
        persona,
        capability,
        persona_study: by_length(&persona_lengths, &persona_cuts),
        capability_study: by_length(&capability_lengths, &capability_cuts),
        seconds: started.elapsed().as_secs_f64(),
        prompt_tokens: cost.prompt,
        generated_tokens: cost.generated,
        padding_tokens: cost.padding,
    })
}

/// Where the baseline's longer answers are cut for the budget study: none unless the study
/// length exceeds the budget; then a few round lengths, the budget and the study length.
fn study_lengths(study: usize, budget: usize) -> Vec<usize> {
    if study <= budget {
        return Vec::new();
    }
    let mut lengths: Vec<usize> = [8, 16, 24, 32, 48, 64, 96]
        .into_iter()
        .filter(|&l| l < study)
        .chain([budget, study])
        .collect();
    lengths.sort_unstable();
    lengths.dedup();
    lengths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_matching_follows_the_data_rule() {
        let accept = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(capability_correct(
            "The answer is 4.",
            &accept(&["4", "four"])
        ));
        assert!(!capability_correct("It is 14", &accept(&["4"])));
        assert!(!capability_correct("about 40", &accept(&["4"])));
        assert!(capability_correct("Cows say moo", &accept(&["cow"])));
        assert!(capability_correct("FOUR", &accept(&["four"])));
    }

    #[test]
    fn length_sorted_chunks_cover_every_prompt_once_with_less_padding() {
        let prompts: Vec<Vec<u32>> = [5usize, 1, 9, 2, 8, 3]
            .iter()
            .map(|&n| vec![0; n])
            .collect();
        let (chunks, padding) = length_sorted_chunks(&prompts, 2);
        let mut seen: Vec<usize> = chunks.iter().flatten().copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, vec![0, 1, 2, 3, 4, 5]);
        // Sorted pairs (1,2) (3,5) (8,9): 1 + 2 + 1 slots of padding, against 4 + 7 + 6 in
        // the given order.
        assert_eq!(padding, 4);
    }

    #[test]
    fn the_budget_study_cuts_at_round_lengths_up_to_the_whole_answer() {
        assert_eq!(study_lengths(64, 32), vec![8, 16, 24, 32, 48, 64]);
        assert_eq!(study_lengths(40, 20), vec![8, 16, 20, 24, 32, 40]);
        assert!(study_lengths(32, 32).is_empty());
    }
}
