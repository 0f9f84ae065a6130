//! [`Format`]: a codec and a plane bit depth, the unit a sender's encoders produce and a
//! receiver's decoders read. A stream keeps one format from its first frame to its last.

use std::fmt;

use depthcast_packing::BitDepth;

use crate::backend::{self, Backend};
use crate::settings::{EncoderSettings, VideoCodec};

/// A codec at a plane bit depth, e.g. `h264-10` (H.264 High 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Format {
    /// Codec.
    pub codec: VideoCodec,
    /// Plane bit depth.
    pub bits: BitDepth,
}

impl Format {
    /// H.264 with 8-bit planes: what every encoder and decoder has.
    pub const H264_8: Format = Format { codec: VideoCodec::H264, bits: BitDepth::Eight };

    /// Every format, in the order tools list them (and the probe breaks ties in).
    pub const ALL: [Format; 6] = [
        Format::H264_8,
        Format { codec: VideoCodec::H264, bits: BitDepth::Ten },
        Format { codec: VideoCodec::Hevc, bits: BitDepth::Eight },
        Format { codec: VideoCodec::Hevc, bits: BitDepth::Ten },
        Format { codec: VideoCodec::Av1, bits: BitDepth::Eight },
        Format { codec: VideoCodec::Av1, bits: BitDepth::Ten },
    ];

    /// `codec` at `bits`.
    pub const fn new(codec: VideoCodec, bits: BitDepth) -> Format {
        Format { codec, bits }
    }

    /// Text id, e.g. `h264-8` or `av1-10` (also [`fmt::Display`]).
    pub fn id(self) -> String {
        self.to_string()
    }

    /// Parses [`Format::id`] (the codec names of [`VideoCodec::from_name`] are accepted).
    pub fn parse(text: &str) -> Option<Format> {
        let (c, b) = text.trim().rsplit_once('-')?;
        Some(Format { codec: VideoCodec::from_name(c)?, bits: BitDepth::from_bits(b.parse().ok()?)? })
    }

    /// Whether the linked FFmpeg has a decoder for it (the one [`crate::Decoder::new`] opens;
    /// each of them reads 8- and 10-bit streams).
    pub fn decodable_here(self) -> bool {
        crate::init();
        crate::decoder::find(self.codec).is_some()
    }

    /// The first back-end of `settings` ([`EncoderSettings::effective_backends`]) that opens an
    /// encoder for this format with `settings`' options (probed once per process, see
    /// [`backend::probe`]), or each back-end's reason for failing.
    ///
    /// # Errors
    /// No back-end opens: `backend: reason` for each, joined with `; `.
    pub fn encoder(self, settings: &EncoderSettings) -> Result<Backend, String> {
        let mut s = settings.clone();
        s.codec = self.codec;
        s.bit_depth = self.bits;
        if !self.codec.carries_regions_of_interest() {
            s.regions_of_interest = false;
        }
        let mut why = Vec::new();
        for b in s.effective_backends() {
            let status = backend::probe(&s, b);
            match status.usable {
                Ok(()) => return Ok(b),
                Err(e) => why.push(format!("{}: {e}", status.encoder)),
            }
        }
        Err(why.join("; "))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.codec.name(), self.bits.bits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_back_and_are_distinct() {
        let ids: Vec<String> = Format::ALL.iter().map(|f| f.id()).collect();
        for (f, id) in Format::ALL.iter().zip(&ids) {
            assert_eq!(Format::parse(id), Some(*f), "{id}");
        }
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 6, "{ids:?}");
        assert_eq!(Format::parse("h265-10"), Some(Format::new(VideoCodec::Hevc, BitDepth::Ten)));
        for bad in ["h264", "h264-9", "vp9-8", "-8", ""] {
            assert_eq!(Format::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn this_ffmpeg_decodes_and_encodes_every_format_in_software() {
        // Debian's FFmpeg 5.1 has libx264 (8 and 10 bits), libx265, libsvtav1, and the h264,
        // hevc and libdav1d decoders.
        for f in Format::ALL {
            assert!(f.decodable_here(), "{f}");
            let mut s = EncoderSettings::new(f.codec, 256, 144);
            s.force_software = true;
            assert_eq!(f.encoder(&s), Ok(Backend::Software), "{f}");
        }
    }
}
