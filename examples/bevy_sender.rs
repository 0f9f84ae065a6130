//! Streams the depth of a Bevy scene: loads a glTF (or the built-in room), flies the camera along
//! a path, and sends the depth with `DepthSenderPlugin` to a URL.
//!
//! ```sh
//! WGPU_BACKEND=vulkan cargo run --release --example bevy_sender -- \
//!     ../shared/scenes/DepthOfFieldExample.glb udp://127.0.0.1:5600 300
//! # the same with a window showing the camera's view (needs a display)
//! cargo run --release --example bevy_sender -- builtin udp://127.0.0.1:5600 300 --window
//! ```
//! Arguments: scene (`builtin` for the built-in room), URL, frames (default 300; 0 with
//! `--window`: until the window closes). Options: `--window`, `--auto` (precision-net chooses the
//! packing after a start-up probe of real encodes), `--reprobe` (with `--auto`: the probe goes on
//! while the stream runs and moves it at keyframes; MPEG-TS or RTP URLs), `--bitrate BPS` (default 2000000), `--screenshot FILE` (with `--window`:
//! save the window at the last frame). Headless by default (offscreen camera); start
//! `bevy_receiver` with the same URL first or after, it reconnects.

use bevy::prelude::*;
use depthcast::plugin::{DepthSender, DepthSenderPlugin, DepthSenderSettings, DepthSenderStats};
use depthcast::scene::{BUILTIN_SCENE, CameraPath, SceneRenderConfig, SceneRenderer};

/// Streams a scene's depth with DepthSenderPlugin.
#[derive(clap::Parser)]
struct Args {
    /// glTF scene, or `builtin` for the built-in room.
    #[arg(default_value = "builtin")]
    scene: String,
    /// Where to send (udp://, tcp://, srt://, rtmp://, a .ts or .mkv file).
    #[arg(default_value = "udp://127.0.0.1:5600")]
    url: String,
    /// Frames to render (0 with --window: until the window closes).
    #[arg(default_value_t = 300)]
    frames: u32,
    /// Show the camera's view in a window.
    #[arg(long)]
    window: bool,
    /// Let precision-net choose the packing (after the start-up probe).
    #[arg(long)]
    auto: bool,
    /// With --auto: keep probing while the stream runs and move it at keyframes to the
    /// configuration measured best so far (reopening the encoder; .ts, udp://, srt://, tcp://,
    /// rtp:// URLs).
    #[arg(long, requires = "auto")]
    reprobe: bool,
    /// Target bitrate in bit/s.
    #[arg(long, default_value_t = 2_000_000)]
    bitrate: u64,
    /// With --window: save the window to this PNG ten frames before the end.
    #[arg(long)]
    screenshot: Option<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Args { scene, url, frames, window, auto, reprobe, bitrate, screenshot } = clap::Parser::parse();
    let scene = if scene == "builtin" { BUILTIN_SCENE.to_string() } else { scene };

    let mut cfg = SceneRenderConfig::new(&scene);
    (cfg.width, cfg.height, cfg.frames, cfg.window) = (640, 360, frames, window);
    cfg.path = if scene == BUILTIN_SCENE { CameraPath::Walk } else { CameraPath::Orbit };
    cfg.sender = Some(DepthSenderPlugin { url: url.clone(), bitrate, ..Default::default() });
    let mut renderer = SceneRenderer::new(cfg)?;
    let camera = renderer.camera();
    let app = renderer.app_mut();
    app.world_mut().entity_mut(camera).insert(DepthSender);
    app.insert_resource(DepthSenderSettings { auto, reprobe, ..Default::default() });
    println!("streaming {scene} to {url}{}", if auto { " (precision-net chooses the packing)" } else { "" });

    if window {
        app.add_systems(Update, print_stats);
        if let Some(path) = screenshot {
            // Ten frames before the end: the capture is read back and saved a few frames later.
            app.insert_resource(ScreenshotAt { frame: frames.saturating_sub(10).max(1), path, count: 0 })
                .add_systems(Update, take_screenshot);
        }
        return run_windowed(renderer);
    }
    let mut printed = 0;
    for _ in 0..frames {
        renderer.app_mut().update();
        let s = renderer.app_mut().world().resource::<DepthSenderStats>();
        if let Some(e) = &s.error {
            return Err(e.clone().into());
        }
        if s.frames_sent >= printed + 30 {
            printed = s.frames_sent;
            print_line(s);
        }
    }
    Ok(())
}

#[cfg(feature = "window")]
fn run_windowed(renderer: SceneRenderer) -> Result<(), Box<dyn std::error::Error>> {
    match renderer.run_windowed() {
        AppExit::Success => Ok(()),
        AppExit::Error(code) => Err(format!("the app exited with code {code}").into()),
    }
}

#[cfg(not(feature = "window"))]
fn run_windowed(_: SceneRenderer) -> Result<(), Box<dyn std::error::Error>> {
    Err("built without the `window` feature".into())
}

fn print_line(s: &DepthSenderStats) {
    println!(
        "sent {} frames, {:.1} fps, {:.2} Mbit/s, capture->packet {:.0} ms, dropped {}, {:?}{}",
        s.frames_sent,
        s.fps,
        s.bitrate / 1e6,
        s.latency_ms,
        s.dropped,
        s.current.map(|p| format!(
            "{} P{} {}{}",
            p.scheme.name(),
            p.precision,
            p.layout.name(),
            if p.half { " half" } else { "" }
        )),
        if s.reprobe_rounds > 0 {
            format!(
                ", re-probe: {} rounds (the newest of {} configurations), {} moves",
                s.reprobe_rounds, s.reprobe_round_pairs, s.reprobe_switches
            )
        } else {
            String::new()
        }
    );
}

fn print_stats(stats: Res<DepthSenderStats>, mut last: Local<u64>) {
    if stats.frames_sent / 30 != *last / 30 {
        print_line(&stats);
    }
    *last = stats.frames_sent;
}

#[derive(Resource)]
struct ScreenshotAt {
    frame: u32,
    path: String,
    count: u32,
}

fn take_screenshot(mut at: ResMut<ScreenshotAt>, mut commands: Commands) {
    at.count += 1;
    if at.count == at.frame {
        use bevy::render::view::screenshot::{Screenshot, save_to_disk};
        commands.spawn(Screenshot::primary_window()).observe(save_to_disk(at.path.clone()));
    }
}
