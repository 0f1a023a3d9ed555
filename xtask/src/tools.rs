//! Installs the build and test tools when they are missing, at the exact versions that work.
//!
//! Nothing here downloads a prebuilt binary: trunk and wasm-bindgen-cli are built by cargo,
//! wasm-opt comes from npm's `binaryen`, Chromium from Debian's packages.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process::{output_of, repo_root, run};

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
const TRUNK_VERSION: &str = "0.21.14";
const WASM_OPT_VERSION: &str = "version_132";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// What `serve` and `dist` need.
    Build,
    /// Build tools plus headless Chromium and chromedriver for the browser tests.
    Everything,
}

pub fn ensure_all(needs: Needs) -> Result<()> {
    ensure_wasm_target()?;
    ensure_trunk()?;
    ensure_wasm_bindgen()?;
    ensure_wasm_opt()?;
    if needs == Needs::Everything {
        ensure_chromium()?;
    }
    Ok(())
}

fn ensure_wasm_target() -> Result<()> {
    let installed = output_of("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if installed.lines().any(|l| l.trim() == WASM_TARGET) {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
        .context("could not add the wasm32 target; install rustup (https://rustup.rs) and retry")
}

fn ensure_trunk() -> Result<()> {
    let want = format!("trunk {TRUNK_VERSION}");
    if output_of("trunk", &["--version"]).is_some_and(|v| v == want) {
        return Ok(());
    }
    // trunk 0.22 needs a newer rustc than this project's toolchain; pin the last that fits.
    // Built for orchestration, not speed: trunk's own release profile (fat LTO, one codegen
    // unit) and its default features (TLS for downloading tools, which we install ourselves,
    // and a crates.io update check) took 4 min 50 s of a fresh machine's CI; without them,
    // unoptimised, 1 min 31 s (2-core machine, 2026-12-06). Its work in a build — copying and
    // hashing a few files — takes seconds either way.
    run(Command::new("cargo")
        .args([
            "install",
            "--locked",
            "--no-default-features",
            &format!("trunk@{TRUNK_VERSION}"),
        ])
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0"))
    .context("could not install trunk with cargo")
}

/// The wasm-bindgen CLI must be exactly the library version in Cargo.lock, or the generated
/// JS glue does not match the wasm module.
fn ensure_wasm_bindgen() -> Result<()> {
    let version = locked_version("wasm-bindgen")?;
    check_trunk_toml_pins(&version)?;
    if output_of("wasm-bindgen", &["--version"])
        .is_some_and(|v| v == format!("wasm-bindgen {version}"))
    {
        return Ok(());
    }
    // No `--locked`: the crates index here lacks a version that the CLI's own lockfile pins.
    run(Command::new("cargo").args(["install", "--force", &format!("wasm-bindgen-cli@{version}")]))
        .context("could not install wasm-bindgen-cli with cargo")
}

fn ensure_wasm_opt() -> Result<()> {
    let wasm_opt = repo_root().join("node_modules/.bin/wasm-opt");
    let current = output_of(&wasm_opt.to_string_lossy(), &["--version"]);
    if current.is_some_and(|v| v.contains(WASM_OPT_VERSION)) {
        return Ok(());
    }
    if output_of("npm", &["--version"]).is_none() {
        bail!(
            "npm is missing: install Node.js 20+ with npm (e.g. `apt-get install nodejs npm`), then retry"
        );
    }
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(repo_root()))
    .context("could not install binaryen (wasm-opt) from npm")
}

fn ensure_chromium() -> Result<()> {
    if output_of("chromium", &["--version"]).is_some()
        && output_of("chromedriver", &["--version"]).is_some()
    {
        return Ok(());
    }
    let is_root = output_of("id", &["-u"]).is_some_and(|uid| uid == "0");
    if !is_root || output_of("apt-get", &["--version"]).is_none() {
        bail!(
            "Chromium and chromedriver are missing: install them (Debian: `apt-get install chromium chromium-driver`) and retry"
        );
    }
    run(Command::new("apt-get").arg("update")).context("apt-get update failed")?;
    run(Command::new("apt-get").args([
        "install",
        "-y",
        "--no-install-recommends",
        "chromium",
        "chromium-driver",
    ]))
    .context("could not install chromium and chromium-driver with apt-get")
}

/// The version of `package` recorded in Cargo.lock.
pub fn locked_version(package: &str) -> Result<String> {
    let lock_path = repo_root().join("Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path).with_context(|| {
        format!(
            "cannot read {}; run `cargo generate-lockfile`",
            lock_path.display()
        )
    })?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == format!("name = \"{package}\"")
            && let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
        {
            return Ok(v.trim_end_matches('"').to_owned());
        }
    }
    bail!("{package} is not in Cargo.lock")
}

/// Trunk.toml names the tool versions; a mismatch with Cargo.lock would make trunk refuse to
/// build (offline mode), so say so early and clearly.
fn check_trunk_toml_pins(wasm_bindgen_version: &str) -> Result<()> {
    let path = repo_root().join("Trunk.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let want_bindgen = format!("wasm_bindgen = \"{wasm_bindgen_version}\"");
    let want_opt = format!("wasm_opt = \"{WASM_OPT_VERSION}\"");
    for want in [want_bindgen, want_opt] {
        if !text.lines().any(|l| l.trim() == want) {
            bail!("Trunk.toml must pin `{want}` (it must match Cargo.lock / package.json)");
        }
    }
    Ok(())
}
