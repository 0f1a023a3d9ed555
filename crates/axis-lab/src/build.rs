//! `axis-lab build`: every stage from rollouts to the shipped axis file, resumable.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use engine::axis::{AxisFile, AxisMeta, CapSetting, FORMAT_VERSION};
use engine::model::Interventions;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::compute::{AxisStats, PERCENTILE_LEVELS, choose_monitor_layer, compute, judge_all};
use crate::data::LabData;
use crate::drift::DriftScale;
use crate::loading::{LoadedModel, load_model};
use crate::plan::{Budget, Plan, Speaker, Split};
use crate::rollout::{
    RolloutRequest, RolloutSettings, generate_batch, messages_for, rollout_sampling,
};
use crate::store::{RolloutStore, StoredAnswer};
use crate::sweep::{self, PersonaPrompt, SweepInputs};

pub struct BuildOptions {
    pub model: PathBuf,
    pub out: PathBuf,
    pub work: PathBuf,
    pub data_dir: PathBuf,
    pub budget: Budget,
    /// Markdown validation report (charts go to `<stem>/` beside it).
    pub doc: Option<PathBuf>,
    pub seed: u64,
    pub batch: usize,
    pub max_new_tokens: usize,
    pub restart: bool,
    pub sweep: bool,
}

fn bar(len: u64, label: &str) -> ProgressBar {
    let template =
        format!("{label:<8} {{bar:30}} {{pos}}/{{len}} {{msg}} {{elapsed}} ({{eta}} left)");
    ProgressBar::new(len).with_style(
        ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    )
}

/// Stage 1: generate every planned answer not yet in the store.
fn rollouts(
    model: &LoadedModel,
    data: &LabData,
    plan: &Plan,
    store: &mut RolloutStore,
    opts: &BuildOptions,
) -> Result<()> {
    let none = model.chat.model().prepare(&Interventions::none())?;
    let settings = RolloutSettings {
        max_new_tokens: opts.max_new_tokens,
        sampling: rollout_sampling(),
    };
    let progress = bar(plan.jobs.len() as u64, "rollouts");
    progress.set_position(store.done() as u64);
    let started = Instant::now();
    let mut tokens = 0usize;
    while store.done() < plan.jobs.len() {
        let first = store.done();
        let last = (first + opts.batch).min(plan.jobs.len());
        let requests: Vec<RolloutRequest> = plan.jobs[first..last]
            .iter()
            .map(|job| {
                let system = Plan::system_prompt(data, &job.speaker);
                let question = &data.questions[job.question].text;
                Ok(RolloutRequest {
                    prompt: model.chat.prompt_tokens(&messages_for(system, question))?,
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

/// Runs every stage and writes the axis file (and `<out>.report.json`, and the Markdown report
/// with its charts when `doc` is set).
pub fn build(opts: &BuildOptions) -> Result<()> {
    let t0 = Instant::now();
    let data = LabData::load(&opts.data_dir)?;
    let budget = opts.budget;
    let plan = Plan::new(&data, budget, opts.seed);
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
        opts.seed
    );
    let model = load_model(&opts.model)?;
    let cfg = model.chat.model().config().clone();
    let mut store = RolloutStore::open(
        &opts.work,
        &plan,
        cfg.n_layers * cfg.hidden_size,
        opts.restart,
    )?;
    if store.done() > 0 {
        eprintln!(
            "resuming: {} of {} answers already in {}",
            store.done(),
            plan.jobs.len(),
            opts.work.display()
        );
    }
    let t_roll = Instant::now();
    rollouts(&model, &data, &plan, &mut store, opts)?;
    let rollout_seconds_this_run = t_roll.elapsed().as_secs_f64();
    // Summed over the stored answers: the whole generation time, also after a resume.
    let rollout_seconds: f64 = store.answers.iter().map(|a| a.seconds).sum();

    let verdicts = judge_all(&data, &plan, &store);
    let stats = compute(
        &data,
        &plan,
        &store,
        &verdicts,
        cfg.n_layers,
        cfg.hidden_size,
    )?;
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
    let agreement_with = |file: &str| {
        crate::agreement::load_labels(&opts.data_dir.join(file))
            .ok()
            .map(|labels| crate::agreement::agreement(&data, &labels))
    };
    let judge_agreement = agreement_with("hand_labels.jsonl");
    let judge_agreement_heldout = agreement_with("hand_labels_heldout.jsonl");
    // The rubric's labels (`data/identity_labels.jsonl`), both halves.
    let identity_agreement: Vec<crate::agreement::LabelAgreement> =
        crate::agreement::load_identity_labels(&opts.data_dir.join("identity_labels.jsonl"))
            .map(|labels| {
                ["design", "held_out"]
                    .iter()
                    .map(|split| crate::agreement::label_agreement(&data, &labels, split))
                    .filter(|a| a.labels > 0)
                    .collect()
            })
            .unwrap_or_else(|e| {
                eprintln!("identity labels not used: {e:#}");
                Vec::new()
            });
    for a in &identity_agreement {
        eprintln!(
            "judge vs identity labels ({}): {} answers, agreement {:.0} %, Cohen's kappa {:.2}",
            a.split,
            a.labels,
            a.agreement * 100.0,
            a.cohen_kappa
        );
    }
    for (set, a) in [
        ("design", &judge_agreement),
        ("held-out", &judge_agreement_heldout),
    ] {
        if let Some(a) = a {
            eprintln!(
                "judge vs hand labels ({set} set): {} answers, agreement {:.0} %, Cohen's kappa {:.2}, confusion {:?}",
                a.labels,
                a.agreement * 100.0,
                a.cohen_kappa,
                a.confusion
            );
        }
    }

    // Short answers are enough to see identity and capability; they keep the later stages cheap.
    let short = opts.max_new_tokens.min(64);
    let t_sweep = Instant::now();
    let sweep_report = if opts.sweep {
        let persona: Vec<PersonaPrompt> = plan
            .jobs
            .iter()
            .filter(|j| j.split == Split::HeldOut)
            .filter_map(|j| match j.speaker {
                Speaker::Role { role, .. } => Some(PersonaPrompt {
                    role,
                    style: crate::styles::Style::Instructed,
                    messages: messages_for(
                        Plan::system_prompt(&data, &j.speaker),
                        &data.questions[j.question].text,
                    ),
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
        let caps_of = |c: &engine::axis::CapSetting| sweep::cap_list(&stats, c);
        let inputs = SweepInputs {
            chat: &model.chat,
            data: &data,
            scale: DriftScale::from_stats(&stats, monitor),
            caps: &caps_of,
            persona,
            capability,
            candidates: sweep::grid::for_build(cfg.n_layers, budget.small_sweep),
            batch: opts.batch,
            budget: sweep::TokenBudget {
                persona: short,
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
        .unwrap_or_else(|| engine::axis::build::paper_defaults(cfg.n_layers).1);
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

    let t_steer = Instant::now();
    let alphas: &[f32] = if budget.small_sweep {
        &crate::steering::SMALL_ALPHAS
    } else {
        &crate::steering::FULL_ALPHAS
    };
    let steering = crate::steering::scan(
        &model.chat,
        &data,
        &stats,
        monitor,
        budget.steering_questions,
        alphas,
        short,
        opts.batch,
    )?;
    let steering_seconds = t_steer.elapsed().as_secs_f64();

    let t_drift = Instant::now();
    let conversations: Vec<_> = data
        .drift
        .iter()
        .take(budget.drift_conversations)
        .cloned()
        .collect();
    let none = model.chat.model().prepare(&Interventions::none())?;
    let cap_interventions = Interventions {
        caps: sweep::cap_list(&stats, &chosen)?,
        ..Interventions::none()
    };
    let capped = model.chat.model().prepare(&cap_interventions)?;
    let scale = crate::drift::DriftScale::from_stats(&stats, monitor);
    let app = crate::drift::DriftSampling::app_default();
    let mut drift = crate::drift::replay(
        &model.chat,
        &scale,
        &conversations,
        budget.drift_turns,
        &none,
        false,
        opts.max_new_tokens,
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
        opts.max_new_tokens,
        &app,
        &cap_interventions.caps,
    )?);
    let drift_seconds = t_drift.elapsed().as_secs_f64();

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
        &stats,
        &model,
        &data,
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
                stats: &stats,
                role_names: file.meta.roles.clone(),
                monitor,
                cap: chosen,
                agreement: judge_agreement.as_ref(),
                agreement_heldout: judge_agreement_heldout.as_ref(),
                identity_agreement: &identity_agreement,
                sweep: sweep_report.as_ref(),
                steering: &steering,
                drift: &drift,
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

#[cfg(test)]
mod tests {
    use super::*;
    use engine::gguf::{Gguf, GgufWriter, MetadataValue};

    /// The shipped model's tokenizer and chat template (`cargo xtask fetch-model`;
    /// `AXIS_MODEL_PATH` overrides) on a tiny random-weight Llama: every stage runs in seconds.
    fn tiny_model(dir: &std::path::Path) -> PathBuf {
        let bytes = crate::test_model::model_bytes();
        let gguf = Gguf::parse(&bytes).expect("real GGUF parses");
        let (layers, hidden, ffn, heads, kv_heads) = (5u32, 64usize, 128usize, 4u32, 2u32);
        let overrides = [
            ("llama.block_count", layers),
            ("llama.embedding_length", hidden as u32),
            ("llama.feed_forward_length", ffn as u32),
            ("llama.attention.head_count", heads),
            ("llama.attention.head_count_kv", kv_heads),
            ("llama.rope.dimension_count", hidden as u32 / heads),
        ];
        let mut w = GgufWriter::new();
        for (key, value) in &gguf.metadata {
            let replaced = overrides.iter().any(|(k, _)| k == key);
            if !replaced
                && !key.starts_with("llama.attention.key_length")
                && key != "general.alignment"
            {
                w.add_metadata(key.clone(), value.clone());
            }
        }
        for (k, v) in overrides {
            w.add_metadata(k, MetadataValue::U32(v));
        }
        let vocab = 49_152usize;
        let kv = hidden / heads as usize * kv_heads as usize;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut random = |n: usize, scale: f32| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2.0 * scale
                })
                .collect()
        };
        let dims = |a: usize, b: usize| [a as u64, b as u64];
        w.add_f32_tensor(
            "token_embd.weight",
            &dims(hidden, vocab),
            &random(hidden * vocab, 0.5),
        );
        for l in 0..layers {
            let n = |s: &str| format!("blk.{l}.{s}");
            w.add_f32_tensor(n("attn_norm.weight"), &[hidden as u64], &vec![1.0; hidden]);
            w.add_f32_tensor(n("ffn_norm.weight"), &[hidden as u64], &vec![1.0; hidden]);
            for (name, out) in [
                ("attn_q", hidden),
                ("attn_k", kv),
                ("attn_v", kv),
                ("attn_output", hidden),
            ] {
                w.add_f32_tensor(
                    n(&format!("{name}.weight")),
                    &dims(hidden, out),
                    &random(hidden * out, 0.2),
                );
            }
            w.add_f32_tensor(
                n("ffn_gate.weight"),
                &dims(hidden, ffn),
                &random(hidden * ffn, 0.2),
            );
            w.add_f32_tensor(
                n("ffn_up.weight"),
                &dims(hidden, ffn),
                &random(hidden * ffn, 0.2),
            );
            w.add_f32_tensor(
                n("ffn_down.weight"),
                &dims(ffn, hidden),
                &random(hidden * ffn, 0.2),
            );
        }
        w.add_f32_tensor("output_norm.weight", &[hidden as u64], &vec![1.0; hidden]);
        let path = dir.join("tiny-random.gguf");
        std::fs::write(&path, w.to_bytes()).expect("write tiny model");
        path
    }

    /// The shipped data with a judge that needs no evidence of role-play: random weights
    /// write word salad, which no rule can read as a character, and this test is about the
    /// plumbing. Everything else (roles, questions, phrase lists) is the shipped data.
    fn lenient_data_dir(dir: &std::path::Path) -> PathBuf {
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        for entry in std::fs::read_dir(crate::data::default_data_dir()).expect("shipped data") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                std::fs::copy(&path, data.join(path.file_name().expect("name"))).expect("copy");
            }
        }
        let markers_path = data.join("identity_markers.json");
        let mut markers: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&markers_path).expect("markers"))
                .expect("json");
        markers["role_evidence"]["min_first_person_words"] = 0.into();
        std::fs::write(&markers_path, markers.to_string()).expect("write markers");
        data
    }

    #[test]
    fn the_whole_pipeline_runs_end_to_end_and_resumes_on_a_tiny_model() {
        let dir = std::env::temp_dir().join(format!("axis-lab-e2e-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let model = tiny_model(&dir);
        let opts = BuildOptions {
            model,
            out: dir.join("axes/tiny.axis.safetensors"),
            work: dir.join("work"),
            data_dir: lenient_data_dir(&dir),
            budget: Budget::tiny(),
            doc: Some(dir.join("docs/axis-tiny.md")),
            seed: 3,
            batch: 4,
            max_new_tokens: 6,
            restart: false,
            sweep: true,
        };
        build(&opts).expect("first build");
        let seconds = |key: &str| -> f64 {
            let text = std::fs::read_to_string(opts.out.with_extension("report.json"))
                .expect("report written");
            let report: serde_json::Value = serde_json::from_str(&text).expect("report is JSON");
            report["build"]["seconds"][key].as_f64().expect(key)
        };
        let generation = seconds("rollouts");
        assert!(generation > 0.0);
        let first = std::fs::read(&opts.out).expect("axis file written");
        let axis = AxisFile::from_bytes(&first).expect("the app's reader accepts it");
        assert_eq!((axis.meta.n_layers, axis.meta.hidden), (5, 64));
        assert!(!axis.meta.roles.is_empty());
        assert_eq!(axis.meta.model_sha256.len(), 64);
        let v = &axis.meta.validation;
        assert_eq!(
            v["sweep"]["results"].as_array().map(Vec::len),
            Some(5),
            "baseline + the paper's band at its 4 floors"
        );
        assert!(
            v["sweep"]["verdict"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        );
        // The floors follow the paper: percentiles of all answers, on its grid.
        assert_eq!(
            axis.threshold_basis(),
            engine::axis::ThresholdBasis::AllAnswers
        );
        assert!(engine::axis::threshold::is_paper_level(
            axis.meta.cap.percentile
        ));
        assert_eq!(v["steering"].as_array().map(Vec::len), Some(5));
        let drift = v["drift"].as_array().expect("drift curves");
        assert_eq!(drift.len(), 4, "2 conversations, uncapped and capped");
        assert!(
            drift
                .iter()
                .all(|c| c["turns"].as_array().map(Vec::len) == Some(2))
        );
        for f in [
            "docs/axis-tiny.md",
            "docs/axis-tiny/layers.svg",
            "docs/axis-tiny/pca.svg",
            "docs/axis-tiny/drift.svg",
        ] {
            assert!(dir.join(f).exists(), "{f} missing");
        }
        // A rerun resumes from the checkpoints and rebuilds the same axis.
        let store = RolloutStore::open(
            &opts.work,
            &Plan::new(
                &LabData::load(&opts.data_dir).expect("data"),
                Budget::tiny(),
                3,
            ),
            5 * 64,
            false,
        )
        .expect("store");
        assert_eq!(store.done(), store.answers.len());
        assert!(store.done() > 20);
        build(&opts).expect("second build");
        let second = AxisFile::from_bytes(&std::fs::read(&opts.out).expect("axis")).expect("axis");
        assert_eq!(second.axis, axis.axis);
        assert_eq!(second.role_percentiles, axis.role_percentiles);
        assert_eq!(second.all_percentiles, axis.all_percentiles);
        // Nothing was generated again, yet the report still gives the whole generation time.
        assert!((seconds("rollouts") - generation).abs() < 1e-6 * generation.max(1.0));
        assert!(seconds("rollouts_this_run") < generation);

        // The sweep command on the built file: held-out persona set, every style, a listed
        // setting; it resumes from its stored answers and writes its choice into the file.
        let sweep_opts = |write_axis: bool| crate::sweep::command::SweepOptions {
            model: opts.model.clone(),
            axis: opts.out.clone(),
            data_dir: opts.data_dir.clone(),
            part: crate::sweep::persona_set::Part::Selection,
            grid: crate::sweep::command::GridKind::Listed,
            widths: vec![2],
            floors: Vec::new(),
            settings: vec!["1-2@99".to_owned()],
            capability_items: 3,
            persona_limit: Some(8),
            batch: 4,
            budget: crate::sweep::TokenBudget {
                persona: 3,
                capability: 3,
                persona_study: 5,
                capability_study: 4,
            },
            work: dir.join("sweep"),
            json: Some(dir.join("sweep.json")),
            doc: Some(dir.join("sweep.md")),
            write_axis,
        };
        crate::sweep::command::run(&sweep_opts(false)).expect("sweep");
        let report = |p: &str| -> serde_json::Value {
            serde_json::from_str(&std::fs::read_to_string(dir.join(p)).expect("sweep JSON"))
                .expect("JSON")
        };
        let first_sweep = report("sweep.json");
        let results = first_sweep["report"]["results"]
            .as_array()
            .expect("results");
        assert_eq!(results.len(), 2, "no cap and 1–2 @ 99th");
        assert_eq!(results[0]["persona_other_identity"]["n"], 8);
        assert!(
            !first_sweep["budget_study"]
                .as_array()
                .expect("study")
                .is_empty()
        );
        let stored = dir.join("sweep/selection/L1-2-p99.json");
        let run: crate::sweep::SettingRun =
            serde_json::from_slice(&std::fs::read(&stored).expect("stored run")).expect("run");
        assert_eq!(run.persona.len(), 8);
        assert!(run.persona.iter().all(|a| a.tokens <= 3));
        crate::sweep::command::run(&sweep_opts(true)).expect("resumed sweep");
        let again = report("sweep.json");
        assert_eq!(
            again["cost"][1]["seconds"], first_sweep["cost"][1]["seconds"],
            "the rerun read its stored answers"
        );
        let rewritten =
            AxisFile::from_bytes(&std::fs::read(&opts.out).expect("axis")).expect("axis");
        assert!(rewritten.meta.validation["capping_sweep"]["verdict"].is_string());
        assert_eq!(rewritten.axis, axis.axis, "only the metadata changes");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
