//! The engine in the page: load the real model in the inference worker, on WebGPU
//! (SwiftShader here) and on the CPU backend compiled to wasm, and answer a question greedily.
//!
//! The expected answer is HF transformers' greedy answer on the dequantized f32 model
//! (tools/reference, fixture `logits_hf.json`): the f32 path must reproduce it exactly.

use std::time::Duration;

use browser_tests::browser::{Browser, BrowserOptions};
use browser_tests::page::{attrs, click, eval, load_model, set_capping, set_input};
use browser_tests::static_server::StaticServer;
use browser_tests::{dist_dir, with_chat_template};
use fantoccini::Locator;

const FRANCE_ANSWER: &str = "The capital of France is Paris.";
/// SwiftShader runs WebGPU on the CPU: loading the f32 weights and compiling shaders is slow.
const LOAD: Duration = Duration::from_secs(600);
const ANSWER: Duration = Duration::from_secs(600);

async fn ask(browser: &Browser, question: &str) -> anyhow::Result<String> {
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
            ANSWER,
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

/// Loads `backend`/`precision`, asks the France question greedily and checks the reference
/// answer; returns the open page (and its server) for more checks.
async fn france_greedy(
    backend: &str,
    precision: &str,
    screenshot: &str,
) -> anyhow::Result<(StaticServer, Browser)> {
    france_greedy_at("/", backend, precision, screenshot).await
}

/// `france_greedy` on the page opened at `path` (e.g. "/?threads=1").
async fn france_greedy_at(
    path: &str,
    backend: &str,
    precision: &str,
    screenshot: &str,
) -> anyhow::Result<(StaticServer, Browser)> {
    let server = StaticServer::start(dist_dir())?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    browser.client.goto(&server.url(path)).await?;
    load_model(&browser, backend, precision, LOAD).await?;
    // One column: this test is about the engine's answer, not the capped twin.
    set_capping(&browser, false).await?;
    set_input(&browser, "setting-temperature", "0").await?;
    set_input(&browser, "setting-frequency-penalty", "0").await?;
    set_input(&browser, "setting-max-tokens", "24").await?;
    let answer = ask(&browser, "What is the capital of France?").await?;
    browser.screenshot(screenshot).await?;
    let meta = browser
        .text_of("[data-testid=message-meta]")
        .await
        .unwrap_or_default();
    eprintln!("{backend} {precision}: {answer:?} ({meta})");
    assert_eq!(answer.trim(), FRANCE_ANSWER);
    assert!(
        meta.contains("end of turn"),
        "the answer should end with <|im_end|>: {meta}"
    );
    Ok((server, browser))
}

/// The engine's tolerance for logits against a reference (`crates/engine/tests/model_gguf.rs`,
/// `LOGIT_TOL`: our f32 CPU path against HF transformers).
const LOGIT_TOL: f64 = 1e-3;

/// The load's WebGPU check (`answerer::check_webgpu`) read the prompt and two decode steps on
/// WebGPU and on a CPU copy of the same file: the page says how far apart the logits were, and
/// they must agree within the engine's tolerance, with the same greedy token everywhere.
async fn webgpu_logits_match_the_cpu(browser: &Browser) -> anyhow::Result<()> {
    let read = |attr: &'static str| async move {
        let values = attrs(browser, "[data-testid=webgpu-check]", attr).await?;
        let value = values
            .first()
            .ok_or_else(|| anyhow::anyhow!("the model panel shows no WebGPU check"))?;
        value
            .parse::<f64>()
            .map_err(|e| anyhow::anyhow!("{attr}={value:?}: {e}"))
    };
    let diff = read("data-max-abs-diff").await?;
    let positions = read("data-positions").await?;
    let same = read("data-same-greedy").await?;
    eprintln!(
        "WebGPU vs CPU: max |Δlogit| {diff:e} over {positions} positions, {same} same greedy"
    );
    assert_eq!(
        positions, 3.0,
        "the prompt's last position and two decode steps"
    );
    assert_eq!(same, positions, "the same greedy token at every position");
    assert!(diff <= LOGIT_TOL, "max |Δlogit| {diff} > {LOGIT_TOL}");
    Ok(())
}

/// Quantized weights on WebGPU — what a WebGPU visitor runs by default — decode with our own
/// mat-vec kernel (engine `model/gpu.rs`: the 4-bit blocks and Q4_1's offset term in one
/// dispatch; `cargo xtask bench` counts the dispatches). The weights are the f32 path's exactly
/// and only the order of the additions differs, so the greedy answer must be the reference's.
/// (f32 weights on WebGPU: `webgpu_f32_weights_match_the_cpu`.)
///
/// Also the backend chosen by measuring, on the answer just written: on SwiftShader WebGPU
/// decodes far below the CPU path, so the page offers to switch, and the switch loads the model
/// on the CPU. On the next visit the backend measured clearly faster is preselected, saying
/// why, unless the person chose one in the select (that choice always wins).
#[tokio::test]
async fn webgpu_quantized_answers_the_france_question_like_the_reference() -> anyhow::Result<()> {
    let (server, browser) = france_greedy("webgpu", "quantized", "chat-france-webgpu").await?;
    webgpu_logits_match_the_cpu(&browser).await?;
    // SwiftShader is a software adapter: the mat-vec without a barrier, and the prompt through
    // the one-token kernels (docs/webgpu-decode.md).
    assert_webgpu_shapes(
        &browser,
        "mat-vec: one unit per row, prompt: token by token",
    )
    .await?;
    backend_is_chosen_by_measuring(&server, &browser).await?;
    browser.close().await
}

/// The model panel's device line names the WebGPU device's shapes (mat-vec, prompt pass).
async fn assert_webgpu_shapes(browser: &Browser, shapes: &str) -> anyhow::Result<()> {
    let status = browser.text_of("[data-testid=engine-status]").await?;
    assert!(
        status.contains(&format!("WebGPU (burn wgpu; {shapes})")),
        "the device line should name the WebGPU shapes {shapes:?}: {status:?}"
    );
    Ok(())
}

/// The shapes a GPU gets, which SwiftShader would not be given: the mat-vec with four units per
/// row and one barrier (`?matvec=cooperative`) and the prompt in one batched forward through
/// burn's kernels (`?prompt-pass=batched`). They must agree with the CPU copy in the load's
/// check as closely as the software adapter's shapes do (prompt and two decode steps; only the
/// order of the additions differs).
#[tokio::test]
async fn webgpu_quantized_with_a_gpus_shapes_matches_the_cpu() -> anyhow::Result<()> {
    let server = StaticServer::start(dist_dir())?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    browser
        .client
        .goto(&server.url("/?matvec=cooperative&prompt-pass=batched"))
        .await?;
    load_model(&browser, "webgpu", "quantized", LOAD).await?;
    assert_webgpu_shapes(&browser, "mat-vec: 4 units per row, prompt: batched").await?;
    webgpu_logits_match_the_cpu(&browser).await?;
    browser.close().await
}

/// f32 weights on WebGPU run burn's matmul (our kernels read only quantized blocks), whatever
/// the adapter, and the device line names no shapes. The load's check against the CPU copy
/// covers them (prompt and two decode steps); the demo's WebGPU test answers with quantized
/// weights, the page's default on WebGPU.
#[tokio::test]
async fn webgpu_f32_weights_match_the_cpu() -> anyhow::Result<()> {
    let server = StaticServer::start(dist_dir())?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    browser.client.goto(&server.url("/")).await?;
    load_model(&browser, "webgpu", "f32", LOAD).await?;
    let status = browser.text_of("[data-testid=engine-status]").await?;
    assert!(
        status.contains("WebGPU (burn wgpu), f32 weights"),
        "f32 weights name no mat-vec shape: {status:?}"
    );
    webgpu_logits_match_the_cpu(&browser).await?;
    browser.close().await
}

/// The CPU backend's thread count, as the model panel names it ("CPU (burn flex, wasm, 2
/// threads)"), and the cores the browser reports.
async fn cpu_threads(browser: &Browser) -> anyhow::Result<(u32, u32)> {
    let status = browser.text_of("[data-testid=engine-status]").await?;
    let threads = status
        .split("wasm, ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no thread count in {status:?}"))?;
    let cores = eval(browser, "return navigator.hardwareConcurrency || 1;")
        .await?
        .as_u64()
        .unwrap_or(1) as u32;
    eprintln!("CPU backend: {threads} thread(s) on {cores} core(s): {status}");
    Ok((threads, cores))
}

/// f32 weights on the single-thread module, which `?threads=1` asks for: the module a page that
/// is not cross-origin isolated runs (docs/threads.md).
#[tokio::test]
async fn cpu_wasm_f32_answers_the_france_question_like_the_reference() -> anyhow::Result<()> {
    let (_server, browser) =
        france_greedy_at("/?threads=1", "cpu", "f32", "chat-france-cpu").await?;
    let (threads, _) = cpu_threads(&browser).await?;
    assert_eq!(threads, 1, "?threads=1 runs the single-thread module");
    browser.close().await
}

/// Quantized weights on the CPU run our kernel on the 4-bit blocks (engine `block_matmul`,
/// compiled to wasm with SIMD128). Its weights are the f32 path's exactly, so the greedy answer
/// must be the reference's too. The test server sends the cross-origin isolation headers, so
/// this runs the threaded module (`dist/threads/`) on every core: splitting the outputs over
/// threads does not change any sum, so the answer is the reference's there too.
#[tokio::test]
async fn cpu_wasm_quantized_answers_the_france_question_like_the_reference() -> anyhow::Result<()> {
    let (_server, browser) = france_greedy("cpu", "quantized", "chat-france-cpu-quantized").await?;
    let (threads, cores) = cpu_threads(&browser).await?;
    assert_eq!(threads, cores.clamp(1, 8), "every core, up to 8");
    browser.close().await
}

#[tokio::test]
async fn a_broken_model_url_shows_an_error_instead_of_a_blank_page() -> anyhow::Result<()> {
    let server = StaticServer::start(dist_dir())?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    browser
        .client
        .goto(&server.url("/?model=models/does-not-exist.gguf"))
        .await?;
    browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", LOAD, |s| {
            s == "idle"
        })
        .await?;
    browser
        .client
        .find(Locator::Css("[data-testid=load-model]"))
        .await?
        .click()
        .await?;
    let state = browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", LOAD, |s| {
            s == "failed" || s == "ready"
        })
        .await?;
    let message = browser.text_of("[data-testid=engine-status]").await?;
    assert_eq!(state, "failed", "status: {message}");
    assert!(
        message.contains("HTTP 404"),
        "the error should say what happened: {message}"
    );
    browser.screenshot("chat-broken-model-url").await?;
    browser.close().await
}

/// A load that never finishes (the test server stalls the download) can be cancelled: the
/// worker is replaced, the page says so and can load again.
#[tokio::test]
async fn a_stuck_load_can_be_cancelled() -> anyhow::Result<()> {
    let server = StaticServer::start(dist_dir())?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    browser
        .client
        .goto(&server.url("/?model=stalled/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
        .await?;
    browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", LOAD, |s| {
            s == "idle"
        })
        .await?;
    click(&browser, "load-model").await?;
    browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", LOAD, |s| {
            s == "downloading"
        })
        .await?;
    // Still stuck a few seconds later.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state = browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", LOAD, |_| true)
        .await?;
    assert_eq!(state, "downloading");
    click(&browser, "cancel-load").await?;
    let state = browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", LOAD, |s| {
            s == "idle" || s == "failed"
        })
        .await?;
    assert_eq!(state, "idle", "a fresh engine, ready to load");
    let notice = browser.text_of("[data-testid=notice]").await?;
    assert!(notice.contains("Loading was cancelled"), "{notice}");
    assert!(
        browser
            .client
            .find(Locator::Css("[data-testid=cancel-load]"))
            .await
            .is_err(),
        "no Cancel button without a load"
    );
    browser.close().await
}

/// A chat template that never finishes — a hundred times `'x' in (['y'] * 10**9)`: the template
/// engine walks the sequence, and neither its fuel nor our size limits count that — cannot
/// hold the page: after the page's time limit (15 s) the worker is replaced and the model panel
/// says why. The fresh worker takes the next load, a template that doubles a string until the
/// wasm memory (4 GB) runs out: it kills the worker, and the page replaces that one too.
#[tokio::test]
async fn a_chat_template_that_never_finishes_is_stopped_by_the_page() -> anyhow::Result<()> {
    let model = std::fs::read(dist_dir().join("models/SmolLM2-135M-Instruct.Q4_1.gguf"))?;
    let dir = std::env::temp_dir().join(format!("axis-looping-template-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let looping = dir.join("looping.gguf");
    std::fs::write(
        &looping,
        // (10**12, the native example, is no sequence length in wasm32: refused at once there.)
        with_chat_template(
            &model,
            "{% for i in range(100) %}{{ 'x' in (['y'] * 10**9) }}{% endfor %}",
        )?,
    )?;
    // 100 MB (the template engine's limit for one `'x' * n`), doubled seven times: 12.8 GB.
    let hungry = dir.join("hungry.gguf");
    std::fs::write(
        &hungry,
        with_chat_template(
            &model,
            &format!(
                "{{% set a = 'x' * 100000000 %}}{}{{{{ a|length }}}}",
                "{% set a = a ~ a %}".repeat(7)
            ),
        )?,
    )?;
    let server = StaticServer::start_with_aliases(
        dist_dir(),
        vec![
            ("/models/looping.gguf".to_owned(), looping),
            ("/models/hungry.gguf".to_owned(), hungry),
        ],
    )?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    browser
        .client
        .goto(&server.url("/?model=models/looping.gguf"))
        .await?;
    let state = |wanted: &'static str| {
        let browser = &browser;
        async move {
            browser
                .wait_for_attr("[data-testid=model-panel]", "data-state", LOAD, |s| {
                    s == wanted
                })
                .await
        }
    };
    state("idle").await?;
    click(&browser, "load-model").await?;
    state("preparing").await?;
    let started = std::time::Instant::now();
    state("failed").await?;
    let waited = started.elapsed().as_secs_f64();
    let error = browser.text_of("[data-testid=engine-error]").await?;
    eprintln!("looping template stopped after {waited:.1} s: {error}");
    assert!(
        error.contains("chat template did not finish within 15 s"),
        "{error}"
    );
    assert!(waited > 10.0, "stopped by the time limit, not sooner");
    browser.screenshot("chat-template-time-limit").await?;
    // The fresh worker hears the next load.
    let input = browser
        .client
        .find(Locator::Css("[data-testid=model-url-input]"))
        .await?;
    input.send_keys(&server.url("/models/hungry.gguf")).await?;
    click(&browser, "load-url").await?;
    state("preparing").await?;
    let started = std::time::Instant::now();
    state("failed").await?;
    let error = browser.text_of("[data-testid=engine-error]").await?;
    eprintln!(
        "memory-hungry template stopped after {:.1} s: {error}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        error.contains("chat template did not finish") || error.contains("worker crashed"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir)?;
    browser.close().await
}

#[tokio::test]
async fn a_model_without_an_axis_file_chats_unscored_and_says_why() -> anyhow::Result<()> {
    // The shipped model under another name: the page looks for `axes/<stem>.axis.safetensors`,
    // which does not exist for this name.
    let model = dist_dir().join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    let server = StaticServer::start_with_aliases(
        dist_dir(),
        vec![("/models/renamed-copy.gguf".to_owned(), model)],
    )?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    browser
        .client
        .goto(&server.url("/?model=models/renamed-copy.gguf"))
        .await?;
    load_model(&browser, "cpu", "quantized", LOAD).await?;
    let axis_status = browser.text_of("[data-testid=axis-status]").await?;
    assert!(
        axis_status.contains("renamed-copy.axis.safetensors") && axis_status.contains("404"),
        "the capping panel should say which axis file is missing: {axis_status}"
    );
    assert!(
        browser
            .client
            .find(Locator::Css("[data-testid=cap-first-layer]"))
            .await
            .is_err(),
        "no capping controls without an axis"
    );
    set_input(&browser, "setting-max-tokens", "8").await?;
    let answer = ask(&browser, "Hello!").await?;
    assert!(!answer.trim().is_empty(), "the chat still works");
    let score = browser.text_of("[data-testid=message-assistant]").await?;
    assert!(
        browser
            .client
            .find(Locator::Css("[data-testid=message-score][data-score]"))
            .await
            .is_err(),
        "an answer without an axis has no score: {score}"
    );
    browser.screenshot("chat-no-axis-file").await?;
    browser.close().await
}

/// An axis file records the sha256 of the GGUF it was computed for. Loaded beside another file
/// (here the shipped model with 64 bytes appended: same weights, different sha256) it is used,
/// and the capping panel says that it belongs to another model file; beside its own model the
/// notice is absent. The altered pair also gets the shipped axis rewritten in the older format 1
/// (floors from role answers only): it loads, and the panel says its floors are not the paper's;
/// the shipped file offers the paper's floors, the 75th percentile of all answers by default.
#[tokio::test]
async fn an_axis_file_for_another_model_file_is_used_with_a_notice() -> anyhow::Result<()> {
    let mut bytes = std::fs::read(dist_dir().join("models/SmolLM2-135M-Instruct.Q4_1.gguf"))?;
    bytes.extend([0u8; 64]);
    let dir = std::env::temp_dir().join(format!("axis-other-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let altered = dir.join("altered-copy.gguf");
    std::fs::write(&altered, &bytes)?;
    let shipped_axis = dist_dir().join("axes/SmolLM2-135M-Instruct.Q4_1.axis.safetensors");
    let mut older = engine::axis::AxisFile::from_bytes(&std::fs::read(&shipped_axis)?)?;
    assert_eq!(
        older.threshold_basis(),
        engine::axis::ThresholdBasis::AllAnswers,
        "the shipped axis follows the paper"
    );
    older.meta.format_version = 1;
    older.all_percentiles = None;
    let older_axis = dir.join("older-format.axis.safetensors");
    std::fs::write(&older_axis, older.to_bytes()?)?;
    let server = StaticServer::start_with_aliases(
        dist_dir(),
        vec![
            ("/models/altered-copy.gguf".to_owned(), altered),
            ("/axes/altered-copy.axis.safetensors".to_owned(), older_axis),
        ],
    )?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    browser
        .client
        .goto(&server.url("/?model=models/altered-copy.gguf"))
        .await?;
    load_model(&browser, "cpu", "quantized", LOAD).await?;
    let notice = browser.text_of("[data-testid=axis-other-model]").await?;
    eprintln!("other-model notice: {notice}");
    assert!(
        notice.contains("another model file") && notice.contains("SmolLM2-135M-Instruct"),
        "{notice}"
    );
    let older_notice = browser
        .text_of("[data-testid=axis-older-thresholds]")
        .await?;
    assert!(older_notice.contains("role answers"), "{older_notice}");
    let floor = selected_floor(&browser).await?;
    assert!(floor.contains("of role answers"), "{floor}");
    assert!(
        browser
            .client
            .find(Locator::Css("[data-testid=cap-first-layer]"))
            .await
            .is_ok(),
        "the axis is still used"
    );
    browser.screenshot("chat-axis-other-model").await?;
    browser.close().await?;
    std::fs::remove_dir_all(&dir)?;

    // The shipped pair: no notice.
    let server = StaticServer::start(dist_dir())?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    browser.client.goto(&server.url("/")).await?;
    load_model(&browser, "cpu", "quantized", LOAD).await?;
    browser
        .client
        .find(Locator::Css("[data-testid=cap-first-layer]"))
        .await?;
    assert!(
        browser
            .client
            .find(Locator::Css("[data-testid=axis-other-model]"))
            .await
            .is_err(),
        "the shipped axis names the shipped model"
    );
    assert!(
        browser
            .client
            .find(Locator::Css("[data-testid=axis-older-thresholds]"))
            .await
            .is_err(),
        "the shipped axis is in the current format"
    );
    let floor = selected_floor(&browser).await?;
    assert!(
        floor.contains("percentile of all answers") && floor.contains("default"),
        "the default floor is named for a person: {floor}"
    );
    let offered = browser
        .client
        .find_all(Locator::Css("[data-testid=cap-percentile] option"))
        .await?
        .len();
    assert_eq!(offered, 4, "the paper's four floors");
    browser.close().await
}

/// The text of the floor the capping panel's menu shows.
async fn selected_floor(browser: &Browser) -> anyhow::Result<String> {
    let text = browser
        .client
        .execute(
            "const s = document.querySelector('[data-testid=cap-percentile]'); \
             return s && s.selectedOptions.length ? s.selectedOptions[0].textContent : '';",
            vec![],
        )
        .await?;
    Ok(text.as_str().unwrap_or_default().to_owned())
}

async fn backend_is_chosen_by_measuring(
    server: &StaticServer,
    browser: &Browser,
) -> anyhow::Result<()> {
    let offer = browser.text_of("[data-testid=backend-offer]").await?;
    eprintln!("offer: {offer}");
    assert!(
        offer.contains("WebGPU writes") && offer.contains("Switch to CPU"),
        "{offer}"
    );
    browser
        .client
        .find(Locator::Css("[data-testid=switch-backend]"))
        .await?
        .click()
        .await?;
    // The panel was "ready" on WebGPU before the click: wait for the CPU load itself.
    let started = std::time::Instant::now();
    loop {
        let state = browser
            .wait_for_attr("[data-testid=model-panel]", "data-state", LOAD, |_| true)
            .await?;
        let status = browser.text_of("[data-testid=engine-status]").await?;
        anyhow::ensure!(state != "failed", "the switch failed: {status}");
        if state == "ready" && status.contains("loaded on CPU") {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < LOAD,
            "no CPU load after the switch: {status}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    ask(browser, "And how are you?").await?;
    let prefs = eval(
        browser,
        "return JSON.parse(localStorage.getItem('assistant-axis/preferences'));",
    )
    .await?;
    eprintln!("preferences: {prefs}");
    let (gpu, cpu) = (
        prefs["speeds"]["webgpu"].as_f64().unwrap_or(0.0),
        prefs["speeds"]["cpu"].as_f64().unwrap_or(0.0),
    );
    assert!(
        gpu > 0.0 && cpu > 1.5 * gpu,
        "measured {gpu} and {cpu} tokens/s"
    );

    // Next visits with these measurements: which backend does the panel preselect?
    let visit_with = |explicit: bool| {
        let mut p = prefs.clone();
        p["backend"] = "WebGpu".into();
        p["backend_explicit"] = explicit.into();
        async move {
            let store = format!(
                "localStorage.setItem('assistant-axis/preferences', JSON.stringify({p})); return 0;"
            );
            eval(browser, &store).await?;
            browser.client.goto(&server.url("/")).await?;
            browser
                .wait_for_attr("[data-testid=webgpu-status]", "data-state", LOAD, |s| {
                    s != "checking"
                })
                .await?;
            let chosen = eval(
                browser,
                "return document.querySelector('[data-testid=backend-select]').value;",
            )
            .await?;
            anyhow::Ok(chosen.as_str().unwrap_or_default().to_owned())
        }
    };
    // No choice of the person's: the faster backend, saying why.
    assert_eq!(visit_with(false).await?, "cpu");
    let why = browser.text_of("[data-testid=backend-measured]").await?;
    assert!(why.contains("faster in this browser"), "{why}");
    // The person's own pick stands, however slow.
    assert_eq!(visit_with(true).await?, "webgpu");
    assert!(
        browser
            .client
            .find(Locator::Css("[data-testid=backend-measured]"))
            .await
            .is_err()
    );
    Ok(())
}
