//! From an axis file and the page's capping choice to the engine's interventions, and from the
//! probe values that come back to one score per answer. Pure arithmetic (no browser), so it is
//! unit-tested natively.

use engine::axis::dot;
use engine::axis::{AxisFile, CapSetting};
use engine::model::{Interventions, Probe, Steer};

use super::protocol::{WireAxisInfo, WirePersonaMap};

/// The interventions for one answer and how to read their probe columns.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisPlan {
    pub interventions: Interventions,
    /// The score's zero point at the monitor layer (the mean role vector's projection).
    centre: f32,
    /// τ of each capped layer, in the order of the probe columns from `cap_column`.
    cap_taus: Vec<f32>,
    /// PC1 and PC2 of the role vectors' PCA at the monitor layer, minus their value at the
    /// mean role vector (the persona map's origin); `None` without two components.
    persona_origin: Option<[f32; 2]>,
    /// First probe column of the capped layers.
    cap_column: usize,
}

/// Probe columns of every row: the monitor-layer axis first, then (when the file has them)
/// PC1 and PC2 at the monitor layer, then one per capped layer.
const MONITOR: usize = 0;
const PC1: usize = 1;

pub fn axis_info(axis: &AxisFile) -> WireAxisInfo {
    let m = &axis.meta;
    let centre = axis.score_centre(m.monitor_layer);
    let monitor_thresholds = m
        .percentile_levels
        .iter()
        .map(|&level| {
            axis.threshold(m.monitor_layer, level)
                .map_or(f32::NAN, |tau| tau - centre)
        })
        .collect();
    WireAxisInfo {
        model_id: m.model_id.clone(),
        n_layers: m.n_layers,
        monitor_layer: m.monitor_layer,
        default_capping: m.cap,
        threshold_basis: axis.threshold_basis(),
        percentile_levels: m.percentile_levels.clone(),
        monitor_thresholds,
        persona: persona_map(axis),
        other_model: None,
    }
}

/// A sentence when `axis` names another model file than the one whose sha256 is `model_sha256`
/// (files without a recorded sha256 are taken at their word).
pub fn other_model_warning(axis: &AxisFile, model_sha256: &str) -> Option<String> {
    let recorded = axis.meta.model_sha256.trim();
    if recorded.is_empty() || recorded.eq_ignore_ascii_case(model_sha256) {
        return None;
    }
    let short = |h: &str| h.chars().take(12).collect::<String>();
    Some(format!(
        "This axis file was computed for another model file (\"{}\", sha256 {}…), not the one loaded (sha256 {}…): it is used, but its scores and caps may not mean what they say.",
        axis.meta.model_id,
        short(recorded),
        short(model_sha256)
    ))
}

/// Unit PC `k` at layer `layer`, if the file has it.
fn component(axis: &AxisFile, layer: usize, k: usize) -> Option<&[f32]> {
    if k >= axis.n_components {
        return None;
    }
    let h = axis.meta.hidden;
    let start = (layer * axis.n_components + k) * h;
    axis.pca_components.get(start..start + h)
}

/// The role vectors in PC1 × PC2 (stored by the lab, centred on the mean role vector) and the
/// default Assistant's mean placed in the same frame.
fn persona_map(axis: &AxisFile) -> Option<WirePersonaMap> {
    let m = &axis.meta;
    let (k, layer) = (axis.n_components, m.monitor_layer);
    let (pc1, pc2) = (component(axis, layer, 0)?, component(axis, layer, 1)?);
    let coords: Vec<[f32; 2]> = axis
        .role_coords
        .chunks_exact(k)
        .map(|row| [row[0], row[1]])
        .collect();
    if coords.len() != m.roles.len() {
        return None;
    }
    let h = m.hidden;
    let default = axis.default_mean.get(layer * h..(layer + 1) * h)?;
    let centre = axis.role_mean_at(layer);
    let offset: Vec<f32> = default.iter().zip(centre).map(|(d, c)| d - c).collect();
    let explained = axis.pca_explained.get(layer * k..layer * k + 2)?;
    let unit_axis = axis.unit_axis(layer);
    Some(WirePersonaMap {
        roles: m.roles.clone(),
        coords,
        default: [dot(&offset, pc1), dot(&offset, pc2)],
        explained: [explained[0], explained[1]],
        layer,
        n_layers: m.n_layers,
        axis_cos: [dot(&unit_axis, pc1), dot(&unit_axis, pc2)],
    })
}

/// Probe 0 reads the monitor layer; probes 1 and 2 read PC1 and PC2 there (for the persona
/// map). With capping, every layer of the band gets a cap (v = unit(axis[l]), τ = the file's
/// threshold at l: a percentile of all answers, or of role answers in an older file) and a probe on the same direction; the engine applies steer → cap → probe
/// at a layer, so those probes see the post-cap stream. Steering adds α·axis[monitor] at the
/// monitor layer (as in the lab's steering scan).
pub fn plan(
    axis: &AxisFile,
    capping: Option<&CapSetting>,
    steering: Option<f32>,
) -> Result<AxisPlan, String> {
    let m = &axis.meta;
    let mut interventions = Interventions::none();
    interventions.probes.push(Probe {
        layer: m.monitor_layer,
        direction: axis.unit_axis(m.monitor_layer),
    });
    let centre = axis.role_mean_at(m.monitor_layer);
    let persona_origin = match (
        component(axis, m.monitor_layer, 0),
        component(axis, m.monitor_layer, 1),
    ) {
        (Some(pc1), Some(pc2)) => {
            for pc in [pc1, pc2] {
                interventions.probes.push(Probe {
                    layer: m.monitor_layer,
                    direction: pc.to_vec(),
                });
            }
            Some([dot(centre, pc1), dot(centre, pc2)])
        }
        _ => None,
    };
    let cap_column = interventions.probes.len();
    if let Some(alpha) = steering.filter(|a| *a != 0.0) {
        if !alpha.is_finite() {
            return Err(format!("the steering strength {alpha} is not a number"));
        }
        interventions.steers.push(Steer {
            layer: m.monitor_layer,
            direction: axis.axis_at(m.monitor_layer).to_vec(),
            alpha,
        });
    }
    let mut cap_taus = Vec::new();
    if let Some(c) = capping {
        for cap in axis.caps(c)? {
            cap_taus.push(cap.tau);
            interventions.probes.push(Probe {
                layer: cap.layer,
                direction: cap.direction.clone(),
            });
            interventions.caps.push(cap);
        }
    }
    Ok(AxisPlan {
        interventions,
        centre: axis.score_centre(m.monitor_layer),
        cap_taus,
        persona_origin,
        cap_column,
    })
}

impl AxisPlan {
    /// Mean over `rows` (one per answer token) of the monitor probe minus the centre; `None`
    /// when there is no row (an answer that stopped at once).
    pub fn score<'a>(&self, rows: impl IntoIterator<Item = &'a Vec<f32>>) -> Option<f32> {
        let (sum, n) = rows
            .into_iter()
            .filter_map(|row| row.get(MONITOR))
            .fold((0.0f64, 0usize), |(s, n), &v| (s + f64::from(v), n + 1));
        (n > 0).then(|| (sum / n as f64) as f32 - self.centre)
    }

    /// Each row's monitor probe minus the centre: one value per token (the heatmap).
    pub fn token_scores(&self, rows: &[Vec<f32>]) -> Vec<f32> {
        rows.iter()
            .map(|row| row.get(MONITOR).map_or(f32::NAN, |v| v - self.centre))
            .collect()
    }

    /// Mean over `rows` of (PC1, PC2) minus the mean role vector's: the answer on the persona
    /// map. `None` without components or rows.
    pub fn persona<'a>(&self, rows: impl IntoIterator<Item = &'a Vec<f32>>) -> Option<[f32; 2]> {
        let origin = self.persona_origin?;
        let (mut sum, mut n) = ([0.0f64; 2], 0usize);
        for row in rows {
            let (Some(a), Some(b)) = (row.get(PC1), row.get(PC1 + 1)) else {
                continue;
            };
            sum[0] += f64::from(*a);
            sum[1] += f64::from(*b);
            n += 1;
        }
        (n > 0).then(|| {
            [
                (sum[0] / n as f64) as f32 - origin[0],
                (sum[1] / n as f64) as f32 - origin[1],
            ]
        })
    }

    /// Min over `rows` and capped layers of (projection − τ): the cap is a floor, so a correct
    /// forward pass gives ≥ 0 (up to rounding). `None` without capping.
    pub fn cap_margin<'a>(&self, rows: impl IntoIterator<Item = &'a Vec<f32>>) -> Option<f32> {
        if self.cap_taus.is_empty() {
            return None;
        }
        rows.into_iter()
            .flat_map(|row| {
                self.cap_taus
                    .iter()
                    .enumerate()
                    .filter_map(move |(i, tau)| row.get(self.cap_column + i).map(|v| v - tau))
            })
            .reduce(f32::min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::axis::{AxisMeta, FORMAT_VERSION, ThresholdBasis};

    /// A small synthetic axis file (4 layers, width 3) whose numbers are easy to follow.
    fn axis() -> AxisFile {
        let (l, h) = (4, 3);
        let levels = vec![25.0, 50.0];
        AxisFile {
            meta: AxisMeta {
                format_version: FORMAT_VERSION,
                model_id: "tiny".into(),
                model_sha256: "00".repeat(32),
                n_layers: l,
                hidden: h,
                monitor_layer: 2,
                cap: CapSetting {
                    first_layer: 1,
                    last_layer: 3,
                    percentile: 25.0,
                },
                percentile_levels: levels.clone(),
                roles: vec![],
                validation: serde_json::Value::Null,
                build: serde_json::Value::Null,
            },
            // Axis at layer l points along e_(l mod 3), scaled by 2 (unit() must normalise it).
            axis: (0..l * h)
                .map(|i| if i % h == (i / h) % h { 2.0 } else { 0.0 })
                .collect(),
            default_mean: vec![0.0; l * h],
            // The role mean sits at 0.5 along every axis: centre = 0.5 at every layer.
            role_mean: vec![0.5; l * h],
            default_percentiles: vec![0.0; l * levels.len()],
            role_percentiles: vec![-1.0; l * levels.len()],
            // τ(layer, 25) = layer + 0.25, τ(layer, 50) = layer + 0.5.
            all_percentiles: Some(
                (0..l)
                    .flat_map(|layer| [layer as f32 + 0.25, layer as f32 + 0.5])
                    .collect(),
            ),
            n_components: 1,
            pca_components: vec![0.0; l * h],
            pca_explained: vec![0.0; l],
            role_coords: vec![],
        }
    }

    #[test]
    fn uncapped_plan_has_one_probe_at_the_monitor_layer_and_no_caps() {
        let p = plan(&axis(), None, None).expect("plan");
        assert_eq!(p.interventions.probes.len(), 1);
        assert_eq!(p.interventions.probes[0].layer, 2);
        assert_eq!(p.interventions.probes[0].direction, vec![0.0, 0.0, 1.0]);
        assert!(p.interventions.caps.is_empty());
        assert!(p.cap_taus.is_empty());
        assert_eq!(p.cap_margin([&vec![1.0]]), None);
    }

    #[test]
    fn capped_plan_caps_and_probes_every_layer_of_the_band() {
        let c = CapSetting {
            first_layer: 1,
            last_layer: 3,
            percentile: 50.0,
        };
        let p = plan(&axis(), Some(&c), None).expect("plan");
        let layers: Vec<usize> = p.interventions.caps.iter().map(|c| c.layer).collect();
        assert_eq!(layers, vec![1, 2, 3]);
        let taus: Vec<f32> = p.interventions.caps.iter().map(|c| c.tau).collect();
        assert_eq!(taus, vec![1.5, 2.5, 3.5]);
        assert_eq!(p.interventions.caps[0].direction, vec![0.0, 1.0, 0.0]);
        // Monitor probe first, then one per capped layer.
        let probe_layers: Vec<usize> = p.interventions.probes.iter().map(|p| p.layer).collect();
        assert_eq!(probe_layers, vec![2, 1, 2, 3]);
    }

    #[test]
    fn bad_capping_requests_are_refused_with_a_reason() {
        let outside = CapSetting {
            first_layer: 2,
            last_layer: 4,
            percentile: 25.0,
        };
        assert!(
            plan(&axis(), Some(&outside), None)
                .unwrap_err()
                .contains("0–3")
        );
        let reversed = CapSetting {
            first_layer: 3,
            last_layer: 1,
            percentile: 25.0,
        };
        assert!(plan(&axis(), Some(&reversed), None).is_err());
        let level = CapSetting {
            first_layer: 1,
            last_layer: 1,
            percentile: 90.0,
        };
        assert!(
            plan(&axis(), Some(&level), None)
                .unwrap_err()
                .contains("90")
        );
    }

    #[test]
    fn score_is_the_centred_mean_of_the_monitor_probe() {
        let p = plan(&axis(), None, None).expect("plan");
        let rows = [vec![1.0], vec![2.0], vec![4.5]];
        // mean 2.5, centre 0.5
        assert_eq!(p.score(&rows), Some(2.0));
        assert_eq!(p.score(&[] as &[Vec<f32>]), None);
    }

    #[test]
    fn cap_margin_is_the_smallest_distance_above_tau() {
        let c = CapSetting {
            first_layer: 1,
            last_layer: 2,
            percentile: 25.0,
        };
        let p = plan(&axis(), Some(&c), None).expect("plan");
        // τ = 1.25 (layer 1) and 2.25 (layer 2); columns: monitor, layer 1, layer 2.
        let rows = [vec![0.0, 1.25, 3.0], vec![0.0, 2.0, 2.5]];
        assert_eq!(p.cap_margin(&rows), Some(0.0));
        let below = [vec![0.0, 1.0, 3.0]];
        assert_eq!(p.cap_margin(&below), Some(-0.25));
    }

    #[test]
    fn an_axis_for_another_model_file_is_named_as_such() {
        let axis = axis();
        let own = axis.meta.model_sha256.clone();
        assert_eq!(other_model_warning(&axis, &own), None);
        assert_eq!(other_model_warning(&axis, &own.to_uppercase()), None);
        let warning = other_model_warning(&axis, &"ab".repeat(32)).expect("a warning");
        assert!(warning.contains("another model file"), "{warning}");
        let mut unrecorded = axis.clone();
        unrecorded.meta.model_sha256 = String::new();
        assert_eq!(other_model_warning(&unrecorded, &"ab".repeat(32)), None);
    }

    #[test]
    fn axis_info_puts_thresholds_on_the_score_scale() {
        let info = axis_info(&axis());
        assert_eq!(info.persona, None, "one component: no persona map");
        assert_eq!(info.monitor_layer, 2);
        assert_eq!(info.n_layers, 4);
        assert_eq!(info.percentile_levels, vec![25.0, 50.0]);
        // τ(2, 25) − centre = 2.25 − 0.5; τ(2, 50) − 0.5 = 2.0.
        assert_eq!(info.monitor_thresholds, vec![1.75, 2.0]);
        assert_eq!(info.default_capping.first_layer, 1);
        assert_eq!(info.threshold_basis, ThresholdBasis::AllAnswers);
        // An older file has no all-answer table: its floors are the role answers' (−1 here),
        // and the page is told so.
        let mut old = axis();
        old.meta.format_version = 1;
        old.all_percentiles = None;
        let info = axis_info(&old);
        assert_eq!(info.threshold_basis, ThresholdBasis::RoleAnswers);
        assert_eq!(info.monitor_thresholds, vec![-1.5, -1.5]);
        let capped = plan(&old, Some(&old.meta.cap), None).expect("plan");
        assert!(capped.interventions.caps.iter().all(|c| c.tau == -1.0));
    }

    /// The test axis with two PCA components at every layer (PC1 = e0, PC2 = e1) and three
    /// roles; the default mean sits at (1, 2, 0).
    fn axis_with_pca() -> AxisFile {
        let mut a = axis();
        let (l, h, k) = (4, 3, 2);
        a.n_components = k;
        a.pca_components = (0..l)
            .flat_map(|_| [1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
            .collect();
        a.pca_explained = (0..l).flat_map(|_| [0.6, 0.3]).collect();
        a.meta.roles = vec!["pirate".into(), "ghost".into(), "poet".into()];
        a.role_coords = vec![1.0, 0.0, -1.0, 0.5, 0.0, -0.5];
        a.default_mean = (0..l).flat_map(|_| [1.0, 2.0, 0.0]).collect();
        assert_eq!(a.pca_components.len(), l * k * h);
        a
    }

    #[test]
    fn the_persona_map_places_roles_and_the_default_in_the_pca_frame() {
        let info = axis_info(&axis_with_pca());
        let map = info.persona.expect("two components");
        assert_eq!(map.roles.len(), 3);
        assert_eq!(map.coords, vec![[1.0, 0.0], [-1.0, 0.5], [0.0, -0.5]]);
        // (default − role mean) = (0.5, 1.5, −0.5) on e0, e1.
        assert_eq!(map.default, [0.5, 1.5]);
        assert_eq!(map.explained, [0.6, 0.3]);
        assert_eq!((map.layer, map.n_layers), (2, 4));
        // The axis at layer 2 is e2, orthogonal to both components: none of it is in the plane.
        assert_eq!(map.axis_cos, [0.0, 0.0]);
        let mut tilted = axis_with_pca();
        tilted.axis[6..9].copy_from_slice(&[3.0, 4.0, 0.0]);
        let map = axis_info(&tilted).persona.expect("two components");
        assert_eq!(map.axis_cos, [0.6, 0.8]);
    }

    #[test]
    fn persona_probes_sit_between_the_monitor_and_the_caps() {
        let c = CapSetting {
            first_layer: 1,
            last_layer: 1,
            percentile: 25.0,
        };
        let p = plan(&axis_with_pca(), Some(&c), None).expect("plan");
        let layers: Vec<usize> = p.interventions.probes.iter().map(|p| p.layer).collect();
        assert_eq!(layers, vec![2, 2, 2, 1], "monitor, PC1, PC2, capped layer");
        // Rows: monitor, PC1, PC2, layer 1 (τ = 1.25).
        let rows = [vec![0.0, 1.5, 0.5, 2.0], vec![0.0, 2.5, 1.5, 1.5]];
        assert_eq!(p.cap_margin(&rows), Some(0.25));
        // Mean (2.0, 1.0) minus the role mean's (0.5, 0.5).
        assert_eq!(p.persona(&rows), Some([1.5, 0.5]));
        assert_eq!(p.persona(&[] as &[Vec<f32>]), None);
        let flat = plan(&axis(), None, None).expect("plan");
        assert_eq!(flat.persona(&rows), None, "no components, no map");
    }

    #[test]
    fn steering_adds_alpha_times_the_raw_axis_at_the_monitor_layer() {
        let p = plan(&axis(), None, Some(-1.5)).expect("plan");
        assert_eq!(p.interventions.steers.len(), 1);
        let s = &p.interventions.steers[0];
        assert_eq!((s.layer, s.alpha), (2, -1.5));
        assert_eq!(
            s.direction,
            vec![0.0, 0.0, 2.0],
            "the axis as stored, not unit"
        );
        assert!(
            plan(&axis(), None, Some(0.0))
                .expect("plan")
                .interventions
                .steers
                .is_empty()
        );
        assert!(plan(&axis(), None, Some(f32::NAN)).is_err());
    }

    #[test]
    fn token_scores_are_each_rows_monitor_probe_minus_the_centre() {
        let p = plan(&axis(), None, None).expect("plan");
        assert_eq!(p.token_scores(&[vec![1.0], vec![3.5]]), vec![0.5, 3.0]);
    }
}
