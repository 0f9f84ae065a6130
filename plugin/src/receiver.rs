//! The receiver: URL → decode thread → unpack (CPU) → a depth [`Image`], and the colour [`Image`]
//! of RGB-D streams, updated each frame.
//!
//! Add [`DepthReceiverPlugin`]; [`ReceivedDepth`] then holds an `R32Float` image of linear depth
//! in metres (0 = invalid), replaced in place whenever a frame arrives, with the frame's packing
//! parameters, index and send time. When the stream also carries colour (an RGB-D stream from a
//! sender with colour on), the same frame's colour picture is in [`ReceivedDepth::colour_image`]
//! (`Rgba8UnormSrgb`) and its camera pose and intrinsics in [`ReceivedDepth::camera`]: the two
//! tracks are paired by presentation time, so the colour, depth and camera of one update belong
//! to one rendered frame. Use the images in your own materials or shaders (the
//! [`crate::reproject`] pass draws them from the current camera pose), or read them on the CPU.
//! [`DepthReceiverPlugin::tracks`] decodes only the colour or only the depth.
//!
//! The thread runs `depthcast_stream::RgbdReceiver` (on `DepthReceiver`'s machinery; a
//! depth-only stream gives depth-only frames): it (re)opens the URL until a stream arrives,
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

use crate::reproject::Reprojection;
use bevy::asset::RenderAssetUsages;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
use crossbeam_channel::{Receiver, SendTimeoutError, Sender, TrySendError};
use depthcast_packing::{CameraBlock, DepthImage, PackParams, RgbImage, YuvFrame};
use depthcast_stream::{ReceiverConfig, ReceiverStats, RgbdConfig, RgbdEvent, RgbdReceiver, RgbdStats, RgbdTracks};

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
    /// Which tracks of an RGB-D stream to decode (default both; a depth-only stream has only
    /// depth).
    pub tracks: RgbdTracks,
    /// Longest wait of a frame for its partner on the other track (default 100 ms); a lost
    /// partner never holds a frame back longer (counted in [`ReceivedDepth::rgbd`]).
    pub pair_timeout: Duration,
}

impl Default for DepthReceiverPlugin {
    fn default() -> Self {
        DepthReceiverPlugin {
            url: "udp://127.0.0.1:5600".into(),
            listen: false,
            timeout: Duration::from_secs(2),
            tracks: RgbdTracks::Both,
            pair_timeout: Duration::from_millis(100),
        }
    }
}

/// Put it on the viewer's camera (or any entity whose transform is the viewer's pose) with the
/// [`ReprojectionPlugin`](crate::ReprojectionPlugin) added: once RGB-D frames arrive, the entity
/// gets a [`Reprojection`] of the newest received frame (its colour and depth images and camera)
/// into `output`, replaced as frames arrive, so `output` always shows the newest frame from the
/// viewer's current pose (late-stage reprojection).
#[derive(Component, Debug, Clone)]
pub struct ReprojectReceived {
    /// Where the reprojected view goes: an `Rgba8UnormSrgb` image of the stream's size (resized
    /// by this system when the stream's size changes).
    pub output: Handle<Image>,
}

/// Keeps each [`ReprojectReceived`] entity's [`Reprojection`] on the newest received RGB-D frame.
fn follow_received(
    mut commands: Commands,
    received: Res<ReceivedDepth>,
    mut images: ResMut<Assets<Image>>,
    mut viewers: Query<(Entity, &ReprojectReceived, Option<&mut Reprojection>)>,
) {
    let Some(camera) = received.camera.filter(|_| received.colour.is_some()) else { return };
    let k = camera.intrinsics;
    for (entity, follow, reprojection) in &mut viewers {
        if let Some(mut image) = images.get_mut(&follow.output) {
            let size = image.size();
            if (size.x, size.y) != (k.width, k.height) {
                *image = colour_image(k.width, k.height);
            }
        }
        match reprojection {
            Some(mut r) => {
                if r.source != camera {
                    r.source = camera;
                }
            }
            None => {
                let (colour, depth) = (received.colour_image.clone(), received.image.clone());
                commands.entity(entity).insert(Reprojection::new(colour, depth, camera, follow.output.clone()));
            }
        }
    }
}

/// The newest received frame: depth, and the colour and camera of RGB-D streams.
#[derive(Resource, Debug, Clone)]
pub struct ReceivedDepth {
    /// `R32Float` linear depth in metres, 0 where invalid; resized when the stream's size changes.
    pub image: Handle<Image>,
    /// The depth on the CPU (the same values as the image).
    pub depth: DepthImage,
    /// The newest frame's packing parameters (`None` before the first frame).
    pub params: Option<PackParams>,
    /// `Rgba8UnormSrgb` colour picture of the newest frame with colour (1x1 black before it).
    pub colour_image: Handle<Image>,
    /// The colour on the CPU: 8-bit 4:2:0 full-range BT.709 codes as decoded (`None` before the
    /// first colour frame).
    pub colour: Option<YuvFrame>,
    /// The newest frame's camera pose and intrinsics (RGB-D streams).
    pub camera: Option<CameraBlock>,
    /// Whether the newest frame had both colour and depth (an RGB-D pair).
    pub paired: bool,
    /// How long the newest frame's first track waited for the other, ms.
    pub pair_wait_ms: f64,
    /// The pairing's counts: pairs, frames with one track only, waits.
    pub rgbd: RgbdStats,
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

/// What the receiving thread tells the main world. A few per frame, moved once: the size of the
/// frame variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Event {
    Frame {
        depth: Option<DepthImage>,
        params: Option<PackParams>,
        /// The colour converted to RGBA bytes on the thread, with its planes.
        colour: Option<(YuvFrame, Vec<u8>)>,
        camera: Option<CameraBlock>,
        pair_wait_ms: f64,
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
    rgbd: RgbdStats,
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
        let mut images = app.world_mut().resource_mut::<Assets<Image>>();
        let (image, colour_image) = (images.add(depth_image(1, 1)), images.add(colour_image(1, 1)));
        app.insert_resource(ReceivedDepth {
            image,
            depth: DepthImage::new(1, 1),
            params: None,
            colour_image,
            colour: None,
            camera: None,
            paired: false,
            pair_wait_ms: 0.0,
            rgbd: RgbdStats::default(),
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
        .add_systems(PreUpdate, (apply_frames, follow_received).chain());
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

fn colour_image(width: u32, height: u32) -> Image {
    Image::new_fill(
        Extent3d { width, height, depth_or_array_layers: 1 },
        TextureDimension::D2,
        &[0, 0, 0, 255],
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::default(),
    )
}

/// Takes the newest frame from the thread into [`ReceivedDepth`] and its images.
fn apply_frames(state: Res<ReceiverState>, mut received: ResMut<ReceivedDepth>, mut images: ResMut<Assets<Image>>) {
    let (mut newest, mut newest_colour) = (None, None);
    while let Ok(Update { event, stats, rgbd }) = state.rx.try_recv() {
        received.stats = stats;
        received.rgbd = rgbd;
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
            Event::Frame {
                depth,
                params,
                colour,
                camera,
                pair_wait_ms,
                sent_unix_us,
                received_unix_us,
                bytes,
                keyframe,
            } => {
                received.status = ReceiverStatus::Receiving;
                let index = params.map(|p| p.frame_index).or(camera.map(|c| c.frame_index));
                if let (Some(prev), Some(i)) = (received.frame_index(), index)
                    && i > prev
                {
                    received.gaps += u64::from(i - prev - 1);
                }
                received.paired = depth.is_some() && colour.is_some();
                received.params = params.or(received.params);
                received.camera = camera.or(received.camera);
                received.pair_wait_ms = pair_wait_ms;
                received.sent_unix_us = sent_unix_us;
                received.received_unix_us = received_unix_us;
                received.bytes = bytes;
                received.keyframe = keyframe;
                received.frames += 1;
                // Depth and colour of one update belong together: a frame with only one track
                // leaves the other image as it was.
                if depth.is_some() {
                    newest = depth;
                }
                if colour.is_some() {
                    newest_colour = colour;
                }
            }
        }
    }
    if let Some((yuv, rgba)) = newest_colour {
        let handle = received.colour_image.clone();
        if let Some(mut image) = images.get_mut(&handle) {
            let size = image.size();
            if size.x != yuv.width || size.y != yuv.height {
                *image = colour_image(yuv.width, yuv.height);
            }
            image.data = Some(rgba);
        }
        received.colour = Some(yuv);
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

impl ReceivedDepth {
    /// The newest frame's index (from its packing parameters, or else its camera block).
    pub fn frame_index(&self) -> Option<u32> {
        self.params.map(|p| p.frame_index).or(self.camera.map(|c| c.frame_index))
    }
}

/// RGBA bytes of a decoded colour picture (BT.709 full range → sRGB-encoded bytes, opaque).
fn to_rgba(yuv: &YuvFrame) -> Vec<u8> {
    let rgb = RgbImage::from_yuv420(yuv, yuv.width, yuv.height);
    let mut out = Vec::with_capacity(rgb.data.len() / 3 * 4);
    for px in rgb.data.chunks_exact(3) {
        out.extend_from_slice(&[px[0], px[1], px[2], 255]);
    }
    out
}

fn receive_thread(cfg: &DepthReceiverPlugin, tx: &Sender<Update>, stop: &AtomicBool) {
    let send = |event: Event, rx: &RgbdReceiver| {
        let update = Update { event, stats: rx.receiver_stats().clone(), rgbd: rx.stats().clone() };
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
    let receiver = ReceiverConfig { listen: cfg.listen, poll: cfg.timeout, ..ReceiverConfig::new(cfg.url.clone()) };
    let config = RgbdConfig { receiver, tracks: cfg.tracks, pair_timeout: cfg.pair_timeout };
    let mut rx = RgbdReceiver::new(config);
    while !stop.load(Ordering::Relaxed) {
        let ev = match rx.next_event() {
            Ok(RgbdEvent::Frame(f)) => {
                let f = *f;
                Event::Frame {
                    colour: f.colour.map(|c| {
                        let rgba = to_rgba(&c);
                        (c, rgba)
                    }),
                    depth: f.depth,
                    params: f.params,
                    camera: f.camera,
                    pair_wait_ms: f.pair_wait_ms,
                    sent_unix_us: f.sent_unix_us,
                    received_unix_us: f.received_unix_us,
                    bytes: f.bytes.0 + f.bytes.1,
                    keyframe: f.keyframe,
                }
            }
            Ok(RgbdEvent::Connected) => Event::Connected,
            Ok(RgbdEvent::Waiting(why)) => Event::Waiting(why),
            Ok(RgbdEvent::Ended) => {
                send(Event::Ended(None), &rx);
                return;
            }
            Err(e) => {
                send(Event::Ended(Some(e.to_string())), &rx);
                return;
            }
        };
        if !send(ev, &rx) {
            return;
        }
    }
}
