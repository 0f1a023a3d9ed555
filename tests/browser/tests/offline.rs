//! Offline use: after one visit that loaded the model, the page, the model and the axis file
//! come from the browser (service worker + Cache Storage) with the network cut, and the model
//! answers; "Forget cached model" deletes the cached files.
//!
//! The visit runs the single-thread module (`?threads=1`), which the service worker no longer
//! fetches on install: the page's loader keeps it on the first visit, before the service worker
//! serves anything. (`threads` checks the same for the threaded module.)

use std::time::Duration;

use browser_tests::browser::{Browser, BrowserOptions};
use browser_tests::dist_dir;
use browser_tests::page::{attrs, eval, load_model, set_capping, set_input};
use browser_tests::static_server::StaticServer;
use fantoccini::Locator;

const LOAD: Duration = Duration::from_secs(600);
const ANSWER: Duration = Duration::from_secs(600);
const BOOT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn with_the_network_cut_a_second_visit_loads_everything_from_the_browser()
-> anyhow::Result<()> {
    let server = StaticServer::start(dist_dir())?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    browser.client.goto(&server.url("/?threads=1")).await?;
    load_model(&browser, "cpu", "quantized", LOAD).await?;
    let status = browser.text_of("[data-testid=engine-status]").await?;
    assert!(!status.contains("cache"), "first load downloads: {status}");
    // The service worker has taken over and kept the page's files.
    let controlled = eval(
        &browser,
        "return navigator.serviceWorker.ready.then(() => caches.keys());",
    )
    .await?;
    eprintln!("caches after the first visit: {controlled}");
    let downloads = |s: &StaticServer| s.requests().iter().filter(|r| r.ends_with(".gguf")).count();
    let first = downloads(&server);

    server.set_offline(true);
    browser.client.refresh().await?;
    load_model(&browser, "cpu", "quantized", LOAD).await?;
    let status = browser.text_of("[data-testid=engine-status]").await?;
    assert!(
        status.contains("from this browser's cache"),
        "the second load is offline: {status}"
    );
    let axis_ok = browser
        .client
        .find(Locator::Css("[data-testid=cap-first-layer]"))
        .await
        .is_ok();
    assert!(axis_ok, "the axis file came from the cache too");
    set_capping(&browser, false).await?;
    set_input(&browser, "setting-max-tokens", "6").await?;
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
            "[data-testid=message-assistant]",
            "data-streaming",
            ANSWER,
            |s| s == "false",
        )
        .await?;
    let answer = browser
        .text_of("[data-testid=message-assistant] .message-text")
        .await?;
    assert!(!answer.trim().is_empty(), "the offline model answers");
    // The file check fails offline; the status line follows the engine, text and colour.
    let model_state = attrs(&browser, "[data-testid=model-status]", "data-state").await?;
    assert_eq!(model_state, ["loaded"]);
    browser.screenshot("offline-second-visit").await?;
    assert_eq!(
        downloads(&server),
        first,
        "no model request reached the server"
    );

    // Forget the cached model: the cache is gone.
    browser
        .client
        .find(Locator::Css("[data-testid=clear-cache]"))
        .await?
        .click()
        .await?;
    let notice = browser
        .client
        .wait()
        .at_most(BOOT)
        .for_element(Locator::Css("[data-testid=notice]"))
        .await?
        .text()
        .await?;
    assert!(notice.contains("deleted"), "{notice}");
    let keys = eval(&browser, "return caches.keys();").await?;
    assert!(
        !keys.to_string().contains("assistant-axis-models"),
        "model cache deleted: {keys}"
    );
    browser.close().await
}
