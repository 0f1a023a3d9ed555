//! "Compute axis in the browser" (issue 6): a model with no axis file gets one from a reduced
//! axis-lab run in the worker — progress, cancel, then a finished axis that is used at once
//! (scores, capped twin) and downloads as a valid axis file. CPU backend, quantized weights.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use browser_tests::browser::{Browser, BrowserOptions};
use browser_tests::dist_dir;
use browser_tests::page::{
    ask, attrs, capture_downloads, click, eval, last_download, load_model, set_capping, set_input,
    wait_for_count,
};
use browser_tests::static_server::StaticServer;
use engine::axis::AxisFile;
use fantoccini::Locator;

const LOAD: Duration = Duration::from_secs(300);
const BUILD: Duration = Duration::from_secs(900);
const ANSWER: Duration = Duration::from_secs(600);

async fn set_size(
    browser: &Browser,
    roles: u32,
    questions: u32,
    tokens: u32,
) -> anyhow::Result<()> {
    for (id, v) in [
        ("axis-build-roles", roles),
        ("axis-build-questions", questions),
        ("axis-build-tokens", tokens),
    ] {
        set_input(browser, id, &v.to_string()).await?;
    }
    Ok(())
}

/// Waits until one of `testids` is on the page; returns which.
async fn wait_for_any(
    browser: &Browser,
    testids: &[&'static str],
    timeout: Duration,
) -> anyhow::Result<&'static str> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        for id in testids {
            let css = format!("[data-testid={id}]");
            if browser.client.find(Locator::Css(&css)).await.is_ok() {
                return Ok(id);
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bail!("timed out after {timeout:?} waiting for one of {testids:?}")
}

#[tokio::test]
async fn a_model_without_an_axis_gets_one_computed_in_the_browser() -> anyhow::Result<()> {
    // The shipped model under another name: no `axes/quick-copy.axis.safetensors` exists.
    let model = dist_dir().join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    let server = StaticServer::start_with_aliases(
        dist_dir(),
        vec![("/models/quick-copy.gguf".to_owned(), model)],
    )?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    browser
        .client
        .goto(&server.url("/?model=models/quick-copy.gguf"))
        .await?;
    load_model(&browser, "cpu", "quantized", LOAD).await?;
    let help = browser.text_of("[data-testid=axis-help]").await?;
    ensure!(help.contains("compute a first one right here"), "{help}");
    ensure!(
        browser
            .client
            .find(Locator::Css("[data-testid=cap-first-layer]"))
            .await
            .is_err(),
        "no capping controls before there is an axis"
    );

    // Cancel: a two-batch run stopped after its first report leaves everything as it was.
    set_size(&browser, 3, 2, 16).await?;
    let planned = browser.text_of("[data-testid=axis-build-answers]").await?;
    ensure!(planned.contains("16 answers"), "{planned}");
    click(&browser, "axis-build-start").await?;
    let start = Instant::now();
    loop {
        let text = browser
            .text_of("[data-testid=axis-build-running]")
            .await
            .unwrap_or_default();
        if text.contains("of 16 answers") {
            eprintln!(
                "first progress report after {:.1} s: {text}",
                start.elapsed().as_secs_f64()
            );
            break;
        }
        ensure!(start.elapsed() < BUILD, "no progress report: {text:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    ensure!(
        eval(
            &browser,
            "return document.querySelector('[data-testid=send]').disabled"
        )
        .await?
            == serde_json::json!(true),
        "nothing else can be sent while the worker computes"
    );
    click(&browser, "axis-build-cancel").await?;
    let ended = wait_for_any(
        &browser,
        &[
            "axis-build-cancelled",
            "axis-build-done",
            "axis-build-error",
        ],
        BUILD,
    )
    .await?;
    ensure!(ended == "axis-build-cancelled", "cancel ended as {ended}");
    let status = browser.text_of("[data-testid=axis-status]").await?;
    ensure!(
        status.contains("quick-copy.axis.safetensors"),
        "still no axis: {status}"
    );

    // A run to the end: one batch of 8 answers (3 roles + 5 default prompts, one question).
    set_size(&browser, 3, 1, 12).await?;
    click(&browser, "axis-build-start").await?;
    let start = Instant::now();
    let ended = wait_for_any(&browser, &["axis-build-done", "axis-build-error"], BUILD).await?;
    let seconds = start.elapsed().as_secs_f64();
    if ended == "axis-build-error" {
        bail!(
            "{}",
            browser.text_of("[data-testid=axis-build-error]").await?
        );
    }
    let done = browser.text_of("[data-testid=axis-build-done]").await?;
    eprintln!("axis built in {seconds:.1} s (page: {done})");
    ensure!(done.contains("Computed from 8 answers"), "{done}");
    browser.screenshot("axis-build-done").await?;

    // The file: valid, for this model (same bytes as the shipped GGUF), and pointing the way
    // the lab's axis does at the monitor layer.
    capture_downloads(&browser).await?;
    click(&browser, "axis-build-download").await?;
    let bytes = last_download(&browser).await?;
    let file = AxisFile::from_bytes(&bytes)?;
    let shipped = AxisFile::from_bytes(&std::fs::read(
        dist_dir().join("axes/SmolLM2-135M-Instruct.Q4_1.axis.safetensors"),
    )?)?;
    ensure!(file.meta.model_id == "quick-copy", "{}", file.meta.model_id);
    ensure!(
        file.meta.model_sha256 == shipped.meta.model_sha256,
        "the file names the GGUF by its sha256: {} vs {}",
        file.meta.model_sha256,
        shipped.meta.model_sha256
    );
    ensure!(file.meta.n_layers == 30 && file.meta.roles.len() == 3);
    let monitor = file.meta.monitor_layer;
    let cos = engine::axis::stats::cosine(file.axis_at(monitor), shipped.axis_at(monitor));
    eprintln!(
        "downloaded axis: {} bytes, monitor layer {monitor}, cap {:?}, cos(browser axis, lab axis) at the monitor layer {cos:.3}",
        bytes.len(),
        file.meta.cap
    );
    // Eight answers of 12 tokens are a tiny sample, and unlike the lab the page has no judge
    // to drop answers that fall out of role (0.30 measured with these seeds against the lab's
    // first axis, 0.19 against the judge-v2 one, 0.17 against judge v3); random directions in
    // 576 dimensions give |cos| ≈ 0.04 ± 0.04, so 0.15 (3.5 standard deviations) says it points
    // the lab's way. How
    // close a Quick-size build gets (> 0.4 at layers 10-25) is the native test in quick_axis.rs.
    ensure!(cos > 0.15, "cos(browser axis, lab axis) = {cos}");

    // In use at once: capping controls appear, answers are scored, the capped twin answers.
    ensure!(
        browser
            .client
            .find(Locator::Css("[data-testid=cap-first-layer]"))
            .await
            .is_ok(),
        "capping controls once the axis exists"
    );
    set_input(&browser, "setting-max-tokens", "8").await?;
    set_capping(&browser, true).await?;
    ask(&browser, "Who are you?", ANSWER).await?;
    // The capped twin follows the default answer.
    wait_for_count(
        &browser,
        "[data-testid=message-assistant][data-streaming=false]",
        2,
        ANSWER,
    )
    .await?;
    let scores = attrs(&browser, "[data-testid=message-score]", "data-score").await?;
    eprintln!("scores with the browser-computed axis: {scores:?}");
    ensure!(
        scores.len() == 2 && scores.iter().all(|s| s.parse::<f32>().is_ok()),
        "both answers are scored: {scores:?}"
    );
    browser.screenshot("axis-build-in-use").await?;
    browser.close().await
}
