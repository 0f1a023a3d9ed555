//! The page's capping choice (on/off, layer band, percentile) and how it meets the axis file:
//! defaults come from the file's metadata, and a stored choice that does not fit the loaded
//! axis (other layer count, missing percentile) falls back to those defaults.

use serde::{Deserialize, Serialize};

use crate::worker::protocol::{WireAxisInfo, WireCapping};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CappingChoice {
    pub enabled: bool,
    /// `None` until an axis file has supplied defaults.
    pub band: Option<WireCapping>,
}

impl Default for CappingChoice {
    /// On: the side-by-side comparison is the point of the page (it needs the axis file).
    fn default() -> Self {
        CappingChoice {
            enabled: true,
            band: None,
        }
    }
}

impl CappingChoice {
    /// Keeps a band that fits `axis`, else takes the file's defaults.
    pub fn fit(&mut self, axis: &WireAxisInfo) {
        if !self.band.is_some_and(|b| fits(&b, axis)) {
            self.band = Some(axis.default_capping);
        }
    }

    /// What the next capped answer should use; `None` when off or without a (fitting) axis.
    pub fn request(&self, axis: Option<&WireAxisInfo>) -> Option<WireCapping> {
        let axis = axis?;
        self.band.filter(|b| self.enabled && fits(b, axis))
    }
}

pub fn fits(band: &WireCapping, axis: &WireAxisInfo) -> bool {
    band.first_layer <= band.last_layer
        && band.last_layer < axis.n_layers
        && axis.percentile_levels.contains(&band.percentile)
}

/// The cap's threshold at the monitor layer on the chart's (centred) score scale.
pub fn monitor_threshold(axis: &WireAxisInfo, percentile: f32) -> Option<f32> {
    let i = axis
        .percentile_levels
        .iter()
        .position(|&p| p == percentile)?;
    axis.monitor_thresholds
        .get(i)
        .copied()
        .filter(|t| t.is_finite())
}

/// The threshold line is a floor on the monitor layer's projection only if that layer is
/// capped; otherwise the cap acts there only through the layers before it.
pub fn monitor_in_band(axis: &WireAxisInfo, band: &WireCapping) -> bool {
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
            default_capping: WireCapping {
                first_layer: 12,
                last_layer: 20,
                percentile: 25.0,
            },
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
        let mine = WireCapping {
            first_layer: 3,
            last_layer: 29,
            percentile: 10.0,
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
            WireCapping {
                first_layer: 3,
                last_layer: 30,
                percentile: 25.0,
            },
            WireCapping {
                first_layer: 5,
                last_layer: 4,
                percentile: 25.0,
            },
            WireCapping {
                first_layer: 3,
                last_layer: 4,
                percentile: 33.0,
            },
        ] {
            let mut c = CappingChoice {
                enabled: true,
                band: Some(bad),
            };
            c.fit(&axis());
            assert_eq!(c.band, Some(axis().default_capping), "{bad:?}");
        }
    }

    #[test]
    fn threshold_is_looked_up_by_level_and_band_membership_is_inclusive() {
        assert_eq!(monitor_threshold(&axis(), 25.0), Some(0.25));
        assert_eq!(monitor_threshold(&axis(), 50.0), None, "NaN is no line");
        assert_eq!(monitor_threshold(&axis(), 99.0), None);
        let band = |a, b| WireCapping {
            first_layer: a,
            last_layer: b,
            percentile: 25.0,
        };
        assert!(monitor_in_band(&axis(), &band(15, 15)));
        assert!(monitor_in_band(&axis(), &band(10, 20)));
        assert!(!monitor_in_band(&axis(), &band(16, 29)));
    }
}
