//! The headless-Chromium harness that both in-browser peers (wllama and our page) run in: one
//! npm project and one Chromium. Shared by those two peers and by nothing native, so it sits
//! between them rather than in either.

use std::path::Path;
use std::process::Command;

use crate::process::{repo_root, run};

/// The in-browser peers (wllama: llama.cpp compiled to wasm; our app's page) in headless
/// Chromium, with their own npm project (README there).
pub(super) const BROWSER_PEERS: &str = "tools/bench/browser";

/// `npm ci` in `tools/bench/browser` when its packages are missing; Chromium must be there
/// (`cargo xtask setup` installs it).
pub(super) fn ensure_browser_peers() -> Result<(), String> {
    let dir = repo_root().join(BROWSER_PEERS);
    if !Path::new("/usr/bin/chromium").exists() && std::env::var_os("CHROMIUM").is_none() {
        return Err("no Chromium at /usr/bin/chromium (run `cargo xtask setup`)".into());
    }
    if !dir
        .join("node_modules/@wllama/wllama/package.json")
        .exists()
        || !dir
            .join("node_modules/playwright-core/package.json")
            .exists()
    {
        run(Command::new("npm").arg("ci").current_dir(&dir)).map_err(|e| format!("{e:#}"))?;
    }
    Ok(())
}
