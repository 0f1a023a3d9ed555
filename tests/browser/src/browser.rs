//! Headless Chromium driven over WebDriver (chromedriver), one fresh profile per browser.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::process::{Child, Command};

/// Options for one browser session.
#[derive(Clone, Debug)]
pub struct BrowserOptions {
    /// `--enable-unsafe-webgpu`: the one flag that gives headless Chromium a (SwiftShader) adapter.
    pub webgpu: bool,
    pub width: u32,
    pub height: u32,
    /// Send every request of the browser, loopback included, through this HTTP proxy (a
    /// `StaticServer`, which refuses and records other destinations).
    pub proxy: Option<std::net::SocketAddr>,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        BrowserOptions {
            webgpu: true,
            width: 1280,
            height: 900,
            proxy: None,
        }
    }
}

/// Flags that keep Chromium's own network chatter out of a proxied session.
const QUIET_BACKGROUND: [&str; 11] = [
    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,AutofillServerCommunication,MediaRouter,Translate,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions,SafeBrowsing,PreconnectToSearch,AccountConsistency,SigninInterceptBubble,ChromeWhatsNewUI,PrivacySandboxSettings4",
    "--disable-extensions",
    "--bwsi",
    "--disable-default-apps",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
    "--no-default-browser-check",
    "--no-pings",
    "--disable-search-engine-choice-screen",
    "--safebrowsing-disable-auto-update",
    "--disable-field-trial-config",
];

/// A chromedriver process plus a WebDriver session; dropping it kills chromedriver and Chromium.
pub struct Browser {
    pub client: Client,
    _driver: Child,
    _profile: TempDir,
}

impl Browser {
    pub async fn launch(options: BrowserOptions) -> Result<Browser> {
        let port = free_port()?;
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start chromedriver (Debian: apt-get install chromium-driver)")?;
        wait_for_port(port, Duration::from_secs(20)).await?;

        let profile = TempDir::new("axis-chromium-profile")?;
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--no-first-run".to_owned(),
            // This machine has no internet; without these Chromium keeps trying to phone home.
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-quic".to_owned(),
            format!("--user-data-dir={}", profile.path.display()),
            format!("--window-size={},{}", options.width, options.height),
        ];
        if options.webgpu {
            args.push("--enable-unsafe-webgpu".to_owned());
        }
        if let Some(proxy) = options.proxy {
            args.push(format!("--proxy-server=http://{proxy}"));
            // Chromium bypasses proxies for loopback unless told not to.
            args.push("--proxy-bypass-list=<-loopback>".to_owned());
            // Chromium's own background services (time, component and search-engine updates,
            // account and autofill lookups) would otherwise show up as foreign traffic that the
            // page did not cause.
            args.extend(QUIET_BACKGROUND.iter().map(|f| (*f).to_owned()));
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium_binary(), "args": args }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .context("chromedriver did not open a Chromium session")?;
        Ok(Browser {
            client,
            _driver: driver,
            _profile: profile,
        })
    }

    /// Waits until `css` matches an element whose attribute `attr` satisfies `accept`; returns
    /// the attribute's value. Times out with the last value seen.
    pub async fn wait_for_attr(
        &self,
        css: &str,
        attr: &str,
        timeout: Duration,
        accept: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let start = Instant::now();
        let mut last = None;
        while start.elapsed() < timeout {
            if let Ok(el) = self.client.find(Locator::Css(css)).await
                && let Ok(Some(value)) = el.attr(attr).await
            {
                if accept(&value) {
                    return Ok(value);
                }
                last = Some(value);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("timed out after {timeout:?} waiting for {css}[{attr}] (last value: {last:?})")
    }

    pub async fn text_of(&self, css: &str) -> Result<String> {
        let el = self
            .client
            .find(Locator::Css(css))
            .await
            .with_context(|| format!("no element {css}"))?;
        Ok(el.text().await?)
    }

    /// Saves a PNG under `target/screenshots/<name>.png` and returns its path.
    /// Retried: on a loaded machine the renderer can miss WebDriver's 10 s deadline for a
    /// frame (seen once right after a WebGPU device loss, while the worker reloads the model).
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let mut attempt = 0;
        let png = loop {
            attempt += 1;
            match self.client.screenshot().await {
                Ok(png) => break png,
                Err(e) if attempt < 4 => {
                    eprintln!("screenshot {name}: attempt {attempt} failed ({e}); retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                }
                Err(e) => return Err(e.into()),
            }
        };
        let path = crate::screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }

    pub async fn close(self) -> Result<()> {
        self.client.clone().close().await?;
        Ok(())
    }
}

fn chromium_binary() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn wait_for_port(port: u16, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("chromedriver did not listen on port {port} within {timeout:?}")
}

/// A directory removed on drop (a fresh Chromium profile per session).
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new(prefix: &str) -> Result<TempDir> {
        let unique = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&path)?;
        Ok(TempDir { path })
    }
}

/// A test that fails before `close()` drops the browser: chromedriver is killed with it, but
/// Chromium's processes would outlive it (and keep a WebGPU page busy on the CPU). Kill every
/// process started with this session's profile directory (best effort: `pkill` from procps).
impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::process::Command::new("pkill")
            .arg("-f")
            .arg(self._profile.path.as_os_str())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
