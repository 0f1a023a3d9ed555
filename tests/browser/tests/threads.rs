//! The CPU backend on every core from a host that sends no headers (docs/threads.md).
//!
//! Shared memory, and so the threaded module, needs a cross-origin isolated page. A static host
//! that cannot set headers gets isolation from the page's service worker, which adds COOP/COEP
//! to the files it serves; `isolate.js` reloads the first visit once so that the page itself
//! comes through it. (The other browser tests run on a server that sends the headers itself, as
//! a host configured for the app does; `chat_engine` checks both modules' answers.)

use std::time::{Duration, Instant};

use browser_tests::browser::{Browser, BrowserOptions};
use browser_tests::dist_dir;
use browser_tests::page::{eval, load_model};
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
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.contains("/threads/assistant-axis-web_bg.wasm")),
        "the worker loaded the threaded module"
    );
    browser.close().await
}
