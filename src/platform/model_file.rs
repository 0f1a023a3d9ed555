//! Checks that the model file is reachable and how large it is (a HEAD request; no download).

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, Response};

use super::webgpu::js_error_text;

#[derive(Clone, Debug, PartialEq)]
pub enum ModelFileStatus {
    Checking,
    /// Reachable; the size comes from Content-Length when the server sends it.
    Found {
        bytes: Option<f64>,
    },
    Missing(String),
}

impl ModelFileStatus {
    pub fn state_name(&self) -> &'static str {
        match self {
            ModelFileStatus::Checking => "checking",
            ModelFileStatus::Found { .. } => "found",
            ModelFileStatus::Missing(_) => "missing",
        }
    }

    pub fn describe(&self, model_name: &str) -> String {
        match self {
            ModelFileStatus::Checking => format!("Model {model_name}: checking…"),
            ModelFileStatus::Found { bytes: Some(b) } => {
                format!(
                    "Model {model_name}: file found ({:.1} MB), not loaded yet",
                    b / 1e6
                )
            }
            ModelFileStatus::Found { bytes: None } => {
                format!("Model {model_name}: file found, not loaded yet")
            }
            ModelFileStatus::Missing(why) => format!("Model {model_name}: {why}"),
        }
    }
}

pub async fn probe(url: &str) -> ModelFileStatus {
    match head(url).await {
        Ok(status) => status,
        Err(why) => ModelFileStatus::Missing(why),
    }
}

async fn head(url: &str) -> Result<ModelFileStatus, String> {
    let window = web_sys::window().ok_or("there is no window object.")?;
    let init = RequestInit::new();
    init.set_method("HEAD");
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|e| format!("could not reach {url}: {}", js_error_text(&e)))?
        .dyn_into()
        .map_err(|_| "fetch() did not return a Response.".to_owned())?;
    if !response.ok() {
        return Err(format!(
            "{url} answered HTTP {} — run `cargo xtask fetch-model` (or check the URL).",
            response.status()
        ));
    }
    let bytes = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<f64>().ok());
    Ok(ModelFileStatus::Found { bytes })
}
