//! The page's state and the conversation flow: one input feeds the default model, then (with
//! capping on) its capped twin, one after the other in the single worker. Every change of the
//! conversation or settings is saved to localStorage. How the page reacts to the worker's
//! messages is decided in [`session_events`], natively tested; here are the signals.

use leptos::prelude::*;

use crate::byo::ModelSource;
use crate::byo::browser::model_url;
use crate::chart::ChartView;
use crate::conversation::Conversation;
use crate::persist::{self, Saved};
use crate::platform::webgpu::WebGpuStatus;
use crate::session_events::{
    self, Command, ConversationChange, Session, TEMPLATE_TIME_LIMIT_SECONDS, TemplateWatch,
};
use crate::state::{AxisBuild, EngineStatus, default_settings};
use crate::stream_refresh::{Refresh, RefreshThrottle};
use crate::urls::axis_url;
use crate::worker::client::WORKER;
use crate::worker::client::WorkerClient;
use crate::worker::protocol::{
    Backend, FromWorker, Precision, ToWorker, WireAxisInfo, WireGenerationSettings, WireModelInfo,
};
use crate::worker::quick_axis::QuickAxisSize;
use crate::worker::threads::WorkerModule;
use engine::axis::CappingChoice;

/// Signals shared by the components.
#[derive(Clone, Copy)]
pub struct AppState {
    pub gpu: ReadSignal<WebGpuStatus>,
    pub engine: RwSignal<EngineStatus>,
    pub conversation: RwSignal<Conversation>,
    pub settings: RwSignal<WireGenerationSettings>,
    pub system_prompt: RwSignal<String>,
    /// The answer being written, if any.
    pub generating: RwSignal<Option<u64>>,
    pub next_id: RwSignal<u64>,
    /// The loaded axis file's metadata; `None` before loading or when it is missing.
    pub axis: RwSignal<Option<WireAxisInfo>>,
    /// Why answers are not scored (missing or mismatched axis file).
    pub axis_error: RwSignal<Option<String>>,
    pub capping: RwSignal<CappingChoice>,
    pub chart_view: RwSignal<ChartView>,
    /// Steering strength α for the next answers (0: off).
    pub steering: RwSignal<f32>,
    /// A one-off message for the user (e.g. the saved conversation was unreadable).
    pub notice: RwSignal<Option<String>>,
    /// Set by Stop so the capped twin of the current turn is not started afterwards.
    pub(crate) stop_requested: RwSignal<bool>,
    /// The inference worker's wasm memory after the last answer (bytes; 0 before any).
    pub worker_memory: RwSignal<f64>,
    /// A load to start as soon as a (re)started worker has booted (device-loss recovery).
    pending_load: RwSignal<Option<(Backend, Precision)>>,
    /// Where the next load takes the model from (`byo`).
    pub source: RwSignal<ModelSource>,
    /// The model being loaded (after its compatibility check) or loaded, as its header says.
    pub model_info: RwSignal<Option<WireModelInfo>>,
    /// Start loading by itself once the worker is up (`?autoload=1`, consumed at startup).
    pub autoload: RwSignal<bool>,
    /// Where the loaded model came from (the source goes back to it when a load is refused).
    loaded_source: RwSignal<Option<ModelSource>>,
    /// Computing an axis in the browser for a model without one.
    pub axis_build: RwSignal<AxisBuild>,
    /// Whether the worker is running the model's chat template (its time limit).
    template: RwSignal<TemplateWatch>,
    /// The other backend looks faster in this browser (`backend_choice::advice`).
    pub backend_offer: RwSignal<Option<crate::backend_choice::SwitchOffer>>,
    /// When the conversation's readers last saw streamed text (`stream_refresh`).
    stream_refresh: StoredValue<RefreshThrottle>,
}

impl AppState {
    /// Fresh state, restored from localStorage where possible.
    pub fn new(gpu: ReadSignal<WebGpuStatus>) -> AppState {
        let (saved, notice) = match persist::storage::load() {
            Ok(saved) => (saved, None),
            Err(notice) => (None, Some(notice)),
        };
        let (conversation, settings, system_prompt, capping, chart_view, steering) = match saved {
            Some(s) => (
                s.conversation,
                s.settings,
                s.system_prompt,
                s.capping,
                s.chart_view,
                s.steering,
            ),
            None => (
                Conversation::default(),
                default_settings(),
                String::new(),
                CappingChoice::default(),
                ChartView::Text,
                0.0,
            ),
        };
        let next_id = conversation.max_id() + 1;
        AppState {
            gpu,
            engine: RwSignal::new(EngineStatus::Starting),
            conversation: RwSignal::new(conversation),
            settings: RwSignal::new(settings),
            system_prompt: RwSignal::new(system_prompt),
            generating: RwSignal::new(None),
            next_id: RwSignal::new(next_id),
            axis: RwSignal::new(None),
            axis_error: RwSignal::new(None),
            capping: RwSignal::new(capping),
            chart_view: RwSignal::new(chart_view),
            steering: RwSignal::new(steering),
            notice: RwSignal::new(notice),
            stop_requested: RwSignal::new(false),
            pending_load: RwSignal::new(None),
            worker_memory: RwSignal::new(0.0),
            source: RwSignal::new(match crate::byo::browser::model_url_param() {
                Some(url) => ModelSource::Url(url),
                None => ModelSource::Default,
            }),
            model_info: RwSignal::new(None),
            autoload: RwSignal::new(false),
            loaded_source: RwSignal::new(None),
            axis_build: RwSignal::new(AxisBuild::Idle),
            template: RwSignal::new(TemplateWatch::default()),
            backend_offer: RwSignal::new(None),
            stream_refresh: StoredValue::new(RefreshThrottle::default()),
        }
    }

    /// Saves whenever the conversation or a setting changes.
    pub fn persist_on_change(&self) {
        let s = *self;
        Effect::new(move |_| {
            let saved = Saved {
                version: persist::VERSION,
                conversation: s.conversation.get(),
                settings: s.settings.get(),
                system_prompt: s.system_prompt.get(),
                capping: s.capping.get(),
                chart_view: s.chart_view.get(),
                steering: s.steering.get(),
            };
            if let Err(e) = persist::storage::save(&saved) {
                s.notice.set(Some(format!("Not saved: {e}")));
            }
        });
    }

    pub fn send(&self, message: &ToWorker) {
        let result = WORKER.with(|w| match w.borrow().as_ref() {
            Some(client) => client.send(message),
            None => Err("the inference worker is not running; reload the page".to_owned()),
        });
        if let Err(e) = result {
            self.engine.set(EngineStatus::Failed(e));
        }
    }

    /// The model's name: for the shipped model our own name (its `general.name` is a training
    /// run's id, "Smollm2 135M 8k Lc100K Mix1 Ep2"); otherwise the loaded (or checked) file's
    /// `general.name`, else what the source calls it.
    pub fn model_name(&self) -> String {
        if self.source.with(|s| matches!(s, ModelSource::Default)) {
            return ModelSource::Default.display_name();
        }
        self.model_info
            .with(|i| i.as_ref().map(|i| i.name.clone()))
            .unwrap_or_else(|| self.source.with(ModelSource::display_name))
    }

    /// Remembers the backend and precision (a visitor who found WebGPU slow keeps the CPU) and
    /// loads the chosen model.
    pub fn load_remembering(&self, backend: Backend, precision: Precision) {
        crate::preferences::storage::update(|prefs| {
            prefs.backend = Some(backend);
            prefs.precision = Some(precision);
        });
        self.load_model(backend, precision);
    }

    pub fn load_model(&self, backend: Backend, precision: Precision) {
        // The CPU backend on every core runs in the threaded module, WebGPU in the other one
        // (docs/threads.md): a worker running the wrong one is replaced first, and the load
        // follows when the new one has booted (`FromWorker::Booted` sends `pending_load`).
        let wanted = crate::worker::threads::module_for(backend);
        let running = WORKER.with(|w| w.borrow().as_ref().map(WorkerClient::module));
        if running.is_some_and(|m| m != wanted) {
            self.engine.set(EngineStatus::Starting);
            self.pending_load.set(Some((backend, precision)));
            // Later, not now: this may run inside the old worker's message handler (a load
            // that a worker event asked for), which replacing the worker would drop mid-call.
            let state = *self;
            leptos::task::spawn_local(async move { state.start_worker_with(wanted) });
            return;
        }
        self.model_info.set(None);
        self.backend_offer.set(None);
        if let ModelSource::Local { name, .. } = self.source.get_untracked() {
            self.engine
                .set(EngineStatus::Preparing(format!("Reading {name}")));
            let state = *self;
            leptos::task::spawn_local(async move {
                let read = crate::byo::browser::read_local().await;
                let sent = read.and_then(|(name, model, axis_name, axis)| {
                    let message = ToWorker::LoadBytes {
                        name,
                        backend,
                        precision,
                        axis_name,
                    };
                    WORKER.with(|w| match w.borrow().as_ref() {
                        Some(client) => client.send_bytes(&message, &model, axis.as_ref()),
                        None => {
                            Err("the inference worker is not running; reload the page".to_owned())
                        }
                    })
                });
                if let Err(e) = sent {
                    state.engine.set(EngineStatus::Failed(e));
                }
            });
            return;
        }
        self.engine.set(EngineStatus::Downloading {
            loaded: 0.0,
            total: None,
        });
        let model_url = model_url();
        self.send(&ToWorker::Load {
            axis_url: axis_url(&model_url),
            model_url,
            backend,
            precision,
        });
    }

    /// Whether the capped column is shown: capping is on and possible (an axis is loaded), or
    /// earlier turns have capped answers.
    pub fn shows_capped(&self) -> bool {
        (self.capping.with(|c| c.enabled) && self.axis.with(|a| a.is_some()))
            || self.conversation.with(|c| c.has_capped())
    }

    pub fn can_send(&self) -> bool {
        self.engine.with(|e| e.is_ready()) && !self.busy()
    }

    /// The worker is writing an answer or computing an axis: nothing else can start.
    pub fn busy(&self) -> bool {
        self.generating.with(|g| g.is_some()) || self.axis_build.with(AxisBuild::is_running)
    }

    /// Starts computing an axis for the loaded model in the worker.
    pub fn start_axis_build(&self, size: QuickAxisSize, seed: u64) {
        if let Err(e) = size.validate() {
            self.axis_build.set(AxisBuild::Failed(e));
            return;
        }
        if !self.engine.with(|e| e.is_ready()) || self.busy() {
            return;
        }
        self.axis_build.set(AxisBuild::Running {
            answers_done: 0,
            answers_total: 0,
            tokens: 0,
            seconds: 0.0,
        });
        let sent = WORKER.with(|w| match w.borrow().as_ref() {
            Some(worker) => worker.send(&ToWorker::BuildAxis {
                roles: size.roles,
                questions: size.questions,
                max_new_tokens: size.max_new_tokens,
                seed,
            }),
            None => Err("the inference worker is not running".to_owned()),
        });
        if let Err(e) = sent {
            self.axis_build.set(AxisBuild::Failed(e));
        }
    }

    /// Asks the worker to stop the axis build after its current step.
    pub fn cancel_axis_build(&self) {
        WORKER.with(|w| {
            if let Some(worker) = w.borrow().as_ref() {
                let _ = worker.send(&ToWorker::Stop);
            }
        });
    }

    /// Appends a turn and asks the worker for the default answer (the capped one follows):
    /// [`session_events::submit`] decides.
    pub fn submit(&self, text: String) {
        let steering = self.steering.get_untracked();
        self.apply(|session| session_events::submit(session, text, steering));
    }

    pub fn stop(&self) {
        self.stop_requested.set(true);
        self.send(&ToWorker::Stop);
    }

    /// Removes the last turn (both columns).
    pub fn undo(&self) {
        if self.generating.get_untracked().is_none() {
            self.conversation.update(|c| {
                c.turns.pop();
            });
        }
    }

    pub fn clear(&self) {
        if self.generating.get_untracked().is_none() {
            self.conversation.set(Conversation::default());
        }
    }

    /// Reacts to a message of the worker: [`session_events::on_worker_event`] decides.
    pub fn on_worker_event(&self, event: FromWorker) {
        self.apply(|session| session_events::on_worker_event(session, event));
    }

    /// The time limit of the worker's template run `run` is over
    /// ([`session_events::on_template_timeout`] decides whether it is still running).
    fn on_template_timeout(&self, run: u64) {
        self.apply(|session| session_events::on_template_timeout(session, run));
    }

    /// The worker died ([`session_events::on_worker_crash`]).
    fn on_worker_crash(&self, detail: &str) {
        self.apply(|session| session_events::on_worker_crash(session, detail));
    }

    /// Runs one of `session_events`' decisions: reads the signals it needs into a [`Session`],
    /// writes back those whose value changed (the others are not written, so their readers do
    /// not run again) and carries out its commands.
    fn apply(&self, decide: impl FnOnce(&mut Session) -> session_events::Step) {
        let mut session = Session {
            // Taken out rather than copied (a message comes with every token), put back below.
            conversation: self.conversation.update_untracked(std::mem::take),
            engine: self.engine.get_untracked(),
            generating: self.generating.get_untracked(),
            next_id: self.next_id.get_untracked(),
            axis: self.axis.get_untracked(),
            axis_error: self.axis_error.get_untracked(),
            capping: self.capping.get_untracked(),
            stop_requested: self.stop_requested.get_untracked(),
            worker_memory: self.worker_memory.get_untracked(),
            pending_load: self.pending_load.get_untracked(),
            source: self.source.get_untracked(),
            model_info: self.model_info.get_untracked(),
            loaded_source: self.loaded_source.get_untracked(),
            axis_build: self.axis_build.get_untracked(),
            template: self.template.get_untracked(),
            system_prompt: self.system_prompt.get_untracked(),
            settings: self.settings.get_untracked(),
        };
        let step = decide(&mut session);
        let Session {
            engine,
            conversation,
            generating,
            next_id,
            axis,
            axis_error,
            capping,
            stop_requested,
            worker_memory,
            pending_load,
            source,
            model_info,
            loaded_source,
            axis_build,
            template,
            system_prompt: _,
            settings: _,
        } = session;
        self.conversation.maybe_update(|c| {
            *c = conversation;
            step.conversation == ConversationChange::Edited
        });
        match step.conversation {
            ConversationChange::Unchanged => {}
            ConversationChange::Edited => {
                self.stream_refresh.update_value(|t| t.refreshed(now_ms()))
            }
            ConversationChange::StreamedText => self.refresh_streamed_text(),
        }
        set_if_changed(self.engine, engine);
        set_if_changed(self.generating, generating);
        set_if_changed(self.next_id, next_id);
        set_if_changed(self.axis, axis);
        set_if_changed(self.axis_error, axis_error);
        set_if_changed(self.capping, capping);
        set_if_changed(self.stop_requested, stop_requested);
        set_if_changed(self.worker_memory, worker_memory);
        set_if_changed(self.pending_load, pending_load);
        set_if_changed(self.source, source);
        set_if_changed(self.model_info, model_info);
        set_if_changed(self.loaded_source, loaded_source);
        set_if_changed(self.axis_build, axis_build);
        set_if_changed(self.template, template);
        for command in step.commands {
            match command {
                Command::Send(message) => self.send(&message),
                Command::Load { backend, precision } => self.load_model(backend, precision),
                Command::Notice(text) => self.notice.set(Some(text)),
                Command::RecordSpeed { backend, rate } => self.record_speed(backend, rate),
                Command::RestartWorker => {
                    // After this event's handler has returned: the old worker's message
                    // handler is what is running now, and replacing the worker drops it.
                    let state = *self;
                    leptos::task::spawn_local(async move { state.start_worker() });
                }
                Command::WatchTemplate { run } => {
                    let state = *self;
                    set_timeout(
                        move || state.on_template_timeout(run),
                        std::time::Duration::from_secs(u64::from(TEMPLATE_TIME_LIMIT_SECONDS)),
                    );
                }
            }
        }
    }

    /// Shows the streamed text now, or by one timer within
    /// [`crate::stream_refresh::STREAM_REFRESH_MS`].
    fn refresh_streamed_text(&self) {
        let refresh = self
            .stream_refresh
            .try_update_value(|t| t.streamed(now_ms()))
            .unwrap_or(Refresh::Now);
        match refresh {
            Refresh::Now => self.conversation.notify(),
            Refresh::After(ms) => {
                let state = *self;
                set_timeout(
                    move || {
                        state
                            .stream_refresh
                            .update_value(|t| t.timer_fired(now_ms()));
                        state.conversation.notify();
                    },
                    // Whole ms, at least one: the timer runs after this message's handler.
                    std::time::Duration::from_millis(ms.ceil().max(1.0) as u64),
                );
            }
            Refresh::Pending => {}
        }
    }

    /// Starts the inference worker (again), on the module the next load most likely wants.
    pub fn start_worker(&self) {
        self.start_worker_with(crate::worker::threads::module_for(self.likely_backend()));
    }

    /// The backend the next load will most likely ask for, as the page's loader guessed it
    /// when it chose the page's own module (www/page-loader.js: the model panel's default,
    /// `backend_choice::default_backend`, from the remembered choice and the adapter it found).
    /// Without that loader (`cargo xtask serve`,
    /// `dist --fast`) WebGPU, whose module runs both backends. A wrong guess costs one worker
    /// restart at load (`load_model`).
    fn likely_backend(&self) -> Backend {
        let guess = web_sys::window()
            .and_then(|w| js_sys::Reflect::get(&w, &"axisLikelyBackend".into()).ok())
            .and_then(|v| v.as_string());
        match guess.as_deref() {
            Some("Cpu") => Backend::Cpu,
            _ => Backend::WebGpu,
        }
    }

    /// Starts the worker on `module` (again): a restarted worker is a fresh wasm instance, so
    /// nothing of a broken engine survives.
    fn start_worker_with(&self, module: WorkerModule) {
        let state = *self;
        WORKER.with(|w| *w.borrow_mut() = None);
        match WorkerClient::spawn(
            module,
            move |event| state.on_worker_event(event),
            move |detail| state.on_worker_crash(&detail),
        ) {
            Ok(client) => WORKER.with(|w| *w.borrow_mut() = Some(client)),
            Err(e) => self.engine.set(EngineStatus::Failed(e)),
        }
    }

    /// Remembers an answer's decode rate on `backend` and offers the other backend when it
    /// looks clearly faster here (`backend_choice`).
    fn record_speed(&self, backend: Backend, rate: f32) {
        let mut speeds = Default::default();
        crate::preferences::storage::update(|p| {
            p.speeds.record(backend, rate);
            speeds = p.speeds;
        });
        let gpu = self
            .gpu
            .with_untracked(crate::platform::webgpu::WebGpuStatus::offer);
        self.backend_offer
            .set(crate::backend_choice::advice(backend, &speeds, gpu));
    }

    /// Stops a load that takes too long (a stalled download, or a model file whose chat template
    /// keeps the worker busy): the worker is replaced by a fresh one, so nothing of the load
    /// survives, and the page is ready to load again.
    pub fn cancel_load(&self) {
        self.engine.set(EngineStatus::Starting);
        self.start_worker();
        self.notice.set(Some(
            "Loading was cancelled: the engine was restarted and no model is loaded.".to_owned(),
        ));
    }
}

/// Writes `value` into `signal` unless it holds that value already.
fn set_if_changed<T: PartialEq + Send + Sync + 'static>(signal: RwSignal<T>, value: T) {
    if signal.with_untracked(|old| *old != value) {
        signal.set(value);
    }
}

/// The page's clock for [`RefreshThrottle`], in ms.
fn now_ms() -> f64 {
    js_sys::Date::now()
}
