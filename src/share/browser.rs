//! The browser side: file download, reading a chosen file, the address bar, the clipboard.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

thread_local! {
    // The last download's object URL: revoked when the next one is made.
    static LAST_URL: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Offers `text` as a file download named `file_name` (through a hidden link whose `href`
/// stays valid until the next download).
pub fn download(file_name: &str, text: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|_| fail("make the file"))?;
    offer(file_name, &blob)
}

/// Offers `bytes` as a binary file download named `file_name`.
pub fn download_bytes(file_name: &str, bytes: &[u8]) -> Result<(), String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/octet-stream");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|_| fail("make the file"))?;
    offer(file_name, &blob)
}

fn fail(what: &str) -> String {
    format!("the browser refused to {what}")
}

fn offer(file_name: &str, blob: &web_sys::Blob) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let url = web_sys::Url::create_object_url_with_blob(blob)
        .map_err(|_| fail("make a link to the file"))?;
    let link: web_sys::HtmlAnchorElement = match document
        .query_selector("[data-testid=export-link]")
        .ok()
        .flatten()
    {
        Some(el) => el.dyn_into().map_err(|_| fail("find the link"))?,
        None => {
            let el: web_sys::HtmlAnchorElement = document
                .create_element("a")
                .map_err(|_| fail("make a link"))?
                .dyn_into()
                .map_err(|_| fail("make a link"))?;
            let _ = el.set_attribute("data-testid", "export-link");
            let _ = el.set_attribute("hidden", "");
            let _ = el.set_attribute("aria-hidden", "true");
            document
                .body()
                .ok_or("no body")?
                .append_child(&el)
                .map_err(|_| fail("add a link"))?;
            el
        }
    };
    link.set_href(&url);
    link.set_download(file_name);
    link.click();
    if let Some(old) = LAST_URL.with(|u| u.borrow_mut().replace(url)) {
        let _ = web_sys::Url::revoke_object_url(&old);
    }
    Ok(())
}

/// The text of the file chosen in `input` (the first one), if any.
pub async fn read_chosen_file(input: &web_sys::HtmlInputElement) -> Option<Result<String, String>> {
    let file = input.files()?.get(0)?;
    let text = JsFuture::from(file.text()).await;
    Some(
        text.ok()
            .and_then(|v| v.as_string())
            .ok_or_else(|| "the browser could not read it".to_owned()),
    )
}

/// The page's address without its fragment.
pub fn address_without_fragment() -> Option<String> {
    let location = web_sys::window()?.location();
    let href = location.href().ok()?;
    Some(href.split('#').next().unwrap_or(&href).to_owned())
}

pub fn current_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// Drops the fragment from the address bar without reloading or adding a history entry.
pub fn remove_fragment() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    let url = format!(
        "{}{}",
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default()
    );
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
}

/// Copies `text`; `Err` when the browser offers no clipboard here (then the field beside
/// the button lets the reader copy it by hand).
pub async fn copy_to_clipboard(text: &str) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let navigator = window.navigator();
    let has = js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard"))
        .map(|c| !c.is_undefined() && !c.is_null())
        .unwrap_or(false);
    if !has {
        return Err("this browser offers no clipboard here".to_owned());
    }
    JsFuture::from(navigator.clipboard().write_text(text))
        .await
        .map(|_| ())
        .map_err(|_| "the browser did not allow copying".to_owned())
}
