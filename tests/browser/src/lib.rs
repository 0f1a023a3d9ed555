//! Harness for the browser tests: serve the release `dist/` on loopback, start chromedriver and
//! headless Chromium (WebGPU through SwiftShader), and helpers to wait for the page and take
//! screenshots.
//!
//! The tests need a built `dist/`: `cargo xtask test` builds it and points `AXIS_DIST` at it.
//! Without it they fail with a message saying so; they never skip.

pub mod browser;
pub mod page;
pub mod static_server;

use std::path::PathBuf;

/// The built site under test.
pub fn dist_dir() -> PathBuf {
    let dir = std::env::var_os("AXIS_DIST").map(PathBuf::from).unwrap_or_else(|| {
        panic!("AXIS_DIST is not set: run the browser tests through `cargo xtask test`, which builds dist/ first")
    });
    assert!(
        dir.join("index.html").is_file(),
        "{} has no index.html: build it with `cargo xtask dist`",
        dir.display()
    );
    dir
}

/// Where screenshots go (`target/screenshots/`), so a person can look at what the tests saw.
pub fn screenshot_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("target").join("screenshots");
    std::fs::create_dir_all(&dir).expect("cannot create target/screenshots");
    dir
}

/// `model` (a GGUF file's bytes) with its chat template replaced by `source`, in place: padded
/// with a Jinja comment to the old template's length, so no offset in the file moves. For
/// tests of what the page does with a hostile template in an otherwise valid model.
pub fn with_chat_template(model: &[u8], source: &str) -> anyhow::Result<Vec<u8>> {
    let gguf = engine::gguf::Gguf::parse(model)?;
    let old = gguf.get_str("tokenizer.chat_template")?.as_bytes();
    let filler = old
        .len()
        .checked_sub(source.len() + 4)
        .ok_or_else(|| anyhow::anyhow!("the new template is longer than the old one"))?;
    let at = model
        .windows(old.len())
        .position(|w| w == old)
        .ok_or_else(|| anyhow::anyhow!("the template's bytes are not in the file"))?;
    let new = format!("{source}{{#{}#}}", " ".repeat(filler));
    let mut bytes = model.to_vec();
    bytes[at..at + old.len()].copy_from_slice(new.as_bytes());
    Ok(bytes)
}
