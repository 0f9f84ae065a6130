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
    #[error(
        "no valid depth stream from {url} within {waited:.1?}: {}{}",
        if *data_seen { "data arrived, but none of it was a valid depthcast stream" } else { "nothing arrived" },
        last_error.as_ref().map(|e| format!(" (last: {e})")).unwrap_or_default()
    )]
    Timeout {
        /// The URL, its passphrase redacted.
        url: String,
        /// How long the receiver waited.
        waited: Duration,
        /// Whether anything arrived (garbage, a stream without valid depthcast parameters, frames
        /// the decoder rejected) as opposed to nothing at all.
        data_seen: bool,
        /// The last thing that went wrong while waiting, if anything did.
        last_error: Option<String>,
    },
    /// The start-up probe could not measure (no frames, or a probe encode thread panicked).
    #[error("start-up probe: {0}")]
    Probe(String),
    /// An encoder cannot be reopened in place on this stream (see [`crate::DepthEncoder::reopen`]).
    #[error("cannot reopen the encoder in place: {0}")]
    Reopen(String),
}

/// What kind of failure an error is, for exit codes and for deciding whether to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Nothing arrived: no sender, a wrong address, or an SRT handshake rejected (passphrase).
    NoStream,
    /// Something arrived, but not a valid depthcast stream (garbage, another stream, parameters
    /// that disagree with the frames).
    BadStream,
    /// The operating system refused: a file or address that cannot be opened, read or written.
    Io,
    /// Anything else (settings, an encoder, the model).
    Other,
}

impl FailureKind {
    /// The kind of a codec error.
    pub fn of_codec(e: &depthcast_codec::CodecError) -> FailureKind {
        if e.is_bad_stream() {
            FailureKind::BadStream
        } else if e.is_io() {
            FailureKind::Io
        } else {
            FailureKind::Other
        }
    }
}

impl StreamError {
    /// The kind of failure.
    pub fn kind(&self) -> FailureKind {
        match self {
            StreamError::Timeout { data_seen: false, .. } => FailureKind::NoStream,
            StreamError::Timeout { data_seen: true, .. } => FailureKind::BadStream,
            StreamError::Codec(e) => FailureKind::of_codec(e),
            _ => FailureKind::Other,
        }
    }
}

/// Result with [`StreamError`].
pub type Result<T> = std::result::Result<T, StreamError>;
