//! The encoder thread: packed frames straight from the packing pass's channel → `depthcast-stream`'s
//! [`DepthEncoder`] (parameters in-band, the high plane's region of interest) → transport.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crossbeam_channel::Receiver;
use depthcast_packing::{PackingConfig, YuvFrame};
use depthcast_stream::{DepthEncoder, FrameMeta, unix_us};

use super::DepthSenderPlugin;
use super::stats::Shared;
use crate::pack::{PackedFrame, PackedFrames};

/// Where the encoder thread takes its frames: the packing pass's channel, and a shutdown signal.
pub(crate) struct Input {
    pub(crate) packed: PackedFrames,
    pub(crate) shutdown: Receiver<()>,
    /// Frames that may wait; beyond that the oldest are dropped.
    pub(crate) queue: usize,
    pub(crate) shared: Arc<Shared>,
}

impl Input {
    /// The next frame to encode, blocking until one arrives. When the encoder has fallen behind
    /// (more than `queue` frames wait), the oldest are dropped and counted. `None` once the
    /// sender is gone (what was queued is still returned first) or the render world closed.
    fn next(&self) -> Option<PackedFrame> {
        let rx = self.packed.receiver();
        let mut f = crossbeam_channel::select! {
            recv(rx) -> f => f.ok()?,
            recv(self.shutdown) -> _ => rx.try_recv().ok()?,
        };
        while rx.len() >= self.queue {
            let Ok(newer) = rx.try_recv() else { break };
            self.shared.queue_drops.fetch_add(1, Ordering::Relaxed);
            self.packed.recycle(std::mem::replace(&mut f, newer));
        }
        Some(f)
    }
}

/// The configuration a packed frame was packed with (for the encoder's frame size).
fn config_of(f: &PackedFrame) -> PackingConfig {
    let p = &f.params;
    PackingConfig {
        scheme: p.scheme,
        precision: p.precision,
        layout: p.layout,
        mode: p.mode,
        low_amplitude: p.low_amplitude,
        period: p.period,
        roi_high: f.roi_high,
    }
}

pub(crate) fn encoder_thread(cfg: DepthSenderPlugin, input: Input, shared: Arc<Shared>) {
    // The encoder opens on the first frame: its size comes from the packing.
    let Some(first) = input.next() else { return };
    let mut enc = match DepthEncoder::new(
        cfg.encoder_settings(),
        &config_of(&first),
        first.params.width,
        first.params.height,
        Some(&cfg.url),
    ) {
        Ok(e) => e,
        Err(e) => return shared.fail(format!("{}: {e}", cfg.url)),
    };
    let (w, h) = enc.frame_size();
    if let Ok(mut st) = shared.stats.lock() {
        st.encoder = Some(format!("{} ({})", enc.encoder().encoder_name(), enc.encoder().backend().name()));
    }
    let mut window = VecDeque::<Instant>::new();
    let mut next = Some(first);
    while let Some(f) = next.take().or_else(|| input.next()) {
        let t0 = Instant::now();
        let queue_ms = t0.duration_since(f.read_back).as_secs_f64() * 1e3;
        if f.params.frame_size() != (w, h) || f.params.bit_depth != cfg.bit_depth {
            shared.fail(format!("frame {} changes the frame size or bit depth; skipped", f.index));
            input.packed.recycle(f);
            continue;
        }
        let frame = match YuvFrame::read(f.layout.format, w, h, &f.bytes) {
            Ok(fr) => fr,
            Err(e) => {
                shared.fail(format!("frame {}: {e}", f.index));
                input.packed.recycle(f);
                continue;
            }
        };
        // In-band send time: the capture time on the wall clock, so a receiver's latency is
        // capture to display. The capture index numbers the frames in the stream (the receiver
        // sees gaps as drops).
        let sent = unix_us().saturating_sub(f.captured.elapsed().as_micros() as u64);
        let meta = FrameMeta { frame_index: f.index, sent_unix_us: Some(sent), ..FrameMeta::default() };
        if let Err(e) = enc.encode_packed(&frame, &f.params, f.roi_high, &meta) {
            return shared.fail(format!("encode/send: {e}"));
        }
        let now = Instant::now();
        window.push_back(now);
        while window.front().is_some_and(|t| now.duration_since(*t).as_secs_f64() > 1.0) {
            window.pop_front();
        }
        let totals = enc.stats();
        if let Ok(mut st) = shared.stats.lock() {
            st.frames_sent = totals.frames;
            st.fps = window.len() as f64;
            st.bitrate = totals.bytes as f64 * 8.0 / (totals.frames as f64 / f64::from(cfg.fps.max(1)));
            st.latency_ms = now.duration_since(f.captured).as_secs_f64() * 1e3;
            st.encode_ms = now.duration_since(t0).as_secs_f64() * 1e3;
            st.queue_ms = queue_ms;
            st.current = Some(f.params);
            st.readback_ms = f.read_back.duration_since(f.captured).as_secs_f64() * 1e3;
            st.readback_copy_us = f64::from(f.copy_us);
        }
        input.packed.recycle(f);
    }
    if let Err(e) = enc.finish() {
        shared.fail(format!("finishing the stream: {e}"));
    }
}
