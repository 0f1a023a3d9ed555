//! The worker side: loads the model and streams answers, one at a time.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use engine::chat::{ChatMessage, ChatModel};
use engine::device::{self, Device};
use engine::generation::{Generation, GenerationRequest, SamplingParams, StopReason};
use engine::model::{Interventions, WeightMode};
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, ReadableStreamDefaultReader, Response};

use super::protocol::{
    Backend, FromWorker, Precision, ToWorker, WireGenerationSettings, WireMessage,
};

/// Larger files are refused before downloading: they would not fit in a tab anyway.
const MAX_MODEL_BYTES: f64 = 2.0 * 1024.0 * 1024.0 * 1024.0;

#[derive(Default)]
struct HostState {
    model: Option<Rc<ChatModel>>,
    webgpu: Option<Device>,
    busy: bool,
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
        let Some(text) = event.data().as_string() else {
            post(&FromWorker::Failed {
                id: None,
                message: "the worker received a non-text message".into(),
            });
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

fn handle(message: ToWorker) {
    match message {
        ToWorker::Stop => STOP.with(|s| s.set(true)),
        ToWorker::Load {
            model_url,
            backend,
            precision,
        } => {
            if !try_begin() {
                post(&FromWorker::Failed {
                    id: None,
                    message: "the worker is busy; wait for it to finish".into(),
                });
                return;
            }
            spawn_local(async move {
                if let Err(message) = load(&model_url, backend, precision).await {
                    post(&FromWorker::Failed { id: None, message });
                }
                end();
            });
        }
        ToWorker::Generate {
            id,
            messages,
            settings,
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
            STOP.with(|s| s.set(false));
            spawn_local(async move {
                if let Err(message) = generate(&model, id, &messages, &settings).await {
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

async fn load(url: &str, backend: Backend, precision: Precision) -> Result<(), String> {
    let bytes = download(url).await?;
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
    let mode = match precision {
        Precision::F32 => WeightMode::F32,
        Precision::Quantized => WeightMode::Quantized,
    };
    // Drop any previous model first so two never sit in memory at once.
    STATE.with(|s| s.borrow_mut().model = None);
    let model = ChatModel::load(&bytes, mode, &device)
        .map_err(|e| format!("the model could not be loaded: {e}"))?;
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
    STATE.with(|s| s.borrow_mut().model = Some(Rc::new(model)));
    post(&FromWorker::Ready {
        backend,
        precision,
        device: device_name,
        resident_bytes: resident,
        n_layers,
    });
    Ok(())
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
    };
    let mut generation = Generation::start(model.model(), &prepared, &request)
        .await
        .map_err(|e| e.to_string())?;
    generation.next().await.map_err(|e| e.to_string())?;
    Ok(())
}

async fn generate(
    model: &ChatModel,
    id: u64,
    messages: &[WireMessage],
    settings: &WireGenerationSettings,
) -> Result<(), String> {
    let started = js_sys::Date::now();
    let messages: Vec<ChatMessage> = messages
        .iter()
        .map(|m| ChatMessage {
            role: m.role.clone(),
            content: m.content.clone(),
        })
        .collect();
    let prompt = model.prompt_tokens(&messages).map_err(|e| e.to_string())?;
    let prompt_tokens = prompt.len();
    let request = GenerationRequest {
        prompt,
        max_new_tokens: settings.max_new_tokens,
        sampling: SamplingParams {
            temperature: settings.temperature,
            top_k: 0,
            top_p: settings.top_p,
            frequency_penalty: settings.frequency_penalty,
            seed: settings.seed,
        },
        stop_tokens: model.stop_tokens(),
    };
    let prepared = model
        .model()
        .prepare(&Interventions::none())
        .map_err(|e| e.to_string())?;
    let mut generation = Generation::start(model.model(), &prepared, &request)
        .await
        .map_err(|e| e.to_string())?;
    let mut decoder = model.stream_decoder();
    let mut text = String::new();
    let mut stop = "stopped".to_owned();
    while let Some(token) = generation.next().await.map_err(|e| e.to_string())? {
        if let Some(StopReason::StopToken(_)) = token.stop {
            stop = "end of turn".into();
            break;
        }
        let piece = decoder.push(token.id);
        text.push_str(&piece);
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
        post(&FromWorker::Token {
            id,
            token: u32::MAX,
            text: tail,
        });
    }
    post(&FromWorker::Done {
        id,
        text,
        stop,
        tokens: generation.generated(),
        prompt_tokens,
        seconds: (js_sys::Date::now() - started) / 1000.0,
    });
    Ok(())
}

/// Fetches the model with progress events; refuses absurd sizes before allocating.
async fn download(url: &str) -> Result<Vec<u8>, String> {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
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
        return Err(format!(
            "the model file is {:.1} GB; this page handles files up to 2 GB",
            t / 1e9
        ));
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
        if bytes.len() as f64 > MAX_MODEL_BYTES {
            return Err("the model file is larger than 2 GB; this page cannot hold it".into());
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
