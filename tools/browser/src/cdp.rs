//! The DevTools connection: one WebSocket to the browser, commands from any thread, and a reader
//! thread that hands each response to its caller and keeps every session's events that matter
//! (console output, page loads).

use std::collections::{HashMap, VecDeque};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::{Message, WebSocket};

use crate::error::{BrowserError, Result};

/// Largest message accepted from Chromium: eval results of tens of MB (base64 strings) and
/// full-page screenshots must fit.
const MAX_MESSAGE: usize = 1 << 30;
/// Console lines kept per page.
const CONSOLE_KEEP: usize = 10_000;
/// Loaded navigations remembered per page.
const LOADS_KEEP: usize = 64;

/// Lines of Chromium's stderr, the last ones kept (shared with the process's stderr reader).
pub(crate) type StderrTail = Arc<Mutex<VecDeque<String>>>;

/// The last lines of `tail`, joined.
pub(crate) fn tail_text(tail: &StderrTail, lines: usize) -> String {
    let t = lock(tail);
    let skip = t.len().saturating_sub(lines);
    t.iter().skip(skip).cloned().collect::<Vec<_>>().join("\n")
}

/// Locks, ignoring poisoning (a panicking test thread must not hide the browser's state).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the reader thread keeps about one page session.
#[derive(Debug, Default)]
pub(crate) struct SessionLog {
    /// Console messages, exceptions and log entries, formatted, oldest first.
    pub(crate) console: VecDeque<String>,
    /// Loader ids of navigations whose `load` lifecycle event fired.
    pub(crate) loaded: VecDeque<String>,
    /// Set when the renderer crashed or the session was detached.
    pub(crate) gone: Option<String>,
}

#[derive(Default)]
struct State {
    pending: HashMap<u64, Sender<Result<Value>>>,
    sessions: HashMap<String, SessionLog>,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

/// One WebSocket to the browser endpoint, shared by the browser and all its pages.
pub(crate) struct Connection {
    writer: Mutex<WebSocket<TcpStream>>,
    socket: TcpStream,
    next_id: AtomicU64,
    shared: Arc<Shared>,
    reader: Mutex<Option<JoinHandle<()>>>,
    stderr: StderrTail,
}

impl Connection {
    /// Connects to Chromium's `ws://host:port/devtools/browser/<id>` address.
    pub(crate) fn connect(ws_url: &str, stderr: StderrTail) -> Result<Arc<Connection>> {
        let host_port = ws_url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .ok_or_else(|| BrowserError::WebSocket(format!("not a ws:// address: {ws_url}")))?;
        let stream = TcpStream::connect(host_port).map_err(BrowserError::io(format!("connecting to {ws_url}")))?;
        stream.set_nodelay(true).map_err(BrowserError::io("TCP_NODELAY"))?;
        let config = WebSocketConfig::default().max_message_size(Some(MAX_MESSAGE)).max_frame_size(Some(MAX_MESSAGE));
        let (reader_ws, _) = tungstenite::client::client_with_config(ws_url, stream, Some(config))
            .map_err(|e| BrowserError::WebSocket(format!("handshake with {ws_url}: {e}")))?;
        // The reader keeps the handshake's socket (and any bytes it read ahead); the writer
        // frames messages onto a clone of it.
        let socket = reader_ws.get_ref().try_clone().map_err(BrowserError::io("cloning the DevTools socket"))?;
        let writer_socket = socket.try_clone().map_err(BrowserError::io("cloning the DevTools socket"))?;
        let writer = WebSocket::from_raw_socket(writer_socket, Role::Client, Some(config));
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), changed: Condvar::new() });
        let reader = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("devtools-reader".into())
                .spawn(move || read_loop(reader_ws, &shared))
                .map_err(BrowserError::io("starting the DevTools reader thread"))?
        };
        Ok(Arc::new(Connection {
            writer: Mutex::new(writer),
            socket,
            next_id: AtomicU64::new(1),
            shared,
            reader: Mutex::new(Some(reader)),
            stderr,
        }))
    }

    /// Sends `method` (to `session`, or to the browser) and waits up to `timeout` for its result.
    pub(crate) fn call(&self, session: Option<&str>, method: &str, params: Value, timeout: Duration) -> Result<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel();
        {
            let mut st = lock(&self.shared.state);
            if st.closed {
                return Err(self.disconnected(method));
            }
            st.pending.insert(id, tx);
        }
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = Value::String(s.to_owned());
        }
        let sent = lock(&self.writer).send(Message::text(msg.to_string()));
        if let Err(e) = sent {
            lock(&self.shared.state).pending.remove(&id);
            return Err(match e {
                tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => self.disconnected(method),
                tungstenite::Error::Io(_) if lock(&self.shared.state).closed => self.disconnected(method),
                e => BrowserError::WebSocket(format!("sending {method}: {e}")),
            });
        }
        match rx.recv_timeout(timeout) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(BrowserError::Protocol { message, code, .. })) => {
                Err(BrowserError::Protocol { method: method.to_owned(), message, code })
            }
            Ok(Err(e)) => Err(e),
            Err(RecvTimeoutError::Timeout) => {
                lock(&self.shared.state).pending.remove(&id);
                Err(BrowserError::Timeout { method: method.to_owned(), after: timeout })
            }
            Err(RecvTimeoutError::Disconnected) => Err(self.disconnected(method)),
        }
    }

    fn disconnected(&self, method: &str) -> BrowserError {
        BrowserError::Disconnected { method: method.to_owned(), stderr: tail_text(&self.stderr, 20) }
    }

    /// Runs `f` on the log of `session` (created when missing).
    pub(crate) fn with_session<T>(&self, session: &str, f: impl FnOnce(&mut SessionLog) -> T) -> T {
        let mut st = lock(&self.shared.state);
        f(st.sessions.entry(session.to_owned()).or_default())
    }

    /// Forgets a session's log.
    pub(crate) fn drop_session(&self, session: &str) {
        lock(&self.shared.state).sessions.remove(session);
    }

    /// Waits until `done` holds for the log of `session`, the connection closes or `timeout`
    /// passes; returns whether `done` held.
    pub(crate) fn wait_session(&self, session: &str, timeout: Duration, done: impl Fn(&SessionLog) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = lock(&self.shared.state);
        loop {
            if st.sessions.get(session).is_some_and(&done) {
                return true;
            }
            let now = Instant::now();
            if st.closed || now >= deadline {
                return false;
            }
            st = self.shared.changed.wait_timeout(st, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let _ = self.socket.shutdown(Shutdown::Both);
        if let Some(reader) = lock(&self.reader).take() {
            let _ = reader.join();
        }
    }
}

/// Reads messages until the connection ends, then fails every pending call.
fn read_loop(mut ws: WebSocket<TcpStream>, shared: &Shared) {
    loop {
        let text = match ws.read() {
            Ok(Message::Text(t)) => t,
            Ok(Message::Binary(b)) => match String::from_utf8(b.to_vec()) {
                Ok(s) => s.into(),
                Err(_) => continue,
            },
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        let Ok(msg) = serde_json::from_str::<Value>(text.as_str()) else { continue };
        dispatch(msg, shared);
    }
    let mut st = lock(&shared.state);
    st.closed = true;
    st.pending.clear(); // dropping the senders wakes their callers
    shared.changed.notify_all();
}

fn dispatch(mut msg: Value, shared: &Shared) {
    if let Some(id) = msg.get("id").and_then(Value::as_u64) {
        let Some(tx) = lock(&shared.state).pending.remove(&id) else { return };
        let reply = match msg.get_mut("error") {
            Some(e) => Err(BrowserError::Protocol {
                method: String::new(),
                message: e.get("message").and_then(Value::as_str).unwrap_or("?").to_owned()
                    + &e.get("data").and_then(Value::as_str).map(|d| format!(": {d}")).unwrap_or_default(),
                code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
            }),
            None => Ok(msg.get_mut("result").map(Value::take).unwrap_or(Value::Null)),
        };
        let _ = tx.send(reply);
        return;
    }
    let method = msg.get("method").and_then(Value::as_str).unwrap_or_default();
    let params = &msg["params"];
    let session = msg.get("sessionId").and_then(Value::as_str);
    let mut st = lock(&shared.state);
    match (method, session) {
        ("Target.detachedFromTarget", None) => {
            if let Some(s) = params["sessionId"].as_str() {
                st.sessions.entry(s.to_owned()).or_default().gone.get_or_insert("detached".into());
            }
        }
        ("Inspector.targetCrashed", Some(s)) => {
            let log = st.sessions.entry(s.to_owned()).or_default();
            log.gone = Some("the page crashed".into());
            push(&mut log.console, "[crashed] the page's renderer crashed".into());
        }
        ("Page.lifecycleEvent", Some(s)) if params["name"] == "load" => {
            if let Some(loader) = params["loaderId"].as_str() {
                let log = st.sessions.entry(s.to_owned()).or_default();
                log.loaded.push_back(loader.to_owned());
                if log.loaded.len() > LOADS_KEEP {
                    log.loaded.pop_front();
                }
            }
        }
        ("Runtime.consoleAPICalled", Some(s)) => {
            let args: Vec<String> = params["args"].as_array().into_iter().flatten().map(remote_object_text).collect();
            let line = format!("[{}] {}", params["type"].as_str().unwrap_or("log"), args.join(" "));
            push(&mut st.sessions.entry(s.to_owned()).or_default().console, line);
        }
        ("Runtime.exceptionThrown", Some(s)) => {
            let line = format!("[exception] {}", exception_text(&params["exceptionDetails"]));
            push(&mut st.sessions.entry(s.to_owned()).or_default().console, line);
        }
        ("Log.entryAdded", Some(s)) => {
            let e = &params["entry"];
            let mut line = format!(
                "[{} {}] {}",
                e["source"].as_str().unwrap_or("log"),
                e["level"].as_str().unwrap_or("?"),
                e["text"].as_str().unwrap_or("")
            );
            if let Some(url) = e["url"].as_str() {
                line += &format!(" ({url})");
            }
            push(&mut st.sessions.entry(s.to_owned()).or_default().console, line);
        }
        _ => return,
    }
    shared.changed.notify_all();
}

fn push(console: &mut VecDeque<String>, line: String) {
    console.push_back(line);
    if console.len() > CONSOLE_KEEP {
        console.pop_front();
    }
}

/// A console argument as text: primitives as their value, objects by description and preview.
fn remote_object_text(o: &Value) -> String {
    if let Some(u) = o["unserializableValue"].as_str() {
        return u.to_owned();
    }
    match o["type"].as_str() {
        Some("string") => o["value"].as_str().unwrap_or_default().to_owned(),
        Some("undefined") => "undefined".into(),
        Some("number" | "boolean") => o["value"].to_string(),
        _ if o["subtype"] == "null" => "null".into(),
        _ => {
            let mut s = o["description"].as_str().unwrap_or("?").to_owned();
            if let Some(props) = o["preview"]["properties"].as_array()
                && o["subtype"] != "error"
            {
                let items: Vec<String> = props
                    .iter()
                    .map(|p| format!("{}: {}", p["name"].as_str().unwrap_or("?"), p["value"].as_str().unwrap_or("…")))
                    .collect();
                let more = if o["preview"]["overflow"] == true { ", …" } else { "" };
                s += &format!(" {{{}{more}}}", items.join(", "));
            }
            s
        }
    }
}

/// An `ExceptionDetails` as text: the exception's description (an Error's message and stack),
/// or the text and the value thrown, and the location.
pub(crate) fn exception_text(d: &Value) -> String {
    let ex = &d["exception"];
    let mut s = match ex["description"].as_str() {
        Some(desc) => desc.to_owned(),
        None if !ex.is_null() => {
            format!("{} {}", d["text"].as_str().unwrap_or("Uncaught"), remote_object_text(ex))
        }
        None => d["text"].as_str().unwrap_or("exception").to_owned(),
    };
    if !s.contains("\n    at ") {
        let frames = d["stackTrace"]["callFrames"].as_array().into_iter().flatten();
        let mut any = false;
        for f in frames {
            any = true;
            s += &format!(
                "\n    at {} ({}:{}:{})",
                f["functionName"].as_str().filter(|n| !n.is_empty()).unwrap_or("<anonymous>"),
                f["url"].as_str().unwrap_or(""),
                f["lineNumber"].as_i64().unwrap_or(0) + 1,
                f["columnNumber"].as_i64().unwrap_or(0) + 1
            );
        }
        if !any && let (Some(line), Some(col)) = (d["lineNumber"].as_i64(), d["columnNumber"].as_i64()) {
            let url = d["url"].as_str().unwrap_or("<expression>");
            s += &format!("\n    at {url}:{}:{}", line + 1, col + 1);
        }
    }
    s
}
