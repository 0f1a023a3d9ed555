//! From answers' mean activations to an axis file: the arithmetic shared by the native lab and
//! the browser's quick build (docs/design.md §1).
//!
//! Per layer: role vector = mean over a role's answers; axis = mean(default answers) − mean(role
//! vectors); percentiles of per-answer projections on unit(axis); PCA of the role vectors. The
//! lab adds its judge, held-out validation and the capping sweep on top; [`assemble_quick`] is
//! the whole recipe for a run without them.

use super::file::{AxisFile, AxisMeta, CapSetting, FORMAT_VERSION};
use super::stats::{Pca, mean_of, pca, percentile};
pub use super::threshold::PAPER_CAP_PERCENTILE;
use super::threshold::Percentile;
use super::{dot, unit};

/// Stored percentile levels; they include the paper's grid ([`super::threshold::PAPER_PERCENTILES`]).
pub const PERCENTILE_LEVELS: [Percentile; 9] = [
    Percentile::whole(1),
    Percentile::whole(5),
    Percentile::whole(10),
    Percentile::whole(25),
    Percentile::whole(50),
    Percentile::whole(75),
    Percentile::whole(90),
    Percentile::whole(95),
    Percentile::whole(99),
];
pub const PCA_COMPONENTS: usize = 10;

/// The paper's capping recipe, used where no sweep chose one: τ = the 75th percentile of all
/// answers' projections (the paper's "p25" on the role direction, see [`super::threshold`]) on
/// a band at 72–83 % depth (Qwen3-32B's best band in the paper).
const PAPER_CAP_BAND: (f32, f32) = (0.72, 0.83);

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AxisBuildError {
    #[error("no default-assistant answer has any token")]
    NoDefaultAnswers,
    #[error("{0} role(s) answered; an axis needs at least 2")]
    TooFewRoles(usize),
    #[error("the axis at layer {0} is zero or not finite (default and role answers coincide)")]
    Degenerate(usize),
    #[error("an answer's activations have {found} values, expected {expected}")]
    Shape { found: usize, expected: usize },
    #[error("the axis could not be written: {0}")]
    File(String),
}

/// The axis at one layer, with what is measured against it.
#[derive(Debug, Clone)]
pub struct LayerAxis {
    /// `default_mean − role_mean`, unnormalised.
    pub axis: Vec<f32>,
    pub unit_axis: Vec<f32>,
    pub default_mean: Vec<f32>,
    pub role_mean: Vec<f32>,
    /// At [`PERCENTILE_LEVELS`].
    pub default_percentiles: Vec<f32>,
    pub role_percentiles: Vec<f32>,
    /// Over default and role answers together: the capping thresholds.
    pub all_percentiles: Vec<f32>,
    /// PCA of the role vectors, PC1 oriented along the axis.
    pub pca: Pca,
}

impl LayerAxis {
    /// `default_answers` and `role_answers` are per-answer means at this layer; `role_vectors`
    /// the per-role means. `None` when there is nothing to compute or the axis has no direction.
    pub fn compute(
        default_answers: &[&[f32]],
        role_vectors: &[&[f32]],
        role_answers: &[&[f32]],
        components: usize,
    ) -> Option<LayerAxis> {
        let default_mean = mean_of(default_answers)?;
        let role_mean = mean_of(role_vectors)?;
        let axis: Vec<f32> = default_mean
            .iter()
            .zip(&role_mean)
            .map(|(d, r)| d - r)
            .collect();
        let unit_axis = unit(&axis)?;
        let project = |answers: &[&[f32]]| -> Vec<f32> {
            answers.iter().map(|a| dot(a, &unit_axis)).collect()
        };
        let levels = |projections: &[f32]| -> Vec<f32> {
            PERCENTILE_LEVELS
                .iter()
                .map(|q| percentile(projections, q.value()).unwrap_or(f32::NAN))
                .collect()
        };
        let (on_default, on_role) = (project(default_answers), project(role_answers));
        let default_percentiles = levels(&on_default);
        let role_percentiles = levels(&on_role);
        let all_percentiles = levels(&[on_default, on_role].concat());
        let mut pca = pca(role_vectors, components)?;
        pca.orient(0, &unit_axis);
        Some(LayerAxis {
            axis,
            unit_axis,
            default_mean,
            role_mean,
            default_percentiles,
            role_percentiles,
            all_percentiles,
            pca,
        })
    }
}

fn layer_slice(v: &[f32], layer: usize, hidden: usize) -> &[f32] {
    &v[layer * hidden..(layer + 1) * hidden]
}

fn at_layer<'a>(vectors: &[&'a [f32]], layer: usize, hidden: usize) -> Vec<&'a [f32]> {
    vectors
        .iter()
        .map(|v| layer_slice(v, layer, hidden))
        .collect()
}

/// Who gave an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    /// The model as itself (one of the neutral system prompts, or none).
    Default,
    /// Playing role `i` of [`QuickAxisInput::roles`].
    Role(usize),
}

/// One answer: who spoke and its mean activation per layer, `[n_layers * hidden]` (empty when
/// the answer had no token; it is then left out).
#[derive(Debug, Clone)]
pub struct SpokenAnswer {
    pub speaker: Speaker,
    pub mean_activation: Vec<f32>,
}

/// Everything a quick build knows.
#[derive(Debug, Clone)]
pub struct QuickAxisInput<'a> {
    pub model_id: String,
    pub model_sha256: String,
    pub n_layers: usize,
    pub hidden: usize,
    pub roles: &'a [String],
    pub answers: &'a [SpokenAnswer],
    /// How the file was built (free-form, stored in the metadata).
    pub build: serde_json::Value,
}

/// The paper's defaults for a model of `n_layers`: monitor layer `n / 2`, cap band at 72–83 %
/// depth, τ at the 75th percentile of all answers. The one rule for a default cap, used by the
/// in-browser build and by the lab when its sweep chose nothing.
pub fn paper_defaults(n_layers: usize) -> (usize, CapSetting) {
    let last = n_layers.saturating_sub(1);
    let at = |f: f32| ((n_layers as f32 * f).round() as usize).min(last);
    (
        n_layers / 2,
        CapSetting {
            first_layer: at(PAPER_CAP_BAND.0),
            last_layer: at(PAPER_CAP_BAND.1),
            percentile: PAPER_CAP_PERCENTILE,
        },
    )
}

/// An axis file from answers alone: every answer counts (no judge), monitor layer and capping
/// from [`paper_defaults`], no validation numbers beyond PC1's explained variance and its cosine
/// with the axis. The result has been through [`AxisFile::from_bytes`]' checks.
pub fn assemble_quick(input: &QuickAxisInput<'_>) -> Result<AxisFile, AxisBuildError> {
    let (l_count, h) = (input.n_layers, input.hidden);
    let expected = l_count * h;
    let answered: Vec<&SpokenAnswer> = input
        .answers
        .iter()
        .filter(|a| !a.mean_activation.is_empty())
        .collect();
    if let Some(bad) = answered
        .iter()
        .find(|a| a.mean_activation.len() != expected)
    {
        return Err(AxisBuildError::Shape {
            found: bad.mean_activation.len(),
            expected,
        });
    }
    let defaults: Vec<&[f32]> = answered
        .iter()
        .filter(|a| a.speaker == Speaker::Default)
        .map(|a| a.mean_activation.as_slice())
        .collect();
    if defaults.is_empty() {
        return Err(AxisBuildError::NoDefaultAnswers);
    }
    // Roles in input order, those with at least one answer.
    let mut kept_roles = Vec::new();
    let mut role_vectors = Vec::new();
    for (i, name) in input.roles.iter().enumerate() {
        let of_role: Vec<&[f32]> = answered
            .iter()
            .filter(|a| a.speaker == Speaker::Role(i))
            .map(|a| a.mean_activation.as_slice())
            .collect();
        if let Some(mean) = mean_of(&of_role) {
            kept_roles.push(name.clone());
            role_vectors.push(mean);
        }
    }
    if role_vectors.len() < 2 {
        return Err(AxisBuildError::TooFewRoles(role_vectors.len()));
    }
    let role_answers: Vec<&[f32]> = answered
        .iter()
        .filter(|a| matches!(a.speaker, Speaker::Role(_)))
        .map(|a| a.mean_activation.as_slice())
        .collect();
    let components = PCA_COMPONENTS.min(role_vectors.len());
    let mut layers = Vec::with_capacity(l_count);
    for l in 0..l_count {
        let rv: Vec<&[f32]> = role_vectors.iter().map(|v| layer_slice(v, l, h)).collect();
        let layer = LayerAxis::compute(
            &at_layer(&defaults, l, h),
            &rv,
            &at_layer(&role_answers, l, h),
            components,
        )
        .ok_or(AxisBuildError::Degenerate(l))?;
        layers.push(layer);
    }
    let (monitor, cap) = paper_defaults(l_count);
    let k = layers[monitor].pca.components.len();
    let pc1: Vec<f32> = layers.iter().map(|l| l.pca.explained[0]).collect();
    let cos: Vec<f32> = layers
        .iter()
        .map(|l| dot(&l.pca.components[0], &l.unit_axis))
        .collect();
    let meta = AxisMeta {
        format_version: FORMAT_VERSION,
        model_id: input.model_id.clone(),
        model_sha256: input.model_sha256.clone(),
        n_layers: l_count,
        hidden: h,
        monitor_layer: monitor,
        cap,
        percentile_levels: PERCENTILE_LEVELS.to_vec(),
        roles: kept_roles,
        validation: serde_json::json!({
            "quick_build": true,
            "default_answers": defaults.len(),
            "role_answers": role_answers.len(),
            "pc1_explained": pc1,
            "cos_pc1_axis": cos,
        }),
        build: input.build.clone(),
    };
    let flat = |f: &dyn Fn(&LayerAxis) -> &[f32]| -> Vec<f32> {
        layers.iter().flat_map(|l| f(l).iter().copied()).collect()
    };
    let file = AxisFile {
        axis: flat(&|l| &l.axis),
        default_mean: flat(&|l| &l.default_mean),
        role_mean: flat(&|l| &l.role_mean),
        default_percentiles: flat(&|l| &l.default_percentiles),
        role_percentiles: flat(&|l| &l.role_percentiles),
        all_percentiles: Some(flat(&|l| &l.all_percentiles)),
        n_components: k,
        pca_components: layers
            .iter()
            .flat_map(|l| l.pca.components.concat())
            .collect(),
        pca_explained: layers
            .iter()
            .flat_map(|l| l.pca.explained.iter().copied())
            .collect(),
        role_coords: layers[monitor].pca.coords.concat(),
        meta,
    };
    // Round-trip through the reader: a file we hand out is a file the app accepts.
    let bytes = file
        .to_bytes()
        .map_err(|e| AxisBuildError::File(e.to_string()))?;
    AxisFile::from_bytes(&bytes).map_err(|e| AxisBuildError::File(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two layers of width 3: default answers sit at +x, roles spread along y around −x.
    fn answers() -> (Vec<String>, Vec<SpokenAnswer>) {
        let roles: Vec<String> = ["pirate", "ghost", "poet"].map(String::from).to_vec();
        let both = |v: [f32; 3]| -> Vec<f32> { v.iter().chain(v.iter()).copied().collect() };
        let mut a = vec![
            SpokenAnswer {
                speaker: Speaker::Default,
                mean_activation: both([1.0, 0.0, 0.0]),
            },
            SpokenAnswer {
                speaker: Speaker::Default,
                mean_activation: both([3.0, 0.0, 0.0]),
            },
        ];
        for (i, y) in [(0usize, 1.0f32), (1, -1.0), (2, 0.5)] {
            a.push(SpokenAnswer {
                speaker: Speaker::Role(i),
                mean_activation: both([-2.0, y, 0.0]),
            });
        }
        // An empty answer does not count.
        a.push(SpokenAnswer {
            speaker: Speaker::Role(0),
            mean_activation: Vec::new(),
        });
        (roles, a)
    }

    fn input<'a>(roles: &'a [String], answers: &'a [SpokenAnswer]) -> QuickAxisInput<'a> {
        QuickAxisInput {
            model_id: "toy".into(),
            model_sha256: "ab".repeat(32),
            n_layers: 2,
            hidden: 3,
            roles,
            answers,
            build: serde_json::json!({"seed": 1}),
        }
    }

    #[test]
    fn the_axis_is_default_mean_minus_the_mean_role_vector() {
        let (roles, answers) = answers();
        let file = assemble_quick(&input(&roles, &answers)).expect("builds");
        // default mean (2, 0, 0); role mean (−2, 1/6, 0).
        let a = file.axis_at(1);
        assert!((a[0] - 4.0).abs() < 1e-6 && (a[1] + 1.0 / 6.0).abs() < 1e-6 && a[2] == 0.0);
        assert_eq!(file.meta.roles, roles);
        assert_eq!(file.meta.monitor_layer, 1);
        assert_eq!(file.meta.cap.percentile, PAPER_CAP_PERCENTILE);
        // Three role vectors: PCA keeps three components (the third explains nothing).
        assert_eq!(file.n_components, 3);
        // The roles differ only along y: PC1 is ±y, and the pirate and ghost sit at ±1 − 1/6.
        let pirate = file.role_coords[0];
        let ghost = file.role_coords[3];
        assert!(
            (pirate.abs() - 5.0 / 6.0).abs() < 1e-4 && (ghost.abs() - 7.0 / 6.0).abs() < 1e-4,
            "{:?}",
            file.role_coords
        );
        // Default answers project at 1 and 3 times the axis's x share: the median is between.
        let v = file.unit_axis(0);
        let p50 = file.default_percentiles[4];
        assert!((p50 - 2.0 * v[0]).abs() < 1e-5, "{p50}");
    }

    #[test]
    fn thresholds_are_percentiles_of_all_answers_together() {
        // One dimension: default answers at 4 and 6, role answers (= role vectors) at 0 and 2.
        let (d, r): (&[&[f32]], &[&[f32]]) = (&[&[4.0], &[6.0]], &[&[0.0], &[2.0]]);
        let (dr, rr) = (d.to_vec(), r.to_vec());
        let layer = LayerAxis::compute(&dr, &rr, &rr, 1).expect("axis");
        let at = |table: &[f32], q: u16| {
            let i = PERCENTILE_LEVELS
                .iter()
                .position(|&x| x == Percentile::whole(q))
                .expect("level");
            table[i]
        };
        // All projections: 0, 2, 4, 6. NumPy: p75 = 4.5, p25 = 1.5; role answers' p25 = 0.5.
        assert!((at(&layer.all_percentiles, 75) - 4.5).abs() < 1e-6);
        assert!((at(&layer.all_percentiles, 25) - 1.5).abs() < 1e-6);
        assert!((at(&layer.role_percentiles, 25) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn too_few_roles_or_no_default_answers_are_errors() {
        let (roles, answers) = answers();
        let only_pirate: Vec<SpokenAnswer> = answers
            .iter()
            .filter(|a| a.speaker != Speaker::Role(1) && a.speaker != Speaker::Role(2))
            .cloned()
            .collect();
        assert_eq!(
            assemble_quick(&input(&roles, &only_pirate)).err(),
            Some(AxisBuildError::TooFewRoles(1))
        );
        let no_default: Vec<SpokenAnswer> = answers
            .iter()
            .filter(|a| a.speaker != Speaker::Default)
            .cloned()
            .collect();
        assert_eq!(
            assemble_quick(&input(&roles, &no_default)).err(),
            Some(AxisBuildError::NoDefaultAnswers)
        );
        let mut wrong = answers.clone();
        wrong[0].mean_activation.push(0.0);
        assert!(matches!(
            assemble_quick(&input(&roles, &wrong)),
            Err(AxisBuildError::Shape { found: 7, .. })
        ));
    }

    #[test]
    fn paper_defaults_put_the_band_at_72_to_83_percent_depth() {
        let (monitor, cap) = paper_defaults(30);
        assert_eq!((monitor, cap.first_layer, cap.last_layer), (15, 22, 25));
        let (monitor, cap) = paper_defaults(64);
        assert_eq!((monitor, cap.first_layer, cap.last_layer), (32, 46, 53));
        let (_, cap) = paper_defaults(1);
        assert_eq!((cap.first_layer, cap.last_layer), (0, 0));
    }
}
