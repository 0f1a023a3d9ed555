//! An axis acting on a forward pass: the cap a person or the lab chooses (a [`CapSetting`],
//! declared with the axis file's metadata, whose default cap is one; the page's
//! [`CappingChoice`]), what an axis file offers to choose from ([`CapOffer`]), and the
//! one planner from an axis file, a cap and a steering strength to the model's interventions and
//! probe columns ([`plan`]), with the readers that turn those columns back into scores
//! ([`AxisPlan`]). The page's worker, the in-browser axis build and the lab all plan here.
//!
//! Every answer gets probe 0 at the monitor layer (its score) and, when the file has two PCA
//! components, probes 1 and 2 along PC1 and PC2 there (the persona map). With a cap, every layer
//! of the band gets a cap (v = unit(axis[l]), τ = the file's floor at l) and a probe on the same
//! direction; the model applies steer → cap → probe at a layer, so those probes see the
//! post-cap stream. Steering adds α·axis[monitor] at the monitor layer.

use serde::{Deserialize, Serialize};

use super::file::{AxisFile, CapSetting};
use super::threshold::{PAPER_PERCENTILES, Percentile, ThresholdBasis, describe_floor};
#[cfg(feature = "model")]
use crate::model::{Cap, Interventions, Probe, Steer};

/// What an axis file offers for capping, without its vectors: what the page shows and checks
/// a choice against ([`AxisFile::cap_offer`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapOffer {
    pub n_layers: usize,
    /// The file's default cap (chosen by the lab's sweep, or the paper's recipe).
    pub default: CapSetting,
    /// Which answers the floors are percentiles of: all answers (the paper's convention), or
    /// role answers only in an older (format 1) file.
    pub basis: ThresholdBasis,
    /// The stored levels, e.g. the 1st … 99th percentile.
    pub levels: Vec<Percentile>,
    /// For each of `levels`: τ at the monitor layer minus the score's centre, i.e. where that
    /// floor sits on the chart's score scale.
    pub monitor_floors: Vec<f32>,
}

impl CapOffer {
    /// The floors a person is offered: the paper's grid (the 25th, 50th, 75th and 99th
    /// percentile of all answers) where the file follows the paper; every stored level of an
    /// older file, whose percentiles are of role answers and match none of the paper's floors.
    pub fn offered_levels(&self) -> Vec<Percentile> {
        match self.basis {
            ThresholdBasis::AllAnswers => PAPER_PERCENTILES
                .into_iter()
                .filter(|p| self.levels.contains(p))
                .collect(),
            ThresholdBasis::RoleAnswers => self.levels.clone(),
        }
    }

    /// Whether `band` can be applied: inside the model, and at an offered floor or the file's
    /// own default.
    pub fn fits(&self, band: &CapSetting) -> bool {
        band.within(self.n_layers)
            && (self.offered_levels().contains(&band.percentile)
                || band.percentile == self.default.percentile)
    }

    /// "75th percentile of all answers — where typical Assistant answers sit".
    pub fn describe(&self, level: Percentile) -> String {
        describe_floor(self.basis, level)
    }

    /// Floor `level` at the monitor layer on the score scale; `None` for a level the file does
    /// not have.
    pub fn monitor_floor(&self, level: Percentile) -> Option<f32> {
        let i = self.levels.iter().position(|&l| l == level)?;
        self.monitor_floors
            .get(i)
            .copied()
            .filter(|t| t.is_finite())
    }
}

/// The page's capping choice: on or off, and the band it keeps across axis files while it fits
/// them. Stored with the page's preferences and in share links.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CappingChoice {
    pub enabled: bool,
    /// `None` until an axis file has supplied defaults.
    pub band: Option<CapSetting>,
    /// What the band's percentile is a percentile of. Choices stored before the page followed
    /// the paper have none: they meant role answers, so "25" from then is not "25" now.
    #[serde(default)]
    pub basis: Option<ThresholdBasis>,
}

impl Default for CappingChoice {
    /// On: the side-by-side comparison is the point of the page (it needs the axis file).
    fn default() -> Self {
        CappingChoice {
            enabled: true,
            band: None,
            basis: None,
        }
    }
}

impl CappingChoice {
    /// Keeps a band that fits `offer` and was chosen under its threshold convention, else takes
    /// the file's default.
    pub fn fit(&mut self, offer: &CapOffer) {
        let same_basis = self.basis.unwrap_or(ThresholdBasis::RoleAnswers) == offer.basis;
        if !(same_basis && self.band.is_some_and(|b| offer.fits(&b))) {
            self.band = Some(offer.default);
        }
        self.basis = Some(offer.basis);
    }

    /// What the next capped answer should use; `None` when off or without a (fitting) axis.
    pub fn request(&self, offer: Option<&CapOffer>) -> Option<CapSetting> {
        let offer = offer?;
        self.band.filter(|b| self.enabled && offer.fits(b))
    }
}

impl AxisFile {
    /// What this file offers for capping ([`CapOffer`]).
    pub fn cap_offer(&self) -> CapOffer {
        let m = &self.meta;
        let centre = self.score_centre(m.monitor_layer);
        CapOffer {
            n_layers: m.n_layers,
            default: m.cap,
            basis: self.threshold_basis(),
            levels: m.percentile_levels.clone(),
            monitor_floors: self
                .threshold_row(m.monitor_layer)
                .unwrap_or_default()
                .iter()
                .map(|tau| tau - centre)
                .collect(),
        }
    }
}

#[cfg(feature = "model")]
impl AxisFile {
    /// The caps of `setting` for this file ([`plan_caps`] over its unit axis and floors).
    pub fn caps(&self, setting: &CapSetting) -> Result<Vec<Cap>, String> {
        let m = &self.meta;
        plan_caps(
            setting,
            m.n_layers,
            &m.percentile_levels,
            |layer| self.unit_axis(layer),
            |layer| self.threshold_row(layer).map(<[f32]>::to_vec),
        )
    }
}

/// The one planner from a cap setting to caps: every layer of the band held at or above its
/// floor along the unit axis. Used for an axis file ([`AxisFile::caps`]) and by the lab's build
/// before its file exists (from its statistics). `thresholds(layer)` is that layer's row of
/// floors, one per level of `levels`. The error says what does not fit: a band outside the
/// model, or a level the table lacks.
#[cfg(feature = "model")]
pub fn plan_caps(
    setting: &CapSetting,
    n_layers: usize,
    levels: &[Percentile],
    unit_axis: impl Fn(usize) -> Vec<f32>,
    thresholds: impl Fn(usize) -> Option<Vec<f32>>,
) -> Result<Vec<Cap>, String> {
    if !setting.within(n_layers) {
        return Err(format!(
            "the cap band {}–{} is not within the model's layers 0–{}",
            setting.first_layer,
            setting.last_layer,
            n_layers.saturating_sub(1)
        ));
    }
    let level = levels
        .iter()
        .position(|&l| l == setting.percentile)
        .ok_or_else(|| {
            let have: Vec<String> = levels.iter().map(Percentile::to_string).collect();
            format!(
                "the axis file has no {}th percentile (it has {})",
                setting.percentile,
                have.join(", ")
            )
        })?;
    (setting.first_layer..=setting.last_layer)
        .map(|layer| {
            let tau = thresholds(layer)
                .and_then(|row| row.get(level).copied())
                .ok_or_else(|| format!("no thresholds for layer {layer}"))?;
            Ok(Cap {
                layer,
                direction: unit_axis(layer),
                tau,
            })
        })
        .collect()
}

/// The interventions for one answer and how to read their probe columns.
#[cfg(feature = "model")]
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
#[cfg(feature = "model")]
const MONITOR: usize = 0;
#[cfg(feature = "model")]
const PC1: usize = 1;

/// The interventions and probe columns for one answer (see the module's text for the order).
#[cfg(feature = "model")]
pub fn plan(
    axis: &AxisFile,
    capping: Option<&CapSetting>,
    steering: Option<f32>,
) -> Result<AxisPlan, String> {
    use super::math::dot;
    let m = &axis.meta;
    let mut interventions = Interventions::none();
    interventions.probes.push(Probe {
        layer: m.monitor_layer,
        direction: axis.unit_axis(m.monitor_layer),
    });
    let centre = axis.role_mean_at(m.monitor_layer);
    let persona_origin = match (
        axis.pca_component(m.monitor_layer, 0),
        axis.pca_component(m.monitor_layer, 1),
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

#[cfg(feature = "model")]
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

#[cfg(all(test, feature = "model"))]
mod planner_tests {
    use super::*;
    use crate::axis::test_axis::{small as axis, with_pca as axis_with_pca};

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
            percentile: Percentile::whole(50),
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
            percentile: Percentile::whole(25),
        };
        assert!(
            plan(&axis(), Some(&outside), None)
                .unwrap_err()
                .contains("0–3")
        );
        let reversed = CapSetting {
            first_layer: 3,
            last_layer: 1,
            percentile: Percentile::whole(25),
        };
        assert!(plan(&axis(), Some(&reversed), None).is_err());
        let level = CapSetting {
            first_layer: 1,
            last_layer: 1,
            percentile: Percentile::whole(90),
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
            percentile: Percentile::whole(25),
        };
        let p = plan(&axis(), Some(&c), None).expect("plan");
        // τ = 1.25 (layer 1) and 2.25 (layer 2); columns: monitor, layer 1, layer 2.
        let rows = [vec![0.0, 1.25, 3.0], vec![0.0, 2.0, 2.5]];
        assert_eq!(p.cap_margin(&rows), Some(0.0));
        let below = [vec![0.0, 1.0, 3.0]];
        assert_eq!(p.cap_margin(&below), Some(-0.25));
    }

    #[test]
    fn persona_probes_sit_between_the_monitor_and_the_caps() {
        let c = CapSetting {
            first_layer: 1,
            last_layer: 1,
            percentile: Percentile::whole(25),
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

    #[test]
    fn an_older_file_caps_at_its_role_answers_floors() {
        let mut old = axis();
        old.meta.format_version = 1;
        old.all_percentiles = None;
        let capped = plan(&old, Some(&old.meta.cap), None).expect("plan");
        assert!(capped.interventions.caps.iter().all(|c| c.tau == -1.0));
    }

    #[test]
    fn the_planner_floors_each_layer_of_the_band_and_says_what_does_not_fit() {
        let file = axis();
        let setting = CapSetting {
            first_layer: 1,
            last_layer: 2,
            percentile: Percentile::whole(50),
        };
        let caps = file.caps(&setting).expect("fits");
        assert_eq!(caps.iter().map(|c| c.layer).collect::<Vec<_>>(), [1, 2]);
        for c in &caps {
            assert_eq!(Some(c.tau), file.threshold(c.layer, Percentile::whole(50)));
            assert_eq!(c.direction, file.unit_axis(c.layer));
        }
        let missing = CapSetting {
            percentile: Percentile::whole(42),
            ..setting
        };
        let err = file.caps(&missing).unwrap_err();
        assert!(err.contains("no 42th percentile (it has 25, 50)"), "{err}");
        // A table without the layer's row (the lab's statistics cut short) is an error too.
        let levels = &file.meta.percentile_levels;
        let short = plan_caps(&setting, 4, levels, |_| vec![0.0; 3], |_| None);
        assert!(short.unwrap_err().contains("no thresholds for layer 1"));
    }
}

#[cfg(test)]
mod choice_tests {
    use super::*;

    fn offer() -> CapOffer {
        CapOffer {
            n_layers: 30,
            default: CapSetting {
                first_layer: 12,
                last_layer: 20,
                percentile: Percentile::whole(25),
            },
            basis: ThresholdBasis::AllAnswers,
            levels: [10, 25, 50].map(Percentile::whole).to_vec(),
            monitor_floors: vec![-0.5, 0.25, f32::NAN],
        }
    }

    fn band(first_layer: usize, last_layer: usize, percentile: u16) -> CapSetting {
        CapSetting {
            first_layer,
            last_layer,
            percentile: Percentile::whole(percentile),
        }
    }

    #[test]
    fn defaults_come_from_the_axis_and_a_fitting_choice_is_kept() {
        let mut c = CappingChoice::default();
        assert_eq!(c.request(Some(&offer())), None, "no band before the axis");
        c.fit(&offer());
        assert_eq!(c.band, Some(offer().default));
        let mine = band(3, 29, 50);
        c.band = Some(mine);
        c.fit(&offer());
        assert_eq!(c.request(Some(&offer())), Some(mine));
        assert_eq!(c.request(None), None);
        c.enabled = false;
        assert_eq!(c.request(Some(&offer())), None);
    }

    #[test]
    fn a_choice_that_does_not_fit_the_axis_falls_back_to_defaults() {
        for bad in [band(3, 30, 25), band(5, 4, 25), band(3, 4, 33)] {
            let mut c = CappingChoice {
                enabled: true,
                band: Some(bad),
                basis: Some(ThresholdBasis::AllAnswers),
            };
            c.fit(&offer());
            assert_eq!(c.band, Some(offer().default), "{bad:?}");
        }
    }

    #[test]
    fn a_choice_made_under_the_other_convention_is_replaced_by_the_defaults() {
        // Stored before the page followed the paper: no basis, so role answers' 50th.
        let mine = band(3, 29, 50);
        let mut old = CappingChoice {
            enabled: true,
            band: Some(mine),
            basis: None,
        };
        old.fit(&offer());
        assert_eq!(old.band, Some(offer().default));
        assert_eq!(old.basis, Some(ThresholdBasis::AllAnswers));
        // The same choice on an older axis file (role answers) is kept.
        let mut legacy = offer();
        legacy.basis = ThresholdBasis::RoleAnswers;
        let mut old = CappingChoice {
            enabled: true,
            band: Some(mine),
            basis: None,
        };
        old.fit(&legacy);
        assert_eq!(old.band, Some(mine));
    }

    #[test]
    fn a_stored_choice_reads_as_before() {
        // As the page stored it (and share links carry it) when percentiles were floats.
        let json = r#"{"enabled":true,"band":{"first_layer":14,"last_layer":21,"percentile":99.0},"basis":"all_answers"}"#;
        let c: CappingChoice = serde_json::from_str(json).expect("parse");
        assert_eq!(c.band, Some(band(14, 21, 99)));
        assert_eq!(serde_json::to_string(&c).expect("json"), json);
    }

    #[test]
    fn the_page_offers_the_papers_floors_or_an_old_files_own_levels() {
        let mut a = offer();
        a.levels = [1, 5, 10, 25, 50, 75, 90, 95, 99]
            .map(Percentile::whole)
            .to_vec();
        assert_eq!(
            a.offered_levels(),
            [25, 50, 75, 99].map(Percentile::whole).to_vec()
        );
        assert!(
            a.describe(Percentile::whole(75))
                .contains("where typical Assistant answers sit")
        );
        // A 10th percentile is no paper floor: a stored choice of it is replaced.
        let ten = band(3, 4, 10);
        assert!(!a.fits(&ten));
        a.basis = ThresholdBasis::RoleAnswers;
        assert_eq!(a.offered_levels().len(), 9);
        assert!(a.fits(&ten));
        assert!(a.describe(Percentile::whole(25)).contains("role answers"));
    }

    #[test]
    fn floors_are_looked_up_by_level_and_band_membership_is_inclusive() {
        assert_eq!(offer().monitor_floor(Percentile::whole(25)), Some(0.25));
        assert_eq!(
            offer().monitor_floor(Percentile::whole(50)),
            None,
            "NaN is no line"
        );
        assert_eq!(offer().monitor_floor(Percentile::whole(99)), None);
        assert!(band(15, 15, 25).contains(15));
        assert!(band(10, 20, 25).contains(15));
        assert!(!band(16, 29, 25).contains(15));
    }

    #[test]
    fn an_axis_file_offers_its_floors_on_the_score_scale() {
        let info = crate::axis::test_axis::small().cap_offer();
        assert_eq!(info.n_layers, 4);
        assert_eq!(info.levels, [25, 50].map(Percentile::whole).to_vec());
        // τ(2, 25) − centre = 2.25 − 0.5; τ(2, 50) − 0.5 = 2.0.
        assert_eq!(info.monitor_floors, vec![1.75, 2.0]);
        assert_eq!(info.default.first_layer, 1);
        assert_eq!(info.basis, ThresholdBasis::AllAnswers);
        // An older file has no all-answer table: its floors are the role answers' (−1 here),
        // and the page is told so.
        let mut old = crate::axis::test_axis::small();
        old.meta.format_version = 1;
        old.all_percentiles = None;
        let info = old.cap_offer();
        assert_eq!(info.basis, ThresholdBasis::RoleAnswers);
        assert_eq!(info.monitor_floors, vec![-1.5, -1.5]);
    }
}
