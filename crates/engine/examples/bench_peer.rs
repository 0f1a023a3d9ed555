//! Our engine as a peer of `cargo xtask bench` (docs/benchmarks.md): the same GGUF, the same
//! prompt token ids as llama.cpp and candle, greedy decode, one JSON object per line on stdout.
//!
//! ```text
//! bench_peer --write-prompt target/bench/prompt.json [--prompt-tokens 512]
//! bench_peer --prompt target/bench/prompt.json --mode f32|quant|blocks [--new-tokens 128] [--runs 3]
//!            [--variants plain,probes,caps,probes+caps]
//! ```
//!
//! The second form runs, per run and interleaved in this one process, four variants of the same
//! prefill + decode: `plain` (no interventions), `probes` (the app's three monitor-layer probes:
//! axis, PC1, PC2), `caps` (the axis file's default cap band, caps only) and `probes+caps` (what
//! the app runs with capping on: the monitor probes, the caps and one probe per capped layer).
//! Probe values are read back with the argmax every step, as the app does. Peak RSS is this
//! process's VmHWM (one process per weight mode: the harness starts one per mode). Besides wall
//! time, each phase reports the CPU seconds the process used (all threads), which a busy machine
//! distorts less.

use std::time::Instant;

use burn::tensor::{Device, Transaction};
use engine::axis::AxisFile;
use engine::gguf::Gguf;
use engine::model::{ForwardOptions, Interventions, LlamaModel, PreparedInterventions, WeightMode};
use engine::tokenizer::ChatTokenizer;

const DEFAULT_MODEL: &str = "public/models/SmolLM2-135M-Instruct.Q4_1.gguf";
const DEFAULT_AXIS: &str = "public/axes/SmolLM2-135M-Instruct.Q4_1.axis.safetensors";

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// A fixed English text (no randomness): repeated and cut to fill the prompt.
const FILLER: &str = "The history of the lighthouse is a history of people who kept a flame \
burning through the night so that others could find their way home. Early lighthouses were \
simple fires on hilltops; later came towers of stone with oil lamps, mirrors and lenses that \
bent the light into a narrow beam. Keepers trimmed wicks, polished brass, wound clockwork and \
wrote the weather into logbooks. Today most lights are automatic, but the old towers still \
stand along the coast, and many of them are museums where visitors can climb the spiral stairs \
and look out over the water. ";

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn env_path(var: &str, default: &str) -> std::path::PathBuf {
    std::env::var_os(var).map_or_else(|| root().join(default), Into::into)
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// CPU seconds (user + system, all threads) this process has used so far: `/proc/self/stat`
/// fields 14 and 15, in clock ticks of 1/100 s (Linux's USER_HZ).
fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // The command name (field 2) may contain spaces; fields after it are plain.
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
            Some(ticks as f64 / 100.0)
        })
        .unwrap_or(f64::NAN)
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// A ChatML conversation whose user message is `FILLER` repeated, exactly `n` tokens long.
///
/// The prompt is one text, cut at a word boundary, and its ids are the tokenisation of that
/// whole text: peers that can only take text (wllama, our page) re-tokenise it to the same ids.
/// (Encoding the filler once per repetition and cutting ids does not have that property: BPE
/// merges across the joins differ, and 512 such ids re-tokenised to 509.)
fn write_prompt(path: &str, n: usize) -> Res<()> {
    let bytes = std::fs::read(env_path("AXIS_MODEL_PATH", DEFAULT_MODEL))?;
    let gguf = Gguf::parse(&bytes)?;
    let tok = ChatTokenizer::from_gguf(&gguf)?;
    let head = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging \
                Face<|im_end|>\n<|im_start|>user\nSummarise this text in one paragraph.\n\n";
    let tail = "<|im_end|>\n<|im_start|>assistant\n";
    let frame = |body: &str| format!("{head}{}{tail}", body.trim_end());
    // Enough filler for `n` tokens (every word is at least one token).
    let mut filler = String::new();
    while tok.encode(&frame(&filler))?.len() <= n {
        filler.push_str(FILLER);
    }
    // The longest word-boundary prefix whose whole prompt is at most `n` tokens; then it must
    // be exactly `n` (a word that is several tokens can jump past it: say so, never pad).
    let cuts: Vec<usize> = filler.match_indices(' ').map(|(i, _)| i).collect();
    let mut best: Option<(Vec<u32>, String)> = None;
    let (mut lo, mut hi) = (0usize, cuts.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let text = frame(&filler[..cuts[mid - 1]]);
        let ids = tok.encode(&text)?;
        if ids.len() <= n {
            lo = mid;
            best = Some((ids, text));
        } else {
            hi = mid - 1;
        }
    }
    let (ids, text) = best.ok_or("prompt too short for the chat frame")?;
    if ids.len() != n {
        return Err(format!(
            "no word-boundary cut of the filler gives exactly {n} tokens (closest: {})",
            ids.len()
        )
        .into());
    }
    // What the text-only peers do: ids -> the bytes their tokens stand for (control tokens as
    // their literal text) -> text; that must be the text these ids are the tokenisation of.
    let mut spelled = Vec::new();
    for &id in &ids {
        spelled.extend_from_slice(
            tok.token_bytes(id)
                .ok_or("prompt id outside the vocabulary")?,
        );
    }
    if spelled != text.as_bytes() {
        return Err("the prompt's ids do not spell the text they were made from".into());
    }
    let json = serde_json::json!({
        "about": "ChatML prompt: system + user message (a fixed text repeated) + assistant header, \
                  tokenized by assistant-axis-engine from the GGUF's vocabulary; every peer \
                  feeds these ids as they are",
        "ids": ids,
    });
    if let Some(dir) = std::path::Path::new(path).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, json.to_string())?;
    eprintln!("wrote {n} prompt token ids to {path}");
    Ok(())
}

fn read_prompt(path: &str) -> Res<Vec<u32>> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    v["ids"]
        .as_array()
        .ok_or("prompt JSON has no `ids`")?
        .iter()
        .map(|x| x.as_u64().map(|x| x as u32).ok_or_else(|| "bad id".into()))
        .collect()
}

/// The app's interventions, from its own planner (`engine::axis::plan`): the monitor probes
/// (axis, PC1, PC2) and, with capping, the file's default cap plus one probe per capped layer.
fn variants(axis: &AxisFile) -> Res<Vec<(&'static str, Interventions)>> {
    let probes = engine::axis::plan(axis, None, None)?.interventions;
    let capped = engine::axis::plan(axis, Some(&axis.meta.cap), None)?.interventions;
    let caps = Interventions {
        caps: capped.caps.clone(),
        ..Interventions::none()
    };
    Ok(vec![
        ("plain", Interventions::none()),
        ("probes", probes),
        ("caps", caps),
        ("probes+caps", capped),
    ])
}

fn first_id(data: &[burn::tensor::TensorData]) -> Res<u32> {
    data.first()
        .and_then(|d| d.iter::<i64>().next())
        .map(|id| id as u32)
        .ok_or_else(|| "empty argmax".into())
}

/// Wall and CPU seconds of one prefill + greedy decode, and the first generated ids.
struct Timing {
    prefill_s: f64,
    prefill_cpu_s: f64,
    decode_s: f64,
    decode_cpu_s: f64,
    generated: Vec<u32>,
}

/// One prefill + greedy decode.
fn generate(
    model: &LlamaModel,
    ids: &[u32],
    new_tokens: usize,
    prepared: Option<&PreparedInterventions>,
) -> Res<Timing> {
    let opts = ForwardOptions::default();
    let step = |cache: &mut engine::model::KvCache, tokens: &[u32]| -> Res<u32> {
        let out = model.forward(cache, &[tokens], prepared, &opts)?;
        let mut tx = Transaction::default().register(out.logits.ok_or("no logits")?.argmax(2));
        if let Some(p) = out.probes {
            tx = tx.register(p);
        }
        let data = tx.try_execute().map_err(|e| format!("{e:?}"))?;
        first_id(&data)
    };
    let mut cache = model.new_cache(1);
    let (t, c) = (Instant::now(), cpu_s());
    let mut next = step(&mut cache, ids)?;
    let (prefill_s, prefill_cpu_s) = (t.elapsed().as_secs_f64(), cpu_s() - c);
    let mut generated = Vec::with_capacity(new_tokens);
    let (t, c) = (Instant::now(), cpu_s());
    for _ in 0..new_tokens {
        generated.push(next);
        next = step(&mut cache, &[next])?;
    }
    Ok(Timing {
        prefill_s,
        prefill_cpu_s,
        decode_s: t.elapsed().as_secs_f64(),
        decode_cpu_s: cpu_s() - c,
        generated,
    })
}

fn bench(args: &[String]) -> Res<()> {
    let prompt_path = arg(args, "--prompt").ok_or("--prompt required")?;
    let mode_name = arg(args, "--mode").unwrap_or_else(|| "f32".into());
    let mode = match mode_name.as_str() {
        "f32" => WeightMode::F32,
        "quant" => WeightMode::Quantized,
        "blocks" => WeightMode::HostBlocks,
        other => return Err(format!("unknown mode `{other}` (f32, quant, blocks)").into()),
    };
    let new_tokens: usize = arg(args, "--new-tokens").map_or(Ok(128), |s| s.parse())?;
    let runs: usize = arg(args, "--runs").map_or(Ok(1), |s| s.parse())?;
    let ids = read_prompt(&prompt_path)?;

    let model_path = env_path("AXIS_MODEL_PATH", DEFAULT_MODEL);
    let bytes = std::fs::read(&model_path).map_err(|e| {
        format!(
            "{}: {e} (run `cargo xtask fetch-model`)",
            model_path.display()
        )
    })?;
    let gguf_bytes = bytes.len();
    let device = Device::flex();
    let t0 = Instant::now();
    let model = LlamaModel::from_gguf_bytes(&bytes, mode, &device)?;
    drop(bytes);
    let load_s = t0.elapsed().as_secs_f64();
    let resident = model.resident_bytes();
    let rss_after_load_kib = vm_hwm_kib();

    let axis = AxisFile::from_bytes(&std::fs::read(env_path("AXIS_AXIS_PATH", DEFAULT_AXIS))?)?;
    let wanted = arg(args, "--variants").unwrap_or_else(|| "plain,probes,caps,probes+caps".into());
    let wanted: Vec<&str> = wanted.split(',').collect();
    let variants: Vec<_> = variants(&axis)?
        .into_iter()
        .filter(|(name, _)| wanted.contains(name))
        .collect();
    if variants.is_empty() {
        return Err("--variants: none of plain, probes, caps, probes+caps".into());
    }
    let prepared: Vec<(&str, usize, usize, Option<PreparedInterventions>)> = variants
        .iter()
        .map(|(name, iv)| {
            let p = (*name != "plain").then(|| model.prepare(iv)).transpose()?;
            Ok::<_, Box<dyn std::error::Error>>((*name, iv.probes.len(), iv.caps.len(), p))
        })
        .collect::<Res<_>>()?;

    // Warm-up (first-touch allocations), not timed.
    generate(
        &model,
        &ids[..64],
        4,
        prepared.last().and_then(|p| p.3.as_ref()),
    )?;

    for run in 0..runs {
        for (name, n_probes, n_caps, p) in &prepared {
            let t = generate(&model, &ids, new_tokens, p.as_ref())?;
            let out = serde_json::json!({
                "peer": format!("ours-{mode_name}"),
                "variant": name,
                "probes": n_probes,
                "caps": n_caps,
                "run": run,
                "load_s": load_s,
                "prompt_tokens": ids.len(),
                "new_tokens": new_tokens,
                "prefill_s": t.prefill_s,
                "decode_s": t.decode_s,
                "prefill_cpu_s": t.prefill_cpu_s,
                "decode_cpu_s": t.decode_cpu_s,
                "prefill_tok_s": ids.len() as f64 / t.prefill_s,
                "decode_tok_s": new_tokens as f64 / t.decode_s,
                "peak_rss_kib": vm_hwm_kib(),
                "rss_after_load_kib": rss_after_load_kib,
                "gguf_bytes": gguf_bytes,
                "resident_host_bytes": resident.host,
                "resident_device_flex_bytes": resident.device_flex,
                "resident_device_packed_bytes": resident.device_packed,
                "first_tokens": &t.generated[..t.generated.len().min(16)],
            });
            println!("{out}");
        }
    }
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(path) = arg(&args, "--write-prompt") {
        let n: usize = arg(&args, "--prompt-tokens").map_or(Ok(512), |s| s.parse())?;
        return write_prompt(&path, n);
    }
    bench(&args)
}
