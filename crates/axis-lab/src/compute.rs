//! From stored answers to the axis: filter, role vectors, default vector, axis, PCA,
//! percentiles, and the held-out validation numbers.

use serde::Serialize;

use crate::data::LabData;
use crate::judge::Judge;
use crate::plan::{Plan, Speaker, Split};
use crate::separability::{SHRINKAGE, discriminant_direction};
use crate::stats::{auroc, cosine, dot, mean_of, pca};
use crate::store::RolloutStore;
use engine::axis::build::LayerAxis;
use engine::speaker::Verdict;

pub use engine::axis::build::{PCA_COMPONENTS, PERCENTILE_LEVELS};

/// Everything computed from the rollouts; `[layer][hidden]` vectors.
#[derive(Debug, Clone)]
pub struct AxisStats {
    pub n_layers: usize,
    pub hidden: usize,
    pub axis: Vec<Vec<f32>>,
    pub unit_axis: Vec<Vec<f32>>,
    pub default_mean: Vec<Vec<f32>>,
    pub role_mean: Vec<Vec<f32>>,
    /// Roles that kept at least one answer, in data order.
    pub roles: Vec<usize>,
    pub default_percentiles: Vec<Vec<f32>>,
    pub role_percentiles: Vec<Vec<f32>>,
    /// Over the training default and kept role answers together: the capping thresholds.
    pub all_percentiles: Vec<Vec<f32>>,
    pub pca: Vec<crate::stats::Pca>,
    pub report: Report,
}

/// The numbers a person reads to judge the axis.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub answers: usize,
    pub default_answers: usize,
    pub role_answers: usize,
    pub role_answers_kept: usize,
    pub kept_fraction: f64,
    pub mean_tokens: f64,
    pub stopped_fraction: f64,
    /// Per role: (id, kept, total).
    pub kept_per_role: Vec<(String, usize, usize)>,
    pub default_answers_presenting_as_ai: f64,
    pub default_answers_claiming_human_life: f64,
    /// Per layer, of the shipped PCA: role vectors with each question's effect removed
    /// (see [`question_centred_role_vectors`]).
    pub cos_pc1_axis: Vec<f32>,
    pub pc1_explained: Vec<f32>,
    /// Per layer, of a PCA of the plain role vectors (each role's mean over the questions it
    /// happened to be asked, as in `role_mean`).
    pub cos_pc1_axis_plain: Vec<f32>,
    pub pc1_explained_plain: Vec<f32>,
    /// Held-out default answers vs held-out role answers (kept ones), per layer.
    pub held_out_auroc: Vec<f64>,
    /// Same, counting every held-out role answer (also those that fell out of role).
    pub held_out_auroc_all_role_answers: Vec<f64>,
    /// Held-out default vs kept role answers along the discriminant direction of the training
    /// answers (`crate::separability`): a diagnostic of how separable they are at all, not the
    /// axis.
    pub held_out_auroc_discriminant: Vec<f64>,
    pub held_out_default_answers: usize,
    pub held_out_role_answers_kept: usize,
}

/// The judge's verdict for every stored answer.
pub fn judge_all(data: &LabData, plan: &Plan, store: &RolloutStore) -> Vec<Verdict> {
    let judge = Judge::new(&data.markers, &data.roles, &data.questions);
    store
        .answers
        .iter()
        .map(|a| {
            let role = match plan.jobs[a.job].speaker {
                Speaker::Role { role, .. } => Some(&data.roles[role]),
                Speaker::Default { .. } => None,
            };
            judge.judge(&a.text, role)
        })
        .collect()
}

/// Role vectors without the questions' effect, for the PCA: every role is asked a *different*
/// random sample of questions (the full grid does not fit the budget), so plain role means
/// differ by which questions they drew as well as by persona, and a PCA of them finds question
/// topics. The paper asks every role the same questions, where that term is common to all roles
/// and cancels. Here each answer has its question's mean over all kept answers (`answers`, of
/// every role) subtracted first; a role's vector is the mean of its centred answers (answers to
/// a question nobody else answered carry no persona-only signal and are left out; a role left
/// with none sits at the origin). One `[layers × hidden]` vector per entry of `roles`.
pub fn question_centred_role_vectors<'a>(
    roles: &[usize],
    answers: &[usize],
    role_of: impl Fn(usize) -> usize,
    question_of: impl Fn(usize) -> usize,
    activation_of: impl Fn(usize) -> &'a [f32],
) -> Vec<Vec<f32>> {
    let mut by_question: std::collections::BTreeMap<usize, Vec<&[f32]>> = Default::default();
    for &i in answers {
        by_question
            .entry(question_of(i))
            .or_default()
            .push(activation_of(i));
    }
    let question_means: std::collections::BTreeMap<usize, Vec<f32>> = by_question
        .into_iter()
        .filter(|(_, acts)| acts.len() >= 2)
        .filter_map(|(q, acts)| mean_of(&acts).map(|m| (q, m)))
        .collect();
    let width = answers.first().map_or(0, |&i| activation_of(i).len());
    roles
        .iter()
        .map(|&r| {
            let centred: Vec<Vec<f32>> = answers
                .iter()
                .filter(|&&i| role_of(i) == r)
                .filter_map(|&i| {
                    let qm = question_means.get(&question_of(i))?;
                    Some(
                        activation_of(i)
                            .iter()
                            .zip(qm)
                            .map(|(a, m)| a - m)
                            .collect(),
                    )
                })
                .collect();
            let refs: Vec<&[f32]> = centred.iter().map(Vec::as_slice).collect();
            mean_of(&refs).unwrap_or_else(|| vec![0.0; width])
        })
        .collect()
}

fn layer_slice(act: &[f32], layer: usize, hidden: usize) -> &[f32] {
    &act[layer * hidden..(layer + 1) * hidden]
}

pub fn compute(
    data: &LabData,
    plan: &Plan,
    store: &RolloutStore,
    verdicts: &[Verdict],
    n_layers: usize,
    hidden: usize,
) -> anyhow::Result<AxisStats> {
    let answered = |i: usize| store.answers[i].n_tokens > 0;
    let is = |i: usize, split: Split| plan.jobs[store.answers[i].job].split == split;
    let speaker = |i: usize| &plan.jobs[store.answers[i].job].speaker;
    let n = store.done();
    let default_train: Vec<usize> = (0..n)
        .filter(|&i| answered(i) && is(i, Split::Train))
        .filter(|&i| matches!(speaker(i), Speaker::Default { .. }))
        .collect();
    let role_train_all: Vec<usize> = (0..n)
        .filter(|&i| is(i, Split::Train) && matches!(speaker(i), Speaker::Role { .. }))
        .collect();
    let role_train: Vec<usize> = role_train_all
        .iter()
        .copied()
        .filter(|&i| answered(i) && verdicts[i].plays_role())
        .collect();
    if default_train.is_empty() || role_train.is_empty() {
        anyhow::bail!(
            "not enough answers: {} default and {} kept role answers",
            default_train.len(),
            role_train.len()
        );
    }

    // Role vectors: mean over each role's kept answers.
    let mut roles = Vec::new();
    let mut role_vectors = Vec::new();
    let mut kept_per_role = Vec::new();
    for &r in &plan.train_roles {
        let of_role = |i: &usize| matches!(speaker(*i), Speaker::Role { role, .. } if *role == r);
        let total = role_train_all.iter().filter(|i| of_role(i)).count();
        let kept: Vec<&[f32]> = role_train
            .iter()
            .filter(|i| of_role(i))
            .map(|&i| store.activations[i].as_slice())
            .collect();
        kept_per_role.push((data.roles[r].id.clone(), kept.len(), total));
        if let Some(mean) = mean_of(&kept) {
            roles.push(r);
            role_vectors.push(
                (0..n_layers)
                    .map(|l| layer_slice(&mean, l, hidden).to_vec())
                    .collect::<Vec<_>>(),
            );
        }
    }

    let centred_vectors = question_centred_role_vectors(
        &roles,
        &role_train,
        |i| match speaker(i) {
            Speaker::Role { role, .. } => *role,
            Speaker::Default { .. } => usize::MAX,
        },
        |i| plan.jobs[store.answers[i].job].question,
        |i| store.activations[i].as_slice(),
    );

    let mut axis = Vec::with_capacity(n_layers);
    let mut unit_axis = Vec::with_capacity(n_layers);
    let mut default_mean = Vec::with_capacity(n_layers);
    let mut role_mean = Vec::with_capacity(n_layers);
    let mut default_percentiles = Vec::with_capacity(n_layers);
    let mut role_percentiles = Vec::with_capacity(n_layers);
    let mut all_percentiles = Vec::with_capacity(n_layers);
    let mut pcas = Vec::with_capacity(n_layers);
    let mut cos_pc1_axis = Vec::new();
    let mut pc1_explained = Vec::new();
    let mut cos_pc1_axis_plain = Vec::new();
    let mut pc1_explained_plain = Vec::new();
    let mut held_out_auroc = Vec::new();
    let mut held_out_auroc_all = Vec::new();
    let mut held_out_auroc_discriminant = Vec::new();

    let held_default: Vec<usize> = (0..n)
        .filter(|&i| answered(i) && is(i, Split::HeldOut))
        .filter(|&i| matches!(speaker(i), Speaker::Default { .. }))
        .collect();
    let held_role_all: Vec<usize> = (0..n)
        .filter(|&i| answered(i) && is(i, Split::HeldOut))
        .filter(|&i| matches!(speaker(i), Speaker::Role { .. }))
        .collect();
    let held_role: Vec<usize> = held_role_all
        .iter()
        .copied()
        .filter(|&i| verdicts[i].plays_role())
        .collect();

    for l in 0..n_layers {
        let at = |idx: &[usize]| -> Vec<&[f32]> {
            idx.iter()
                .map(|&i| layer_slice(&store.activations[i], l, hidden))
                .collect()
        };
        let rv: Vec<&[f32]> = role_vectors.iter().map(|v| v[l].as_slice()).collect();
        let (default_rows, role_rows) = (at(&default_train), at(&role_train));
        let mut layer = LayerAxis::compute(&default_rows, &rv, &role_rows, PCA_COMPONENTS)
            .ok_or_else(|| anyhow::anyhow!("the axis at layer {l} is zero or not finite"))?;
        cos_pc1_axis_plain.push(cosine(&layer.pca.components[0], &layer.unit_axis));
        pc1_explained_plain.push(layer.pca.explained[0]);
        let centred: Vec<&[f32]> = centred_vectors
            .iter()
            .map(|v| layer_slice(v, l, hidden))
            .collect();
        if let Some(mut centred_pca) = pca(&centred, PCA_COMPONENTS) {
            centred_pca.orient(0, &layer.unit_axis);
            layer.pca = centred_pca;
        }
        let v = &layer.unit_axis;
        let along = |idx: &[usize], direction: &[f32]| -> Vec<f32> {
            idx.iter()
                .map(|&i| dot(layer_slice(&store.activations[i], l, hidden), direction))
                .collect()
        };
        let project = |idx: &[usize]| along(idx, v);
        default_percentiles.push(layer.default_percentiles);
        role_percentiles.push(layer.role_percentiles);
        all_percentiles.push(layer.all_percentiles);
        cos_pc1_axis.push(cosine(&layer.pca.components[0], v));
        pc1_explained.push(layer.pca.explained[0]);
        pcas.push(layer.pca);

        let hd = project(&held_default);
        held_out_auroc.push(auroc(&hd, &project(&held_role)).unwrap_or(f64::NAN));
        held_out_auroc_all.push(auroc(&hd, &project(&held_role_all)).unwrap_or(f64::NAN));
        held_out_auroc_discriminant.push(
            discriminant_direction(&default_rows, &role_rows, SHRINKAGE)
                .and_then(|w| auroc(&along(&held_default, &w), &along(&held_role, &w)))
                .unwrap_or(f64::NAN),
        );

        axis.push(layer.axis);
        unit_axis.push(layer.unit_axis);
        default_mean.push(layer.default_mean);
        role_mean.push(layer.role_mean);
    }

    let all: Vec<usize> = (0..n).collect();
    let frac = |pred: &dyn Fn(usize) -> bool, set: &[usize]| -> f64 {
        if set.is_empty() {
            0.0
        } else {
            set.iter().filter(|&&i| pred(i)).count() as f64 / set.len() as f64
        }
    };
    let report = Report {
        answers: n,
        default_answers: default_train.len(),
        role_answers: role_train_all.len(),
        role_answers_kept: role_train.len(),
        kept_fraction: role_train.len() as f64 / role_train_all.len().max(1) as f64,
        mean_tokens: store.answers.iter().map(|a| a.n_tokens as f64).sum::<f64>() / n.max(1) as f64,
        stopped_fraction: frac(&|i| store.answers[i].stopped, &all),
        kept_per_role,
        default_answers_presenting_as_ai: frac(&|i| verdicts[i].presents_as_ai(), &default_train),
        default_answers_claiming_human_life: frac(
            &|i| !verdicts[i].human_hits.is_empty(),
            &default_train,
        ),
        cos_pc1_axis,
        pc1_explained,
        cos_pc1_axis_plain,
        pc1_explained_plain,
        held_out_auroc,
        held_out_auroc_all_role_answers: held_out_auroc_all,
        held_out_auroc_discriminant,
        held_out_default_answers: held_default.len(),
        held_out_role_answers_kept: held_role.len(),
    };
    Ok(AxisStats {
        n_layers,
        hidden,
        axis,
        unit_axis,
        default_mean,
        role_mean,
        roles,
        default_percentiles,
        role_percentiles,
        all_percentiles,
        pca: pcas,
        report,
    })
}

/// The monitor layer: the best held-out separation among the middle layers (25–75 % depth),
/// ties to the layer nearest the middle; the paper's `n_layers / 2` when there is no held-out
/// data.
pub fn choose_monitor_layer(stats: &AxisStats) -> usize {
    let n = stats.n_layers;
    let middle = n / 2;
    let (lo, hi) = (n / 4, (3 * n) / 4);
    let scores = &stats.report.held_out_auroc;
    (lo..=hi.min(n - 1))
        .filter(|&l| scores.get(l).is_some_and(|s| s.is_finite()))
        .max_by(|&a, &b| {
            scores[a]
                .total_cmp(&scores[b])
                .then(middle.abs_diff(b).cmp(&middle.abs_diff(a)))
        })
        .unwrap_or(middle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Persona on dimension 0 (±1), question topic on dimension 1 (±5); four roles that drew
    /// different questions. The plain role means mix both, the centred ones keep the persona.
    #[test]
    fn question_centring_removes_the_topic_of_the_questions_a_role_drew() {
        let persona = [1.0f32, -1.0, 1.0, -1.0];
        let topic = [5.0f32, -5.0];
        // (role, question) of every answer.
        let asked = [
            (0, 0),
            (0, 0),
            (1, 0),
            (1, 1),
            (2, 1),
            (2, 1),
            (3, 1),
            (3, 0),
        ];
        let acts: Vec<Vec<f32>> = asked
            .iter()
            .map(|&(r, q)| vec![persona[r], topic[q]])
            .collect();
        let answers: Vec<usize> = (0..asked.len()).collect();
        let centred = question_centred_role_vectors(
            &[0, 1, 2, 3],
            &answers,
            |i| asked[i].0,
            |i| asked[i].1,
            |i| acts[i].as_slice(),
        );
        for (r, v) in centred.iter().enumerate() {
            assert!(
                (v[0] - persona[r]).abs() < 1e-6 && v[1].abs() < 1e-6,
                "role {r}: {v:?}"
            );
        }
        let rows: Vec<&[f32]> = centred.iter().map(Vec::as_slice).collect();
        let p = pca(&rows, 1).expect("pca");
        assert!(p.components[0][0].abs() > 0.999, "{:?}", p.components[0]);

        // The plain means: PC1 follows the topic instead.
        let plain: Vec<Vec<f32>> = (0..4)
            .map(|r| {
                let of_r: Vec<&[f32]> = answers
                    .iter()
                    .filter(|&&i| asked[i].0 == r)
                    .map(|&i| acts[i].as_slice())
                    .collect();
                mean_of(&of_r).expect("answers")
            })
            .collect();
        let rows: Vec<&[f32]> = plain.iter().map(Vec::as_slice).collect();
        let p = pca(&rows, 1).expect("pca");
        assert!(p.components[0][1].abs() > 0.9, "{:?}", p.components[0]);
    }

    #[test]
    fn a_question_only_one_answer_has_carries_no_persona_signal() {
        let acts = [vec![3.0f32], vec![1.0], vec![-1.0]];
        // Role 0 answered question 7 alone; roles 0 and 1 share question 8.
        let asked = [(0, 7), (0, 8), (1, 8)];
        let centred = question_centred_role_vectors(
            &[0, 1, 2],
            &[0, 1, 2],
            |i| asked[i].0,
            |i| asked[i].1,
            |i| acts[i].as_slice(),
        );
        assert_eq!(centred, vec![vec![1.0], vec![-1.0], vec![0.0]]);
    }
}
