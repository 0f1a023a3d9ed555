//! The page's second wasm module: the app built with wasm threads (shared memory, atomics) so
//! that the inference worker's CPU backend runs rayon on every core (docs/threads.md).
//!
//! A threaded module needs a standard library compiled with atomics, which no prebuilt
//! `wasm32-unknown-unknown` standard library is: cargo builds it from source (`-Z build-std`).
//! That needs the toolchain's own library source (rustup's `rust-src` component). Where rustup
//! cannot download it, Debian's `rust-src` package of the same rustc version is the same source
//! tree: we fetch it (pinned by sha256) and put its `library/` where the component would go.
//! `-Z build-std` is unstable; `RUSTC_BOOTSTRAP=1` lets the stable toolchain use it, which is
//! the one unstable thing this build relies on, and only for this module.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::model::{cache_dir, file_has_sha256};
use crate::process::{output_of, repo_root, run, tool_path};
use crate::tools::WASM_TARGET;

/// The rustc release the pinned source below belongs to (the workspace's toolchain).
const RUSTC_RELEASE: &str = "1.95.0";
/// Debian's `rust-src` for rustc 1.95.0 (trixie-backports), whose `library/` is rustc 1.95.0's.
const DEB_URL: &str =
    "https://deb.debian.org/debian/pool/main/r/rustc/rust-src_1.95.0+dfsg1-2~bpo13+1_all.deb";
const DEB_FILE: &str = "rust-src_1.95.0+dfsg1-2~bpo13+1_all.deb";
const DEB_SHA256: &str = "7b76db5b880a77f9e52975d2baa6209d2f76d2c9c2789515c3088cb960e2c83b";
/// Where the library sits in a sysroot (where rustup's `rust-src` puts it).
const LIBRARY_IN_SYSROOT: &str = "lib/rustlib/src/rust/library";

/// Its own target directory: the threaded build compiles every crate with other target
/// features (and its own standard library), so it shares nothing with the single-thread build,
/// and in one directory the two would overwrite each other's `.wasm`.
pub const TARGET_DIR: &str = "target/threads";

/// Builds the threaded module into `dist/threads/` (wasm-bindgen's JS glue, the `.wasm` after
/// wasm-opt, and wasm-bindgen-rayon's worker script under `snippets/`).
pub fn build(dist: &Path) -> Result<()> {
    ensure_std_source()?;
    let root = repo_root();
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cargo
        .current_dir(&root)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["build", "--release", "--target", WASM_TARGET])
        .args(["-Z", "build-std=std,panic_abort"])
        .args(["--bin", "assistant-axis-web", "--features", "threads"])
        .args(["--target-dir", TARGET_DIR])
        .arg("--config")
        .arg(format!(
            "target.{WASM_TARGET}.rustflags = [{}]",
            quoted(&threaded_rustflags())
        ));
    run(&mut cargo)?;
    let wasm = root
        .join(TARGET_DIR)
        .join(WASM_TARGET)
        .join("release/assistant-axis-web.wasm");
    let out = dist.join("threads");
    let _ = fs::remove_dir_all(&out);
    let path = tool_path()?;
    run(Command::new("wasm-bindgen")
        .env("PATH", &path)
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(&out)
        .arg(&wasm))?;
    let bg = out.join("assistant-axis-web_bg.wasm");
    // The same optimisation as the single-thread module (index.html: data-wasm-opt="1"; why -O1:
    // docs/benchmarks.md, "wasm-opt at -O1"), with the features this module uses named, since
    // wasm-opt must not drop what it cannot see.
    run(Command::new(root.join("node_modules/.bin/wasm-opt"))
        .args([
            "-O1",
            "--enable-threads",
            "--enable-bulk-memory",
            "--enable-simd",
        ])
        .args([
            "--enable-mutable-globals",
            "--enable-nontrapping-float-to-int",
        ])
        .args([
            "--enable-sign-ext",
            "--enable-reference-types",
            "--enable-multivalue",
        ])
        .arg(&bg)
        .arg("-o")
        .arg(&bg))?;
    write_page_loader(dist)
}

/// Replaces trunk's loader (`dist/boot.js`, moved out of index.html by `csp::lock_down`) with
/// www/page-loader.js, which loads the same module or, for a CPU visitor in an isolated page,
/// the threaded one. Checked first: trunk's loader must load what the replacement loads, and
/// set what it sets, so that a trunk upgrade that changes either fails here, not in a browser.
fn write_page_loader(dist: &Path) -> Result<()> {
    let boot = dist.join("boot.js");
    let trunk_loader = fs::read_to_string(&boot)
        .with_context(|| format!("cannot read {} (csp::lock_down writes it)", boot.display()))?;
    for expected in [
        "'./assistant-axis-web.js'",
        "'./assistant-axis-web_bg.wasm'",
        "window.wasmBindings = bindings",
        "TrunkApplicationStarted",
    ] {
        if !trunk_loader.contains(expected) {
            bail!(
                "trunk's loader (dist/boot.js) no longer has {expected}; update www/page-loader.js to match it"
            );
        }
    }
    let ours = repo_root().join("www/page-loader.js");
    fs::copy(&ours, &boot)
        .with_context(|| format!("cannot copy {} to {}", ours.display(), boot.display()))?;
    let index = dist.join("index.html");
    let html =
        fs::read_to_string(&index).with_context(|| format!("cannot read {}", index.display()))?;
    fs::write(&index, without_module_preloads(&html)?)
        .with_context(|| format!("cannot write {}", index.display()))
}

/// index.html without trunk's preload links for the single-thread module: the browser would
/// fetch it for every visitor, also one whose page then loads the threaded module.
fn without_module_preloads(html: &str) -> Result<String> {
    let mut out = html.to_owned();
    for href in ["./assistant-axis-web.js", "./assistant-axis-web_bg.wasm"] {
        let needle = format!("href=\"{href}\"");
        let at = out.find(&needle).with_context(|| {
            format!("index.html has no preload link for {href} (trunk changed?)")
        })?;
        let start = out[..at]
            .rfind("<link")
            .context("a preload href outside a <link> tag")?;
        let end = at + out[at..].find('>').context("an unclosed <link> tag")? + 1;
        if !out[start..end].contains("preload") {
            bail!(
                "the link to {href} in index.html is not a preload: {}",
                &out[start..end]
            );
        }
        out.replace_range(start..end, "");
    }
    Ok(out)
}

/// The flags added to .cargo/config.toml's wasm flags (arrays from `--config` are
/// concatenated): atomics, and the linker arguments wasm-bindgen's thread support needs — the
/// memory shared and imported (so the pool's workers can be given it), with a maximum, which
/// shared memory must declare (4 GiB: wasm32's whole address space, reserved, not allocated),
/// and the thread-local storage symbols it initialises each thread with.
fn threaded_rustflags() -> Vec<String> {
    let mut flags = vec![
        "-C".to_owned(),
        "target-feature=+atomics,+bulk-memory,+mutable-globals".to_owned(),
    ];
    for link_arg in [
        "--shared-memory",
        "--import-memory",
        "--max-memory=4294967296",
        "--export=__wasm_init_tls",
        "--export=__tls_size",
        "--export=__tls_align",
        "--export=__tls_base",
    ] {
        flags.push("-C".to_owned());
        flags.push(format!("link-arg={link_arg}"));
    }
    flags
}

/// `["a", "b"]` as a TOML array's items: `"a", "b"`.
fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Makes sure the toolchain has its standard library's source, fetching Debian's copy when
/// it has not.
fn ensure_std_source() -> Result<()> {
    let sysroot = PathBuf::from(
        output_of("rustc", &["--print", "sysroot"])
            .context("cannot run `rustc --print sysroot`")?,
    );
    let library = sysroot.join(LIBRARY_IN_SYSROOT);
    if library.join("std/Cargo.toml").is_file() && library.join("Cargo.lock").is_file() {
        return Ok(());
    }
    let version = output_of("rustc", &["--version"]).unwrap_or_default();
    if !version.starts_with(&format!("rustc {RUSTC_RELEASE} ")) {
        bail!(
            "the threaded module needs the standard library's source: run `rustup component add rust-src` ({version} has none, and the Debian copy pinned here is for rustc {RUSTC_RELEASE})"
        );
    }
    eprintln!(
        "[threads] the toolchain has no library source: using Debian's rust-src {RUSTC_RELEASE}"
    );
    let deb = fetch_deb()?;
    // Unpacked next to the package, then moved into place in one step, so that an interrupted
    // run never leaves a half-copied library in the toolchain.
    let unpacked = deb.with_extension("unpacked");
    let _ = fs::remove_dir_all(&unpacked);
    fs::create_dir_all(&unpacked)?;
    // In the package the files are under usr/src/rustc-<release>/ (its usr/lib/rustlib/src/rust
    // is a link to there).
    let in_deb = format!("usr/src/rustc-{RUSTC_RELEASE}/library");
    let tar = format!(
        "dpkg-deb --fsys-tarfile '{}' | tar -x -C '{}' ./{in_deb}",
        deb.display(),
        unpacked.display()
    );
    run(Command::new("sh").args(["-c", &tar]))
        .context("could not unpack Debian's rust-src (needs dpkg-deb and tar)")?;
    let parent = library
        .parent()
        .context("the sysroot's library path has no parent")?;
    fs::create_dir_all(parent).with_context(|| {
        format!(
            "cannot create {} (is the toolchain writable?)",
            parent.display()
        )
    })?;
    let staged = parent.join("library.partial");
    let _ = fs::remove_dir_all(&staged);
    let extracted = unpacked.join(&in_deb);
    fs::rename(&extracted, &staged)
        .or_else(|_| copy_dir(&extracted, &staged))
        .with_context(|| format!("cannot put the library source in {}", parent.display()))?;
    fs::rename(&staged, &library)
        .with_context(|| format!("cannot move the library source to {}", library.display()))?;
    let _ = fs::remove_dir_all(&unpacked);
    Ok(())
}

/// Debian's package, from the cache when it is there with the pinned digest.
fn fetch_deb() -> Result<PathBuf> {
    let dir = cache_dir()?.join("rust-src");
    fs::create_dir_all(&dir)?;
    let deb = dir.join(DEB_FILE);
    if file_has_sha256(&deb, DEB_SHA256)? {
        return Ok(deb);
    }
    let partial = deb.with_extension("partial");
    run(Command::new("curl")
        .args([
            "--fail",
            "--location",
            "--silent",
            "--show-error",
            "--output",
        ])
        .arg(&partial)
        .arg(DEB_URL))
    .with_context(|| format!("could not download {DEB_URL} (needs curl and Debian's mirror)"))?;
    if !file_has_sha256(&partial, DEB_SHA256)? {
        let _ = fs::remove_file(&partial);
        bail!("{DEB_URL} does not have the pinned sha256 {DEB_SHA256}");
    }
    fs::rename(&partial, &deb)?;
    Ok(deb)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_exactly_the_two_module_preloads() {
        let html = "<head>\n<link rel=\"stylesheet\" href=\"./style.css\"/>\n  <link rel=\"modulepreload\" href=\"./assistant-axis-web.js\" crossorigin=\"anonymous\" integrity=\"sha384-x\"><link rel=\"preload\" href=\"./assistant-axis-web_bg.wasm\" crossorigin=\"anonymous\" integrity=\"sha384-y\" as=\"fetch\" type=\"application/wasm\"></head>";
        let out = without_module_preloads(html).expect("rewrite");
        assert_eq!(
            out,
            "<head>\n<link rel=\"stylesheet\" href=\"./style.css\"/>\n  </head>"
        );
        assert!(
            without_module_preloads(&out).is_err(),
            "nothing left to drop"
        );
    }
}
