//! A tiny static file server for `dist/`, on an ephemeral loopback port.
//!
//! Why not `trunk serve`: tests need a server that starts in milliseconds, serves exactly the
//! release build, and records every path requested (the page must not fetch anything else).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;

/// A running server; it stops when the test process ends.
pub struct StaticServer {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl StaticServer {
    pub fn start(root: PathBuf) -> std::io::Result<StaticServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let root = root.clone();
                let log = Arc::clone(&log);
                thread::spawn(move || {
                    // A broken connection only affects that request.
                    let _ = handle(stream, &root, &log);
                });
            }
        });
        Ok(StaticServer { addr, requests })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    /// Every request line seen so far ("GET /index.html").
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

fn handle(stream: TcpStream, root: &Path, log: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
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
    if let Ok(mut l) = log.lock() {
        l.push(format!("{method} {target}"));
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let mut out = stream;
    let Some(file) = resolve(root, path) else {
        return respond(
            &mut out,
            "404 Not Found",
            "text/plain",
            b"not found",
            method == "HEAD",
        );
    };
    let mut body = Vec::new();
    match std::fs::File::open(&file) {
        Ok(mut f) => {
            f.read_to_end(&mut body)?;
        }
        Err(_) => {
            return respond(
                &mut out,
                "404 Not Found",
                "text/plain",
                b"not found",
                method == "HEAD",
            );
        }
    }
    match method.as_str() {
        "GET" | "HEAD" => respond(
            &mut out,
            "200 OK",
            content_type(&file),
            &body,
            method == "HEAD",
        ),
        _ => respond(&mut out, "405 Method Not Allowed", "text/plain", b"", false),
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

fn respond(
    out: &mut TcpStream,
    status: &str,
    mime: &str,
    body: &[u8],
    head_only: bool,
) -> std::io::Result<()> {
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {mime}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    out.write_all(header.as_bytes())?;
    if !head_only {
        out.write_all(body)?;
    }
    out.flush()
}
