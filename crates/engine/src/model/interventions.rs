//! Probes, caps and steering, applied inside the forward pass.
//!
//! All three act on the output `h` of decoder block `layer` (the residual stream after
//! attention and MLP, before the next block), at every position of the forward (prompt and
//! generated tokens alike). At one layer they run in this order:
//!
//! 1. **steer**: `h ← h + α·v` for every steer at the layer (`v` used as given, so a raw axis
//!    and a unit axis both work; steers are additive, so their order does not matter);
//! 2. **cap**: `h ← h − v·min(⟨h, v⟩ − τ, 0)` for every cap, in the order given (`v` normalised
//!    to unit length) — a floor: nothing changes where `⟨h, v⟩ ≥ τ` already;
//! 3. **probe**: record `⟨h, v⟩` (`v` normalised).
//!
//! Probes therefore see exactly what the next block sees: a probe along a capped direction
//! reads at least `τ`, which is the "Activations" view of the demo. For the unsteered reading of
//! a capped conversation, run the same tokens again with probes only.

use burn::tensor::{Device, Tensor, TensorData};

use super::{LlamaConfig, ModelError};

/// Record the projection of the block output on a direction.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Decoder block whose output is read (0-based).
    pub layer: usize,
    /// Direction; normalised to unit length before use.
    pub direction: Vec<f32>,
}

/// Floor the projection of the block output on a direction at `tau` (paper Eq. 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Cap {
    /// Decoder block whose output is capped (0-based).
    pub layer: usize,
    /// Direction; normalised to unit length before use.
    pub direction: Vec<f32>,
    /// Threshold τ on `⟨h, unit(v)⟩`.
    pub tau: f32,
}

/// Add `alpha · direction` to the block output.
#[derive(Debug, Clone, PartialEq)]
pub struct Steer {
    /// Decoder block whose output is shifted (0-based).
    pub layer: usize,
    /// Direction, used as given (not normalised).
    pub direction: Vec<f32>,
    /// Scale.
    pub alpha: f32,
}

/// Everything applied to the residual stream during one forward pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interventions {
    /// Read-outs; the forward returns one value per probe and position, in this order.
    pub probes: Vec<Probe>,
    /// Floors.
    pub caps: Vec<Cap>,
    /// Additive shifts.
    pub steers: Vec<Steer>,
}

impl Interventions {
    /// No interventions: the plain forward pass.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether nothing is applied or recorded.
    pub fn is_empty(&self) -> bool {
        self.probes.is_empty() && self.caps.is_empty() && self.steers.is_empty()
    }
}

/// Device-side form of [`Interventions`], built once and reused for every decode step.
#[derive(Debug, Clone)]
pub struct PreparedInterventions {
    layers: Vec<LayerInterventions>,
    n_probes: usize,
    /// `order[i]` = column of probe `i` in the layer-grouped probe output.
    order: Option<Tensor<1, burn::tensor::Int>>,
}

#[derive(Debug, Clone, Default)]
struct LayerInterventions {
    /// Sum of `α·v` over the layer's steers, `[1, hidden]`.
    steer: Option<Tensor<2>>,
    /// `(unit v as [1, hidden], unit v as [hidden, 1], τ)` in application order.
    caps: Vec<(Tensor<2>, Tensor<2>, f32)>,
    /// Unit probe directions as columns, `[hidden, n]`.
    probes: Option<Tensor<2>>,
}

impl PreparedInterventions {
    /// Validate and upload.
    pub fn new(
        interventions: &Interventions,
        config: &LlamaConfig,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let hidden = config.hidden_size;
        let mut layers = vec![LayerInterventions::default(); config.n_layers];
        let check = |kind: &str, i: usize, layer: usize, direction: &[f32]| {
            if layer >= config.n_layers {
                return Err(ModelError::InvalidIntervention(format!(
                    "{kind} {i}: layer {layer} out of range (model has {} layers)",
                    config.n_layers
                )));
            }
            if direction.len() != hidden {
                return Err(ModelError::InvalidIntervention(format!(
                    "{kind} {i}: direction has {} values, the residual stream has {hidden}",
                    direction.len()
                )));
            }
            if direction.iter().any(|x| !x.is_finite()) {
                return Err(ModelError::InvalidIntervention(format!(
                    "{kind} {i}: direction has non-finite values"
                )));
            }
            Ok(())
        };
        let unit = |kind: &str, i: usize, direction: &[f32]| {
            let norm = direction
                .iter()
                .map(|&x| f64::from(x) * f64::from(x))
                .sum::<f64>()
                .sqrt();
            if norm == 0.0 || !norm.is_finite() {
                return Err(ModelError::InvalidIntervention(format!(
                    "{kind} {i}: direction has zero length"
                )));
            }
            Ok(direction
                .iter()
                .map(|&x| (f64::from(x) / norm) as f32)
                .collect::<Vec<f32>>())
        };

        for (i, steer) in interventions.steers.iter().enumerate() {
            check("steer", i, steer.layer, &steer.direction)?;
            if !steer.alpha.is_finite() {
                return Err(ModelError::InvalidIntervention(format!(
                    "steer {i}: alpha {} is not finite",
                    steer.alpha
                )));
            }
            let shift: Vec<f32> = steer.direction.iter().map(|&x| steer.alpha * x).collect();
            let shift = Tensor::<2>::from_data(TensorData::new(shift, [1, hidden]), device);
            let slot = &mut layers[steer.layer].steer;
            *slot = Some(match slot.take() {
                Some(sum) => sum + shift,
                None => shift,
            });
        }
        for (i, cap) in interventions.caps.iter().enumerate() {
            check("cap", i, cap.layer, &cap.direction)?;
            if !cap.tau.is_finite() {
                return Err(ModelError::InvalidIntervention(format!(
                    "cap {i}: tau {} is not finite",
                    cap.tau
                )));
            }
            let v = unit("cap", i, &cap.direction)?;
            let row = Tensor::<2>::from_data(TensorData::new(v.clone(), [1, hidden]), device);
            let col = Tensor::<2>::from_data(TensorData::new(v, [hidden, 1]), device);
            layers[cap.layer].caps.push((row, col, cap.tau));
        }

        // Group probes by layer (one matmul per layer), remembering where each one landed.
        let mut by_layer: Vec<Vec<(usize, Vec<f32>)>> = vec![Vec::new(); config.n_layers];
        for (i, probe) in interventions.probes.iter().enumerate() {
            check("probe", i, probe.layer, &probe.direction)?;
            by_layer[probe.layer].push((i, unit("probe", i, &probe.direction)?));
        }
        let mut column_of = vec![0usize; interventions.probes.len()];
        let mut next_column = 0;
        for (layer, probes) in by_layer.into_iter().enumerate() {
            if probes.is_empty() {
                continue;
            }
            let n = probes.len();
            // Column-major fill of a row-major [hidden, n] matrix.
            let mut matrix = vec![0.0f32; hidden * n];
            for (j, (i, v)) in probes.iter().enumerate() {
                column_of[*i] = next_column + j;
                for (r, &x) in v.iter().enumerate() {
                    matrix[r * n + j] = x;
                }
            }
            next_column += n;
            layers[layer].probes = Some(Tensor::from_data(
                TensorData::new(matrix, [hidden, n]),
                device,
            ));
        }
        let identity = column_of.iter().enumerate().all(|(i, &c)| i == c);
        let order = (!identity).then(|| {
            let idx: Vec<i64> = column_of.iter().map(|&c| c as i64).collect();
            let n = idx.len();
            Tensor::from_data(TensorData::new(idx, [n]), device)
        });

        Ok(Self {
            layers,
            n_probes: interventions.probes.len(),
            order,
        })
    }

    /// An empty set for `n_layers` blocks.
    pub fn none(n_layers: usize) -> Self {
        Self {
            layers: vec![LayerInterventions::default(); n_layers],
            n_probes: 0,
            order: None,
        }
    }

    /// Number of probes (columns of the probe output).
    pub fn n_probes(&self) -> usize {
        self.n_probes
    }

    /// Whether this prepared set was built for a model with `n_layers` blocks.
    pub(crate) fn n_layers(&self) -> usize {
        self.layers.len()
    }

    /// Apply steers and caps at `layer` to `h` (`[rows, hidden]`) and return the new `h` and
    /// the layer's probe values (`[rows, n_layer_probes]`), if any.
    pub(crate) fn apply(&self, layer: usize, mut h: Tensor<2>) -> (Tensor<2>, Option<Tensor<2>>) {
        let Some(ops) = self.layers.get(layer) else {
            return (h, None);
        };
        if let Some(shift) = &ops.steer {
            h = h + shift.clone();
        }
        for (row, col, tau) in &ops.caps {
            // A decode step on WebGPU: one dispatch of our own (model/gpu.rs) instead of five.
            #[cfg(webgpu)]
            if let Some(capped) = super::gpu::cap_one_row(&h, row, *tau) {
                h = capped;
                continue;
            }
            h = cap(h, row.clone(), col.clone(), *tau);
        }
        let probes = ops.probes.as_ref().map(|p| h.clone().matmul(p.clone()));
        (h, probes)
    }

    /// Put layer-grouped probe columns back into the order of [`Interventions::probes`].
    pub(crate) fn reorder(&self, grouped: Tensor<2>) -> Tensor<2> {
        match &self.order {
            Some(order) => grouped.select(1, order.clone()),
            None => grouped,
        }
    }
}

/// `h ← h − v·min(⟨h, v⟩ − τ, 0)` for unit `v` given as a row `[1, hidden]` and a column
/// `[hidden, 1]`; `h` is `[rows, hidden]`.
///
/// Where the projection is already at least `τ` the correction is exactly zero, so those rows
/// come back bit-identical.
pub fn cap(h: Tensor<2>, v_row: Tensor<2>, v_col: Tensor<2>, tau: f32) -> Tensor<2> {
    let projection = h.clone().matmul(v_col);
    let deficit = projection.sub_scalar(tau).clamp_max(0.0);
    h - deficit * v_row
}
