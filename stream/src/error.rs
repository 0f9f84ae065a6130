//! The crate's error type.

use std::time::Duration;

/// Everything that can fail in the pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The encoder, decoder or transport failed.
    #[error(transparent)]
    Codec(#[from] depthcast_codec::CodecError),
    /// Packing or unpacking failed (parameters out of range, a buffer of the wrong size).
    #[error(transparent)]
    Pack(#[from] depthcast_packing::PackError),
    /// precision-net failed (a model this build cannot read).
    #[error(transparent)]
    Net(#[from] depthcast_precision_net::NetError),
    /// A frame would change the stream's frame size or bit depth, which an open encoder cannot.
    #[error(
        "frame {frame_index} is {got:?} at {got_bits} bits, but the stream is {want:?} at {want_bits} bits: a stream keeps one frame size"
    )]
    FrameSizeChanged {
        /// The frame.
        frame_index: u32,
        /// Its frame size.
        got: (u32, u32),
        /// Its plane bit depth.
        got_bits: u8,
        /// The stream's frame size.
        want: (u32, u32),
        /// The stream's plane bit depth.
        want_bits: u8,
    },
    /// Nothing valid arrived in time.
    #[error("no valid depth stream from {url} within {waited:?}{}", last_error.as_ref().map(|e| format!(" (last: {e})")).unwrap_or_default())]
    Timeout {
        /// The URL.
        url: String,
        /// How long the receiver waited.
        waited: Duration,
        /// The last thing that went wrong while waiting, if anything did.
        last_error: Option<String>,
    },
    /// The start-up probe could not measure (no frames, or a probe encode thread panicked).
    #[error("start-up probe: {0}")]
    Probe(String),
}

/// Result with [`StreamError`].
pub type Result<T> = std::result::Result<T, StreamError>;
