//! Replays the fuzz corpus on stable Rust: every file under `fuzz/seeds/<target>/`,
//! `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` goes through the same function the
//! libFuzzer target calls (`engine::fuzz_entry`), which must return `Ok` or its typed error
//! without panicking and within a time bound. So the test command exercises everything the
//! fuzzer found interesting, and every crash it ever found, without nightly or cargo-fuzz.
//! See docs/fuzzing.md.

use std::fmt::Display;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use engine::fuzz_entry;

/// Per input. The fuzzer runs with `-timeout=10` on an instrumented build; real inputs take
/// milliseconds, the slowest (templates burning all their fuel) well under a second.
const TIME_BOUND: Duration = Duration::from_secs(5);

const TARGETS: [&str; 5] = [
    "gguf_reader",
    "model_config",
    "gguf_tokenizer",
    "chat_template",
    "axis_file",
];
const KINDS: [&str; 3] = ["seeds", "corpus", "regressions"];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Runs one input through `target`'s entry; `Err` describes a panic or an empty error message.
fn run(target: &str, data: &[u8]) -> Result<bool, String> {
    fn typed<T, E: Display>(r: Result<T, E>) -> Result<bool, String> {
        match r {
            Ok(_) => Ok(true),
            // A typed error must still say something to the user.
            Err(e) if e.to_string().trim().is_empty() => Err("an error with no message".into()),
            Err(_) => Ok(false),
        }
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| match target {
        "gguf_reader" => typed(fuzz_entry::gguf_reader(data)),
        "model_config" => typed(fuzz_entry::model_config(data)),
        "gguf_tokenizer" => typed(fuzz_entry::gguf_tokenizer(data)),
        "chat_template" => typed(fuzz_entry::chat_template(data)),
        "axis_file" => typed(fuzz_entry::axis_file(data)),
        other => Err(format!("unknown target {other}")),
    }));
    outcome.unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(non-string panic)");
        Err(format!("panicked: {msg}"))
    })
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        // Skip README.md and the like; corpus files are named by hash or `*.bin`/`*.gguf`.
        .filter(|p| p.is_file() && p.extension().is_none_or(|x| x != "md"))
        .collect();
    out.sort();
    out
}

#[test]
fn every_corpus_and_regression_input_is_handled_within_bounds() {
    let mut failures = Vec::new();
    let mut counts = Vec::new();
    let started = Instant::now();
    for target in TARGETS {
        for kind in KINDS {
            let paths = files(&fuzz_dir().join(kind).join(target));
            counts.push(format!("{target}/{kind}: {}", paths.len()));
            for path in paths {
                let data = std::fs::read(&path).expect("read corpus file");
                let t0 = Instant::now();
                let result = run(target, &data);
                let took = t0.elapsed();
                if let Err(why) = result {
                    failures.push(format!("{}: {why}", path.display()));
                } else if took > TIME_BOUND {
                    failures.push(format!("{}: took {took:?}", path.display()));
                }
            }
        }
    }
    eprintln!("replayed in {:?}: {}", started.elapsed(), counts.join(", "));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The seeds alone guarantee something was replayed; an empty run means a moved directory.
    assert!(!files(&fuzz_dir().join("seeds/gguf_reader")).is_empty());
}

/// The committed seeds are what `fuzz_entry::seeds()` generates (small valid files built with
/// `GgufWriter` and `AxisFile::to_bytes`), and each is accepted, so the fuzzer starts deep
/// (except those named `*_rejected`, which start it at a validation error).
/// `FUZZ_WRITE_SEEDS=1` rewrites `fuzz/seeds/` instead of checking it.
#[test]
fn seeds_are_generated_and_valid() {
    let write = std::env::var_os("FUZZ_WRITE_SEEDS").is_some_and(|v| v == "1");
    for (target, name, bytes) in fuzz_entry::seeds() {
        let accepted = !name.contains("_rejected");
        assert_eq!(run(target, &bytes), Ok(accepted), "seed {target}/{name}");
        let path = fuzz_dir().join("seeds").join(target).join(&name);
        if write {
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, &bytes).expect("write seed");
        } else {
            let committed = std::fs::read(&path).unwrap_or_default();
            assert!(
                committed == bytes,
                "{} is stale or missing: run `FUZZ_WRITE_SEEDS=1 cargo test -p assistant-axis-engine --test fuzz_corpus`",
                path.display()
            );
        }
    }
}
