//! Our app's page as a peer (`ours-page-cpu`, `ours-page-cpu-f32`, `ours-page-webgpu`,
//! `ours-page-webgpu-fused`): the built site driven in headless Chromium like a visitor uses
//! it. Its own file because it needs a release build of the app (`dist/`, or a fused variant
//! built fresh), which no other peer does.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::browser::BROWSER_PEERS;
use super::peer::Inputs;
use crate::process::repo_root;

/// The Cargo features of the `ours-page-webgpu-fused` build.
const FUSED_FEATURES: &str = "fusion,autotune";

/// The page with burn's fusion and autotuning, built fresh (a stale build would measure old
/// code), with the same CSP lock-down as `dist/`.
pub(super) fn build_fused_dist() -> Result<PathBuf, String> {
    let dir = repo_root().join("target/bench/dist-fused");
    crate::tools::ensure_all(crate::tools::Needs::Build)
        .and_then(|()| crate::tasks::release_build(Some(FUSED_FEATURES), &dir))
        .map_err(|e| format!("{e:#}"))?;
    Ok(dir)
}

/// `dist/` as `cargo xtask dist` builds it (release: fat LTO, wasm-opt), built if missing. An
/// existing `dist/` is used as it is: rebuild it after changing the app.
pub(super) fn ensure_dist() -> Result<PathBuf, String> {
    let dist = repo_root().join("dist");
    if !dist.join("index.html").exists() {
        crate::tasks::dist(false).map_err(|e| format!("{e:#}"))?;
    }
    Ok(dist)
}

/// The WebGPU peers prefill `webgpu_prompt` (`--webgpu-prompt-tokens`), not the shared prompt:
/// on SwiftShader the full one would take too long.
pub(super) fn command(
    peer: &str,
    i: &Inputs,
    webgpu_prompt: &Path,
    browser_peers: &Result<(), String>,
    dist: &Result<PathBuf, String>,
    fused_dist: &Result<PathBuf, String>,
) -> (Command, Result<(), String>) {
    let webgpu = super::is_webgpu_page_peer(peer);
    let dist = if peer == "ours-page-webgpu-fused" {
        fused_dist
    } else {
        dist
    };
    let precision = if peer.ends_with("-f32") {
        "f32"
    } else {
        "quantized"
    };
    let mut cmd = Command::new("node");
    cmd.arg(i.root.join(BROWSER_PEERS).join("ours-page.mjs"))
        .arg("--dist")
        .arg(dist.as_ref().map_or(Path::new("dist"), |d| d))
        .arg("--model")
        .arg(i.model)
        .arg("--prompt")
        .arg(if webgpu { webgpu_prompt } else { i.prompt })
        .args(["--backend", if webgpu { "webgpu" } else { "cpu" }])
        .args(["--precision", precision]);
    // `-mt` and the page as a visitor finds it: every core (the threaded module); the other CPU
    // peers measure one thread, as the page ran before it had threads.
    if peer.contains("-mt") || (peer.ends_with("-as-opened") && !webgpu) {
        cmd.args(["--threads", "all"]);
    }
    if peer.ends_with("-as-opened") {
        // The page as a visitor finds it: default sampling and penalties, capping on.
        cmd.arg("--as-opened");
    }
    let built = browser_peers
        .clone()
        .and_then(|()| dist.as_ref().map(|_| ()).map_err(Clone::clone));
    (cmd, built)
}
