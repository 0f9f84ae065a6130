//! The depth receiver: URL → decode thread → unpack (CPU) → a depth [`Image`] updated each frame.
//!
//! Add [`DepthReceiverPlugin`]; [`ReceivedDepth`] then holds an `R32Float` image of linear depth
//! in metres (0 = invalid), replaced in place whenever a frame arrives, with the frame's packing
//! parameters, index and send time. Use the image in your own materials or shaders, or read
//! [`ReceivedDepth::depth`] on the CPU.
//!
//! The thread runs `depthcast_stream::DepthReceiver`: it (re)opens the URL until a stream arrives,
//! so the receiver may start before the sender, and garbage before the stream does not stop it;
//! when the stream ends or breaks (a sender restart, a network error) it opens it again; the
//! decoder resynchronises at the next keyframe after lost packets. Frame indices that jump
//! forward are counted as gaps ([`ReceivedDepth::gaps`]). Every step of the thread is bounded by
//! [`DepthReceiverPlugin::timeout`]; [`ReceivedDepth::status`] says where it is (waiting for a
//! stream, receiving, stalled, ended) and [`ReceivedDepth::stats`] what it has rejected: opens
//! on garbage, frames whose in-band parameters are missing or disagree with the frame, decode
//! errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use bevy::asset::RenderAssetUsages;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
use crossbeam_channel::{Receiver, SendTimeoutError, Sender, TrySendError};
use depthcast_packing::{DepthImage, PackParams};
use depthcast_stream::{DepthReceiver, ReceiveEvent, ReceiverConfig, ReceiverStats};

/// Where the receiving thread is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReceiverStatus {
    /// No valid frame yet: no stream, or only data that is not a valid depth stream
    /// ([`ReceivedDepth::last_error`] says which).
    #[default]
    Waiting,
    /// Frames arrive.
    Receiving,
    /// Frames arrived, but none for [`DepthReceiverPlugin::timeout`]; the thread keeps trying
    /// (it reopens the stream when it ends or breaks).
    Stalled,
    /// The stream ended for good (a file), or the thread stopped on an error
    /// ([`ReceivedDepth::last_error`]).
    Ended,
}

/// Where to receive from.
#[derive(Debug, Clone)]
pub struct DepthReceiverPlugin {
    /// `udp://`, `tcp://` (with `listen`), `srt://`, `rtmp://`, or a file.
    pub url: String,
    /// For `tcp://`: listen for the sender instead of connecting (default false).
    pub listen: bool,
    /// How long one attempt waits for data before reopening (default 2 s); also how long the
    /// app waits for the thread when it closes.
    pub timeout: Duration,
}

impl Default for DepthReceiverPlugin {
    fn default() -> Self {
        DepthReceiverPlugin { url: "udp://127.0.0.1:5600".into(), listen: false, timeout: Duration::from_secs(2) }
    }
}

/// The newest received depth frame.
#[derive(Resource, Debug, Clone)]
pub struct ReceivedDepth {
    /// `R32Float` linear depth in metres, 0 where invalid; resized when the stream's size changes.
    pub image: Handle<Image>,
    /// The depth on the CPU (the same values as the image).
    pub depth: DepthImage,
    /// The newest frame's packing parameters (`None` before the first frame).
    pub params: Option<PackParams>,
    /// Sender wall-clock time of the newest frame, µs since the UNIX epoch.
    pub sent_unix_us: Option<u64>,
    /// Receiver wall-clock time when the newest frame was unpacked, µs since the UNIX epoch.
    pub received_unix_us: u64,
    /// Encoded size of the newest frame in bytes, and whether it was a keyframe.
    pub bytes: usize,
    /// Whether the newest frame was a keyframe.
    pub keyframe: bool,
    /// Frames received and unpacked.
    pub frames: u64,
    /// Frames missing between received ones (forward jumps of the frame index).
    pub gaps: u64,
    /// Times the stream was (re)opened.
    pub connections: u64,
    /// The last error of the receiving thread since it last connected (it keeps going).
    pub last_error: Option<String>,
    /// Where the receiving thread is.
    pub status: ReceiverStatus,
    /// What the receiving thread has seen, rejections included (as of its newest event).
    pub stats: ReceiverStats,
}

enum Event {
    Frame {
        depth: DepthImage,
        params: PackParams,
        sent_unix_us: Option<u64>,
        received_unix_us: u64,
        bytes: usize,
        keyframe: bool,
    },
    Connected,
    Waiting(String),
    Ended(Option<String>),
}

/// An event of the thread with its receiver's stats at that point.
struct Update {
    event: Event,
    stats: ReceiverStats,
}

#[derive(Resource)]
struct ReceiverState {
    rx: Receiver<Update>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for ReceiverState {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl DepthReceiverPlugin {
    /// An app with just what the receiver needs, for a process that does not render: Bevy's
    /// `MinimalPlugins`, assets and images, and this plugin. Drive it with `App::update`.
    pub fn headless_app(self) -> App {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, AssetPlugin::default())).init_asset::<Image>().add_plugins(self);
        app
    }
}

impl Plugin for DepthReceiverPlugin {
    fn build(&self, app: &mut App) {
        let (tx, rx) = crossbeam_channel::bounded(4);
        let stop = Arc::new(AtomicBool::new(false));
        let cfg = self.clone();
        let thread_stop = stop.clone();
        let thread = std::thread::Builder::new()
            .name("depthcast-receiver".into())
            .spawn(move || receive_thread(&cfg, &tx, &thread_stop))
            .ok();
        let image = app.world_mut().resource_mut::<Assets<Image>>().add(depth_image(1, 1));
        app.insert_resource(ReceivedDepth {
            image,
            depth: DepthImage::new(1, 1),
            params: None,
            sent_unix_us: None,
            received_unix_us: 0,
            bytes: 0,
            keyframe: false,
            frames: 0,
            gaps: 0,
            connections: 0,
            last_error: None,
            status: ReceiverStatus::Waiting,
            stats: ReceiverStats::default(),
        })
        .insert_resource(ReceiverState { rx, stop, thread })
        .add_systems(PreUpdate, apply_frames);
    }
}

fn depth_image(width: u32, height: u32) -> Image {
    Image::new_fill(
        Extent3d { width, height, depth_or_array_layers: 1 },
        TextureDimension::D2,
        &0f32.to_le_bytes(),
        TextureFormat::R32Float,
        RenderAssetUsages::default(),
    )
}

/// Takes the newest frame from the thread into [`ReceivedDepth`] and its image.
fn apply_frames(state: Res<ReceiverState>, mut received: ResMut<ReceivedDepth>, mut images: ResMut<Assets<Image>>) {
    let mut newest = None;
    while let Ok(Update { event, stats }) = state.rx.try_recv() {
        received.stats = stats;
        match event {
            Event::Connected => {
                received.connections += 1;
                received.last_error = None;
            }
            Event::Waiting(e) => {
                received.last_error = Some(e);
                received.status = if received.frames > 0 { ReceiverStatus::Stalled } else { ReceiverStatus::Waiting };
            }
            Event::Ended(e) => {
                if e.is_some() {
                    received.last_error = e;
                }
                received.status = ReceiverStatus::Ended;
            }
            Event::Frame { depth, params, sent_unix_us, received_unix_us, bytes, keyframe } => {
                received.status = ReceiverStatus::Receiving;
                if let Some(prev) = received.params.as_ref().map(|p| p.frame_index)
                    && params.frame_index > prev
                {
                    received.gaps += u64::from(params.frame_index - prev - 1);
                }
                received.params = Some(params);
                received.sent_unix_us = sent_unix_us;
                received.received_unix_us = received_unix_us;
                received.bytes = bytes;
                received.keyframe = keyframe;
                received.frames += 1;
                newest = Some(depth);
            }
        }
    }
    let Some(depth) = newest else { return };
    let handle = received.image.clone();
    if let Some(mut image) = images.get_mut(&handle) {
        let size = image.size();
        if size.x != depth.width || size.y != depth.height {
            *image = depth_image(depth.width, depth.height);
        }
        if let Some(data) = image.data.as_mut() {
            for (out, z) in data.chunks_exact_mut(4).zip(&depth.data) {
                out.copy_from_slice(&z.to_le_bytes());
            }
        }
    }
    received.depth = depth;
}

fn receive_thread(cfg: &DepthReceiverPlugin, tx: &Sender<Update>, stop: &AtomicBool) {
    let send = |event: Event, stats: &ReceiverStats| {
        let update = Update { event, stats: stats.clone() };
        if matches!(update.event, Event::Frame { .. }) {
            match tx.try_send(update) {
                // A full queue: the main world is behind; this frame is dropped (the next one is newer).
                Ok(()) | Err(TrySendError::Full(_)) => true,
                Err(TrySendError::Disconnected(_)) => false,
            }
        } else {
            // A change of state is not dropped; the wait is bounded like every other step.
            !matches!(tx.send_timeout(update, cfg.timeout), Err(SendTimeoutError::Disconnected(_)))
        }
    };
    let config = ReceiverConfig { listen: cfg.listen, poll: cfg.timeout, ..ReceiverConfig::new(cfg.url.clone()) };
    let mut rx = DepthReceiver::new(config);
    while !stop.load(Ordering::Relaxed) {
        let ev = match rx.next_event() {
            Ok(ReceiveEvent::Frame(f)) => {
                let f = *f;
                Event::Frame {
                    depth: f.depth,
                    params: f.params,
                    sent_unix_us: f.sent_unix_us,
                    received_unix_us: f.received_unix_us,
                    bytes: f.bytes,
                    keyframe: f.keyframe,
                }
            }
            Ok(ReceiveEvent::Connected) => Event::Connected,
            Ok(ReceiveEvent::Waiting(why)) => Event::Waiting(why),
            Ok(ReceiveEvent::Ended) => {
                send(Event::Ended(None), rx.stats());
                return;
            }
            Err(e) => {
                send(Event::Ended(Some(e.to_string())), rx.stats());
                return;
            }
        };
        if !send(ev, rx.stats()) {
            return;
        }
    }
}
