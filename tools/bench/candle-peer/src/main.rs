//! candle peer for `cargo xtask bench`: loads a GGUF with candle-transformers' `quantized_llama`,
//! prefills the given token ids in one forward pass, then decodes greedily, one token per pass.
//! Prints one JSON object per run to stdout.
//!
//! `candle-peer --model M.gguf --prompt prompt.json --new-tokens 128 --runs 3`
//!
//! Threads: candle's CPU kernels use rayon; set `RAYON_NUM_THREADS` (the harness does).

use std::time::Instant;

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama::ModelWeights;

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

fn argmax(logits: &Tensor) -> Result<u32, Box<dyn std::error::Error>> {
    let v: Vec<f32> = logits.squeeze(0)?.to_vec1()?;
    let mut best = 0usize;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    Ok(best as u32)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model_path = arg(&args, "--model").ok_or("--model required")?;
    let prompt_path = arg(&args, "--prompt").ok_or("--prompt required")?;
    let new_tokens: usize = arg(&args, "--new-tokens").map_or(Ok(128), |s| s.parse())?;
    let runs: usize = arg(&args, "--runs").map_or(Ok(1), |s| s.parse())?;

    let prompt: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&prompt_path)?)?;
    let ids: Vec<u32> = prompt["ids"]
        .as_array()
        .ok_or("prompt JSON: no `ids`")?
        .iter()
        .map(|v| v.as_u64().map(|x| x as u32).ok_or("bad id"))
        .collect::<Result<_, _>>()?;

    let device = Device::Cpu;
    let t0 = Instant::now();
    let mut file = std::fs::File::open(&model_path)?;
    let content = gguf_file::Content::read(&mut file)?;
    let mut model = ModelWeights::from_gguf(content, &mut file, &device)?;
    drop(file);
    let load_s = t0.elapsed().as_secs_f64();
    let rss_after_load_kib = vm_hwm_kib();

    // Warm-up (first-touch allocations), not timed.
    {
        let x = Tensor::new(&ids[..64], &device)?.unsqueeze(0)?;
        model.forward(&x, 0)?;
        model.clear_kv_cache();
    }

    for run in 0..runs {
        model.clear_kv_cache();
        let (t, c) = (Instant::now(), cpu_s());
        let x = Tensor::new(ids.as_slice(), &device)?.unsqueeze(0)?;
        let logits = model.forward(&x, 0)?;
        let mut next = argmax(&logits)?;
        let (prefill_s, prefill_cpu_s) = (t.elapsed().as_secs_f64(), cpu_s() - c);

        let mut generated = Vec::with_capacity(new_tokens);
        let (t, c) = (Instant::now(), cpu_s());
        for i in 0..new_tokens {
            generated.push(next);
            let x = Tensor::new(&[next], &device)?.unsqueeze(0)?;
            let logits = model.forward(&x, ids.len() + i)?;
            next = argmax(&logits)?;
        }
        let (decode_s, decode_cpu_s) = (t.elapsed().as_secs_f64(), cpu_s() - c);
        let out = serde_json::json!({
            "peer": "candle",
            "run": run,
            "load_s": load_s,
            "prompt_tokens": ids.len(),
            "new_tokens": new_tokens,
            "prefill_s": prefill_s,
            "decode_s": decode_s,
            "prefill_cpu_s": prefill_cpu_s,
            "decode_cpu_s": decode_cpu_s,
            "prefill_tok_s": ids.len() as f64 / prefill_s,
            "decode_tok_s": new_tokens as f64 / decode_s,
            "peak_rss_kib": vm_hwm_kib(),
            "rss_after_load_kib": rss_after_load_kib,
            "first_tokens": &generated[..generated.len().min(16)],
        });
        println!("{out}");
    }
    Ok(())
}
