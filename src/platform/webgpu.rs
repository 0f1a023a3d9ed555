//! Asks the browser for a WebGPU adapter and describes it.
//!
//! This goes through `navigator.gpu` with `js_sys::Reflect` rather than web-sys' WebGPU bindings,
//! which are behind `--cfg web_sys_unstable_apis`; all we need here are a few fields.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::backend_choice::GpuOffer;

/// What the page found out about WebGPU.
#[derive(Clone, Debug, PartialEq)]
pub enum WebGpuStatus {
    Checking,
    Available(AdapterSummary),
    /// No WebGPU: the reason, in words a visitor understands.
    Unavailable(String),
}

/// The adapter facts that decide how the engine can run.
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterSummary {
    pub vendor: String,
    pub architecture: String,
    pub description: String,
    /// A software adapter (e.g. SwiftShader): correct but slow.
    pub is_fallback: bool,
    pub shader_f16: bool,
    pub max_storage_binding_bytes: f64,
    pub max_buffer_bytes: f64,
}

impl WebGpuStatus {
    /// What this offers for choosing a backend (see `backend_choice::default_backend`).
    pub fn offer(&self) -> GpuOffer {
        match self {
            WebGpuStatus::Checking => GpuOffer::Checking,
            WebGpuStatus::Unavailable(_) => GpuOffer::Nothing,
            WebGpuStatus::Available(a) if a.is_fallback => GpuOffer::Software,
            WebGpuStatus::Available(_) => GpuOffer::Hardware,
        }
    }

    pub fn state_name(&self) -> &'static str {
        match self {
            WebGpuStatus::Checking => "checking",
            WebGpuStatus::Available(_) => "available",
            WebGpuStatus::Unavailable(_) => "unavailable",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            WebGpuStatus::Checking => "WebGPU: checking…".to_owned(),
            WebGpuStatus::Available(a) => format!("WebGPU: {}", a.describe()),
            WebGpuStatus::Unavailable(why) => {
                format!("WebGPU unavailable: {why} The model will run on the CPU instead.")
            }
        }
    }
}

impl AdapterSummary {
    pub fn describe(&self) -> String {
        // SwiftShader reports vendor "google" and architecture "swiftshader" with no description.
        let mut parts: Vec<&str> = Vec::new();
        for part in [&self.description, &self.vendor, &self.architecture] {
            if !part.is_empty() && !parts.contains(&part.as_str()) {
                parts.push(part);
            }
        }
        let name = if parts.is_empty() {
            "unnamed adapter".to_owned()
        } else {
            parts.join(" ")
        };
        let kind = if self.is_fallback {
            "software fallback adapter"
        } else {
            "hardware adapter"
        };
        let f16 = if self.shader_f16 {
            "shader-f16"
        } else {
            "no shader-f16"
        };
        format!(
            "{name} ({kind}; max buffer {}; {f16})",
            format_bytes(self.max_buffer_bytes.min(self.max_storage_binding_bytes))
        )
    }
}

pub fn format_bytes(bytes: f64) -> String {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes >= GIB {
        format!("{:.1} GiB", bytes / GIB)
    } else {
        format!("{:.0} MiB", bytes / MIB)
    }
}

/// Requests an adapter and summarises it, in the page or in a worker. Never panics: every
/// failure becomes `Unavailable`.
pub async fn probe() -> WebGpuStatus {
    match request_adapter().await {
        Ok(summary) => WebGpuStatus::Available(summary),
        Err(why) => WebGpuStatus::Unavailable(why),
    }
}

async fn request_adapter() -> Result<AdapterSummary, String> {
    // The page and the inference worker both ask: `navigator` of whichever global runs this.
    let global = js_sys::global();
    let gpu = get(&get(&global, "navigator"), "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return Err(
            "this browser does not expose navigator.gpu (WebGPU is off or not supported)."
                .to_owned(),
        );
    }
    // The page's loader (www/page-loader.js) may have asked already, to choose the module it
    // loads: take its answer rather than ask a second time.
    let asked = get(&global, "axisAdapterRequest").dyn_into::<Promise>();
    let promise: Promise = match asked {
        Ok(promise) => promise,
        Err(_) => {
            let request: Function = get(&gpu, "requestAdapter")
                .dyn_into()
                .map_err(|_| "navigator.gpu.requestAdapter is not a function.".to_owned())?;
            request
                .call0(&gpu)
                .map_err(|e| format!("requestAdapter() threw: {}", js_error_text(&e)))?
                .dyn_into()
                .map_err(|_| "requestAdapter() did not return a promise.".to_owned())?
        }
    };
    let adapter = JsFuture::from(promise)
        .await
        .map_err(|e| format!("requestAdapter() failed: {}", js_error_text(&e)))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err(
            "the browser has WebGPU but offered no adapter (no usable GPU or it is blocked)."
                .to_owned(),
        );
    }

    let info = get(&adapter, "info");
    let limits = get(&adapter, "limits");
    let features = get(&adapter, "features");
    // `isFallbackAdapter` moved from the adapter to `adapter.info`; read both.
    let is_fallback = get(&info, "isFallbackAdapter")
        .as_bool()
        .or_else(|| get(&adapter, "isFallbackAdapter").as_bool())
        .unwrap_or(false);
    Ok(AdapterSummary {
        vendor: get_string(&info, "vendor"),
        architecture: get_string(&info, "architecture"),
        description: get_string(&info, "description"),
        is_fallback,
        shader_f16: set_has(&features, "shader-f16"),
        max_storage_binding_bytes: get(&limits, "maxStorageBufferBindingSize")
            .as_f64()
            .unwrap_or(0.0),
        max_buffer_bytes: get(&limits, "maxBufferSize").as_f64().unwrap_or(0.0),
    })
}

fn get(target: &JsValue, key: &str) -> JsValue {
    if target.is_undefined() || target.is_null() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn get_string(target: &JsValue, key: &str) -> String {
    get(target, key).as_string().unwrap_or_default()
}

fn set_has(set: &JsValue, key: &str) -> bool {
    let Ok(has) = get(set, "has").dyn_into::<Function>() else {
        return false;
    };
    has.call1(set, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

pub fn js_error_text(err: &JsValue) -> String {
    if let Some(s) = err.as_string() {
        return s;
    }
    let message = get(err, "message");
    message.as_string().unwrap_or_else(|| format!("{err:?}"))
}
