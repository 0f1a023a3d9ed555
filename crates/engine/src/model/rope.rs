//! Rotary position embeddings.
//!
//! Angles are computed on the host for exactly the positions of one forward pass (per sequence,
//! so left-padded rows get their own positions) and uploaded as two small tensors shared by all
//! layers. The arithmetic follows HF transformers in f32 (`inv_freq = 1 / base^(2i/d)`,
//! `angle = pos · inv_freq`), so our angles round like the reference's.

use burn::tensor::{Device, Tensor, TensorData};

use super::RopeStyle;

/// Per-position cosines and sines, shaped to broadcast over `[batch, seq, heads, head_dim/2]`.
#[derive(Debug, Clone)]
pub struct RopeAngles {
    /// `cos(angle)`, `[batch, seq, 1, head_dim/2]`.
    pub cos: Tensor<4>,
    /// `sin(angle)`, `[batch, seq, 1, head_dim/2]`.
    pub sin: Tensor<4>,
}

/// The inverse frequencies `1 / base^(2i/d)` for `i < d/2`, in f32 like HF.
pub fn inverse_frequencies(base: f32, head_dim: usize) -> Vec<f32> {
    (0..head_dim / 2)
        .map(|i| 1.0 / base.powf((2 * i) as f32 / head_dim as f32))
        .collect()
}

impl RopeAngles {
    /// Angles for `positions` (row-major `[batch, seq]`).
    pub fn new(
        inv_freq: &[f32],
        positions: &[usize],
        batch: usize,
        seq: usize,
        device: &Device,
    ) -> Self {
        let half = inv_freq.len();
        let mut cos = Vec::with_capacity(positions.len() * half);
        let mut sin = Vec::with_capacity(positions.len() * half);
        for &p in positions {
            for &f in inv_freq {
                let angle = p as f32 * f;
                cos.push(angle.cos());
                sin.push(angle.sin());
            }
        }
        let shape = [batch, seq, 1, half];
        Self {
            cos: Tensor::from_data(TensorData::new(cos, shape), device),
            sin: Tensor::from_data(TensorData::new(sin, shape), device),
        }
    }

    /// Rotate `x` (`[batch, seq, heads, head_dim]`).
    pub fn apply(&self, x: Tensor<4>, style: RopeStyle) -> Tensor<4> {
        let [b, s, h, d] = x.dims();
        let half = d / 2;
        match style {
            RopeStyle::AdjacentPairs => {
                // View each head as `half` pairs (x[2i], x[2i+1]).
                let x = x.reshape([b, s, h, half, 2]);
                let x0 = x.clone().narrow(4, 0, 1);
                let x1 = x.narrow(4, 1, 1);
                let cos = self.cos.clone().unsqueeze_dim::<5>(4);
                let sin = self.sin.clone().unsqueeze_dim::<5>(4);
                let r0 = x0.clone() * cos.clone() - x1.clone() * sin.clone();
                let r1 = x0 * sin + x1 * cos;
                Tensor::cat(vec![r0, r1], 4).reshape([b, s, h, d])
            }
            RopeStyle::Halves => {
                let x0 = x.clone().narrow(3, 0, half);
                let x1 = x.narrow(3, half, half);
                let r0 = x0.clone() * self.cos.clone() - x1.clone() * self.sin.clone();
                let r1 = x1 * self.cos.clone() + x0 * self.sin.clone();
                Tensor::cat(vec![r0, r1], 3)
            }
        }
    }
}
