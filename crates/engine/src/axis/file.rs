//! Reading and writing axis files, with validation before anything is used.

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use super::math::unit;
use super::threshold::{Percentile, ThresholdBasis};

/// Bumped on any incompatible change of the layout. Version 2 added `all_percentiles` (the
/// paper's threshold convention); version 1 files still load, their floors marked as
/// [`ThresholdBasis::RoleAnswers`].
pub const FORMAT_VERSION: u32 = 2;
const OLDEST_FORMAT_VERSION: u32 = 1;
const META_KEY: &str = "axis";
/// Bounds that keep a hostile file from making us allocate absurd amounts.
const MAX_LAYERS: usize = 1024;
const MAX_HIDDEN: usize = 65_536;
const MAX_COMPONENTS: usize = 256;
/// The page draws every role on its persona map: 100,000 roles froze its main thread for
/// minutes in a review. The lab's catalogue has under 200; a few thousand is still drawable.
pub const MAX_ROLES: usize = 5_000;

#[derive(Debug, thiserror::Error)]
pub enum AxisError {
    #[error("this is not a readable axis file (safetensors): {0}")]
    Format(String),
    #[error("the axis file has no `{META_KEY}` metadata; it was not written by axis-lab")]
    MissingMeta,
    #[error("the axis file's metadata is invalid: {0}")]
    Meta(String),
    #[error(
        "axis file format version {found} is not supported (this build reads versions {OLDEST_FORMAT_VERSION}–{FORMAT_VERSION})"
    )]
    Version { found: u32 },
    #[error("the axis file has no tensor `{0}`")]
    MissingTensor(String),
    #[error("tensor `{name}` has shape {found:?}, expected {expected:?}")]
    Shape {
        name: String,
        found: Vec<usize>,
        expected: Vec<usize>,
    },
    #[error("tensor `{name}` is {found:?}, expected F32")]
    Dtype { name: String, found: String },
    #[error("tensor `{0}` contains NaN or infinite values")]
    NotFinite(String),
    #[error("the axis at layer {0} is zero: it has no direction")]
    ZeroAxis(usize),
    #[error(
        "the axis file is for a model with {file_layers} layers of width {file_hidden}, but the loaded model has {model_layers} layers of width {model_hidden}"
    )]
    ModelMismatch {
        file_layers: usize,
        file_hidden: usize,
        model_layers: usize,
        model_hidden: usize,
    },
}

/// A cap: a band of consecutive layers and the percentile that gives each layer's floor. The
/// axis file's default, a lab sweep candidate and the page's choice are all this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapSetting {
    /// First and last capped layer, inclusive.
    pub first_layer: usize,
    pub last_layer: usize,
    /// Which of the file's percentile levels gives τ: of all answers (format 2), or of role
    /// answers in format-1 files (see [`AxisFile::threshold`]).
    pub percentile: Percentile,
}

impl CapSetting {
    /// Whether the band is ordered and lies within a model of `n_layers` layers: the one check
    /// of a band (axis files, the planner, the page's choice, the lab's `--setting`).
    pub fn within(&self, n_layers: usize) -> bool {
        self.first_layer <= self.last_layer && self.last_layer < n_layers
    }

    /// Whether `layer` is capped.
    pub fn contains(&self, layer: usize) -> bool {
        (self.first_layer..=self.last_layer).contains(&layer)
    }
}

/// Everything about an axis that is not a tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AxisMeta {
    pub format_version: u32,
    /// A human-readable model name, e.g. "SmolLM2-135M-Instruct Q4_1".
    pub model_id: String,
    /// sha256 of the GGUF the axis was computed with.
    pub model_sha256: String,
    pub n_layers: usize,
    pub hidden: usize,
    pub monitor_layer: usize,
    pub cap: CapSetting,
    /// The percentile levels of the `*_percentiles` tensors, e.g. [1, 5, 10, 25, 50, 75, 90, 95, 99].
    pub percentile_levels: Vec<Percentile>,
    /// Role names in the order of `role_coords`' rows.
    pub roles: Vec<String>,
    /// Validation numbers (AUROC, cos(PC1, axis), sweeps…), free-form.
    #[serde(default)]
    pub validation: serde_json::Value,
    /// How the file was built (data, seed, commit, wall time), free-form.
    #[serde(default)]
    pub build: serde_json::Value,
}

/// An axis file in memory. Vectors are row-major as in the table of [`super`].
#[derive(Debug, Clone, PartialEq)]
pub struct AxisFile {
    pub meta: AxisMeta,
    pub axis: Vec<f32>,
    pub default_mean: Vec<f32>,
    pub role_mean: Vec<f32>,
    pub default_percentiles: Vec<f32>,
    pub role_percentiles: Vec<f32>,
    /// `[L, P]`: percentiles of per-answer projections over all answers, role and default
    /// together — the capping thresholds (the paper's convention). `None` in format-1 files.
    pub all_percentiles: Option<Vec<f32>>,
    pub n_components: usize,
    pub pca_components: Vec<f32>,
    pub pca_explained: Vec<f32>,
    pub role_coords: Vec<f32>,
}

impl AxisFile {
    /// Parses and validates: version, every shape against the metadata, finiteness, and that
    /// no layer's axis is zero.
    pub fn from_bytes(bytes: &[u8]) -> Result<AxisFile, AxisError> {
        let (_, header) =
            SafeTensors::read_metadata(bytes).map_err(|e| AxisError::Format(e.to_string()))?;
        let meta_json = header
            .metadata()
            .as_ref()
            .and_then(|m| m.get(META_KEY))
            .ok_or(AxisError::MissingMeta)?;
        let meta: AxisMeta =
            serde_json::from_str(meta_json).map_err(|e| AxisError::Meta(e.to_string()))?;
        if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&meta.format_version) {
            return Err(AxisError::Version {
                found: meta.format_version,
            });
        }
        let (l, h, p, r) = (
            meta.n_layers,
            meta.hidden,
            meta.percentile_levels.len(),
            meta.roles.len(),
        );
        if l == 0 || l > MAX_LAYERS || h == 0 || h > MAX_HIDDEN || r > MAX_ROLES || p == 0 {
            return Err(AxisError::Meta(format!(
                "implausible sizes: {l} layers, hidden {h}, {p} percentiles, {r} roles (at most {MAX_LAYERS} layers, hidden {MAX_HIDDEN}, {MAX_ROLES} roles)"
            )));
        }
        if meta.monitor_layer >= l || !meta.cap.within(l) {
            return Err(AxisError::Meta(
                "monitor layer or cap band outside the model's layers".into(),
            ));
        }
        // Levels are read as `Percentile`s (numbers from 0 to 100; JSON's 1e39, which serde
        // once read as an f32 infinity, is refused there). Two equal levels would make a floor
        // ambiguous.
        let mut sorted = meta.percentile_levels.clone();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return Err(AxisError::Meta("a percentile level is stored twice".into()));
        }
        if !meta.percentile_levels.contains(&meta.cap.percentile) {
            return Err(AxisError::Meta(format!(
                "cap percentile {} is not one of the stored levels",
                meta.cap.percentile
            )));
        }
        let st = SafeTensors::deserialize(bytes).map_err(|e| AxisError::Format(e.to_string()))?;
        let k = st
            .tensor("pca_explained")
            .map_err(|_| AxisError::MissingTensor("pca_explained".into()))?
            .shape()
            .get(1)
            .copied()
            .unwrap_or(0);
        if k == 0 || k > MAX_COMPONENTS {
            return Err(AxisError::Meta(format!(
                "implausible number of PCA components: {k}"
            )));
        }
        let read = |name: &str, shape: &[usize]| read_f32(&st, name, shape);
        let file = AxisFile {
            axis: read("axis", &[l, h])?,
            default_mean: read("default_mean", &[l, h])?,
            role_mean: read("role_mean", &[l, h])?,
            default_percentiles: read("default_percentiles", &[l, p])?,
            role_percentiles: read("role_percentiles", &[l, p])?,
            all_percentiles: if meta.format_version >= 2 {
                Some(read("all_percentiles", &[l, p])?)
            } else {
                None
            },
            n_components: k,
            pca_components: read("pca_components", &[l, k, h])?,
            pca_explained: read("pca_explained", &[l, k])?,
            role_coords: read("role_coords", &[r, k])?,
            meta,
        };
        for layer in 0..l {
            if unit(file.axis_at(layer)).is_none() {
                return Err(AxisError::ZeroAxis(layer));
            }
        }
        Ok(file)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, AxisError> {
        let m = &self.meta;
        let (l, h, p, k, r) = (
            m.n_layers,
            m.hidden,
            m.percentile_levels.len(),
            self.n_components,
            m.roles.len(),
        );
        // The layout follows the version the metadata declares, so a format-1 file written
        // back stays a valid format-1 file.
        let all_percentiles = match (m.format_version >= 2, &self.all_percentiles) {
            (true, Some(v)) => Some(v),
            (false, _) => None,
            (true, None) => return Err(AxisError::MissingTensor("all_percentiles".into())),
        };
        let mut tensors: Vec<(&str, &[f32], Vec<usize>)> = vec![
            ("axis", &self.axis, vec![l, h]),
            ("default_mean", &self.default_mean, vec![l, h]),
            ("role_mean", &self.role_mean, vec![l, h]),
            ("default_percentiles", &self.default_percentiles, vec![l, p]),
            ("role_percentiles", &self.role_percentiles, vec![l, p]),
            ("pca_components", &self.pca_components, vec![l, k, h]),
            ("pca_explained", &self.pca_explained, vec![l, k]),
            ("role_coords", &self.role_coords, vec![r, k]),
        ];
        if let Some(v) = all_percentiles {
            tensors.push(("all_percentiles", v, vec![l, p]));
        }
        let raw: Vec<(&str, Vec<u8>, Vec<usize>)> = tensors
            .into_iter()
            .map(|(name, values, shape)| {
                (
                    name,
                    values.iter().flat_map(|v| v.to_le_bytes()).collect(),
                    shape,
                )
            })
            .collect();
        let mut views = Vec::with_capacity(raw.len());
        for (name, bytes, shape) in &raw {
            let view = TensorView::new(Dtype::F32, shape.clone(), bytes).map_err(|e| {
                AxisError::Shape {
                    name: format!("{name} ({e})"),
                    found: vec![bytes.len() / 4],
                    expected: shape.clone(),
                }
            })?;
            views.push((*name, view));
        }
        let meta_json =
            serde_json::to_string(&self.meta).map_err(|e| AxisError::Meta(e.to_string()))?;
        let mut info = Default::default();
        insert_meta(&mut info, meta_json);
        safetensors::tensor::serialize(views, Some(info))
            .map_err(|e| AxisError::Format(e.to_string()))
    }

    /// The unnormalised axis at `layer` (`[hidden]`).
    pub fn axis_at(&self, layer: usize) -> &[f32] {
        let h = self.meta.hidden;
        self.axis.get(layer * h..(layer + 1) * h).unwrap_or(&[])
    }

    /// unit(axis[layer]); validated non-zero at load time.
    pub fn unit_axis(&self, layer: usize) -> Vec<f32> {
        unit(self.axis_at(layer)).unwrap_or_default()
    }

    pub fn role_mean_at(&self, layer: usize) -> &[f32] {
        let h = self.meta.hidden;
        self.role_mean
            .get(layer * h..(layer + 1) * h)
            .unwrap_or(&[])
    }

    /// The score's zero point at `layer`: the mean role vector projected on unit(axis), so
    /// that `score = ⟨x, v⟩ − centre` reads 0 at an average persona, positive = Assistant-like.
    pub fn score_centre(&self, layer: usize) -> f32 {
        super::math::dot(self.role_mean_at(layer), &self.unit_axis(layer))
    }

    /// Which answers the capping thresholds are percentiles of.
    pub fn threshold_basis(&self) -> ThresholdBasis {
        if self.all_percentiles.is_some() {
            ThresholdBasis::AllAnswers
        } else {
            ThresholdBasis::RoleAnswers
        }
    }

    /// The capping floor τ at `layer` for percentile `level`: over all answers (format 2), or
    /// over role answers in a format-1 file ([`Self::threshold_basis`] says which). `None`
    /// when the file has no such level.
    pub fn threshold(&self, layer: usize, level: Percentile) -> Option<f32> {
        self.percentile_in(self.threshold_table(), layer, level)
    }

    /// The table τ is read from, `[layer][level]` flattened ([`Self::threshold_basis`]).
    fn threshold_table(&self) -> &[f32] {
        self.all_percentiles
            .as_deref()
            .unwrap_or(&self.role_percentiles)
    }

    /// The floors at `layer`, one per percentile level ([`Self::threshold_basis`] says of
    /// which answers); `None` past the last layer.
    pub fn threshold_row(&self, layer: usize) -> Option<&[f32]> {
        let width = self.meta.percentile_levels.len();
        self.threshold_table()
            .get(layer * width..(layer + 1) * width)
    }

    /// Unit PC `k` of the role vectors at `layer`, if the file has it.
    pub fn pca_component(&self, layer: usize, k: usize) -> Option<&[f32]> {
        if k >= self.n_components {
            return None;
        }
        let h = self.meta.hidden;
        let start = (layer * self.n_components + k) * h;
        self.pca_components.get(start..start + h)
    }

    /// Percentile `level` of the role answers' projections at `layer` (for reports; caps use
    /// [`Self::threshold`]).
    pub fn role_percentile(&self, layer: usize, level: Percentile) -> Option<f32> {
        self.percentile_in(&self.role_percentiles, layer, level)
    }

    fn percentile_in(&self, table: &[f32], layer: usize, level: Percentile) -> Option<f32> {
        let levels = &self.meta.percentile_levels;
        let idx = levels.iter().position(|&l| l == level)?;
        if layer >= self.meta.n_layers {
            return None;
        }
        table.get(layer * levels.len() + idx).copied()
    }

    /// A sentence when this file names another model file than the one whose sha256 is
    /// `model_sha256` (files without a recorded sha256 are taken at their word).
    pub fn other_model_warning(&self, model_sha256: &str) -> Option<String> {
        let recorded = self.meta.model_sha256.trim();
        if recorded.is_empty() || recorded.eq_ignore_ascii_case(model_sha256) {
            return None;
        }
        let short = |h: &str| h.chars().take(12).collect::<String>();
        Some(format!(
            "This axis file was computed for another model file (\"{}\", sha256 {}…), not the one loaded (sha256 {}…): it is used, but its scores and caps may not mean what they say.",
            self.meta.model_id,
            short(recorded),
            short(model_sha256)
        ))
    }

    /// Refuses an axis computed for a model of another shape.
    pub fn check_model(&self, n_layers: usize, hidden: usize) -> Result<(), AxisError> {
        if self.meta.n_layers != n_layers || self.meta.hidden != hidden {
            return Err(AxisError::ModelMismatch {
                file_layers: self.meta.n_layers,
                file_hidden: self.meta.hidden,
                model_layers: n_layers,
                model_hidden: hidden,
            });
        }
        Ok(())
    }
}

/// Works with whichever `HashMap` safetensors was built with (std or hashbrown).
fn insert_meta<M: Extend<(String, String)>>(map: &mut M, json: String) {
    map.extend([(META_KEY.to_owned(), json)]);
}

fn read_f32(st: &SafeTensors<'_>, name: &str, shape: &[usize]) -> Result<Vec<f32>, AxisError> {
    let view = st
        .tensor(name)
        .map_err(|_| AxisError::MissingTensor(name.to_owned()))?;
    if view.dtype() != Dtype::F32 {
        return Err(AxisError::Dtype {
            name: name.to_owned(),
            found: format!("{:?}", view.dtype()),
        });
    }
    if view.shape() != shape {
        return Err(AxisError::Shape {
            name: name.to_owned(),
            found: view.shape().to_vec(),
            expected: shape.to_vec(),
        });
    }
    let values: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if values.iter().any(|v| !v.is_finite()) {
        return Err(AxisError::NotFinite(name.to_owned()));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(l: usize, h: usize, k: usize) -> AxisFile {
        let levels: Vec<Percentile> = [1, 5, 10, 25, 50, 75, 90, 95, 99]
            .map(Percentile::whole)
            .to_vec();
        let p = levels.len();
        let roles = vec![
            "pirate".to_owned(),
            "ghost".to_owned(),
            "oak tree".to_owned(),
        ];
        let seq = |n: usize, scale: f32| {
            (0..n)
                .map(|i| ((i % 7) as f32 - 3.0) * scale + 0.5)
                .collect::<Vec<_>>()
        };
        AxisFile {
            meta: AxisMeta {
                format_version: FORMAT_VERSION,
                model_id: "tiny".into(),
                model_sha256: "00".repeat(32),
                n_layers: l,
                hidden: h,
                monitor_layer: l / 2,
                cap: CapSetting {
                    first_layer: 1,
                    last_layer: l - 1,
                    percentile: Percentile::whole(25),
                },
                percentile_levels: levels,
                roles: roles.clone(),
                validation: serde_json::json!({ "auroc": 0.97 }),
                build: serde_json::json!({ "seed": 1 }),
            },
            axis: seq(l * h, 1.0),
            default_mean: seq(l * h, 0.5),
            role_mean: seq(l * h, 0.25),
            default_percentiles: seq(l * p, 0.1),
            role_percentiles: seq(l * p, 0.2),
            all_percentiles: Some(seq(l * p, 0.3)),
            n_components: k,
            pca_components: seq(l * k * h, 0.01),
            pca_explained: seq(l * k, 0.001),
            role_coords: seq(roles.len() * k, 1.5),
        }
    }

    #[test]
    fn round_trips_through_bytes() {
        let file = sample(4, 8, 3);
        let bytes = file.to_bytes().expect("serialize");
        let back = AxisFile::from_bytes(&bytes).expect("parse");
        assert_eq!(back, file);
        assert_eq!(
            back.role_percentile(2, Percentile::whole(25)),
            Some(file.role_percentiles[2 * 9 + 3])
        );
        assert_eq!(back.threshold_basis(), ThresholdBasis::AllAnswers);
        let all = file.all_percentiles.as_ref().expect("format 2");
        let p = Percentile::whole;
        assert_eq!(back.threshold(2, p(75)), Some(all[2 * 9 + 5]));
        assert_eq!(back.threshold_row(2), Some(&all[2 * 9..3 * 9]));
        assert_eq!(back.threshold(2, p(33)), None, "no such level");
        assert_eq!(back.threshold(4, p(75)), None, "no such layer");
        assert!(back.check_model(4, 8).is_ok());
    }

    #[test]
    fn a_format_1_file_loads_with_its_floors_marked_as_role_percentiles() {
        let mut old = sample(4, 8, 3);
        old.meta.format_version = 1;
        old.all_percentiles = None;
        let back = AxisFile::from_bytes(&old.to_bytes().expect("serialize")).expect("parse");
        assert_eq!(back, old);
        assert_eq!(back.threshold_basis(), ThresholdBasis::RoleAnswers);
        assert_eq!(
            back.threshold(1, Percentile::whole(25)),
            Some(old.role_percentiles[9 + 3])
        );
        // A format-2 file must carry the all-answer table.
        let mut broken = sample(4, 8, 3);
        broken.all_percentiles = None;
        assert!(matches!(
            broken.to_bytes(),
            Err(AxisError::MissingTensor(ref t)) if t == "all_percentiles"
        ));
    }

    #[test]
    fn more_roles_than_the_page_can_draw_are_refused() {
        let mut file = sample(4, 8, 3);
        let k = file.n_components;
        file.meta.roles = (0..=MAX_ROLES).map(|i| format!("r{i}")).collect();
        file.role_coords = vec![0.0; file.meta.roles.len() * k];
        let err = AxisFile::from_bytes(&file.to_bytes().expect("serialize")).expect_err("roles");
        assert!(err.to_string().contains("5000 roles"), "{err}");
    }

    #[test]
    fn a_model_of_another_shape_is_refused_with_a_clear_message() {
        let file = sample(4, 8, 3);
        let err = file.check_model(30, 576).expect_err("mismatch");
        assert!(err.to_string().contains("4 layers of width 8"), "{err}");
    }

    #[test]
    fn percentile_levels_that_are_no_percentile_or_stored_twice_are_refused() {
        let bytes = sample(4, 8, 3).to_bytes().expect("serialize");
        // Edit a level the way a hand-edited file could (same length, so the header's size is
        // unchanged): beyond f32, below 0, and the same level twice.
        for (from, to, says) in [
            (&b"99.0"[..], &b"4e99"[..], "from 0 to 100"),
            (b"90.0", b"-1.0", "from 0 to 100"),
            (b"90.0", b"95.0", "stored twice"),
        ] {
            let mut edited = bytes.clone();
            let at = edited
                .windows(from.len())
                .position(|w| w == from)
                .expect("the level is in the header");
            edited[at..at + from.len()].copy_from_slice(to);
            let err = AxisFile::from_bytes(&edited).expect_err("bad level");
            assert!(
                matches!(err, AxisError::Meta(ref m) if m.contains(says)),
                "{err}"
            );
        }
    }

    #[test]
    fn an_axis_for_another_model_file_is_named_as_such() {
        let axis = sample(4, 8, 3);
        let own = axis.meta.model_sha256.clone();
        assert_eq!(axis.other_model_warning(&own), None);
        assert_eq!(axis.other_model_warning(&own.to_uppercase()), None);
        let warning = axis
            .other_model_warning(&"ab".repeat(32))
            .expect("a warning");
        assert!(warning.contains("another model file"), "{warning}");
        let mut unrecorded = axis.clone();
        unrecorded.meta.model_sha256 = String::new();
        assert_eq!(unrecorded.other_model_warning(&"ab".repeat(32)), None);
    }

    #[test]
    fn bad_files_give_errors_not_panics() {
        assert!(matches!(
            AxisFile::from_bytes(b"not a file"),
            Err(AxisError::Format(_))
        ));
        let good = sample(4, 8, 3).to_bytes().expect("serialize");
        for cut in [0, 7, 8, 50, good.len() / 2, good.len() - 1] {
            assert!(
                AxisFile::from_bytes(&good[..cut]).is_err(),
                "truncated at {cut}"
            );
        }
        let mut zero = sample(4, 8, 3);
        zero.axis[8..16].iter_mut().for_each(|v| *v = 0.0);
        let bytes = zero.to_bytes().expect("serialize");
        assert!(matches!(
            AxisFile::from_bytes(&bytes),
            Err(AxisError::ZeroAxis(1))
        ));
        let mut nan = sample(4, 8, 3);
        nan.role_mean[3] = f32::NAN;
        let bytes = nan.to_bytes().expect("serialize");
        assert!(matches!(
            AxisFile::from_bytes(&bytes),
            Err(AxisError::NotFinite(_))
        ));
        let mut version = sample(4, 8, 3);
        version.meta.format_version = 99;
        let bytes = version.to_bytes().expect("serialize");
        assert!(matches!(
            AxisFile::from_bytes(&bytes),
            Err(AxisError::Version { found: 99 })
        ));
        let mut band = sample(4, 8, 3);
        band.meta.cap.last_layer = 9;
        let bytes = band.to_bytes().expect("serialize");
        assert!(matches!(
            AxisFile::from_bytes(&bytes),
            Err(AxisError::Meta(_))
        ));
    }

    #[test]
    fn the_score_centre_is_the_role_mean_projected_on_the_unit_axis() {
        let file = sample(2, 4, 2);
        let v = file.unit_axis(1);
        let expected: f32 = file
            .role_mean_at(1)
            .iter()
            .zip(&v)
            .map(|(a, b)| a * b)
            .sum();
        assert!((file.score_centre(1) - expected).abs() < 1e-6);
    }
}
