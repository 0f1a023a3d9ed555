//! The llama.cpp peer: llama-cpp-python built from its PyPI sdist into a venv, driven by
//! `tools/bench/llama_cpp_bench.py`. Its own file because its setup (a pinned version, a venv,
//! a CPU-only cmake build) is all Python and shares nothing with the other peers.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Result;

use super::peer::Inputs;
use crate::process::{repo_root, run};

const LLAMA_CPP_PYTHON: &str = "llama-cpp-python==0.3.36";
const LLAMA_CPP_VERSION: &str = "0.3.36";

/// `target/bench-venv` with llama-cpp-python built from its PyPI sdist (pip reuses its own
/// wheel cache on later runs). Returns the venv's python, or why there is none.
pub(super) fn ensure_llama_cpp() -> Result<PathBuf, String> {
    let venv = repo_root().join("target/bench-venv");
    let python = venv.join("bin/python");
    let check =
        format!("import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '{LLAMA_CPP_VERSION}')");
    let ready = |p: &Path| {
        Command::new(p)
            .args(["-c", &check])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if ready(&python) {
        eprintln!("llama.cpp peer: {LLAMA_CPP_PYTHON} in {}", venv.display());
        return Ok(python);
    }
    let setup = || -> Result<()> {
        if !python.exists() {
            run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        }
        // CPU only, built from source: the sdist compiles llama.cpp with cmake (from PyPI).
        run(Command::new(&python)
            .args(["-m", "pip", "install", "--no-binary", "llama-cpp-python"])
            .arg(LLAMA_CPP_PYTHON)
            .env(
                "CMAKE_ARGS",
                "-DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_HIP=OFF -DGGML_SYCL=OFF -DGGML_BLAS=OFF",
            )
            .env("CMAKE_BUILD_PARALLEL_LEVEL", "2"))
    };
    match setup() {
        Ok(()) if ready(&python) => Ok(python),
        Ok(()) => Err(format!("{LLAMA_CPP_PYTHON} installed but does not import")),
        Err(e) => Err(format!("{e:#}")),
    }
}

/// The command is built even without a venv (plain `python3`), so the report can show what
/// would have run next to why it did not.
pub(super) fn command(
    python: &Result<PathBuf, String>,
    i: &Inputs,
) -> (Command, Result<(), String>) {
    let mut cmd = Command::new(python.as_ref().map_or(Path::new("python3"), |p| p));
    cmd.arg(i.root.join("tools/bench/llama_cpp_bench.py"))
        .arg("--model")
        .arg(i.model)
        .arg("--prompt")
        .arg(i.prompt)
        .args(["--threads", &i.threads.to_string()]);
    (cmd, python.as_ref().map(|_| ()).map_err(Clone::clone))
}
