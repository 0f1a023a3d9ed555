//! The demo end to end, on the real model and the shipped axis file, on the CPU backend
//! (burn's flex compiled to wasm — faster than SwiftShader's WebGPU here): one message answered
//! by the default model and its capped twin, both scored and charted; the conversation survives
//! a reload; text that looks like HTML stays text; a corrupt saved state is ignored with a notice.

use std::time::{Duration, Instant};

use browser_tests::browser::{Browser, BrowserOptions};
use browser_tests::dist_dir;
use browser_tests::page::{attrs, eval, load_model, set_capping, set_input, wait_for_count};
use browser_tests::static_server::StaticServer;
use fantoccini::Locator;

const LOAD: Duration = Duration::from_secs(600);
const ANSWER: Duration = Duration::from_secs(600);
const BOOT: Duration = Duration::from_secs(60);
const STORAGE_KEY: &str = "assistant-axis/v1";

const DEFAULT_ANSWER: &str = "[data-testid=column-default] [data-testid=message-assistant]";
const CAPPED_ANSWER: &str = "[data-testid=column-capped] [data-testid=message-assistant]";

fn parse_all(values: &[String]) -> anyhow::Result<Vec<f32>> {
    values
        .iter()
        .map(|v| {
            v.parse::<f32>()
                .map_err(|e| anyhow::anyhow!("not a number: {v:?} ({e})"))
        })
        .collect()
}

async fn answer_texts(browser: &Browser) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for el in browser
        .client
        .find_all(Locator::Css(
            "[data-testid=message-assistant] .message-text",
        ))
        .await?
    {
        out.push(el.text().await?);
    }
    Ok(out)
}

/// Clicking the chart point of (`column`, `turn`) brings that answer into view and marks it.
async fn assert_click_scrolls_to_message(
    browser: &Browser,
    column: &str,
    turn: &str,
) -> anyhow::Result<()> {
    // Scroll the answer out of view first, so that the click has something to do.
    eval(
        browser,
        "document.querySelectorAll('.chat-messages').forEach(l => l.scrollTop = l.scrollHeight); \
         window.scrollTo(0, document.body.scrollHeight); return true;",
    )
    .await?;
    browser
        .client
        .find(Locator::Css(&format!(
            "[data-testid=chart-point][data-column={column}][data-turn='{turn}']"
        )))
        .await?
        .click()
        .await?;
    let marked = eval(
        browser,
        "const el = document.querySelector('[data-highlight]'); if (!el) return null; \
         const b = el.getBoundingClientRect(); const list = el.closest('.chat-messages').getBoundingClientRect(); \
         return { column: el.dataset.column, turn: el.dataset.turn, \
                  visible: b.bottom > Math.max(0, list.top) && b.top < Math.min(innerHeight, list.bottom) };",
    )
    .await?;
    assert_eq!(marked["column"], column, "marked message: {marked}");
    assert_eq!(marked["turn"], turn, "marked message: {marked}");
    assert_eq!(
        marked["visible"], true,
        "the marked message is on screen: {marked}"
    );
    browser.screenshot("demo-chart-click").await?;
    Ok(())
}

#[tokio::test]
async fn both_columns_answer_scored_and_charted_and_the_conversation_survives_a_reload()
-> anyhow::Result<()> {
    let server = StaticServer::start(dist_dir())?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    browser.client.goto(&server.url("/")).await?;
    let started = Instant::now();
    load_model(&browser, "cpu", "f32", LOAD).await?;
    eprintln!("model loaded in {:.1} s", started.elapsed().as_secs_f64());

    // The axis file loaded: the capping controls carry its calibration.
    let axis_status = browser
        .text_of("[data-testid=axis-status]")
        .await
        .unwrap_or_default();
    let first = browser
        .client
        .find(Locator::Css("[data-testid=cap-first-layer]"))
        .await
        .map_err(|_| anyhow::anyhow!("no capping controls: {axis_status}"))?
        .prop("value")
        .await?
        .unwrap_or_default();
    let last = browser
        .client
        .find(Locator::Css("[data-testid=cap-last-layer]"))
        .await?
        .prop("value")
        .await?
        .unwrap_or_default();
    let (first, last): (usize, usize) = (first.parse()?, last.parse()?);
    assert!(first <= last && last < 30, "cap band {first}–{last}");
    set_capping(&browser, true).await?;
    set_input(&browser, "setting-max-tokens", "24").await?;

    let input = browser
        .client
        .find(Locator::Css("[data-testid=composer-input]"))
        .await?;
    input.send_keys("Hello! Who are you? <b>x</b>").await?;
    browser
        .client
        .find(Locator::Css("[data-testid=send]"))
        .await?
        .click()
        .await?;
    let asked = Instant::now();
    // Typing works while an answer streams (the model runs in the worker, not the page).
    input.send_keys("still typing").await?;
    let typed = input.prop("value").await?.unwrap_or_default();
    assert_eq!(typed, "still typing");
    input.clear().await?;

    // The default answer first, then the capped twin, one after the other.
    browser
        .wait_for_attr(DEFAULT_ANSWER, "data-streaming", ANSWER, |s| s == "false")
        .await?;
    eprintln!(
        "default answer after {:.1} s",
        asked.elapsed().as_secs_f64()
    );
    wait_for_count(&browser, CAPPED_ANSWER, 1, ANSWER).await?;
    browser
        .wait_for_attr(CAPPED_ANSWER, "data-streaming", ANSWER, |s| s == "false")
        .await?;
    eprintln!("capped answer after {:.1} s", asked.elapsed().as_secs_f64());
    browser.screenshot("demo-two-columns").await?;

    let texts = answer_texts(&browser).await?;
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts.iter().all(|t| !t.trim().is_empty()), "{texts:?}");
    eprintln!("answers: {texts:?}");

    // The user's text is text, not markup.
    let user = browser
        .client
        .find(Locator::Css("[data-testid=message-user] .message-text"))
        .await?;
    assert_eq!(user.text().await?, "Hello! Who are you? <b>x</b>");
    assert!(user.html(true).await?.contains("&lt;b&gt;x&lt;/b&gt;"));

    // Each answer shows a finite score.
    let scores = parse_all(&attrs(&browser, "[data-testid=message-score]", "data-score").await?)?;
    let text_scores =
        parse_all(&attrs(&browser, "[data-testid=message-score]", "data-text-score").await?)?;
    eprintln!("activation scores {scores:?}, text scores {text_scores:?}");
    assert_eq!(scores.len(), 2);
    assert!(scores.iter().chain(&text_scores).all(|s| s.is_finite()));
    // The default answer's two readings are the same model on the same tokens (token-by-token
    // decoding vs one prefill): they agree up to float rounding.
    let (a, t) = (scores[0], text_scores[0]);
    assert!(
        (a - t).abs() <= 1e-3 * a.abs().max(1.0),
        "default answer: activations {a} vs text re-read {t}"
    );
    let shown = browser
        .text_of(&format!("{CAPPED_ANSWER} [data-testid=message-score]"))
        .await?;
    assert!(shown.starts_with("Axis score"), "{shown}");
    // The cap is a floor: at every capped layer and position the capped model's projection is
    // at least τ (up to float rounding).
    let margin = attrs(
        &browser,
        &format!("{CAPPED_ANSWER} [data-testid=message-score]"),
        "data-cap-margin",
    )
    .await?;
    let margin = parse_all(&margin)?;
    eprintln!("capped answer: min over capped layers of (projection − τ) = {margin:?}");
    assert!(margin[0] >= -1e-3, "projection below τ: {margin:?}");

    // The chart has one point per answer per column; the Activations view plots what the
    // messages show as their score.
    wait_for_count(&browser, "[data-testid=chart-point]", 2, BOOT).await?;
    browser
        .client
        .find(Locator::Css("[data-testid=view-activations]"))
        .await?
        .click()
        .await?;
    let plotted = parse_all(&attrs(&browser, "[data-testid=chart-point]", "data-score").await?)?;
    assert_eq!(plotted.len(), 2);
    for (p, s) in plotted.iter().zip(&scores) {
        assert!(
            (p - s).abs() < 1e-6,
            "chart {plotted:?} vs messages {scores:?}"
        );
    }
    let tip = eval(
        &browser,
        "return document.querySelector('[data-testid=chart-point] title').textContent;",
    )
    .await?;
    let tip = tip.as_str().unwrap_or_default().to_owned();
    assert!(tip.starts_with("Turn 1 · Default · score"), "{tip:?}");
    browser.screenshot("demo-chart-activations").await?;

    // A second turn: each column's model answers again; the chart has one point per turn per
    // column. Undo removes the whole turn from both columns and the chart.
    input.send_keys("Tell me about yourself.").await?;
    browser
        .client
        .find(Locator::Css("[data-testid=send]"))
        .await?
        .click()
        .await?;
    wait_for_count(&browser, CAPPED_ANSWER, 2, ANSWER).await?;
    wait_for_count(&browser, "[data-testid=chart-point]", 4, ANSWER).await?;
    let turns = attrs(&browser, "[data-testid=chart-point]", "data-turn").await?;
    assert_eq!(turns, ["1", "2", "1", "2"], "default series, then capped");
    browser.screenshot("demo-two-turns").await?;
    assert_click_scrolls_to_message(&browser, "capped", "1").await?;
    browser
        .client
        .find(Locator::Css("[data-testid=undo]"))
        .await?
        .click()
        .await?;
    wait_for_count(&browser, "[data-testid=chart-point]", 2, BOOT).await?;
    assert_eq!(answer_texts(&browser).await?, texts);

    // Reload: the conversation, its scores and the chart come back before any model loads.
    browser.client.refresh().await?;
    wait_for_count(&browser, "[data-testid=message-assistant]", 2, BOOT).await?;
    assert_eq!(answer_texts(&browser).await?, texts);
    wait_for_count(&browser, "[data-testid=chart-point]", 2, BOOT).await?;
    let after = parse_all(&attrs(&browser, "[data-testid=message-score]", "data-score").await?)?;
    assert_eq!(after, scores);
    browser.screenshot("demo-after-reload").await?;

    // Model output that looks like markup is shown as text: put it where a stored answer is
    // (the same component renders streaming and restored answers) and reload.
    eval(
        &browser,
        &format!(
            "const s = JSON.parse(localStorage.getItem('{STORAGE_KEY}')); \
             s.conversation.turns[0].default.content = '<b>x</b>'; \
             localStorage.setItem('{STORAGE_KEY}', JSON.stringify(s)); return true;"
        ),
    )
    .await?;
    browser.client.refresh().await?;
    wait_for_count(&browser, "[data-testid=message-assistant]", 2, BOOT).await?;
    let answer = browser
        .client
        .find(Locator::Css(&format!("{DEFAULT_ANSWER} .message-text")))
        .await?;
    assert_eq!(answer.text().await?, "<b>x</b>");
    let inner = answer.html(true).await?;
    assert_eq!(inner, "&lt;b&gt;x&lt;/b&gt;");
    assert!(
        browser
            .client
            .find_all(Locator::Css(".message-text b"))
            .await?
            .is_empty()
    );

    // A corrupt saved state is ignored with a notice; the page still works.
    eval(
        &browser,
        &format!("localStorage.setItem('{STORAGE_KEY}', '{{not json'); return true;"),
    )
    .await?;
    browser.client.refresh().await?;
    let notice = browser
        .client
        .wait()
        .at_most(BOOT)
        .for_element(Locator::Css("[data-testid=notice]"))
        .await?
        .text()
        .await?;
    assert!(notice.contains("could not be restored"), "{notice}");
    browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", BOOT, |s| {
            s == "idle"
        })
        .await?;
    assert!(
        browser
            .client
            .find_all(Locator::Css("[data-testid=message-assistant]"))
            .await?
            .is_empty()
    );
    browser.screenshot("demo-corrupt-storage").await?;
    browser.close().await
}

/// The same flow on WebGPU (SwiftShader here, a GPU emulated on the CPU), with quantized
/// weights, the page's default there (f32 weights on WebGPU: chat_engine's load check): both
/// columns write four tokens (84 s for both answers on the 2-core machine; 238 s with f32
/// weights and the prompt in one forward through burn's kernels), both are scored, and
/// the capped model's projections at every capped layer stay at or above τ. Then the WebGPU device is lost mid-answer
/// (`GPUDevice.destroy()`): the page recovers on the CPU backend with the conversation kept.
#[tokio::test]
async fn on_webgpu_the_capped_twin_holds_the_floor_and_device_loss_falls_back_to_cpu()
-> anyhow::Result<()> {
    let server = StaticServer::start(dist_dir())?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    browser.client.goto(&server.url("/")).await?;
    let started = Instant::now();
    // Quantized weights, the page's default on WebGPU: our kernels, and on SwiftShader the
    // prompt token by token (f32 weights on WebGPU: chat_engine's `webgpu_f32_weights_…`).
    load_model(&browser, "webgpu", "quantized", LOAD).await?;
    eprintln!(
        "WebGPU model loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    set_capping(&browser, true).await?;
    set_input(&browser, "setting-max-tokens", "4").await?;
    browser
        .client
        .find(Locator::Css("[data-testid=composer-input]"))
        .await?
        .send_keys("Hi! Who are you?")
        .await?;
    browser
        .client
        .find(Locator::Css("[data-testid=send]"))
        .await?
        .click()
        .await?;
    let asked = Instant::now();
    wait_for_count(&browser, CAPPED_ANSWER, 1, ANSWER).await?;
    browser
        .wait_for_attr(CAPPED_ANSWER, "data-streaming", ANSWER, |s| s == "false")
        .await?;
    eprintln!(
        "both WebGPU answers after {:.1} s",
        asked.elapsed().as_secs_f64()
    );
    browser.screenshot("demo-webgpu-two-columns").await?;
    let texts = answer_texts(&browser).await?;
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts.iter().all(|t| !t.trim().is_empty()), "{texts:?}");
    let scores = parse_all(&attrs(&browser, "[data-testid=message-score]", "data-score").await?)?;
    let text_scores =
        parse_all(&attrs(&browser, "[data-testid=message-score]", "data-text-score").await?)?;
    eprintln!("WebGPU: answers {texts:?}, activation scores {scores:?}, text {text_scores:?}");
    assert_eq!(scores.len(), 2);
    assert!(scores.iter().chain(&text_scores).all(|s| s.is_finite()));
    let margin = parse_all(
        &attrs(
            &browser,
            &format!("{CAPPED_ANSWER} [data-testid=message-score]"),
            "data-cap-margin",
        )
        .await?,
    )?;
    eprintln!("WebGPU capped answer: min (projection − τ) = {margin:?}");
    assert!(margin[0] >= -1e-3, "projection below τ: {margin:?}");
    wait_for_count(&browser, "[data-testid=chart-point]", 2, BOOT).await?;

    // Device loss while an answer streams: the page says so, keeps the conversation, and the
    // engine comes back on the CPU backend.
    set_input(&browser, "setting-max-tokens", "200").await?;
    browser
        .client
        .find(Locator::Css("[data-testid=composer-input]"))
        .await?
        .send_keys("Tell me a long story about the sea.")
        .await?;
    browser
        .client
        .find(Locator::Css("[data-testid=send]"))
        .await?
        .click()
        .await?;
    wait_for_count(&browser, DEFAULT_ANSWER, 2, BOOT).await?;
    browser
        .wait_for_attr(
            &format!("{DEFAULT_ANSWER}[data-turn='2']"),
            "data-streaming",
            ANSWER,
            |s| s == "true",
        )
        .await?;
    eval(
        &browser,
        "window.wasmBindings.simulate_device_loss(); return true;",
    )
    .await?;
    let notice = browser
        .client
        .wait()
        .at_most(ANSWER)
        .for_element(Locator::Css("[data-testid=notice]"))
        .await?
        .text()
        .await?;
    assert!(notice.contains("GPU device was lost"), "{notice}");
    browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", LOAD, |s| {
            s == "ready" || s == "failed"
        })
        .await?;
    let status = browser.text_of("[data-testid=engine-status]").await?;
    eprintln!("after device loss: {notice} / {status}");
    assert!(status.contains("CPU"), "reloaded on the CPU: {status}");
    let kept = answer_texts(&browser).await?;
    assert_eq!(&kept[..1], &texts[..1], "the first turn is kept");
    let cut = browser
        .text_of(&format!("{DEFAULT_ANSWER}[data-turn='2']"))
        .await?;
    // The cut-off answer ends with an error: the page's "cut off: the GPU device was lost", or
    // the engine's failed readback when that message won the race.
    assert!(
        cut.contains("GPU device was lost") || cut.contains("readback failed"),
        "{cut}"
    );
    browser.screenshot("demo-webgpu-device-lost").await?;
    // And the conversation goes on, on the CPU.
    set_capping(&browser, false).await?;
    set_input(&browser, "setting-max-tokens", "4").await?;
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
    wait_for_count(&browser, DEFAULT_ANSWER, 3, BOOT).await?;
    browser
        .wait_for_attr(
            &format!("{DEFAULT_ANSWER}[data-turn='3']"),
            "data-streaming",
            ANSWER,
            |s| s == "false",
        )
        .await?;
    browser.close().await
}
