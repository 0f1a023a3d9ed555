//! Turning logits into the next token: frequency penalty, echo penalty, temperature, top-k,
//! top-p, seeded.
//!
//! Runs on the host: docs/design.md §3 — sorting is unavailable on burn's wasm backends. Only
//! the top-p prefix of the candidates is sorted (a full 49k-entry sort per token cost ~2 ms
//! natively, more in wasm).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::rng::SeededRng;

/// Tokens of context (this answer's last tokens) that, with the candidate, make the run an echo
/// penalty looks for in earlier answers: a candidate is penalised when it would repeat a
/// 4-token run of an earlier answer.
pub const ECHO_RUN: usize = 4;

/// How to pick tokens. Defaults follow what reads well for SmolLM2-135M (which loops under
/// greedy decoding): T = 0.5, frequency penalty 1.0 (as in Neuronpedia's demo), top-p 0.95, and
/// an echo penalty that keeps a multi-turn conversation from copying its earlier answers
/// (docs/repetition.md has the measurement behind the value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplingParams {
    /// 0 means greedy (argmax, lowest id on ties).
    pub temperature: f32,
    /// Keep only the k most likely tokens; 0 = off.
    pub top_k: usize,
    /// Keep the smallest set whose probability reaches p; 1.0 = off.
    pub top_p: f32,
    /// Subtracted from a token's logit once per earlier occurrence in the generated text
    /// (OpenAI's definition).
    pub frequency_penalty: f32,
    /// Subtracted from a token's logit when it would continue a run of [`ECHO_RUN`] tokens that
    /// appears in one of the conversation's earlier answers (see [`Sampler::avoid_echoes`]);
    /// 0 = off. The frequency penalty sees only the answer being written, so without this a
    /// small model answers turn after turn with the same text.
    pub echo_penalty: f32,
    pub seed: u64,
}

/// The default echo penalty (chosen in docs/repetition.md).
pub const DEFAULT_ECHO_PENALTY: f32 = 3.0;

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            temperature: 0.5,
            top_k: 0,
            top_p: 0.95,
            frequency_penalty: 1.0,
            echo_penalty: DEFAULT_ECHO_PENALTY,
            seed: 16,
        }
    }
}

impl SamplingParams {
    pub fn greedy() -> Self {
        SamplingParams {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            frequency_penalty: 0.0,
            echo_penalty: 0.0,
            seed: 0,
        }
    }

    /// How answers that build an axis are sampled (docs/design.md §1: the paper samples at
    /// T = 0.7, top-p 0.9). SmolLM2-135M loops without a penalty; a mild one keeps answers
    /// readable.
    pub fn axis_rollout() -> Self {
        SamplingParams {
            temperature: 0.7,
            top_k: 0,
            top_p: 0.9,
            frequency_penalty: 0.5,
            echo_penalty: 0.0,
            seed: 0,
        }
    }

    /// Rejects values that would make sampling meaningless (NaN, negative temperature…).
    pub fn validate(&self) -> Result<(), String> {
        if !self.temperature.is_finite() || self.temperature < 0.0 {
            return Err(format!("temperature must be ≥ 0, got {}", self.temperature));
        }
        if !self.top_p.is_finite() || self.top_p <= 0.0 || self.top_p > 1.0 {
            return Err(format!("top-p must be in (0, 1], got {}", self.top_p));
        }
        if !self.frequency_penalty.is_finite() {
            return Err("frequency penalty must be a finite number".to_owned());
        }
        if !self.echo_penalty.is_finite() || self.echo_penalty < 0.0 {
            return Err(format!(
                "echo penalty must be ≥ 0, got {}",
                self.echo_penalty
            ));
        }
        Ok(())
    }
}

/// Samples tokens for one sequence; remembers what it generated for the frequency penalty.
#[derive(Debug, Clone)]
pub struct Sampler {
    params: SamplingParams,
    rng: SeededRng,
    counts: Vec<u32>,
    /// This answer's tokens so far (their last `ECHO_RUN − 1` are the echo penalty's context).
    written: Vec<u32>,
    /// Runs of `ECHO_RUN − 1` tokens in earlier answers → the tokens that followed them there.
    echoes: HashMap<[u32; ECHO_RUN - 1], Vec<u32>>,
    /// Scratch buffers, reused across tokens.
    adjusted: Vec<f32>,
    order: Vec<u32>,
}

impl Sampler {
    pub fn new(params: SamplingParams, vocab_size: usize) -> Self {
        let rng = SeededRng::new(params.seed);
        Sampler {
            params,
            rng,
            counts: vec![0; vocab_size],
            written: Vec::new(),
            echoes: HashMap::new(),
            adjusted: Vec::new(),
            order: Vec::new(),
        }
    }

    pub fn params(&self) -> &SamplingParams {
        &self.params
    }

    /// Remembers the conversation's earlier answers (token ids of each, without the template
    /// around them), so that the echo penalty discourages repeating their runs of tokens.
    pub fn avoid_echoes(&mut self, earlier_answers: &[Vec<u32>]) {
        for answer in earlier_answers {
            for run in answer.windows(ECHO_RUN) {
                let mut key = [0u32; ECHO_RUN - 1];
                key.copy_from_slice(&run[..ECHO_RUN - 1]);
                let next = self.echoes.entry(key).or_default();
                if !next.contains(&run[ECHO_RUN - 1]) {
                    next.push(run[ECHO_RUN - 1]);
                }
            }
        }
    }

    /// Picks the next token from `logits` (one row, vocab-sized) and records it.
    pub fn sample(&mut self, logits: &[f32]) -> u32 {
        let token = self.choose(logits);
        if let Some(c) = self.counts.get_mut(token as usize) {
            *c += 1;
        }
        self.written.push(token);
        token
    }

    fn choose(&mut self, logits: &[f32]) -> u32 {
        self.adjusted.clear();
        self.adjusted.extend_from_slice(logits);
        if self.params.frequency_penalty != 0.0 {
            for (l, &c) in self.adjusted.iter_mut().zip(&self.counts) {
                *l -= self.params.frequency_penalty * c as f32;
            }
        }
        if self.params.echo_penalty != 0.0 && self.written.len() >= ECHO_RUN - 1 {
            let tail = &self.written[self.written.len() - (ECHO_RUN - 1)..];
            let mut key = [0u32; ECHO_RUN - 1];
            key.copy_from_slice(tail);
            for &t in self.echoes.get(&key).map_or(&[][..], Vec::as_slice) {
                if let Some(l) = self.adjusted.get_mut(t as usize) {
                    *l -= self.params.echo_penalty;
                }
            }
        }
        // NaN logits (a broken model) never win.
        for l in &mut self.adjusted {
            if l.is_nan() {
                *l = f32::NEG_INFINITY;
            }
        }
        if self.params.temperature == 0.0 {
            return argmax(&self.adjusted);
        }

        // Candidates in descending logit order (ties: lower id first, for determinism).
        let adjusted = &self.adjusted;
        self.order.clear();
        self.order.extend(0..adjusted.len() as u32);
        let by_logit_desc = |a: &u32, b: &u32| {
            adjusted[*b as usize]
                .total_cmp(&adjusted[*a as usize])
                .then(a.cmp(b))
        };
        let k = if self.params.top_k == 0 {
            adjusted.len()
        } else {
            self.params.top_k.min(adjusted.len())
        };
        if k < self.order.len() {
            self.order.select_nth_unstable_by(k, by_logit_desc);
            self.order.truncate(k);
        }
        let best = argmax(adjusted);
        if self.order.is_empty() {
            return 0;
        }
        let inv_t = 1.0 / f64::from(self.params.temperature);
        let max = f64::from(adjusted[best as usize]);
        let weight = |i: u32| ((f64::from(adjusted[i as usize]) - max) * inv_t).exp();
        // Top-p: the shortest prefix, in descending order, whose mass reaches p (always at least
        // one token). Sorting all 49k candidates every token cost ~2 ms natively; the prefix is
        // usually a few dozen tokens, so only the leading `sorted` candidates are put in order
        // (the `sorted` largest, chosen exactly, then sorted: the same prefix a full sort gives),
        // and more only when their mass falls short.
        let target = if self.params.top_p < 1.0 {
            // Weights below e^-40 (4e-18 of the largest, which is 1) are left out of the total:
            // all 49k of them together move it by less than 2e-13, and skipping their `exp`
            // (a library call in wasm) is most of this pass.
            let floor = max - 40.0 / inv_t;
            let total: f64 = self
                .order
                .iter()
                .filter(|&&i| f64::from(adjusted[i as usize]) >= floor)
                .map(|&i| weight(i))
                .sum();
            f64::from(self.params.top_p) * total
        } else {
            f64::INFINITY
        };
        let mut sorted = 0;
        let mut keep = None;
        let mut acc = 0.0;
        while keep.is_none() && sorted < self.order.len() {
            let upto = if target.is_finite() {
                (sorted.max(32) * 4).min(self.order.len())
            } else {
                self.order.len()
            };
            let rest = &mut self.order[sorted..];
            let want = upto - sorted;
            if want < rest.len() {
                rest.select_nth_unstable_by(want, by_logit_desc);
            }
            rest[..want].sort_unstable_by(by_logit_desc);
            for (n, &i) in self.order[sorted..upto].iter().enumerate() {
                acc += weight(i);
                if acc >= target {
                    keep = Some(sorted + n + 1);
                    break;
                }
            }
            sorted = upto;
        }
        let keep = keep.unwrap_or(self.order.len());
        let weights: Vec<f64> = self.order[..keep].iter().map(|&i| weight(i)).collect();
        let kept_total: f64 = weights.iter().sum();
        if !(kept_total.is_finite() && kept_total > 0.0) {
            return best;
        }
        let mut u = self.rng.next_f64() * kept_total;
        for (n, w) in weights.iter().enumerate() {
            if u < *w {
                return self.order[n];
            }
            u -= w;
        }
        self.order[keep - 1]
    }
}

/// Index of the largest value; the lowest index wins ties.
pub fn argmax(values: &[f32]) -> u32 {
    let mut best = 0usize;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sampler as it was before it sorted only the top-p prefix: every candidate sorted,
    /// every weight in the total. The optimised sampler must pick the same tokens.
    fn choose_by_full_sort(params: &SamplingParams, rng: &mut SeededRng, logits: &[f32]) -> u32 {
        let mut order: Vec<u32> = (0..logits.len() as u32).collect();
        let by_logit_desc = |a: &u32, b: &u32| {
            logits[*b as usize]
                .total_cmp(&logits[*a as usize])
                .then(a.cmp(b))
        };
        let k = if params.top_k == 0 {
            logits.len()
        } else {
            params.top_k.min(logits.len())
        };
        if k < order.len() {
            order.select_nth_unstable_by(k, by_logit_desc);
            order.truncate(k);
        }
        order.sort_unstable_by(by_logit_desc);
        let best = order[0];
        let inv_t = 1.0 / f64::from(params.temperature);
        let max = f64::from(logits[best as usize]);
        let weights: Vec<f64> = order
            .iter()
            .map(|&i| ((f64::from(logits[i as usize]) - max) * inv_t).exp())
            .collect();
        let total: f64 = weights.iter().sum();
        let mut keep = weights.len();
        if params.top_p < 1.0 {
            let target = f64::from(params.top_p) * total;
            let mut acc = 0.0;
            for (n, w) in weights.iter().enumerate() {
                acc += w;
                if acc >= target {
                    keep = n + 1;
                    break;
                }
            }
        }
        let kept_total: f64 = weights[..keep].iter().sum();
        let mut u = rng.next_f64() * kept_total;
        for (n, w) in weights[..keep].iter().enumerate() {
            if u < *w {
                return order[n];
            }
            u -= w;
        }
        order[keep - 1]
    }

    #[test]
    fn sorting_only_the_top_p_prefix_picks_what_a_full_sort_picks() {
        let mut gen_rng = SeededRng::new(7);
        let vocab = 4096;
        let mut checked = 0;
        for case in 0..60 {
            // Logit shapes from flat to peaked, with ties, and a long low tail.
            let spread = [1.0f32, 4.0, 12.0, 30.0][case % 4];
            let logits: Vec<f32> = (0..vocab)
                .map(|i| {
                    let u = gen_rng.next_f64() as f32;
                    let head = if i % 61 == 0 { spread } else { 0.0 };
                    ((u * spread) + head).round() / 2.0 - 20.0 * (i % 3 == 0) as u8 as f32
                })
                .collect();
            let params = SamplingParams {
                temperature: [0.3f32, 0.5, 1.0, 1.7][case % 4],
                top_k: [0usize, 0, 50, 5000][(case / 4) % 4],
                top_p: [0.95f32, 0.5, 0.999, 1.0][(case / 16) % 4],
                frequency_penalty: 0.0,
                echo_penalty: 0.0,
                seed: case as u64,
            };
            let mut sampler = Sampler::new(params.clone(), vocab);
            let mut reference = SeededRng::new(params.seed);
            for _ in 0..20 {
                let expected = choose_by_full_sort(&params, &mut reference, &logits);
                assert_eq!(sampler.choose(&logits), expected, "case {case}: {params:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, 1200);
    }

    #[test]
    fn greedy_takes_the_argmax_and_lowest_id_on_ties() {
        let mut s = Sampler::new(SamplingParams::greedy(), 4);
        assert_eq!(s.sample(&[0.1, 3.0, -1.0, 3.0]), 1);
        assert_eq!(s.sample(&[f32::NAN, 0.0, 0.5, 0.2]), 2);
    }

    #[test]
    fn frequency_penalty_discourages_repeats() {
        let params = SamplingParams {
            frequency_penalty: 1.0,
            ..SamplingParams::greedy()
        };
        let mut s = Sampler::new(params, 3);
        let logits = [2.0, 1.5, 0.0];
        assert_eq!(s.sample(&logits), 0); // 0 seen once → 1.0 < 1.5
        assert_eq!(s.sample(&logits), 1); // 1 seen once → 0.5; 0 → 1.0
        assert_eq!(s.sample(&logits), 0);
    }

    #[test]
    fn the_echo_penalty_steers_away_from_an_earlier_answers_run_only() {
        let params = SamplingParams {
            echo_penalty: 3.0,
            ..SamplingParams::greedy()
        };
        // An earlier answer ran 1 2 3 → 4. Token 4 is the favourite by 1.0 everywhere.
        let logits = [0.0, 0.0, 0.0, 0.0, 1.0, 0.5];
        let mut s = Sampler::new(params.clone(), 6);
        s.avoid_echoes(&[vec![1, 2, 3, 4]]);
        for t in [1, 2, 3] {
            s.written.push(t);
        }
        assert_eq!(s.sample(&logits), 5, "after 1 2 3, repeating 4 costs 3.0");
        // Another context: 4 is free again.
        let mut other = Sampler::new(params.clone(), 6);
        other.avoid_echoes(&[vec![1, 2, 3, 4]]);
        for t in [2, 2, 3] {
            other.written.push(t);
        }
        assert_eq!(other.sample(&logits), 4);
        // Off, the run repeats.
        let mut off = Sampler::new(SamplingParams::greedy(), 6);
        off.avoid_echoes(&[vec![1, 2, 3, 4]]);
        off.written.extend([1, 2, 3]);
        assert_eq!(off.sample(&logits), 4);
        assert!(
            SamplingParams {
                echo_penalty: -1.0,
                ..params
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn top_k_one_is_greedy_whatever_the_temperature() {
        let params = SamplingParams {
            temperature: 5.0,
            top_k: 1,
            top_p: 1.0,
            frequency_penalty: 0.0,
            echo_penalty: 0.0,
            seed: 3,
        };
        let mut s = Sampler::new(params, 5);
        for _ in 0..50 {
            assert_eq!(s.sample(&[0.0, 0.1, 0.3, 0.2, 0.25]), 2);
        }
    }

    #[test]
    fn top_p_cuts_the_tail() {
        // Probabilities ≈ [0.84, 0.11, 0.04, 0.01]: p = 0.8 keeps only the first.
        let params = SamplingParams {
            temperature: 1.0,
            top_k: 0,
            top_p: 0.8,
            frequency_penalty: 0.0,
            echo_penalty: 0.0,
            seed: 9,
        };
        let mut s = Sampler::new(params, 4);
        for _ in 0..200 {
            assert_eq!(s.sample(&[4.0, 2.0, 1.0, -0.5]), 0);
        }
    }

    #[test]
    fn sampling_follows_the_distribution_and_the_seed() {
        let params = SamplingParams {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            frequency_penalty: 0.0,
            echo_penalty: 0.0,
            seed: 42,
        };
        let logits = [0.0f32, (3.0f32).ln()]; // p = [0.25, 0.75]
        let mut s = Sampler::new(params.clone(), 2);
        let draws: Vec<u32> = (0..4000).map(|_| s.sample(&logits)).collect();
        let ones = draws.iter().filter(|&&t| t == 1).count() as f64 / 4000.0;
        assert!((ones - 0.75).abs() < 0.03, "frequency of token 1: {ones}");
        let mut again = Sampler::new(params, 2);
        let replay: Vec<u32> = (0..4000).map(|_| again.sample(&logits)).collect();
        assert_eq!(draws, replay);
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        assert!(
            SamplingParams {
                temperature: -1.0,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            SamplingParams {
                top_p: 0.0,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            SamplingParams {
                top_p: f32::NAN,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(SamplingParams::default().validate().is_ok());
    }
}
