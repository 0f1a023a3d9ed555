//! Bring your own model: which model the page loads (the shipped one, one at a URL, or a file
//! from the visitor's computer), the checks on a typed URL, and the page's address.
//!
//! A URL model lives in the address as `?model=<url>`, so a reload and a shared link keep it.
//! `www/csp.js` allows connections to that URL's origin only when the page loads, so a model on
//! a new origin is loaded by navigating to `?model=<url>&autoload=1`: the fresh page consumes
//! `autoload` (removes it from the address) and starts the load by itself.

use crate::urls::{DEFAULT_MODEL_NAME, DEFAULT_MODEL_URL};

/// Where the next load takes the model from.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelSource {
    /// The model shipped with the page (`urls::DEFAULT_MODEL_URL`).
    Default,
    /// `?model=<url>` (absolute, or relative to the page).
    Url(String),
    /// A file from the visitor's computer (kept as a `File` in `browser::LOCAL`), with the
    /// optional axis file chosen beside it.
    Local {
        name: String,
        bytes: f64,
        axis_name: Option<String>,
    },
}

impl ModelSource {
    /// What the page calls the model before it has read the file's own name.
    pub fn display_name(&self) -> String {
        match self {
            ModelSource::Default => DEFAULT_MODEL_NAME.to_owned(),
            ModelSource::Url(url) => file_name(url),
            ModelSource::Local { name, .. } => name.clone(),
        }
    }

    /// The model file's name without `.gguf` (what its axis file is named after).
    pub fn stem(&self) -> String {
        let name = match self {
            ModelSource::Default => file_name(DEFAULT_MODEL_URL),
            ModelSource::Url(url) => file_name(url),
            ModelSource::Local { name, .. } => name.clone(),
        };
        name.strip_suffix(".gguf").unwrap_or(&name).to_owned()
    }
}

/// `tiny.gguf` from `https://host/x/tiny.gguf?download=1`.
pub fn file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/')
        .find(|p| !p.is_empty())
        .unwrap_or(path)
        .to_owned()
}

/// Checks an address typed into the "model URL" field: http(s) only, with a host, no spaces.
/// A Hugging Face `blob` page address is turned into its `resolve` (file) address. Returns the
/// URL to load, or a sentence saying what is wrong.
pub fn check_model_url(input: &str) -> Result<String, String> {
    let url = input.trim();
    if url.is_empty() {
        return Err(
            "Enter the address of a .gguf file, e.g. https://huggingface.co/<user>/<repo>/resolve/main/<file>.gguf"
                .to_owned(),
        );
    }
    let lower = url.to_ascii_lowercase();
    let rest = if let Some(r) = lower.strip_prefix("https://") {
        r
    } else if let Some(r) = lower.strip_prefix("http://") {
        r
    } else {
        return Err(format!(
            "“{url}” is not an http:// or https:// address; only those can be loaded (for a file on your computer, choose or drop it below)."
        ));
    };
    if url.chars().any(char::is_whitespace) {
        return Err("The address contains spaces; paste it again without them.".to_owned());
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err(format!("“{url}” names no host."));
    }
    let scheme_len = url.len() - rest.len();
    let host_name = host.rsplit('@').next().unwrap_or(host);
    let host_name = host_name.split(':').next().unwrap_or(host_name);
    if host_name == "huggingface.co" || host_name == "hf.co" {
        let path_start = scheme_len + host.len();
        let (head, path) = url.split_at(path_start);
        if let Some(i) = path.find("/blob/") {
            return Ok(format!(
                "{head}{}/resolve/{}",
                &path[..i],
                &path[i + "/blob/".len()..]
            ));
        }
    }
    Ok(url.to_owned())
}

/// Checks `?model=` in the page's address like a typed URL: a path on this site (no scheme,
/// e.g. `models/other.gguf`) or an address [`check_model_url`] accepts. Anything else (`data:`,
/// `javascript:`, `file:`…) is refused with the reason.
pub fn check_model_param(value: &str) -> Result<String, String> {
    let v = value.trim();
    let scheme = v
        .split_once(':')
        .map(|(s, _)| s)
        .filter(|s| !s.contains(['/', '?', '#']));
    match scheme {
        None if !v.is_empty() && !v.starts_with("//") && !v.chars().any(char::is_whitespace) => {
            Ok(v.to_owned())
        }
        _ => check_model_url(v),
    }
}

/// What an `autoload=1` in the address does. The page itself adds it when the visitor asks for
/// a model on another site (the page reloads to allow that origin) and leaves the same URL in
/// this tab's session storage; a link from anywhere else may carry `autoload=1` too, and must
/// not start a download of someone else's choosing without a click.
#[derive(Debug, Clone, PartialEq)]
pub enum Autoload {
    /// Load now: the visitor asked for exactly this model in this tab.
    Load,
    /// Wait for a click, saying why.
    Ask(String),
    /// No `autoload` in the address.
    No,
}

pub fn autoload_decision(autoload: bool, asked_for: Option<&str>, model: Option<&str>) -> Autoload {
    match (autoload, model) {
        (false, _) => Autoload::No,
        (true, Some(m)) if asked_for == Some(m) => Autoload::Load,
        (true, Some(m)) => Autoload::Ask(format!(
            "This link asks to load the model “{}” from {}. Nothing is downloaded until you press “Load model”.",
            file_name(m),
            m.split('/').take(3).collect::<Vec<_>>().join("/")
        )),
        (true, None) => Autoload::Ask(
            "Press “Load model” to download the model (links do not start downloads by themselves)."
                .to_owned(),
        ),
    }
}

#[cfg(target_arch = "wasm32")]
pub mod browser {
    //! The page's address, the local files, and sending a local file to the worker.

    use std::cell::RefCell;

    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{File, UrlSearchParams};

    use crate::platform::webgpu::js_error_text;

    /// The model to load: `?model=<url>` in the page's address, else the shipped model.
    pub fn model_url() -> String {
        model_url_param().unwrap_or_else(|| crate::urls::DEFAULT_MODEL_URL.to_owned())
    }

    /// `?model=<url>` in the page's address, if set and an address the page accepts
    /// (`byo::check_model_param`; `byo` sets and clears it).
    pub fn model_url_param() -> Option<String> {
        web_sys::window()
            .and_then(|w| w.location().search().ok())
            .and_then(|q| web_sys::UrlSearchParams::new_with_str(&q).ok())
            .and_then(|p| p.get("model"))
            .filter(|u| !u.trim().is_empty())
            .and_then(|u| super::check_model_param(&u).ok())
    }

    thread_local! {
        /// The chosen local model file and its optional axis file.
        static LOCAL: RefCell<Option<(File, Option<File>)>> = const { RefCell::new(None) };
        /// The origin of `?model=` when the page loaded: the one `csp.js` allowed.
        static ALLOWED_ORIGIN: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    /// Where this tab remembers the model URL the visitor asked for before the page reloaded.
    const ASKED_KEY: &str = "assistant-axis-autoload";

    /// At startup: remembers which model origin the page's policy allows, and consumes
    /// `autoload=1`: `(load now, a notice for the visitor)`. The notice also says when
    /// `?model=` is an address the page refuses (and so falls back to the bundled model).
    pub fn init() -> (bool, Option<String>) {
        let origin = model_url_param().and_then(|u| origin_of(&u));
        ALLOWED_ORIGIN.with(|o| *o.borrow_mut() = origin);
        let refused = params()
            .and_then(|p| p.get("model"))
            .filter(|u| !u.trim().is_empty())
            .and_then(|u| super::check_model_param(&u).err())
            .map(|why| format!("The page's address asks for a model it cannot load: {why} The bundled model is offered instead."));
        let autoload = params().is_some_and(|p| p.get("autoload").as_deref() == Some("1"));
        if autoload {
            set_params(|p| p.delete("autoload"));
        }
        let storage = web_sys::window().and_then(|w| w.session_storage().ok().flatten());
        let asked = storage
            .as_ref()
            .and_then(|s| s.get_item(ASKED_KEY).ok().flatten());
        if let Some(s) = &storage {
            let _ = s.remove_item(ASKED_KEY);
        }
        let model = model_url_param();
        match super::autoload_decision(autoload, asked.as_deref(), model.as_deref()) {
            super::Autoload::Load => (true, refused),
            super::Autoload::Ask(why) => (false, refused.or(Some(why))),
            super::Autoload::No => (false, refused),
        }
    }

    fn params() -> Option<UrlSearchParams> {
        let search = web_sys::window()?.location().search().ok()?;
        UrlSearchParams::new_with_str(&search).ok()
    }

    fn page_origin() -> Option<String> {
        web_sys::window()?.location().origin().ok()
    }

    fn origin_of(url: &str) -> Option<String> {
        let base = web_sys::window()?.location().href().ok()?;
        web_sys::Url::new_with_base(url, &base)
            .ok()
            .map(|u| u.origin())
    }

    /// The address with its query changed by `f`, fragment kept.
    fn address_with(f: impl FnOnce(&UrlSearchParams)) -> Option<String> {
        let location = web_sys::window()?.location();
        let params = params()?;
        f(&params);
        let query = String::from(params.to_string());
        let path = location.pathname().ok()?;
        let hash = location.hash().ok().unwrap_or_default();
        Some(if query.is_empty() {
            format!("{path}{hash}")
        } else {
            format!("{path}?{query}{hash}")
        })
    }

    /// Changes the query without reloading or adding a history entry.
    pub fn set_params(f: impl FnOnce(&UrlSearchParams)) {
        let Some(address) = address_with(f) else {
            return;
        };
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ =
                history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&address));
        }
    }

    /// The origin of `?model=` when the page loaded (the one `csp.js` allowed), if any.
    pub fn allowed_origin() -> Option<String> {
        ALLOWED_ORIGIN.with(|o| o.borrow().clone())
    }

    /// Whether the page may connect to `url` now (its origin is the page's or the one allowed
    /// at load time); otherwise the page must reload with `?model=` to allow it.
    pub fn allowed_now(url: &str) -> bool {
        let Some(origin) = origin_of(url) else {
            return false;
        };
        page_origin().as_deref() == Some(origin.as_str())
            || ALLOWED_ORIGIN.with(|o| o.borrow().as_deref() == Some(origin.as_str()))
    }

    /// Reloads the page on `?model=<url>&autoload=1`, leaving `url` in this tab's session
    /// storage so that the reloaded page knows the visitor asked for it.
    pub fn navigate_to_model(url: &str) {
        if let Some(s) = web_sys::window().and_then(|w| w.session_storage().ok().flatten()) {
            let _ = s.set_item(ASKED_KEY, url);
        }
        let Some(address) = address_with(|p| {
            p.set("model", url);
            p.set("autoload", "1");
        }) else {
            return;
        };
        if let Some(w) = web_sys::window() {
            let _ = w.location().assign(&address);
        }
    }

    /// The chosen local model file, if any.
    pub fn local_model() -> Option<File> {
        LOCAL.with(|l| l.borrow().as_ref().map(|(m, _)| m.clone()))
    }

    pub fn set_local(model: File, axis: Option<File>) {
        LOCAL.with(|l| *l.borrow_mut() = Some((model, axis)));
    }

    /// Reads the chosen local files; `(name, model bytes, axis name, axis bytes)`.
    pub async fn read_local() -> Result<
        (
            String,
            js_sys::ArrayBuffer,
            Option<String>,
            Option<js_sys::ArrayBuffer>,
        ),
        String,
    > {
        let (model, axis) = LOCAL
            .with(|l| l.borrow().clone())
            .ok_or("no model file is chosen; choose it again")?;
        let read = |file: File| async move {
            let buffer = JsFuture::from(file.array_buffer())
                .await
                .map_err(|e| format!("{} could not be read: {}", file.name(), js_error_text(&e)))?;
            buffer
                .dyn_into::<js_sys::ArrayBuffer>()
                .map_err(|_| format!("{} could not be read", file.name()))
        };
        let name = model.name();
        let model_bytes = read(model).await?;
        let (axis_name, axis_bytes) = match axis {
            Some(a) => (Some(a.name()), Some(read(a).await?)),
            None => (None, None),
        };
        Ok((name, model_bytes, axis_name, axis_bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_model_is_checked_like_a_typed_one() {
        assert_eq!(
            check_model_param("models/other.gguf").as_deref(),
            Ok("models/other.gguf")
        );
        assert_eq!(
            check_model_param("https://h/x/tiny.gguf").as_deref(),
            Ok("https://h/x/tiny.gguf")
        );
        for bad in [
            "data:application/octet-stream;base64,R0dVRg==",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "//elsewhere.example/x.gguf",
            "models/a b.gguf",
            "",
        ] {
            assert!(check_model_param(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_model_the_visitor_asked_for_in_this_tab_loads_by_itself() {
        let m = "https://models.example/x/tiny.gguf";
        assert_eq!(autoload_decision(false, Some(m), Some(m)), Autoload::No);
        assert_eq!(autoload_decision(true, Some(m), Some(m)), Autoload::Load);
        let Autoload::Ask(why) = autoload_decision(true, None, Some(m)) else {
            panic!("a crafted link must ask");
        };
        assert!(
            why.contains("tiny.gguf") && why.contains("https://models.example"),
            "{why}"
        );
        assert!(matches!(
            autoload_decision(true, Some("https://other.example/y.gguf"), Some(m)),
            Autoload::Ask(_)
        ));
        assert!(matches!(
            autoload_decision(true, None, None),
            Autoload::Ask(_)
        ));
    }

    #[test]
    fn typed_urls_are_checked_and_hugging_face_pages_become_file_links() {
        assert_eq!(
            check_model_url("  https://example.org/m/tiny.gguf ").as_deref(),
            Ok("https://example.org/m/tiny.gguf")
        );
        assert_eq!(
            check_model_url("https://huggingface.co/u/r/blob/main/x.Q4_K_M.gguf").as_deref(),
            Ok("https://huggingface.co/u/r/resolve/main/x.Q4_K_M.gguf")
        );
        assert!(check_model_url("").is_err());
        assert!(
            check_model_url("ftp://example.org/x.gguf")
                .unwrap_err()
                .contains("not an http")
        );
        assert!(check_model_url("javascript:alert(1)").is_err());
        assert!(check_model_url("file:///home/x.gguf").is_err());
        assert!(check_model_url("https:///x.gguf").is_err());
        assert!(check_model_url("https://a b/x.gguf").is_err());
        assert_eq!(
            check_model_url("HTTP://127.0.0.1:8080/models/a.gguf").as_deref(),
            Ok("HTTP://127.0.0.1:8080/models/a.gguf")
        );
    }

    #[test]
    fn sources_name_the_model_and_its_axis_file() {
        assert_eq!(ModelSource::Default.stem(), "SmolLM2-135M-Instruct.Q4_1");
        let url = ModelSource::Url("https://h/x/tiny.gguf?download=1".into());
        assert_eq!(url.display_name(), "tiny.gguf");
        assert_eq!(url.stem(), "tiny");
        let local = ModelSource::Local {
            name: "mine.gguf".into(),
            bytes: 1.0,
            axis_name: None,
        };
        assert_eq!(local.stem(), "mine");
    }
}
