//! The sender's main-world system: the range from the newest captured depth, the packing
//! configuration (fixed, or precision-net's [`AutoPacking`] with its start-up probe), and the
//! camera's [`GpuPack`] for the next frame.

use std::time::Instant;

use bevy::prelude::*;
use depthcast_packing::{DepthImage, DepthView, PackingConfig, tight_range};
use depthcast_precision_net::Probe;
use depthcast_stream::{AutoPacking, AutoSettings, ProbeReport};

use super::{DepthSender, DepthSenderPlugin, DepthSenderSettings, SenderState, SentDepth};
use crate::capture::DepthFrames;
use crate::pack::GpuPack;

/// precision-net for the stream: nothing yet, collecting the probe's frames, probing on a
/// worker thread, or choosing.
#[derive(Default)]
pub(crate) enum Chooser {
    /// `auto` is off, or no frame has arrived yet.
    #[default]
    Idle,
    /// The start-up probe collects its first frames (none is sent meanwhile).
    Collecting { auto: Box<AutoPacking>, frames: Vec<DepthImage> },
    /// The probe's encodes run on a worker thread (none is sent meanwhile).
    Probing(crossbeam_channel::Receiver<(Box<AutoPacking>, Result<ProbeReport, String>)>),
    /// Choosing per frame (or the probe's winner for every frame).
    Ready { auto: Box<AutoPacking>, choice: Option<PackingConfig>, probe: Option<ProbeReport> },
    /// precision-net could not run; the fixed configuration is used.
    Failed(String),
}

impl Chooser {
    /// The configuration for the next frame: `None` while the probe runs (send nothing), the
    /// fixed one when `auto` is off or failed.
    fn config(&self, settings: &DepthSenderSettings) -> Option<PackingConfig> {
        match self {
            Chooser::Collecting { .. } | Chooser::Probing(_) => None,
            Chooser::Ready { choice, .. } => choice.or(Some(settings.config)),
            Chooser::Idle | Chooser::Failed(_) => Some(settings.config),
        }
    }

    pub(crate) fn predict_us(&self) -> f64 {
        match self {
            Chooser::Ready { auto, .. } => auto.last_us(),
            _ => 0.0,
        }
    }

    pub(crate) fn probe_report(&self) -> Option<&ProbeReport> {
        match self {
            Chooser::Ready { probe, .. } => probe.as_ref(),
            _ => None,
        }
    }

    pub(crate) fn error(&self) -> Option<&str> {
        match self {
            Chooser::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Advances with the newest depth frame (every captured frame goes to `push` while the probe
    /// collects).
    fn update(
        &mut self,
        cfg: &DepthSenderPlugin,
        settings: &DepthSenderSettings,
        newest: &DepthView<'_>,
        range: (f32, f32),
    ) {
        if !settings.auto {
            return;
        }
        if let Chooser::Idle = self {
            let auto_settings = AutoSettings {
                codec: cfg.codec,
                bits: cfg.bit_depth,
                bitrate: cfg.depth_bitrate(),
                fps: f64::from(cfg.fps.max(1)),
                gop: cfg.gop,
            };
            *self = match AutoPacking::new(&auto_settings, newest.width, newest.height) {
                Ok(mut auto) if settings.probe => {
                    if settings.probe_half {
                        auto.probe_also(&PackingConfig::half_set(cfg.bit_depth));
                    }
                    Chooser::Collecting { auto: Box::new(auto), frames: Vec::new() }
                }
                Ok(auto) => Chooser::Ready { auto: Box::new(auto), choice: None, probe: None },
                Err(e) => {
                    warn!("precision-net: {e}; sending the fixed configuration");
                    Chooser::Failed(e.to_string())
                }
            };
        }
        if let Chooser::Collecting { frames, .. } = self
            && frames.len() >= Probe::FRAMES
            && let Chooser::Collecting { mut auto, frames } = std::mem::take(self)
        {
            let (tx, rx) = crossbeam_channel::bounded(1);
            let mut settings = cfg.encoder_settings();
            // The probe's encodes run side by side, one thread each.
            settings.threads = settings.threads.max(1);
            std::thread::spawn(move || {
                let report = auto.probe(&frames, range.0, range.1, &settings).map_err(|e| e.to_string());
                let _ = tx.send((auto, report));
            });
            *self = Chooser::Probing(rx);
            return;
        }
        match self {
            Chooser::Probing(rx) => match rx.try_recv() {
                Ok((auto, Ok(report))) => {
                    info!(
                        "start-up probe: {} carries the stream ({:.0} ms)",
                        report.winner,
                        report.wall.as_secs_f64() * 1e3
                    );
                    *self = Chooser::Ready { auto, choice: Some(report.winner), probe: Some(report) };
                }
                Ok((_, Err(e))) => {
                    warn!("start-up probe failed: {e}; sending the fixed configuration");
                    *self = Chooser::Failed(e);
                }
                Err(crossbeam_channel::TryRecvError::Empty) => {}
                Err(crossbeam_channel::TryRecvError::Disconnected) => {
                    *self = Chooser::Failed("the probe thread panicked".into())
                }
            },
            Chooser::Ready { auto, choice, .. } => match auto.choose(newest) {
                Ok(c) => *choice = Some(c),
                Err(e) => warn!("precision-net: {e}"),
            },
            _ => {}
        }
    }

    /// Keeps a captured frame for the probe while it collects.
    fn push(&mut self, frame: &DepthImage) {
        if let Chooser::Collecting { frames, .. } = self
            && frames.len() < Probe::FRAMES
        {
            frames.push(frame.clone());
        }
    }
}

/// Sets the next frame's packing from the newest depth frame's range and the settings.
pub(crate) fn choose_params(
    frames: Res<DepthFrames>,
    settings: Res<DepthSenderSettings>,
    mut state: ResMut<SenderState>,
    mut sent: ResMut<SentDepth>,
    mut cameras: Query<(&Camera, &mut GpuPack), With<DepthSender>>,
) {
    if cameras.is_empty() {
        // Leave the depth frames to whoever else reads them until a camera sends.
        return;
    }
    let start = Instant::now();
    let (mut predict, mut aside) = (0.0, 0.0);
    let mut newest = None;
    let state = &mut *state;
    while let Some(f) = frames.try_recv() {
        // Every frame is kept for measurement and for the probe (two can arrive in one update);
        // only the newest steers the range and the policy.
        if sent.capacity > 0 || matches!(state.chooser, Chooser::Collecting { .. }) {
            let t0 = Instant::now();
            let img = DepthImage { width: f.width, height: f.height, data: f.data.clone() };
            state.chooser.push(&img);
            if sent.capacity > 0 {
                if sent.frames.len() >= sent.capacity {
                    sent.frames.pop_front();
                }
                sent.frames.push_back((f.index, img));
            }
            // A measurement aid (or the probe's input), not part of the sender's per-frame cost.
            aside += t0.elapsed().as_secs_f64() * 1e6;
        }
        if let Some(old) = newest.replace(f) {
            frames.recycle(old);
        }
    }
    if let Some(f) = newest {
        let view = DepthView::new(f.width, f.height, f.width as usize, &f.data).ok();
        if let Some((lo, hi)) = view.as_ref().and_then(|v| tight_range(v, 0.0)) {
            state.smoother.alpha = settings.range_alpha.clamp(0.0, 1.0);
            let (lo, hi) = state.smoother.update(lo, hi);
            let m = settings.margin.clamp(0.0, 0.9);
            state.range = Some((lo * (1.0 - m), hi * (1.0 + m)));
        }
        if let (Some(view), Some(range)) = (view.as_ref(), state.range) {
            let t0 = Instant::now();
            state.chooser.update(&state.cfg, &settings, view, range);
            predict = state.chooser.predict_us().min(t0.elapsed().as_secs_f64() * 1e6);
        }
        state.policy_us = (start.elapsed().as_secs_f64() * 1e6 - predict - aside).max(0.0);
        frames.recycle(f);
    }
    let Some((near, far)) = state.range else { return };
    // precision-net's choice when `auto` (made before the first frame is packed, so the stream
    // opens with its frame size; nothing is packed while the probe runs), else the fixed one.
    let chosen = state.chooser.config(&settings);
    for (camera, mut pack) in &mut cameras {
        let Some(size) = camera.physical_target_size() else { continue };
        let (params, roi) = match chosen {
            Some(c) => {
                let mut c = c;
                let bits = state.cfg.bit_depth;
                if c.scheme == depthcast_packing::Scheme::Triangle {
                    // The GPU packs any period; one outside this bit depth's range (or unset)
                    // gets the precision's default.
                    let (lo, hi) = depthcast_packing::PackParams::period_range(c.precision, bits);
                    if !(lo..=hi).contains(&c.period) {
                        c.period = PackingConfig::triangle(c.precision, 0, bits).period;
                    }
                }
                let p = c.params(bits, size.x, size.y, near, far, 0);
                (p.validate().is_ok().then_some(p), c.high_plane_qoffset())
            }
            None => (None, None),
        };
        if pack.params != params || pack.roi_high != roi {
            pack.params = params;
            pack.roi_high = roi;
        }
    }
}
