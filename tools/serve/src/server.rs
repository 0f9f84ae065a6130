//! The HTTP side: `/` (the page), `/js/*.js`, `/ws` (the stream, see `web/README.md`) and
//! `/status` (JSON counters), served by axum on its own runtime.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt as _;
use tokio::net::{TcpListener, TcpSocket};

use crate::relay::{Relay, Subscription, WireMessage};
use crate::web::WebFiles;
use crate::{Result, ServeError};

/// How the server listens and what it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeConfig {
    /// The address to listen on. Default `127.0.0.1:8080` (this machine only; `0.0.0.0:8080`
    /// for the network). Port 0 picks a free port ([`Server::local_addr`]).
    pub bind: SocketAddr,
    /// Serve the page from this folder (with `index.html` and `js/`) instead of the copy built
    /// into the binary: edits show on reload. Default none.
    pub web_dir: Option<PathBuf>,
    /// The listening socket's send buffer (`SO_SNDBUF`, bytes; Linux doubles it and accepted
    /// connections inherit it): bounds what a stalled page's kernel buffer can hold, so the
    /// relay's queue, which skips, sees the backlog instead. `None`: the system's default (which
    /// grows to megabytes, seconds of a stream). Default 256 KiB.
    pub send_buffer: Option<usize>,
    /// How often each page gets the `server` message. Default 1 s.
    pub server_interval: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            web_dir: None,
            send_buffer: Some(256 << 10),
            server_interval: Duration::from_secs(1),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
struct App {
    relay: Relay,
    web: WebFiles,
    server_interval: Duration,
}

/// A running server: its own multi-thread runtime (two workers), stopped when dropped.
#[derive(Debug)]
pub struct Server {
    runtime: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
}

impl Server {
    /// Binds `config.bind` and serves `relay` in the background (callable from any thread,
    /// within another tokio runtime too).
    ///
    /// # Errors
    /// [`ServeError::WebDir`] for a `web_dir` without `index.html`, [`ServeError::Bind`] when
    /// the address cannot be listened on, [`ServeError::Runtime`] when no runtime starts.
    pub fn start(config: &ServeConfig, relay: Relay) -> Result<Server> {
        let web = match &config.web_dir {
            Some(dir) => {
                if !dir.join("index.html").is_file() {
                    return Err(ServeError::WebDir { path: dir.clone(), why: "no index.html in it".into() });
                }
                WebFiles::Dir(dir.clone())
            }
            None => WebFiles::Embedded,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("depthcast-serve")
            .enable_io()
            .enable_time()
            .build()
            .map_err(ServeError::Runtime)?;
        // Entered, not blocked on: `start` may be called from within another runtime.
        let listener = {
            let _entered = runtime.enter();
            listen(config.bind, config.send_buffer)?
        };
        let addr = listener.local_addr().map_err(|source| ServeError::Bind { addr: config.bind, source })?;
        let app = App { relay, web, server_interval: config.server_interval.max(Duration::from_millis(10)) };
        runtime.spawn(async move {
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let service = router(app).into_make_service_with_connect_info::<SocketAddr>();
            // Only fails when accepting fails for good; the server then simply stops.
            let _ = axum::serve(listener, service).await;
        });
        Ok(Server { runtime: Some(runtime), addr })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's URL (`http://ADDR/`; for an unspecified address such as `0.0.0.0`, the
    /// loopback one).
    pub fn url(&self) -> String {
        let mut a = self.addr;
        if a.ip().is_unspecified() {
            a.set_ip(if a.is_ipv4() { [127, 0, 0, 1].into() } else { std::net::Ipv6Addr::LOCALHOST.into() });
        }
        format!("http://{a}/")
    }

    /// Stops serving and closes every connection.
    pub fn stop(mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// A listening socket with a bounded send buffer.
fn listen(addr: SocketAddr, send_buffer: Option<usize>) -> Result<TcpListener> {
    let bind = |source| ServeError::Bind { addr, source };
    let socket = if addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }.map_err(bind)?;
    socket.set_reuseaddr(true).map_err(bind)?;
    if let Some(n) = send_buffer {
        socket.set_send_buffer_size(n.min(u32::MAX as usize) as u32).map_err(bind)?;
    }
    socket.bind(addr).map_err(bind)?;
    socket.listen(1024).map_err(bind)
}

fn router(app: App) -> Router {
    Router::new().route("/ws", get(ws)).route("/status", get(status)).fallback(get(file)).with_state(app)
}

/// `/`, `/index.html`, `/js/NAME.js`.
async fn file(State(app): State<App>, uri: Uri) -> Response {
    match app.web.get(uri.path()).await {
        Some((body, mime)) => {
            ([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, "no-cache")], body).into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

/// `/status`: the input, its tracks, every page's counters.
async fn status(State(app): State<App>) -> Response {
    let s = app.relay.stats();
    let bound = app.relay.config();
    let body = serde_json::json!({
        "input": {
            "source": s.source,
            "ended": s.ended,
            "packets": s.packets_in,
            "bytes": s.bytes_in,
            "keyframes": s.keyframes_in,
            "starts": s.inputs,
            "error": s.input_error,
        },
        "tracks": s.tracks.iter().map(crate::TrackDesc::to_json).collect::<Vec<_>>(),
        "clients": s.per_client.iter().map(|c| serde_json::json!({
            "id": c.id,
            "addr": c.addr,
            "joined": c.joined,
            "sent": c.sent,
            "skipped": c.skipped,
            "overflows": c.overflows,
            "queued": c.queued,
            "queuedBytes": c.queued_bytes,
            "maxQueued": c.max_queued,
            "maxQueuedBytes": c.max_queued_bytes,
        })).collect::<Vec<_>>(),
        "totals": {
            "clients": s.clients,
            "clientsEver": s.clients_total,
            "sent": s.sent,
            "skipped": s.skipped,
            "gopPackets": s.gop_packets,
        },
        "queueBound": {"packets": bound.queue_packets, "bytes": bound.queue_bytes},
    });
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-cache")], body.to_string())
        .into_response()
}

/// `/ws`: the stream.
async fn ws(State(app): State<App>, ConnectInfo(peer): ConnectInfo<SocketAddr>, up: WebSocketUpgrade) -> Response {
    up.on_upgrade(move |socket| page(socket, app, peer))
}

/// Sends one page its messages until it goes away.
async fn page(mut socket: WebSocket, app: App, peer: SocketAddr) {
    let sub: Subscription = app.relay.subscribe(&peer.to_string());
    let mut next_server = tokio::time::Instant::now() + app.server_interval;
    loop {
        while let Some(m) = sub.next_message() {
            let msg = match m {
                WireMessage::Text(t) => Message::Text(t.as_ref().into()),
                WireMessage::Binary(b) => Message::Binary(b),
            };
            if socket.send(msg).await.is_err() {
                return;
            }
            if tokio::time::Instant::now() >= next_server {
                break;
            }
        }
        if tokio::time::Instant::now() >= next_server {
            next_server = tokio::time::Instant::now() + app.server_interval;
            if socket.send(Message::Text(sub.server_message().into())).await.is_err() {
                return;
            }
            continue;
        }
        tokio::select! {
            () = sub.notified() => {}
            () = tokio::time::sleep_until(next_server) => {}
            m = socket.recv() => match m {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
