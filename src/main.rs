//! The Assistant Axis web app: a Leptos client-side-rendered page.
//!
//! The page never touches tensors; the engine crate does. This crate is the UI, the
//! browser-capability checks and the bridge to the inference worker. It only runs in the
//! browser (wasm32); natively it builds the page-independent parts (the worker protocol and its
//! tests) so that `cargo test --workspace` covers them.

// Natively only the protocol's tests use it; the page that uses it exists only in wasm.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

#[cfg(target_arch = "wasm32")]
mod app;
mod backend_choice;
mod byo;
mod chart;
#[cfg(target_arch = "wasm32")]
mod components;
mod conversation;
#[cfg(target_arch = "wasm32")]
mod extras;
mod heatmap;
mod lab_data;
mod label_layout;
mod persist;
mod persona;
mod persona_layout;
#[cfg(target_arch = "wasm32")]
mod platform;
mod preferences;
mod presets;
#[cfg(target_arch = "wasm32")]
mod session;
mod session_events;
mod share;
mod shortcuts;
mod speaker_tag;
mod state;
mod stream_refresh;
mod urls;
mod worker;

// The threaded module's `initThreadPool(n)`: worker.js starts rayon's pool with it before
// `worker_main` (docs/threads.md).
#[cfg(all(target_arch = "wasm32", feature = "threads"))]
pub use wasm_bindgen_rayon::init_thread_pool;

// The module's static constructors (the `inventory` registrations of cubecl's IR crates). A
// module that never names this function is linked as a "command": the linker then wraps every
// export so that it runs all the constructors again on each call, and the JS glue calls exports
// many times per WebGPU dispatch (allocations, bind groups, drops): measured, that was most of
// the worker's time between two decode steps (docs/webgpu-decode.md). Calling it ourselves, once
// in `main` (which both the page and the worker run at start), makes the linker leave the
// exports alone.
#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    fn __wasm_call_ctors();
}

#[cfg(target_arch = "wasm32")]
fn main() {
    // Once per instance, before anything reads a registry the constructors fill.
    // SAFETY: the linker's own constructor runner, called once, first, on this instance.
    unsafe { __wasm_call_ctors() };
    // A panic in wasm otherwise shows up only as "unreachable executed" in the console.
    console_error_panic_hook::set_once();
    // The same module also runs inside the inference worker, which has no window and no DOM:
    // there `worker.js` calls `worker_main` instead.
    if web_sys::window().is_some() {
        leptos::mount::mount_to_body(app::App);
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "assistant-axis-web is a browser app: run `cargo xtask serve` and open http://127.0.0.1:8080"
    );
    std::process::exit(2);
}
