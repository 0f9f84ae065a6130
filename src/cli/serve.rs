//! `depthcast serve`: relays a stream (any URL `recv` reads, or the built-in scene encoded live)
//! to browsers: the receiver page at `/`, the stream over WebSocket at `/ws`, counters at
//! `/status` (see `depthcast_serve` and `web/README.md`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use depthcast_codec::redact_url;
use depthcast_serve::{
    Relay, RelayConfig, ServeConfig, ServeError, Server, Source, SourceConfig, SyntheticConfig, run_synthetic,
};

/// Options of `depthcast serve`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Source: a `.mkv`/`.ts` file (played in real time), `udp://0.0.0.0:5000`,
    /// `tcp://127.0.0.1:5000` (with `--listen`), `srt://...`, `rtmp://host/app/stream`. Live URLs
    /// are opened again whenever their stream ends.
    #[arg(long, required_unless_present = "synthetic", conflicts_with = "synthetic")]
    input: Option<String>,
    /// Instead of `--input`: the built-in game-like scene (640x360), encoded live at 30 fps
    /// (H.264, 3 Mbit/s, a keyframe a second).
    #[arg(long)]
    synthetic: bool,
    /// Address to serve on (`0.0.0.0:8080` for other machines).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Files: play again from the start when they end (otherwise the pages get `end` and serve
    /// exits).
    #[arg(long = "loop")]
    looping: bool,
    /// Most access units queued for one page (all tracks); a page that falls this far behind
    /// skips to the next keyframe.
    #[arg(long, default_value_t = RelayConfig::default().queue_packets)]
    queue_frames: usize,
    /// Most MiB queued for one page.
    #[arg(long, default_value_t = RelayConfig::default().queue_bytes >> 20)]
    queue_mib: usize,
    /// Serve the page from this folder (`web/` of the repository) instead of the built-in copy:
    /// edits show on reload.
    #[arg(long)]
    web_dir: Option<PathBuf>,
    /// For tcp:// inputs: listen for the sender.
    #[arg(long)]
    listen: bool,
    /// Send buffer of each page's connection in KiB (0: the system's default, which can hide
    /// seconds of backlog in the kernel).
    #[arg(long, default_value_t = 256)]
    send_buffer_kib: usize,
}

/// The error with the codec's or the stream's error as its own cause, so that the exit code
/// (`super::exit::code`) sees it.
fn unwrap_serve(e: ServeError) -> anyhow::Error {
    match e {
        ServeError::Codec(c) => c.into(),
        ServeError::Stream(s) => s.into(),
        other => other.into(),
    }
}

pub(crate) fn run(a: Args) -> anyhow::Result<()> {
    if let Some(url) = &a.input
        && !SourceConfig::new(url.clone()).is_live()
    {
        // A file: fail before serving anything when it is not there.
        std::fs::metadata(url).with_context(|| format!("opening {url}"))?;
    }
    let relay = Relay::new(RelayConfig { queue_packets: a.queue_frames.max(1), queue_bytes: a.queue_mib.max(1) << 20 });
    let config = ServeConfig {
        bind: a.bind,
        web_dir: a.web_dir.clone(),
        send_buffer: (a.send_buffer_kib > 0).then_some(a.send_buffer_kib << 10),
        ..ServeConfig::default()
    };
    let server = Server::start(&config, relay.clone()).context("starting the server")?;
    let input_name = match &a.input {
        Some(url) => redact_url(url),
        None => "the built-in scene (synthetic, 640x360 at 30 fps)".into(),
    };
    eprintln!("serving {input_name}: open {} in a browser (status: {}status)", server.url(), server.url());

    // The input on its own thread: a URL, or the in-process encoder.
    let stop = Arc::new(AtomicBool::new(false));
    let mut source = None;
    let mut synthetic = None;
    match &a.input {
        Some(url) => {
            let cfg = SourceConfig { listen: a.listen, looping: a.looping, ..SourceConfig::new(url.clone()) };
            source = Some(Source::start(cfg, relay.clone()).context("starting the input")?);
        }
        None => {
            let (relay, stop) = (relay.clone(), stop.clone());
            synthetic = Some(std::thread::spawn(move || run_synthetic(&SyntheticConfig::default(), &relay, &stop)));
        }
    }

    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let (mut last_bytes, mut last_t) = (0u64, Instant::now());
    let mut bitrate = 0.0;
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let s = relay.stats();
        let dt = last_t.elapsed().as_secs_f64();
        if dt >= 1.0 {
            bitrate = (s.bytes_in - last_bytes) as f64 * 8.0 / dt;
            (last_bytes, last_t) = (s.bytes_in, Instant::now());
        }
        let tracks = if s.tracks.is_empty() {
            match &s.input_error {
                Some(e) => format!("waiting for the input; last try: {e}"),
                None => "waiting for the input".to_string(),
            }
        } else {
            s.tracks.iter().map(|t| format!("{} {}", t.role_name(), t.codec)).collect::<Vec<_>>().join(", ")
        };
        bar.set_message(format!(
            "{} page(s) | input {:.2} Mbit/s, {} frames ({tracks}) | {} skipped for slow pages",
            s.clients,
            bitrate / 1e6,
            s.packets_in,
            s.skipped
        ));
        bar.tick();
        let finished = source.as_ref().is_some_and(Source::is_finished)
            || synthetic.as_ref().is_some_and(std::thread::JoinHandle::is_finished);
        if finished {
            break;
        }
    }
    bar.finish();
    // The input ended: the pages have `end` queued; give them a moment to get it.
    std::thread::sleep(Duration::from_secs(1));
    if let Some(mut s) = source {
        s.join().map_err(unwrap_serve).with_context(|| format!("reading {input_name}"))?;
    }
    if let Some(t) = synthetic {
        stop.store(true, Ordering::Relaxed);
        t.join()
            .map_err(|_| anyhow::anyhow!("the encoder thread panicked"))?
            .map_err(unwrap_serve)
            .context("encoding the scene")?;
    }
    let s = relay.stats();
    eprintln!(
        "input ended after {} packets ({} bytes); {} page(s) served, {} packets skipped for slow pages{}",
        s.packets_in,
        s.bytes_in,
        s.clients_total,
        s.skipped,
        if a.input.is_some() && !a.looping { " (--loop plays a file again)" } else { "" }
    );
    server.stop();
    Ok(())
}
