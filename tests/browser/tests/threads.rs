//! The CPU backend on every core from a host that sends no headers, and the page itself on the
//! threaded module once the CPU was used (docs/threads.md).
//!
//! Shared memory, and so the threaded module, needs a cross-origin isolated page. A static host
//! that cannot set headers gets isolation from the page's service worker, which adds COOP/COEP
//! to the files it serves; `isolate.js` reloads the first visit once so that the page itself
//! comes through it. (The other browser tests run on a server that sends the headers itself, as
//! a host configured for the app does; `chat_engine` checks both modules' answers.)

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
    let browser = Browser::launch(BrowserOptions::default()).await?;
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

    load_model(&browser, "cpu", "quantized", LOAD).await?;
    let status = browser.text_of("[data-testid=engine-status]").await?;
    eprintln!("{cores} cores: {status}");
    let want = format!("{} threads", cores.min(8));
    assert!(status.contains(&want), "want {want}: {status}");
    let single_thread_downloads = |s: &StaticServer| {
        s.requests()
            .iter()
            .filter(|r| *r == "GET /assistant-axis-web_bg.wasm")
            .count()
    };
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.contains("/threads/assistant-axis-web_bg.wasm")),
        "the worker loaded the threaded module"
    );

    // The next visit: the CPU was used here, so the page takes the threaded module for itself
    // too (www/page-loader.js), and the single-thread one is not downloaded again.
    let before = single_thread_downloads(&server);
    browser.client.refresh().await?;
    // Set by the loader once the module has started.
    let start = Instant::now();
    let page_module = loop {
        let module = eval(&browser, "return window.axisPageModule || null;").await?;
        if !module.is_null() || start.elapsed() > ISOLATED {
            break module;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!("page module on the next visit: {page_module}");
    assert_eq!(page_module, "threads");
    load_model(&browser, "cpu", "quantized", LOAD).await?;
    set_capping(&browser, false).await?;
    set_input(&browser, "setting-max-tokens", "6").await?;
    let answer = ask(&browser, "Hello!", LOAD).await?;
    eprintln!("answer on the threaded page: {answer:?}");
    assert!(!answer.trim().is_empty(), "the threaded page answers");
    assert_eq!(
        single_thread_downloads(&server),
        before,
        "the single-thread module was downloaded again: {:?}",
        server.requests()
    );
    browser.close().await
}
