//! How the page reacts to the inference worker's messages, as plain data: [`on_worker_event`]
//! takes the part of the page's state that the messages touch (a [`Session`]) and one
//! [`FromWorker`] message, changes the state and returns what else is to be done ([`Command`]s:
//! post a message to the worker, show a notice, load the model again…). No signals, no browser:
//! it is unit-tested natively. `session::AppState::on_worker_event` is the thin wrapper that
//! reads the page's signals into a [`Session`], writes back what changed and carries out the
//! commands.
//!
//! The conversation flow it continues: one input feeds the default model, then (with capping on)
//! its capped twin, one after the other in the single worker.

use crate::backend_choice::decode_rate;
use crate::byo::ModelSource;
use engine::axis::CappingChoice;

use crate::conversation::{
    AnswerScore, Column, Conversation, Reply, TokenScores, Turn, answer_timing,
};
use crate::state::{AxisBuild, EngineStatus};
use crate::worker::protocol::{
    Backend, FromWorker, GenerateRequest, Precision, ToWorker, WireAxisInfo,
    WireGenerationSettings, WireModelInfo,
};

/// The error an answer shows when the WebGPU device died while (or after) it was written.
pub const CUT_OFF_BY_DEVICE_LOSS: &str = "cut off: the GPU device was lost";

/// How long the model's chat template may run in the worker before the page replaces the
/// worker. Templates render in milliseconds (the shipped one in well under one, with a long
/// conversation); a template that has not finished after this long is looping, and the busy
/// worker would never hear "Stop".
pub const TEMPLATE_TIME_LIMIT_SECONDS: u32 = 15;

/// The model's chat template running in the worker, as the worker's messages say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TemplateWatch {
    /// Counts `TemplateStarted` messages, so that a timer set for one run can tell whether that
    /// run is still the one going on.
    pub run: u64,
    /// Between `TemplateStarted` and the worker's next message.
    pub running: bool,
}

/// The page's state as far as the worker's messages read or change it: each field is the value
/// of the `session::AppState` signal of the same name.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub engine: EngineStatus,
    pub conversation: Conversation,
    /// The answer being written, if any.
    pub generating: Option<u64>,
    /// The next free id for a turn or an answer.
    pub next_id: u64,
    /// The loaded axis file's metadata; `None` before loading or when it is missing.
    pub axis: Option<WireAxisInfo>,
    /// Why answers are not scored (missing or mismatched axis file).
    pub axis_error: Option<String>,
    pub capping: CappingChoice,
    /// Set by Stop so the capped twin of the current turn is not started afterwards.
    pub stop_requested: bool,
    /// The inference worker's wasm memory after the last answer (bytes; 0 before any).
    pub worker_memory: f64,
    /// A load to start as soon as a (re)started worker has booted (device-loss recovery).
    pub pending_load: Option<(Backend, Precision)>,
    /// Where the next load takes the model from.
    pub source: ModelSource,
    /// The model being loaded (after its compatibility check) or loaded, as its header says.
    pub model_info: Option<WireModelInfo>,
    /// Where the loaded model came from (the source goes back to it when a load is refused).
    pub loaded_source: Option<ModelSource>,
    /// Computing an axis in the browser for a model without one.
    pub axis_build: AxisBuild,
    /// Whether the worker is running the model's chat template now.
    pub template: TemplateWatch,
    /// Read, never changed here: the capped twin's request carries them.
    pub system_prompt: String,
    pub settings: WireGenerationSettings,
}

/// What the caller does once the changed state is written back, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Post this message to the worker (when it cannot be posted, the engine has failed).
    Send(ToWorker),
    /// Load the model from the current source (`AppState::load_model`).
    Load {
        backend: Backend,
        precision: Precision,
    },
    /// Show this one-off message to the user.
    Notice(String),
    /// An answer decoded at `rate` tokens per second on `backend`: remember it, and offer the
    /// other backend when that looks clearly faster here (`backend_choice::advice`).
    RecordSpeed { backend: Backend, rate: f32 },
    /// Replace the worker by a fresh one, after the handler of the current message has returned
    /// (that handler belongs to the old worker, which the replacement drops).
    RestartWorker,
    /// Call [`on_template_timeout`] with this run after [`TEMPLATE_TIME_LIMIT_SECONDS`].
    WatchTemplate { run: u64 },
}

/// How one message changed the conversation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConversationChange {
    #[default]
    Unchanged,
    /// Only new text of the answer being written. Its readers may see it a moment later
    /// (`stream_refresh`): re-rendering and laying out the page for every token takes a core's
    /// time that a threaded CPU decode on a small machine needs.
    StreamedText,
    /// Anything else: its readers re-render at once.
    Edited,
}

/// What one message did besides the changes to the [`Session`]'s fields.
#[derive(Debug, Default, PartialEq)]
pub struct Step {
    /// How the conversation changed: its readers re-render and the page saves it. (The other
    /// fields need no such flag: the caller compares them with what it had.)
    pub conversation: ConversationChange,
    pub commands: Vec<Command>,
}

/// Reacts to one message of the worker.
pub fn on_worker_event(session: &mut Session, event: FromWorker) -> Step {
    let mut step = Step::default();
    let commands = &mut step.commands;
    // Whatever the worker says after `TemplateStarted` shows that the template run is over.
    session.template.running = false;
    match event {
        FromWorker::TemplateStarted => {
            session.template.run += 1;
            session.template.running = true;
            commands.push(Command::WatchTemplate {
                run: session.template.run,
            });
        }
        FromWorker::TemplateFinished => {}
        FromWorker::Booted => {
            if session.engine == EngineStatus::Starting {
                session.engine = EngineStatus::Idle;
            }
            if let Some((backend, precision)) = session.pending_load.take() {
                commands.push(Command::Load { backend, precision });
            }
        }
        FromWorker::DeviceLost { reason, message } => {
            step.conversation = ConversationChange::Edited;
            recover_from_device_loss(session, &reason, &message, commands);
        }
        FromWorker::Downloading { loaded, total } => {
            session.engine = EngineStatus::Downloading { loaded, total }
        }
        FromWorker::Preparing { step } => session.engine = EngineStatus::Preparing(step),
        FromWorker::Checked { info } => session.model_info = Some(info),
        FromWorker::Ready {
            backend,
            precision,
            device,
            resident_bytes,
            axis,
            axis_error,
            from_cache,
            cache_error,
            model,
            webgpu_check,
            ..
        } => {
            // Ready right after a failed load: the worker kept the model loaded before.
            if let EngineStatus::Failed(message) = &session.engine {
                commands.push(Command::Notice(format!(
                    "{message} The model loaded before is still in use."
                )));
                if let Some(source) = &session.loaded_source {
                    session.source = source.clone();
                }
            } else {
                session.loaded_source = Some(session.source.clone());
                // A newly loaded model: an axis computed for the previous one is gone.
                session.axis_build = AxisBuild::Idle;
            }
            if model.is_some() {
                session.model_info = model;
            }
            if let Some(e) = cache_error {
                commands.push(Command::Notice(format!(
                    "The model could not be kept in this browser's cache ({e}); it will be downloaded again next time."
                )));
            }
            if let Some(a) = &axis {
                session.capping.fit(&a.capping);
            }
            session.axis = axis;
            session.axis_error = axis_error;
            session.engine = EngineStatus::Ready {
                backend,
                precision,
                device,
                resident_bytes,
                from_cache,
                webgpu_check,
            };
        }
        FromWorker::Token { id, text, .. } => {
            step.conversation = ConversationChange::StreamedText;
            update_reply(session, id, |r| r.content.push_str(&text))
        }
        FromWorker::Done {
            id,
            stop,
            tokens,
            prompt_tokens,
            seconds,
            first_token_seconds,
            score,
            token_scores,
            dropped_messages,
            worker_memory_bytes,
            ..
        } => {
            step.conversation = ConversationChange::Edited;
            session.worker_memory = worker_memory_bytes;
            let steered = session
                .conversation
                .turns
                .iter()
                .find(|t| t.default.id == id || t.capped.as_ref().is_some_and(|r| r.id == id))
                .and_then(|t| t.steering);
            let timing = answer_timing(tokens, prompt_tokens, seconds, first_token_seconds);
            // This answer's decode rate, for the backend in use.
            if let EngineStatus::Ready { backend, .. } = session.engine
                && let Some(rate) = decode_rate(tokens, seconds, first_token_seconds)
            {
                commands.push(Command::RecordSpeed { backend, rate });
            }
            update_reply(session, id, |r| {
                r.streaming = false;
                r.score = score.map(AnswerScore::from);
                r.tokens = token_scores.map(TokenScores::from);
                let dropped = if dropped_messages > 0 {
                    format!(" · {dropped_messages} earliest messages left out to fit the context")
                } else {
                    String::new()
                };
                let steering = steered
                    .map(|a| format!(" · steered α = {a:+.2}"))
                    .unwrap_or_default();
                r.meta = Some(format!(
                    "{tokens} tokens · {stop} · {timing}{steering}{dropped}"
                ));
            });
            finish(session, id, commands);
        }
        FromWorker::Failed {
            id: Some(id),
            message,
        } => {
            step.conversation = ConversationChange::Edited;
            // An answer already ended (e.g. cut off by a device loss, whose message can arrive
            // before the engine's own failure) keeps what it says.
            update_reply(session, id, |r| {
                if r.streaming {
                    r.streaming = false;
                    r.error = Some(message);
                }
            });
            finish(session, id, commands);
        }
        FromWorker::AxisProgress {
            answers_done,
            answers_total,
            tokens,
            seconds,
        } => {
            if session.axis_build.is_running() {
                session.axis_build = AxisBuild::Running {
                    answers_done,
                    answers_total,
                    tokens,
                    seconds,
                };
            }
        }
        FromWorker::AxisBuilt {
            axis,
            file_name,
            answers,
            tokens,
            seconds,
            bytes,
        } => {
            session.capping.fit(&axis.capping);
            session.axis = Some(axis);
            session.axis_error = None;
            session.axis_build = AxisBuild::Built {
                file_name,
                bytes: std::sync::Arc::new(bytes),
                answers,
                tokens,
                seconds,
            };
        }
        FromWorker::AxisBuildFailed { message, cancelled } => {
            session.axis_build = if cancelled {
                AxisBuild::Cancelled
            } else {
                AxisBuild::Failed(message)
            };
        }
        FromWorker::Failed { id: None, message } => {
            if session.axis_build.is_running() {
                session.axis_build = AxisBuild::Failed(message.clone());
            }
            session.engine = EngineStatus::Failed(message)
        }
    }
    step
}

/// The time limit of template run `run` is over: when the worker has said nothing since it
/// started that run, the template is looping (or the worker died in it); the worker is replaced.
pub fn on_template_timeout(session: &mut Session, run: u64) -> Step {
    if !session.template.running || session.template.run != run {
        return Step::default();
    }
    restart_engine(
        session,
        format!(
            "The model's chat template did not finish within {TEMPLATE_TIME_LIMIT_SECONDS} s (a template can loop without end or exhaust memory), so the engine was restarted and no model is loaded. Choose another model file, or load this one again to retry."
        ),
        "not answered: the model's chat template did not finish",
    )
}

/// The worker crashed (`detail`: the browser's error): its engine and model are gone, so it
/// is replaced and the page says so.
pub fn on_worker_crash(session: &mut Session, detail: &str) -> Step {
    // A worker that dies before it booted cannot start in this browser: another one would too.
    if session.engine == EngineStatus::Starting {
        session.engine = EngineStatus::Failed(format!(
            "The inference worker could not start ({detail}); this browser may be too old to run it."
        ));
        return Step::default();
    }
    restart_engine(
        session,
        format!(
            "The inference worker crashed ({detail}); it was restarted and no model is loaded. Your conversation is kept: load the model again to go on."
        ),
        "cut off: the inference worker crashed",
    )
}

/// Replaces a worker that cannot go on, with the model it held: the answer being written ends
/// with `answer_error`, a capped twin that will not be written says so, an axis being computed
/// fails, and the model panel shows `message`.
fn restart_engine(session: &mut Session, message: String, answer_error: &str) -> Step {
    let mut step = Step::default();
    session.template.running = false;
    if let Some(id) = session.generating.take() {
        step.conversation = ConversationChange::Edited;
        session.stop_requested = true;
        let twin_id = take_id(session);
        let c = &mut session.conversation;
        if let Some(r) = c.reply_mut(id) {
            r.streaming = false;
            r.error = Some(answer_error.to_owned());
        }
        if let Some(t) = c.turns.last_mut()
            && t.capping.is_some()
            && t.capped.is_none()
        {
            t.capped = Some(Reply::not_answered(
                twin_id,
                "not answered: the engine was restarted",
            ));
        }
    }
    if session.axis_build.is_running() {
        session.axis_build = AxisBuild::Failed(message.clone());
    }
    session.pending_load = None;
    session.engine = EngineStatus::Failed(message);
    step.commands.push(Command::RestartWorker);
    step
}

/// The visitor sent `text`: a turn is appended and the default model is asked first (its
/// capped twin follows in [`finish`]). The turn keeps the cap the page's choice asks for now
/// ([`engine::axis::CappingChoice::request`]) and the steering strength, which both need the
/// axis. Nothing happens for empty text or while the engine is not ready or busy.
pub fn submit(session: &mut Session, text: String, steering: f32) -> Step {
    let mut step = Step::default();
    let busy = session.generating.is_some() || session.axis_build.is_running();
    if text.trim().is_empty() || !session.engine.is_ready() || busy {
        return step;
    }
    let offer = session.axis.as_ref().map(|a| &a.capping);
    let capping = session.capping.request(offer);
    let steering = Some(steering).filter(|a| *a != 0.0 && offer.is_some());
    let turn_id = take_id(session);
    let reply_id = take_id(session);
    session.conversation.turns.push(Turn {
        id: turn_id,
        user: text,
        default: Reply::streaming(reply_id),
        capped: None,
        capping,
        steering,
    });
    step.conversation = ConversationChange::Edited;
    session.stop_requested = false;
    if let Some(message) = generate_request(
        &session.conversation,
        Column::Default,
        &session.system_prompt,
        &session.settings,
        reply_id,
    ) {
        session.generating = Some(reply_id);
        step.commands.push(Command::Send(message));
    }
    step
}

/// The generate request for the last turn's answer in `column` (`None` without a turn).
pub fn generate_request(
    conversation: &Conversation,
    column: Column,
    system_prompt: &str,
    settings: &WireGenerationSettings,
    reply_id: u64,
) -> Option<ToWorker> {
    let index = conversation.turns.len().checked_sub(1)?;
    let turn = conversation.turns.get(index)?;
    let capping = match column {
        Column::Default => None,
        Column::Capped => turn.capping,
    };
    Some(ToWorker::Generate(GenerateRequest {
        id: reply_id,
        messages: conversation.history(column, system_prompt, index),
        settings: settings.clone(),
        capping,
        steering: turn.steering,
    }))
}

fn take_id(session: &mut Session) -> u64 {
    let id = session.next_id;
    session.next_id = id + 1;
    id
}

fn update_reply(session: &mut Session, id: u64, f: impl FnOnce(&mut Reply)) {
    if let Some(r) = session.conversation.reply_mut(id) {
        f(r);
    }
}

/// After answer `id`: if it was the default answer of a turn that asked for capping, the
/// capped twin answers next (unless the user pressed Stop).
fn finish(session: &mut Session, id: u64, commands: &mut Vec<Command>) {
    if session.generating != Some(id) {
        return;
    }
    session.generating = None;
    let wants_twin = session
        .conversation
        .turns
        .last()
        .is_some_and(|t| t.default.id == id && t.capping.is_some() && t.capped.is_none());
    if !wants_twin {
        return;
    }
    let reply_id = take_id(session);
    if session.stop_requested {
        if let Some(t) = session.conversation.turns.last_mut() {
            t.capped = Some(Reply::not_answered(reply_id, "not answered: stopped"));
        }
        return;
    }
    if let Some(t) = session.conversation.turns.last_mut() {
        t.capped = Some(Reply::streaming(reply_id));
    }
    if let Some(message) = generate_request(
        &session.conversation,
        Column::Capped,
        &session.system_prompt,
        &session.settings,
        reply_id,
    ) {
        session.generating = Some(reply_id);
        commands.push(Command::Send(message));
    }
}

/// The GPU is gone: keep the conversation (the answer being written is marked as cut off),
/// restart the worker and load the model again on the CPU backend.
fn recover_from_device_loss(
    session: &mut Session,
    reason: &str,
    message: &str,
    commands: &mut Vec<Command>,
) {
    let precision = match session.engine {
        EngineStatus::Ready { precision, .. } => precision,
        _ => Precision::Quantized,
    };
    // The answer being written is cut off; the last turn's failed answers — the engine may
    // have reported its failed readback before the loss itself arrived — say what happened
    // instead of a technical error; a twin that will not be written says so.
    let writing = session.generating.take();
    session.stop_requested = true;
    // An axis being computed dies with the worker; a finished one is not in the new worker.
    session.axis_build = if session.axis_build.is_running() {
        AxisBuild::Failed(format!("{CUT_OFF_BY_DEVICE_LOSS}; compute it again"))
    } else {
        AxisBuild::Idle
    };
    let twin_id = take_id(session);
    let c = &mut session.conversation;
    if let Some(r) = writing.and_then(|id| c.reply_mut(id)) {
        r.streaming = false;
        r.error = Some(CUT_OFF_BY_DEVICE_LOSS.to_owned());
    }
    if let Some(t) = c.turns.last_mut() {
        for r in std::iter::once(&mut t.default).chain(t.capped.as_mut()) {
            if r.error
                .as_deref()
                .is_some_and(|e| !e.starts_with("not answered"))
            {
                r.error = Some(CUT_OFF_BY_DEVICE_LOSS.to_owned());
            }
        }
        if t.capping.is_some() && t.capped.is_none() {
            t.capped = Some(Reply::not_answered(
                twin_id,
                "not answered: the GPU device was lost",
            ));
        }
    }
    let detail = if message.is_empty() {
        reason.to_owned()
    } else {
        format!("{reason}: {message}")
    };
    commands.push(Command::Notice(format!(
        "The GPU device was lost ({detail}). Your conversation is kept; the model is being loaded again on the CPU backend (slower). Reload the page to try WebGPU again."
    )));
    session.engine = EngineStatus::Starting;
    session.pending_load = Some((Backend::Cpu, precision));
    commands.push(Command::RestartWorker);
}

#[cfg(test)]
mod tests {
    use engine::axis::{CapOffer, CapSetting, Percentile, ThresholdBasis};

    use super::*;
    use crate::state::default_settings;
    use crate::worker::protocol::WireScore;

    const CAP: CapSetting = CapSetting {
        first_layer: 12,
        last_layer: 20,
        percentile: Percentile::whole(25),
    };

    fn ready(backend: Backend, precision: Precision) -> EngineStatus {
        EngineStatus::Ready {
            backend,
            precision,
            device: "test GPU".into(),
            resident_bytes: 1e8,
            from_cache: false,
            webgpu_check: None,
        }
    }

    /// A page with a model loaded on WebGPU and nothing asked yet.
    fn session() -> Session {
        Session {
            engine: ready(Backend::WebGpu, Precision::Quantized),
            conversation: Conversation::default(),
            generating: None,
            next_id: 1,
            axis: None,
            axis_error: None,
            capping: CappingChoice::default(),
            stop_requested: false,
            worker_memory: 0.0,
            pending_load: None,
            source: ModelSource::Default,
            model_info: None,
            loaded_source: Some(ModelSource::Default),
            axis_build: AxisBuild::Idle,
            template: TemplateWatch::default(),
            system_prompt: "You are Max.".into(),
            settings: default_settings(),
        }
    }

    fn axis() -> WireAxisInfo {
        WireAxisInfo {
            model_id: "m".into(),
            monitor_layer: 15,
            capping: CapOffer {
                n_layers: 30,
                default: CAP,
                basis: ThresholdBasis::AllAnswers,
                levels: [10, 25, 50].map(Percentile::whole).to_vec(),
                monitor_floors: vec![-0.5, 0.25, 1.0],
            },
            persona: None,
            other_model: None,
        }
    }

    fn model_info() -> WireModelInfo {
        WireModelInfo {
            name: "Tiny".into(),
            file_name: "tiny.gguf".into(),
            architecture: "llama".into(),
            parameters: 1_000,
            n_layers: 30,
            hidden_size: 64,
            context_length: 2048,
            file_type: "Q4_1".into(),
            file_bytes: 1e6,
        }
    }

    /// Sends `user` through [`submit`] with capping asked for or not (a capped turn needs the
    /// axis, which is loaded for it when the page has none); returns the default answer's id.
    fn ask(s: &mut Session, user: &str, capping: Option<CapSetting>) -> u64 {
        if capping.is_some() && s.axis.is_none() {
            s.axis = Some(axis());
        }
        s.capping = CappingChoice {
            enabled: capping.is_some(),
            band: capping.or(s.capping.band),
            basis: Some(ThresholdBasis::AllAnswers),
        };
        let step = submit(s, user.into(), 0.0);
        assert_eq!(step.conversation, ConversationChange::Edited, "{step:?}");
        let turn = s.conversation.turns.last().expect("a turn");
        assert_eq!(turn.capping, capping);
        turn.default.id
    }

    #[test]
    fn a_sent_text_asks_the_default_model_with_the_turns_cap_and_steering_kept() {
        let mut s = session();
        s.axis = Some(axis());
        s.capping.fit(&axis().capping);
        let step = submit(&mut s, "Hello".into(), 0.5);
        let turn = &s.conversation.turns[0];
        assert_eq!(
            (turn.user.as_str(), turn.capping, turn.steering),
            ("Hello", Some(CAP), Some(0.5))
        );
        assert_eq!(s.generating, Some(turn.default.id));
        let expected = GenerateRequest {
            id: turn.default.id,
            messages: s.conversation.history(Column::Default, "You are Max.", 0),
            settings: default_settings(),
            capping: None,
            steering: Some(0.5),
        };
        assert_eq!(step.commands, [Command::Send(ToWorker::Generate(expected))]);
        // The capped twin's request, when its turn comes, carries the cap.
        let twin = generate_request(&s.conversation, Column::Capped, "", &s.settings, 99);
        assert!(matches!(twin, Some(ToWorker::Generate(r)) if r.capping == Some(CAP)));
    }

    #[test]
    fn without_an_axis_a_turn_is_neither_capped_nor_steered() {
        let mut s = session();
        let step = submit(&mut s, "Hello".into(), 0.5);
        assert_eq!(step.commands.len(), 1);
        let turn = &s.conversation.turns[0];
        assert_eq!((turn.capping, turn.steering), (None, None));
    }

    #[test]
    fn nothing_is_sent_while_the_engine_is_busy_or_not_ready_or_for_empty_text() {
        let mut s = session();
        assert_eq!(submit(&mut s, "  ".into(), 0.0), Step::default());
        let id = ask(&mut s, "Hello", None);
        assert_eq!(submit(&mut s, "Again".into(), 0.0), Step::default(), "busy");
        assert_eq!(s.generating, Some(id));
        s.generating = None;
        s.axis_build = AxisBuild::Running {
            answers_done: 0,
            answers_total: 1,
            tokens: 0,
            seconds: 0.0,
        };
        assert_eq!(
            submit(&mut s, "Again".into(), 0.0),
            Step::default(),
            "building"
        );
        s.axis_build = AxisBuild::Idle;
        s.engine = EngineStatus::Starting;
        assert_eq!(
            submit(&mut s, "Again".into(), 0.0),
            Step::default(),
            "no model"
        );
        assert_eq!(s.conversation.turns.len(), 1);
    }

    fn token(id: u64, text: &str) -> FromWorker {
        FromWorker::Token {
            id,
            token: 0,
            text: text.into(),
        }
    }

    fn done(id: u64) -> FromWorker {
        FromWorker::Done {
            id,
            text: String::new(),
            stop: "stop token".into(),
            tokens: 12,
            prompt_tokens: 30,
            dropped_messages: 0,
            seconds: 2.0,
            first_token_seconds: Some(0.5),
            score: None,
            token_scores: None,
            worker_memory_bytes: 5e7,
        }
    }

    fn ready_event(axis: Option<WireAxisInfo>, cache_error: Option<&str>) -> FromWorker {
        FromWorker::Ready {
            backend: Backend::Cpu,
            precision: Precision::F32,
            device: "CPU".into(),
            resident_bytes: 2e8,
            n_layers: 30,
            axis,
            axis_error: None,
            from_cache: true,
            cache_error: cache_error.map(str::to_owned),
            model: None,
            webgpu_check: None,
        }
    }

    fn reply(s: &Session, id: u64) -> Reply {
        let mut c = s.conversation.clone();
        c.reply_mut(id).expect("reply").clone()
    }

    #[test]
    fn a_booted_worker_goes_idle_and_starts_the_load_it_was_waiting_for() {
        let mut s = session();
        s.engine = EngineStatus::Starting;
        s.pending_load = Some((Backend::Cpu, Precision::F32));
        let step = on_worker_event(&mut s, FromWorker::Booted);
        assert_eq!(s.engine, EngineStatus::Idle);
        assert_eq!(s.pending_load, None);
        assert_eq!(
            step,
            Step {
                conversation: ConversationChange::Unchanged,
                commands: vec![Command::Load {
                    backend: Backend::Cpu,
                    precision: Precision::F32,
                }],
            }
        );
        // A worker that boots while a model is loaded changes nothing.
        let mut s = session();
        let before = s.clone();
        assert_eq!(on_worker_event(&mut s, FromWorker::Booted), Step::default());
        assert_eq!(s, before);
    }

    #[test]
    fn load_progress_and_the_checked_header_are_shown() {
        let mut s = session();
        s.engine = EngineStatus::Idle;
        let step = on_worker_event(
            &mut s,
            FromWorker::Downloading {
                loaded: 10.0,
                total: Some(100.0),
            },
        );
        assert_eq!(step, Step::default());
        assert_eq!(
            s.engine,
            EngineStatus::Downloading {
                loaded: 10.0,
                total: Some(100.0)
            }
        );
        on_worker_event(&mut s, FromWorker::Checked { info: model_info() });
        assert_eq!(s.model_info, Some(model_info()));
        on_worker_event(
            &mut s,
            FromWorker::Preparing {
                step: "Compiling shaders".into(),
            },
        );
        assert_eq!(
            s.engine,
            EngineStatus::Preparing("Compiling shaders".into())
        );
    }

    #[test]
    fn a_finished_load_is_ready_with_its_axis_and_says_when_it_was_not_cached() {
        let mut s = session();
        s.engine = EngineStatus::Preparing("Compiling shaders".into());
        s.source = ModelSource::Url("https://example.org/tiny.gguf".into());
        s.model_info = Some(model_info());
        s.axis_build = AxisBuild::Cancelled;
        let step = on_worker_event(&mut s, ready_event(Some(axis()), Some("quota exceeded")));
        assert_eq!(
            s.engine,
            EngineStatus::Ready {
                backend: Backend::Cpu,
                precision: Precision::F32,
                device: "CPU".into(),
                resident_bytes: 2e8,
                from_cache: true,
                webgpu_check: None,
            }
        );
        assert_eq!(s.axis, Some(axis()));
        assert_eq!(s.capping.band, Some(CAP), "the band fits the new axis");
        assert_eq!(s.loaded_source, Some(s.source.clone()));
        assert_eq!(s.axis_build, AxisBuild::Idle);
        assert_eq!(s.model_info, Some(model_info()), "kept when Ready has none");
        assert_eq!(
            step.commands,
            [Command::Notice(
                "The model could not be kept in this browser's cache (quota exceeded); it will be downloaded again next time.".into()
            )]
        );
        assert_eq!(step.conversation, ConversationChange::Unchanged);
    }

    #[test]
    fn ready_after_a_failed_load_keeps_the_model_loaded_before() {
        let mut s = session();
        s.engine = EngineStatus::Failed("The file is not a model.".into());
        s.source = ModelSource::Url("https://example.org/broken.gguf".into());
        s.loaded_source = Some(ModelSource::Default);
        let built = AxisBuild::Built {
            file_name: "a.axis.safetensors".into(),
            bytes: std::sync::Arc::new(vec![1, 2, 3]),
            answers: 4,
            tokens: 5,
            seconds: 6.0,
        };
        s.axis_build = built.clone();
        let step = on_worker_event(&mut s, ready_event(None, None));
        assert_eq!(
            step.commands,
            [Command::Notice(
                "The file is not a model. The model loaded before is still in use.".into()
            )]
        );
        assert_eq!(s.source, ModelSource::Default, "back to the model in use");
        assert_eq!(s.axis_build, built, "the axis of the model in use stays");
        assert!(s.engine.is_ready());
    }

    #[test]
    fn a_template_that_finishes_in_time_changes_nothing_when_its_time_is_up() {
        let mut s = session();
        s.engine = EngineStatus::Preparing("Trying the model's chat template".into());
        let step = on_worker_event(&mut s, FromWorker::TemplateStarted);
        assert_eq!(step.commands, [Command::WatchTemplate { run: 1 }]);
        assert!(s.template.running);
        on_worker_event(&mut s, FromWorker::TemplateFinished);
        assert!(!s.template.running);
        let before = s.clone();
        assert_eq!(on_template_timeout(&mut s, 1), Step::default());
        assert_eq!(s, before);
        // Any message ends the run (an error comes as `Failed`), and an earlier run's timer
        // does not stop a later run.
        on_worker_event(&mut s, FromWorker::TemplateStarted);
        on_worker_event(
            &mut s,
            FromWorker::Failed {
                id: None,
                message: "x's chat template cannot be used".into(),
            },
        );
        assert_eq!(on_template_timeout(&mut s, 2), Step::default());
        on_worker_event(&mut s, FromWorker::TemplateStarted);
        assert_eq!(on_template_timeout(&mut s, 2), Step::default());
        assert!(s.template.running, "run 3 goes on");
    }

    #[test]
    fn a_template_still_running_at_load_when_its_time_is_up_restarts_the_engine() {
        let mut s = session();
        s.engine = EngineStatus::Preparing("Trying the model's chat template".into());
        s.pending_load = Some((Backend::Cpu, Precision::F32));
        on_worker_event(&mut s, FromWorker::TemplateStarted);
        let step = on_template_timeout(&mut s, 1);
        assert_eq!(step.commands, [Command::RestartWorker]);
        assert_eq!(step.conversation, ConversationChange::Unchanged);
        let EngineStatus::Failed(message) = &s.engine else {
            panic!("{:?}", s.engine);
        };
        assert!(
            message.starts_with("The model's chat template did not finish within 15 s"),
            "{message}"
        );
        assert!(s.engine.can_load(), "the visitor can load again");
        assert_eq!(s.pending_load, None);
        assert!(!s.template.running);
        // The restarted worker boots; the panel keeps saying what happened.
        on_worker_event(&mut s, FromWorker::Booted);
        assert!(matches!(s.engine, EngineStatus::Failed(_)));
    }

    #[test]
    fn a_template_still_running_before_an_answer_ends_the_turn_and_restarts_the_engine() {
        let mut s = session();
        let id = ask(&mut s, "Hello", Some(CAP));
        on_worker_event(&mut s, FromWorker::TemplateStarted);
        let step = on_template_timeout(&mut s, 1);
        assert_eq!(step.conversation, ConversationChange::Edited);
        assert_eq!(step.commands, [Command::RestartWorker]);
        let r = reply(&s, id);
        assert!(!r.streaming);
        assert_eq!(
            r.error.as_deref(),
            Some("not answered: the model's chat template did not finish")
        );
        let twin = s.conversation.turns[0]
            .capped
            .clone()
            .expect("the twin says why");
        assert_eq!(
            twin.error.as_deref(),
            Some("not answered: the engine was restarted")
        );
        assert_eq!(s.generating, None);
        assert!(matches!(s.engine, EngineStatus::Failed(_)));
    }

    #[test]
    fn a_crashed_worker_is_replaced_and_its_answer_says_so() {
        let mut s = session();
        let id = ask(&mut s, "Hello", None);
        on_worker_event(&mut s, token(id, "Hi"));
        let step = on_worker_crash(&mut s, "RuntimeError: unreachable");
        assert_eq!(step.commands, [Command::RestartWorker]);
        let r = reply(&s, id);
        assert_eq!(r.content, "Hi", "what was written is kept");
        assert_eq!(
            r.error.as_deref(),
            Some("cut off: the inference worker crashed")
        );
        assert!(!r.streaming);
        assert_eq!(s.generating, None);
        let EngineStatus::Failed(message) = &s.engine else {
            panic!("{:?}", s.engine);
        };
        assert!(message.contains("RuntimeError: unreachable"), "{message}");
        // Without an answer in progress only the panel changes.
        let mut s = session();
        let step = on_worker_crash(&mut s, "out of memory");
        assert_eq!(step.conversation, ConversationChange::Unchanged);
        assert_eq!(step.commands, [Command::RestartWorker]);
        // One that dies before it booted is not restarted (it would die again, without end).
        let mut s = session();
        s.engine = EngineStatus::Starting;
        assert_eq!(on_worker_crash(&mut s, "no wasm"), Step::default());
        assert!(matches!(&s.engine, EngineStatus::Failed(m) if m.contains("no wasm")));
    }

    #[test]
    fn tokens_stream_into_their_answer() {
        let mut s = session();
        let id = ask(&mut s, "Hello", None);
        for text in ["Hi", " there", "."] {
            let step = on_worker_event(&mut s, token(id, text));
            assert_eq!(step.conversation, ConversationChange::StreamedText);
            assert!(step.commands.is_empty());
        }
        let r = reply(&s, id);
        assert_eq!(r.content, "Hi there.");
        assert!(r.streaming);
        assert_eq!(s.generating, Some(id));
        // A token for an answer that is gone (undone, cleared) is dropped.
        let before = s.conversation.clone();
        on_worker_event(&mut s, token(99, "lost"));
        assert_eq!(s.conversation, before);
    }

    #[test]
    fn a_finished_answer_gets_its_score_and_meta_and_frees_the_worker() {
        let mut s = session();
        let id = ask(&mut s, "Hello", None);
        s.conversation.turns[0].steering = Some(1.5);
        on_worker_event(&mut s, token(id, "Hi."));
        let score = WireScore {
            activations: 1.0,
            text: 2.0,
            cap_margin: None,
            persona_activations: None,
            persona_text: None,
        };
        let mut event = done(id);
        if let FromWorker::Done {
            score: answer_score,
            dropped_messages,
            ..
        } = &mut event
        {
            *answer_score = Some(score);
            *dropped_messages = 2;
        }
        let step = on_worker_event(&mut s, event);
        let r = reply(&s, id);
        assert!(!r.streaming);
        assert_eq!(r.content, "Hi.");
        assert_eq!(r.score, Some(AnswerScore::from(score)));
        assert_eq!(
            r.meta.as_deref(),
            Some(
                "12 tokens · stop token · 2.0 s · first token after 0.5 s (30-token prompt) · 7.3 tok/s · steered α = +1.50 · 2 earliest messages left out to fit the context"
            )
        );
        assert_eq!(s.generating, None);
        assert_eq!(s.worker_memory, 5e7);
        assert_eq!(step.conversation, ConversationChange::Edited);
        let rate = decode_rate(12, 2.0, Some(0.5)).expect("rate");
        assert_eq!(
            step.commands,
            [Command::RecordSpeed {
                backend: Backend::WebGpu,
                rate
            }],
            "no capping: no twin to start"
        );
    }

    #[test]
    fn the_capped_twin_answers_after_the_default_one() {
        let mut s = session();
        s.axis = Some(axis());
        let id = ask(&mut s, "Be a pirate.", Some(CAP));
        on_worker_event(&mut s, token(id, "Arr!"));
        let step = on_worker_event(&mut s, done(id));
        let twin = s.conversation.turns[0].capped.clone().expect("twin");
        assert!(twin.streaming);
        assert!(twin.id > id);
        assert_eq!(s.generating, Some(twin.id));
        let expected = ToWorker::Generate(GenerateRequest {
            id: twin.id,
            messages: s.conversation.history(Column::Capped, "You are Max.", 0),
            settings: default_settings(),
            capping: Some(CAP),
            steering: None,
        });
        assert_eq!(
            generate_request(
                &s.conversation,
                Column::Capped,
                &s.system_prompt,
                &s.settings,
                twin.id
            ),
            Some(expected.clone())
        );
        assert_eq!(step.commands.last(), Some(&Command::Send(expected)));
        // The twin's own end starts nothing more.
        let step = on_worker_event(&mut s, done(twin.id));
        assert_eq!(s.generating, None);
        assert!(!step.commands.iter().any(|c| matches!(c, Command::Send(_))));
        assert_eq!(s.conversation.turns.len(), 1);
    }

    #[test]
    fn after_stop_the_twin_is_not_answered() {
        let mut s = session();
        let id = ask(&mut s, "Be a pirate.", Some(CAP));
        s.stop_requested = true;
        let step = on_worker_event(&mut s, done(id));
        assert_eq!(
            s.conversation.turns[0]
                .capped
                .as_ref()
                .map(|r| r.error.clone()),
            Some(Some("not answered: stopped".into()))
        );
        assert_eq!(s.generating, None);
        assert!(!step.commands.iter().any(|c| matches!(c, Command::Send(_))));
    }

    #[test]
    fn an_answer_that_ends_while_another_is_written_starts_nothing() {
        let mut s = session();
        let id = ask(&mut s, "Hello", Some(CAP));
        s.generating = Some(id + 100);
        let step = on_worker_event(&mut s, done(id));
        assert!(!reply(&s, id).streaming);
        assert_eq!(s.generating, Some(id + 100));
        assert_eq!(s.conversation.turns[0].capped, None);
        assert_eq!(
            step.commands.len(),
            1,
            "only the speed: {:?}",
            step.commands
        );
    }

    #[test]
    fn a_failed_answer_says_why_and_an_ended_one_keeps_what_it_says() {
        let mut s = session();
        let id = ask(&mut s, "Hello", Some(CAP));
        on_worker_event(&mut s, token(id, "Hi"));
        let step = on_worker_event(
            &mut s,
            FromWorker::Failed {
                id: Some(id),
                message: "out of memory".into(),
            },
        );
        let r = reply(&s, id);
        assert!(!r.streaming);
        assert_eq!(r.error.as_deref(), Some("out of memory"));
        assert_eq!(r.content, "Hi");
        assert_eq!(step.conversation, ConversationChange::Edited);
        // As after a finished answer, the twin goes next.
        let twin = s.conversation.turns[0].capped.clone().expect("twin");
        assert_eq!(s.generating, Some(twin.id));
        assert!(matches!(step.commands[..], [Command::Send(_)]));
        // An answer that has already ended keeps its own error.
        s.conversation.reply_mut(twin.id).expect("twin").streaming = false;
        s.conversation.reply_mut(twin.id).expect("twin").error =
            Some(CUT_OFF_BY_DEVICE_LOSS.into());
        on_worker_event(
            &mut s,
            FromWorker::Failed {
                id: Some(twin.id),
                message: "readback failed".into(),
            },
        );
        assert_eq!(
            reply(&s, twin.id).error.as_deref(),
            Some(CUT_OFF_BY_DEVICE_LOSS)
        );
        assert_eq!(s.generating, None);
    }

    #[test]
    fn an_engine_failure_fails_the_load_and_a_running_axis_build() {
        let mut s = session();
        s.axis_build = AxisBuild::Running {
            answers_done: 1,
            answers_total: 8,
            tokens: 40,
            seconds: 3.0,
        };
        let failed = || FromWorker::Failed {
            id: None,
            message: "no adapter".into(),
        };
        let step = on_worker_event(&mut s, failed());
        assert_eq!(step, Step::default());
        assert_eq!(s.engine, EngineStatus::Failed("no adapter".into()));
        assert_eq!(s.axis_build, AxisBuild::Failed("no adapter".into()));
        let mut s = session();
        s.axis_build = AxisBuild::Cancelled;
        on_worker_event(&mut s, failed());
        assert_eq!(s.axis_build, AxisBuild::Cancelled);
    }

    #[test]
    fn device_loss_keeps_the_conversation_and_loads_again_on_the_cpu() {
        let mut s = session();
        s.engine = ready(Backend::WebGpu, Precision::F32);
        let id = ask(&mut s, "Be a pirate.", Some(CAP));
        // The page starts no build while answering; the reducer must still end both.
        s.axis_build = AxisBuild::Running {
            answers_done: 1,
            answers_total: 8,
            tokens: 40,
            seconds: 3.0,
        };
        on_worker_event(&mut s, token(id, "Arr"));
        let step = on_worker_event(
            &mut s,
            FromWorker::DeviceLost {
                reason: "destroyed".into(),
                message: "device was destroyed".into(),
            },
        );
        let r = reply(&s, id);
        assert!(!r.streaming);
        assert_eq!(r.content, "Arr");
        assert_eq!(r.error.as_deref(), Some(CUT_OFF_BY_DEVICE_LOSS));
        assert_eq!(
            s.conversation.turns[0]
                .capped
                .as_ref()
                .map(|r| r.error.clone()),
            Some(Some("not answered: the GPU device was lost".into()))
        );
        assert_eq!(s.generating, None);
        assert!(s.stop_requested);
        assert_eq!(
            s.axis_build,
            AxisBuild::Failed("cut off: the GPU device was lost; compute it again".into())
        );
        assert_eq!(s.engine, EngineStatus::Starting);
        assert_eq!(s.pending_load, Some((Backend::Cpu, Precision::F32)));
        assert_eq!(step.conversation, ConversationChange::Edited);
        assert_eq!(
            step.commands,
            [
                Command::Notice(
                    "The GPU device was lost (destroyed: device was destroyed). Your conversation is kept; the model is being loaded again on the CPU backend (slower). Reload the page to try WebGPU again.".into()
                ),
                Command::RestartWorker,
            ]
        );
        // The old engine's late failure of the answer does not overwrite the cut-off.
        on_worker_event(
            &mut s,
            FromWorker::Failed {
                id: Some(id),
                message: "readback failed".into(),
            },
        );
        assert_eq!(reply(&s, id).error.as_deref(), Some(CUT_OFF_BY_DEVICE_LOSS));
        // The fresh worker boots and loads the model on the CPU.
        let step = on_worker_event(&mut s, FromWorker::Booted);
        assert_eq!(
            step.commands,
            [Command::Load {
                backend: Backend::Cpu,
                precision: Precision::F32,
            }]
        );
        assert_eq!(s.engine, EngineStatus::Idle);
    }

    #[test]
    fn a_failed_answer_reported_before_the_loss_says_the_device_was_lost() {
        let mut s = session();
        let id = ask(&mut s, "Hello", None);
        on_worker_event(
            &mut s,
            FromWorker::Failed {
                id: Some(id),
                message: "buffer readback failed".into(),
            },
        );
        on_worker_event(
            &mut s,
            FromWorker::DeviceLost {
                reason: "unknown".into(),
                message: String::new(),
            },
        );
        assert_eq!(reply(&s, id).error.as_deref(), Some(CUT_OFF_BY_DEVICE_LOSS));
        assert_eq!(s.conversation.turns[0].capped, None, "no capping asked");
        assert_eq!(s.pending_load, Some((Backend::Cpu, Precision::Quantized)));
    }

    #[test]
    fn the_axis_build_reports_progress_its_axis_or_why_it_ended() {
        let mut s = session();
        let progress = FromWorker::AxisProgress {
            answers_done: 3,
            answers_total: 8,
            tokens: 120,
            seconds: 9.5,
        };
        // Progress after the build was given up is dropped.
        on_worker_event(&mut s, progress.clone());
        assert_eq!(s.axis_build, AxisBuild::Idle);
        s.axis_build = AxisBuild::Running {
            answers_done: 0,
            answers_total: 0,
            tokens: 0,
            seconds: 0.0,
        };
        on_worker_event(&mut s, progress);
        assert_eq!(
            s.axis_build,
            AxisBuild::Running {
                answers_done: 3,
                answers_total: 8,
                tokens: 120,
                seconds: 9.5,
            }
        );
        s.axis_error = Some("no axis file".into());
        let step = on_worker_event(
            &mut s,
            FromWorker::AxisBuilt {
                axis: axis(),
                file_name: "tiny.axis.safetensors".into(),
                answers: 8,
                tokens: 320,
                seconds: 20.0,
                bytes: vec![7; 4],
            },
        );
        assert_eq!(step, Step::default());
        assert_eq!(s.axis, Some(axis()));
        assert_eq!(s.axis_error, None);
        assert_eq!(s.capping.band, Some(CAP));
        assert_eq!(
            s.axis_build,
            AxisBuild::Built {
                file_name: "tiny.axis.safetensors".into(),
                bytes: std::sync::Arc::new(vec![7; 4]),
                answers: 8,
                tokens: 320,
                seconds: 20.0,
            }
        );
        let ended = |cancelled| FromWorker::AxisBuildFailed {
            message: "stopped".into(),
            cancelled,
        };
        on_worker_event(&mut s, ended(true));
        assert_eq!(s.axis_build, AxisBuild::Cancelled);
        on_worker_event(&mut s, ended(false));
        assert_eq!(s.axis_build, AxisBuild::Failed("stopped".into()));
        assert_eq!(s.axis, Some(axis()), "the axis in use stays");
    }
}
