//! The shipped model for tests (`cargo xtask fetch-model` puts it in `public/models/`;
//! `AXIS_MODEL_PATH` overrides). A missing model fails the test, never skips it.

use std::path::{Path, PathBuf};

pub fn model_bytes() -> Vec<u8> {
    let path = std::env::var_os("AXIS_MODEL_PATH")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../public/models/SmolLM2-135M-Instruct.Q4_1.gguf")
        });
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "model missing: run `cargo xtask fetch-model` ({}: {e})",
            path.display()
        )
    })
}
