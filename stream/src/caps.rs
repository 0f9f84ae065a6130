//! What a stream may be sent as: the [`Format`]s (codec and plane bit depth) that the sender's
//! encoders produce and every one of its receivers decodes. The automatic choice
//! ([`crate::auto::probe_formats`]) measures the packing configurations of each of them and
//! keeps the best, so a stream for browsers never comes out as HEVC, and a sender whose only
//! H.264 encoder is 8-bit hardware never picks High 10.

use depthcast_codec::{EncoderSettings, Format, VideoCodec};
use depthcast_packing::BitDepth;

use crate::error::{Result, StreamError};

/// What Chromium's WebCodecs decodes here (Chromium 156, headless, software decoders): H.264
/// at 8 bits and High 10, and AV1 at 8 and 10 bits; HEVC needs a platform decoder that Chromium
/// on Linux does not have (`VideoDecoder.isConfigSupported` says no). `depthcast-serve`'s browser
/// tests decode each of these through the page and compare its depth with the Rust receiver's.
pub const CHROMIUM: [Format; 4] = [
    Format::H264_8,
    Format::new(VideoCodec::H264, BitDepth::Ten),
    Format::new(VideoCodec::Av1, BitDepth::Eight),
    Format::new(VideoCodec::Av1, BitDepth::Ten),
];

/// A kind of receiver, by what it decodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receiver {
    /// depthcast's own receivers (the CLI, the Bevy plugin): this build's FFmpeg decoders
    /// ([`Format::decodable_here`]).
    Native,
    /// A browser page of `depthcast serve` in Chromium ([`CHROMIUM`]).
    Chromium,
    /// A receiver that decodes exactly these formats.
    Formats(Vec<Format>),
}

impl Receiver {
    /// Whether this receiver decodes `format`.
    pub fn decodes(&self, format: Format) -> bool {
        match self {
            Receiver::Native => format.decodable_here(),
            Receiver::Chromium => CHROMIUM.contains(&format),
            Receiver::Formats(f) => f.contains(&format),
        }
    }

    /// Whether this receiver rebuilds maps sent at half size ([`depthcast_packing::resample`]):
    /// depthcast's own receivers do, and so does the browser page (`web/js/unpack.js`, the
    /// upsampler's WebGL2 twin, bit for bit); a bare list of formats says nothing about it.
    pub fn upsamples_half(&self) -> bool {
        matches!(self, Receiver::Native | Receiver::Chromium)
    }

    /// Parses a comma-separated list of receivers: `native`, `chromium` (or `browser`), and
    /// format ids (`h264-8,av1-10`), which together make one [`Receiver::Formats`].
    ///
    /// # Errors
    /// An item that is neither a receiver nor a format id.
    pub fn parse_list(text: &str) -> Result<Vec<Receiver>> {
        let mut out = Vec::new();
        let mut formats = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item {
                "native" => out.push(Receiver::Native),
                "chromium" | "browser" => out.push(Receiver::Chromium),
                _ => formats.push(Format::parse(item).ok_or_else(|| {
                    StreamError::Probe(format!(
                        "receiver {item:?} is not native, chromium (browser) or a format such as h264-10"
                    ))
                })?),
            }
        }
        if !formats.is_empty() {
            out.push(Receiver::Formats(formats));
        }
        if out.is_empty() {
            return Err(StreamError::Probe("no receivers given".into()));
        }
        Ok(out)
    }
}

/// The formats among `candidates` (kept in their order) that every one of `receivers` decodes
/// and some back-end of `settings` encodes (a real test encoder with the stream's options, see
/// [`Format::encoder`]).
///
/// # Errors
/// None is left: the error names each candidate and why it was dropped.
pub fn stream_formats(
    candidates: &[Format],
    receivers: &[Receiver],
    settings: &EncoderSettings,
) -> Result<Vec<Format>> {
    let mut ok = Vec::new();
    let mut why = Vec::new();
    for &f in candidates {
        if let Some(r) = receivers.iter().find(|r| !r.decodes(f)) {
            why.push(format!("{f}: the {r:?} receiver does not decode it"));
            continue;
        }
        match f.encoder(settings) {
            Ok(_) => ok.push(f),
            Err(e) => why.push(format!("{f}: no encoder ({e})")),
        }
    }
    if ok.is_empty() {
        return Err(StreamError::Probe(format!("no format both sides support: {}", why.join("; "))));
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn software() -> EncoderSettings {
        let mut s = EncoderSettings::new(VideoCodec::H264, 256, 144);
        s.force_software = true;
        s
    }

    #[test]
    fn depthcast_receivers_rebuild_half_size_maps_and_a_format_list_says_nothing() {
        assert!(Receiver::Native.upsamples_half());
        assert!(Receiver::Chromium.upsamples_half());
        assert!(!Receiver::Formats(vec![Format::H264_8]).upsamples_half());
    }

    #[test]
    fn browsers_never_get_hevc() {
        let f = stream_formats(&Format::ALL, &[Receiver::Native, Receiver::Chromium], &software()).unwrap();
        assert_eq!(f, CHROMIUM.to_vec());
        let native = stream_formats(&Format::ALL, &[Receiver::Native], &software()).unwrap();
        assert_eq!(native, Format::ALL.to_vec(), "Debian's FFmpeg encodes and decodes all six");
    }

    #[test]
    fn lists_parse_and_intersect() {
        let r = Receiver::parse_list("chromium, h264-8,h264-10 ,hevc-10").unwrap();
        assert_eq!(r.len(), 2);
        let f = stream_formats(&Format::ALL, &r, &software()).unwrap();
        assert_eq!(f, CHROMIUM[..2].to_vec());
        assert!(Receiver::parse_list("safari").is_err());
        assert!(Receiver::parse_list(" , ").is_err());
    }

    #[test]
    fn nothing_in_common_says_why_for_each_format() {
        let r = Receiver::parse_list("chromium,hevc-8").unwrap();
        let e = stream_formats(&Format::ALL, &r, &software()).unwrap_err().to_string();
        for f in Format::ALL {
            assert!(e.contains(&format!("{f}: ")), "{f} missing from {e}");
        }
    }

    #[test]
    fn an_encoder_that_cannot_open_drops_its_formats() {
        // Only the NVENC back-end, which this machine lacks: every format fails with its reason.
        if std::path::Path::new("/dev/nvidiactl").exists() {
            return; // a machine with an NVIDIA driver may well open it
        }
        let mut s = software();
        s.force_software = false;
        s.backends = vec![depthcast_codec::Backend::Nvenc];
        let e = stream_formats(&[Format::H264_8], &[Receiver::Native], &s).unwrap_err().to_string();
        assert!(e.contains("h264_nvenc"), "{e}");
    }
}
