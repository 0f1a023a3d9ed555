//! Choosing where tensors live: burn's CPU backend everywhere, WebGPU in the browser.

pub use burn::tensor::Device;

/// burn's pure-Rust CPU backend (`flex`): native tests, the lab, and the browser fallback.
pub fn cpu() -> Device {
    Device::flex()
}

/// The browser's WebGPU adapter through burn's wgpu runtime. The runtime can be initialised
/// once per page (or worker); later calls return an error that says so, so callers keep the
/// device they got.
#[cfg(target_arch = "wasm32")]
pub async fn webgpu() -> Result<Device, String> {
    Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| format!("WebGPU could not be initialised: {e}"))
}
