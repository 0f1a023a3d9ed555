//! The app shell boots in headless Chromium and reports what it finds about WebGPU and the model.

use std::time::Duration;

use browser_tests::browser::{Browser, BrowserOptions};
use browser_tests::dist_dir;
use browser_tests::static_server::StaticServer;
use fantoccini::Locator;

const BOOT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn boots_and_reports_the_webgpu_adapter() -> anyhow::Result<()> {
    let server = StaticServer::start(dist_dir())?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    browser.client.goto(&server.url("/")).await?;

    let gpu_state = browser
        .wait_for_attr("[data-testid=webgpu-status]", "data-state", BOOT, |s| {
            s != "checking"
        })
        .await?;
    let gpu_text = browser.text_of("[data-testid=webgpu-status]").await?;
    assert_eq!(gpu_state, "available", "status line says: {gpu_text}");
    // Headless Chromium's only adapter here is SwiftShader, a software (fallback) adapter.
    assert!(
        gpu_text.contains("software fallback adapter"),
        "status line says: {gpu_text}"
    );
    assert!(
        gpu_text.contains("no shader-f16"),
        "status line says: {gpu_text}"
    );
    // A software adapter decodes far slower than the CPU backend: the CPU is preselected and
    // the panel says why (WebGPU stays one click away).
    assert_eq!(backend_choice(&browser).await?, "cpu");
    let hint = browser.text_of("[data-testid=backend-hint]").await?;
    assert!(hint.contains("software emulation"), "hint says: {hint}");

    let model_state = browser
        .wait_for_attr("[data-testid=model-status]", "data-state", BOOT, |s| {
            s != "checking"
        })
        .await?;
    let model_text = browser.text_of("[data-testid=model-status]").await?;
    assert_eq!(model_state, "found", "status line says: {model_text}");
    assert!(
        model_text.contains("98.4 MB"),
        "status line says: {model_text}"
    );

    // www/boot-check.js found WebAssembly SIMD (which the app's wasm needs) and stayed silent;
    // the check itself ran: its file was requested.
    let unsupported = browser
        .client
        .find_all(Locator::Css("[data-testid=boot-unsupported]"))
        .await?;
    assert!(unsupported.is_empty(), "the SIMD check misfired");
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.contains("/boot-check.js")),
        "{:?}",
        server.requests()
    );

    let path = browser.screenshot("app-shell-webgpu").await?;
    eprintln!("screenshot: {}", path.display());
    browser.close().await?;

    // The page asked only for its own files: the document, its wasm/js/css and the model HEAD.
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("HEAD ") && r.ends_with(".gguf")),
        "{requests:?}"
    );
    Ok(())
}

#[tokio::test]
async fn says_so_when_the_browser_has_no_webgpu_adapter() -> anyhow::Result<()> {
    let server = StaticServer::start(dist_dir())?;
    let browser = Browser::launch(BrowserOptions {
        webgpu: false,
        ..BrowserOptions::default()
    })
    .await?;
    browser.client.goto(&server.url("/")).await?;

    let state = browser
        .wait_for_attr("[data-testid=webgpu-status]", "data-state", BOOT, |s| {
            s != "checking"
        })
        .await?;
    let text = browser.text_of("[data-testid=webgpu-status]").await?;
    assert_eq!(state, "unavailable", "status line says: {text}");
    assert!(
        text.contains("will run on the CPU"),
        "status line says: {text}"
    );
    assert_eq!(backend_choice(&browser).await?, "cpu");
    let hints = browser
        .client
        .find_all(Locator::Css("[data-testid=backend-hint]"))
        .await?;
    assert!(hints.is_empty(), "no software-adapter hint without WebGPU");
    browser.screenshot("app-shell-no-webgpu").await?;
    browser.close().await
}

#[tokio::test]
async fn the_welcome_greets_a_first_visit_closes_for_good_and_opens_from_the_header()
-> anyhow::Result<()> {
    let server = StaticServer::start(dist_dir())?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    browser.client.goto(&server.url("/")).await?;
    browser
        .wait_for_attr("[data-testid=app-root]", "class", BOOT, |_| true)
        .await?;

    // A first visit (fresh profile): the explainer is already open.
    let text = browser.text_of("[data-testid=explainer]").await?;
    assert!(
        text.contains("Activation capping"),
        "explainer says: {text}"
    );
    browser.screenshot("explainer").await?;
    browser
        .client
        .find(Locator::Css("[data-testid=close-explainer]"))
        .await?
        .click()
        .await?;
    let explainer_shown = async || {
        browser
            .client
            .find(Locator::Css("[data-testid=explainer]"))
            .await
            .is_ok()
    };
    assert!(!explainer_shown().await, "closing hides the explainer");

    // Closed once, it stays closed on the next visit.
    browser.client.refresh().await?;
    browser
        .wait_for_attr("[data-testid=app-root]", "class", BOOT, |_| true)
        .await?;
    assert!(!explainer_shown().await, "the welcome shows only once");

    // And it is always reachable from the header.
    browser
        .client
        .find(Locator::Css("[data-testid=open-explainer]"))
        .await?
        .click()
        .await?;
    assert!(explainer_shown().await, "the header reopens the explainer");
    browser.close().await
}

/// The backend the model panel offers.
async fn backend_choice(browser: &Browser) -> anyhow::Result<String> {
    Ok(browser
        .client
        .find(Locator::Css("[data-testid=backend-select]"))
        .await?
        .prop("value")
        .await?
        .unwrap_or_default())
}
