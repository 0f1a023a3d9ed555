//! Which cap settings a sweep tries: bands of consecutive layers × the paper's floors.

use anyhow::{Context, Result, bail};
use engine::axis::CapSetting;
use engine::axis::Percentile;
use engine::axis::threshold::PAPER_PERCENTILES;

/// The build's grid: bands of a fifth of the depth starting at 40 % (the middle), 65 % and 75 %
/// of it (the paper's best bands sit at 70–90 % depth) × the paper's floors. The small one: the
/// paper's default band (72–83 % of the depth, [`engine::axis::build::paper_defaults`]) × the
/// same four floors.
pub fn for_build(n_layers: usize, small: bool) -> Vec<CapSetting> {
    if small {
        return paper_band(n_layers, &PAPER_PERCENTILES);
    }
    let width = (n_layers / 5).max(1);
    let mut out = Vec::new();
    for s in [0.4, 0.65, 0.75] {
        let first = ((n_layers as f64 * s).round() as usize).min(n_layers - width);
        for &percentile in &PAPER_PERCENTILES {
            out.push(CapSetting {
                first_layer: first,
                last_layer: first + width - 1,
                percentile,
            });
        }
    }
    out
}

/// The paper's default band at each of `floors`.
pub fn paper_band(n_layers: usize, floors: &[Percentile]) -> Vec<CapSetting> {
    let band = engine::axis::build::paper_defaults(n_layers).1;
    floors
        .iter()
        .map(|&percentile| CapSetting { percentile, ..band })
        .collect()
}

/// Bands across depth: centres every 2 layers from 40 % to 90 % of the depth, each of
/// `widths` layers (the band [centre − ⌊w/2⌋, centre − ⌊w/2⌋ + w − 1], moved inside the model
/// where it would stick out), × `floors`. Duplicates (after moving) are dropped.
pub fn across_depth(n_layers: usize, widths: &[usize], floors: &[Percentile]) -> Vec<CapSetting> {
    let lo = (n_layers as f64 * 0.4).round() as usize;
    let hi = ((n_layers as f64 * 0.9).round() as usize).min(n_layers.saturating_sub(1));
    let mut out: Vec<CapSetting> = Vec::new();
    for &width in widths {
        let width = width.clamp(1, n_layers.max(1));
        for centre in (lo..=hi).step_by(2) {
            let first = centre.saturating_sub(width / 2).min(n_layers - width);
            for &percentile in floors {
                let c = CapSetting {
                    first_layer: first,
                    last_layer: first + width - 1,
                    percentile,
                };
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// "22-25@75" → layers 22–25 floored at the 75th percentile of all answers.
pub fn parse_setting(text: &str, n_layers: usize) -> Result<CapSetting> {
    let (band, floor) = text.split_once('@').with_context(|| {
        format!("`{text}`: write a setting as FIRST-LAST@PERCENTILE, e.g. 22-25@75")
    })?;
    let (first, last) = band
        .split_once('-')
        .with_context(|| format!("`{text}`: the band is FIRST-LAST, e.g. 22-25"))?;
    let first_layer: usize = first
        .trim()
        .parse()
        .with_context(|| format!("`{text}`: first layer"))?;
    let last_layer: usize = last
        .trim()
        .parse()
        .with_context(|| format!("`{text}`: last layer"))?;
    let percentile: Percentile = floor
        .parse()
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("`{text}`: percentile"))?;
    let setting = CapSetting {
        first_layer,
        last_layer,
        percentile,
    };
    if !setting.within(n_layers) {
        bail!(
            "`{text}`: the band must lie within layers 0–{}",
            n_layers.saturating_sub(1)
        );
    }
    if !percentile.is_paper_level() {
        let paper: Vec<String> = PAPER_PERCENTILES.iter().map(|p| p.to_string()).collect();
        bail!(
            "`{text}`: the floor must be one of the paper's percentiles ({})",
            paper.join(", ")
        );
    }
    Ok(setting)
}

/// "layers 22–25 @ 75th".
pub fn label(cap: Option<&CapSetting>) -> String {
    cap.map_or("no cap".to_owned(), |c| {
        format!(
            "layers {}–{} @ {}th",
            c.first_layer, c.last_layer, c.percentile
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_grid_lies_inside_the_model_and_uses_the_papers_floors() {
        for c in for_build(30, false) {
            assert!(c.first_layer <= c.last_layer && c.last_layer < 30);
            assert_eq!(c.last_layer - c.first_layer + 1, 6);
            assert!(c.percentile.is_paper_level());
        }
        assert_eq!(for_build(30, false).len(), 12);
        assert_eq!(for_build(2, false)[0].last_layer, 1);
        let small = for_build(30, true);
        assert_eq!(small.len(), 4);
        assert!(
            small
                .iter()
                .all(|c| (c.first_layer, c.last_layer) == (22, 25))
        );
    }

    #[test]
    fn bands_across_depth_centre_every_two_layers_from_40_to_90_percent() {
        let grid = across_depth(30, &[4], &[Percentile::whole(75)]);
        let firsts: Vec<usize> = grid.iter().map(|c| c.first_layer).collect();
        // Centres 12, 14, …, 26 (40 % and 87 % of 30 layers; 27 is 90 %).
        assert_eq!(firsts, vec![10, 12, 14, 16, 18, 20, 22, 24]);
        assert!(grid.iter().all(|c| c.last_layer - c.first_layer == 3));
        // A band that would stick out is moved inside, and duplicates are dropped.
        let wide = across_depth(30, &[10], &[Percentile::whole(75)]);
        assert!(wide.iter().all(|c| c.last_layer < 30));
        assert_eq!(wide.last().map(|c| c.last_layer), Some(29));
        let n = across_depth(30, &[2, 4], &PAPER_PERCENTILES).len();
        assert_eq!(n, 2 * 8 * 4);
    }

    #[test]
    fn settings_parse_from_the_command_line_and_refuse_what_does_not_fit() {
        let c = parse_setting("22-25@75", 30).expect("valid");
        assert_eq!(
            (c.first_layer, c.last_layer, c.percentile),
            (22, 25, Percentile::whole(75))
        );
        assert!(parse_setting("22-25", 30).is_err());
        assert!(parse_setting("25-22@75", 30).is_err());
        assert!(parse_setting("22-30@75", 30).is_err());
        assert!(parse_setting("22-25@60", 30).is_err());
        assert!(parse_setting("a-25@75", 30).is_err());
        assert_eq!(label(Some(&c)), "layers 22–25 @ 75th");
        assert_eq!(label(None), "no cap");
    }
}
