//! The wllama peers (`wllama-1t`, `wllama-mt`): llama.cpp compiled to wasm, in the same
//! Chromium as our page. Its own file because it is the in-browser yardstick the page's
//! targets are judged against, and its thread count is its own (one, or its pthread build).

use std::process::Command;

use super::browser::BROWSER_PEERS;
use super::peer::Inputs;

/// `wllama-1t` always runs on one thread whatever `--threads` says: it is the single-thread
/// baseline the page's CPU-in-wasm decode is compared with.
pub(super) fn command(
    browser_peers: &Result<(), String>,
    peer: &str,
    i: &Inputs,
) -> (Command, Result<(), String>) {
    let threads = if peer == "wllama-1t" { 1 } else { i.threads };
    let mut cmd = Command::new("node");
    cmd.arg(i.root.join(BROWSER_PEERS).join("wllama.mjs"))
        .arg("--model")
        .arg(i.model)
        .arg("--prompt")
        .arg(i.prompt)
        .args(["--threads", &threads.to_string()]);
    (cmd, browser_peers.clone())
}
