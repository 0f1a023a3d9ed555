//! Native throughput of the engine on flex: prefill tok/s for a ~512-token prompt, greedy decode
//! tok/s for 128 tokens (one readback per token: the argmax id), peak RSS — per weight mode.
//!
//! `cargo run -p assistant-axis-engine --example bench_engine --release [-- f32|quant|q8s ...]`
//!
//! Each mode runs in its own child process so its peak RSS (VmHWM) is its own.

use std::process::Command;
use std::time::Instant;

use burn::tensor::{Device, Transaction};
use engine::model::{ForwardOptions, LlamaModel, WeightMode};

const PROMPT_TOKENS: usize = 512;
const DECODE_TOKENS: usize = 128;
const DEFAULT_MODEL: &str = "public/models/SmolLM2-135M-Instruct.Q4_1.gguf";

fn model_path() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("AXIS_MODEL_PATH") {
        return p.into();
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(DEFAULT_MODEL)
}

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn parse_mode(s: &str) -> Option<WeightMode> {
    match s {
        "f32" => Some(WeightMode::F32),
        "quant" => Some(WeightMode::Quantized),
        "q8s" => Some(WeightMode::Q8S),
        _ => None,
    }
}

/// A deterministic ChatML-shaped prompt: `<|im_start|>` + ordinary ids + `<|im_end|>`…
/// Throughput does not depend on which ids they are.
fn prompt() -> Vec<u32> {
    let mut ids = vec![1u32];
    let mut x = 12345u32;
    while ids.len() < PROMPT_TOKENS - 3 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        ids.push(200 + (x >> 8) % 20_000);
    }
    ids.extend([2, 1, 520]);
    ids
}

fn first_id(data: &[burn::tensor::TensorData]) -> Result<u32, String> {
    data.first()
        .and_then(|d| d.iter::<i64>().next())
        .map(|id| id as u32)
        .ok_or_else(|| "empty argmax".to_string())
}

fn run_mode(label: &str, mode: WeightMode) -> Result<(), Box<dyn std::error::Error>> {
    let path = model_path();
    let bytes = std::fs::read(&path)
        .map_err(|e| format!("{}: {e} (run `cargo xtask fetch-model`)", path.display()))?;
    let device = Device::flex();
    let t0 = Instant::now();
    let model = LlamaModel::from_gguf_bytes(&bytes, mode, &device)?;
    drop(bytes);
    let load_s = t0.elapsed().as_secs_f64();
    let resident = model.resident_bytes();

    let ids = prompt();
    // Warm-up (first-touch allocations), not timed.
    {
        let mut cache = model.new_cache(1);
        model
            .forward(&mut cache, &[&ids[..64]], None, &ForwardOptions::default())?
            .read_blocking()?;
    }

    let mut cache = model.new_cache(1);
    let t = Instant::now();
    let out = model.forward(&mut cache, &[&ids], None, &ForwardOptions::default())?;
    let logits = out.logits.ok_or("no logits")?;
    let first = Transaction::default()
        .register(logits.argmax(2))
        .try_execute()
        .map_err(|e| format!("{e:?}"))?;
    let prefill_s = t.elapsed().as_secs_f64();
    let mut next = first_id(&first)?;

    let t = Instant::now();
    let mut generated = Vec::with_capacity(DECODE_TOKENS);
    for _ in 0..DECODE_TOKENS {
        generated.push(next);
        let out = model.forward(&mut cache, &[&[next]], None, &ForwardOptions::default())?;
        let id = Transaction::default()
            .register(out.logits.ok_or("no logits")?.argmax(2))
            .try_execute()
            .map_err(|e| format!("{e:?}"))?;
        next = first_id(&id)?;
    }
    let decode_s = t.elapsed().as_secs_f64();

    println!(
        "{label:4} load {load_s:5.2} s | prefill {} tok in {prefill_s:6.3} s = {:7.1} tok/s | decode {DECODE_TOKENS} tok in {decode_s:6.3} s = {:6.2} tok/s | peak RSS {:.0} MiB | weights: host {:.1} MB + device {:.1} MB (flex), {:.1} MB packed",
        ids.len(),
        ids.len() as f64 / prefill_s,
        DECODE_TOKENS as f64 / decode_s,
        vm_hwm_kib().unwrap_or(0) as f64 / 1024.0,
        resident.host as f64 / 1e6,
        resident.device_flex as f64 / 1e6,
        resident.device_packed as f64 / 1e6,
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, mode] = args.as_slice()
        && flag == "--child"
    {
        let m = parse_mode(mode).ok_or("unknown mode")?;
        return run_mode(mode, m);
    }
    let modes: Vec<String> = if args.is_empty() {
        vec!["f32".into(), "quant".into()]
    } else {
        args
    };
    println!(
        "bench_engine: flex, {} threads (rayon), prompt {PROMPT_TOKENS} tokens, {DECODE_TOKENS} greedy tokens",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let exe = std::env::current_exe()?;
    for mode in modes {
        if parse_mode(&mode).is_none() {
            return Err(format!("unknown mode `{mode}` (f32, quant, q8s)").into());
        }
        let status = Command::new(&exe).args(["--child", &mode]).status()?;
        if !status.success() {
            return Err(format!("mode {mode} failed: {status}").into());
        }
    }
    Ok(())
}
