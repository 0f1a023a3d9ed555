//! The page layout, its state, and the wiring between the UI and the inference worker.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::byo::browser::model_url;
use crate::components::chat_layout::ChatLayout;
use crate::components::explainer::Explainer;
use crate::components::header::Header;
use crate::components::model_panel::ModelPanel;
use crate::components::notice::Notice;
use crate::components::status_bar::StatusBar;
use crate::platform::model_file::{self, ModelFileStatus};
use crate::platform::webgpu::{self, WebGpuStatus};
use crate::session::AppState;
use crate::worker::client::WORKER;

#[component]
pub fn App() -> impl IntoView {
    let (gpu, set_gpu) = signal(WebGpuStatus::Checking);
    let (model_file, set_model_file) = signal(ModelFileStatus::Checking);
    // First visit: the welcome explainer greets the visitor until it is closed once.
    let (explainer_open, set_explainer_open) =
        signal(!crate::preferences::storage::load().welcome_seen);
    // Before anything reads the address: which model origin the page's policy allows, and
    // whether the visitor asked for this model to load by itself (`&autoload=1`).
    let (autoload, address_notice) = crate::byo::browser::init();
    let state = AppState::new(gpu);
    state.autoload.set(autoload);
    if address_notice.is_some() {
        state.notice.set(address_notice);
    }
    state.persist_on_change();
    provide_context(state);
    // Presets, sharing, classroom mode, tour and shortcuts (opens a `#share=` link if any).
    crate::extras::init(state);

    state.start_worker();
    spawn_local(async move {
        set_gpu.set(webgpu::probe().await);
    });
    register_offline_shell();
    spawn_local(async move {
        set_model_file.set(model_file::probe(&model_url()).await);
    });
    // A model chosen in the page is probed again (a local file needs no probe).
    Effect::new(move |previous: Option<crate::byo::ModelSource>| {
        let source = state.source.get();
        if previous.is_some_and(|p| p != source) {
            match &source {
                crate::byo::ModelSource::Local { bytes, .. } => {
                    set_model_file.set(ModelFileStatus::Found {
                        bytes: Some(*bytes),
                    })
                }
                _ => {
                    set_model_file.set(ModelFileStatus::Checking);
                    spawn_local(async move {
                        set_model_file.set(model_file::probe(&model_url()).await);
                    });
                }
            }
        }
        source
    });

    view! {
        <div class="app" data-testid="app-root">
            <Header on_help=move || set_explainer_open.set(true) />
            <Show when=move || explainer_open.get()>
                <Explainer on_close=move || {
                    set_explainer_open.set(false);
                    crate::preferences::storage::update(|p| p.welcome_seen = true);
                } />
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

/// Registers `sw.js`, which keeps the page's own files for offline visits (the model files are
/// cached by the inference worker). Without service workers (e.g. a private window) the page
/// simply needs the network, as before.
fn register_offline_shell() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let promise = window.navigator().service_worker().register("sw.js");
    spawn_local(async move {
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    });
}

/// Diagnostics (and the browser test of the recovery path): destroys the worker's WebGPU device
/// as a driver reset would. Reachable from the console as `wasmBindings.simulate_device_loss()`.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn simulate_device_loss() {
    WORKER.with(|w| {
        if let Some(client) = w.borrow().as_ref() {
            let _ = client.send(&crate::worker::protocol::ToWorker::SimulateDeviceLoss);
        }
    });
}
