//! What a page needs to configure a WebCodecs `VideoDecoder` for a track: the codec string (from
//! the SPS, or from an `avcC`/`hvcC` record), how NAL units are framed, and the `avcC`/`hvcC`
//! description when the input is length-prefixed.

use base64::Engine as _;
use depthcast_codec::sei::{self, NalFormat};
use depthcast_codec::{Encoder, TrackRole, VideoCodec};

/// A track as the input declares it, before its codec string is known: an MPEG-TS input or an
/// in-process encoder only has its SPS in the first keyframe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackSpec {
    /// What the track holds.
    pub role: TrackRole,
    /// Its codec.
    pub codec: VideoCodec,
    /// The container's codec extradata: an `avcC`/`hvcC` record (Matroska, FLV: packets are
    /// then length-prefixed), Annex B parameter sets, or empty (MPEG-TS, an encoder without a
    /// global header: the parameter sets are in the keyframes).
    pub extradata: Vec<u8>,
}

impl TrackSpec {
    /// The tracks of in-process encoders, in order, with the roles a receiver gives them (one
    /// track: depth; two: colour, depth), as [`depthcast_codec::PacketSender::open_tracks`]
    /// would write them.
    pub fn from_encoders(encoders: &[&Encoder]) -> Vec<TrackSpec> {
        let n = encoders.len();
        encoders
            .iter()
            .enumerate()
            .map(|(i, e)| TrackSpec {
                role: role_of(n, i),
                codec: e.settings().codec,
                extradata: e.extradata().map(<[u8]>::to_vec).unwrap_or_default(),
            })
            .collect()
    }
}

/// The role of track `i` of `n`, as [`depthcast_codec::PacketReceiver`] gives it.
pub(crate) fn role_of(n: usize, i: usize) -> TrackRole {
    match (n, i) {
        (1, _) | (_, 1) => TrackRole::Depth,
        (_, 0) => TrackRole::Colour,
        _ => TrackRole::Other,
    }
}

/// One track as the `hello` message announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackDesc {
    /// Its index (the header's track byte).
    pub index: usize,
    /// What it holds.
    pub role: TrackRole,
    /// The WebCodecs codec string (`avc1.PPCCLL`, `hvc1.…`).
    pub codec: String,
    /// Its codec.
    pub video_codec: VideoCodec,
    /// 0 for Annex B access units, else the NAL length prefix size (1..=4).
    pub nal_length_size: u8,
    /// The base64 `avcC`/`hvcC` record when the access units are length-prefixed.
    pub description: Option<String>,
}

impl TrackDesc {
    /// Describes track `index` of `spec` from its extradata when that is an `avcC`/`hvcC`
    /// record or holds the SPS, else from `keyframe` (an Annex B access unit with the SPS).
    /// `None` when neither has an SPS.
    pub fn new(index: usize, spec: &TrackSpec, keyframe: Option<&[u8]>) -> Option<TrackDesc> {
        let record = spec.extradata.first() == Some(&1);
        let (codec, nal_length_size, description) = if record {
            let nal = match NalFormat::from_extradata(spec.codec, &spec.extradata) {
                NalFormat::LengthPrefixed(n) => n,
                NalFormat::AnnexB => 4,
            };
            let b64 = base64::engine::general_purpose::STANDARD.encode(&spec.extradata);
            (codec_from_record(spec.codec, &spec.extradata)?, nal, Some(b64))
        } else {
            let from = |data: &[u8]| find_sps(spec.codec, data).and_then(|sps| codec_string(spec.codec, &sps));
            let codec = from(&spec.extradata).or_else(|| keyframe.and_then(from))?;
            (codec, 0, None)
        };
        Some(TrackDesc { index, role: spec.role, codec, video_codec: spec.codec, nal_length_size, description })
    }

    /// The role's name in the protocol: `"depth"`, `"colour"` or `"other"`.
    pub fn role_name(&self) -> &'static str {
        match self.role {
            TrackRole::Depth => "depth",
            TrackRole::Colour => "colour",
            TrackRole::Other => "other",
        }
    }

    /// The track as a `hello` entry.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "index": self.index,
            "role": self.role_name(),
            "codec": self.codec,
            "codecName": self.video_codec.name(),
            "nalLengthSize": self.nal_length_size,
            "description": self.description,
        })
    }
}

/// The first SPS NAL unit (header included, emulation prevention removed) in `data`, Annex B or
/// length-prefixed.
fn find_sps(codec: VideoCodec, data: &[u8]) -> Option<Vec<u8>> {
    if data.is_empty() {
        return None;
    }
    let sps_type = match codec {
        VideoCodec::H264 => 7,
        VideoCodec::Hevc => 33,
    };
    let units = sei::nal_units(data, NalFormat::detect(data)).ok()?;
    units.into_iter().find(|n| sei::nal_type(codec, n) == Some(sps_type)).map(sei::remove_emulation_prevention)
}

/// The WebCodecs codec string of an SPS NAL unit (header included, emulation prevention
/// removed): H.264 `avc1.PPCCLL` (profile_idc, the constraint flags byte, level_idc); HEVC
/// `hvc1.P.C.TL.B…` (ISO/IEC 14496-15 Annex E: profile space and profile, the compatibility
/// flags bit-reversed, tier and level, the constraint bytes without trailing zeros). `None` for
/// a unit too short.
pub fn codec_string(codec: VideoCodec, sps: &[u8]) -> Option<String> {
    match codec {
        VideoCodec::H264 => {
            let b = sps.get(1..4)?;
            Some(format!("avc1.{:02x}{:02x}{:02x}", b[0], b[1], b[2]))
        }
        // 2 bytes of NAL header, 1 of vps id / sub-layers / nesting, then profile_tier_level.
        VideoCodec::Hevc => hevc_string(sps.get(3..15)?),
    }
}

/// The codec string of an `avcC`/`hvcC` record.
fn codec_from_record(codec: VideoCodec, record: &[u8]) -> Option<String> {
    match codec {
        // avcC's bytes 1..4 are the SPS's: profile_idc, constraint flags, level_idc.
        VideoCodec::H264 => codec_string(codec, record),
        VideoCodec::Hevc => hevc_string(record.get(1..13)?),
    }
}

/// `hvc1.…` from the 12 bytes of a general profile_tier_level: space/tier/profile, 4 bytes of
/// compatibility flags, 6 of constraint flags, level.
fn hevc_string(ptl: &[u8]) -> Option<String> {
    let ptl = ptl.get(..12)?;
    let space = ["", "A", "B", "C"][(ptl[0] >> 6) as usize];
    let tier = if ptl[0] & 0x20 != 0 { 'H' } else { 'L' };
    let profile = ptl[0] & 0x1f;
    let compat = u32::from_be_bytes([ptl[1], ptl[2], ptl[3], ptl[4]]).reverse_bits();
    let mut s = format!("hvc1.{space}{profile}.{compat:X}.{tier}{}", ptl[11]);
    let constraints = &ptl[5..11];
    let used = constraints.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    for b in &constraints[..used] {
        s.push_str(&format!(".{b:X}"));
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h264_codec_string_from_sps() {
        // High profile (100), no constraints, level 3.1.
        assert_eq!(codec_string(VideoCodec::H264, &[0x67, 0x64, 0x00, 0x1f, 0xac]).unwrap(), "avc1.64001f");
        assert_eq!(codec_string(VideoCodec::H264, &[0x67, 0x64]), None);
    }

    #[test]
    fn hevc_codec_string_from_sps() {
        // Main profile, compatibility flags 0x60000000 (profiles 1 and 2), progressive source +
        // frame-only constraint (0xB0), Main tier, level 93 (3.1): hvc1.1.6.L93.B0.
        let sps = [0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x00, 0xb0, 0, 0, 0, 0, 0, 93];
        assert_eq!(codec_string(VideoCodec::Hevc, &sps).unwrap(), "hvc1.1.6.L93.B0");
    }

    #[test]
    fn sps_found_in_an_annex_b_unit() {
        let au = [0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0x8c, 0, 0, 1, 0x68, 0xce, 0, 0, 1, 0x65, 0x88];
        let spec = TrackSpec { role: TrackRole::Depth, codec: VideoCodec::H264, extradata: vec![] };
        let d = TrackDesc::new(0, &spec, Some(&au)).unwrap();
        assert_eq!((d.codec.as_str(), d.nal_length_size, d.description.as_deref()), ("avc1.42c01e", 0, None));
        assert_eq!(TrackDesc::new(0, &spec, Some(&au[12..])), None);
    }
}
