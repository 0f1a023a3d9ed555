//! The inference worker: the page talks to it through [`protocol`] messages.
//!
//! The same wasm module runs in the page and in the worker; `worker.js` loads it in a
//! dedicated module worker and calls `host::worker_main`. The worker's browser glue (`host`,
//! wasm only) drives [`answerer`], which loads, answers and scores natively too (its tests).

pub mod answerer;
#[cfg(target_arch = "wasm32")]
pub mod client;
pub mod compat;
#[cfg(target_arch = "wasm32")]
pub mod host;
#[cfg(target_arch = "wasm32")]
pub mod model_cache;
pub mod protocol;
pub mod quick_axis;
pub mod threads;
