//! The status line: what this browser offers (WebGPU adapter or its absence) and the model file.

use leptos::prelude::*;

use crate::platform::model_file::ModelFileStatus;
use crate::platform::webgpu::WebGpuStatus;
use crate::session::AppState;
use crate::state::EngineStatus;

#[component]
pub fn StatusBar(
    gpu: ReadSignal<WebGpuStatus>,
    model: ReadSignal<ModelFileStatus>,
) -> impl IntoView {
    let gpu_text = move || gpu.get().describe();
    let gpu_state = move || gpu.get().state_name();
    let state = expect_context::<AppState>();
    // Once the worker has loaded the model, say so rather than repeating the file check.
    let model_text = move || match state.engine.get() {
        EngineStatus::Ready { device, .. } => {
            format!("Model {}: loaded on {device}", state.model_name())
        }
        _ => model.get().describe(&state.model_name()),
    };
    // The colour follows the same source as the text: offline, the file check fails while the
    // model loads from the cache, and the line must not show "loaded" in the colour of an error.
    let model_state = move || match state.engine.get() {
        EngineStatus::Ready { .. } => "loaded",
        _ => model.get().state_name(),
    };
    view! {
        <footer class="status-bar" role="status">
            <span class="status-item" data-testid="webgpu-status" data-state=gpu_state>{gpu_text}</span>
            <span class="status-item" data-testid="model-status" data-state=model_state>{model_text}</span>
            <Show when=move || { state.worker_memory.get() > 0.0 }>
                <span class="status-item muted" data-testid="engine-memory"
                    data-bytes=move || state.worker_memory.get().to_string()
                    title="The inference worker's wasm memory after the last answer (GPU buffers not included)"
                >{move || format!("Engine memory {:.0} MB", state.worker_memory.get() / 1e6)}</span>
            </Show>
        </footer>
    }
}
