//! The bounded channel that carries frames read back on the render world to the main world, with
//! a pool that returns the frames' buffers so the render world does not allocate per frame.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bevy::prelude::Resource;
use crossbeam_channel::{Receiver, Sender, TrySendError};

/// A frame whose buffer can be handed back for reuse.
pub trait Recycle: Send + Sync + 'static {
    /// The reusable buffer (a `Vec`).
    type Buffer: Default + Send + Sync + 'static;
    /// Gives up the frame, keeping its buffer.
    fn into_buffer(self) -> Self::Buffer;
}

/// Main-world end: receive frames, give their buffers back.
#[derive(Resource)]
pub struct Frames<T: Recycle> {
    frames: Receiver<T>,
    recycle: Sender<T::Buffer>,
    dropped: Arc<AtomicU64>,
}

impl<T: Recycle> Clone for Frames<T> {
    fn clone(&self) -> Self {
        Frames { frames: self.frames.clone(), recycle: self.recycle.clone(), dropped: self.dropped.clone() }
    }
}

impl<T: Recycle> Frames<T> {
    /// The next frame, if one has arrived (never blocks).
    pub fn try_recv(&self) -> Option<T> {
        self.frames.try_recv().ok()
    }

    /// The receiving end, for blocking or `select!` use.
    pub fn receiver(&self) -> &Receiver<T> {
        &self.frames
    }

    /// Returns a frame's buffer to the pool so the next readback does not allocate.
    pub fn recycle(&self, frame: T) {
        let _ = self.recycle.try_send(frame.into_buffer());
    }

    /// Frames dropped so far: the channel was full, or no readback buffer was free.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Render-world end.
#[derive(Resource)]
pub(crate) struct FrameSink<T: Recycle> {
    frames: Sender<T>,
    recycle: Receiver<T::Buffer>,
    dropped: Arc<AtomicU64>,
}

impl<T: Recycle> FrameSink<T> {
    /// A recycled buffer, or a new empty one while the pool is warming up.
    pub(crate) fn buffer(&self) -> T::Buffer {
        self.recycle.try_recv().unwrap_or_default()
    }

    /// Sends a frame; counts it as dropped when the channel is full or closed.
    pub(crate) fn send(&self, frame: T) {
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = self.frames.try_send(frame) {
            self.count_drop();
        }
    }

    /// Counts a frame that never made it (no free readback buffer, a bad readback).
    pub(crate) fn count_drop(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// Both ends: `capacity` frames may wait; the pool holds up to `capacity + pool` buffers.
pub(crate) fn channel<T: Recycle>(capacity: usize, pool: usize) -> (Frames<T>, FrameSink<T>) {
    let (ftx, frx) = crossbeam_channel::bounded(capacity.max(1));
    let (rtx, rrx) = crossbeam_channel::bounded(capacity.max(1) + pool);
    let dropped = Arc::new(AtomicU64::new(0));
    (Frames { frames: frx, recycle: rtx, dropped: dropped.clone() }, FrameSink { frames: ftx, recycle: rrx, dropped })
}
