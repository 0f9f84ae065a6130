//! [`StaticServer`]: a tiny HTTP/1.1 server for a directory plus in-memory files.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::cdp::lock;
use crate::error::{BrowserError, Result};

/// The MIME type a file is served with, by its extension (`.js` is `text/javascript`, which
/// module scripts require); `application/octet-stream` for anything unknown.
pub fn mime_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "txt" | "md" | "glsl" | "csv" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "mp4" => "video/mp4",
        "mkv" => "video/x-matroska",
        "webm" => "video/webm",
        _ => "application/octet-stream",
    }
}

/// An in-memory file.
#[derive(Clone)]
struct Route {
    body: Arc<Vec<u8>>,
    mime: String,
}

type Routes = Arc<RwLock<HashMap<String, Route>>>;

/// What a [`StaticServer`] serves, before it starts: a directory (may be empty: none) and
/// in-memory files. [`StaticServer::start`] binds `127.0.0.1` on a free port.
///
/// `GET`/`HEAD` only, one thread per connection, `Connection: close`, `Cache-Control: no-store`;
/// an in-memory file wins over a file of the directory at the same path; `/dir/` serves
/// `/dir/index.html`; paths with `..` are refused.
#[derive(Debug)]
pub struct StaticServer {
    root: Option<PathBuf>,
    routes: HashMap<String, (Arc<Vec<u8>>, String)>,
}

/// `path` with a leading `/`.
fn normalise(path: &str) -> String {
    if path.starts_with('/') { path.to_owned() } else { format!("/{path}") }
}

impl StaticServer {
    /// A server of the files under `root` (e.g. the repository's `web/`).
    pub fn new(root: impl Into<PathBuf>) -> StaticServer {
        StaticServer { root: Some(root.into()), routes: HashMap::new() }
    }

    /// A server of in-memory files only.
    pub fn in_memory() -> StaticServer {
        StaticServer { root: None, routes: HashMap::new() }
    }

    /// Serves `bytes` at `path` (`/fixtures/a.bin`) as `mime`.
    pub fn add(&mut self, path: &str, bytes: impl Into<Vec<u8>>, mime: &str) -> &mut StaticServer {
        self.routes.insert(normalise(path), (Arc::new(bytes.into()), mime.to_owned()));
        self
    }

    /// The same as [`StaticServer::add`].
    pub fn add_bytes(&mut self, path: &str, bytes: impl Into<Vec<u8>>, mime: &str) -> &mut StaticServer {
        self.add(path, bytes, mime)
    }

    /// Binds `127.0.0.1:0` and serves until the returned handle is dropped.
    ///
    /// # Errors
    /// [`BrowserError::Io`] when binding fails.
    pub fn start(self) -> Result<RunningServer> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(BrowserError::io("binding 127.0.0.1:0"))?;
        let addr = listener.local_addr().map_err(BrowserError::io("reading the bound address"))?;
        let routes: Routes =
            Arc::new(RwLock::new(self.routes.into_iter().map(|(p, (body, mime))| (p, Route { body, mime })).collect()));
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let root = self.root.map(Arc::new);
        let thread = {
            let (routes, stop, log) = (routes.clone(), stop.clone(), log.clone());
            std::thread::Builder::new()
                .name("static-server".into())
                .spawn(move || {
                    for conn in listener.incoming() {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let Ok(conn) = conn else { continue };
                        let (routes, root, log) = (routes.clone(), root.clone(), log.clone());
                        let _ = std::thread::Builder::new().name("static-server-conn".into()).spawn(move || {
                            serve(conn, &routes, root.as_deref().map(PathBuf::as_path), &log);
                        });
                    }
                })
                .map_err(BrowserError::io("starting the server thread"))?
        };
        Ok(RunningServer { addr, routes, stop, thread: Some(thread), log })
    }
}

/// A started [`StaticServer`]; stops when dropped.
pub struct RunningServer {
    addr: SocketAddr,
    routes: Routes,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    log: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl RunningServer {
    /// The full URL of `path` (`/js/sei.js` → `http://127.0.0.1:PORT/js/sei.js`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, normalise(path))
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `bytes` at `path` as `mime` from now on (replacing what was there).
    pub fn add_bytes(&self, path: &str, bytes: impl Into<Vec<u8>>, mime: &str) {
        let route = Route { body: Arc::new(bytes.into()), mime: mime.to_owned() };
        self.routes.write().unwrap_or_else(|e| e.into_inner()).insert(normalise(path), route);
    }

    /// The requests served so far, as `GET /path 200`, oldest first.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.log).clone()
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Decodes `%XX` escapes (invalid ones stay as they are).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A file under `root` for the URL path, refusing anything that leaves it.
fn file_for(root: &Path, path: &str) -> Option<PathBuf> {
    let rel = Path::new(path.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let mut p = root.join(rel);
    if p.is_dir() {
        p = p.join("index.html");
    }
    p.is_file().then_some(p)
}

/// Answers one request on `conn`.
fn serve(conn: TcpStream, routes: &Routes, root: Option<&Path>, log: &Mutex<Vec<String>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(&conn);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Headers, up to the blank line (ignored; there is no body to read for GET/HEAD).
    let mut total = 0;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
        if line == "\r\n" || line == "\n" || total > 64 * 1024 {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    if method.is_empty() {
        return;
    }
    let path = percent_decode(target.split(['?', '#']).next().unwrap_or("/"));
    let found: Option<(Arc<Vec<u8>>, String)> = {
        let routes = routes.read().unwrap_or_else(|e| e.into_inner());
        routes.get(&path).map(|r| (r.body.clone(), r.mime.clone()))
    }
    .or_else(|| {
        let file = file_for(root?, &path)?;
        let body = std::fs::read(&file).ok()?;
        Some((Arc::new(body), mime_type(&file.to_string_lossy()).to_owned()))
    });
    let (status, body, mime): (&str, Arc<Vec<u8>>, String) = match (method, found) {
        ("GET" | "HEAD", Some((body, mime))) => ("200 OK", body, mime),
        ("GET" | "HEAD", None) => {
            ("404 Not Found", Arc::new(format!("{path} not found\n").into_bytes()), "text/plain; charset=utf-8".into())
        }
        _ => ("405 Method Not Allowed", Arc::new(b"GET or HEAD only\n".to_vec()), "text/plain; charset=utf-8".into()),
    };
    lock(log).push(format!("{method} {path} {}", &status[..3]));
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {mime}\r\nContent-Length: {}\r\nConnection: close\r\n\
         Cache-Control: no-store\r\nAccess-Control-Allow-Origin: *\r\n\r\n",
        body.len()
    );
    let mut w = &conn;
    let _ = w.write_all(head.as_bytes());
    if method != "HEAD" {
        let _ = w.write_all(&body);
    }
    let _ = w.flush();
    let _ = conn.shutdown(std::net::Shutdown::Write);
}
