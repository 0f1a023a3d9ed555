//! Choosing where tensors live: burn's CPU backend everywhere, WebGPU in the browser.

pub use burn::tensor::Device;

/// burn's pure-Rust CPU backend (`flex`): native tests, the lab, and the browser fallback.
pub fn cpu() -> Device {
    Device::flex()
}

/// How many kernel launches the wgpu runtime queues before it submits them. Its default (32)
/// cut a decode step (about 400 launches) into 14 queue submits, each a round trip through the
/// browser's GPU process; 1024 holds a whole step, capped twin included, so a token costs one
/// submit (the readback's). The price: the GPU starts a step only once all of it is encoded,
/// which on a step this small costs less than the submits did.
#[cfg(webgpu)]
const TASKS_PER_SUBMIT: usize = 1024;

/// The browser's WebGPU adapter through burn's wgpu runtime. The runtime can be initialised
/// once per page (or worker); later calls return an error that says so, so callers keep the
/// device they got.
#[cfg(webgpu)]
pub async fn webgpu() -> Result<Device, String> {
    Device::wgpu_options()
        .tasks_max(TASKS_PER_SUBMIT)
        .init_async()
        .await
        .map_err(|e| format!("WebGPU could not be initialised: {e}"))
}

/// The threaded wasm module has no WebGPU (build.rs says why): the page loads WebGPU models in
/// the other module, so this only answers a page that asked the wrong one.
#[cfg(all(target_arch = "wasm32", not(webgpu)))]
pub async fn webgpu() -> Result<Device, String> {
    Err("this engine module is the threaded CPU one and has no WebGPU; reload the page".to_owned())
}
