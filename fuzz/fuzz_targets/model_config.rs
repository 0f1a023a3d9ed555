//! Fuzz target: see `engine::fuzz_entry::model_config` for the input layout and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // Ok or a typed error are both fine; a panic or a failed invariant is a finding.
    let _ = engine::fuzz_entry::model_config(data);
});
