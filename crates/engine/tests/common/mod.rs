//! Shared helpers for the engine's integration tests (`mod common;` at the top of a test file).
//!
//! The real model is never committed: tests find it through `AXIS_MODEL_PATH`, else at
//! `<workspace root>/public/models/SmolLM2-135M-Instruct.Q4_1.gguf` (where
//! `cargo xtask fetch-model` puts it). A missing model fails the test, never skips it.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The model file the project ships against (docs/design.md §2).
pub const MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .to_path_buf()
}

/// Where the model is: `$AXIS_MODEL_PATH`, else `public/models/` under the workspace root.
pub fn model_path() -> PathBuf {
    match std::env::var_os("AXIS_MODEL_PATH") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => workspace_root().join("public/models").join(MODEL_FILE),
    }
}

/// The model file's bytes; panics with how to get it when it is missing.
pub fn model_bytes() -> Vec<u8> {
    let path = model_path();
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "model missing: run `cargo xtask fetch-model` ({}: {e}; AXIS_MODEL_PATH overrides the location)",
            path.display()
        )
    })
}

/// The model's bytes, read once per test binary and shared by its tests.
pub fn shared_model_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(model_bytes)
}

/// `crates/engine/tests/fixtures/<name>`.
pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The non-empty lines of a JSON-lines fixture, parsed.
pub fn jsonl_fixture(name: &str) -> Vec<serde_json::Value> {
    let path = fixture_path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("fixture {} unreadable: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{} line {}: {e}", path.display(), i + 1))
        })
        .collect()
}
