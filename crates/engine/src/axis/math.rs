//! Small vector helpers shared by the app (scores) and the lab (statistics).

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

/// `a / |a|`; `None` for a zero or non-finite vector (it has no direction).
pub fn unit(a: &[f32]) -> Option<Vec<f32>> {
    let n = norm(a);
    (n.is_finite() && n > 0.0).then(|| a.iter().map(|x| x / n).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_vectors_have_length_one_and_zero_has_no_direction() {
        let u = unit(&[3.0, 4.0]).expect("non-zero");
        assert_eq!(u, vec![0.6, 0.8]);
        assert!((norm(&u) - 1.0).abs() < 1e-6);
        assert!(unit(&[0.0, 0.0]).is_none());
        assert!(unit(&[f32::NAN, 1.0]).is_none());
        assert_eq!(dot(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
    }
}
