//! The candle peer: candle-transformers' quantized llama in `tools/bench/candle-peer`. Its own
//! file because it is built as a separate cargo workspace with its own target dir, so its
//! dependencies never enter ours.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::peer::{Inputs, cargo};
use crate::process::{repo_root, run};

const CANDLE_PEER: &str = "tools/bench/candle-peer";

/// Builds `tools/bench/candle-peer` (its own workspace and target dir) in release.
pub(super) fn ensure_candle() -> Result<PathBuf, String> {
    let dir = repo_root().join(CANDLE_PEER);
    run(cargo()
        .args(["build", "--release", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", dir.join("target")))
    .map_err(|e| format!("{e:#}"))?;
    Ok(dir.join("target/release/candle-peer"))
}

/// Built even when the peer is not, so the report can show the command next to why it did not
/// run.
pub(super) fn command(
    candle: &Result<PathBuf, String>,
    i: &Inputs,
) -> (Command, Result<(), String>) {
    let mut cmd = Command::new(candle.as_ref().map_or(Path::new("candle-peer"), |p| p));
    cmd.arg("--model")
        .arg(i.model)
        .arg("--prompt")
        .arg(i.prompt);
    (cmd, candle.as_ref().map(|_| ()).map_err(Clone::clone))
}
