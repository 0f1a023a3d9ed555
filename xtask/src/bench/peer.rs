//! What every peer has in common once its command line is built: the one process it runs, its
//! JSON-lines protocol, and the record of that run. Separate from the peers so that adding one
//! means writing its command line only, and from the report so that rendering never runs
//! anything.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::process::repo_root;

/// One peer process: its JSON lines, or why it did not run.
pub(super) struct PeerRun {
    pub(super) name: String,
    pub(super) command: String,
    pub(super) load_before: String,
    pub(super) load_after: String,
    pub(super) outcome: Result<Vec<Value>, String>,
}

/// What every peer's command line is built from, the same for all of them so that they measure
/// the same work.
pub(super) struct Inputs<'a> {
    pub(super) root: &'a Path,
    pub(super) model: &'a Path,
    /// `target/bench/prompt.json`: the token ids every peer prefills.
    pub(super) prompt: &'a Path,
    pub(super) threads: usize,
}

/// Whichever cargo runs xtask (`$CARGO`) also builds the native peers, so they share its
/// toolchain.
pub(super) fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cmd.current_dir(repo_root());
    cmd
}

/// Runs a peer; its stdout is JSON lines (echoed), its stderr passes through.
pub(super) fn run_json_lines(cmd: &mut Command) -> Result<Vec<Value>, String> {
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = Vec::new();
    for line in text.lines().filter(|l| l.starts_with('{')) {
        eprintln!("{line}");
        lines.push(serde_json::from_str(line).map_err(|e| format!("bad JSON line: {e}"))?);
    }
    if !out.status.success() {
        return Err(format!("failed ({})", out.status));
    }
    if lines.is_empty() {
        return Err("printed no results".into());
    }
    Ok(lines)
}
