//! Issue 6 ("Beyond Neuronpedia") in headless Chromium: presets played into both columns by the
//! real model (CPU backend), export → import of a conversation file, share links (opened with
//! no model loaded; damaged or newer ones change nothing), classroom mode, the tour and the
//! keyboard shortcuts. Screenshots: `target/screenshots/extras-*.png`.

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use browser_tests::browser::{Browser, BrowserOptions};
use browser_tests::dist_dir;
use browser_tests::page::{
    attrs, capture_downloads, eval, last_download, load_model, set_capping, set_input,
    wait_for_count,
};
use browser_tests::static_server::StaticServer;
use fantoccini::Locator;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use serde_json::json;

const LOAD: Duration = Duration::from_secs(600);
const ANSWER: Duration = Duration::from_secs(300);
const BOOT: Duration = Duration::from_secs(60);

const USER_DEFAULT: &str = "[data-testid=column-default] [data-testid=message-user]";
const CAPPED_DONE: &str =
    "[data-testid=column-capped] [data-testid=message-assistant][data-streaming=false]";

async fn click(browser: &Browser, testid: &str) -> Result<()> {
    browser
        .client
        .find(Locator::Css(&format!("[data-testid={testid}]")))
        .await?
        .click()
        .await?;
    Ok(())
}

/// Presses one key the way a person does (WebDriver key actions to the focused element).
async fn press(browser: &Browser, key: char) -> Result<()> {
    let actions = KeyActions::new("keyboard".to_owned())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    browser.client.perform_actions(actions).await?;
    Ok(())
}

/// Moves focus off any field, so single-key shortcuts apply.
async fn blur(browser: &Browser) -> Result<()> {
    eval(
        browser,
        "if (document.activeElement) document.activeElement.blur(); return true;",
    )
    .await?;
    Ok(())
}

async fn texts(browser: &Browser, css: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for el in browser.client.find_all(Locator::Css(css)).await? {
        out.push(el.text().await?);
    }
    Ok(out)
}

async fn root_classes(browser: &Browser) -> Result<String> {
    Ok(eval(browser, "return document.documentElement.className;")
        .await?
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

async fn notice(browser: &Browser) -> Result<String> {
    Ok(browser
        .client
        .wait()
        .at_most(BOOT)
        .for_element(Locator::Css("[data-testid=notice]"))
        .await?
        .text()
        .await?)
}

/// What a file or link just opened (a status banner, not the error notice).
async fn info(browser: &Browser) -> Result<String> {
    Ok(browser
        .client
        .wait()
        .at_most(BOOT)
        .for_element(Locator::Css("[data-testid=share-info]"))
        .await?
        .text()
        .await?)
}

async fn dismiss_info(browser: &Browser) -> Result<()> {
    browser
        .client
        .find(Locator::Css("[data-testid=share-info] button"))
        .await?
        .click()
        .await?;
    Ok(())
}

/// Closes the first-visit welcome (if the page shows one) so screenshots show the demo.
async fn close_welcome(browser: &Browser) -> Result<()> {
    for el in browser
        .client
        .find_all(Locator::Css("[data-testid=close-explainer]"))
        .await?
    {
        el.click().await?;
    }
    Ok(())
}

/// Opens the header's Share menu unless it is open (it folds away after a download or import).
async fn open_share_menu(browser: &Browser) -> Result<()> {
    let open = eval(
        browser,
        "return document.querySelector('[data-testid=share-menu]').open;",
    )
    .await?;
    if open != json!(true) {
        click(browser, "open-share").await?;
    }
    Ok(())
}

async fn dismiss_notice(browser: &Browser) -> Result<()> {
    browser
        .client
        .find(Locator::Css("[data-testid=notice] button"))
        .await?
        .click()
        .await?;
    Ok(())
}

/// Every answer's text, in document order (default column, then capped).
async fn answers(browser: &Browser) -> Result<Vec<String>> {
    texts(browser, "[data-testid=message-assistant] .message-text").await
}

fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A shared conversation as docs/demo.md describes it: three scored turns in both columns.
fn shared_conversation(version: u32) -> serde_json::Value {
    let cap = json!({"first_layer": 20, "last_layer": 25, "percentile": 75.0});
    let reply = |text: &str, a: f32, t: f32| {
        json!({"content": text, "score": {"activations": a, "text": t, "cap_margin": null},
               "meta": "16 tokens · length · 2.0 s · 8.0 tok/s"})
    };
    json!({
        "format": "assistant-axis/conversation",
        "version": version,
        "model": {"name": "SmolLM2-135M-Instruct (Q4_1 GGUF)", "url": "models/SmolLM2-135M-Instruct.Q4_1.gguf"},
        "axis": {"model_id": "HuggingFaceTB/SmolLM2-135M-Instruct", "monitor_layer": 21},
        "system_prompt": "You are a pirate.",
        "settings": {"temperature": 0.5, "top_p": 0.95, "frequency_penalty": 1.0, "seed": 16, "max_new_tokens": 64},
        "capping": {"enabled": true, "band": cap},
        "chart_view": "Text",
        "turns": [
            {"user": "Ahoy! Who are you?", "capping": cap,
             "default": reply("Arr, I be Captain Flint! <b>x</b>", -4.5, -4.5),
             "capped": reply("I am an AI assistant playing a pirate.", 12.0, 6.25)},
            {"user": "Tell me about your ship.", "capping": cap,
             "default": reply("The Black Gull, fastest on the seas.", -8.0, -8.0),
             "capped": reply("Here is a short description of a ship.", 14.0, 9.5)},
            {"user": "Are you an AI?", "capping": cap,
             "default": reply("Never! I be a pirate.", -2.0, -2.0),
             "capped": reply("Yes, I am an AI language model.", 16.0, 18.0)}
        ]
    })
}

fn share_url(server: &StaticServer, value: &serde_json::Value) -> String {
    format!(
        "{}#share=j{}",
        server.url("/"),
        base64url(value.to_string().as_bytes())
    )
}

async fn fragment_is_gone(browser: &Browser) -> Result<()> {
    let url = browser.client.current_url().await?;
    ensure!(
        url.fragment().is_none(),
        "the address still has a fragment: {url}"
    );
    Ok(())
}

/// Presets on the real model (CPU backend, 16 tokens): Step sends exactly one turn into both
/// columns; Play sends the next ones by itself once both columns have answered; Pause stops
/// that; then the conversation goes out as a file and comes back in, and a newer-format file is
/// refused without touching it.
#[tokio::test]
async fn presets_step_play_pause_and_a_file_round_trip() -> Result<()> {
    let started = Instant::now();
    let server = StaticServer::start(dist_dir())?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    browser.client.goto(&server.url("/")).await?;
    browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", BOOT, |s| {
            s == "idle"
        })
        .await?;
    close_welcome(&browser).await?;

    // The panel lists the shipped presets; choosing one shows its note and fills the system
    // prompt, from an empty conversation. First the Max preset (a persona in the system
    // prompt), then the one that sets a persona up in the user's own message, which is played.
    let titles = texts(&browser, "[data-testid=preset-option]").await?;
    assert!(titles.len() >= 6, "{titles:?}");
    let position = |needle: &str| {
        titles
            .iter()
            .position(|t| t.contains(needle))
            .ok_or_else(|| anyhow::anyhow!("no preset {needle:?} in {titles:?}"))
    };
    set_input(
        &browser,
        "preset-select",
        &position("insists on being human")?.to_string(),
    )
    .await?;
    let system_prompt = || async {
        anyhow::Ok(
            browser
                .client
                .find(Locator::Css("[data-testid=system-prompt]"))
                .await?
                .prop("value")
                .await?
                .unwrap_or_default(),
        )
    };
    let system = system_prompt().await?;
    assert!(system.starts_with("You are Max"), "{system}");
    set_input(
        &browser,
        "preset-select",
        &position("set up in your message")?.to_string(),
    )
    .await?;
    let note = browser.text_of("[data-testid=preset-note]").await?;
    assert!(note.starts_with("What to watch:"), "{note}");
    let system = system_prompt().await?;
    assert!(
        system.is_empty(),
        "this preset keeps the default prompt: {system}"
    );
    assert!(
        browser
            .text_of("[data-testid=preset-next]")
            .await?
            .contains("Load the model")
    );
    set_input(&browser, "setting-max-tokens", "16").await?;
    load_model(&browser, "cpu", "f32", LOAD).await?;
    set_capping(&browser, true).await?;
    eprintln!(
        "model loaded after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    browser.screenshot("extras-preset-chosen").await?;

    // Step: exactly the first turn, answered in both columns; nothing follows by itself.
    click(&browser, "preset-step").await?;
    let asked = Instant::now();
    wait_for_count(&browser, CAPPED_DONE, 1, ANSWER).await?;
    eprintln!(
        "step 1 answered in both columns after {:.1} s",
        asked.elapsed().as_secs_f64()
    );
    let users = texts(&browser, USER_DEFAULT).await?;
    assert_eq!(users.len(), 1, "{users:?}");
    assert!(users[0].contains("you are Captain Mara Flint"), "{users:?}");
    let first = answers(&browser).await?;
    assert_eq!(first.len(), 2, "{first:?}");
    assert!(first.iter().all(|t| !t.trim().is_empty()), "{first:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        texts(&browser, USER_DEFAULT).await?.len(),
        1,
        "Step sent more"
    );
    let progress = browser.text_of("[data-testid=preset-progress]").await?;
    assert!(progress.contains("Turn 1 of 5"), "{progress}");

    // Play: turn 2 goes out at once, turn 3 by itself after both columns answered turn 2.
    click(&browser, "preset-play").await?;
    wait_for_count(&browser, USER_DEFAULT, 3, ANSWER * 2).await?;
    // Pause while turn 3 is being answered: it finishes, and turn 4 is not sent.
    click(&browser, "preset-pause").await?;
    eprintln!(
        "turn 3 sent by Play after {:.1} s",
        asked.elapsed().as_secs_f64()
    );
    wait_for_count(&browser, CAPPED_DONE, 3, ANSWER).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        texts(&browser, USER_DEFAULT).await?.len(),
        3,
        "Pause did not stop the preset"
    );
    let progress = browser
        .wait_for_attr("[data-testid=preset-progress]", "data-playing", BOOT, |s| {
            s == "false"
        })
        .await;
    assert!(progress.is_ok());
    let progress = browser.text_of("[data-testid=preset-progress]").await?;
    assert!(progress.contains("Turn 3 of 5 · paused"), "{progress}");
    assert!(
        browser
            .client
            .find(Locator::Css("[data-testid=preset-play]"))
            .await?
            .text()
            .await?
            .contains("Resume")
    );
    wait_for_count(&browser, "[data-testid=chart-point]", 6, BOOT).await?;
    // Every answer of both columns is scored and carries the judge's identity tag.
    let tags = attrs(&browser, "[data-testid=speaker-tag]", "data-speaker").await?;
    eprintln!("speaks as, default and capped columns in page order: {tags:?}");
    assert_eq!(tags.len(), 6, "3 turns × 2 columns tagged: {tags:?}");
    assert!(
        tags.iter()
            .all(|t| ["assistant", "character", "human", "unclear"].contains(&t.as_str())),
        "{tags:?}"
    );
    for column in ["default", "capped"] {
        let css = format!(
            "[data-testid=message-assistant][data-column={column}] [data-testid=speaker-tag]"
        );
        assert_eq!(
            texts(&browser, &css).await?.len(),
            3,
            "{column} column tags"
        );
    }
    assert_eq!(
        attrs(&browser, "[data-testid=message-score]", "data-score")
            .await?
            .len(),
        6,
        "3 turns × 2 columns scored"
    );
    browser.screenshot("extras-preset-paused").await?;
    eprintln!(
        "three preset turns in both columns after {:.1} s",
        asked.elapsed().as_secs_f64()
    );

    // Export: the downloaded file is what the Download button offered.
    let before = answers(&browser).await?;
    let scores = attrs(&browser, "[data-testid=message-score]", "data-score").await?;
    let points = attrs(&browser, "[data-testid=chart-point]", "data-score").await?;
    open_share_menu(&browser).await?;
    capture_downloads(&browser).await?;
    click(&browser, "export-json").await?;
    let file = String::from_utf8(last_download(&browser).await?)?;
    ensure!(
        file.starts_with('{'),
        "the download is not a JSON file: {file}"
    );
    assert_eq!(
        eval(
            &browser,
            "return document.querySelector('[data-testid=share-menu]').open;"
        )
        .await?,
        json!(false),
        "the Share menu folds away after a download"
    );
    let parsed: serde_json::Value = serde_json::from_str(&file)?;
    assert_eq!(parsed["format"], "assistant-axis/conversation");
    assert_eq!(parsed["version"], 1);
    assert_eq!(parsed["turns"].as_array().map(Vec::len), Some(3));
    assert_eq!(parsed["settings"]["max_new_tokens"], 16);
    assert_eq!(parsed["system_prompt"], "", "the preset's default prompt");
    assert!(parsed["axis"]["model_id"].is_string(), "{}", parsed["axis"]);
    let path = std::env::temp_dir().join(format!("axis-extras-{}.json", std::process::id()));
    std::fs::write(&path, &file)?;

    // Clear, then open the file: the same conversation, scores and chart come back.
    click(&browser, "clear").await?;
    wait_for_count(&browser, "[data-testid=message-assistant]", 0, BOOT).await?;
    open_share_menu(&browser).await?;
    browser
        .client
        .find(Locator::Css("[data-testid=import-file]"))
        .await?
        .send_keys(&path.display().to_string())
        .await?;
    wait_for_count(&browser, "[data-testid=message-assistant]", 6, BOOT).await?;
    assert_eq!(answers(&browser).await?, before);
    assert_eq!(
        attrs(&browser, "[data-testid=message-score]", "data-score").await?,
        scores
    );
    assert_eq!(
        attrs(&browser, "[data-testid=chart-point]", "data-score").await?,
        points
    );
    let opened = info(&browser).await?;
    assert!(opened.contains("3 turns, 6 scored answers"), "{opened}");
    browser.screenshot("extras-imported").await?;
    dismiss_info(&browser).await?;

    // A file from a newer version of the page is refused; nothing changes.
    let mut newer = parsed.clone();
    newer["version"] = json!(2);
    std::fs::write(&path, newer.to_string())?;
    open_share_menu(&browser).await?;
    browser
        .client
        .find(Locator::Css("[data-testid=import-file]"))
        .await?
        .send_keys(&path.display().to_string())
        .await?;
    let refused = notice(&browser).await?;
    assert!(
        refused.contains("newer version") && refused.contains("unchanged"),
        "{refused}"
    );
    assert_eq!(answers(&browser).await?, before);
    browser.screenshot("extras-import-newer").await?;
    let _ = std::fs::remove_file(&path);
    eprintln!("presets test took {:.1} s", started.elapsed().as_secs_f64());
    browser.close().await
}

/// A share link restores turns, scores and chart with no model loaded, leaves the address bar
/// clean, sets the earlier conversation aside (and brings it back); the page's own link opens
/// in a fresh tab; a damaged or newer link shows a notice and changes nothing.
#[tokio::test]
async fn share_links_open_without_a_model_and_bad_ones_change_nothing() -> Result<()> {
    let started = Instant::now();
    let server = StaticServer::start(dist_dir())?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    let shared = shared_conversation(1);
    browser.client.goto(&share_url(&server, &shared)).await?;
    wait_for_count(&browser, "[data-testid=message-assistant]", 6, BOOT).await?;
    fragment_is_gone(&browser).await?;
    let engine = browser
        .client
        .find(Locator::Css("[data-testid=model-panel]"))
        .await?
        .attr("data-state")
        .await?
        .unwrap_or_default();
    assert!(
        engine == "starting" || engine == "idle",
        "no model is loaded: {engine}"
    );
    let users = texts(&browser, USER_DEFAULT).await?;
    assert_eq!(
        users,
        [
            "Ahoy! Who are you?",
            "Tell me about your ship.",
            "Are you an AI?"
        ]
    );
    let shown = answers(&browser).await?;
    assert_eq!(shown[0], "Arr, I be Captain Flint! <b>x</b>");
    assert!(
        browser
            .client
            .find_all(Locator::Css(".message-text b"))
            .await?
            .is_empty(),
        "shared text became markup"
    );
    // The chart plots the Text reading: default −4.5, −8, −2; capped 6.25, 9.5, 18.
    wait_for_count(&browser, "[data-testid=chart-point]", 6, BOOT).await?;
    let points: Vec<f32> = attrs(&browser, "[data-testid=chart-point]", "data-score")
        .await?
        .iter()
        .map(|s| s.parse().unwrap_or(f32::NAN))
        .collect();
    assert_eq!(points, [-4.5, -8.0, -2.0, 6.25, 9.5, 18.0]);
    let opened = info(&browser).await?;
    assert!(opened.contains("3 turns, 6 scored answers"), "{opened}");
    close_welcome(&browser).await?;
    browser.screenshot("extras-share-opened").await?;

    // The page's own link: compressed, its length shown; it opens in a fresh tab.
    open_share_menu(&browser).await?;
    click(&browser, "copy-share-link").await?;
    let link = browser
        .client
        .wait()
        .at_most(BOOT)
        .for_element(Locator::Css("[data-testid=share-link]"))
        .await?
        .prop("value")
        .await?
        .unwrap_or_default();
    assert!(link.contains("#share=z"), "{link}");
    let length = browser
        .wait_for_attr(
            "[data-testid=share-link-length]",
            "data-length",
            BOOT,
            |_| true,
        )
        .await?;
    assert_eq!(length, link.chars().count().to_string());
    eprintln!("share link: {length} characters");
    browser.screenshot("extras-share-link").await?;
    browser.client.goto("about:blank").await?;
    browser.client.goto(&server.url("/")).await?;
    eval(&browser, "localStorage.clear(); return true;").await?;
    browser.client.goto("about:blank").await?;
    browser.client.goto(&link).await?;
    wait_for_count(&browser, "[data-testid=message-assistant]", 6, BOOT).await?;
    assert_eq!(answers(&browser).await?, shown);
    wait_for_count(&browser, "[data-testid=chart-point]", 6, BOOT).await?;
    fragment_is_gone(&browser).await?;
    let system = browser
        .client
        .find(Locator::Css("[data-testid=system-prompt]"))
        .await?
        .prop("value")
        .await?
        .unwrap_or_default();
    assert_eq!(system, "You are a pirate.");

    // An edit after opening survives a reload: the link is not opened again.
    dismiss_info(&browser).await?;
    click(&browser, "undo").await?;
    wait_for_count(&browser, "[data-testid=message-assistant]", 4, BOOT).await?;
    browser.client.refresh().await?;
    wait_for_count(&browser, "[data-testid=message-assistant]", 4, BOOT).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        browser
            .client
            .find_all(Locator::Css("[data-testid=message-assistant]"))
            .await?
            .len(),
        4
    );

    // A damaged link: a clear notice, the conversation untouched, the address cleaned.
    let damaged = format!("{}#share=z{}", server.url("/"), &link[link.len() - 40..]);
    browser.client.goto("about:blank").await?;
    browser.client.goto(&damaged).await?;
    let refused = notice(&browser).await?;
    assert!(
        refused.contains("share link could not be opened")
            && refused.contains("Nothing was changed"),
        "{refused}"
    );
    wait_for_count(&browser, "[data-testid=message-assistant]", 4, BOOT).await?;
    fragment_is_gone(&browser).await?;
    browser.screenshot("extras-share-damaged").await?;

    // A link from a newer page: refused with a reason (here opened in the same tab, by the
    // address fragment changing).
    let newer = share_url(&server, &shared_conversation(2));
    dismiss_notice(&browser).await?;
    browser.client.goto(&newer).await?;
    let refused = notice(&browser).await?;
    assert!(refused.contains("newer version"), "{refused}");
    wait_for_count(&browser, "[data-testid=message-assistant]", 4, BOOT).await?;

    // Opening a link over a conversation sets it aside; "Bring it back" restores it.
    dismiss_notice(&browser).await?;
    browser.client.goto(&share_url(&server, &shared)).await?;
    wait_for_count(&browser, "[data-testid=message-assistant]", 6, BOOT).await?;
    let aside = browser.text_of("[data-testid=set-aside]").await?;
    assert!(aside.contains("(2 turns)"), "{aside}");
    browser.screenshot("extras-set-aside").await?;
    click(&browser, "bring-back").await?;
    wait_for_count(&browser, "[data-testid=message-assistant]", 4, BOOT).await?;
    eprintln!("share test took {:.1} s", started.elapsed().as_secs_f64());
    browser.close().await
}

/// Classroom mode (root class, kept across a reload), the keyboard shortcuts (not while
/// typing) and their help, and the five-step tour.
#[tokio::test]
async fn classroom_mode_shortcuts_and_the_tour() -> Result<()> {
    let started = Instant::now();
    let server = StaticServer::start(dist_dir())?;
    let browser = Browser::launch(BrowserOptions::default()).await?;
    browser.client.goto(&server.url("/")).await?;
    browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", BOOT, |s| {
            s == "idle"
        })
        .await?;
    close_welcome(&browser).await?;

    // Classroom mode: a class on <html>, remembered across a reload.
    assert!(!root_classes(&browser).await?.contains("classroom"));
    click(&browser, "classroom-toggle").await?;
    assert!(root_classes(&browser).await?.contains("classroom"));
    browser.client.refresh().await?;
    browser
        .wait_for_attr(
            "[data-testid=classroom-toggle]",
            "aria-pressed",
            BOOT,
            |s| s == "true",
        )
        .await?;
    assert!(root_classes(&browser).await?.contains("classroom"));
    // Make the page look like a session in progress for the screenshot.
    let shared = shared_conversation(1);
    browser.client.goto("about:blank").await?;
    browser.client.goto(&share_url(&server, &shared)).await?;
    wait_for_count(&browser, "[data-testid=chart-point]", 6, BOOT).await?;
    dismiss_info(&browser).await?;
    browser.screenshot("extras-classroom").await?;

    // Shortcuts: "?" opens the help, Esc closes it; "m" switches classroom mode off; "c"
    // toggles capping; "/" puts the cursor in the message box, where keys are text again.
    blur(&browser).await?;
    press(&browser, '?').await?;
    browser
        .client
        .wait()
        .at_most(BOOT)
        .for_element(Locator::Css("[data-testid=shortcuts-help]"))
        .await?;
    let help = browser.text_of("[data-testid=shortcuts-help]").await?;
    assert!(
        help.contains("Keyboard shortcuts") && help.contains("tour"),
        "{help}"
    );
    browser.screenshot("extras-shortcuts").await?;
    press(&browser, '\u{e00c}').await?;
    wait_for_count(&browser, "[data-testid=shortcuts-help]", 0, BOOT).await?;
    blur(&browser).await?;
    press(&browser, 'm').await?;
    assert!(!root_classes(&browser).await?.contains("classroom"));
    let capping = |b: &Browser| {
        let client = b.client.clone();
        async move {
            Ok::<_, anyhow::Error>(
                client
                    .find(Locator::Css("[data-testid=capping-toggle]"))
                    .await?
                    .prop("checked")
                    .await?
                    .as_deref()
                    == Some("true"),
            )
        }
    };
    let was = capping(&browser).await?;
    press(&browser, 'c').await?;
    assert_eq!(capping(&browser).await?, !was, "c toggles capping");
    press(&browser, '/').await?;
    let focused = eval(
        &browser,
        "return document.activeElement.getAttribute('data-testid');",
    )
    .await?;
    assert_eq!(focused, json!("composer-input"));
    press(&browser, 'c').await?;
    press(&browser, '?').await?;
    assert_eq!(capping(&browser).await?, !was, "typing c toggled capping");
    assert!(
        browser
            .client
            .find_all(Locator::Css("[data-testid=shortcuts-help]"))
            .await?
            .is_empty(),
        "typing ? opened the help"
    );
    let typed = browser
        .client
        .find(Locator::Css("[data-testid=composer-input]"))
        .await?
        .prop("value")
        .await?
        .unwrap_or_default();
    assert_eq!(typed, "c?");

    // The tour: five steps, each highlighting its region; Back and Next; Finish closes it.
    blur(&browser).await?;
    press(&browser, 't').await?;
    let regions = [
        "model-panel",
        "",
        "drift-chart",
        "capping-panel",
        "presets-panel",
    ];
    for (i, region) in regions.iter().enumerate() {
        let step = browser
            .wait_for_attr("[data-testid=tour]", "data-step", BOOT, |s| {
                s == (i + 1).to_string()
            })
            .await?;
        assert_eq!(step, (i + 1).to_string());
        let highlighted = eval(
            &browser,
            "const t = document.querySelectorAll('.tour-target'); \
             return [t.length, t[0] ? (t[0].getAttribute('data-testid') || t[0].className) : ''];",
        )
        .await?;
        assert_eq!(highlighted[0], json!(1), "step {}: {highlighted}", i + 1);
        let name = highlighted[1].as_str().unwrap_or_default();
        if region.is_empty() {
            assert!(name.contains("chat-columns"), "step 2 highlights {name}");
        } else {
            assert_eq!(name, *region, "step {}", i + 1);
        }
        browser
            .screenshot(&format!("extras-tour-{}", i + 1))
            .await?;
        if i == 2 {
            click(&browser, "tour-back").await?;
            browser
                .wait_for_attr("[data-testid=tour]", "data-step", BOOT, |s| s == "2")
                .await?;
            click(&browser, "tour-next").await?;
            browser
                .wait_for_attr("[data-testid=tour]", "data-step", BOOT, |s| s == "3")
                .await?;
        }
        click(&browser, "tour-next").await?;
    }
    wait_for_count(&browser, "[data-testid=tour]", 0, BOOT).await?;
    wait_for_count(&browser, ".tour-target", 0, BOOT).await?;
    // From the header too; Close ends it.
    click(&browser, "open-tour").await?;
    browser
        .wait_for_attr("[data-testid=tour]", "data-step", BOOT, |s| s == "1")
        .await?;
    click(&browser, "tour-close").await?;
    wait_for_count(&browser, "[data-testid=tour]", 0, BOOT).await?;
    eprintln!(
        "classroom test took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    browser.close().await
}
