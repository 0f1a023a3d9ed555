//! Bring your own model (issue 6): a model from a URL typed into the page, a local file chosen
//! with the file input, and a file that is not a GGUF. CPU backend, quantized weights.

use std::time::Duration;

use browser_tests::browser::{Browser, BrowserOptions};
use browser_tests::dist_dir;
use browser_tests::page::{eval, set_input, wait_for_count};
use browser_tests::static_server::StaticServer;
use fantoccini::Locator;

const LOAD: Duration = Duration::from_secs(300);
const SHIPPED: &str = "models/SmolLM2-135M-Instruct.Q4_1.gguf";

async fn choose_cpu(browser: &Browser) -> anyhow::Result<()> {
    browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", LOAD, |s| {
            s == "idle"
        })
        .await?;
    for (testid, value) in [("backend-select", "cpu"), ("precision-select", "quantized")] {
        browser
            .client
            .find(Locator::Css(&format!("[data-testid={testid}]")))
            .await?
            .select_by_value(value)
            .await?;
    }
    // Open "Use another model".
    browser
        .client
        .find(Locator::Css("[data-testid=byo] > summary"))
        .await?
        .click()
        .await?;
    Ok(())
}

/// Waits until `css` exists and its text contains `needle`; returns the text.
async fn wait_text(browser: &Browser, css: &str, needle: &str) -> anyhow::Result<String> {
    let start = std::time::Instant::now();
    let mut last = String::new();
    while start.elapsed() < LOAD {
        if let Ok(text) = browser.text_of(css).await {
            if text.contains(needle) {
                return Ok(text);
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("timed out waiting for {needle:?} in {css} (last: {last:?})")
}

async fn wait_loaded(browser: &Browser) -> anyhow::Result<String> {
    // Leave "ready" first when a model was loaded before.
    let state = browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", LOAD, |s| {
            s == "ready" || s == "failed"
        })
        .await?;
    let status = browser.text_of("[data-testid=engine-status]").await?;
    anyhow::ensure!(state == "ready", "the model did not load: {status}");
    Ok(status)
}

#[tokio::test]
async fn a_model_typed_as_a_url_loads_and_the_page_says_it_has_no_axis_file() -> anyhow::Result<()>
{
    let server = StaticServer::start_with_aliases(
        dist_dir(),
        vec![(
            "/models/byo-url-copy.gguf".to_owned(),
            dist_dir().join(SHIPPED),
        )],
    )?;
    let browser = Browser::launch(BrowserOptions {
        webgpu: false,
        ..BrowserOptions::default()
    })
    .await?;
    browser.client.goto(&server.url("/")).await?;
    choose_cpu(&browser).await?;
    let input = browser
        .client
        .find(Locator::Css("[data-testid=model-url-input]"))
        .await?;
    // Not http(s): refused on the page, nothing is loaded.
    input.send_keys("ftp://example.org/x.gguf").await?;
    browser
        .client
        .find(Locator::Css("[data-testid=load-url]"))
        .await?
        .click()
        .await?;
    let refusal = browser.text_of("[data-testid=byo-error]").await?;
    assert!(refusal.contains("not an http"), "{refusal}");
    input.clear().await?;
    let url = server.url("/models/byo-url-copy.gguf");
    input.send_keys(&url).await?;
    browser
        .client
        .find(Locator::Css("[data-testid=load-url]"))
        .await?
        .click()
        .await?;
    let status = wait_loaded(&browser).await?;
    let search = eval(&browser, "return location.search").await?;
    let search = search.as_str().unwrap_or_default().to_owned();
    assert!(
        search.contains("model=") && search.contains("byo-url-copy.gguf"),
        "the address keeps the model for a reload or a share: {search}"
    );
    let info = browser.text_of("[data-testid=model-info]").await?;
    assert!(
        info.contains("llama") && info.contains("30 layers") && info.contains("135M parameters"),
        "the check reports the model: {info}"
    );
    assert!(
        !status.contains("SmolLM2-135M-Instruct (Q4_1 GGUF)"),
        "the page names the model by its file's general.name: {status}"
    );
    let axis = browser.text_of("[data-testid=axis-status]").await?;
    assert!(
        axis.contains("byo-url-copy.axis.safetensors") && axis.contains("404"),
        "{axis}"
    );
    let help = browser.text_of("[data-testid=axis-help]").await?;
    assert!(
        help.contains("cargo run -p axis-lab -- build")
            && help.contains("compute a first one right here"),
        "the page says what to do without an axis: {help}"
    );
    assert!(
        browser
            .client
            .find(Locator::Css("[data-testid=axis-build-start]"))
            .await
            .is_ok(),
        "the panel offers to compute an axis in the browser"
    );
    browser.screenshot("byo-url-no-axis").await?;
    eval(
        &browser,
        "document.querySelector('[data-testid=byo]').scrollIntoView(); return null",
    )
    .await?;
    browser.screenshot("byo-panel").await?;
    browser.close().await
}

#[tokio::test]
async fn a_local_file_is_checked_a_non_gguf_refused_and_a_gguf_answers() -> anyhow::Result<()> {
    let server = StaticServer::start(dist_dir())?;
    // Random bytes under a .gguf name.
    let junk = std::env::temp_dir().join(format!("byo-not-a-model-{}.gguf", std::process::id()));
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let bytes: Vec<u8> = (0..16_384)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(&junk, bytes)?;
    let browser = Browser::launch(BrowserOptions {
        webgpu: false,
        ..BrowserOptions::default()
    })
    .await?;
    browser.client.goto(&server.url("/")).await?;
    choose_cpu(&browser).await?;
    let file_input = "[data-testid=model-file-input]";
    browser
        .client
        .find(Locator::Css(file_input))
        .await?
        .send_keys(&junk.display().to_string())
        .await?;
    let state = browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", LOAD, |s| {
            s == "failed" || s == "ready"
        })
        .await?;
    let message = browser.text_of("[data-testid=engine-status]").await?;
    assert_eq!(state, "failed", "{message}");
    assert!(
        message.contains("is not a GGUF model file") && message.contains("Llama-family"),
        "a clear refusal: {message}"
    );
    browser.screenshot("byo-not-a-gguf").await?;

    // The page still works: the real model, chosen the same way, loads and answers.
    let model = std::fs::canonicalize(dist_dir().join(SHIPPED))?;
    browser
        .client
        .find(Locator::Css(file_input))
        .await?
        .send_keys(&model.display().to_string())
        .await?;
    browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", LOAD, |s| {
            s != "failed"
        })
        .await?;
    wait_loaded(&browser).await?;
    let info = browser.text_of("[data-testid=model-info]").await?;
    assert!(info.contains("Q4_1"), "{info}");
    let axis = browser.text_of("[data-testid=axis-status]").await?;
    assert!(axis.contains("no axis file was chosen"), "{axis}");
    set_input(&browser, "setting-max-tokens", "4").await?;
    browser
        .client
        .find(Locator::Css("[data-testid=composer-input]"))
        .await?
        .send_keys("Hello!")
        .await?;
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
            LOAD,
            |s| s == "false",
        )
        .await?;
    let answer = browser
        .text_of("[data-testid=message-assistant] .message-text")
        .await?;
    let meta = browser.text_of("[data-testid=message-meta]").await?;
    assert!(!answer.trim().is_empty(), "an answer: {meta}");
    let tokens: usize = meta
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!((1..=4).contains(&tokens), "at most 4 tokens: {meta}");
    assert!(
        browser
            .client
            .find(Locator::Css("[data-testid=back-to-default]"))
            .await
            .is_ok(),
        "the way back to the shipped model is offered"
    );
    browser.screenshot("byo-local-file").await?;

    // A refused file after that leaves the loaded model in use, and says why it was refused.
    browser
        .client
        .find(Locator::Css(file_input))
        .await?
        .send_keys(&junk.display().to_string())
        .await?;
    let notice = wait_text(&browser, "[data-testid=notice]", "still in use").await?;
    let _ = std::fs::remove_file(&junk);
    assert!(notice.contains("is not a GGUF model file"), "{notice}");
    let state = browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", LOAD, |s| {
            s == "ready"
        })
        .await?;
    assert_eq!(state, "ready");
    let help = browser.text_of("[data-testid=axis-help]").await?;
    assert!(
        help.contains("SmolLM2-135M-Instruct.Q4_1.gguf"),
        "the page is back on the loaded model: {help}"
    );
    browser
        .client
        .find(Locator::Css("[data-testid=composer-input]"))
        .await?
        .send_keys("Thanks!")
        .await?;
    browser
        .client
        .find(Locator::Css("[data-testid=send]"))
        .await?
        .click()
        .await?;
    wait_for_count(&browser, "[data-testid=message-meta]", 2, LOAD).await?;
    browser.screenshot("byo-refused-after-load").await?;
    browser.close().await
}

/// A model on another site: the page reloads with `?model=<url>&autoload=1` so that its policy
/// allows that origin, and the reloaded page starts the load by itself because this tab asked
/// for it (a link from elsewhere with `autoload=1` waits for a click: `security.rs`). The other
/// site must be https (the page's rule, which the worker applies too); here it is a host the
/// test's proxy refuses, so the load ends in the worker's download error for that address —
/// which proves the worker tried exactly it, without a click.
#[tokio::test]
async fn a_url_on_another_origin_reloads_the_page_which_then_loads_it_by_itself()
-> anyhow::Result<()> {
    let page = StaticServer::start(dist_dir())?;
    let browser = Browser::launch(BrowserOptions {
        webgpu: false,
        proxy: Some(page.addr),
        ..BrowserOptions::default()
    })
    .await?;
    browser.client.goto(&page.url("/")).await?;
    choose_cpu(&browser).await?;
    let url = "https://models.example/elsewhere/other-origin.gguf";
    browser
        .client
        .find(Locator::Css("[data-testid=model-url-input]"))
        .await?
        .send_keys(url)
        .await?;
    browser
        .client
        .find(Locator::Css("[data-testid=load-url]"))
        .await?
        .click()
        .await?;
    // No click after the reload: `autoload` starts the load, which the proxy cuts off.
    let state = browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", LOAD, |s| {
            s == "failed" || s == "ready"
        })
        .await?;
    let message = browser.text_of("[data-testid=engine-status]").await?;
    assert_eq!(state, "failed", "{message}");
    assert!(
        message.contains(
            "could not download the model from https://models.example/elsewhere/other-origin.gguf"
        ),
        "the worker tried the chosen address by itself: {message}"
    );
    let search = eval(&browser, "return location.search").await?;
    let search = search.as_str().unwrap_or_default().to_owned();
    assert!(
        search.contains("other-origin.gguf") && !search.contains("autoload"),
        "the page keeps the model and consumes autoload: {search}"
    );
    browser.screenshot("byo-other-origin").await?;
    browser.close().await
}
