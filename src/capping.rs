//! The page's capping choice (on/off, layer band, percentile) and how it meets the axis file:
//! defaults come from the file's metadata, and a stored choice that does not fit the loaded
//! axis (other layer count, a floor the file does not offer, or a percentile chosen under the
//! other threshold convention) falls back to those defaults.

use engine::axis::threshold::{PAPER_PERCENTILES, describe_floor, level_index};
use engine::axis::{CapSetting, ThresholdBasis};
use serde::{Deserialize, Serialize};

use crate::worker::protocol::WireAxisInfo;

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
    /// Keeps a band that fits `axis` and was chosen under its threshold convention, else takes
    /// the file's defaults.
    pub fn fit(&mut self, axis: &WireAxisInfo) {
        let same_basis = self.basis.unwrap_or(ThresholdBasis::RoleAnswers) == axis.threshold_basis;
        if !(same_basis && self.band.is_some_and(|b| fits(&b, axis))) {
            self.band = Some(axis.default_capping);
        }
        self.basis = Some(axis.threshold_basis);
    }

    /// What the next capped answer should use; `None` when off or without a (fitting) axis.
    pub fn request(&self, axis: Option<&WireAxisInfo>) -> Option<CapSetting> {
        let axis = axis?;
        self.band.filter(|b| self.enabled && fits(b, axis))
    }
}

pub fn fits(band: &CapSetting, axis: &WireAxisInfo) -> bool {
    band.first_layer <= band.last_layer
        && band.last_layer < axis.n_layers
        && (level_index(&offered_levels(axis), band.percentile).is_some()
            || level_index(&[axis.default_capping.percentile], band.percentile).is_some())
}

/// The floors the page offers: the paper's grid (the 25th, 50th, 75th and 99th percentile of
/// all answers) where the file follows the paper; every stored level of an older file, whose
/// percentiles are of role answers and match none of the paper's floors.
pub fn offered_levels(axis: &WireAxisInfo) -> Vec<f32> {
    match axis.threshold_basis {
        ThresholdBasis::AllAnswers => PAPER_PERCENTILES
            .iter()
            .copied()
            .filter(|&p| level_index(&axis.percentile_levels, p).is_some())
            .collect(),
        ThresholdBasis::RoleAnswers => axis.percentile_levels.clone(),
    }
}

/// "75th percentile of all answers — where typical Assistant answers sit".
pub fn floor_name(axis: &WireAxisInfo, percentile: f32) -> String {
    describe_floor(axis.threshold_basis, percentile)
}

/// The cap's threshold at the monitor layer on the chart's (centred) score scale.
pub fn monitor_threshold(axis: &WireAxisInfo, percentile: f32) -> Option<f32> {
    let i = level_index(&axis.percentile_levels, percentile)?;
    axis.monitor_thresholds
        .get(i)
        .copied()
        .filter(|t| t.is_finite())
}

/// The threshold line is a floor on the monitor layer's projection only if that layer is
/// capped; otherwise the cap acts there only through the layers before it.
pub fn monitor_in_band(axis: &WireAxisInfo, band: &CapSetting) -> bool {
    (band.first_layer..=band.last_layer).contains(&axis.monitor_layer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis() -> WireAxisInfo {
        WireAxisInfo {
            model_id: "m".into(),
            n_layers: 30,
            monitor_layer: 15,
            default_capping: CapSetting {
                first_layer: 12,
                last_layer: 20,
                percentile: 25.0,
            },
            threshold_basis: ThresholdBasis::AllAnswers,
            percentile_levels: vec![10.0, 25.0, 50.0],
            monitor_thresholds: vec![-0.5, 0.25, f32::NAN],
            persona: None,
            other_model: None,
        }
    }

    #[test]
    fn defaults_come_from_the_axis_and_a_fitting_choice_is_kept() {
        let mut c = CappingChoice::default();
        assert_eq!(c.request(Some(&axis())), None, "no band before the axis");
        c.fit(&axis());
        assert_eq!(c.band, Some(axis().default_capping));
        let mine = CapSetting {
            first_layer: 3,
            last_layer: 29,
            percentile: 50.0,
        };
        c.band = Some(mine);
        c.fit(&axis());
        assert_eq!(c.request(Some(&axis())), Some(mine));
        assert_eq!(c.request(None), None);
        c.enabled = false;
        assert_eq!(c.request(Some(&axis())), None);
    }

    #[test]
    fn a_choice_that_does_not_fit_the_axis_falls_back_to_defaults() {
        for bad in [
            CapSetting {
                first_layer: 3,
                last_layer: 30,
                percentile: 25.0,
            },
            CapSetting {
                first_layer: 5,
                last_layer: 4,
                percentile: 25.0,
            },
            CapSetting {
                first_layer: 3,
                last_layer: 4,
                percentile: 33.0,
            },
        ] {
            let mut c = CappingChoice {
                enabled: true,
                band: Some(bad),
                basis: Some(ThresholdBasis::AllAnswers),
            };
            c.fit(&axis());
            assert_eq!(c.band, Some(axis().default_capping), "{bad:?}");
        }
    }

    #[test]
    fn a_choice_made_under_the_other_convention_is_replaced_by_the_defaults() {
        // Stored before the page followed the paper: no basis, so role answers' 50th.
        let mine = CapSetting {
            first_layer: 3,
            last_layer: 29,
            percentile: 50.0,
        };
        let mut old = CappingChoice {
            enabled: true,
            band: Some(mine),
            basis: None,
        };
        old.fit(&axis());
        assert_eq!(old.band, Some(axis().default_capping));
        assert_eq!(old.basis, Some(ThresholdBasis::AllAnswers));
        // The same choice on an older axis file (role answers) is kept.
        let mut legacy_axis = axis();
        legacy_axis.threshold_basis = ThresholdBasis::RoleAnswers;
        let mut old = CappingChoice {
            enabled: true,
            band: Some(mine),
            basis: None,
        };
        old.fit(&legacy_axis);
        assert_eq!(old.band, Some(mine));
    }

    #[test]
    fn the_page_offers_the_papers_floors_or_an_old_files_own_levels() {
        let mut a = axis();
        a.percentile_levels = vec![1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0];
        assert_eq!(offered_levels(&a), vec![25.0, 50.0, 75.0, 99.0]);
        assert!(floor_name(&a, 75.0).contains("where typical Assistant answers sit"));
        // A 10th percentile is no paper floor: a stored choice of it is replaced.
        let ten = CapSetting {
            first_layer: 3,
            last_layer: 4,
            percentile: 10.0,
        };
        assert!(!fits(&ten, &a));
        a.threshold_basis = ThresholdBasis::RoleAnswers;
        assert_eq!(offered_levels(&a).len(), 9);
        assert!(fits(&ten, &a));
        assert!(floor_name(&a, 25.0).contains("role answers"));
    }

    #[test]
    fn threshold_is_looked_up_by_level_and_band_membership_is_inclusive() {
        assert_eq!(monitor_threshold(&axis(), 25.0), Some(0.25));
        assert_eq!(monitor_threshold(&axis(), 50.0), None, "NaN is no line");
        assert_eq!(monitor_threshold(&axis(), 99.0), None);
        let band = |a, b| CapSetting {
            first_layer: a,
            last_layer: b,
            percentile: 25.0,
        };
        assert!(monitor_in_band(&axis(), &band(15, 15)));
        assert!(monitor_in_band(&axis(), &band(10, 20)));
        assert!(!monitor_in_band(&axis(), &band(16, 29)));
    }
}
