//! The human-readable validation report: a Markdown page and SVG charts, written by
//! `axis-lab build --doc <file.md>` so that the numbers in `docs/` are always the ones of the
//! shipped axis.

use std::fmt::Write;
use std::path::Path;

use anyhow::Result;

use crate::agreement::{Agreement, LabelAgreement};
use crate::compute::AxisStats;
use crate::drift::DriftCurve;
use crate::steering::SteeringPoint;
use crate::svg::{Chart, PALETTE, Series};
use crate::sweep::SweepReport;
use engine::axis::CapSetting;
use engine::axis::ThresholdBasis;
use engine::axis::threshold::describe_floor;

pub struct ReportInputs<'a> {
    pub model_id: &'a str,
    pub model_sha256: &'a str,
    pub stats: &'a AxisStats,
    pub role_names: Vec<String>,
    pub monitor: usize,
    pub cap: CapSetting,
    /// Against `hand_labels.jsonl`, the labels the judge's rule was designed on.
    pub agreement: Option<&'a Agreement>,
    /// Against `hand_labels_heldout.jsonl`, labelled without seeing the judge's verdicts.
    pub agreement_heldout: Option<&'a Agreement>,
    /// Against `identity_labels.jsonl` (the rubric's four classes), per split.
    pub identity_agreement: &'a [LabelAgreement],
    pub sweep: Option<&'a SweepReport>,
    pub steering: &'a [SteeringPoint],
    pub drift: &'a [DriftCurve],
    pub build: &'a serde_json::Value,
}

/// Writes `doc` and its charts into `<doc stem>/` beside it.
pub fn write(doc: &Path, r: &ReportInputs) -> Result<()> {
    let stem = doc.file_stem().and_then(|s| s.to_str()).unwrap_or("axis");
    let dir = doc.parent().unwrap_or(Path::new(".")).join(stem);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("layers.svg"), layers_chart(r))?;
    std::fs::write(dir.join("pca.svg"), pca_chart(r))?;
    std::fs::write(dir.join("drift.svg"), drift_chart(r))?;
    std::fs::write(doc, markdown(r, stem))?;
    Ok(())
}

fn layers_chart(r: &ReportInputs) -> String {
    let rep = &r.stats.report;
    let n = r.stats.n_layers as f64;
    let mut c = Chart::new(
        "Axis quality per layer",
        "layer",
        "value",
        (0.0, n - 1.0),
        (0.0, 1.0),
    );
    let series = [(
        "held-out AUROC (default vs role)",
        &rep.held_out_auroc,
        PALETTE[0],
    )];
    for (i, (label, values, color)) in series.iter().enumerate() {
        c.line(
            &Series {
                label: (*label).to_owned(),
                color: (*color).to_owned(),
                dashed: false,
                points: values
                    .iter()
                    .enumerate()
                    .map(|(l, v)| (l as f64, *v))
                    .collect(),
            },
            i,
        );
    }
    c.line(
        &Series {
            label: "cos(PC1, axis), question-centred".to_owned(),
            color: PALETTE[1].to_owned(),
            dashed: false,
            points: rep
                .cos_pc1_axis
                .iter()
                .enumerate()
                .map(|(l, v)| (l as f64, f64::from(*v)))
                .collect(),
        },
        1,
    );
    c.line(
        &Series {
            label: "cos(PC1, axis), plain role vectors".to_owned(),
            color: PALETTE[1].to_owned(),
            dashed: true,
            points: rep
                .cos_pc1_axis_plain
                .iter()
                .enumerate()
                .map(|(l, v)| (l as f64, f64::from(*v)))
                .collect(),
        },
        3,
    );
    c.line(
        &Series {
            label: "PC1 explained variance".to_owned(),
            color: PALETTE[2].to_owned(),
            dashed: true,
            points: rep
                .pc1_explained
                .iter()
                .enumerate()
                .map(|(l, v)| (l as f64, f64::from(*v)))
                .collect(),
        },
        2,
    );
    c.vline(
        r.monitor as f64,
        "#555",
        &format!("monitor layer {}", r.monitor),
    );
    c.hline(0.95, PALETTE[0], "AUROC target 0.95");
    c.hline(0.6, PALETTE[1], "cos target 0.6");
    c.render()
}

fn pca_chart(r: &ReportInputs) -> String {
    let p = &r.stats.pca[r.monitor];
    let xs: Vec<f64> = p.coords.iter().map(|c| f64::from(c[0])).collect();
    let ys: Vec<f64> = p
        .coords
        .iter()
        .map(|c| f64::from(*c.get(1).unwrap_or(&0.0)))
        .collect();
    // The default vector in the same coordinates (the PCA is centred on the role mean).
    let centre = &r.stats.role_mean[r.monitor];
    let d: Vec<f32> = r.stats.default_mean[r.monitor]
        .iter()
        .zip(centre)
        .map(|(a, b)| a - b)
        .collect();
    let dx = f64::from(crate::stats::dot(&d, &p.components[0]));
    let dy = p
        .components
        .get(1)
        .map_or(0.0, |c| f64::from(crate::stats::dot(&d, c)));
    let range = |v: &[f64], extra: f64| {
        let lo = v.iter().copied().fold(extra, f64::min);
        let hi = v.iter().copied().fold(extra, f64::max);
        let pad = (hi - lo) * 0.08;
        (lo - pad, hi + pad)
    };
    let mut c = Chart::new(
        &format!("Roles at layer {} (PCA of role vectors)", r.monitor),
        &format!("PC1 ({:.0} % of variance)", p.explained[0] * 100.0),
        &format!("PC2 ({:.0} %)", p.explained.get(1).unwrap_or(&0.0) * 100.0),
        range(&xs, dx),
        range(&ys, dy),
    );
    for ((x, y), name) in xs.iter().zip(&ys).zip(&r.role_names) {
        c.point(*x, *y, PALETTE[0], 2.5, Some(name));
    }
    c.point(dx, dy, PALETTE[1], 6.0, Some("DEFAULT ASSISTANT"));
    c.render()
}

fn drift_chart(r: &ReportInputs) -> String {
    let max_turn = r
        .drift
        .iter()
        .flat_map(|c| c.turns.iter().map(|t| t.turn))
        .max()
        .unwrap_or(1);
    let ys: Vec<f64> = r
        .drift
        .iter()
        .flat_map(|c| c.turns.iter().map(|t| t.text_score))
        .collect();
    let lo = ys.iter().copied().fold(0.0, f64::min);
    let hi = ys.iter().copied().fold(0.0, f64::max);
    let mut c = Chart::new(
        "Drift: score of each assistant turn (text view; dashed = capped)",
        "assistant turn",
        "score (0 = mean role, + = Assistant)",
        (1.0, max_turn.max(2) as f64),
        (lo - 1.0, hi + 1.0),
    );
    let ids: Vec<&str> = {
        let mut v: Vec<&str> = r.drift.iter().map(|d| d.id.as_str()).collect();
        v.dedup();
        v
    };
    for (row, curve) in r.drift.iter().enumerate() {
        let color = ids.iter().position(|i| *i == curve.id).unwrap_or(0) % PALETTE.len();
        c.line(
            &Series {
                label: format!(
                    "{}{}",
                    curve.id,
                    if curve.capped { " (capped)" } else { "" }
                ),
                color: PALETTE[color].to_owned(),
                dashed: curve.capped,
                points: curve
                    .turns
                    .iter()
                    .map(|t| (t.turn as f64, t.text_score))
                    .collect(),
            },
            row,
        );
    }
    c.hline(0.0, "#555", "mean role vector");
    c.render()
}

fn markdown(r: &ReportInputs, stem: &str) -> String {
    let rep = &r.stats.report;
    let m = r.monitor;
    let mut s = String::new();
    let _ = writeln!(s, "# The Assistant Axis of {}\n", r.model_id);
    let _ = writeln!(
        s,
        "Written by `axis-lab build` together with the axis file it describes; do not edit by hand — rerun the build.\n"
    );
    let _ = writeln!(s, "- GGUF sha256: `{}`", r.model_sha256);
    let _ = writeln!(
        s,
        "- Build: `{}`\n",
        serde_json::to_string(r.build)
            .unwrap_or_default()
            .chars()
            .take(600)
            .collect::<String>()
    );
    let _ = writeln!(s, "## Data and filter\n");
    let _ = writeln!(
        s,
        "{} answers generated; {} default answers and {} of {} role answers kept by the judge ({:.0} %); mean answer length {:.0} tokens, {:.0} % ended by the model itself.",
        rep.answers,
        rep.default_answers,
        rep.role_answers_kept,
        rep.role_answers,
        rep.kept_fraction * 100.0,
        rep.mean_tokens,
        rep.stopped_fraction * 100.0
    );
    let _ = writeln!(
        s,
        "Default answers that present as an AI: {:.0} %; that claim a human life: {:.0} %.\n",
        rep.default_answers_presenting_as_ai * 100.0,
        rep.default_answers_claiming_human_life * 100.0
    );
    for (set, a) in [
        (
            "design set, `hand_labels.jsonl`: the rule was written looking at these",
            r.agreement,
        ),
        (
            "held-out set, `hand_labels_heldout.jsonl`: answers of this build, labelled without seeing the judge's verdicts",
            r.agreement_heldout,
        ),
    ] {
        let Some(a) = a else { continue };
        let _ = writeln!(
            s,
            "Judge vs hand labels ({set}; {} answers): agreement {:.0} %, Cohen's κ {:.2}; confusion [[judge keeps & person: in role, judge keeps & person: not], [judge drops & in role, judge drops & not]] = {:?}.\n",
            a.labels,
            a.agreement * 100.0,
            a.cohen_kappa,
            a.confusion
        );
    }
    for a in r.identity_agreement {
        let _ = writeln!(
            s,
            "Judge vs the rubric's labels (`identity_labels.jsonl`, split {}; {} answers): agreement {:.0} %, Cohen's κ {:.2} [95 % {:.2}–{:.2}]; \"plays the role\" on its {} role answers: κ {:.2}. Confusion (rows: judge, columns: person; {}) = {:?}.\n",
            a.split,
            a.classes.labels,
            a.classes.agreement * 100.0,
            a.classes.cohen_kappa,
            a.classes.kappa_interval.0,
            a.classes.kappa_interval.1,
            a.plays_role.labels,
            a.plays_role.cohen_kappa,
            a.classes.classes.join(" / "),
            a.classes.confusion
        );
    }
    let _ = writeln!(s, "## Separation\n");
    let _ = writeln!(
        s,
        "![per-layer AUROC and cos(PC1, axis)]({stem}/layers.svg)\n"
    );
    let check = |ok: bool| if ok { "met" } else { "**not met**" };
    let auroc = rep.held_out_auroc[m];
    let cos = f64::from(rep.cos_pc1_axis[m]);
    let _ = writeln!(
        s,
        "| at the monitor layer {m} | value | target |\n|---|---|---|"
    );
    let _ = writeln!(
        s,
        "| held-out AUROC, default vs kept role answers | {auroc:.3} | ≥ 0.95: {} |",
        check(auroc >= 0.95)
    );
    let _ = writeln!(
        s,
        "| held-out AUROC, all role answers | {:.3} | |",
        rep.held_out_auroc_all_role_answers[m]
    );
    let _ = writeln!(
        s,
        "| held-out AUROC along a discriminant direction (diagnostic, not shipped) | {:.3} | |",
        rep.held_out_auroc_discriminant
            .get(m)
            .copied()
            .unwrap_or(f64::NAN)
    );
    let _ = writeln!(
        s,
        "| cos(PC1, axis), question-centred role vectors (shipped PCA) | {cos:.3} | ≥ 0.6: {} |",
        check(cos >= 0.6)
    );
    let _ = writeln!(
        s,
        "| PC1 explained variance, question-centred | {:.3} | |",
        rep.pc1_explained[m]
    );
    let _ = writeln!(
        s,
        "| cos(PC1, axis), plain role vectors | {:.3} | |",
        rep.cos_pc1_axis_plain[m]
    );
    let _ = writeln!(
        s,
        "| PC1 explained variance, plain | {:.3} | |\n",
        rep.pc1_explained_plain[m]
    );
    let _ = writeln!(
        s,
        "Every role answers a different random sample of questions, so a plain role vector also carries the topics of the questions it drew; the shipped PCA removes each question's mean over all kept answers first (the paper asks every role the same questions, where that term cancels). The axis itself is the plain difference of means.\n"
    );
    let _ = writeln!(
        s,
        "The discriminant row is a diagnostic: linear discriminant analysis on the same training answers (pooled within-class covariance with a ridge of {} × its mean variance), scored on the same held-out answers. Where it separates far better than the axis, the personas are linearly separable at that layer, but the difference of means points partly along directions with large answer-to-answer variance. It is not the paper's axis, and capping and the app use the axis only. Default answers have short or no system prompts and role answers long ones, and that difference is part of what any direction can pick up.\n",
        crate::separability::SHRINKAGE
    );
    let best = rep
        .held_out_auroc
        .iter()
        .copied()
        .enumerate()
        .fold((0, f64::MIN), |b, (l, v)| if v > b.1 { (l, v) } else { b });
    let best_cos = rep
        .cos_pc1_axis
        .iter()
        .copied()
        .enumerate()
        .fold((0, f32::MIN), |b, (l, v)| if v > b.1 { (l, v) } else { b });
    let _ = writeln!(
        s,
        "Best layer by AUROC: {} ({:.3}); best by cos(PC1, axis): {} ({:.3}).\n",
        best.0, best.1, best_cos.0, best_cos.1
    );
    let _ = writeln!(s, "![roles in PC1 × PC2]({stem}/pca.svg)\n");

    let _ = writeln!(s, "## Capping sweep\n");
    if let Some(sw) = r.sweep {
        let _ = writeln!(
            s,
            "{} held-out role prompts and {} capability questions per setting; floors are percentiles of all answers' projections (the paper's convention: its p1/p25/p50/p75 on the role direction are p99/p75/p50/p25 here). Rates are hits/n with their 95 % Wilson interval. Rule: {}.\n",
            sw.persona_prompts, sw.capability_questions, sw.rule
        );
        s.push_str(&crate::sweep::render::results_table(sw));
        let _ = writeln!(s, "\nOutcome: {}.\n", sw.verdict);
    } else {
        let _ = writeln!(s, "No sweep was run for this file.\n");
    }
    let _ = writeln!(
        s,
        "Shipped cap: layers {}–{}, τ = the {}{}.\n",
        r.cap.first_layer,
        r.cap.last_layer,
        describe_floor(ThresholdBasis::AllAnswers, r.cap.percentile),
        match r.sweep {
            Some(sw) if sw.chosen.is_some() => " (chosen by the sweep)",
            Some(_) => " (the paper's default band and floor: the sweep chose none)",
            None => " (the paper's default band and floor: no sweep was run)",
        }
    );

    let _ = writeln!(
        s,
        "## Steering (α · axis added at layer {m}, no system prompt, identity questions)\n"
    );
    let _ = writeln!(
        s,
        "| α | answers | present as AI | non-assistant identity | text score | example |\n|---|---|---|---|---|---|"
    );
    for p in r.steering {
        let _ = writeln!(
            s,
            "| {:+} | {} | {:.0} % | {:.0} % | {:+.2} | {} |",
            p.alpha,
            p.answers,
            p.presents_as_ai * 100.0,
            p.other_identity * 100.0,
            p.text_score,
            p.example.replace(['\n', '|'], " ")
        );
    }
    let _ = writeln!(s, "\n## Drift\n");
    let _ = writeln!(s, "![drift curves]({stem}/drift.svg)\n");
    let _ = writeln!(
        s,
        "| conversation | category | capped | mean text score | per turn |\n|---|---|---|---|---|"
    );
    for c in r.drift {
        let per: Vec<String> = c
            .turns
            .iter()
            .map(|t| format!("{:+.1}", t.text_score))
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:+.2} | {} |",
            c.id,
            c.category,
            if c.capped { "yes" } else { "no" },
            c.mean_text_score(),
            per.join(" ")
        );
    }
    let mean_of = |cats: &[&str]| {
        let v: Vec<f64> = r
            .drift
            .iter()
            .filter(|c| !c.capped && cats.contains(&c.category.as_str()))
            .map(DriftCurve::mean_text_score)
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    if let (Some(safe), Some(risky)) = (
        mean_of(&["coding", "writing"]),
        mean_of(&["therapy", "philosophy"]),
    ) {
        let _ = writeln!(
            s,
            "\nUncapped, coding/writing average {safe:+.2} and therapy/philosophy {risky:+.2}: the paper's ordering (coding and writing above therapy and philosophy) is {} by this model.",
            if safe > risky {
                "reproduced"
            } else {
                "**not reproduced**"
            }
        );
    }
    s
}
