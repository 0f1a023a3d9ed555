//! The CPU backend on every core from a host that sends no headers, and a CPU visitor's whole
//! visit on the threaded module, offline included (docs/threads.md).
//!
//! Shared memory, and so the threaded module, needs a cross-origin isolated page. A static host
//! that cannot set headers gets isolation from the page's service worker, which adds COOP/COEP
//! to the files it serves; `isolate.js` reloads the first visit once so that the page itself
//! comes through it, and the page's loader waits for that reload rather than start the
//! single-thread module it would then throw away. The browser here has no WebGPU, so the page
//! guesses the CPU from the start, as for a visitor without a GPU. (The other browser tests run
//! on a server that sends the headers itself, as a host configured for the app does;
//! `chat_engine` checks both modules' answers, `offline` the single-thread module offline.)

use std::time::{Duration, Instant};

use browser_tests::browser::{Browser, BrowserOptions};
use browser_tests::dist_dir;
use browser_tests::page::{ask, eval, load_model, set_capping, set_input};
use browser_tests::static_server::StaticServer;

const ISOLATED: Duration = Duration::from_secs(120);
const LOAD: Duration = Duration::from_secs(600);

#[tokio::test]
async fn a_host_without_headers_gets_every_core_after_one_reload() -> anyhow::Result<()> {
    let server = StaticServer::start(dist_dir())?;
    server.set_isolation_headers(false);
    let browser = Browser::launch(BrowserOptions {
        webgpu: false,
        ..BrowserOptions::default()
    })
    .await?;
    browser.client.goto(&server.url("/")).await?;
    let cores = eval(&browser, "return navigator.hardwareConcurrency || 1;")
        .await?
        .as_u64()
        .unwrap_or(1);
    anyhow::ensure!(
        cores >= 2,
        "this test needs a machine with two cores or more (the browser reports {cores})"
    );

    // The first visit is not isolated; the service worker takes over and the page reloads once.
    // (Script calls can fail while the page reloads: those count as "not yet".)
    let start = Instant::now();
    loop {
        let isolated = eval(&browser, "return self.crossOriginIsolated === true;")
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if isolated {
            break;
        }
        anyhow::ensure!(
            start.elapsed() < ISOLATED,
            "the page was not cross-origin isolated after {ISOLATED:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let pages = |s: &StaticServer| s.requests().iter().filter(|r| *r == "GET /").count();
    let reloaded = eval(
        &browser,
        "return sessionStorage.getItem('assistant-axis-isolation-reload');",
    )
    .await?;
    eprintln!(
        "isolated after {:.1} s; page requests {}; reload mark {reloaded}",
        start.elapsed().as_secs_f64(),
        pages(&server)
    );
    assert_eq!(reloaded, "1", "isolate.js reloaded the first visit once");

    assert_eq!(
        page_module(&browser).await?,
        "threads",
        "the reloaded page runs the threaded module"
    );
    load_model(&browser, "cpu", "quantized", LOAD).await?;
    let status = browser.text_of("[data-testid=engine-status]").await?;
    eprintln!("{cores} cores: {status}");
    let want = format!("{} threads", cores.min(8));
    assert!(status.contains(&want), "want {want}: {status}");

    // The whole visit downloaded one module: the threaded one, for the page and its worker, and
    // never the single-thread one (neither before the reload nor for the service worker).
    let wasm = |s: &StaticServer| -> Vec<String> {
        s.requests()
            .into_iter()
            .filter(|r| r.ends_with(".wasm"))
            .collect()
    };
    let visit = wasm(&server);
    eprintln!("wasm requests of the first visit: {visit:?}");
    assert!(
        visit
            .iter()
            .all(|r| r == "GET /threads/assistant-axis-web_bg.wasm"),
        "a CPU visitor downloaded another module: {visit:?}"
    );
    assert!(!visit.is_empty(), "the threaded module was downloaded");

    // Offline, the next visit runs from what this one kept: the page, the threaded module, its
    // thread pool's scripts, the model and the axis.
    server.set_offline(true);
    browser.client.refresh().await?;
    assert_eq!(page_module(&browser).await?, "threads");
    load_model(&browser, "cpu", "quantized", LOAD).await?;
    let status = browser.text_of("[data-testid=engine-status]").await?;
    eprintln!("offline: {status}");
    assert!(status.contains(&want), "want {want} offline: {status}");
    assert!(
        status.contains("from this browser's cache"),
        "the offline load came from the cache: {status}"
    );
    set_capping(&browser, false).await?;
    set_input(&browser, "setting-max-tokens", "6").await?;
    let answer = ask(&browser, "Hello!", LOAD).await?;
    eprintln!("answer on the threaded page, offline: {answer:?}");
    assert!(
        !answer.trim().is_empty(),
        "the threaded page answers offline"
    );
    eprintln!(
        "tried while offline (unanswered): {:?}",
        server.refused_requests()
    );
    browser.close().await
}

/// The module the page's loader started (`window.axisPageModule`, set once it has started).
async fn page_module(browser: &Browser) -> anyhow::Result<serde_json::Value> {
    let start = Instant::now();
    loop {
        let module = eval(browser, "return window.axisPageModule || null;")
            .await
            .unwrap_or(serde_json::Value::Null);
        if !module.is_null() {
            return Ok(module);
        }
        anyhow::ensure!(
            start.elapsed() < ISOLATED,
            "the page's module did not start within {ISOLATED:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
