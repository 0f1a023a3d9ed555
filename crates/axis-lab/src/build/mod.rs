//! `axis-lab build`: every stage from rollouts to the shipped axis file, resumable. One module
//! per stage, called in the order of the README's "What `build` does".

mod axis;
mod capping;
mod context;
mod drift;
mod judge;
mod outputs;
mod rollouts;
mod steering;

use std::time::Instant;

use anyhow::Result;

use context::AxisContext;
pub use context::BuildOptions;
use outputs::Outputs;
use rollouts::RolloutRun;

use crate::compute::judge_all;
use crate::data::LabData;
use crate::loading::load_model;

/// Runs every stage and writes the axis file (and `<out>.report.json`, and the Markdown report
/// with its charts when `doc` is set).
pub fn build(opts: &BuildOptions) -> Result<()> {
    let started = Instant::now();
    let data = LabData::load(&opts.data_dir)?;
    // 1. Plan.
    let plan = rollouts::plan(&data, opts.budget, opts.seed);
    let model = load_model(&opts.model)?;
    let cfg = model.chat.model().config().clone();
    // 2. Rollouts, resumed from the checkpoints in `work`.
    let rollouts = rollouts::run(
        &model,
        &data,
        &plan,
        &RolloutRun {
            work: &opts.work,
            restart: opts.restart,
            batch: opts.batch,
            max_new_tokens: opts.max_new_tokens,
        },
    )?;
    // 3. Judge; 4. axis; 5. validation and the monitor layer.
    let verdicts = judge_all(&data, &plan, &rollouts.store);
    let (stats, monitor) = axis::compute_axis(
        &data,
        &plan,
        &rollouts.store,
        &verdicts,
        cfg.n_layers,
        cfg.hidden_size,
    )?;
    let agreement = judge::agreement(&data, &opts.data_dir);
    let ctx = AxisContext {
        model: &model,
        data: &data,
        stats: &stats,
        monitor,
        budget: opts.budget,
        batch: opts.batch,
        short: opts.max_new_tokens.min(64),
    };
    // 6. Capping sweep; 7. steering; 8. drift.
    let capping = capping::run(&ctx, &plan, opts.sweep)?;
    let (steering, steering_seconds) = steering::run(&ctx)?;
    let (drift, drift_seconds) = drift::run(&ctx, &capping.chosen, opts.max_new_tokens)?;
    // 9. Outputs.
    outputs::write(&Outputs {
        opts,
        started,
        plan: &plan,
        rollouts: &rollouts,
        axis: &ctx,
        agreement: &agreement,
        capping: &capping,
        steering: &steering,
        steering_seconds,
        drift: &drift,
        drift_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    use engine::axis::AxisFile;
    use engine::gguf::{Gguf, GgufWriter, MetadataValue};

    use crate::plan::{Budget, Plan};
    use crate::store::RolloutStore;

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
        assert!(axis.meta.cap.percentile.is_paper_level());
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
        // Every stored answer can be exported for labelling, with the conversation it answered.
        let data = LabData::load(&opts.data_dir).expect("data");
        let rows = crate::label_export::answers(&data, &opts.work, "tiny-").expect("export");
        assert_eq!(rows.len(), store.done());
        assert!(
            rows.iter()
                .all(|r| r.id.starts_with("tiny-job") && !r.user_message.is_empty())
        );
        let role = rows
            .iter()
            .find(|r| r.kind == "role")
            .expect("a role answer");
        assert!(role.role.is_some() && role.style.is_some() && !role.system_prompt.is_empty());
        assert_eq!(
            role.answer,
            store.answers[0..]
                .iter()
                .find(|a| format!("tiny-job{}", a.job) == role.id)
                .expect("stored")
                .text
        );
        // A plan whose jobs name prompts the data lacks is refused, not indexed past.
        let mut fewer = data.clone();
        fewer.default_prompts.clear();
        assert!(crate::label_export::answers(&fewer, &opts.work, "").is_err());
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
