//! The page layout and the boot sequence (capability checks run once, on mount).

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::chat_layout::ChatLayout;
use crate::components::explainer::Explainer;
use crate::components::header::Header;
use crate::components::status_bar::StatusBar;
use crate::platform::model_file::{self, ModelFileStatus};
use crate::platform::webgpu::{self, WebGpuStatus};

/// The model the page ships with, relative to the page so the site works under any sub-path.
pub const DEFAULT_MODEL_URL: &str = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
pub const DEFAULT_MODEL_NAME: &str = "SmolLM2-135M-Instruct (Q4_1 GGUF)";

#[component]
pub fn App() -> impl IntoView {
    let (gpu, set_gpu) = signal(WebGpuStatus::Checking);
    let (model, set_model) = signal(ModelFileStatus::Checking);
    let (explainer_open, set_explainer_open) = signal(false);

    spawn_local(async move {
        set_gpu.set(webgpu::probe().await);
    });
    spawn_local(async move {
        set_model.set(model_file::probe(DEFAULT_MODEL_URL).await);
    });

    view! {
        <div class="app" data-testid="app-root">
            <Header on_help=move || set_explainer_open.set(true) />
            <Show when=move || explainer_open.get()>
                <Explainer on_close=move || set_explainer_open.set(false) />
            </Show>
            <main class="main">
                <ChatLayout />
            </main>
            <StatusBar gpu=gpu model=model />
        </div>
    }
}
