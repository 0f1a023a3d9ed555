//! A diagnostic beside the axis, never shipped: how well *any* single direction separates
//! default from role answers at a layer. The paper's axis is the difference of means, which is
//! the best direction only when every direction of the residual stream is equally noisy. Where
//! a few directions carry large answer-to-answer variance (topics, lengths, outlier features),
//! the difference of means points partly along them and separates worse than the data allow.
//! Linear discriminant analysis divides that noise out: w = (Σ + λI)⁻¹ (mean₁ − mean₀), with Σ
//! the pooled within-class covariance and λ a ridge that keeps the solve stable when there are
//! fewer answers than dimensions. Scoring held-out answers along w tells apart "the model does
//! not separate the personas" from "the difference of means is a poor direction here".

use crate::stats::mean_of;

/// The ridge as a fraction of the mean variance per dimension (trace(Σ) / hidden).
pub const SHRINKAGE: f64 = 0.1;

/// The discriminant direction between two sets of rows (all of one width), unnormalised;
/// `None` when a set is empty, widths differ, or the values are not finite.
pub fn discriminant_direction(
    positive: &[&[f32]],
    negative: &[&[f32]],
    shrinkage: f64,
) -> Option<Vec<f32>> {
    let width = positive.first()?.len();
    if negative.is_empty()
        || width == 0
        || positive.iter().chain(negative).any(|r| r.len() != width)
    {
        return None;
    }
    let widen = |m: Vec<f32>| -> Vec<f64> { m.into_iter().map(f64::from).collect() };
    let mean_pos = widen(mean_of(positive)?);
    let mean_neg = widen(mean_of(negative)?);
    // Pooled within-class scatter, lower triangle, f64: sums over ~10³ rows of f32 values.
    let mut cov = vec![0.0f64; width * width];
    let mut centred = vec![0.0f64; width];
    for (rows, m) in [(positive, &mean_pos), (negative, &mean_neg)] {
        for row in rows.iter() {
            for (c, (x, mu)) in centred.iter_mut().zip(row.iter().zip(m.iter())) {
                *c = f64::from(*x) - mu;
            }
            for i in 0..width {
                let ci = centred[i];
                let line = &mut cov[i * width..i * width + i + 1];
                for (slot, cj) in line.iter_mut().zip(&centred[..=i]) {
                    *slot += ci * cj;
                }
            }
        }
    }
    let dof = (positive.len() + negative.len()).saturating_sub(2).max(1) as f64;
    cov.iter_mut().for_each(|c| *c /= dof);
    let trace: f64 = (0..width).map(|i| cov[i * width + i]).sum();
    let ridge = shrinkage * trace / width as f64;
    for i in 0..width {
        cov[i * width + i] += ridge.max(f64::MIN_POSITIVE);
    }
    let diff: Vec<f64> = mean_pos.iter().zip(&mean_neg).map(|(a, b)| a - b).collect();
    let w = cholesky_solve(&mut cov, width, &diff)?;
    w.iter()
        .all(|x| x.is_finite())
        .then(|| w.iter().map(|&x| x as f32).collect())
}

/// Solves A x = b for a symmetric positive-definite A given by its lower triangle (row-major
/// `n × n`, overwritten by its Cholesky factor); `None` when A is not positive definite.
fn cholesky_solve(a: &mut [f64], n: usize, b: &[f64]) -> Option<Vec<f64>> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        // Not positive (or NaN): not positive definite.
        if d.is_nan() || d <= 0.0 {
            return None;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    // L y = b, then Lᵀ x = y.
    let mut y = b.to_vec();
    for i in 0..n {
        for k in 0..i {
            y[i] -= a[i * n + k] * y[k];
        }
        y[i] /= a[i * n + i];
    }
    for i in (0..n).rev() {
        for k in i + 1..n {
            y[i] -= a[k * n + i] * y[k];
        }
        y[i] /= a[i * n + i];
    }
    Some(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{auroc, dot};

    /// Deterministic noise in [-1, 1) (a 64-bit LCG), so the test needs no RNG crate.
    fn noise(state: &mut u64) -> f32 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    #[test]
    fn the_direction_ignores_a_noisy_dimension_the_difference_of_means_follows() {
        // The classes differ by 1 in both dimensions; dimension 0 also carries noise of
        // amplitude 20, dimension 1 of amplitude 0.2.
        let mut s = 7;
        let mut make = |shift: f32| -> Vec<Vec<f32>> {
            (0..400)
                .map(|_| vec![shift + 20.0 * noise(&mut s), shift + 0.2 * noise(&mut s)])
                .collect()
        };
        let (pos, neg) = (make(1.0), make(0.0));
        let (pos, neg): (Vec<&[f32]>, Vec<&[f32]>) = (
            pos.iter().map(Vec::as_slice).collect(),
            neg.iter().map(Vec::as_slice).collect(),
        );
        let w = discriminant_direction(&pos, &neg, 1e-6).expect("direction");
        assert!(w[1].abs() > 50.0 * w[0].abs(), "{w:?}");
        let score =
            |rows: &[&[f32]], v: &[f32]| -> Vec<f32> { rows.iter().map(|r| dot(r, v)).collect() };
        let lda = auroc(&score(&pos, &w), &score(&neg, &w)).expect("auroc");
        let means = auroc(&score(&pos, &[1.0, 1.0]), &score(&neg, &[1.0, 1.0])).expect("auroc");
        assert!(
            lda > 0.99 && means < 0.6,
            "lda {lda}, difference of means {means}"
        );
    }

    #[test]
    fn with_equal_noise_everywhere_it_is_the_difference_of_means() {
        let mut s = 11;
        let mut make = |shift: [f32; 3]| -> Vec<Vec<f32>> {
            (0..2000)
                .map(|_| shift.iter().map(|m| m + noise(&mut s)).collect())
                .collect()
        };
        let (pos, neg) = (make([2.0, -1.0, 0.5]), make([0.0, 0.0, 0.0]));
        let (pos, neg): (Vec<&[f32]>, Vec<&[f32]>) = (
            pos.iter().map(Vec::as_slice).collect(),
            neg.iter().map(Vec::as_slice).collect(),
        );
        let w = discriminant_direction(&pos, &neg, SHRINKAGE).expect("direction");
        let norm = dot(&w, &w).sqrt();
        let expected = [2.0f32, -1.0, 0.5];
        let cos = dot(&w, &expected) / norm / dot(&expected, &expected).sqrt();
        assert!(cos > 0.99, "cos {cos}, {w:?}");
    }

    #[test]
    fn empty_or_ragged_input_has_no_direction() {
        let a = [1.0f32, 2.0];
        let b = [1.0f32];
        assert!(discriminant_direction(&[&a], &[], SHRINKAGE).is_none());
        assert!(discriminant_direction(&[&a], &[&b], SHRINKAGE).is_none());
        assert!(discriminant_direction(&[&[f32::NAN, 0.0]], &[&a], SHRINKAGE).is_none());
    }
}
