//! `cargo xtask bench`: our engine (burn, CPU backend flex) against llama.cpp (llama-cpp-python,
//! built from its PyPI sdist) and candle (candle-transformers' quantized llama) on the same GGUF
//! and the same prompt token ids, greedy; in headless Chromium our page (CPU-in-wasm and WebGPU)
//! against wllama; plus the overhead of the app's probes and caps. Writes the generated part of
//! `docs/benchmarks.md`. Never part of `cargo xtask test`: speed is not asserted anywhere.
//!
//! One file per peer (`ours_native`, `llama_cpp`, `candle`, `wllama`, `ours_page`, with the
//! Chromium harness the last two share in `browser`): each holds how its peer is built and the
//! command line it runs with, so a peer's quirks are read in one place. What all peers share is
//! apart from them: `peer` (the run record and the JSON-lines protocol), `machine` (load and
//! machine description), `stats` (medians and number formatting), and the report in `report`,
//! `browser_report` and `targets`. This file keeps the options and the order things happen in.

mod browser;
mod browser_report;
mod candle;
mod llama_cpp;
mod machine;
mod ours_native;
mod ours_page;
mod peer;
mod report;
mod stats;
mod targets;
mod wllama;

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::model::fetch_model;
use crate::process::{describe, repo_root};
use machine::{loadavg, machine_description};
use peer::{Inputs, PeerRun, run_json_lines};
use report::{DOC, report, write_doc};

pub struct Options {
    pub runs: usize,
    pub threads: usize,
    pub prompt_tokens: usize,
    pub new_tokens: usize,
    /// The WebGPU page peer's own, smaller sizes: on SwiftShader (a GPU emulated on the CPU) a
    /// 512-token prefill alone takes ~20 minutes.
    pub webgpu: Sizes,
    pub peers: Vec<String>,
    pub write_doc: bool,
}

#[derive(Clone, Copy)]
pub struct Sizes {
    pub prompt_tokens: usize,
    pub new_tokens: usize,
    pub runs: usize,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options> {
        let mut o = Options {
            runs: 3,
            threads: 2,
            prompt_tokens: 512,
            new_tokens: 128,
            webgpu: Sizes {
                prompt_tokens: 64,
                new_tokens: 8,
                runs: 1,
            },
            peers: ALL_PEERS.iter().map(|s| s.to_string()).collect(),
            write_doc: true,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || {
                it.next()
                    .cloned()
                    .with_context(|| format!("`{a}` needs a value"))
            };
            match a.as_str() {
                "--runs" => o.runs = value()?.parse().context("--runs")?,
                "--threads" => o.threads = value()?.parse().context("--threads")?,
                "--prompt-tokens" => {
                    o.prompt_tokens = value()?.parse().context("--prompt-tokens")?
                }
                "--new-tokens" => o.new_tokens = value()?.parse().context("--new-tokens")?,
                "--webgpu-prompt-tokens" => {
                    o.webgpu.prompt_tokens = value()?.parse().context("--webgpu-prompt-tokens")?
                }
                "--webgpu-new-tokens" => {
                    o.webgpu.new_tokens = value()?.parse().context("--webgpu-new-tokens")?
                }
                "--webgpu-runs" => o.webgpu.runs = value()?.parse().context("--webgpu-runs")?,
                "--peers" => o.peers = value()?.split(',').map(str::to_owned).collect(),
                "--no-doc" => o.write_doc = false,
                other => bail!(
                    "unknown option `{other}` (--runs N, --threads N, --prompt-tokens N, --new-tokens N, --webgpu-prompt-tokens N, --webgpu-new-tokens N, --webgpu-runs N, --peers {}, --no-doc)",
                    ALL_PEERS.join(",")
                ),
            }
        }
        if let Some(p) = o.peers.iter().find(|p| !ALL_PEERS.contains(&p.as_str())) {
            bail!("unknown peer `{p}` (one of {})", ALL_PEERS.join(", "));
        }
        if o.runs == 0 || o.threads == 0 || o.new_tokens == 0 {
            bail!("--runs, --threads and --new-tokens must be at least 1");
        }
        if o.webgpu.runs == 0 || o.webgpu.new_tokens == 0 {
            bail!("--webgpu-runs and --webgpu-new-tokens must be at least 1");
        }
        Ok(o)
    }
}

/// `wllama-1t` runs wllama on one thread; `wllama-mt` on `--threads` (its pthread build).
/// `ours-page-cpu` and `ours-page-webgpu` are our built app (`dist/`) in the same Chromium, on
/// its two backends with the app's default (quantized) weights; `ours-page-cpu-f32` with f32;
/// `ours-page-cpu` runs one thread (`?threads=1`), `ours-page-cpu-mt` every core through the
/// threaded module (`dist/threads/`, docs/threads.md);
/// `ours-page-cpu-as-opened` the CPU page as a visitor finds it (default sampling, capping on,
/// every core);
/// `ours-page-webgpu-as-opened` the same on WebGPU, where the worker's call counts of the capped
/// twin show what capping adds per token.
/// `ours-page-webgpu-fused` is the same page built with burn's kernel fusion and autotuning
/// (`--features fusion,autotune`, into `target/bench/dist-fused`): the A/B docs/design.md §3 asks
/// for before either is switched on for visitors.
const ALL_PEERS: [&str; 15] = [
    "ours-f32",
    "ours-blocks",
    "ours-quant",
    "llama.cpp",
    "llama.cpp-defaults",
    "candle",
    "wllama-1t",
    "wllama-mt",
    "ours-page-cpu",
    "ours-page-cpu-mt",
    "ours-page-cpu-as-opened",
    "ours-page-cpu-f32",
    "ours-page-webgpu",
    "ours-page-webgpu-as-opened",
    "ours-page-webgpu-fused",
];

/// llama.cpp with OpenMP's default wait policy; the `llama.cpp` peer runs it with
/// `OMP_WAIT_POLICY=PASSIVE` (docs/benchmarks.md says why both).
const LLAMA_CPP_DEFAULTS: &str = "llama.cpp-defaults";

fn is_browser_peer(name: &str) -> bool {
    name.starts_with("wllama") || name.starts_with("ours-page")
}

/// The page's WebGPU peers prefill the shorter WebGPU prompt with their own sizes.
fn is_webgpu_page_peer(name: &str) -> bool {
    name.starts_with("ours-page-webgpu")
}

pub fn bench(opts: &Options) -> Result<()> {
    let root = repo_root();
    let model = fetch_model()?;
    let load_at_start = loadavg();
    let machine = machine_description();
    eprintln!("machine: {}", machine.join("; "));

    // Build what is missing; a peer that cannot be built is reported, not fatal.
    let ours = ours_native::build()?;
    let wants = |p: &str| opts.peers.iter().any(|x| x == p);
    let python = if wants("llama.cpp") || wants("llama.cpp-defaults") {
        llama_cpp::ensure_llama_cpp()
    } else {
        Err("not requested".into())
    };
    let candle = if wants("candle") {
        candle::ensure_candle()
    } else {
        Err("not requested".into())
    };
    let wants_page = opts.peers.iter().any(|p| p.starts_with("ours-page"));
    let browser_peers = if wants("wllama-1t") || wants("wllama-mt") || wants_page {
        browser::ensure_browser_peers()
    } else {
        Err("not requested".into())
    };
    let dist = if wants_page {
        ours_page::ensure_dist()
    } else {
        Err("not requested".into())
    };
    let fused_dist = if wants("ours-page-webgpu-fused") {
        ours_page::build_fused_dist()
    } else {
        Err("not requested".into())
    };

    let prompt = root.join("target/bench/prompt.json");
    ours_native::write_prompt(&ours, &model, &prompt, opts.prompt_tokens)?;
    let webgpu_prompt = root.join("target/bench/prompt-webgpu.json");
    if opts.peers.iter().any(|p| is_webgpu_page_peer(p)) {
        ours_native::write_prompt(&ours, &model, &webgpu_prompt, opts.webgpu.prompt_tokens)?;
    }

    let common = |cmd: &mut Command, peer: &str, sizes: Sizes| {
        cmd.args(["--new-tokens", &sizes.new_tokens.to_string()])
            .args(["--runs", &sizes.runs.to_string()])
            .env("RAYON_NUM_THREADS", opts.threads.to_string())
            .env("OMP_NUM_THREADS", opts.threads.to_string())
            .env("AXIS_MODEL_PATH", &model);
        if peer == LLAMA_CPP_DEFAULTS {
            // llama.cpp as its users run it: OpenMP's own wait policy (threads spin at
            // barriers), which is fast on an idle machine and collapses on a busy one.
            cmd.env_remove("OMP_WAIT_POLICY");
        } else if std::env::var_os("OMP_WAIT_POLICY").is_none() {
            cmd.env("OMP_WAIT_POLICY", "PASSIVE");
        }
    };
    let inputs = Inputs {
        root: &root,
        model: &model,
        prompt: &prompt,
        threads: opts.threads,
    };
    let mut runs = Vec::new();
    let full = Sizes {
        prompt_tokens: opts.prompt_tokens,
        new_tokens: opts.new_tokens,
        runs: opts.runs,
    };
    for peer in &opts.peers {
        let sizes = match peer.as_str() {
            p if is_webgpu_page_peer(p) => opts.webgpu,
            // burn's quantized matmul on flex decodes at ~0.3 tok/s (it is the WebGPU path's
            // weight layout, measured here for its memory): one run, not `--runs`.
            "ours-quant" => Sizes { runs: 1, ..full },
            _ => full,
        };
        // Every peer gets a command even when it is not built: the report lists it anyway.
        let (mut cmd, built) = match peer.as_str() {
            "ours-f32" | "ours-blocks" | "ours-quant" => {
                (ours_native::command(&ours, peer, &inputs), Ok(()))
            }
            "llama.cpp" | LLAMA_CPP_DEFAULTS => llama_cpp::command(&python, &inputs),
            "wllama-1t" | "wllama-mt" => wllama::command(&browser_peers, peer, &inputs),
            p if p.starts_with("ours-page") => ours_page::command(
                peer,
                &inputs,
                &webgpu_prompt,
                &browser_peers,
                &dist,
                &fused_dist,
            ),
            _ => candle::command(&candle, &inputs),
        };
        common(&mut cmd, peer, sizes);
        let command = describe(&cmd).replace(&format!("{}/", root.display()), "");
        let load_before = loadavg();
        let outcome = match built {
            Err(why) => {
                eprintln!("==> {peer}: not built ({why})");
                Err(format!("not built: {why}"))
            }
            Ok(()) => {
                eprintln!("==> {peer} (load {load_before})\n$ {command}");
                run_json_lines(&mut cmd)
            }
        };
        let load_after = loadavg();
        if let Err(e) = &outcome {
            eprintln!("{peer}: {e}");
        }
        runs.push(PeerRun {
            name: peer.clone(),
            command,
            load_before,
            load_after,
            outcome,
        });
    }

    let report = report(opts, &machine, &load_at_start, &loadavg(), &model, &runs);
    println!("{report}");
    if opts.write_doc {
        write_doc(&root.join(DOC), &report)?;
        eprintln!("wrote {DOC}");
    }
    Ok(())
}
