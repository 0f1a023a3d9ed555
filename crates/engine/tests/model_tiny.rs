//! Fast tests of the forward pass on a tiny random model built in memory: a naive host
//! reference, KV-cache and batching equivalences, and the intervention semantics.

use burn::tensor::{Device, Tensor, TensorData};
use engine::gguf::GgmlType;
use engine::model::{
    Architecture, Cap, ForwardOptions, ForwardReadout, Interventions, KvCache, LlamaConfig,
    LlamaModel, LogitsMode, MemorySource, ModelError, Probe, RopeStyle, Steer, WeightMode, Weights,
    cap,
};

const HIDDEN: usize = 32;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const HEAD_DIM: usize = 8;
const FFN: usize = 64;
const LAYERS: usize = 3;
const VOCAB: usize = 96;

/// Deterministic pseudo-random numbers (xorshift), uniform in [-1, 1).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.next() * scale).collect()
    }
}

fn config(style: RopeStyle) -> LlamaConfig {
    LlamaConfig {
        architecture: Architecture::Llama,
        n_layers: LAYERS,
        hidden_size: HIDDEN,
        ffn_size: FFN,
        n_heads: HEADS,
        n_kv_heads: KV_HEADS,
        head_dim: HEAD_DIM,
        rope_base: 10_000.0,
        rope_style: style,
        rms_eps: 1e-5,
        context_length: 256,
        vocab_size: VOCAB,
        qkv_bias: false,
        tied_embeddings: true,
    }
}

fn source(seed: u64) -> MemorySource {
    let mut rng = Rng(seed);
    let mut s = MemorySource::default();
    let kv = KV_HEADS * HEAD_DIM;
    s.insert(
        "token_embd.weight",
        vec![HIDDEN, VOCAB],
        rng.vec(HIDDEN * VOCAB, 1.0),
    );
    s.insert(
        "output_norm.weight",
        vec![HIDDEN],
        rng.vec(HIDDEN, 0.2).iter().map(|x| 1.0 + x).collect(),
    );
    for l in 0..LAYERS {
        let n = |t: &str| format!("blk.{l}.{t}.weight");
        let w = 0.3;
        s.insert(
            n("attn_norm"),
            vec![HIDDEN],
            rng.vec(HIDDEN, 0.2).iter().map(|x| 1.0 + x).collect(),
        );
        s.insert(
            n("ffn_norm"),
            vec![HIDDEN],
            rng.vec(HIDDEN, 0.2).iter().map(|x| 1.0 + x).collect(),
        );
        s.insert(
            n("attn_q"),
            vec![HIDDEN, HIDDEN],
            rng.vec(HIDDEN * HIDDEN, w),
        );
        s.insert(n("attn_k"), vec![HIDDEN, kv], rng.vec(HIDDEN * kv, w));
        s.insert(n("attn_v"), vec![HIDDEN, kv], rng.vec(HIDDEN * kv, w));
        s.insert(
            n("attn_output"),
            vec![HIDDEN, HIDDEN],
            rng.vec(HIDDEN * HIDDEN, w),
        );
        s.insert(n("ffn_gate"), vec![HIDDEN, FFN], rng.vec(HIDDEN * FFN, w));
        s.insert(n("ffn_up"), vec![HIDDEN, FFN], rng.vec(HIDDEN * FFN, w));
        s.insert(n("ffn_down"), vec![FFN, HIDDEN], rng.vec(FFN * HIDDEN, w));
    }
    s
}

fn device() -> Device {
    Device::flex()
}

fn tiny_model(style: RopeStyle, mode: WeightMode) -> LlamaModel {
    let cfg = config(style);
    let weights = Weights::from_source(&source(7), &cfg, mode, &device()).expect("tiny weights");
    LlamaModel::from_parts(cfg, weights, &device())
}

fn run(
    model: &LlamaModel,
    cache: &mut KvCache,
    tokens: &[&[u32]],
    interventions: Option<&Interventions>,
    options: &ForwardOptions,
) -> ForwardReadout {
    let prepared = interventions.map(|i| model.prepare(i).expect("valid interventions"));
    model
        .forward(cache, tokens, prepared.as_ref(), options)
        .expect("forward")
        .read_blocking()
        .expect("readback")
}

fn all_logits() -> ForwardOptions {
    ForwardOptions {
        logits: LogitsMode::All,
        capture_layers: vec![],
    }
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

// ---------- naive host reference ----------

fn rms(x: &[f32], w: &[f32]) -> Vec<f32> {
    let ms = x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32;
    let inv = 1.0 / (ms + 1e-5).sqrt();
    x.iter().zip(w).map(|(v, g)| v * inv * g).collect()
}

/// `y = W x` for a GGUF matrix stored `[out][in]`.
fn matvec(w: &[f32], x: &[f32], out: usize) -> Vec<f32> {
    let inp = x.len();
    (0..out)
        .map(|o| (0..inp).map(|i| w[o * inp + i] * x[i]).sum())
        .collect()
}

fn rope(x: &mut [f32], pos: usize, style: RopeStyle) {
    let half = HEAD_DIM / 2;
    for i in 0..half {
        let f = 1.0 / 10_000f32.powf((2 * i) as f32 / HEAD_DIM as f32);
        let (s, c) = (pos as f32 * f).sin_cos();
        let (a, b) = match style {
            RopeStyle::AdjacentPairs => (2 * i, 2 * i + 1),
            RopeStyle::Halves => (i, i + half),
        };
        let (x0, x1) = (x[a], x[b]);
        x[a] = x0 * c - x1 * s;
        x[b] = x0 * s + x1 * c;
    }
}

/// Logits at every position of one sequence, computed with plain loops.
fn reference_logits(src: &MemorySource, tokens: &[u32], style: RopeStyle) -> Vec<Vec<f32>> {
    let t = |name: &str| &src.tensors[name].1;
    let kvd = KV_HEADS * HEAD_DIM;
    let group = HEADS / KV_HEADS;
    let emb = t("token_embd.weight");
    let mut hs: Vec<Vec<f32>> = tokens
        .iter()
        .map(|&id| emb[id as usize * HIDDEN..(id as usize + 1) * HIDDEN].to_vec())
        .collect();
    for l in 0..LAYERS {
        let n = |s: &str| format!("blk.{l}.{s}.weight");
        let mut ks = Vec::new();
        let mut vs = Vec::new();
        let mut qs = Vec::new();
        for (pos, h) in hs.iter().enumerate() {
            let x = rms(h, t(&n("attn_norm")));
            let mut q = matvec(t(&n("attn_q")), &x, HIDDEN);
            let mut k = matvec(t(&n("attn_k")), &x, kvd);
            let mut v = matvec(t(&n("attn_v")), &x, kvd);
            // Qwen2-style biases, when the source has them.
            for (out, name) in [(&mut q, "attn_q"), (&mut k, "attn_k"), (&mut v, "attn_v")] {
                if let Some((_, b)) = src.tensors.get(&format!("blk.{l}.{name}.bias")) {
                    out.iter_mut().zip(b).for_each(|(o, b)| *o += b);
                }
            }
            for hq in 0..HEADS {
                rope(&mut q[hq * HEAD_DIM..(hq + 1) * HEAD_DIM], pos, style);
            }
            for hk in 0..KV_HEADS {
                rope(&mut k[hk * HEAD_DIM..(hk + 1) * HEAD_DIM], pos, style);
            }
            qs.push(q);
            ks.push(k);
            vs.push(v);
        }
        for (i, h) in hs.iter_mut().enumerate() {
            let mut attn = vec![0.0f32; HIDDEN];
            for hq in 0..HEADS {
                let hk = hq / group;
                let q = &qs[i][hq * HEAD_DIM..(hq + 1) * HEAD_DIM];
                let scores: Vec<f32> = (0..=i)
                    .map(|j| {
                        let k = &ks[j][hk * HEAD_DIM..(hk + 1) * HEAD_DIM];
                        q.iter().zip(k).map(|(a, b)| a * b).sum::<f32>() / (HEAD_DIM as f32).sqrt()
                    })
                    .collect();
                let m = scores.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                let e: Vec<f32> = scores.iter().map(|s| (s - m).exp()).collect();
                let z: f32 = e.iter().sum();
                for (j, w) in e.iter().enumerate() {
                    for d in 0..HEAD_DIM {
                        attn[hq * HEAD_DIM + d] += w / z * vs[j][hk * HEAD_DIM + d];
                    }
                }
            }
            let o = matvec(t(&n("attn_output")), &attn, HIDDEN);
            h.iter_mut().zip(&o).for_each(|(a, b)| *a += b);
            let x = rms(h, t(&n("ffn_norm")));
            let g = matvec(t(&n("ffn_gate")), &x, FFN);
            let u = matvec(t(&n("ffn_up")), &x, FFN);
            let a: Vec<f32> = g
                .iter()
                .zip(&u)
                .map(|(g, u)| g / (1.0 + (-g).exp()) * u)
                .collect();
            let d = matvec(t(&n("ffn_down")), &a, HIDDEN);
            h.iter_mut().zip(&d).for_each(|(a, b)| *a += b);
        }
    }
    hs.iter()
        .map(|h| {
            let x = rms(h, t("output_norm.weight"));
            matvec(emb, &x, VOCAB)
        })
        .collect()
}

const PROMPT: [u32; 7] = [3, 17, 42, 5, 88, 1, 60];

#[test]
fn forward_matches_naive_reference_for_both_rope_styles() {
    for style in [RopeStyle::AdjacentPairs, RopeStyle::Halves] {
        let model = tiny_model(style, WeightMode::F32);
        let mut cache = model.new_cache(1);
        let out = run(&model, &mut cache, &[&PROMPT], None, &all_logits());
        let reference = reference_logits(&source(7), &PROMPT, style);
        for (p, want) in reference.iter().enumerate() {
            let got = out.row_logits(0, p).expect("logits");
            let d = max_abs_diff(got, want);
            assert!(d < 1e-4, "{style:?} position {p}: max |Δ| = {d}");
        }
    }
}

#[test]
fn qwen2_style_qkv_bias_matches_reference() {
    let mut cfg = config(RopeStyle::Halves);
    cfg.architecture = Architecture::Qwen2;
    cfg.qkv_bias = true;
    let mut src = source(7);
    let mut rng = Rng(99);
    let kv = KV_HEADS * HEAD_DIM;
    for l in 0..LAYERS {
        src.insert(
            format!("blk.{l}.attn_q.bias"),
            vec![HIDDEN],
            rng.vec(HIDDEN, 0.5),
        );
        src.insert(format!("blk.{l}.attn_k.bias"), vec![kv], rng.vec(kv, 0.5));
        src.insert(format!("blk.{l}.attn_v.bias"), vec![kv], rng.vec(kv, 0.5));
    }
    let weights = Weights::from_source(&src, &cfg, WeightMode::F32, &device()).expect("weights");
    let model = LlamaModel::from_parts(cfg, weights, &device());
    let out = run(
        &model,
        &mut model.new_cache(1),
        &[&PROMPT],
        None,
        &all_logits(),
    );
    let reference = reference_logits(&src, &PROMPT, RopeStyle::Halves);
    let unbiased = reference_logits(&source(7), &PROMPT, RopeStyle::Halves);
    for (p, want) in reference.iter().enumerate() {
        let got = out.row_logits(0, p).expect("logits");
        assert!(max_abs_diff(got, want) < 1e-4, "position {p}");
    }
    assert!(
        max_abs_diff(&reference[3], &unbiased[3]) > 1e-3,
        "the biases must matter"
    );
}

#[test]
fn rope_styles_differ() {
    // Guards against a RoPE that ignores its style (the llama.cpp permutation trap).
    let a = tiny_model(RopeStyle::AdjacentPairs, WeightMode::F32);
    let b = tiny_model(RopeStyle::Halves, WeightMode::F32);
    let la = run(
        &a,
        &mut a.new_cache(1),
        &[&PROMPT],
        None,
        &ForwardOptions::default(),
    );
    let lb = run(
        &b,
        &mut b.new_cache(1),
        &[&PROMPT],
        None,
        &ForwardOptions::default(),
    );
    let d = max_abs_diff(la.row_logits(0, 0).unwrap(), lb.row_logits(0, 0).unwrap());
    assert!(d > 1e-3, "the two RoPE conventions gave the same logits");
}

#[test]
fn incremental_decode_equals_full_forward() {
    let model = tiny_model(RopeStyle::AdjacentPairs, WeightMode::F32);
    let full = run(
        &model,
        &mut model.new_cache(1),
        &[&PROMPT],
        None,
        &all_logits(),
    );

    // Prefill 3 tokens, then 2, then one at a time.
    let mut cache = model.new_cache(1);
    let mut got: Vec<Vec<f32>> = Vec::new();
    for chunk in [&PROMPT[..3], &PROMPT[3..5], &PROMPT[5..6], &PROMPT[6..7]] {
        let out = run(&model, &mut cache, &[chunk], None, &all_logits());
        for p in 0..chunk.len() {
            got.push(out.row_logits(0, p).unwrap().to_vec());
        }
    }
    assert_eq!(cache.len(), PROMPT.len());
    for (p, g) in got.iter().enumerate() {
        let d = max_abs_diff(g, full.row_logits(0, p).unwrap());
        assert!(d < 1e-5, "position {p}: max |Δ| = {d}");
    }
}

#[test]
fn kv_cache_grows_past_its_first_allocation() {
    let model = tiny_model(RopeStyle::AdjacentPairs, WeightMode::F32);
    let long: Vec<u32> = (0..100).map(|i| (i * 7 % VOCAB) as u32).collect();
    let full = run(
        &model,
        &mut model.new_cache(1),
        &[&long],
        None,
        &ForwardOptions::default(),
    );
    let mut cache = model.new_cache(1);
    run(
        &model,
        &mut cache,
        &[&long[..40]],
        None,
        &ForwardOptions::default(),
    );
    let mut last = None;
    for &t in &long[40..] {
        last = Some(run(
            &model,
            &mut cache,
            &[&[t]],
            None,
            &ForwardOptions::default(),
        ));
    }
    let d = max_abs_diff(
        last.unwrap().row_logits(0, 0).unwrap(),
        full.row_logits(0, 0).unwrap(),
    );
    assert!(d < 1e-4, "max |Δ| = {d}");
}

#[test]
fn batch_of_two_lengths_equals_each_alone() {
    let model = tiny_model(RopeStyle::AdjacentPairs, WeightMode::F32);
    let a: &[u32] = &PROMPT;
    let b: &[u32] = &[9, 4, 77];
    let steer = Interventions {
        probes: vec![Probe {
            layer: 1,
            direction: Rng(3).vec(HIDDEN, 1.0),
        }],
        ..Default::default()
    };
    let opts = ForwardOptions::default();

    let mut batch = model.new_cache(2);
    let both = run(&model, &mut batch, &[a, b], Some(&steer), &opts);
    let alone_a = run(&model, &mut model.new_cache(1), &[a], Some(&steer), &opts);
    let alone_b = run(&model, &mut model.new_cache(1), &[b], Some(&steer), &opts);
    assert!(
        max_abs_diff(
            both.row_logits(0, 0).unwrap(),
            alone_a.row_logits(0, 0).unwrap()
        ) < 1e-5
    );
    assert!(
        max_abs_diff(
            both.row_logits(1, 0).unwrap(),
            alone_b.row_logits(0, 0).unwrap()
        ) < 1e-5
    );
    // Probe values of real tokens only, padding stripped.
    let pa: Vec<f32> = both.row_probes(0).concat();
    let pb: Vec<f32> = both.row_probes(1).concat();
    assert_eq!(pb.len(), b.len());
    assert!(max_abs_diff(&pa, &alone_a.row_probes(0).concat()) < 1e-5);
    assert!(max_abs_diff(&pb, &alone_b.row_probes(0).concat()) < 1e-5);

    // Decode two more (different) tokens per row: still equal to the rows alone.
    let mut ca = model.new_cache(1);
    let mut cb = model.new_cache(1);
    run(&model, &mut ca, &[a], None, &opts);
    run(&model, &mut cb, &[b], None, &opts);
    for (ta, tb) in [(11u32, 12u32), (13, 14)] {
        let both = run(&model, &mut batch, &[&[ta], &[tb]], None, &opts);
        let ra = run(&model, &mut ca, &[&[ta]], None, &opts);
        let rb = run(&model, &mut cb, &[&[tb]], None, &opts);
        assert!(max_abs_diff(both.row_logits(0, 0).unwrap(), ra.row_logits(0, 0).unwrap()) < 1e-5);
        assert!(max_abs_diff(both.row_logits(1, 0).unwrap(), rb.row_logits(0, 0).unwrap()) < 1e-5);
    }
    // A ragged follow-up turn (3 tokens vs 1) pads in the middle of the cache.
    let both = run(&model, &mut batch, &[&[20, 21, 22], &[23]], None, &opts);
    let ra = run(&model, &mut ca, &[&[20, 21, 22]], None, &opts);
    let rb = run(&model, &mut cb, &[&[23]], None, &opts);
    assert!(max_abs_diff(both.row_logits(0, 0).unwrap(), ra.row_logits(0, 0).unwrap()) < 1e-5);
    assert!(max_abs_diff(both.row_logits(1, 0).unwrap(), rb.row_logits(0, 0).unwrap()) < 1e-5);
}

/// A prompt run one token at a time (what WebGPU does on a software adapter) gives what one
/// forward gives: every position's logits, probes and captures, with a cap and a steer on, after
/// a cache that already holds tokens, for f32 and quantized weights; with `Last` only the last
/// position's logits; and bad input is refused before the cache changes.
#[test]
fn a_prompt_token_by_token_equals_one_forward() {
    let interventions = Interventions {
        probes: vec![
            Probe {
                layer: 2,
                direction: direction(31),
            },
            Probe {
                layer: 0,
                direction: direction(32),
            },
        ],
        caps: vec![Cap {
            layer: 1,
            direction: direction(31),
            tau: 0.4,
        }],
        steers: vec![Steer {
            layer: 0,
            direction: direction(33),
            alpha: 0.8,
        }],
    };
    for mode in [WeightMode::F32, WeightMode::Quantized] {
        // Q4_1 and Q8_0 blocks, as the page's quantized weights are.
        let model = encoded_model(mode);
        let prepared = model.prepare(&interventions).expect("valid interventions");
        let options = ForwardOptions {
            logits: LogitsMode::All,
            capture_layers: vec![2, 0],
        };
        let (head, prompt) = PROMPT.split_at(2);
        let mut one_cache = model.new_cache(1);
        let mut steps_cache = model.new_cache(1);
        for cache in [&mut one_cache, &mut steps_cache] {
            run(&model, cache, &[head], Some(&interventions), &options);
        }
        let one = model
            .forward(&mut one_cache, &[prompt], Some(&prepared), &options)
            .and_then(|out| out.read_blocking())
            .expect("one forward");
        let steps = model
            .forward_token_by_token(&mut steps_cache, prompt, Some(&prepared), &options)
            .and_then(|out| out.read_blocking())
            .expect("token by token");
        assert_eq!(steps_cache.len(), one_cache.len());
        assert_eq!(steps.slots, one.slots);
        let (one_logits, one_shape) = one.logits.clone().expect("logits");
        let (step_logits, step_shape) = steps.logits.clone().expect("logits");
        assert_eq!(step_shape, one_shape);
        assert_eq!(step_shape[1], prompt.len());
        let d = max_abs_diff(&step_logits, &one_logits);
        assert!(d < 1e-4, "{mode:?}: logits max |Δ| = {d}");
        let (one_probes, one_probe_shape) = one.probes.clone().expect("probes");
        let (step_probes, step_probe_shape) = steps.probes.clone().expect("probes");
        assert_eq!(step_probe_shape, one_probe_shape);
        let d = max_abs_diff(&step_probes, &one_probes);
        assert!(d < 1e-4, "{mode:?}: probes max |Δ| = {d}");
        assert_eq!(steps.captures.len(), 2);
        for ((sl, sv, ss), (ol, ov, os)) in steps.captures.iter().zip(&one.captures) {
            assert_eq!((sl, ss), (ol, os), "captures in request order, same shapes");
            let d = max_abs_diff(sv, ov);
            assert!(d < 1e-4, "{mode:?}: capture of layer {sl}: max |Δ| = {d}");
        }

        // `Last`: the last position only.
        let last = ForwardOptions::default();
        let mut cache = model.new_cache(1);
        let out = model
            .forward_token_by_token(&mut cache, &PROMPT, None, &last)
            .and_then(|out| out.read_blocking())
            .expect("token by token");
        let full = run(
            &model,
            &mut model.new_cache(1),
            &[&PROMPT],
            None,
            &all_logits(),
        );
        let (values, shape) = out.logits.expect("logits");
        assert_eq!(shape, [1, 1, VOCAB]);
        let d = max_abs_diff(&values, full.row_logits(0, PROMPT.len() - 1).unwrap());
        assert!(d < 1e-4, "{mode:?}: last logits max |Δ| = {d}");

        // Bad input: refused, cache untouched.
        let before = cache.len();
        let bad = [3, VOCAB as u32];
        assert!(matches!(
            model.forward_token_by_token(&mut cache, &bad, None, &last),
            Err(ModelError::TokenOutOfRange { .. })
        ));
        assert!(
            model
                .forward_token_by_token(&mut cache, &[], None, &last)
                .is_err()
        );
        assert_eq!(cache.len(), before);
    }
}

fn direction(seed: u64) -> Vec<f32> {
    let v = Rng(seed).vec(HIDDEN, 1.0);
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / n).collect()
}

#[test]
fn no_interventions_and_probes_only_are_bit_identical_to_plain() {
    let model = tiny_model(RopeStyle::AdjacentPairs, WeightMode::F32);
    let plain = run(
        &model,
        &mut model.new_cache(1),
        &[&PROMPT],
        None,
        &all_logits(),
    );
    let empty = run(
        &model,
        &mut model.new_cache(1),
        &[&PROMPT],
        Some(&Interventions::none()),
        &all_logits(),
    );
    assert_eq!(plain.logits, empty.logits);
    let probes = Interventions {
        probes: vec![
            Probe {
                layer: 2,
                direction: direction(1),
            },
            Probe {
                layer: 0,
                direction: direction(2),
            },
        ],
        ..Default::default()
    };
    let probed = run(
        &model,
        &mut model.new_cache(1),
        &[&PROMPT],
        Some(&probes),
        &all_logits(),
    );
    assert_eq!(plain.logits, probed.logits);
}

#[test]
fn steering_with_zero_alpha_is_identity() {
    let model = tiny_model(RopeStyle::AdjacentPairs, WeightMode::F32);
    let plain = run(
        &model,
        &mut model.new_cache(1),
        &[&PROMPT],
        None,
        &all_logits(),
    );
    let zero = Interventions {
        steers: vec![Steer {
            layer: 1,
            direction: direction(5),
            alpha: 0.0,
        }],
        ..Default::default()
    };
    let steered = run(
        &model,
        &mut model.new_cache(1),
        &[&PROMPT],
        Some(&zero),
        &all_logits(),
    );
    assert_eq!(plain.logits, steered.logits);
    let strong = Interventions {
        steers: vec![Steer {
            layer: 1,
            direction: direction(5),
            alpha: 4.0,
        }],
        ..Default::default()
    };
    let moved = run(
        &model,
        &mut model.new_cache(1),
        &[&PROMPT],
        Some(&strong),
        &all_logits(),
    );
    assert_ne!(plain.logits, moved.logits);
}

#[test]
fn cap_formula_on_a_constructed_tensor() {
    let dev = device();
    // v = e0; rows with projections 3, -2, 0.5 against tau = 1.
    let h = Tensor::<2>::from_data(
        TensorData::new(vec![3.0f32, 1.0, -2.0, 5.0, 0.5, -1.0], [3, 2]),
        &dev,
    );
    let v_row = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0], [1, 2]), &dev);
    let v_col = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0], [2, 1]), &dev);
    let out: Vec<f32> = cap(h, v_row, v_col, 1.0)
        .into_data()
        .try_into_vec()
        .unwrap();
    // Row 0 untouched (3 ≥ 1); rows 1 and 2 lifted to exactly tau along v.
    assert_eq!(out, vec![3.0, 1.0, 1.0, 5.0, 1.0, -1.0]);

    // A diagonal direction: h = (0, 0), v = (1, 1)/√2, tau = √2 → h = (1, 1).
    let s = std::f32::consts::FRAC_1_SQRT_2;
    let h = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 0.0], [1, 2]), &dev);
    let v_row = Tensor::<2>::from_data(TensorData::new(vec![s, s], [1, 2]), &dev);
    let v_col = Tensor::<2>::from_data(TensorData::new(vec![s, s], [2, 1]), &dev);
    let out: Vec<f32> = cap(h, v_row, v_col, std::f32::consts::SQRT_2)
        .into_data()
        .try_into_vec()
        .unwrap();
    assert!(
        (out[0] - 1.0).abs() < 1e-6 && (out[1] - 1.0).abs() < 1e-6,
        "{out:?}"
    );
}

#[test]
fn caps_far_above_change_logits_far_below_leave_them_bit_identical() {
    let model = tiny_model(RopeStyle::AdjacentPairs, WeightMode::F32);
    let plain = run(
        &model,
        &mut model.new_cache(1),
        &[&PROMPT],
        None,
        &all_logits(),
    );
    let caps = |tau: f32| Interventions {
        caps: (0..LAYERS)
            .map(|layer| Cap {
                layer,
                direction: direction(9),
                tau,
            })
            .collect(),
        ..Default::default()
    };
    let below = run(
        &model,
        &mut model.new_cache(1),
        &[&PROMPT],
        Some(&caps(-1e6)),
        &all_logits(),
    );
    assert_eq!(
        plain.logits, below.logits,
        "a floor far below every projection must be a no-op"
    );
    let above = run(
        &model,
        &mut model.new_cache(1),
        &[&PROMPT],
        Some(&caps(50.0)),
        &all_logits(),
    );
    let d = max_abs_diff(
        &plain.logits.as_ref().unwrap().0,
        &above.logits.as_ref().unwrap().0,
    );
    assert!(
        d > 1e-2,
        "a floor far above every projection must move the logits (max |Δ| {d})"
    );
}

#[test]
fn probes_equal_hand_computed_projections_after_interventions() {
    let model = tiny_model(RopeStyle::AdjacentPairs, WeightMode::F32);
    let v1 = direction(21);
    let raw = Rng(22).vec(HIDDEN, 3.0); // not unit: probes normalise
    let norm = raw.iter().map(|x| x * x).sum::<f32>().sqrt();
    let interventions = Interventions {
        probes: vec![
            Probe {
                layer: 2,
                direction: raw.clone(),
            },
            Probe {
                layer: 1,
                direction: v1.clone(),
            },
            Probe {
                layer: 1,
                direction: direction(23),
            },
        ],
        caps: vec![Cap {
            layer: 1,
            direction: v1.clone(),
            tau: 0.7,
        }],
        steers: vec![Steer {
            layer: 2,
            direction: direction(24),
            alpha: 1.5,
        }],
    };
    let options = ForwardOptions {
        logits: LogitsMode::Last,
        capture_layers: vec![2, 1],
    };
    let out = run(
        &model,
        &mut model.new_cache(1),
        &[&PROMPT],
        Some(&interventions),
        &options,
    );
    let (probe_values, [_, seq, n]) = out.probes.clone().unwrap();
    assert_eq!((seq, n), (PROMPT.len(), 3));
    let capture = |layer: usize| {
        let (l, values, _) = out.captures.iter().find(|(l, _, _)| *l == layer).unwrap();
        assert_eq!(*l, layer);
        values.clone()
    };
    assert_eq!(out.captures[0].0, 2, "captures come back in request order");
    let dirs = [
        (2usize, raw.iter().map(|x| x / norm).collect::<Vec<f32>>()),
        (1, v1.clone()),
        (1, direction(23)),
    ];
    for (j, (layer, v)) in dirs.iter().enumerate() {
        let h = capture(*layer);
        for p in 0..seq {
            let row = &h[p * HIDDEN..(p + 1) * HIDDEN];
            let want: f32 = row.iter().zip(v).map(|(a, b)| a * b).sum();
            let got = probe_values[p * n + j];
            assert!(
                (got - want).abs() < 1e-4,
                "probe {j} position {p}: {got} vs {want}"
            );
        }
    }
    // The capped layer's probe along the cap direction never reads below tau.
    for p in 0..seq {
        assert!(probe_values[p * n + 1] >= 0.7 - 1e-4);
    }
}

#[test]
fn bad_input_gives_typed_errors() {
    let model = tiny_model(RopeStyle::AdjacentPairs, WeightMode::F32);
    let opts = ForwardOptions::default();
    let mut cache = model.new_cache(1);
    assert!(matches!(
        model.forward(&mut cache, &[&[VOCAB as u32]], None, &opts),
        Err(ModelError::TokenOutOfRange { .. })
    ));
    assert!(matches!(
        model.forward(&mut cache, &[&[]], None, &opts),
        Err(ModelError::InvalidBatch(_))
    ));
    assert!(matches!(
        model.forward(&mut cache, &[&[1], &[2]], None, &opts),
        Err(ModelError::InvalidBatch(_))
    ));
    let bad_layer = Interventions {
        probes: vec![Probe {
            layer: LAYERS,
            direction: direction(1),
        }],
        ..Default::default()
    };
    assert!(matches!(
        model.prepare(&bad_layer),
        Err(ModelError::InvalidIntervention(_))
    ));
    let bad_width = Interventions {
        caps: vec![Cap {
            layer: 0,
            direction: vec![1.0; HIDDEN + 1],
            tau: 0.0,
        }],
        ..Default::default()
    };
    assert!(matches!(
        model.prepare(&bad_width),
        Err(ModelError::InvalidIntervention(_))
    ));
    let zero = Interventions {
        probes: vec![Probe {
            layer: 0,
            direction: vec![0.0; HIDDEN],
        }],
        ..Default::default()
    };
    assert!(matches!(
        model.prepare(&zero),
        Err(ModelError::InvalidIntervention(_))
    ));
    let nan = Interventions {
        steers: vec![Steer {
            layer: 0,
            direction: direction(1),
            alpha: f32::NAN,
        }],
        ..Default::default()
    };
    assert!(matches!(
        model.prepare(&nan),
        Err(ModelError::InvalidIntervention(_))
    ));
    // Errors leave the cache untouched.
    assert!(cache.is_empty());
    let long = vec![1u32; 300];
    assert!(matches!(
        model.forward(&mut cache, &[&long], None, &opts),
        Err(ModelError::ContextOverflow { .. })
    ));
}

/// GGUF Q4_1 blocks of `values` (rows of `input` values): per 32, `d = (max−min)/15`, `m = min`.
fn encode_q4_1(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::new();
    for block in values.chunks_exact(32) {
        let min = block.iter().cloned().fold(f32::INFINITY, f32::min);
        let max = block.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let d = half::f16::from_f32((max - min) / 15.0);
        let m = half::f16::from_f32(min);
        let inv = if d.to_f32() > 0.0 {
            1.0 / d.to_f32()
        } else {
            0.0
        };
        let q = |x: f32| (((x - m.to_f32()) * inv).round().clamp(0.0, 15.0)) as u8;
        out.extend(d.to_le_bytes());
        out.extend(m.to_le_bytes());
        for j in 0..16 {
            out.push(q(block[j]) | (q(block[j + 16]) << 4));
        }
    }
    out
}

/// GGUF Q8_0 blocks: per 32, `d = amax/127`.
fn encode_q8_0(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::new();
    for block in values.chunks_exact(32) {
        let amax = block.iter().fold(0.0f32, |a, x| a.max(x.abs()));
        let d = half::f16::from_f32(amax / 127.0);
        let inv = if d.to_f32() > 0.0 {
            1.0 / d.to_f32()
        } else {
            0.0
        };
        out.extend(d.to_le_bytes());
        out.extend(
            block
                .iter()
                .map(|&x| (x * inv).round().clamp(-128.0, 127.0) as i8 as u8),
        );
    }
    out
}

/// The tiny model with its matrices stored as GGUF Q4_1 and the embedding as Q8_0, like the
/// real file.
fn encoded_source(seed: u64) -> MemorySource {
    let plain = source(seed);
    let mut s = MemorySource::default();
    for (name, (dims, values)) in &plain.tensors {
        if dims.len() == 1 {
            s.insert(name.clone(), dims.clone(), values.clone());
        } else if name == "token_embd.weight" {
            s.insert_encoded(
                name.clone(),
                dims.clone(),
                GgmlType::Q8_0,
                encode_q8_0(values),
            )
            .expect("Q8_0 encoding");
        } else {
            s.insert_encoded(
                name.clone(),
                dims.clone(),
                GgmlType::Q4_1,
                encode_q4_1(values),
            )
            .expect("Q4_1 encoding");
        }
    }
    s
}

fn encoded_model(mode: WeightMode) -> LlamaModel {
    let cfg = config(RopeStyle::AdjacentPairs);
    let weights =
        Weights::from_source(&encoded_source(7), &cfg, mode, &device()).expect("tiny weights");
    LlamaModel::from_parts(cfg, weights, &device())
}

#[test]
fn exact_quantized_mode_reproduces_the_dequantized_model() {
    let f32_model = encoded_model(WeightMode::F32);
    let quantized = encoded_model(WeightMode::Quantized);
    let requantized = encoded_model(WeightMode::Q8S);
    let logits = |m: &LlamaModel| {
        run(m, &mut m.new_cache(1), &[&PROMPT], None, &all_logits())
            .logits
            .unwrap()
            .0
    };
    let (a, b, c) = (logits(&f32_model), logits(&quantized), logits(&requantized));
    let exact = max_abs_diff(&a, &b);
    let requant = max_abs_diff(&a, &c);
    // Exact up to f32 rounding of a reordered sum.
    assert!(
        exact < 1e-4,
        "Q4_1 → Q4F + offset is not exact: max |Δ| = {exact}"
    );
    // Requantizing to symmetric 8-bit is visibly lossy on the same weights.
    assert!(requant > 10.0 * exact, "requant {requant} vs exact {exact}");

    let q = quantized.resident_bytes();
    let f = f32_model.resident_bytes();
    assert!(q.device_packed * 4 < f.device_packed, "{q:?} vs {f:?}");
    assert!(q.device_flex * 2 < f.device_flex, "{q:?} vs {f:?}");
}

#[test]
fn host_block_mode_reproduces_the_dequantized_model_in_prefill_and_decode() {
    let f32_model = encoded_model(WeightMode::F32);
    let blocks = encoded_model(WeightMode::HostBlocks);
    // A prompt longer than HOST_KERNEL_MAX_ROWS (the dequantize + matmul path), then decode
    // steps of one row (our kernel) and a batch of three rows (the kernel with several rows).
    let long: Vec<u32> = (0..(engine::model::HOST_KERNEL_MAX_ROWS as u32 + 5))
        .map(|i| (i * 7 + 3) % 90)
        .collect();
    let (a, b) = (&f32_model, &blocks);
    // One forward on both models' caches; the largest logit difference.
    let step = |ca: &mut KvCache, cb: &mut KvCache, tokens: &[&[u32]]| {
        let la = run(a, ca, tokens, None, &all_logits()).logits.unwrap().0;
        let lb = run(b, cb, tokens, None, &all_logits()).logits.unwrap().0;
        max_abs_diff(&la, &lb)
    };
    let mut worst = 0.0f32;
    let (mut ca, mut cb) = (a.new_cache(1), b.new_cache(1));
    worst = worst.max(step(&mut ca, &mut cb, &[&long]));
    for next in [[11u32], [29], [64]] {
        worst = worst.max(step(&mut ca, &mut cb, &[&next]));
    }
    let (mut ca, mut cb) = (a.new_cache(3), b.new_cache(3));
    worst = worst.max(step(&mut ca, &mut cb, &[&PROMPT, &PROMPT[..4], &[9, 8]]));
    worst = worst.max(step(&mut ca, &mut cb, &[&[5], &[6], &[7]]));
    // The weights are identical (the GGUF reader's own dequantization); only sums reorder.
    assert!(worst < 1e-4, "host blocks vs f32: max |Δlogit| = {worst}");

    // Its matrices live in host memory, at about the size of the blocks.
    let b = blocks.resident_bytes();
    let f = f32_model.resident_bytes();
    assert!(
        b.total_flex() * 3 < f.total_flex(),
        "host blocks {b:?} vs f32 {f:?}"
    );
}

/// The page's WebGPU check (`compare_logits`): a copy that computes the same numbers agrees to
/// rounding and picks the same greedy tokens; a copy with other weights is told apart.
#[test]
fn compare_logits_tells_a_faithful_copy_from_a_wrong_one() {
    use engine::generation::compare_logits;
    let reference = encoded_model(WeightMode::F32);
    let faithful = encoded_model(WeightMode::HostBlocks);
    let cfg = config(RopeStyle::AdjacentPairs);
    let wrong = LlamaModel::from_parts(
        cfg.clone(),
        Weights::from_source(&encoded_source(8), &cfg, WeightMode::F32, &device())
            .expect("tiny weights"),
        &device(),
    );
    let same =
        pollster::block_on(compare_logits(&faithful, &reference, &PROMPT, 3)).expect("comparison");
    assert_eq!(
        same.positions, 4,
        "the prompt's last position and 3 decode steps"
    );
    assert_eq!(same.same_greedy_token, 4, "{same:?}");
    assert!(same.max_abs_diff < 1e-4, "{same:?}");
    let other =
        pollster::block_on(compare_logits(&wrong, &reference, &PROMPT, 3)).expect("comparison");
    assert!(other.max_abs_diff > 0.5, "{other:?}");
    assert!(
        pollster::block_on(compare_logits(&faithful, &reference, &[], 1)).is_err(),
        "an empty prompt is an error"
    );
}
