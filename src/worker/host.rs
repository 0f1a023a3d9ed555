//! The worker side, the browser's part: hears the page's messages, downloads and caches files,
//! yields to the event loop and posts what the answerer emits (`answerer`: loading from bytes,
//! answering, re-reading and scoring, building an axis). One job runs at a time.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use engine::axis::AxisFile;
use engine::chat::ChatModel;
use engine::device::{self, Device, MatvecShape, PromptPass, WebgpuShapes};
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, ReadableStreamDefaultReader, Response};

use super::threads::AskedWebgpuShapes;
use crate::backend_choice::GpuOffer;

use super::answerer::{
    self, AxisSource, Host, Job, LoadError, LoadHost, LoadOptions, ModelIdentity, file_name,
    parse_axis,
};
use super::compat::{self, MAX_MODEL_BYTES};
use super::model_cache;
use super::protocol::{
    BYTES_AXIS, BYTES_MESSAGE, BYTES_MODEL, Backend, FromWorker, Precision, ToWorker, WireAxisInfo,
};
use super::quick_axis::QuickAxisSize;
use super::threads::{cpu_label, cpu_threads};

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

/// Called by `worker.js` when the WebGPU device burn asked for is lost (`GPUDevice.lost`): the
/// page restarts the engine on the CPU and keeps the conversation.
#[wasm_bindgen]
pub fn worker_device_lost(reason: String, message: String) {
    post(&FromWorker::DeviceLost { reason, message });
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
                if let Some(file) =
                    answerer::build_axis(&Worker, &model, &identity, size, seed).await
                {
                    use_built_axis(file);
                }
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
        ToWorker::Generate(request) => {
            let id = request.id;
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
                };
                if let Err(message) = answerer::generate(&Worker, job, &request).await {
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

/// The compatibility check, then the heavy load (`answerer::load`); a file from the cache that
/// turns out unusable is removed from it, so that the next attempt downloads a fresh one.
async fn load_from_bytes(
    bytes: Vec<u8>,
    source: ModelSource,
    axis: AxisSource,
    backend: Backend,
    precision: Precision,
) -> Result<(), String> {
    let host = Loading(&source);
    let options = LoadOptions { backend, precision };
    let loaded = match answerer::load(&host, bytes, &source.name, options, axis).await {
        Ok(loaded) => loaded,
        Err(LoadError::Refused(e)) if source.from_cache && source.cache_url.is_some() => {
            if let Some(url) = &source.cache_url {
                model_cache::forget(url).await;
            }
            return Err(format!(
                "the copy of the model cached in this browser is not usable ({e}); it has been removed: load again to download it"
            ));
        }
        // A cached copy that no longer loads (e.g. written by an older page).
        Err(LoadError::Unloadable(e)) if source.from_cache => {
            if let Some(url) = &source.cache_url {
                model_cache::forget(url).await;
            }
            return Err(format!(
                "the copy of the model cached in this browser could not be loaded ({e}); it has been removed: load again to download it"
            ));
        }
        Err(e) => return Err(e.to_string()),
    };
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.model = Some(Rc::new(loaded.model));
        s.axis = loaded.axis.map(Rc::new);
        s.identity = Some(loaded.identity);
        s.ready = Some(loaded.ready);
    });
    Ok(())
}

/// The browser as the answerer sees it while answering or building an axis.
struct Worker;

impl Host for Worker {
    fn emit(&self, mut event: FromWorker) {
        // The file of a quick build goes beside the message, transferred (protocol doc).
        if let FromWorker::AxisBuilt { bytes, .. } = &mut event {
            let bytes = std::mem::take(bytes);
            post_with_axis(&event, &bytes);
        } else {
            post(&event);
        }
    }

    async fn pause(&self) -> bool {
        yield_now().await;
        !STOP.with(Cell::get)
    }

    fn now_seconds(&self) -> f64 {
        now_seconds()
    }

    fn memory_bytes(&self) -> f64 {
        wasm_memory_bytes()
    }
}

/// The browser as the answerer sees it while loading the model from `source`.
struct Loading<'a>(&'a ModelSource);

impl Host for Loading<'_> {
    fn emit(&self, event: FromWorker) {
        Worker.emit(event);
    }

    async fn pause(&self) -> bool {
        Worker.pause().await
    }

    fn now_seconds(&self) -> f64 {
        now_seconds()
    }

    fn memory_bytes(&self) -> f64 {
        wasm_memory_bytes()
    }
}

/// How this worker's WebGPU device shapes its work: what a test asked for with the page's
/// `?matvec=` and `?prompt-pass=` (passed on in the worker's address), else what suits the
/// adapter — a GPU or a software emulation of one. An adapter that cannot be asked for is taken
/// as a GPU (burn's own request then says what is wrong).
async fn webgpu_shapes(scope: &DedicatedWorkerGlobalScope) -> WebgpuShapes {
    let query = js_sys::Reflect::get(scope, &JsValue::from_str("location"))
        .ok()
        .and_then(|l| js_sys::Reflect::get(&l, &JsValue::from_str("search")).ok())
        .and_then(|search| search.as_string())
        .unwrap_or_default();
    let asked = AskedWebgpuShapes::from_query(&query);
    if let Some(shapes) = asked.both() {
        return shapes;
    }
    let software = crate::platform::webgpu::probe().await.offer() == GpuOffer::Software;
    asked.or(WebgpuShapes::for_adapter(software))
}

/// The model panel's device name; for quantized weights with the shapes of the engine's
/// kernels that read them (the bench reads it too). f32 weights run burn's matmul whatever the
/// adapter.
fn webgpu_label(precision: Precision) -> String {
    if precision == Precision::F32 {
        return "WebGPU (burn wgpu)".to_owned();
    }
    let shapes = device::webgpu_shapes();
    let shape = match shapes.matvec {
        MatvecShape::Cooperative => "mat-vec: 4 units per row",
        MatvecShape::RowPerUnit => "mat-vec: one unit per row",
    };
    let prompt = match shapes.prompt {
        PromptPass::Batched => "prompt: batched",
        PromptPass::TokenByToken => "prompt: token by token",
    };
    format!("WebGPU (burn wgpu; {shape}, {prompt})")
}

impl LoadHost for Loading<'_> {
    fn loaded_from_cache(&self) -> bool {
        self.0.from_cache
    }

    async fn device(&self, options: LoadOptions) -> Result<(Device, String), String> {
        Ok(match options.backend {
            Backend::Cpu => (device::cpu(), cpu_label(cpu_threads())),
            Backend::WebGpu => {
                let existing = STATE.with(|s| s.borrow().webgpu.clone());
                let device = match existing {
                    Some(d) => d,
                    None => {
                        let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
                        let d = device::webgpu(webgpu_shapes(&scope).await).await?;
                        STATE.with(|s| s.borrow_mut().webgpu = Some(d.clone()));
                        d
                    }
                };
                (device, webgpu_label(options.precision))
            }
        })
    }

    fn release_previous(&self) {
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            s.model = None;
            s.axis = None;
            s.ready = None;
            s.identity = None;
        });
    }

    async fn keep_copy(&self, bytes: &[u8]) -> Option<String> {
        match (&self.0.cache_url, self.0.from_cache) {
            (Some(url), false) => {
                post(&FromWorker::Preparing {
                    step: "Keeping a copy in this browser's cache for next time".into(),
                });
                model_cache::store(url, bytes).await.err()
            }
            _ => None,
        }
    }

    async fn fetch_axis(
        &self,
        url: &str,
        n_layers: usize,
        hidden: usize,
    ) -> Result<AxisFile, String> {
        load_axis(url, n_layers, hidden).await
    }
}

/// A quick build finished: the worker scores and caps with its axis from now on.
fn use_built_axis(file: AxisFile) {
    let info = WireAxisInfo::of(&file, None);
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.axis = Some(Rc::new(file));
        // Said again after a failed load: the model kept then has this axis now.
        if let Some(FromWorker::Ready {
            axis, axis_error, ..
        }) = s.ready.as_mut()
        {
            *axis = Some(info);
            *axis_error = None;
        }
    });
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
    // An `ArrayBuffer`, or in the threaded module a `SharedArrayBuffer`: both have `byteLength`.
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| js_sys::Reflect::get(&m.buffer(), &"byteLength".into()).ok())
        .and_then(|length| length.as_f64())
        .unwrap_or(0.0)
}
