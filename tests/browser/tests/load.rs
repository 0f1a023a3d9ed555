//! Load: 50 consecutive answers in one page (real model, CPU backend with the default quantized
//! weights, i.e. our block kernel, whose per-call buffers must not accumulate; 3 tokens each,
//! Undo after each so every prompt is the same size) without memory growth: the worker's wasm
//! memory (it never shrinks, so a leak shows as growth) and the page's JS heap, measured after
//! answers 10 and 50. The numbers are printed; the bounds are in the asserts.

use std::time::{Duration, Instant};

use browser_tests::browser::{Browser, BrowserOptions};
use browser_tests::dist_dir;
use browser_tests::page::{eval, load_model, set_capping, set_input, wait_for_count};
use browser_tests::static_server::StaticServer;
use fantoccini::Locator;

const LOAD: Duration = Duration::from_secs(600);
const ANSWER: Duration = Duration::from_secs(120);
const GENERATIONS: usize = 50;
const BASELINE_AFTER: usize = 10;
/// Worker memory may grow by allocator fragmentation, not by a leak per answer.
const MAX_WORKER_GROWTH_BYTES: f64 = 8.0 * 1024.0 * 1024.0;
/// The page's heap is garbage-collected at V8's discretion, so this bound is loose: it catches
/// a leak of ≥ 0.75 MiB per answer (e.g. every answer's worker messages kept alive).
const MAX_HEAP_GROWTH_BYTES: f64 = 30.0 * 1024.0 * 1024.0;

async fn memory(browser: &Browser) -> anyhow::Result<(f64, f64)> {
    let worker = browser
        .client
        .find(Locator::Css("[data-testid=engine-memory]"))
        .await?
        .attr("data-bytes")
        .await?
        .unwrap_or_default()
        .parse::<f64>()?;
    let heap = eval(
        browser,
        "return performance.memory ? performance.memory.usedJSHeapSize : 0;",
    )
    .await?
    .as_f64()
    .unwrap_or(0.0);
    Ok((worker, heap))
}

#[tokio::test]
async fn fifty_answers_in_one_page_do_not_grow_memory() -> anyhow::Result<()> {
    let server = StaticServer::start(dist_dir())?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    browser.client.goto(&server.url("/")).await?;
    load_model(&browser, "cpu", "quantized", LOAD).await?;
    set_capping(&browser, false).await?;
    set_input(&browser, "setting-max-tokens", "3").await?;
    let input = browser
        .client
        .find(Locator::Css("[data-testid=composer-input]"))
        .await?;
    let started = Instant::now();
    let mut baseline = (0.0, 0.0);
    let mut samples = Vec::new();
    for n in 1..=GENERATIONS {
        input.send_keys(&format!("Say a number: {n}")).await?;
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
        let m = memory(&browser).await?;
        samples.push(m);
        if n == BASELINE_AFTER {
            baseline = m;
        }
        browser
            .client
            .find(Locator::Css("[data-testid=undo]"))
            .await?
            .click()
            .await?;
        wait_for_count(&browser, "[data-testid=message-assistant]", 0, ANSWER).await?;
    }
    let last = samples[GENERATIONS - 1];
    let mb = |b: f64| b / 1024.0 / 1024.0;
    eprintln!(
        "{GENERATIONS} answers in {:.1} s; worker wasm memory after answer {BASELINE_AFTER}: {:.1} MiB, after {GENERATIONS}: {:.1} MiB; page JS heap {:.1} → {:.1} MiB",
        started.elapsed().as_secs_f64(),
        mb(baseline.0),
        mb(last.0),
        mb(baseline.1),
        mb(last.1)
    );
    eprintln!(
        "worker MiB per answer: {:?}",
        samples.iter().map(|s| mb(s.0).round()).collect::<Vec<_>>()
    );
    assert!(baseline.0 > 0.0, "the worker reports its memory");
    assert!(
        last.0 - baseline.0 <= MAX_WORKER_GROWTH_BYTES,
        "worker memory grew by {:.1} MiB over {} answers",
        mb(last.0 - baseline.0),
        GENERATIONS - BASELINE_AFTER
    );
    assert!(
        last.1 - baseline.1 <= MAX_HEAP_GROWTH_BYTES,
        "page heap grew by {:.1} MiB",
        mb(last.1 - baseline.1)
    );
    browser.close().await
}
