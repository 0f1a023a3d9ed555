//! The worker side: loads the model and streams answers, one at a time.

use engine::axis::CapSetting;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use engine::axis::AxisFile;
use engine::chat::{ChatMessage, ChatModel};
use engine::device::{self, Device};
use engine::generation::{Generation, GenerationRequest, SamplingParams, StopReason, score_tokens};
use engine::model::{Interventions, WeightMode};
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, ReadableStreamDefaultReader, Response};

use super::compat::{self, MAX_MODEL_BYTES};
use super::model_cache;
use super::protocol::{
    BYTES_AXIS, BYTES_MESSAGE, BYTES_MODEL, Backend, FromWorker, Precision, ToWorker, WireAxisInfo,
    WireGenerationSettings, WireMessage, WireScore, WireTokenScores,
};
use super::quick_axis::{self, QuickAxisError, QuickAxisSize, QuickModel};
use super::scoring::{self, AxisPlan};
use sha2::{Digest, Sha256};

#[derive(Default)]
struct HostState {
    model: Option<Rc<ChatModel>>,
    /// The loaded model's axis file, checked against its shape.
    axis: Option<Rc<AxisFile>>,
    webgpu: Option<Device>,
    busy: bool,
    /// The `Ready` message of the loaded model, said again when a later load fails before it
    /// was dropped (e.g. a file refused by the compatibility check): that model stays usable.
    ready: Option<FromWorker>,
    /// Who the loaded model is, for axis files computed here.
    identity: Option<ModelIdentity>,
}

/// How an axis file computed in the browser names its model.
#[derive(Clone)]
struct ModelIdentity {
    /// The file name without `.gguf` (what the lab stores as `model_id`).
    id: String,
    /// What the model is told it is in the default prompt "You are {name}.".
    name: String,
    sha256: String,
}

thread_local! {
    static STATE: RefCell<HostState> = RefCell::new(HostState::default());
    static STOP: Cell<bool> = const { Cell::new(false) };
}

/// Entry point called by `worker.js` once the module is initialised.
#[wasm_bindgen]
pub fn worker_main() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let data = event.data();
        let Some(text) = data.as_string() else {
            handle_bytes(&data);
            return;
        };
        match serde_json::from_str::<ToWorker>(&text) {
            Ok(message) => handle(message),
            Err(e) => post(&FromWorker::Failed {
                id: None,
                message: format!("malformed message for the worker: {e}"),
            }),
        }
    });
    scope.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    handler.forget();
    post(&FromWorker::Booted);
}

/// A `LoadBytes` message: `{ message, model, axis }` with transferred buffers (protocol doc).
fn handle_bytes(data: &JsValue) {
    let field = |key: &str| js_sys::Reflect::get(data, &key.into()).ok();
    let message = field(BYTES_MESSAGE)
        .and_then(|m| m.as_string())
        .and_then(|m| serde_json::from_str::<ToWorker>(&m).ok());
    let model = field(BYTES_MODEL).and_then(|b| b.dyn_into::<js_sys::ArrayBuffer>().ok());
    let axis = field(BYTES_AXIS).and_then(|b| b.dyn_into::<js_sys::ArrayBuffer>().ok());
    let (
        Some(ToWorker::LoadBytes {
            name,
            backend,
            precision,
            axis_name,
        }),
        Some(model),
    ) = (message, model)
    else {
        post(&FromWorker::Failed {
            id: None,
            message: "the worker received a message it cannot read".into(),
        });
        return;
    };
    if !try_begin() {
        post(&FromWorker::Failed {
            id: None,
            message: "the worker is busy; wait for it to finish".into(),
        });
        return;
    }
    let bytes = Uint8Array::new(&model).to_vec();
    let axis = match (axis, axis_name) {
        (Some(buffer), name) => AxisSource::Bytes {
            name: name.unwrap_or_else(|| "the chosen axis file".to_owned()),
            bytes: Uint8Array::new(&buffer).to_vec(),
        },
        (None, _) => AxisSource::Missing(format!(
            "no axis file was chosen with {name}, so answers are not scored and capping is off"
        )),
    };
    spawn_local(async move {
        let source = ModelSource {
            name,
            cache_url: None,
            from_cache: false,
        };
        if let Err(message) = load_from_bytes(bytes, source, axis, backend, precision).await {
            load_failed(message);
        }
        end();
    });
}

fn handle(message: ToWorker) {
    match message {
        ToWorker::LoadBytes { .. } => post(&FromWorker::Failed {
            id: None,
            message: "a model file arrived without its contents".into(),
        }),
        ToWorker::Stop => STOP.with(|s| s.set(true)),
        ToWorker::BuildAxis {
            roles,
            questions,
            max_new_tokens,
            seed,
        } => {
            let size = QuickAxisSize {
                roles,
                questions,
                max_new_tokens,
            };
            let (model, identity) = STATE.with(|s| {
                let s = s.borrow();
                (s.model.clone(), s.identity.clone())
            });
            let (Some(model), Some(identity)) = (model, identity) else {
                post(&FromWorker::AxisBuildFailed {
                    message: "no model is loaded yet".into(),
                    cancelled: false,
                });
                return;
            };
            if !try_begin() {
                post(&FromWorker::AxisBuildFailed {
                    message: "the worker is busy; wait for the answer to finish".into(),
                    cancelled: false,
                });
                return;
            }
            STOP.with(|s| s.set(false));
            spawn_local(async move {
                build_axis(&model, &identity, size, seed).await;
                end();
            });
        }
        ToWorker::SimulateDeviceLoss => {
            let lost = js_sys::Reflect::get(&js_sys::global(), &"axisLoseDevice".into())
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
                .and_then(|f| f.call0(&JsValue::NULL).ok())
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            if !lost {
                post(&FromWorker::Failed {
                    id: None,
                    message: "there is no WebGPU device to lose (the model is not on WebGPU)"
                        .into(),
                });
            }
        }
        ToWorker::Load {
            model_url,
            backend,
            precision,
            axis_url,
        } => {
            if !try_begin() {
                post(&FromWorker::Failed {
                    id: None,
                    message: "the worker is busy; wait for it to finish".into(),
                });
                return;
            }
            spawn_local(async move {
                if let Err(message) =
                    load(&model_url, axis_url.as_deref(), backend, precision).await
                {
                    load_failed(message);
                }
                end();
            });
        }
        ToWorker::Generate {
            id,
            messages,
            settings,
            capping,
            steering,
        } => {
            let Some(model) = STATE.with(|s| s.borrow().model.clone()) else {
                post(&FromWorker::Failed {
                    id: Some(id),
                    message: "no model is loaded yet".into(),
                });
                return;
            };
            if !try_begin() {
                post(&FromWorker::Failed {
                    id: Some(id),
                    message: "an answer is already being written".into(),
                });
                return;
            }
            let axis = STATE.with(|s| s.borrow().axis.clone());
            STOP.with(|s| s.set(false));
            spawn_local(async move {
                let job = Job {
                    model: &model,
                    axis: axis.as_deref(),
                    capping: capping.as_ref(),
                    steering,
                };
                if let Err(message) = generate(job, id, &messages, &settings).await {
                    post(&FromWorker::Failed {
                        id: Some(id),
                        message,
                    });
                }
                end();
            });
        }
    }
}

/// A load failed: say why, then, if the model loaded before is still held, that it is ready.
fn load_failed(message: String) {
    post(&FromWorker::Failed { id: None, message });
    let kept = STATE.with(|s| {
        let s = s.borrow();
        s.model.as_ref().and(s.ready.clone())
    });
    if let Some(ready) = kept {
        post(&ready);
    }
}

fn try_begin() -> bool {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if s.busy {
            false
        } else {
            s.busy = true;
            true
        }
    })
}

fn end() {
    STATE.with(|s| s.borrow_mut().busy = false);
}

async fn load(
    url: &str,
    axis_url: Option<&str>,
    backend: Backend,
    precision: Precision,
) -> Result<(), String> {
    let cached = model_cache::read(url).await;
    let from_cache = cached.is_some();
    let bytes = match cached {
        Some(bytes) => {
            post(&FromWorker::Downloading {
                loaded: bytes.len() as f64,
                total: Some(bytes.len() as f64),
            });
            bytes
        }
        None => download(url).await?,
    };
    let source = ModelSource {
        name: file_name(url),
        cache_url: Some(url.to_owned()),
        from_cache,
    };
    let axis = match axis_url {
        Some(u) => AxisSource::Url(u.to_owned()),
        None => AxisSource::Missing("no axis file is known for this model".to_owned()),
    };
    load_from_bytes(bytes, source, axis, backend, precision).await
}

/// Where the model bytes came from.
struct ModelSource {
    /// The file's name, for messages.
    name: String,
    /// The URL it is cached under (`None` for a file from the visitor's computer: not cached).
    cache_url: Option<String>,
    from_cache: bool,
}

/// Where the model's axis file comes from.
enum AxisSource {
    Url(String),
    Bytes {
        name: String,
        bytes: Vec<u8>,
    },
    /// None: why.
    Missing(String),
}

/// `tiny.gguf` from `https://host/x/tiny.gguf?download=1`.
fn file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/')
        .find(|p| !p.is_empty())
        .unwrap_or(path)
        .to_owned()
}

/// The compatibility check, then the heavy load: the check refuses a file before the loaded
/// model (if any) is dropped.
async fn load_from_bytes(
    bytes: Vec<u8>,
    source: ModelSource,
    axis_source: AxisSource,
    backend: Backend,
    precision: Precision,
) -> Result<(), String> {
    let from_cache = source.from_cache;
    let info = match compat::check(&bytes, &source.name) {
        Ok(info) => info,
        Err(e) => {
            if let (true, Some(url)) = (from_cache, &source.cache_url) {
                model_cache::forget(url).await;
                return Err(format!(
                    "the copy of the model cached in this browser is not usable ({e}); it has been removed: load again to download it"
                ));
            }
            return Err(e);
        }
    };
    post(&FromWorker::Checked { info: info.clone() });
    post(&FromWorker::Preparing {
        step: "Starting the compute device".into(),
    });
    let (device, device_name) = match backend {
        Backend::Cpu => (device::cpu(), "CPU (burn flex, wasm)".to_owned()),
        Backend::WebGpu => {
            let existing = STATE.with(|s| s.borrow().webgpu.clone());
            let device = match existing {
                Some(d) => d,
                None => {
                    let d = device::webgpu().await?;
                    STATE.with(|s| s.borrow_mut().webgpu = Some(d.clone()));
                    d
                }
            };
            (device, "WebGPU (burn wgpu)".to_owned())
        }
    };
    post(&FromWorker::Preparing {
        step: "Reading the model file and uploading the weights".into(),
    });
    yield_now().await;
    // Quantized weights on the CPU go through our kernel on the 4-bit blocks (flex itself
    // would unpack them to bytes and dequantize every matrix on every product); on WebGPU
    // through burn's packed quantized matmul.
    let mode = match (precision, backend) {
        (Precision::F32, _) => WeightMode::F32,
        (Precision::Quantized, Backend::Cpu) => WeightMode::HostBlocks,
        (Precision::Quantized, Backend::WebGpu) => WeightMode::Quantized,
    };
    // Drop any previous model first so two never sit in memory at once.
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.model = None;
        s.axis = None;
        s.ready = None;
        s.identity = None;
    });
    let identity = ModelIdentity {
        id: source.name.trim_end_matches(".gguf").to_owned(),
        name: info.name.clone(),
        sha256: format!("{:x}", Sha256::digest(&bytes)),
    };
    let model = match ChatModel::load(&bytes, mode, &device) {
        Ok(model) => model,
        Err(e) if from_cache => {
            // A cached copy that no longer loads (e.g. written by an older page) is dropped,
            // so that the next attempt downloads a fresh one.
            if let Some(url) = &source.cache_url {
                model_cache::forget(url).await;
            }
            return Err(format!(
                "the copy of the model cached in this browser could not be loaded ({e}); it has been removed: load again to download it"
            ));
        }
        Err(e) => return Err(format!("the model could not be loaded: {e}")),
    };
    let cache_note = match (&source.cache_url, from_cache) {
        (Some(url), false) => {
            post(&FromWorker::Preparing {
                step: "Keeping a copy in this browser's cache for next time".into(),
            });
            model_cache::store(url, &bytes).await.err()
        }
        _ => None,
    };
    drop(bytes);
    post(&FromWorker::Preparing {
        step: "Warming up (compiling GPU shaders)".into(),
    });
    yield_now().await;
    warm_up(&model).await?;
    let bytes = model.model().resident_bytes();
    // WebGPU stores 4-bit values packed; the CPU backend unpacks them to one byte each.
    let device_bytes = if backend == Backend::WebGpu {
        bytes.device_packed
    } else {
        bytes.device_flex
    };
    let resident = (bytes.host + device_bytes) as f64;
    let n_layers = model.model().config().n_layers;
    let hidden = model.model().config().hidden_size;
    let axis = match axis_source {
        AxisSource::Url(axis_url) => {
            post(&FromWorker::Preparing {
                step: "Reading the Assistant Axis file".into(),
            });
            load_axis(&axis_url, n_layers, hidden).await
        }
        AxisSource::Bytes { name, bytes } => parse_axis(&name, &bytes, n_layers, hidden),
        AxisSource::Missing(why) => Err(why),
    };
    let (axis, axis_error) = match axis {
        Ok(a) => (Some(Rc::new(a)), None),
        Err(e) => (None, Some(e)),
    };
    let axis_info: Option<WireAxisInfo> = axis.as_deref().map(|a| WireAxisInfo {
        other_model: scoring::other_model_warning(a, &identity.sha256),
        ..scoring::axis_info(a)
    });
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.model = Some(Rc::new(model));
        s.axis = axis;
        s.identity = Some(identity);
    });
    let ready = FromWorker::Ready {
        backend,
        precision,
        device: device_name,
        resident_bytes: resident,
        n_layers,
        axis: axis_info,
        axis_error,
        from_cache,
        cache_error: cache_note,
        model: Some(info),
    };
    post(&ready);
    // Said again after a failed load: without the one-off cache notice.
    let mut kept = ready;
    if let FromWorker::Ready { cache_error, .. } = &mut kept {
        *cache_error = None;
    }
    STATE.with(|s| s.borrow_mut().ready = Some(kept));
    Ok(())
}

/// Runs the quick axis build; on success the worker uses the new axis at once and the page gets
/// the file (transferred, not copied) to offer as a download.
async fn build_axis(model: &ChatModel, identity: &ModelIdentity, size: QuickAxisSize, seed: u64) {
    let started = now_seconds();
    let plan = quick_axis::plan(size, &identity.name);
    let result = quick_axis::run(
        QuickModel {
            chat: model,
            id: &identity.id,
            sha256: &identity.sha256,
        },
        &plan,
        size,
        seed,
        |p| {
            post(&FromWorker::AxisProgress {
                answers_done: p.answers_done,
                answers_total: p.answers_total,
                tokens: p.tokens,
                seconds: now_seconds() - started,
            })
        },
        || async {
            yield_now().await;
            !STOP.with(|s| s.get())
        },
    )
    .await;
    let file = match result {
        Ok(file) => file,
        Err(e) => {
            post(&FromWorker::AxisBuildFailed {
                cancelled: matches!(e, QuickAxisError::Cancelled),
                message: e.to_string(),
            });
            return;
        }
    };
    let bytes = match file.to_bytes() {
        Ok(b) => b,
        Err(e) => {
            post(&FromWorker::AxisBuildFailed {
                message: format!("the axis could not be written: {e}"),
                cancelled: false,
            });
            return;
        }
    };
    let info = scoring::axis_info(&file);
    let tokens = file
        .meta
        .build
        .get("tokens")
        .and_then(|t| t.as_u64())
        .unwrap_or(0) as usize;
    let answers = plan.jobs.len();
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.axis = Some(Rc::new(file));
        // Said again after a failed load: the model kept then has this axis now.
        if let Some(FromWorker::Ready {
            axis, axis_error, ..
        }) = s.ready.as_mut()
        {
            *axis = Some(info.clone());
            *axis_error = None;
        }
    });
    let message = FromWorker::AxisBuilt {
        axis: info,
        file_name: format!("{}.axis.safetensors", identity.id),
        answers,
        tokens,
        seconds: now_seconds() - started,
        bytes: Vec::new(),
    };
    post_with_axis(&message, &bytes);
}

/// Posts `message` with a file beside it, transferred (protocol: `FromWorker::AxisBuilt`).
fn post_with_axis(message: &FromWorker, bytes: &[u8]) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let buffer = Uint8Array::from(bytes).buffer();
    let envelope = js_sys::Object::new();
    let sent = js_sys::Reflect::set(
        &envelope,
        &BYTES_MESSAGE.into(),
        &JsValue::from_str(&message.to_json()),
    )
    .and_then(|_| js_sys::Reflect::set(&envelope, &BYTES_AXIS.into(), &buffer))
    .and_then(|_| scope.post_message_with_transfer(&envelope, &js_sys::Array::of1(&buffer)));
    if let Err(e) = sent {
        post(&FromWorker::AxisBuildFailed {
            message: format!("the axis could not be handed to the page: {}", js_text(&e)),
            cancelled: false,
        });
    }
}

fn now_seconds() -> f64 {
    js_sys::Date::now() / 1000.0
}

/// Downloads and validates the axis file; every failure becomes a sentence for the page.
async fn load_axis(url: &str, n_layers: usize, hidden: usize) -> Result<AxisFile, String> {
    if let Some(bytes) = model_cache::read(url).await {
        match parse_axis(url, &bytes, n_layers, hidden) {
            Ok(axis) => return Ok(axis),
            // A stale cached axis: forget it and fetch the current one.
            Err(_) => model_cache::forget(url).await,
        }
    }
    let bytes = fetch_axis(url).await?;
    let axis = parse_axis(url, &bytes, n_layers, hidden)?;
    // Not being able to cache it only means the next visit downloads it again.
    let _ = model_cache::store(url, &bytes).await;
    Ok(axis)
}

fn parse_axis(url: &str, bytes: &[u8], n_layers: usize, hidden: usize) -> Result<AxisFile, String> {
    let axis = AxisFile::from_bytes(bytes).map_err(|e| format!("{url}: {e}"))?;
    axis.check_model(n_layers, hidden)
        .map_err(|e| format!("{url} does not fit the loaded model: {e}"))?;
    Ok(axis)
}

/// Applies the page's connection rule (`urls::connection_allowed`) to `url` before the worker
/// fetches it. The worker's own address gives the page's origin; its `name`, set by the page
/// when it created the worker, the origin of the model the page was opened with.
fn check_connection(scope: &DedicatedWorkerGlobalScope, url: &str) -> Result<(), String> {
    let here = js_sys::Reflect::get(scope, &JsValue::from_str("location"))
        .ok()
        .and_then(|l| js_sys::Reflect::get(&l, &JsValue::from_str("href")).ok())
        .and_then(|h| h.as_string())
        .ok_or_else(|| "the worker cannot read its own address".to_owned())?;
    let page = web_sys::Url::new(&here).map_err(|e| js_text(&e))?;
    let target = web_sys::Url::new_with_base(url, &here)
        .map_err(|_| format!("“{url}” is not an address the page can download from"))?;
    let chosen = scope.name();
    crate::urls::connection_allowed(
        url,
        &target.protocol(),
        &target.origin(),
        &page.origin(),
        (!chosen.is_empty()).then_some(chosen.as_str()),
    )
}

async fn fetch_axis(url: &str) -> Result<Vec<u8>, String> {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    check_connection(&scope, url)?;
    let response: Response = JsFuture::from(scope.fetch_with_str(url))
        .await
        .map_err(|e| format!("could not download the axis file {url}: {}", js_text(&e)))?
        .dyn_into()
        .map_err(|_| "fetch() did not return a Response".to_owned())?;
    if !response.ok() {
        return Err(format!(
            "the axis file {url} could not be downloaded (HTTP {}); answers are not scored and capping is off",
            response.status()
        ));
    }
    let buffer = response
        .array_buffer()
        .map_err(|e| format!("could not read the axis file: {}", js_text(&e)))?;
    let buffer = JsFuture::from(buffer)
        .await
        .map_err(|e| format!("could not read the axis file: {}", js_text(&e)))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// One short forward, so the first real answer does not pay for shader compilation.
async fn warm_up(model: &ChatModel) -> Result<(), String> {
    let prepared = model
        .model()
        .prepare(&Interventions::none())
        .map_err(|e| e.to_string())?;
    let request = GenerationRequest {
        prompt: model
            .prompt_tokens(&[ChatMessage::user("Hi")])
            .map_err(|e| e.to_string())?,
        max_new_tokens: 1,
        sampling: SamplingParams::greedy(),
        stop_tokens: model.stop_tokens(),
        earlier_answers: Vec::new(),
    };
    let mut generation = Generation::start(model.model(), &prepared, &request)
        .await
        .map_err(|e| e.to_string())?;
    generation.next().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// What one answer runs on.
struct Job<'a> {
    model: &'a ChatModel,
    axis: Option<&'a AxisFile>,
    capping: Option<&'a CapSetting>,
    steering: Option<f32>,
}

async fn generate(
    job: Job<'_>,
    id: u64,
    messages: &[WireMessage],
    settings: &WireGenerationSettings,
) -> Result<(), String> {
    let model = job.model;
    let started = js_sys::Date::now();
    let messages: Vec<ChatMessage> = messages
        .iter()
        .map(|m| ChatMessage {
            role: m.role.clone(),
            content: m.content.clone(),
        })
        .collect();
    // Context policy: drop the oldest turns rather than fail when the conversation grew too long.
    let fitted = model
        .fit_prompt(&messages, settings.max_new_tokens)
        .map_err(|e| e.to_string())?;
    let dropped_messages = fitted.dropped_messages;
    let prompt = fitted.tokens;
    let prompt_tokens = prompt.len();
    let request = GenerationRequest {
        prompt,
        max_new_tokens: settings.max_new_tokens,
        sampling: SamplingParams {
            temperature: settings.temperature,
            top_k: 0,
            top_p: settings.top_p,
            frequency_penalty: settings.frequency_penalty,
            echo_penalty: settings.echo_penalty,
            seed: settings.seed,
        },
        stop_tokens: model.stop_tokens(),
        earlier_answers: model
            .earlier_answers(&messages)
            .map_err(|e| e.to_string())?,
    };
    // Capping needs the axis; asking for it without one is an error, not a silent default.
    let steering = job.steering.filter(|a| *a != 0.0);
    let plan: Option<AxisPlan> = match (job.axis, job.capping, steering) {
        (Some(axis), capping, steering) => Some(scoring::plan(axis, capping, steering)?),
        (None, Some(_), _) => {
            return Err("capping needs the axis file, which is not loaded".into());
        }
        (None, None, Some(_)) => {
            return Err("steering needs the axis file, which is not loaded".into());
        }
        (None, None, None) => None,
    };
    let interventions = plan
        .as_ref()
        .map_or_else(Interventions::none, |p| p.interventions.clone());
    let prepared = model
        .model()
        .prepare(&interventions)
        .map_err(|e| e.to_string())?;
    let mut generation = Generation::start(model.model(), &prepared, &request)
        .await
        .map_err(|e| e.to_string())?;
    let mut decoder = model.stream_decoder();
    let mut text = String::new();
    let mut stop = "stopped".to_owned();
    let mut answer_ids = Vec::new();
    // Probe rows of the answer's tokens (the stop token has none: it is never fed back).
    let mut answer_probes: Vec<Vec<f32>> = Vec::new();
    // The text each answer token added, for the heatmap.
    let mut pieces: Vec<String> = Vec::new();
    // Time to the first token: prompt rendering, prefill and the first sample (what a visitor
    // waits before text appears); the rest is decode.
    let mut first_token_seconds = None;
    while let Some(token) = generation.next().await.map_err(|e| e.to_string())? {
        first_token_seconds.get_or_insert_with(|| (js_sys::Date::now() - started) / 1000.0);
        if let Some(StopReason::StopToken(_)) = token.stop {
            stop = "end of turn".into();
            break;
        }
        answer_ids.push(token.id);
        if let Some(p) = token.probes {
            answer_probes.push(p);
        }
        let piece = decoder.push(token.id);
        text.push_str(&piece);
        pieces.push(piece.clone());
        post(&FromWorker::Token {
            id,
            token: token.id,
            text: piece,
        });
        if token.stop == Some(StopReason::MaxTokens) {
            stop = "max tokens".into();
            break;
        }
        // Let the "stop" message in between tokens.
        yield_now().await;
        if STOP.with(Cell::get) {
            break;
        }
    }
    let tail = decoder.finish();
    if !tail.is_empty() {
        text.push_str(&tail);
        if let Some(last) = pieces.last_mut() {
            last.push_str(&tail);
        }
        post(&FromWorker::Token {
            id,
            token: u32::MAX,
            text: tail,
        });
    }
    let tokens = generation.generated();
    // Generation time only: the re-read for the Text score below is not part of the tok/s.
    let seconds = (js_sys::Date::now() - started) / 1000.0;
    let (score, token_scores) = match (&plan, job.axis) {
        (Some(plan), Some(axis)) => {
            let margin_rows = generation.prompt_probes().iter().chain(&answer_probes);
            let cap_margin = plan.cap_margin(margin_rows);
            drop(generation);
            let reread = reread_answer(model, axis, &request.prompt, &answer_ids).await?;
            let score = plan.score(&answer_probes).and_then(|activations| {
                let text = reread.reader.score(&reread.rows)?;
                Some(WireScore {
                    activations,
                    text,
                    cap_margin,
                    persona_activations: plan.persona(&answer_probes),
                    persona_text: reread.reader.persona(&reread.rows),
                })
            });
            let tokens = WireTokenScores {
                pieces,
                activations: plan.token_scores(&answer_probes),
                text: reread.reader.token_scores(&reread.rows),
            };
            (score, Some(tokens))
        }
        _ => (None, None),
    };
    post(&FromWorker::Done {
        id,
        text,
        stop,
        tokens,
        prompt_tokens,
        dropped_messages,
        seconds,
        first_token_seconds,
        score,
        token_scores,
        worker_memory_bytes: wasm_memory_bytes(),
    });
    Ok(())
}

/// The uncapped, unsteered model re-reading prompt + answer in one prefill: the "Text" view.
struct Reread {
    reader: AxisPlan,
    /// Probe rows of the answer's tokens.
    rows: Vec<Vec<f32>>,
}

/// For an uncapped answer the re-read sees what the generation saw, so the two scores must agree
/// up to rounding (the browser test checks this); it costs one prefill.
async fn reread_answer(
    model: &ChatModel,
    axis: &AxisFile,
    prompt: &[u32],
    answer_ids: &[u32],
) -> Result<Reread, String> {
    let reader = scoring::plan(axis, None, None)?;
    if answer_ids.is_empty() {
        return Ok(Reread {
            reader,
            rows: Vec::new(),
        });
    }
    let prepared = model
        .model()
        .prepare(&reader.interventions)
        .map_err(|e| e.to_string())?;
    let mut tokens = prompt.to_vec();
    tokens.extend_from_slice(answer_ids);
    yield_now().await;
    let read = score_tokens(model.model(), &prepared, &tokens)
        .await
        .map_err(|e| format!("re-reading the answer failed: {e}"))?;
    let rows = read.probes.get(prompt.len()..).unwrap_or(&[]).to_vec();
    Ok(Reread { reader, rows })
}

/// Fetches the model with progress events; refuses absurd sizes before allocating.
async fn download(url: &str) -> Result<Vec<u8>, String> {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    check_connection(&scope, url)?;
    let response: Response = JsFuture::from(scope.fetch_with_str(url))
        .await
        .map_err(|e| format!("could not download the model from {url}: {}", js_text(&e)))?
        .dyn_into()
        .map_err(|_| "fetch() did not return a Response".to_owned())?;
    if !response.ok() {
        return Err(format!(
            "could not download the model from {url}: HTTP {} {}",
            response.status(),
            response.status_text()
        ));
    }
    let total = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<f64>().ok());
    if let Some(t) = total
        && t > MAX_MODEL_BYTES
    {
        return Err(compat::too_large(&file_name(url), t));
    }
    let body = response.body().ok_or("the model response has no body")?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::with_capacity(total.unwrap_or(0.0) as usize);
    let mut last_report = 0.0;
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| format!("the download broke off: {}", js_text(&e)))?;
        let done = js_sys::Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if done {
            break;
        }
        let value: Uint8Array = js_sys::Reflect::get(&chunk, &"value".into())
            .map_err(|_| "the download returned a malformed chunk")?
            .unchecked_into();
        let offset = bytes.len();
        bytes.resize(offset + value.length() as usize, 0);
        value.copy_to(&mut bytes[offset..]);
        // Not a GGUF (an HTML page instead of the file…): say so now, not after the download.
        if offset < 8
            && let Some(refusal) = compat::refuse_early(&bytes, &file_name(url))
        {
            let _ = JsFuture::from(reader.cancel()).await;
            return Err(refusal);
        }
        if bytes.len() as f64 > MAX_MODEL_BYTES {
            return Err(compat::too_large(&file_name(url), bytes.len() as f64));
        }
        let loaded = bytes.len() as f64;
        if loaded - last_report > 1_000_000.0 {
            last_report = loaded;
            post(&FromWorker::Downloading { loaded, total });
        }
    }
    post(&FromWorker::Downloading {
        loaded: bytes.len() as f64,
        total,
    });
    Ok(bytes)
}

/// Resolves on the next turn of the worker's event loop.
async fn yield_now() {
    let promise = Promise::new(&mut |resolve, _reject| {
        let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        let _ = scope.set_timeout_with_callback(&resolve);
    });
    let _ = JsFuture::from(promise).await;
}

fn post(message: &FromWorker) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let _ = scope.post_message(&JsValue::from_str(&message.to_json()));
}

fn js_text(value: &JsValue) -> String {
    crate::platform::webgpu::js_error_text(value)
}

/// Size of this wasm instance's linear memory.
fn wasm_memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .map(|m| {
            m.buffer()
                .dyn_into::<js_sys::ArrayBuffer>()
                .map_or(0.0, |b| f64::from(b.byte_length()))
        })
        .unwrap_or(0.0)
}
