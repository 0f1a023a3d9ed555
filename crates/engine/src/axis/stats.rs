//! Small numeric tools for building axes: means, percentiles, AUROC and PCA (through the Gram
//! matrix, since there are far fewer role vectors than hidden dimensions). Shared by the native
//! lab and the browser's quick axis build.

pub use super::math::dot;

/// Element-wise mean of equally long vectors (`None` when there are none).
pub fn mean_of(vectors: &[&[f32]]) -> Option<Vec<f32>> {
    let first = vectors.first()?;
    let mut sum = vec![0.0f64; first.len()];
    for v in vectors {
        for (s, x) in sum.iter_mut().zip(v.iter()) {
            *s += f64::from(*x);
        }
    }
    let n = vectors.len() as f64;
    Some(sum.into_iter().map(|s| (s / n) as f32).collect())
}

/// Percentile `q` in [0, 100] with linear interpolation between order statistics (NumPy's
/// default), `None` for an empty sample.
pub fn percentile(values: &[f32], q: f32) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let rank = f64::from(q.clamp(0.0, 100.0)) / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    let frac = (rank - lo as f64) as f32;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}

/// The 95 % Wilson score interval of a proportion `hits / n`: (low, high), or `None` for
/// `n = 0`. Unlike the normal approximation it stays inside [0, 1] and is honest at 0 or n hits.
pub fn wilson_interval(hits: usize, n: usize) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    const Z: f64 = 1.959_963_984_540_054;
    let (k, n) = (hits.min(n) as f64, n as f64);
    let p = k / n;
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// Probability that a random `positive` value exceeds a random `negative` one (ties count
/// half): the area under the ROC curve of "value separates the two groups".
pub fn auroc(positive: &[f32], negative: &[f32]) -> Option<f64> {
    if positive.is_empty() || negative.is_empty() {
        return None;
    }
    let mut wins = 0.0f64;
    for p in positive {
        for n in negative {
            wins += match p.total_cmp(n) {
                std::cmp::Ordering::Greater => 1.0,
                std::cmp::Ordering::Equal => 0.5,
                std::cmp::Ordering::Less => 0.0,
            };
        }
    }
    Some(wins / (positive.len() * negative.len()) as f64)
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let d = dot(a, a).sqrt() * dot(b, b).sqrt();
    if d > 0.0 { dot(a, b) / d } else { 0.0 }
}

/// Principal components of some rows.
#[derive(Debug, Clone)]
pub struct Pca {
    /// `[k][dim]`, unit vectors.
    pub components: Vec<Vec<f32>>,
    /// Fraction of the total variance each component explains.
    pub explained: Vec<f32>,
    /// `[row][k]`: each (centred) row's coordinates.
    pub coords: Vec<Vec<f32>>,
}

/// PCA of `rows` (mean-centred first), keeping `k` components (fewer if there are fewer
/// rows). Uses the eigenvectors of the `rows × rows` Gram matrix (cyclic Jacobi).
pub fn pca(rows: &[&[f32]], k: usize) -> Option<Pca> {
    let n = rows.len();
    let centre = mean_of(rows)?;
    let dim = centre.len();
    let centred: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .zip(&centre)
                .map(|(x, c)| f64::from(x - c))
                .collect()
        })
        .collect();
    let mut gram = vec![vec![0.0f64; n]; n];
    for i in 0..n {
        for j in i..n {
            let g: f64 = centred[i].iter().zip(&centred[j]).map(|(a, b)| a * b).sum();
            gram[i][j] = g;
            gram[j][i] = g;
        }
    }
    let (values, vectors) = jacobi_eigen(gram);
    let total: f64 = values.iter().map(|v| v.max(0.0)).sum();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let k = k.min(n);
    let mut components = Vec::with_capacity(k);
    let mut explained = Vec::with_capacity(k);
    let mut coords = vec![Vec::with_capacity(k); n];
    for &idx in order.iter().take(k) {
        let lambda = values[idx].max(0.0);
        let u: Vec<f64> = vectors.iter().map(|row| row[idx]).collect();
        let mut comp = vec![0.0f64; dim];
        for (ui, row) in u.iter().zip(&centred) {
            for (c, x) in comp.iter_mut().zip(row) {
                *c += ui * x;
            }
        }
        let norm = comp.iter().map(|c| c * c).sum::<f64>().sqrt();
        if norm > 0.0 {
            comp.iter_mut().for_each(|c| *c /= norm);
        }
        for (i, row) in centred.iter().enumerate() {
            coords[i].push(row.iter().zip(&comp).map(|(a, b)| a * b).sum::<f64>() as f32);
        }
        components.push(comp.into_iter().map(|c| c as f32).collect());
        explained.push(if total > 0.0 {
            (lambda / total) as f32
        } else {
            0.0
        });
    }
    Some(Pca {
        components,
        explained,
        coords,
    })
}

impl Pca {
    /// Flips component `i` (and the coordinates) so that it points along `direction`.
    pub fn orient(&mut self, i: usize, direction: &[f32]) {
        if self
            .components
            .get(i)
            .is_some_and(|c| dot(c, direction) < 0.0)
        {
            self.components[i].iter_mut().for_each(|x| *x = -*x);
            for row in &mut self.coords {
                row[i] = -row[i];
            }
        }
    }
}

/// Eigenvalues and eigenvectors (as columns) of a symmetric matrix, by cyclic Jacobi rotations.
fn jacobi_eigen(mut a: Vec<Vec<f64>>) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut v = vec![vec![0.0f64; n]; n];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    let scale: f64 = a.iter().flatten().map(|x| x * x).sum::<f64>().sqrt();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-12 * scale.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..n {
            for q in (p + 1)..n {
                if a[p][q].abs() <= f64::MIN_POSITIVE {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let (akp, akq) = (row[p], row[q]);
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                let (head, tail) = a.split_at_mut(q);
                for (x, y) in head[p].iter_mut().zip(tail[0].iter_mut()) {
                    let (apk, aqk) = (*x, *y);
                    *x = c * apk - s * aqk;
                    *y = s * apk + c * aqk;
                }
                for row in v.iter_mut() {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i][i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_match_numpy_linear_interpolation() {
        let v = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        // numpy.percentile(v, [0, 25, 50, 90, 100]) = [1, 1.75, 3.5, 6.9, 9]
        let expect = [
            (0.0, 1.0),
            (25.0, 1.75),
            (50.0, 3.5),
            (90.0, 6.9),
            (100.0, 9.0),
        ];
        for (q, e) in expect {
            let got = percentile(&v, q).expect("non-empty");
            assert!((got - e).abs() < 1e-5, "p{q}: {got} vs {e}");
        }
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn wilson_intervals_match_the_textbook_values() {
        // statsmodels.stats.proportion.proportion_confint(7, 64, method="wilson")
        // = (0.0540, 0.2090); (0, 10) = (0, 0.2775); (50, 50) = (0.9287, 1).
        let close = |a: f64, b: f64| (a - b).abs() < 5e-4;
        let (lo, hi) = wilson_interval(7, 64).expect("n > 0");
        assert!(close(lo, 0.0540) && close(hi, 0.2090), "{lo} {hi}");
        let (lo, hi) = wilson_interval(0, 10).expect("n > 0");
        assert!(lo == 0.0 && close(hi, 0.2775), "{lo} {hi}");
        let (lo, hi) = wilson_interval(50, 50).expect("n > 0");
        assert!(close(lo, 0.9287) && hi == 1.0, "{lo} {hi}");
        assert_eq!(wilson_interval(0, 0), None);
    }

    #[test]
    fn auroc_counts_wins_and_ties() {
        assert_eq!(auroc(&[3.0, 4.0], &[1.0, 2.0]), Some(1.0));
        assert_eq!(auroc(&[1.0], &[1.0]), Some(0.5));
        assert_eq!(auroc(&[1.0, 3.0], &[2.0]), Some(0.5));
        assert_eq!(auroc(&[], &[2.0]), None);
    }

    #[test]
    fn pca_finds_the_direction_of_largest_spread() {
        // Points spread along (1, 1, 0) with a little noise along (1, -1, 0), uncorrelated
        // with the spread (each t appears once with +e and once with -e).
        let rows: Vec<Vec<f32>> = (0..20)
            .map(|i| {
                let t = (i / 2) as f32 - 4.5;
                let e = if i % 2 == 0 { 0.3 } else { -0.3 };
                vec![t + e, t - e, 1.0]
            })
            .collect();
        let refs: Vec<&[f32]> = rows.iter().map(|r| r.as_slice()).collect();
        let mut p = pca(&refs, 2).expect("rows");
        p.orient(0, &[1.0, 1.0, 0.0]);
        let c = &p.components[0];
        let s = std::f32::consts::FRAC_1_SQRT_2;
        assert!(
            (c[0] - s).abs() < 1e-4 && (c[1] - s).abs() < 1e-4 && c[2].abs() < 1e-4,
            "{c:?}"
        );
        assert!(
            p.explained[0] > 0.98 && p.explained[1] > 0.0,
            "{:?}",
            p.explained
        );
        assert!((p.explained.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        // Coordinates reproduce the centred rows' projections.
        assert!(
            (p.coords[19][0] - 4.5 * 2f32.sqrt()).abs() < 1e-3,
            "{}",
            p.coords[19][0]
        );
    }
}
