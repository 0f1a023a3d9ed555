//! A tiny static file server for `dist/`, on an ephemeral loopback port.
//!
//! Why not `trunk serve`: tests need a server that starts in milliseconds, serves exactly the
//! release build, and records every path requested (the page must not fetch anything else).
//!
//! It is also an HTTP proxy for the browser (`BrowserOptions::proxy`): with every request of the
//! browser sent through it, including loopback ones, it serves requests for its own address and
//! refuses and records every other destination (`foreign_requests`), so a test can prove that
//! the page talks to nobody else.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// A running server; it stops when the test process ends.
pub struct StaticServer {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    foreign: Arc<Mutex<Vec<String>>>,
    offline: Arc<AtomicBool>,
    refused: Arc<Mutex<Vec<String>>>,
    isolation: Arc<AtomicBool>,
}

impl StaticServer {
    pub fn start(root: PathBuf) -> std::io::Result<StaticServer> {
        StaticServer::start_with_aliases(root, Vec::new())
    }

    /// Like `start`, and also serves each `(url path, file)` alias — e.g. the shipped model under
    /// another name, for which no axis file exists — without touching `dist/`.
    pub fn start_with_aliases(
        root: PathBuf,
        aliases: Vec<(String, PathBuf)>,
    ) -> std::io::Result<StaticServer> {
        let aliases = Arc::new(aliases);
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let foreign = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        let foreign_log = Arc::clone(&foreign);
        let offline = Arc::new(AtomicBool::new(false));
        let cut = Arc::clone(&offline);
        let refused = Arc::new(Mutex::new(Vec::new()));
        let refused_log = Arc::clone(&refused);
        let isolation = Arc::new(AtomicBool::new(true));
        let isolate = Arc::clone(&isolation);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if cut.load(Ordering::SeqCst) {
                    // "The network is down": the connection closes without an answer (the
                    // attempt is recorded, so a test can see what was tried).
                    let refused = Arc::clone(&refused_log);
                    thread::spawn(move || {
                        let mut line = String::new();
                        let _ = BufReader::new(&stream).read_line(&mut line);
                        if let Ok(mut r) = refused.lock() {
                            r.push(line.trim().to_owned());
                        }
                    });
                    continue;
                }
                let root = root.clone();
                let log = Arc::clone(&log);
                let foreign = Arc::clone(&foreign_log);
                let aliases = Arc::clone(&aliases);
                let isolate = isolate.load(Ordering::SeqCst);
                thread::spawn(move || {
                    // A broken connection only affects that request.
                    let logs = Logs {
                        own: &log,
                        foreign: &foreign,
                        isolate,
                    };
                    let _ = handle(stream, &root, &aliases, addr, logs);
                });
            }
        });
        Ok(StaticServer {
            addr,
            requests,
            foreign,
            offline,
            refused,
            isolation,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    /// Every request line seen so far ("GET /index.html").
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Cuts (or restores) the network: while cut, every connection is closed unanswered.
    pub fn set_offline(&self, offline: bool) {
        self.offline.store(offline, Ordering::SeqCst);
    }

    /// Whether answers carry the COOP/COEP headers that make the page cross-origin isolated (on
    /// by default, as a host configured for the app sends them; off, the page's service worker
    /// has to add them: www/isolate.js).
    pub fn set_isolation_headers(&self, on: bool) {
        self.isolation.store(on, Ordering::SeqCst);
    }

    /// Request lines that arrived while the network was cut (they got no answer).
    pub fn refused_requests(&self) -> Vec<String> {
        self.refused.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Requests, received as a proxy, for any destination other than this server ("CONNECT
    /// example.com:443", "GET http://other:8000/x"); they were refused.
    pub fn foreign_requests(&self) -> Vec<String> {
        self.foreign.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

#[derive(Clone, Copy)]
struct Logs<'a> {
    own: &'a Mutex<Vec<String>>,
    foreign: &'a Mutex<Vec<String>>,
    /// Send the cross-origin isolation headers (`StaticServer::set_isolation_headers`).
    isolate: bool,
}

/// The path of a request target: origin-form ("/x") as is; absolute-form (a proxy request,
/// "http://host:port/x") only when it names this server, else `None`.
fn own_path(target: &str, addr: SocketAddr) -> Option<String> {
    if target.starts_with('/') {
        return Some(target.to_owned());
    }
    let rest = target.strip_prefix("http://")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let own = [addr.to_string(), format!("localhost:{}", addr.port())];
    own.iter().any(|a| a == authority).then(|| {
        if path.is_empty() {
            "/".to_owned()
        } else {
            path.to_owned()
        }
    })
}

fn handle(
    stream: TcpStream,
    root: &Path,
    aliases: &[(String, PathBuf)],
    addr: SocketAddr,
    logs: Logs<'_>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Chromium opens spare connections ahead of time and may close them unused: no request
    // line, no request (recording one would read as a request for "/").
    if request_line.trim().is_empty() {
        return Ok(());
    }
    // Drain the headers; we answer every request with `Connection: close`.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("/").to_owned();
    let mut out = stream;
    let own = if method == "CONNECT" {
        None
    } else {
        own_path(&target, addr)
    };
    let Some(own) = own else {
        if let Ok(mut l) = logs.foreign.lock() {
            l.push(format!("{method} {target}"));
        }
        return respond(
            &mut out,
            logs.isolate,
            "403 Forbidden",
            "text/plain",
            b"",
            false,
        );
    };
    if let Ok(mut l) = logs.own.lock() {
        l.push(format!("{method} {own}"));
    }
    let path = own.split(['?', '#']).next().unwrap_or("/");
    // `/stalled/<path>`: a download of `<path>` that never finishes (tests of a stuck load). The
    // headers give the file's real size, its first 64 KiB follow (a real GGUF header start, so
    // the page's early checks pass), then nothing until the test is long over.
    if let Some(real) = path.strip_prefix("/stalled") {
        let Some(file) = resolve(root, real) else {
            return not_found(&mut out, logs.isolate, false);
        };
        let mut f = std::fs::File::open(&file)?;
        let size = f.metadata()?.len();
        let mut start = vec![0u8; 65_536.min(size as usize)];
        f.read_exact(&mut start)?;
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
        );
        out.write_all(head.as_bytes())?;
        if method == "GET" {
            out.write_all(&start)?;
            out.flush()?;
            thread::sleep(std::time::Duration::from_secs(900));
        }
        return Ok(());
    }
    let alias = aliases
        .iter()
        .find(|(url, _)| url == path)
        .map(|(_, file)| file.clone());
    let Some(file) = alias.or_else(|| resolve(root, path)) else {
        return not_found(&mut out, logs.isolate, method == "HEAD");
    };
    let mut body = Vec::new();
    match std::fs::File::open(&file) {
        Ok(mut f) => {
            f.read_to_end(&mut body)?;
        }
        Err(_) => {
            return not_found(&mut out, logs.isolate, method == "HEAD");
        }
    }
    match method.as_str() {
        "GET" | "HEAD" => respond(
            &mut out,
            logs.isolate,
            "200 OK",
            content_type(&file),
            &body,
            method == "HEAD",
        ),
        _ => respond(
            &mut out,
            logs.isolate,
            "405 Method Not Allowed",
            "text/plain",
            b"",
            false,
        ),
    }
}

/// Maps a URL path to a file under `root`, refusing anything that climbs out of it.
fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
    let relative = Path::new(decoded.trim_start_matches('/'));
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let mut path = root.join(relative);
    if path.is_dir() {
        path = path.join("index.html");
    }
    path.is_file().then_some(path)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript",
        "wasm" => "application/wasm",
        "css" => "text/css",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}

fn not_found(out: &mut TcpStream, isolate: bool, head_only: bool) -> std::io::Result<()> {
    respond(
        out,
        isolate,
        "404 Not Found",
        "text/plain",
        b"not found",
        head_only,
    )
}

fn respond(
    out: &mut TcpStream,
    isolate: bool,
    status: &str,
    mime: &str,
    body: &[u8],
    head_only: bool,
) -> std::io::Result<()> {
    let isolation = if isolate {
        "Cross-Origin-Opener-Policy: same-origin\r\nCross-Origin-Embedder-Policy: require-corp\r\n"
    } else {
        ""
    };
    let header = format!(
        // CORS allows everything: a second server stands in for a model host on another origin.
        "HTTP/1.1 {status}\r\nContent-Type: {mime}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nAccess-Control-Allow-Origin: *\r\n{isolation}Connection: close\r\n\r\n",
        body.len()
    );
    out.write_all(header.as_bytes())?;
    if !head_only {
        out.write_all(body)?;
    }
    out.flush()
}
