//! Colour and depth in one synchronised stream (RGB-D): [`RgbdEncoder`] writes a colour track
//! (track 0, what players play) and a depth track (track 1) with the same presentation times and
//! each frame's camera in-band; [`RgbdReceiver`] pairs them again by presentation time, with a
//! bounded wait for a partner that was lost.

pub mod either;
pub mod encoder;
pub mod receiver;

pub use either::StreamEncoder;
pub use encoder::{COLOUR_TRACK, DEPTH_TRACK, RgbdEncodedFrame, RgbdEncoder, RgbdEncoderStats, RgbdSettings};
pub use receiver::{RgbdConfig, RgbdEvent, RgbdFrame, RgbdReceiver, RgbdStats, RgbdTracks};
