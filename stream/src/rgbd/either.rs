//! [`StreamEncoder`]: a sender's encoder, depth only or colour and depth, for code that handles
//! both (the Bevy sender, `depthcast send`) without matching on every call.

use depthcast_codec::{EncodedPacket, Encoder};

use super::encoder::RgbdEncoder;
use crate::encoder::{DepthEncoder, EncoderStats};
use crate::error::Result;

/// A depth stream's encoder, or an RGB-D stream's. Encoding stays on the variants (their frames
/// differ); the rest is common.
#[allow(clippy::large_enum_variant)] // one per stream
#[derive(Debug)]
pub enum StreamEncoder {
    /// Depth only.
    Depth(DepthEncoder),
    /// Colour and depth.
    Rgbd(RgbdEncoder),
}

impl StreamEncoder {
    /// The depth track's codec encoder.
    pub fn depth_encoder(&self) -> &Encoder {
        match self {
            StreamEncoder::Depth(e) => e.encoder(),
            StreamEncoder::Rgbd(e) => e.depth_encoder(),
        }
    }

    /// The colour track's codec encoder (`None` for depth only).
    pub fn colour_encoder(&self) -> Option<&Encoder> {
        match self {
            StreamEncoder::Depth(_) => None,
            StreamEncoder::Rgbd(e) => Some(e.colour_encoder()),
        }
    }

    /// The depth track's frame size (luma plane).
    pub fn depth_frame_size(&self) -> (u32, u32) {
        match self {
            StreamEncoder::Depth(e) => e.frame_size(),
            StreamEncoder::Rgbd(e) => e.depth_frame_size(),
        }
    }

    /// Totals of the depth track, and of the colour track when there is one.
    pub fn stats(&self) -> (EncoderStats, Option<EncoderStats>) {
        match self {
            StreamEncoder::Depth(e) => (e.stats(), None),
            StreamEncoder::Rgbd(e) => {
                let s = e.stats();
                (s.depth, Some(s.colour))
            }
        }
    }

    /// Bytes of both tracks so far.
    pub fn bytes(&self) -> u64 {
        let (depth, colour) = self.stats();
        depth.bytes + colour.map_or(0, |c| c.bytes)
    }

    /// Flushes the encoders (their last packets go to the transport and are returned, colour
    /// first) and closes the transport.
    ///
    /// # Errors
    /// An encoder or the transport failing.
    pub fn finish(self) -> Result<Vec<EncodedPacket>> {
        match self {
            StreamEncoder::Depth(e) => e.finish(),
            StreamEncoder::Rgbd(e) => {
                let (colour, depth) = e.finish()?;
                Ok(colour.into_iter().chain(depth).collect())
            }
        }
    }
}
