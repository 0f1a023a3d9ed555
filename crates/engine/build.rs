//! One cfg for "this build has WebGPU": wasm32 without atomics. The threaded wasm module
//! (`threads` feature, built with `+atomics`: docs/threads.md) cannot have it, because wgpu's
//! browser objects are not `Send` in a build with threads and burn's wgpu runtime needs them to
//! be; it runs the CPU backend only, and the page loads the other module for WebGPU.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(webgpu)");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if arch == "wasm32" && !features.split(',').any(|f| f == "atomics") {
        println!("cargo::rustc-cfg=webgpu");
    }
}
