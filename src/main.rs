//! The Assistant Axis web app: a Leptos client-side-rendered page.
//!
//! The page never touches tensors; the engine crate does. This crate is the UI shell, the
//! browser-capability checks and (later) the bridge to the inference worker.

mod app;
mod components;
mod platform;
mod state;
mod worker;

fn main() {
    // A panic in wasm otherwise shows up only as "unreachable executed" in the console.
    console_error_panic_hook::set_once();
    // The same module also runs inside the inference worker, which has no window and no DOM:
    // there `worker.js` calls `worker_main` instead.
    if web_sys::window().is_some() {
        leptos::mount::mount_to_body(app::App);
    }
}
