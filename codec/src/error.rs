//! [`CodecError`]: every way encoding, decoding and transport can fail.

use crate::backend::Backend;

/// Result with [`CodecError`].
pub type Result<T, E = CodecError> = std::result::Result<T, E>;

/// One back-end that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendFailure {
    /// The back-end.
    pub backend: Backend,
    /// The FFmpeg encoder name tried (`h264_nvenc`, `libx265`, ...).
    pub encoder: String,
    /// Why it could not be used.
    pub reason: String,
}

/// Errors of the codec crate. "Need more input" is not an error: [`crate::Encoder::receive_packet`]
/// and [`crate::Decoder::receive_frame`] return `Ok(None)` for it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// A setting is out of range.
    #[error("setting {name} = {value} is invalid: {allowed}")]
    InvalidSetting {
        /// Setting name.
        name: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: String,
    },
    /// An encoder option name that the encoder does not know (FFmpeg would drop it silently).
    #[error("encoder {encoder} has no option {option:?}")]
    UnknownOption {
        /// FFmpeg encoder name.
        encoder: String,
        /// The option name.
        option: String,
    },
    /// No back-end could open an encoder; every back-end tried is listed with its reason.
    #[error("no encoder back-end is usable: {}", list_failures(.0))]
    NoBackend(Vec<BackendFailure>),
    /// A frame does not match the encoder's size or bit depth.
    #[error("frame is {got_w}x{got_h} at {got_bits} bits, the encoder takes {want_w}x{want_h} at {want_bits} bits")]
    FrameMismatch {
        /// Frame width.
        got_w: u32,
        /// Frame height.
        got_h: u32,
        /// Frame bit depth.
        got_bits: u8,
        /// Encoder width.
        want_w: u32,
        /// Encoder height.
        want_h: u32,
        /// Encoder bit depth.
        want_bits: u8,
    },
    /// The decoder produced a pixel format this crate does not turn into planes.
    #[error("decoded pixel format {0} is not one of yuv420p, yuvj420p, yuv420p10le, nv12, p010le")]
    UnsupportedPixelFormat(String),
    /// An access unit carries no depthcast SEI message.
    #[error("the access unit carries no depthcast parameters")]
    ParamsMissing,
    /// The depthcast SEI message is present but its parameter block is corrupt or out of range.
    #[error("the depthcast parameters are invalid: {0}")]
    ParamsInvalid(#[source] depthcast_packing::PackError),
    /// An access unit carries no depthcast camera message (a colour frame of a stream without
    /// camera blocks).
    #[error("the access unit carries no depthcast camera block")]
    CameraMissing,
    /// The depthcast camera message is present but its block is corrupt or out of range.
    #[error("the depthcast camera block is invalid: {0}")]
    CameraInvalid(#[source] depthcast_packing::PackError),
    /// Broken NAL framing or SEI syntax.
    #[error("malformed bitstream: {0}")]
    Bitstream(String),
    /// The stream is not H.264 or HEVC, or a transport cannot carry the codec.
    #[error("{0}")]
    Unsupported(String),
    /// A URL or file name whose container cannot be chosen.
    #[error("cannot choose a container for {url:?}: {allowed}")]
    UnknownContainer {
        /// The URL.
        url: String,
        /// What is supported.
        allowed: &'static str,
    },
    /// The input has no video stream.
    #[error("{0} has no H.264 or HEVC video stream")]
    NoVideoStream(String),
    /// An FFmpeg call failed.
    #[error("{context}: {source}")]
    Ffmpeg {
        /// What was being done.
        context: String,
        /// FFmpeg's error.
        #[source]
        source: ffmpeg_next::Error,
    },
    /// A packing error (converting planes).
    #[error(transparent)]
    Pack(#[from] depthcast_packing::PackError),
}

impl CodecError {
    /// Whether the input was there but is not a stream this crate reads: data that no demuxer
    /// recognises, no H.264/HEVC video, broken framing, missing or invalid depthcast parameters.
    pub fn is_bad_stream(&self) -> bool {
        use ffmpeg_next::Error as E;
        match self {
            CodecError::Ffmpeg { source, .. } => matches!(
                source,
                E::InvalidData | E::DecoderNotFound | E::DemuxerNotFound | E::StreamNotFound | E::PatchWelcome
            ),
            CodecError::NoVideoStream(_)
            | CodecError::Bitstream(_)
            | CodecError::ParamsMissing
            | CodecError::ParamsInvalid(_)
            | CodecError::CameraMissing
            | CodecError::CameraInvalid(_)
            | CodecError::UnsupportedPixelFormat(_) => true,
            _ => false,
        }
    }

    /// Whether the operating system refused: a file or address that cannot be opened, read or
    /// written (missing, no permission, refused, unreachable, a broken connection).
    pub fn is_io(&self) -> bool {
        let CodecError::Ffmpeg { source: ffmpeg_next::Error::Other { errno }, .. } = self else {
            return false;
        };
        use ffmpeg_next::util::error as e;
        [
            e::ENOENT,
            e::EACCES,
            e::EPERM,
            e::EIO,
            e::ENOSPC,
            e::EROFS,
            e::EISDIR,
            e::ENOTDIR,
            e::EPIPE,
            e::ECONNREFUSED,
            e::ECONNRESET,
            e::EHOSTUNREACH,
            e::ENETUNREACH,
        ]
        .contains(errno)
    }
}

fn list_failures(f: &[BackendFailure]) -> String {
    f.iter().map(|b| format!("{} ({}): {}", b.backend.name(), b.encoder, b.reason)).collect::<Vec<_>>().join("; ")
}

/// Wraps an FFmpeg error with what was being done.
pub(crate) fn ff(context: impl Into<String>) -> impl FnOnce(ffmpeg_next::Error) -> CodecError {
    let context = context.into();
    move |source| CodecError::Ffmpeg { context, source }
}
