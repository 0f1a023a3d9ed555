//! The research views on the real model (CPU backend): the token heatmap, steering and the
//! persona map.
//!
//! Steering adds α·axis at the monitor layer, where the monitor probe reads after the steer
//! (steer → cap → probe), and layers below it never see it. So for every token of a steered,
//! uncapped answer, the answering model's projection (Activations) minus the unsteered re-read
//! of the same tokens (Text) is the same constant α·|axis|: the test checks exactly that through
//! the heatmap's per-token values.

use std::time::Duration;

use browser_tests::browser::{Browser, BrowserOptions};
use browser_tests::dist_dir;
use browser_tests::page::{attrs, eval, load_model, set_capping, set_input, wait_for_count};
use browser_tests::static_server::StaticServer;
use fantoccini::Locator;

const LOAD: Duration = Duration::from_secs(600);
const ANSWER: Duration = Duration::from_secs(600);
const SHORT: Duration = Duration::from_secs(30);
const ANSWER_SEL: &str = "[data-testid=column-default] [data-testid=message-assistant]";

fn numbers(values: &[String]) -> anyhow::Result<Vec<f32>> {
    values
        .iter()
        .map(|v| {
            v.parse::<f32>()
                .map_err(|e| anyhow::anyhow!("not a number: {v:?} ({e})"))
        })
        .collect()
}

async fn click(browser: &Browser, css: &str) -> anyhow::Result<()> {
    browser
        .client
        .find(Locator::Css(css))
        .await?
        .click()
        .await?;
    Ok(())
}

/// Moves the steering slider the way a pointer does (value, then the input event).
async fn set_steering(browser: &Browser, alpha: f32) -> anyhow::Result<()> {
    browser
        .client
        .execute(
            "const el = document.querySelector('[data-testid=steering-slider]'); \
             el.value = arguments[0]; el.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![serde_json::json!(alpha.to_string())],
        )
        .await?;
    Ok(())
}

async fn send(browser: &Browser, text: &str) -> anyhow::Result<()> {
    browser
        .client
        .find(Locator::Css("[data-testid=composer-input]"))
        .await?
        .send_keys(text)
        .await?;
    click(browser, "[data-testid=send]").await
}

/// The persona map's labels, measured by the browser (real glyph boxes, not the layout's
/// estimate): several roles and the Assistant are labelled, none overlaps another, none is cut off
/// by the map's frame.
async fn assert_labels_are_readable(browser: &Browser) -> anyhow::Result<()> {
    let boxes = eval(
        browser,
        "const svg = document.querySelector('.persona-svg');
         const vb = svg.viewBox.baseVal;
         const labels = [...svg.querySelectorAll('.persona-role-label, .persona-default-label')];
         return { frame: [vb.x, vb.y, vb.width, vb.height],
                  boxes: labels.map(t => { const b = t.getBBox();
                      return [t.textContent, b.x, b.y, b.width, b.height]; }) };",
    )
    .await?;
    let frame: [f64; 4] = serde_json::from_value(boxes["frame"].clone())?;
    let boxes: Vec<(String, f64, f64, f64, f64)> = serde_json::from_value(boxes["boxes"].clone())?;
    eprintln!("persona map labels: {boxes:?}");
    assert!(
        boxes.iter().any(|b| b.0 == "Assistant"),
        "the Assistant is labelled: {boxes:?}"
    );
    assert!(boxes.len() >= 5, "at least four roles labelled: {boxes:?}");
    // Half a unit of slack: glyph boxes include side bearings that touch without overlapping ink.
    let slack = 0.5;
    for (i, a) in boxes.iter().enumerate() {
        assert!(
            a.1 >= frame[0] - slack
                && a.2 >= frame[1] - slack
                && a.1 + a.3 <= frame[0] + frame[2] + slack
                && a.2 + a.4 <= frame[1] + frame[3] + slack,
            "label {a:?} leaves the map {frame:?}"
        );
        for b in &boxes[i + 1..] {
            let apart = a.1 + a.3 <= b.1 + slack
                || b.1 + b.3 <= a.1 + slack
                || a.2 + a.4 <= b.2 + slack
                || b.2 + b.4 <= a.2 + slack;
            assert!(apart, "labels overlap: {a:?} and {b:?}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn heatmap_steering_and_persona_map_on_the_real_model() -> anyhow::Result<()> {
    let server = StaticServer::start(dist_dir())?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    browser.client.goto(&server.url("/")).await?;
    load_model(&browser, "cpu", "quantized", LOAD).await?;
    set_capping(&browser, false).await?;
    set_input(&browser, "setting-max-tokens", "16").await?;

    // The persona map: every role of the axis file, the default marked, no answers yet.
    let roles = attrs(&browser, "[data-testid=persona-role]", "data-role").await?;
    assert!(roles.len() >= 100, "{} roles on the map", roles.len());
    assert!(
        browser
            .client
            .find(Locator::Css("[data-testid=persona-default]"))
            .await
            .is_ok()
    );
    // The axis drawn in the plane ends on the default Assistant's star (its first point is the
    // top tip, STAR_RADIUS = 9 above the centre), and the caption names the layer and the fit.
    let ends = eval(
        &browser,
        "const l = document.querySelector('.persona-axis');
         const m = document.querySelector('.persona-default').getAttribute('d')
             .match(/^M([-0-9.]+),([-0-9.]+)/);
         return [l.getAttribute('x2'), l.getAttribute('y2'), m[1], m[2]].map(Number);",
    )
    .await?;
    let e: Vec<f64> = serde_json::from_value(ends)?;
    assert!(
        (e[0] - e[2]).abs() < 0.2 && (e[1] - (e[3] + 9.0)).abs() < 0.2,
        "axis arrow ends at {e:?}"
    );
    let frame = browser.text_of("[data-testid=persona-frame]").await?;
    assert!(
        frame.starts_with("Layer ")
            && frame.contains(" of 30 ")
            && frame.contains("% of the axis lies in the plane"),
        "{frame}"
    );

    // Steering: α = +2 for the next answer.
    set_steering(&browser, 2.0).await?;
    let shown = browser.text_of("[data-testid=steering-value]").await?;
    assert!(shown.contains("+2.00"), "{shown}");
    send(&browser, "Tell me about the sea.").await?;
    browser
        .wait_for_attr(ANSWER_SEL, "data-streaming", ANSWER, |s| s == "false")
        .await?;
    let meta = browser
        .text_of(&format!("{ANSWER_SEL} [data-testid=message-meta]"))
        .await?;
    assert!(meta.contains("steered α = +2.00"), "{meta}");
    // The steered answer's two readings differ, and its score line says so.
    let score_line = browser
        .text_of(&format!("{ANSWER_SEL} [data-testid=message-score]"))
        .await?;
    assert!(
        score_line.contains("(activations, steered)")
            && score_line.contains("(text, re-read unsteered)"),
        "{score_line}"
    );

    // The heatmap: one coloured span per token, values finite; both readings.
    click(
        &browser,
        &format!("{ANSWER_SEL} [data-testid=heatmap-toggle]"),
    )
    .await?;
    wait_for_count(&browser, "[data-testid=heatmap]", 1, SHORT).await?;
    click(&browser, "[data-testid=view-text]").await?;
    let text_values = numbers(&attrs(&browser, "[data-testid=heat-token]", "data-value").await?)?;
    let legend = browser.text_of("[data-testid=heat-legend]").await?;
    assert!(legend.contains("text re-read"), "{legend}");
    browser.screenshot("insight-heatmap-text").await?;
    click(&browser, "[data-testid=view-activations]").await?;
    let act_values = numbers(&attrs(&browser, "[data-testid=heat-token]", "data-value").await?)?;
    browser.screenshot("insight-heatmap-activations").await?;
    assert!(!act_values.is_empty() && act_values.len() == text_values.len());
    assert!(act_values.iter().chain(&text_values).all(|v| v.is_finite()));
    // Steered minus unsteered, token by token: one constant, α·|axis| > 0.
    let diffs: Vec<f32> = act_values
        .iter()
        .zip(&text_values)
        .map(|(a, t)| a - t)
        .collect();
    eprintln!("activations − text per token (α = 2): {diffs:?}");
    let first = diffs[0];
    assert!(
        first > 0.5,
        "steering toward the Assistant raises the projection: {first}"
    );
    for d in &diffs {
        assert!(
            (d - first).abs() <= 2e-2 * first.abs(),
            "the steer shifts every token by the same α·|axis|: {diffs:?}"
        );
    }
    // The text itself is unchanged by the heatmap: the spans concatenate to the answer.
    let joined = eval(
        &browser,
        "return [...document.querySelectorAll('[data-testid=heat-token]')].map(s => s.textContent).join('');",
    )
    .await?;
    click(
        &browser,
        &format!("{ANSWER_SEL} [data-testid=heatmap-toggle]"),
    )
    .await?;
    let plain = browser
        .text_of(&format!("{ANSWER_SEL} .message-text"))
        .await?;
    assert_eq!(joined.as_str().unwrap_or_default().trim(), plain.trim());

    // The answer is on the persona map; clicking a role sets the system prompt.
    wait_for_count(&browser, "[data-testid=persona-answer]", 1, SHORT).await?;
    // Dots overlap, so pick the role with the keyboard (focus, Enter), as a keyboard user does.
    let role = roles[0].clone();
    browser
        .client
        .find(Locator::Css(&format!(
            "[data-testid=persona-role][data-role='{role}']"
        )))
        .await?
        .send_keys(&fantoccini::key::Key::Enter.to_string())
        .await?;
    let prompt = browser
        .client
        .find(Locator::Css("[data-testid=system-prompt]"))
        .await?
        .prop("value")
        .await?
        .unwrap_or_default();
    assert!(
        !prompt.trim().is_empty(),
        "clicking {role} sets a system prompt"
    );
    let notice = browser.text_of("[data-testid=notice]").await?;
    assert!(notice.contains(&role), "{notice}");
    assert_labels_are_readable(&browser).await?;
    browser.screenshot("insight-persona-map").await?;
    // Classroom mode enlarges the labels; they are placed again at the larger size.
    click(&browser, "[data-testid=classroom-toggle]").await?;
    let size = eval(
        &browser,
        "return getComputedStyle(document.querySelector('.persona-role-label')).fontSize;",
    )
    .await?;
    assert_eq!(size.as_str(), Some("12px"), "classroom role label size");
    assert_labels_are_readable(&browser).await?;
    eval(
        &browser,
        "document.querySelector('.persona-svg').scrollIntoView({block: 'center'}); return 0;",
    )
    .await?;
    browser.screenshot("insight-persona-map-classroom").await?;
    click(&browser, "[data-testid=classroom-toggle]").await?;

    // Reset steering; the slider and the saved state agree after a reload.
    click(&browser, "[data-testid=steering-reset]").await?;
    browser.client.refresh().await?;
    wait_for_count(&browser, "[data-testid=message-assistant]", 1, SHORT).await?;
    let meta = browser
        .text_of(&format!("{ANSWER_SEL} [data-testid=message-meta]"))
        .await?;
    assert!(
        meta.contains("steered α = +2.00"),
        "kept after reload: {meta}"
    );
    browser.close().await
}
