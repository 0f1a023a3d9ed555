//! The page layout, its state, and the wiring between the UI and the inference worker.

use std::cell::RefCell;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::chat_layout::ChatLayout;
use crate::components::explainer::Explainer;
use crate::components::header::Header;
use crate::components::model_panel::ModelPanel;
use crate::components::status_bar::StatusBar;
use crate::platform::model_file::{self, ModelFileStatus};
use crate::platform::webgpu::{self, WebGpuStatus};
use crate::state::{ChatEntry, EngineStatus, Role, default_settings};
use crate::worker::client::WorkerClient;
use crate::worker::protocol::{
    Backend, FromWorker, Precision, ToWorker, WireGenerationSettings, WireMessage,
};

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
    static WORKER: RefCell<Option<WorkerClient>> = const { RefCell::new(None) };
}

/// Signals shared by the components.
#[derive(Clone, Copy)]
pub struct AppState {
    pub gpu: ReadSignal<WebGpuStatus>,
    pub engine: RwSignal<EngineStatus>,
    pub messages: RwSignal<Vec<ChatEntry>>,
    pub settings: RwSignal<WireGenerationSettings>,
    pub system_prompt: RwSignal<String>,
    /// The answer being written, if any.
    pub generating: RwSignal<Option<u64>>,
    pub next_id: RwSignal<u64>,
}

impl AppState {
    pub fn send(&self, message: &ToWorker) {
        let result = WORKER.with(|w| match w.borrow().as_ref() {
            Some(client) => client.send(message),
            None => Err("the inference worker is not running; reload the page".to_owned()),
        });
        if let Err(e) = result {
            self.engine.set(EngineStatus::Failed(e));
        }
    }

    pub fn load_model(&self, backend: Backend, precision: Precision) {
        self.engine.set(EngineStatus::Downloading {
            loaded: 0.0,
            total: None,
        });
        self.send(&ToWorker::Load {
            model_url: model_url(),
            backend,
            precision,
        });
    }

    /// Appends the user's message and asks the worker for an answer.
    pub fn submit(&self, text: String) {
        if text.trim().is_empty()
            || self.generating.get_untracked().is_some()
            || !self.engine.get_untracked().is_ready()
        {
            return;
        }
        let user_id = self.take_id();
        let answer_id = self.take_id();
        self.messages.update(|m| {
            m.push(ChatEntry {
                id: user_id,
                role: Role::User,
                content: text,
                streaming: false,
                meta: None,
                error: None,
            });
        });
        let mut wire = Vec::new();
        let system = self.system_prompt.get_untracked();
        if !system.trim().is_empty() {
            wire.push(WireMessage {
                role: "system".into(),
                content: system,
            });
        }
        self.messages.with_untracked(|m| {
            // Failed answers are not part of the conversation the model sees.
            for e in m.iter().filter(|e| e.error.is_none()) {
                wire.push(WireMessage {
                    role: e.role.as_str().into(),
                    content: e.content.clone(),
                });
            }
        });
        self.messages.update(|m| {
            m.push(ChatEntry {
                id: answer_id,
                role: Role::Assistant,
                content: String::new(),
                streaming: true,
                meta: None,
                error: None,
            });
        });
        self.generating.set(Some(answer_id));
        self.send(&ToWorker::Generate {
            id: answer_id,
            messages: wire,
            settings: self.settings.get_untracked(),
        });
    }

    fn take_id(&self) -> u64 {
        let id = self.next_id.get_untracked();
        self.next_id.set(id + 1);
        id
    }

    fn on_worker_event(&self, event: FromWorker) {
        match event {
            FromWorker::Booted => {
                if self.engine.get_untracked() == EngineStatus::Starting {
                    self.engine.set(EngineStatus::Idle);
                }
            }
            FromWorker::Downloading { loaded, total } => {
                self.engine.set(EngineStatus::Downloading { loaded, total })
            }
            FromWorker::Preparing { step } => self.engine.set(EngineStatus::Preparing(step)),
            FromWorker::Ready {
                backend,
                precision,
                device,
                resident_bytes,
                ..
            } => {
                self.engine.set(EngineStatus::Ready {
                    backend,
                    precision,
                    device,
                    resident_bytes,
                });
            }
            FromWorker::Token { id, text, .. } => {
                self.update_entry(id, |e| e.content.push_str(&text))
            }
            FromWorker::Done {
                id,
                stop,
                tokens,
                seconds,
                ..
            } => {
                let rate = if seconds > 0.0 {
                    tokens as f64 / seconds
                } else {
                    0.0
                };
                self.update_entry(id, |e| {
                    e.streaming = false;
                    e.meta = Some(format!(
                        "{tokens} tokens · {stop} · {seconds:.1} s · {rate:.1} tok/s"
                    ));
                });
                self.finish(id);
            }
            FromWorker::Failed {
                id: Some(id),
                message,
            } => {
                self.update_entry(id, |e| {
                    e.streaming = false;
                    e.error = Some(message);
                });
                self.finish(id);
            }
            FromWorker::Failed { id: None, message } => {
                self.engine.set(EngineStatus::Failed(message))
            }
        }
    }

    fn update_entry(&self, id: u64, f: impl FnOnce(&mut ChatEntry)) {
        self.messages.update(|m| {
            if let Some(e) = m.iter_mut().find(|e| e.id == id) {
                f(e);
            }
        });
    }

    fn finish(&self, id: u64) {
        if self.generating.get_untracked() == Some(id) {
            self.generating.set(None);
        }
    }
}

#[component]
pub fn App() -> impl IntoView {
    let (gpu, set_gpu) = signal(WebGpuStatus::Checking);
    let (model_file, set_model_file) = signal(ModelFileStatus::Checking);
    let (explainer_open, set_explainer_open) = signal(false);
    let state = AppState {
        gpu,
        engine: RwSignal::new(EngineStatus::Starting),
        messages: RwSignal::new(Vec::new()),
        settings: RwSignal::new(default_settings()),
        system_prompt: RwSignal::new(String::new()),
        generating: RwSignal::new(None),
        next_id: RwSignal::new(1),
    };
    provide_context(state);

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
                <ChatLayout />
            </main>
            <StatusBar gpu=gpu model=model_file />
        </div>
    }
}
