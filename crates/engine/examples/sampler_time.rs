//! How long the sampler takes per token over a 49,152-entry vocabulary (SmolLM2's), with the
//! page's default sampling and greedy: `cargo run --release -p assistant-axis-engine --example
//! sampler_time`. Not a test (nothing is asserted); run it on an idle machine, before and after
//! a change to `generation::sampler`, and compare the printed token sums to see that the same
//! tokens were picked.

use std::time::Instant;

use engine::generation::{Sampler, SamplingParams};

fn main() {
    let vocab = 49_152;
    // Logits shaped like a language model's: a few dozen far ahead, a long tail 25 logits wide.
    let mut x: u64 = 1;
    let logits: Vec<f32> = (0..vocab)
        .map(|i| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (x >> 40) as f32 / (1u64 << 24) as f32;
            if i % 997 == 0 {
                10.0 + 10.0 * u
            } else {
                -15.0 + 20.0 * u
            }
        })
        .collect();
    let tokens = 200;
    for (label, params) in [
        ("default sampling", SamplingParams::default()),
        ("greedy", SamplingParams::greedy()),
    ] {
        let mut sampler = Sampler::new(params, vocab);
        let started = Instant::now();
        let sum: u64 = (0..tokens)
            .map(|_| u64::from(sampler.sample(&logits)))
            .sum();
        let ms = started.elapsed().as_secs_f64() * 1e3 / f64::from(tokens);
        println!("{label}: {ms:.3} ms/token (sum of the {tokens} token ids: {sum})");
    }
}
