//! The README's commands: serve, test, dist.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::model::fetch_model;
use crate::process::{repo_root, run, tool_path};
use crate::tools::{self, Needs, WASM_TARGET};

/// Packages that compile to wasm32 (the app and the engine it runs).
const WASM_PACKAGES: [&str; 2] = ["assistant-axis-web", "assistant-axis-engine"];

/// Local development: the `fast` cargo profile (no fat LTO, no wasm-opt, incremental), which
/// builds the app in a fraction of the release build's time; `release` serves what `dist`
/// ships. Each step says how long it took.
pub fn serve(release: bool) -> Result<()> {
    let t = std::time::Instant::now();
    eprintln!("[serve] 1/3 checking the tools (installing what is missing)…");
    tools::ensure_all(Needs::Build)?;
    eprintln!("[serve] tools ready in {:.0} s", t.elapsed().as_secs_f64());
    let t = std::time::Instant::now();
    eprintln!("[serve] 2/3 checking the model…");
    fetch_model()?;
    eprintln!("[serve] model ready in {:.0} s", t.elapsed().as_secs_f64());
    let profile = if release {
        "release build (fat LTO, wasm-opt: the slow one, as shipped)"
    } else {
        "the `fast` profile (no LTO; `--release` for the shipped build)"
    };
    eprintln!(
        "[serve] 3/3 building with {profile}, then serving on http://127.0.0.1:8080 (Ctrl-C to stop; trunk rebuilds on change)"
    );
    let mut trunk = trunk();
    trunk.arg("serve");
    if release {
        trunk.arg("--release");
    } else {
        trunk.args(["--cargo-profile", "fast"]);
    }
    run(&mut trunk)
}

/// `fast`: the `fast` cargo profile (no LTO, no wasm-opt; minutes less) for local iteration.
pub fn dist(fast: bool) -> Result<()> {
    tools::ensure_all(Needs::Build)?;
    fetch_model()?;
    if fast {
        run(trunk().args(["build", "--cargo-profile", "fast"]))?;
        crate::csp::lock_down(&repo_root().join("dist"))?;
    } else {
        build_dist()?;
    }
    eprintln!("dist/ is ready: copy it to any static host (it uses relative URLs)");
    Ok(())
}

/// The engine's native benchmark (crates/engine/examples/bench_engine.rs). The dev profile
/// optimises the engine and its dependencies at opt-level 3, which avoids a ~15-minute fat-LTO
/// release build for the same numbers.
pub fn bench_engine() -> Result<()> {
    fetch_model()?;
    run(cargo().args([
        "run",
        "-p",
        "assistant-axis-engine",
        "--example",
        "bench_engine",
    ]))
}

/// The release site: the single-thread module (trunk) and, in `dist/threads/`, the threaded
/// one that the inference worker loads where the page is cross-origin isolated.
fn build_dist() -> Result<()> {
    let dist = repo_root().join("dist");
    release_build(None, &dist)?;
    crate::threads::build(&dist)
}

/// `trunk build --release` into `dist` with extra Cargo `features` (a second build beside
/// `dist/`, for benchmarks of build options), then the CSP lock-down of `dist`.
pub fn release_build(features: Option<&str>, dist: &std::path::Path) -> Result<()> {
    let mut cmd = trunk();
    cmd.args(["build", "--release"]);
    if let Some(features) = features {
        cmd.args(["--features", features]);
    }
    run(cmd.arg("--dist").arg(dist))?;
    crate::csp::lock_down(dist)
}

/// Everything CI checks, in the order that fails fastest; prints a timing table at the end.
pub fn test() -> Result<()> {
    let mut timings = Timings::default();
    timings.step("install tools", || tools::ensure_all(Needs::Everything))?;
    timings.step("fetch model", || fetch_model().map(|_| ()))?;
    timings.step("rustfmt", || run(cargo().args(["fmt", "--all", "--check"])))?;
    timings.step("clippy (native)", || {
        run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    timings.step("clippy (wasm32)", || {
        let mut cmd = cargo();
        cmd.args(["clippy", "--target", WASM_TARGET]);
        for p in WASM_PACKAGES {
            cmd.args(["-p", p]);
        }
        run(cmd.args(["--", "-D", "warnings"]))
    })?;
    timings.step("native tests", || {
        run(cargo().args(["test", "--workspace", "--exclude", "browser-tests"]))
    })?;
    timings.step("release wasm build (dist/)", build_dist)?;
    // `--nocapture`: the tests print what they measured (load times, scores, memory), which
    // belongs in the CI log.
    timings.step("browser tests", || {
        run(cargo()
            .args([
                "test",
                "-p",
                "browser-tests",
                "--",
                "--test-threads=1",
                "--nocapture",
            ])
            .env("AXIS_DIST", repo_root().join("dist")))
    })?;
    timings.print();
    Ok(())
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cmd.current_dir(repo_root());
    cmd
}

fn trunk() -> Command {
    let mut cmd = Command::new("trunk");
    cmd.current_dir(repo_root());
    if let Ok(path) = tool_path() {
        cmd.env("PATH", path);
    }
    cmd
}

#[derive(Default)]
struct Timings(Vec<(&'static str, f64)>);

impl Timings {
    fn step(&mut self, name: &'static str, f: impl FnOnce() -> Result<()>) -> Result<()> {
        eprintln!("\n==> {name}");
        let start = Instant::now();
        let result = f().with_context(|| format!("step `{name}` failed"));
        let secs = start.elapsed().as_secs_f64();
        self.0.push((name, secs));
        if result.is_err() {
            self.print();
        }
        result
    }

    fn print(&self) {
        eprintln!("\n{:<30} {:>9}", "step", "seconds");
        for (name, secs) in &self.0 {
            eprintln!("{name:<30} {secs:>9.1}");
        }
        let total: f64 = self.0.iter().map(|(_, s)| s).sum();
        eprintln!("{:<30} {:>9.1}", "total", total);
    }
}
