//! The targets and their verdicts. Separate from the tables because it is the one place
//! that compares peers against thresholds; the verdicts are reported, never asserted, since
//! speed depends on the machine.

use super::is_browser_peer;
use super::peer::PeerRun;
use super::stats::{Row, best_wllama_decode, browser_decode, f};

/// The targets, each with the numbers it is judged on: met, not met, or not measured.
/// Reported, never asserted.
pub(super) fn targets(all: &[(String, Row)], runs: &[PeerRun], gguf: f64) -> String {
    let get = |label: &str, variant: &str| {
        all.iter()
            .find(|(v, r)| v == variant && r.label.starts_with(label))
            .map(|(_, r)| r)
    };
    let verdict = |ok: bool| if ok { "met" } else { "**not met**" };
    let mut lines = Vec::new();
    // Exact names: `llama.cpp-defaults` also starts with "llama.cpp".
    let exact = |label: &str| {
        all.iter()
            .find(|(v, r)| v == "plain" && r.label == label)
            .map(|(_, r)| r)
    };
    let llama = exact("llama.cpp");
    let best = ["ours-f32", "ours-blocks", "ours-quant"]
        .iter()
        .filter_map(|p| get(p, "plain"))
        .max_by(|a, b| a.decode.unwrap_or(0.0).total_cmp(&b.decode.unwrap_or(0.0)));
    match (best, llama) {
        (Some(o), Some(l)) if o.decode.is_some() && l.decode.is_some() => {
            let wall = o.decode.unwrap_or(0.0) / l.decode.unwrap_or(1.0);
            let cpu = match (o.decode_cpu, l.decode_cpu) {
                (Some(a), Some(b)) => format!(", {:.2}× per CPU-second", a / b),
                _ => String::new(),
            };
            lines.push(format!(
                "- Native decode ≥ 0.5 × llama.cpp: {} — {} {:.2} tok/s vs llama.cpp {:.2} tok/s = {wall:.2}× wall-clock{cpu}.",
                verdict(wall >= 0.5),
                o.label,
                o.decode.unwrap_or(0.0),
                l.decode.unwrap_or(0.0),
            ));
        }
        _ => lines.push("- Native decode ≥ 0.5 × llama.cpp: not measured.".into()),
    }
    // Not a target: the same ratio against llama.cpp as it runs out of the box.
    if let (Some(o), Some(l)) = (best, exact("llama.cpp-defaults"))
        && let (Some(od), Some(ld)) = (o.decode, l.decode)
    {
        lines.push(format!(
            "- Native decode vs llama.cpp with its own defaults (OpenMP threads spinning, not a target): {} {od:.2} tok/s vs llama.cpp-defaults {ld:.2} tok/s = {:.2}× wall-clock.",
            o.label,
            od / ld
        ));
    }
    for peer in ["ours-f32", "ours-blocks"] {
        let Some((p, pc)) = get(peer, "plain").zip(get(peer, "probes+caps")) else {
            lines.push(format!(
                "- Probe + capping overhead ≤ 3 % ({peer}): not measured."
            ));
            continue;
        };
        let over = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if a > 0.0 => Some((b / a - 1.0) * 100.0),
            _ => None,
        };
        let wall = over(pc.decode, p.decode);
        let cpu = over(pc.decode_cpu, p.decode_cpu);
        let ok = cpu.or(wall).is_some_and(|x| x <= 3.0);
        lines.push(format!(
            "- Probe + capping overhead ≤ 3 % of decode time ({peer}): {} — probes+caps vs plain: {} wall-clock, {} CPU time (judged on CPU time when measured: wall-clock moves with the machine's load).",
            verdict(ok),
            wall.map_or("—".into(), |x| format!("{x:+.1} %")),
            cpu.map_or("—".into(), |x| format!("{x:+.1} %")),
        ));
    }
    let best = best_wllama_decode(runs);
    match (browser_decode(runs, "ours-page-webgpu"), best) {
        (Some(ours), Some((name, wl))) => lines.push(format!(
            "- Browser WebGPU decode ≥ 1.0 × wllama's best: {} — ours-page-webgpu {ours:.3} tok/s vs {name} {wl:.2} tok/s = {:.3}× (WebGPU here is SwiftShader, on the CPU).",
            verdict(ours >= wl),
            ours / wl
        )),
        _ => lines.push("- Browser WebGPU decode ≥ 1.0 × wllama's best: not measured.".into()),
    }
    if let (Some(plain), Some(fused)) = (
        browser_decode(runs, "ours-page-webgpu"),
        browser_decode(runs, "ours-page-webgpu-fused"),
    ) {
        lines.push(format!(
            "- burn fusion + autotune on WebGPU (not a target, the A/B of docs/design.md §3): ours-page-webgpu-fused {fused:.3} tok/s vs ours-page-webgpu {plain:.3} tok/s = {:.2}× decode.",
            fused / plain
        ));
    }
    match (
        browser_decode(runs, "ours-page-cpu"),
        browser_decode(runs, "wllama-1t"),
    ) {
        (Some(ours), Some(wl)) => lines.push(format!(
            "- CPU-in-wasm decode ≥ 0.7 × wllama single-thread: {} — ours-page-cpu {ours:.2} tok/s vs wllama-1t {wl:.2} tok/s = {:.2}×.",
            verdict(ours >= 0.7 * wl),
            ours / wl
        )),
        _ => lines.push("- CPU-in-wasm decode ≥ 0.7 × wllama single-thread: not measured.".into()),
    }
    // Issue 20's threads: the page on every core against itself on one and wllama's threads.
    match (
        browser_decode(runs, "ours-page-cpu-mt"),
        browser_decode(runs, "ours-page-cpu"),
        browser_decode(runs, "wllama-mt"),
    ) {
        (Some(mt), Some(one), wl) => {
            let against_wllama = wl.map_or("wllama-mt not measured".into(), |wl| {
                format!(
                    "{} against wllama-mt {wl:.2} tok/s ({:.2}×, bar ≥ 1.0×)",
                    verdict(mt >= wl),
                    mt / wl
                )
            });
            lines.push(format!(
                "- CPU-in-wasm on every core ≥ 1.6 × one thread: {} — ours-page-cpu-mt {mt:.2} tok/s vs ours-page-cpu {one:.2} tok/s = {:.2}×; {against_wllama}.",
                verdict(mt >= 1.6 * one),
                mt / one
            ));
        }
        _ => lines.push("- CPU-in-wasm on every core ≥ 1.6 × one thread: not measured.".into()),
    }
    let resident: Vec<(String, f64, f64)> = runs
        .iter()
        .filter(|r| r.name.starts_with("ours") && !is_browser_peer(&r.name))
        .filter_map(|r| {
            let l = r.outcome.as_ref().ok()?.first()?;
            let g = f(l, "gguf_bytes").unwrap_or(gguf);
            let host = f(l, "resident_host_bytes")?;
            Some((
                r.name.clone(),
                (f(l, "resident_device_flex_bytes")? + host) / g,
                (f(l, "resident_device_packed_bytes")? + host) / g,
            ))
        })
        .collect();
    if resident.is_empty() {
        lines.push("- Weights resident ≤ 1.5 × GGUF bytes: not measured.".into());
    } else {
        let flex_ok = resident.iter().any(|(_, flex, _)| *flex <= 1.5);
        let packed_ok = resident.iter().any(|(_, _, packed)| *packed <= 1.5);
        let each: Vec<String> = resident
            .iter()
            .map(|(n, flex, packed)| format!("{n} {flex:.2}× on flex, {packed:.2}× packed"))
            .collect();
        lines.push(format!(
            "- Weights resident ≤ 1.5 × GGUF bytes: on flex (native) {}, packed (WebGPU layout) {} — {}.",
            verdict(flex_ok),
            verdict(packed_ok),
            each.join("; ")
        ));
    }
    lines.join("\n")
}
