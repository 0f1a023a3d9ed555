//! The page side: starts the worker and turns its messages into callbacks.

use std::cell::RefCell;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

use super::protocol::{FromWorker, ToWorker};
use super::threads::WorkerModule;

thread_local! {
    // The worker handle is not `Send`, so it lives here rather than in a signal.
    pub(crate) static WORKER: RefCell<Option<WorkerClient>> = const { RefCell::new(None) };
}

/// The worker script, next to index.html (copied there by Trunk).
const WORKER_SCRIPT: &str = "./worker.js";

pub struct WorkerClient {
    worker: Worker,
    /// The module build it runs (a CPU load may want the threaded one: `session::load_model`).
    module: WorkerModule,
    // Kept alive as long as the client: the worker calls them.
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl WorkerClient {
    /// Starts the worker: `on_event` gets its messages, `on_crash` the browser's error when the
    /// worker dies (an uncaught exception, a trap in the wasm module).
    pub fn spawn(
        module: WorkerModule,
        on_event: impl Fn(FromWorker) + 'static,
        on_crash: impl Fn(String) + 'static,
    ) -> Result<WorkerClient, String> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        // The worker applies the page's connection rule itself (`urls::connection_allowed`): its
        // name carries the one other origin the page's policy allows, fixed for its lifetime.
        options.set_name(&crate::byo::browser::allowed_origin().unwrap_or_default());
        let script = format!(
            "{WORKER_SCRIPT}{}",
            module.script_query(super::threads::AskedWebgpuShapes::from_query(
                &super::threads::page_query(),
            ))
        );
        let worker = Worker::new_with_options(&script, &options).map_err(|e| {
            format!(
                "the inference worker could not start: {}",
                crate::platform::webgpu::js_error_text(&e)
            )
        })?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            let (text, bytes) = match data.as_string() {
                Some(text) => (text, None),
                None => match unpack_envelope(&data) {
                    Some(unpacked) => unpacked,
                    None => return,
                },
            };
            match serde_json::from_str::<FromWorker>(&text) {
                Ok(mut message) => {
                    if let (FromWorker::AxisBuilt { bytes: into, .. }, Some(b)) =
                        (&mut message, bytes)
                    {
                        *into = b;
                    }
                    on_event(message)
                }
                Err(e) => on_event(FromWorker::Failed {
                    id: None,
                    message: format!("unreadable message from the worker: {e}"),
                }),
            }
        });
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            on_crash(event.message());
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(WorkerClient {
            worker,
            module,
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    pub fn module(&self) -> WorkerModule {
        self.module
    }

    pub fn send(&self, message: &ToWorker) -> Result<(), String> {
        self.worker
            .post_message(&JsValue::from_str(&message.to_json()))
            .map_err(|e| {
                format!(
                    "could not reach the worker: {}",
                    crate::platform::webgpu::js_error_text(&e)
                )
            })
    }
}

impl WorkerClient {
    /// Sends a message that carries file contents (`ToWorker::LoadBytes`): a JS object with the
    /// message as JSON and the buffers, which are transferred, not copied (protocol doc).
    pub fn send_bytes(
        &self,
        message: &ToWorker,
        model: &js_sys::ArrayBuffer,
        axis: Option<&js_sys::ArrayBuffer>,
    ) -> Result<(), String> {
        use super::protocol::{BYTES_AXIS, BYTES_MESSAGE, BYTES_MODEL};
        let envelope = js_sys::Object::new();
        let transfer = js_sys::Array::new();
        let set = |key: &str, value: &JsValue| js_sys::Reflect::set(&envelope, &key.into(), value);
        let built = set(BYTES_MESSAGE, &JsValue::from_str(&message.to_json()))
            .and_then(|_| set(BYTES_MODEL, model));
        transfer.push(model);
        let built = match axis {
            Some(a) => {
                transfer.push(a);
                built.and_then(|_| set(BYTES_AXIS, a))
            }
            None => built,
        };
        built
            .and_then(|_| self.worker.post_message_with_transfer(&envelope, &transfer))
            .map_err(|e| {
                format!(
                    "could not hand the file to the worker: {}",
                    crate::platform::webgpu::js_error_text(&e)
                )
            })
    }
}

/// A message that carries a file (`FromWorker::AxisBuilt`): `{ message: JSON, axis: ArrayBuffer }`.
fn unpack_envelope(data: &JsValue) -> Option<(String, Option<Vec<u8>>)> {
    use super::protocol::{BYTES_AXIS, BYTES_MESSAGE};
    let text = js_sys::Reflect::get(data, &BYTES_MESSAGE.into())
        .ok()?
        .as_string()?;
    let bytes = js_sys::Reflect::get(data, &BYTES_AXIS.into())
        .ok()
        .and_then(|b| b.dyn_into::<js_sys::ArrayBuffer>().ok())
        .map(|b| js_sys::Uint8Array::new(&b).to_vec());
    Some((text, bytes))
}

impl Drop for WorkerClient {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}
