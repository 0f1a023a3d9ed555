//! Deterministic train / held-out splits and per-role question samples.

use engine::generation::SeededRng;

/// Fisher–Yates shuffle driven by the engine's seeded generator (the same numbers everywhere).
pub fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = SeededRng::new(seed);
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// Indices `0..n` split into (train, held-out), held-out ≈ `held_out_fraction`, both sorted.
pub fn train_held_out(n: usize, held_out_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let order = shuffled(n, seed);
    let n_held = ((n as f64) * held_out_fraction).round() as usize;
    let mut held: Vec<usize> = order[..n_held.min(n)].to_vec();
    let mut train: Vec<usize> = order[n_held.min(n)..].to_vec();
    held.sort_unstable();
    train.sort_unstable();
    (train, held)
}

/// `k` distinct items of `pool`, chosen with `seed` (all of them when `k ≥ pool.len()`).
pub fn sample(pool: &[usize], k: usize, seed: u64) -> Vec<usize> {
    shuffled(pool.len(), seed)
        .into_iter()
        .take(k)
        .map(|i| pool[i])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_are_disjoint_complete_and_seeded() {
        let (train, held) = train_held_out(196, 0.2, 7);
        assert_eq!(train.len() + held.len(), 196);
        assert_eq!(held.len(), 39);
        assert!(held.iter().all(|h| !train.contains(h)));
        assert_eq!(train_held_out(196, 0.2, 7), (train.clone(), held.clone()));
        assert_ne!(train_held_out(196, 0.2, 8).1, held);
    }

    #[test]
    fn samples_are_distinct_members_of_the_pool() {
        let pool = [3, 9, 12, 40, 41, 77];
        let s = sample(&pool, 4, 1);
        assert_eq!(s.len(), 4);
        assert!(s.iter().all(|x| pool.contains(x)));
        let mut d = s.clone();
        d.sort_unstable();
        d.dedup();
        assert_eq!(d.len(), 4);
        assert_eq!(sample(&pool, 10, 1).len(), 6);
    }
}
