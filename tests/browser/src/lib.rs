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
