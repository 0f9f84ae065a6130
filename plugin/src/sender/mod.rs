//! The depth sender: capture → GPU packing → readback → encoder thread → transport URL.
//!
//! Add [`DepthSenderPlugin`] (it adds the capture and packing plugins), put [`DepthSender`] on one
//! `Camera3d`, and the camera's depth streams to the plugin's URL. Every frame:
//! 1. the newest captured depth frame gives the range (its tight near/far with a margin, smoothed
//!    over time; the range reaches the GPU about two frames after the depth it came from, so the
//!    margin covers motion in between);
//! 2. [`DepthSenderSettings`] gives the packing configuration: fixed, or chosen by precision-net
//!    from the frame's features and the bitrate (`auto`, `depthcast_stream::AutoPacking`), by
//!    default after a start-up probe that packs the first frames on the CPU with the network's
//!    shortlist and measures real encodes of them (`probe`); the camera's
//!    [`GpuPack`](crate::GpuPack) is set for the next frame;
//! 3. packed frames coming back from the GPU go straight from the render world to the encoder
//!    thread through a bounded channel ([`PackedFrames`]: with a sender, its encoder thread is the
//!    consumer); the thread drops the **oldest** frames when more than
//!    [`DepthSenderPlugin::queue`] wait (counted in [`DepthSenderStats::dropped`]);
//! 4. the encoder thread encodes with `depthcast_stream::DepthEncoder` (parameters in-band, SEI;
//!    the high plane's region of interest) and writes to the transport.
//!
//! Files: `settings.rs` (what a user sets), `configure.rs` (range and configuration per frame),
//! `encoder.rs` (the encoder thread), `stats.rs` ([`DepthSenderStats`]).
//!
//! The encoder cannot change frame size mid-stream, so the configuration must keep one frame
//! size (VBP's luma layout doubles the height, a half-size map halves both), except where the
//! keyframe re-probe ([`DepthSenderSettings::reprobe`]) moves the stream: the main world sends
//! the encoder thread a reopen before it sets the new configuration, and the encoder thread
//! replaces its encoder (pre-rolled, on the same transport) on the first frame packed with it.

mod configure;
mod encoder;
mod settings;
mod stats;

use std::sync::Arc;
use std::thread::JoinHandle;

use bevy::prelude::*;
use crossbeam_channel::Sender;
use depthcast_packing::RangeSmoother;

pub use settings::{DepthSender, DepthSenderPlugin, DepthSenderSettings, SentDepth};
pub use stats::DepthSenderStats;

use crate::colour::{ColourCapture, ColourCapturePlugin, ColourFrames};
use crate::pack::{GpuPackPlugin, PackedFrames};
use configure::{Chooser, choose_params};
use encoder::{Input, encoder_thread};
use stats::{Shared, publish_stats};

/// The sender's main-world systems, in `Update`, in this order: order your own systems that
/// change [`DepthSenderSettings`] before [`DepthSenderSystems::Configure`], and read
/// [`DepthSenderStats`] after [`DepthSenderSystems::Stats`].
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DepthSenderSystems {
    /// The range from the newest captured depth, the packing configuration (fixed, or
    /// precision-net's with its start-up probe) and the camera's `GpuPack` for the next frame.
    Configure,
    /// [`DepthSenderStats`] from the encoder thread and the GPU timings.
    Stats,
}

#[derive(Resource)]
struct SenderState {
    /// `None` once dropped: the encoder thread then encodes what is queued, flushes and ends.
    shutdown: Option<Sender<()>>,
    shared: Arc<Shared>,
    smoother: RangeSmoother,
    range: Option<(f32, f32)>,
    thread: Option<JoinHandle<()>>,
    cfg: DepthSenderPlugin,
    chooser: Chooser,
    /// The re-probe's moves, to the encoder thread.
    reopen: Sender<encoder::Reopen>,
    /// The stream's packets, from the encoder thread, for the re-probe
    /// ([`DepthSenderSettings::reprobe_from_stream`]).
    sent: crossbeam_channel::Receiver<encoder::Tapped>,
    /// CPU time of the last `choose_params` besides prediction, µs.
    policy_us: f64,
}

impl Drop for SenderState {
    /// Closes the queue and waits for the encoder thread to flush the stream (the last packets
    /// and the container trailer), so a file output is complete when the app is gone.
    fn drop(&mut self) {
        self.shutdown = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Plugin for DepthSenderPlugin {
    fn build(&self, app: &mut App) {
        if !app.is_plugin_added::<crate::DepthCapturePlugin>() {
            app.add_plugins(crate::DepthCapturePlugin::default());
        }
        if !app.is_plugin_added::<GpuPackPlugin>() {
            app.add_plugins(GpuPackPlugin::default());
        }
        if self.colour && !app.is_plugin_added::<ColourCapturePlugin>() {
            app.add_plugins(ColourCapturePlugin::default());
        }
        if self.gpu_timing && !app.is_plugin_added::<bevy::render::diagnostic::RenderDiagnosticsPlugin>() {
            app.add_plugins(bevy::render::diagnostic::RenderDiagnosticsPlugin);
        }
        // The encoder thread takes packed frames straight from the packing pass's channel: a hop
        // through the main world would add a frame of latency.
        let (shutdown, shutdown_rx) = crossbeam_channel::bounded::<()>(0);
        let (reopen, reopen_rx) = crossbeam_channel::unbounded();
        let (sent_tx, sent) = crossbeam_channel::bounded(encoder::TAP_CAPACITY);
        let shared = Arc::new(Shared::default());
        let input = Input {
            packed: app.world().resource::<PackedFrames>().clone(),
            reopen: reopen_rx,
            colour: self.colour.then(|| app.world().resource::<ColourFrames>().clone()),
            shutdown: shutdown_rx,
            queue: self.queue.max(1),
            shared: shared.clone(),
            sent: sent_tx,
            tap_lost: Default::default(),
        };
        let cfg = self.clone();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("depthcast-encoder".into())
            .spawn(move || encoder_thread(cfg, input, thread_shared))
            .ok();
        app.register_type::<DepthSender>()
            .init_resource::<DepthSenderSettings>()
            .init_resource::<DepthSenderStats>()
            .insert_resource(SentDepth {
                frames: Default::default(),
                colour: Default::default(),
                capacity: self.keep_source,
            })
            .insert_resource(SenderState {
                shutdown: Some(shutdown),
                shared,
                smoother: RangeSmoother::new(0.1),
                range: None,
                thread,
                cfg: self.clone(),
                chooser: Chooser::default(),
                reopen,
                sent,
                policy_us: 0.0,
            })
            .configure_sets(Update, (DepthSenderSystems::Configure, DepthSenderSystems::Stats).chain())
            .add_systems(Update, choose_params.in_set(DepthSenderSystems::Configure))
            .add_systems(PostUpdate, add_colour_capture)
            .add_systems(Update, publish_stats.in_set(DepthSenderSystems::Stats));
    }
}

/// With colour, the sending camera also captures its colour.
fn add_colour_capture(
    mut commands: Commands,
    state: Res<SenderState>,
    added: Query<Entity, (Added<DepthSender>, Without<ColourCapture>)>,
) {
    if state.cfg.colour {
        for camera in &added {
            commands.entity(camera).insert(ColourCapture::default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_configuration_and_encoder_settings() {
        let s = DepthSenderSettings::default();
        assert_eq!(s.config.to_string(), "vbp-luma-P16-lin-a255-roi-0.40");
        let plugin = DepthSenderPlugin::default();
        let e = plugin.encoder_settings();
        assert_eq!((e.bitrate, e.fps, e.regions_of_interest), (plugin.bitrate, (plugin.fps, 1), true));
    }
}
