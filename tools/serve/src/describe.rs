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
        if spec.codec == VideoCodec::Av1 {
            // AV1 packets are OBUs, never NAL units; the string comes from av1C or from a
            // sequence header.
            let codec = av1_from_record(&spec.extradata)
                .or_else(|| av1_from_obus(&spec.extradata))
                .or_else(|| keyframe.and_then(av1_from_obus))?;
            return Some(TrackDesc {
                index,
                role: spec.role,
                codec,
                video_codec: spec.codec,
                nal_length_size: 0,
                description: None,
            });
        }
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
        VideoCodec::Av1 => return None,
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
            // Level 1b, which the High profiles code as level_idc 9 (x264 picks it for small
            // frames: a half-size map of a 320x180 stream), is refused by Chromium's
            // `VideoDecoder.isConfigSupported` (`avc1.640009`, `avc1.6e0009`: false in Chromium
            // 156; `avc1.64000b`: true). The string only announces what the decoder must handle:
            // level 1.1 is 1b's superset, so it is announced instead.
            let level = if b[2] == 9 { 0x0b } else { b[2] };
            Some(format!("avc1.{:02x}{:02x}{level:02x}", b[0], b[1]))
        }
        // 2 bytes of NAL header, 1 of vps id / sub-layers / nesting, then profile_tier_level.
        VideoCodec::Hevc => hevc_string(sps.get(3..15)?),
        VideoCodec::Av1 => av1_string(sps),
    }
}

/// The codec string of an `avcC`/`hvcC` record.
fn codec_from_record(codec: VideoCodec, record: &[u8]) -> Option<String> {
    match codec {
        // avcC's bytes 1..4 are the SPS's: profile_idc, constraint flags, level_idc.
        VideoCodec::H264 => codec_string(codec, record),
        VideoCodec::Hevc => hevc_string(record.get(1..13)?),
        VideoCodec::Av1 => av1_from_record(record),
    }
}

/// `av01.P.LLT.DD` from an `av1C` record (marker and version byte 0x81; then seq_profile,
/// seq_level_idx_0, seq_tier_0, high_bitdepth, twelve_bit).
fn av1_from_record(record: &[u8]) -> Option<String> {
    let (&[marker, a, b], _) = record.split_first_chunk::<3>()?;
    if marker != 0x81 {
        return None;
    }
    let profile = a >> 5;
    let bits = match (b >> 6 & 1, b >> 5 & 1) {
        (0, _) => 8,
        (1, 1) if profile == 2 => 12,
        _ => 10,
    };
    Some(format!("av01.{profile}.{:02}{}.{bits:02}", a & 0x1f, if b & 0x80 != 0 { 'H' } else { 'M' }))
}

/// The codec string from the first sequence header OBU in `data` (a temporal unit or OBUs of
/// extradata).
fn av1_from_obus(data: &[u8]) -> Option<String> {
    let obus = depthcast_codec::obu::obus(data).ok()?;
    let seq = obus.iter().find(|o| o.obu_type == depthcast_codec::obu::OBU_SEQUENCE_HEADER)?;
    av1_string(seq.payload)
}

/// MSB-first bit reader over a sequence header.
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bits<'_> {
    fn f(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = *self.data.get(self.at / 8)?;
            v = (v << 1) | u32::from(byte >> (7 - self.at % 8) & 1);
            self.at += 1;
        }
        Some(v)
    }

    fn flag(&mut self) -> Option<bool> {
        self.f(1).map(|b| b == 1)
    }

    /// `uvlc()`.
    fn uvlc(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while !self.flag()? {
            zeros += 1;
            if zeros >= 32 {
                return None;
            }
        }
        Some(self.f(zeros)? + ((1u32 << zeros) - 1))
    }
}

/// `av01.P.LLT.DD` (the AV1 codec ISO-BMFF binding's codecs parameter: profile, level of
/// operating point 0 with its tier, bit depth) from a sequence header OBU's payload (AV1 section
/// 5.5), read as far as the colour configuration's bit depth. `None` when it is cut short.
pub fn av1_string(seq: &[u8]) -> Option<String> {
    let mut r = Bits { data: seq, at: 0 };
    let profile = r.f(3)?;
    let _still_picture = r.flag()?;
    let reduced = r.flag()?;
    let (level, tier);
    let mut decoder_model = false;
    let mut buffer_delay_bits = 0;
    if reduced {
        level = r.f(5)?;
        tier = 0;
    } else {
        if r.flag()? {
            // timing_info
            r.f(32)?;
            r.f(32)?;
            if r.flag()? {
                r.uvlc()?;
            }
            decoder_model = r.flag()?;
            if decoder_model {
                buffer_delay_bits = r.f(5)? + 1;
                r.f(32)?;
                r.f(5)?;
                r.f(5)?;
            }
        }
        let display_delay = r.flag()?;
        let points = r.f(5)? + 1;
        let mut first = None;
        for _ in 0..points {
            r.f(12)?;
            let l = r.f(5)?;
            let t = if l > 7 { r.f(1)? } else { 0 };
            first.get_or_insert((l, t));
            if decoder_model && r.flag()? {
                r.f(buffer_delay_bits)?;
                r.f(buffer_delay_bits)?;
                r.f(1)?;
            }
            if display_delay && r.flag()? {
                r.f(4)?;
            }
        }
        (level, tier) = first?;
    }
    let (wb, hb) = (r.f(4)? + 1, r.f(4)? + 1);
    r.f(wb)?;
    r.f(hb)?;
    if !reduced && r.flag()? {
        r.f(4)?;
        r.f(3)?;
    }
    r.f(3)?; // 128x128 superblocks, filter intra, intra edge filter
    if !reduced {
        r.f(4)?; // inter-intra, masked compound, warped motion, dual filter
        let order_hint = r.flag()?;
        if order_hint {
            r.f(2)?;
        }
        let force_screen_content = if r.flag()? { 2 } else { r.f(1)? };
        if force_screen_content > 0 && !r.flag()? {
            r.f(1)?;
        }
        if order_hint {
            r.f(3)?;
        }
    }
    r.f(3)?; // superres, CDEF, loop restoration
    let high = r.flag()?;
    let bits = match (high, profile) {
        (false, _) => 8,
        (true, 2) if r.flag()? => 12,
        (true, _) => 10,
    };
    Some(format!("av01.{profile}.{level:02}{}.{bits:02}", if tier == 1 { 'H' } else { 'M' }))
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
    fn av1_codec_string_from_a_real_sequence_header() {
        use depthcast_codec::{EncoderSettings, FrameOptions};
        use depthcast_packing::{BitDepth, PackParams, Scheme, YuvFrame};
        for (bits, want) in [(BitDepth::Eight, "av01.0.00M.08"), (BitDepth::Ten, "av01.0.00M.10")] {
            let mut s = EncoderSettings::new(VideoCodec::Av1, 128, 72);
            s.bit_depth = bits;
            s.force_software = true;
            s.global_header = true;
            let mut enc = Encoder::new(&s).unwrap();
            let header = enc.extradata().unwrap().to_vec();
            assert_eq!(av1_from_obus(&header).as_deref(), Some(want), "{bits:?}: extradata");
            let mut p = PackParams::new(Scheme::LumaOnly, bits.bits(), 0.5, 10.0, 128, 72);
            p.bit_depth = bits;
            let frame = YuvFrame::new(128, 72, bits);
            let mut packets = Vec::new();
            for _ in 0..3 {
                packets.extend(enc.encode(&frame, &p, &FrameOptions::default()).unwrap());
            }
            packets.extend(enc.finish().unwrap());
            let spec = TrackSpec { role: TrackRole::Depth, codec: VideoCodec::Av1, extradata: Vec::new() };
            let desc = TrackDesc::new(0, &spec, Some(&packets[0].data)).unwrap();
            assert_eq!((desc.codec.as_str(), desc.nal_length_size), (want, 0), "{bits:?}: keyframe");
            // An av1C record as Matroska stores it: 0x81, profile 0 + level 0, tier/bit depth.
            let hi = u8::from(bits == BitDepth::Ten) << 6;
            assert_eq!(av1_from_record(&[0x81, 0x00, hi, 0x00]).as_deref(), Some(want));
        }
        // Level 5.1 (idx 13), high tier, profile 2 at 12 bits.
        assert_eq!(av1_from_record(&[0x81, 0x4d, 0xe0, 0]).as_deref(), Some("av01.2.13H.12"));
        assert_eq!(av1_string(&[0x00]), None, "cut short");
    }

    #[test]
    fn h264_codec_string_from_sps() {
        // High profile (100), no constraints, level 3.1.
        assert_eq!(codec_string(VideoCodec::H264, &[0x67, 0x64, 0x00, 0x1f, 0xac]).unwrap(), "avc1.64001f");
        assert_eq!(codec_string(VideoCodec::H264, &[0x67, 0x64]), None);
        // High 10, level 1b (level_idc 9) is announced as level 1.1, which browsers accept.
        assert_eq!(codec_string(VideoCodec::H264, &[0x67, 0x6e, 0x00, 0x09, 0xac]).unwrap(), "avc1.6e000b");
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
