//! The in-browser part of the report: wllama and our page side by side, the WebGPU call counts
//! (`gpu_calls_table`) and the size of our wasm. Its own file because those peers report
//! different fields (cold load, TTFT, threads they got, GPU calls) from the native ones.

use std::fmt::Write as _;

use serde_json::Value;

use super::is_browser_peer;
use super::peer::PeerRun;
use super::stats::{best_wllama_decode, browser_decode, f, fmt, med, median, ratio};
use crate::process::repo_root;

/// The in-browser peers (wllama, our page): what a visitor's page sees — cold load, time to
/// first token, and whether the threads it asked for were there.
pub(super) fn browser_section(runs: &[PeerRun]) -> String {
    let mut s = String::new();
    let browser: Vec<&PeerRun> = runs
        .iter()
        .filter(|r| is_browser_peer(&r.name) && r.outcome.is_ok())
        .collect();
    if browser.is_empty() {
        return s;
    }
    let _ = writeln!(s, "\n### In the browser (headless Chromium)\n");
    let _ = writeln!(
        s,
        "| peer | backend | threads | prompt tokens | new tokens | runs | cold load s | TTFT s | prefill tok/s | decode tok/s | decode vs wllama-1t | decode vs best wllama | decode tok/CPU-s |"
    );
    let _ = writeln!(
        s,
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let single = browser_decode(runs, "wllama-1t");
    let best = best_wllama_decode(runs);
    for r in &browser {
        let lines = r.outcome.as_ref().map(Vec::as_slice).unwrap_or_default();
        let first = lines.first();
        let field = |k: &str| {
            first
                .and_then(|l| l.get(k))
                .filter(|v| !v.is_null())
                .map_or("—".to_owned(), |v| {
                    v.as_str().map_or(v.to_string(), str::to_owned)
                })
        };
        let threads = match first
            .and_then(|l| l.get("multithread"))
            .and_then(Value::as_bool)
        {
            Some(mt) => format!(
                "{} ({})",
                field("threads"),
                if mt { "pool ran" } else { "no pool" }
            ),
            None => field("threads"),
        };
        let backend = if r.name.starts_with("wllama") {
            "CPU (wasm)".to_owned()
        } else {
            format!("{} {}", field("backend"), field("precision"))
        };
        let per_cpu = median(
            lines
                .iter()
                .filter_map(|l| Some(f(l, "new_tokens")? / f(l, "decode_cpu_s")?))
                .collect(),
        );
        let decode = med(r, "decode_tok_s");
        let _ = writeln!(
            s,
            "| {} | {backend} | {threads} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            fmt(med(r, "prompt_tokens"), 0),
            fmt(med(r, "new_tokens"), 0),
            lines.len(),
            fmt(med(r, "load_s"), 1),
            fmt(med(r, "ttft_s"), 2),
            fmt(med(r, "prefill_tok_s"), 1),
            fmt(decode, 2),
            ratio(decode, single),
            ratio(decode, best.map(|(_, d)| d)),
            fmt(per_cpu, 2),
        );
    }
    let _ = writeln!(
        s,
        "\nwllama 3.x takes only text prompts: its peer turns the ids back into their exact text and checks that wllama evaluated as many prompt tokens as there are ids (`tools/bench/browser/README.md`); its prefill and decode are llama-server's own timings inside the worker. Our page is driven like a person uses it (backend, weights as its row says, capping off, temperature 0) and read from each answer's meta line, after checking that the app's prompt has as many tokens as the file; its threads are the ones the page reports for its CPU backend (`ours-page-cpu` asks for one with `?threads=1`; `-mt` and the as-opened CPU peer run the threaded module on every core, docs/threads.md). TTFT is what the page sees; ours includes one decode step. The WebGPU peer runs with its own sizes (`--webgpu-prompt-tokens`, `--webgpu-new-tokens`, `--webgpu-runs`): in headless Chromium here WebGPU is SwiftShader, a GPU emulated on the CPU, and a shorter context makes its decode a little faster than it would be at the full prompt. Tokens per CPU-second count all of Chromium's processes."
    );
    s.push_str(&gpu_calls_table(&browser));
    if let Some(size) = wasm_size() {
        let _ = writeln!(s, "\n{size}");
    }
    s
}

/// WebGPU calls per token for the page's WebGPU peers, counted inside the worker by the peer
/// (`gpu_calls` in its JSON lines; `tools/bench/browser/ours-page.mjs`). Machine-independent:
/// the number of dispatches a real GPU would be asked to run. Beside them, a decode step's wall
/// time cut in three (the worker encoding until the first submit, the GPU until the readback
/// resolves, the host after it), which is machine-dependent but says what bounds the step.
fn gpu_calls_table(browser: &[&PeerRun]) -> String {
    let mut s = String::new();
    let counted: Vec<(&str, &Value)> = browser
        .iter()
        .filter_map(|r| {
            let lines = r.outcome.as_ref().ok()?;
            let calls = lines
                .iter()
                .find_map(|l| l.get("gpu_calls").filter(|v| !v.is_null()))?;
            Some((r.name.as_str(), calls))
        })
        .collect();
    if counted.is_empty() {
        return s;
    }
    let _ = writeln!(
        s,
        "\nWebGPU calls, counted in the inference worker (dispatchWorkgroups, queue submits, buffer readbacks with mapAsync, buffer creations); per decoded token the median over the answer's decode steps, per prompt token the prefill's calls over the prompt. A decode step's wall time, in ms (medians): encode = from the previous token to the step's first submit (the worker building the pass, the GPU idle), GPU = from there until the readback resolves, host = after it until the token is posted:\n"
    );
    let _ = writeln!(
        s,
        "| peer | dispatches / decoded token | submits | readbacks | buffers created | dispatches / prompt token | submits | readbacks | buffers created | decode steps | encode ms | GPU ms | host ms |"
    );
    let _ = writeln!(
        s,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    // With capping on, the capped twin's decode steps get a row of their own.
    let rows = counted.into_iter().flat_map(|(name, calls)| {
        let twin = calls
            .get("capped_twin")
            .map(|t| (format!("{name}: capped twin"), t));
        std::iter::once((name.to_owned(), calls)).chain(twin)
    });
    for (name, calls) in rows {
        let n = |part: &str, key: &str| {
            calls
                .get(part)
                .and_then(|p| p.get(key))
                .and_then(Value::as_f64)
                .map_or("—".to_owned(), |v| format!("{v:.1}"))
        };
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            n("per_decode_token", "dispatch"),
            n("per_decode_token", "submit"),
            n("per_decode_token", "readback"),
            n("per_decode_token", "buffer"),
            n("per_prefill_token", "dispatch"),
            n("per_prefill_token", "submit"),
            n("per_prefill_token", "readback"),
            n("per_prefill_token", "buffer"),
            calls
                .get("decode_steps")
                .and_then(Value::as_u64)
                .map_or("—".to_owned(), |v| v.to_string()),
            n("per_decode_token", "encode_ms"),
            n("per_decode_token", "gpu_ms"),
            n("per_decode_token", "host_ms"),
        );
    }
    s
}

/// Our app's wasm as `dist/` serves it: raw bytes and gzip -9 bytes (what a static host with
/// compression sends).
fn wasm_size() -> Option<String> {
    use std::io::Write as _;
    let dist = repo_root().join("dist");
    let wasm = std::fs::read_dir(&dist)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .map(|p| std::fs::read(&p).map(|b| (p, b)))
        .collect::<std::io::Result<Vec<_>>>()
        .ok()?;
    let parts: Vec<String> = wasm
        .iter()
        .filter_map(|(path, bytes)| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(bytes).ok()?;
            let gzip = gz.finish().ok()?.len();
            Some(format!(
                "`{}` {:.2} MB raw, {:.2} MB gzip -9",
                path.file_name()?.to_string_lossy(),
                bytes.len() as f64 / 1e6,
                gzip as f64 / 1e6
            ))
        })
        .collect();
    (!parts.is_empty()).then(|| format!("Our wasm in `dist/`: {}.", parts.join("; ")))
}
