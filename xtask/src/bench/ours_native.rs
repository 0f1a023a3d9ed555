//! Our engine natively (`ours-f32`, `ours-blocks`, `ours-quant`): the `bench_peer` example of
//! the engine crate. Its own file because that binary is also the one that writes the prompt
//! every other peer reads, so the prompt's token ids are ours by construction.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use super::peer::{Inputs, cargo};
use crate::process::{repo_root, run};

/// A debug build is enough: the workspace's dev profile compiles the engine at opt-level 3.
pub(super) fn build() -> Result<PathBuf> {
    run(cargo().args([
        "build",
        "-p",
        "assistant-axis-engine",
        "--example",
        "bench_peer",
    ]))?;
    Ok(repo_root().join("target/debug/examples/bench_peer"))
}

/// Every peer reads the ids written here, so all of them prefill the same tokens.
pub(super) fn write_prompt(ours: &Path, model: &Path, path: &Path, tokens: usize) -> Result<()> {
    run(Command::new(ours)
        .arg("--write-prompt")
        .arg(path)
        .args(["--prompt-tokens", &tokens.to_string()])
        .env("AXIS_MODEL_PATH", model))
}

pub(super) fn command(ours: &Path, peer: &str, i: &Inputs) -> Command {
    let mut cmd = Command::new(ours);
    cmd.arg("--prompt").arg(i.prompt);
    match peer {
        // The overheads are measured on the two fast CPU paths; quant (burn's own
        // quantized matmul, the WebGPU path's weights) for its speed and memory.
        "ours-f32" => cmd.args(["--mode", "f32"]),
        "ours-blocks" => cmd.args(["--mode", "blocks"]),
        _ => cmd.args(["--mode", "quant", "--variants", "plain"]),
    };
    cmd
}
