//! The Assistant Axis web app: a Leptos client-side-rendered page.
//!
//! The page never touches tensors; the engine crate does. This crate is the UI shell, the
//! browser-capability checks and (later) the bridge to the inference worker.

mod app;
mod components;
mod platform;

fn main() {
    // A panic in wasm otherwise shows up only as "unreachable executed" in the console.
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
