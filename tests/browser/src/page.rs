//! Steps on the app's page that several tests share: load the model, set inputs the way a
//! person does, read attributes of many elements.

use std::time::{Duration, Instant};

use anyhow::{Result, bail, ensure};
use fantoccini::Locator;

use crate::browser::Browser;

/// Picks the backend and precision and loads the model; fails with the page's message.
pub async fn load_model(
    browser: &Browser,
    backend: &str,
    precision: &str,
    timeout: Duration,
) -> Result<()> {
    browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", timeout, |s| {
            s == "idle"
        })
        .await?;
    browser
        .client
        .find(Locator::Css("[data-testid=backend-select]"))
        .await?
        .select_by_value(backend)
        .await?;
    browser
        .client
        .find(Locator::Css("[data-testid=precision-select]"))
        .await?
        .select_by_value(precision)
        .await?;
    browser
        .client
        .find(Locator::Css("[data-testid=load-model]"))
        .await?
        .click()
        .await?;
    let state = browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", timeout, |s| {
            s == "ready" || s == "failed"
        })
        .await?;
    let status = browser.text_of("[data-testid=engine-status]").await?;
    ensure!(state == "ready", "the model did not load: {status}");
    let footer = browser.text_of("[data-testid=model-status]").await?;
    ensure!(
        footer.contains("loaded on"),
        "the status line should say the model is loaded: {footer}"
    );
    eprintln!("engine status: {status}");
    Ok(())
}

/// Sets an input's value the way a person does (value, then the change event).
pub async fn set_input(browser: &Browser, testid: &str, value: &str) -> Result<()> {
    let script = format!(
        "const el = document.querySelector('[data-testid={testid}]'); el.value = arguments[0]; \
         el.dispatchEvent(new Event('change', {{ bubbles: true }}));"
    );
    browser
        .client
        .execute(&script, vec![serde_json::json!(value)])
        .await?;
    Ok(())
}

/// Ticks or unticks the capping checkbox (clicking it only when it is not as wanted).
pub async fn set_capping(browser: &Browser, on: bool) -> Result<()> {
    let el = browser
        .client
        .find(Locator::Css("[data-testid=capping-toggle]"))
        .await?;
    let checked = el.prop("checked").await?.as_deref() == Some("true");
    if checked != on {
        el.click().await?;
    }
    Ok(())
}

/// `attr` of every element matching `css`, in document order (missing attributes are "").
pub async fn attrs(browser: &Browser, css: &str, attr: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for el in browser.client.find_all(Locator::Css(css)).await? {
        out.push(el.attr(attr).await?.unwrap_or_default());
    }
    Ok(out)
}

/// Runs a script returning a JSON value.
pub async fn eval(browser: &Browser, script: &str) -> Result<serde_json::Value> {
    Ok(browser.client.execute(script, vec![]).await?)
}

/// Waits until `count(css) == n`.
pub async fn wait_for_count(
    browser: &Browser,
    css: &str,
    n: usize,
    timeout: Duration,
) -> Result<()> {
    let start = Instant::now();
    let mut last = 0;
    while start.elapsed() < timeout {
        last = browser.client.find_all(Locator::Css(css)).await?.len();
        if last == n {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // What the page showed when the wait gave up, for whoever reads the failure.
    let shot = browser.screenshot("timed-out").await;
    bail!(
        "timed out after {timeout:?} waiting for {n} × {css} (last count: {last}); page: {shot:?}"
    )
}

/// Types `question` into the composer, sends it and waits until the last assistant message
/// has finished streaming; returns that message's text.
pub async fn ask(browser: &Browser, question: &str, timeout: Duration) -> Result<String> {
    let input = browser
        .client
        .find(Locator::Css("[data-testid=composer-input]"))
        .await?;
    input.send_keys(question).await?;
    browser
        .client
        .find(Locator::Css("[data-testid=send]"))
        .await?
        .click()
        .await?;
    browser
        .wait_for_attr(
            "[data-testid=message-assistant]:last-of-type",
            "data-streaming",
            timeout,
            |s| s == "false",
        )
        .await?;
    let answers = browser
        .client
        .find_all(Locator::Css(
            "[data-testid=message-assistant] .message-text",
        ))
        .await?;
    let last = answers
        .last()
        .ok_or_else(|| anyhow::anyhow!("no assistant message"))?;
    Ok(last.text().await?)
}

/// Clicks the element with this `data-testid`.
pub async fn click(browser: &Browser, testid: &str) -> Result<()> {
    browser
        .client
        .find(Locator::Css(&format!("[data-testid={testid}]")))
        .await?
        .click()
        .await?;
    Ok(())
}

/// Keeps every Blob the page turns into an object URL, so that a test can read a download.
/// (Fetching the download link's `blob:` URL from the page is blocked by the page's own
/// `connect-src 'self'`, which is as it should be.) Call before the click that downloads.
pub async fn capture_downloads(browser: &Browser) -> Result<()> {
    eval(
        browser,
        "if (!window.__axisBlobs) { window.__axisBlobs = []; \
           const make = URL.createObjectURL.bind(URL); \
           URL.createObjectURL = (b) => { window.__axisBlobs.push(b); return make(b); }; } \
         return true;",
    )
    .await?;
    Ok(())
}

/// The bytes of the last Blob the page offered as a download (see [`capture_downloads`]).
pub async fn last_download(browser: &Browser) -> Result<Vec<u8>> {
    let read = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             const blobs = window.__axisBlobs || []; \
             if (!blobs.length) { done('no download captured'); } else { \
               blobs[blobs.length - 1].arrayBuffer() \
                 .then(b => done(Array.from(new Uint8Array(b))), e => done('failed: ' + e)); }",
            vec![],
        )
        .await?;
    let Some(values) = read.as_array() else {
        bail!("the download could not be read back: {read}");
    };
    values
        .iter()
        .map(|v| {
            v.as_u64()
                .and_then(|b| u8::try_from(b).ok())
                .ok_or_else(|| anyhow::anyhow!("not a byte: {v}"))
        })
        .collect()
}
