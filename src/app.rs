//! The page layout, its state, and the wiring between the UI and the inference worker.

use std::cell::RefCell;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::chat_layout::ChatLayout;
use crate::components::explainer::Explainer;
use crate::components::header::Header;
use crate::components::model_panel::ModelPanel;
use crate::components::notice::Notice;
use crate::components::status_bar::StatusBar;
use crate::platform::model_file::{self, ModelFileStatus};
use crate::platform::webgpu::{self, WebGpuStatus};
use crate::session::AppState;
use crate::state::EngineStatus;
use crate::worker::client::WorkerClient;

pub use crate::urls::axis_url;

/// The model the page ships with, relative to the page so the site works under any sub-path.
pub const DEFAULT_MODEL_URL: &str = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
pub const DEFAULT_MODEL_NAME: &str = "SmolLM2-135M-Instruct (Q4_1 GGUF)";

/// The model to load: `?model=<url>` in the page's address, else the shipped model.
pub fn model_url() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|q| web_sys::UrlSearchParams::new_with_str(&q).ok())
        .and_then(|p| p.get("model"))
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_MODEL_URL.to_owned())
}

thread_local! {
    // The worker handle is not `Send`, so it lives here rather than in a signal.
    pub(crate) static WORKER: RefCell<Option<WorkerClient>> = const { RefCell::new(None) };
}

#[component]
pub fn App() -> impl IntoView {
    let (gpu, set_gpu) = signal(WebGpuStatus::Checking);
    let (model_file, set_model_file) = signal(ModelFileStatus::Checking);
    let (explainer_open, set_explainer_open) = signal(false);
    let state = AppState::new(gpu);
    state.persist_on_change();
    provide_context(state);
    // Presets, sharing, classroom mode, tour and shortcuts (opens a `#share=` link if any).
    crate::extras::init(state);

    match WorkerClient::spawn(move |event| state.on_worker_event(event)) {
        Ok(client) => WORKER.with(|w| *w.borrow_mut() = Some(client)),
        Err(e) => state.engine.set(EngineStatus::Failed(e)),
    }
    spawn_local(async move {
        set_gpu.set(webgpu::probe().await);
    });
    spawn_local(async move {
        set_model_file.set(model_file::probe(&model_url()).await);
    });

    view! {
        <div class="app" data-testid="app-root">
            <Header on_help=move || set_explainer_open.set(true) />
            <Show when=move || explainer_open.get()>
                <Explainer on_close=move || set_explainer_open.set(false) />
            </Show>
            <main class="main">
                <ModelPanel />
                <Notice />
                <crate::components::share_menu::SetAsideBanner />
                <crate::components::presets_panel::PresetsPanel />
                <ChatLayout />
            </main>
            <StatusBar gpu=gpu model=model_file />
            <crate::components::classroom::Overlays />
        </div>
    }
}
