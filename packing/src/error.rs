//! The one error type of this crate.

use crate::params::Scheme;

/// Everything that can go wrong while packing, unpacking or decoding parameters.
///
/// Messages carry the offending value and what was allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PackError {
    /// A frame or depth view has zero width or height.
    #[error("frame size {width}x{height} is empty: width and height must be at least 1")]
    EmptySize {
        /// Requested width in pixels.
        width: u32,
        /// Requested height in pixels.
        height: u32,
    },
    /// A size does not fit the 16-bit fields of [`crate::PackParams`].
    #[error("frame size {width}x{height} is too large: at most 65534x32766 pixels are supported")]
    TooLarge {
        /// Requested width in pixels.
        width: u32,
        /// Requested height in pixels.
        height: u32,
    },
    /// The row stride is shorter than the width.
    #[error("row stride {stride} is shorter than the width {width}")]
    StrideTooSmall {
        /// Row stride in elements.
        stride: usize,
        /// Width in pixels.
        width: u32,
    },
    /// A buffer is shorter than its declared shape needs.
    #[error("buffer holds {got} elements but {needed} are needed for that shape")]
    BufferTooShort {
        /// Elements needed.
        needed: usize,
        /// Elements present.
        got: usize,
    },
    /// `near`/`far` do not describe a usable range.
    #[error("depth range near={near} far={far} is invalid: need 1e-6 <= near < far <= 1e7 metres and far/near <= 1e6")]
    InvalidRange {
        /// Near bound in metres.
        near: f32,
        /// Far bound in metres.
        far: f32,
    },
    /// The precision is not allowed for this scheme and bit depth.
    #[error("precision {precision} is outside {min}..={max} for {scheme:?} with {bits}-bit planes")]
    PrecisionOutOfRange {
        /// Scheme asked for.
        scheme: Scheme,
        /// Precision asked for, in bits.
        precision: u8,
        /// Smallest allowed precision.
        min: u8,
        /// Largest allowed precision.
        max: u8,
        /// Bit depth of the frame planes.
        bits: u8,
    },
    /// A triangle-wave period that cannot be decoded at this precision and bit depth.
    #[error("triangle period n_p={period} is invalid for w=2^{precision} levels: need {min}..={max}")]
    InvalidPeriod {
        /// Period asked for, in levels.
        period: u32,
        /// Precision (log2 of the level count).
        precision: u8,
        /// Smallest period the luma plane can disambiguate.
        min: u32,
        /// Largest period allowed (half the level count).
        max: u32,
    },
    /// The low-plane amplitude is zero, which would erase the low bits.
    #[error("low-plane amplitude {0} is invalid: it must be 1..=255 (255 = full code range)")]
    InvalidAmplitude(u8),
    /// A frame does not have the layout the parameters describe.
    #[error(
        "frame is {got_w}x{got_h} at {got_bits} bits but the parameters need {want_w}x{want_h} at {want_bits} bits"
    )]
    FrameMismatch {
        /// Frame width found.
        got_w: u32,
        /// Frame height found.
        got_h: u32,
        /// Bit depth found.
        got_bits: u8,
        /// Frame width the parameters need.
        want_w: u32,
        /// Frame height the parameters need.
        want_h: u32,
        /// Bit depth the parameters need.
        want_bits: u8,
    },
    /// The scheme cannot be written in this pixel format.
    #[error("pixel format {format} cannot carry {bits}-bit planes")]
    FormatMismatch {
        /// Pixel format name.
        format: &'static str,
        /// Bit depth of the planes.
        bits: u8,
    },
    /// Encoded parameters are malformed.
    #[error("packing parameters are malformed: {0}")]
    MalformedParams(ParamsDecodeError),
    /// A camera block ([`crate::camera::CameraBlock`]) whose fields are out of range.
    #[error("invalid camera block: {0}")]
    InvalidCamera(String),
}

/// Why encoded [`crate::PackParams`] bytes were rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamsDecodeError {
    /// Fewer bytes than the fixed encoding needs.
    #[error("{got} bytes, {needed} needed")]
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The magic bytes are wrong: this is not a depthcast parameter block.
    #[error("bad magic {0:#06x}")]
    BadMagic(u16),
    /// A version this build does not understand.
    #[error("unsupported version {0} (this build reads version 1)")]
    UnsupportedVersion(u8),
    /// The checksum does not match the contents.
    #[error("checksum {found:#06x} does not match computed {computed:#06x}")]
    BadChecksum {
        /// Checksum stored in the bytes.
        found: u16,
        /// Checksum computed over the bytes.
        computed: u16,
    },
    /// An enumerated field holds an unknown value.
    #[error("field {field} holds unknown value {value}")]
    UnknownValue {
        /// Field name.
        field: &'static str,
        /// Raw value.
        value: u8,
    },
}

/// Result alias of this crate.
pub type Result<T, E = PackError> = std::result::Result<T, E>;
