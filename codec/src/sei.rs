//! In-band metadata: SEI `user_data_unregistered` messages (payload type 5), each marked by its
//! own 16-byte UUID. Pure Rust, no FFmpeg, so the fuzz targets call these functions directly.
//!
//! - The **packing parameters** ([`DEPTHCAST_SEI_UUID`]): the 28-byte [`PackParams::to_bytes`]
//!   block and, optionally, the sender's wall-clock time (8 bytes, little-endian µs). Every
//!   depth frame carries it.
//! - The **camera** ([`DEPTHCAST_CAMERA_UUID`]): the 64-byte [`CameraBlock::to_bytes`] block and,
//!   optionally, the send time. The frames of an RGB-D stream carry it: a depth frame in the same
//!   SEI NAL unit as its parameters (two messages in one unit), a colour frame alone.
//!
//! The SEI NAL unit is inserted into every access unit *at the packet level*, right before the
//! first slice, so it works with every encoder back-end. NAL units may come as Annex B (start
//! codes, what encoders and MPEG-TS produce) or length-prefixed (what Matroska and FLV demuxers
//! return). Players ignore messages whose UUID they do not know.
//!
//! AV1 has no NAL units or SEI: the same message payloads travel as metadata OBUs
//! ([`crate::obu`]). The functions here that take a [`VideoCodec`] hand AV1 to that module, so
//! callers treat every codec alike.

use depthcast_packing::{CAMERA_LEN, CameraBlock, PARAMS_LEN, PackParams};

use crate::error::{CodecError, Result};
use crate::settings::VideoCodec;

/// The UUID that marks depthcast's packing-parameters SEI message (random, version-4 style).
pub const DEPTHCAST_SEI_UUID: [u8; 16] =
    [0x6b, 0x1d, 0xd9, 0x3e, 0x52, 0x0c, 0x4f, 0x8a, 0x9d, 0x37, 0x0e, 0x5c, 0xd2, 0x41, 0x7a, 0x90];

/// The UUID that marks depthcast's camera SEI message (random, version-4 style).
pub const DEPTHCAST_CAMERA_UUID: [u8; 16] =
    [0x3f, 0xa2, 0x71, 0xc4, 0x0e, 0x9b, 0x4d, 0x16, 0xb8, 0x5a, 0x27, 0xe3, 0x61, 0xcd, 0x08, 0x5f];

/// SEI payload type of `user_data_unregistered` (H.264 Annex D, HEVC Annex D).
const USER_DATA_UNREGISTERED: u32 = 5;

/// How NAL units are framed in a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NalFormat {
    /// `00 00 01` / `00 00 00 01` start codes (encoders, MPEG-TS).
    AnnexB,
    /// Each NAL unit preceded by its big-endian length in 1..=4 bytes (Matroska, FLV, MP4).
    LengthPrefixed(u8),
}

impl NalFormat {
    /// The framing an `avcC`/`hvcC` extradata block announces, or Annex B for empty or Annex B
    /// extradata.
    pub fn from_extradata(codec: VideoCodec, extradata: &[u8]) -> NalFormat {
        if extradata.first() != Some(&1) {
            return NalFormat::AnnexB;
        }
        let at = match codec {
            VideoCodec::H264 => 4,
            VideoCodec::Hevc => 21,
            // av1C holds OBUs; AV1 packets are always OBUs with sizes, never NAL units.
            VideoCodec::Av1 => return NalFormat::AnnexB,
        };
        match extradata.get(at) {
            Some(b) => NalFormat::LengthPrefixed((b & 3) + 1),
            None => NalFormat::AnnexB,
        }
    }

    /// Guesses from the first bytes of a packet: a start code means Annex B, anything else
    /// 4-byte lengths.
    pub fn detect(data: &[u8]) -> NalFormat {
        if data.starts_with(&[0, 0, 1]) || data.starts_with(&[0, 0, 0, 1]) {
            NalFormat::AnnexB
        } else {
            NalFormat::LengthPrefixed(4)
        }
    }
}

/// What the SEI of one depth access unit says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InBand {
    /// The packing parameters.
    pub params: PackParams,
    /// Sender wall-clock time in microseconds since the UNIX epoch, when the sender wrote it.
    pub sent_unix_us: Option<u64>,
    /// The camera of the frame, when the sender wrote one (RGB-D streams).
    pub camera: Option<CameraBlock>,
}

/// What one access unit's SEI NAL unit carries: any of the packing parameters (depth frames),
/// the camera (RGB-D streams) and the send time (in each message present).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SeiContent {
    /// The packing parameters (depth frames).
    pub params: Option<PackParams>,
    /// The frame's camera.
    pub camera: Option<CameraBlock>,
    /// Sender wall-clock time, µs since the UNIX epoch.
    pub sent_unix_us: Option<u64>,
}

impl SeiContent {
    /// Whether there is no message to write (no parameters and no camera).
    pub fn is_empty(&self) -> bool {
        self.params.is_none() && self.camera.is_none()
    }
}

/// The NAL unit type of a unit (without start code or length). `None` for AV1, which has OBUs
/// ([`crate::obu`]), not NAL units.
pub fn nal_type(codec: VideoCodec, nal: &[u8]) -> Option<u8> {
    let h = *nal.first()?;
    match codec {
        VideoCodec::H264 => Some(h & 0x1f),
        VideoCodec::Hevc => Some((h >> 1) & 0x3f),
        VideoCodec::Av1 => None,
    }
}

/// Whether a NAL unit type carries slice data (VCL).
pub fn is_vcl(codec: VideoCodec, nal_type: u8) -> bool {
    match codec {
        VideoCodec::H264 => (1..=5).contains(&nal_type),
        VideoCodec::Hevc => nal_type < 32,
        VideoCodec::Av1 => false,
    }
}

/// Whether a NAL unit type starts a random-access point (H.264 IDR, HEVC IRAP).
pub fn is_keyframe_nal(codec: VideoCodec, nal_type: u8) -> bool {
    match codec {
        VideoCodec::H264 => nal_type == 5,
        VideoCodec::Hevc => (16..=21).contains(&nal_type),
        VideoCodec::Av1 => false,
    }
}

/// Splits a packet into NAL units (payloads without start codes or lengths).
///
/// # Errors
/// [`CodecError::Bitstream`] when a length prefix runs past the end of the data.
pub fn nal_units(data: &[u8], format: NalFormat) -> Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    match format {
        NalFormat::AnnexB => {
            let mut starts = Vec::new();
            let mut i = 0;
            while i + 3 <= data.len() {
                if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
                    starts.push((i, i + 3));
                    i += 3;
                } else {
                    i += 1;
                }
            }
            for (k, &(_, begin)) in starts.iter().enumerate() {
                let mut end = starts.get(k + 1).map_or(data.len(), |&(s, _)| s);
                // Trailing zeros belong to the next start code (`00 00 00 01`) or are padding.
                while end > begin && data[end - 1] == 0 {
                    end -= 1;
                }
                if end > begin {
                    out.push(&data[begin..end]);
                }
            }
        }
        NalFormat::LengthPrefixed(n) => {
            let n = usize::from(n.clamp(1, 4));
            let mut i = 0;
            while i < data.len() {
                if i + n > data.len() {
                    return Err(CodecError::Bitstream(format!(
                        "{} bytes left at offset {i}, a {n}-byte NAL length needs more",
                        data.len() - i
                    )));
                }
                let len = data[i..i + n].iter().fold(0usize, |a, &b| (a << 8) | usize::from(b));
                i += n;
                if len > data.len() - i {
                    return Err(CodecError::Bitstream(format!(
                        "NAL length {len} at offset {} runs past the packet end ({} bytes)",
                        i - n,
                        data.len()
                    )));
                }
                if len > 0 {
                    out.push(&data[i..i + len]);
                }
                i += len;
            }
        }
    }
    Ok(out)
}

/// Appends `rbsp` to `out`, inserting an emulation-prevention byte `03` after every `00 00`
/// followed by a byte `<= 03`.
pub fn add_emulation_prevention(rbsp: &[u8], out: &mut Vec<u8>) {
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
}

/// Removes emulation-prevention bytes (`00 00 03` → `00 00`).
pub fn remove_emulation_prevention(ebsp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ebsp.len());
    let mut zeros = 0;
    for &b in ebsp {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    out
}

/// The messages `content` makes, in order (parameters, then camera): each message's UUID and the
/// body after it (block, then the send time when there is one). The SEI messages and AV1's
/// metadata OBUs ([`crate::obu`]) carry exactly these payloads.
pub(crate) fn message_payloads(content: &SeiContent) -> Vec<(&'static [u8; 16], Vec<u8>)> {
    let time = content.sent_unix_us.map(u64::to_le_bytes);
    let time: &[u8] = time.as_ref().map_or(&[], |t| t.as_slice());
    let mut out = Vec::with_capacity(2);
    if let Some(p) = &content.params {
        out.push((&DEPTHCAST_SEI_UUID, [p.to_bytes().as_slice(), time].concat()));
    }
    if let Some(c) = &content.camera {
        out.push((&DEPTHCAST_CAMERA_UUID, [c.to_bytes().as_slice(), time].concat()));
    }
    out
}

/// Appends one `user_data_unregistered` message (type, size, UUID, body) to `rbsp`.
fn push_message(rbsp: &mut Vec<u8>, uuid: &[u8; 16], body: &[u8]) {
    let size = 16 + body.len();
    debug_assert!(size < 255, "our messages fit a one-byte size");
    rbsp.extend_from_slice(&[USER_DATA_UNREGISTERED as u8, size as u8]);
    rbsp.extend_from_slice(uuid);
    rbsp.extend_from_slice(body);
}

/// Builds the SEI NAL unit (header included, no start code) carrying `params` and the optional
/// send time.
pub fn build_sei_nal(codec: VideoCodec, params: &PackParams, sent_unix_us: Option<u64>) -> Vec<u8> {
    build_sei_nal_with(codec, &SeiContent { params: Some(*params), camera: None, sent_unix_us })
        .expect("parameters make a message")
}

/// Builds the SEI NAL unit (header included, no start code) carrying `content`: the parameters
/// message first, then the camera message, each with the send time. `None` when `content` is
/// empty. For AV1, the metadata OBUs of [`crate::obu::build_metadata_obus`].
pub fn build_sei_nal_with(codec: VideoCodec, content: &SeiContent) -> Option<Vec<u8>> {
    if content.is_empty() {
        return None;
    }
    let mut rbsp = Vec::with_capacity(2 * (2 + 16 + 8) + PARAMS_LEN + CAMERA_LEN + 1);
    for (uuid, body) in message_payloads(content) {
        push_message(&mut rbsp, uuid, &body);
    }
    rbsp.push(0x80); // rbsp_trailing_bits
    let mut nal = match codec {
        VideoCodec::H264 => vec![0x06],
        VideoCodec::Hevc => vec![39 << 1, 0x01], // PREFIX_SEI_NUT, layer 0, temporal id 0
        VideoCodec::Av1 => return crate::obu::build_metadata_obus(content),
    };
    add_emulation_prevention(&rbsp, &mut nal);
    Some(nal)
}

/// Writes the access unit `au` (Annex B) to `out` (cleared first) with the SEI NAL unit inserted
/// before the first slice (or appended when the unit has no slice).
///
/// # Errors
/// Never for Annex B input; the signature matches [`nal_units`].
pub fn insert_sei_annexb(
    codec: VideoCodec,
    au: &[u8],
    params: &PackParams,
    sent_unix_us: Option<u64>,
    out: &mut Vec<u8>,
) -> Result<()> {
    insert_sei_annexb_with(codec, au, &SeiContent { params: Some(*params), camera: None, sent_unix_us }, out)
}

/// As [`insert_sei_annexb`] for any [`SeiContent`]; an empty content copies `au` unchanged. For
/// AV1, `au` is a temporal unit and the messages go in as metadata OBUs
/// ([`crate::obu::insert_metadata`]).
///
/// # Errors
/// Never for Annex B input; the signature matches [`nal_units`]. For AV1, a temporal unit that
/// is not a sequence of sized OBUs.
pub fn insert_sei_annexb_with(codec: VideoCodec, au: &[u8], content: &SeiContent, out: &mut Vec<u8>) -> Result<()> {
    if codec == VideoCodec::Av1 {
        return crate::obu::insert_metadata(au, content, out);
    }
    out.clear();
    let Some(sei) = build_sei_nal_with(codec, content) else {
        out.extend_from_slice(au);
        return Ok(());
    };
    let mut inserted = false;
    for nal in nal_units(au, NalFormat::AnnexB)? {
        let vcl = nal_type(codec, nal).is_some_and(|t| is_vcl(codec, t));
        if vcl && !inserted {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(&sei);
            inserted = true;
        }
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal);
    }
    if !inserted {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(&sei);
    }
    Ok(())
}

/// Reads a `ff ff .. xx` coded SEI number.
fn sei_number(b: &[u8], i: &mut usize) -> Option<u32> {
    let mut v = 0u32;
    loop {
        let x = *b.get(*i)?;
        *i += 1;
        v = v.checked_add(u32::from(x))?;
        if x != 0xff {
            return Some(v);
        }
    }
}

/// The optional 8-byte send time after a block of `len` bytes.
fn send_time(body: &[u8], len: usize) -> Option<u64> {
    body.get(len..len + 8).map(|t| u64::from_le_bytes(t.try_into().expect("8 bytes")))
}

/// depthcast's messages found in an access unit (the first of each kind), decoded or why not.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub(crate) params: Option<std::result::Result<(PackParams, Option<u64>), depthcast_packing::PackError>>,
    pub(crate) camera: Option<std::result::Result<(CameraBlock, Option<u64>), depthcast_packing::PackError>>,
    /// The first syntax error (framing, SEI or OBU), kept as its message.
    pub(crate) broken: Option<String>,
}

/// Decodes one message payload (UUID, then body) into `found` when it is one of depthcast's and
/// the first of its kind.
pub(crate) fn collect_message(payload: &[u8], found: &mut Found) {
    if found.params.is_none() && payload.starts_with(&DEPTHCAST_SEI_UUID) {
        let body = &payload[16..];
        found.params = Some(PackParams::from_bytes(body).map(|p| (p, send_time(body, PARAMS_LEN))));
    } else if found.camera.is_none() && payload.starts_with(&DEPTHCAST_CAMERA_UUID) {
        let body = &payload[16..];
        found.camera = Some(CameraBlock::from_bytes(body).map(|c| (c, send_time(body, CAMERA_LEN))));
    }
}

/// Collects depthcast's messages among the SEI messages of one SEI NAL unit payload (after the
/// NAL header, emulation prevention removed) into `found`; stops at the first syntax error.
fn parse_sei_rbsp(rbsp: &[u8], found: &mut Found) {
    let mut i = 0;
    // more_rbsp_data: stop at the trailing-bits byte.
    while i < rbsp.len() && !(i + 1 == rbsp.len() && rbsp[i] == 0x80) {
        let start = i;
        let mut bad = |what: String| {
            found.broken.get_or_insert(what);
        };
        let Some(ty) = sei_number(rbsp, &mut i) else {
            return bad(format!("SEI message type is truncated at byte {start}"));
        };
        let Some(size) = sei_number(rbsp, &mut i) else {
            return bad(format!("SEI message size is truncated at byte {start}"));
        };
        let size = size as usize;
        if size > rbsp.len() - i {
            return bad(format!("SEI payload of {size} bytes at byte {i} runs past the {}-byte unit", rbsp.len()));
        }
        let payload = &rbsp[i..i + size];
        i += size;
        if ty == USER_DATA_UNREGISTERED {
            collect_message(payload, found);
        }
    }
}

/// Scans every SEI NAL unit of an access unit for depthcast's messages.
fn scan(codec: VideoCodec, data: &[u8], format: NalFormat) -> Result<Found> {
    if codec == VideoCodec::Av1 {
        return crate::obu::scan(data);
    }
    let mut found = Found::default();
    for nal in nal_units(data, format)? {
        let (sei, header) = match codec {
            VideoCodec::H264 => (nal_type(codec, nal) == Some(6), 1),
            VideoCodec::Hevc => (matches!(nal_type(codec, nal), Some(39 | 40)), 2),
            VideoCodec::Av1 => unreachable!("AV1 returned above"),
        };
        if !sei || nal.len() <= header {
            continue;
        }
        parse_sei_rbsp(&remove_emulation_prevention(&nal[header..]), &mut found);
        if found.params.is_some() && found.camera.is_some() {
            break;
        }
    }
    Ok(found)
}

impl Found {
    pub(crate) fn params(&self) -> Result<InBand> {
        let camera = match &self.camera {
            Some(Ok((c, _))) => Some(*c),
            Some(Err(e)) if self.params.is_some() => return Err(CodecError::CameraInvalid(e.clone())),
            _ => None,
        };
        match &self.params {
            Some(Ok((params, sent_unix_us))) => Ok(InBand { params: *params, sent_unix_us: *sent_unix_us, camera }),
            Some(Err(e)) => Err(CodecError::ParamsInvalid(e.clone())),
            None => Err(self.broken.clone().map_or(CodecError::ParamsMissing, CodecError::Bitstream)),
        }
    }

    pub(crate) fn camera(&self) -> Result<(CameraBlock, Option<u64>)> {
        match &self.camera {
            Some(Ok((c, sent))) => Ok((*c, sent.or_else(|| self.params.as_ref()?.as_ref().ok()?.1))),
            Some(Err(e)) => Err(CodecError::CameraInvalid(e.clone())),
            None => Err(self.broken.clone().map_or(CodecError::CameraMissing, CodecError::Bitstream)),
        }
    }
}

/// Extracts depthcast's parameters (and the camera, when present) from one depth access unit.
///
/// # Errors
/// [`CodecError::ParamsMissing`] when no parameters message of ours is present,
/// [`CodecError::ParamsInvalid`] when ours is present but its block is corrupt or out of range,
/// [`CodecError::CameraInvalid`] when the parameters came with a corrupt camera block,
/// [`CodecError::Bitstream`] when the framing or the SEI syntax is broken before ours was found.
pub fn extract_params(codec: VideoCodec, data: &[u8], format: NalFormat) -> Result<InBand> {
    scan(codec, data, format)?.params()
}

/// Extracts the camera block and its send time from one access unit (colour frames; depth frames
/// of an RGB-D stream carry it too). The send time is the camera message's, or else the
/// parameters message's.
///
/// # Errors
/// [`CodecError::CameraMissing`] when no camera message of ours is present,
/// [`CodecError::CameraInvalid`] when ours is present but its block is corrupt or out of range,
/// [`CodecError::Bitstream`] when the framing or the SEI syntax is broken before ours was found.
pub fn extract_camera(codec: VideoCodec, data: &[u8], format: NalFormat) -> Result<(CameraBlock, Option<u64>)> {
    scan(codec, data, format)?.camera()
}

/// Both [`extract_params`] and [`extract_camera`] in one pass over the access unit.
pub fn extract_all(
    codec: VideoCodec,
    data: &[u8],
    format: NalFormat,
) -> (Result<InBand>, Result<(CameraBlock, Option<u64>)>) {
    match scan(codec, data, format) {
        Ok(found) => (found.params(), found.camera()),
        Err(CodecError::Bitstream(m)) => (Err(CodecError::Bitstream(m.clone())), Err(CodecError::Bitstream(m))),
        Err(e) => (Err(CodecError::Bitstream(e.to_string())), Err(e)),
    }
}

/// Whether the access unit contains a random-access slice (IDR / IRAP; for AV1 a shown key
/// frame with its sequence header, [`crate::obu::is_keyframe`]). Broken framing counts as not a
/// keyframe.
pub fn is_keyframe(codec: VideoCodec, data: &[u8], format: NalFormat) -> bool {
    if codec == VideoCodec::Av1 {
        return crate::obu::is_keyframe(data);
    }
    nal_units(data, format)
        .is_ok_and(|units| units.iter().filter_map(|n| nal_type(codec, n)).any(|t| is_keyframe_nal(codec, t)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use depthcast_packing::{CameraPose, Intrinsics, Scheme};

    fn params() -> PackParams {
        let mut p = PackParams::new(Scheme::Vbp, 12, 0.5, 30.0, 64, 36);
        p.frame_index = 0x0000_0300; // zero bytes that need emulation prevention
        p
    }

    #[test]
    fn emulation_prevention_round_trips() {
        let raw = [0u8, 0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 7, 0, 0];
        let mut e = Vec::new();
        add_emulation_prevention(&raw, &mut e);
        assert!(!e.windows(3).any(|w| w[0] == 0 && w[1] == 0 && w[2] <= 2));
        assert_eq!(remove_emulation_prevention(&e), raw);
    }

    #[test]
    fn insert_then_extract_both_codecs_and_framings() {
        for codec in [VideoCodec::H264, VideoCodec::Hevc] {
            let slice: &[u8] = match codec {
                VideoCodec::H264 => &[0x65, 0x88, 0x00, 0x00, 0x03, 0x01],
                VideoCodec::Hevc => &[0x26, 0x01, 0xaf, 0x80],
                VideoCodec::Av1 => unreachable!("NAL codecs only; AV1 is tested in obu"),
            };
            let mut au = vec![0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1];
            au.extend_from_slice(slice);
            let mut out = Vec::new();
            insert_sei_annexb(codec, &au, &params(), Some(42), &mut out).unwrap();
            let got = extract_params(codec, &out, NalFormat::AnnexB).unwrap();
            assert_eq!(got.params, params());
            assert_eq!(got.sent_unix_us, Some(42));
            assert!(is_keyframe(codec, &out, NalFormat::AnnexB));
            // The SEI sits right before the slice.
            let units = nal_units(&out, NalFormat::AnnexB).unwrap();
            assert_eq!(units.len(), 3);
            assert_eq!(units[2], slice);
            // Length-prefixed, as Matroska stores it.
            let mut lp = Vec::new();
            for u in &units {
                lp.extend_from_slice(&(u.len() as u32).to_be_bytes());
                lp.extend_from_slice(u);
            }
            let got = extract_params(codec, &lp, NalFormat::LengthPrefixed(4)).unwrap();
            assert_eq!(got.params, params());
            assert!(extract_params(codec, &au, NalFormat::AnnexB).is_err());
        }
    }

    #[test]
    fn missing_invalid_and_broken_are_told_apart() {
        let codec = VideoCodec::H264;
        assert!(matches!(
            extract_params(codec, &[0, 0, 1, 0x65, 1], NalFormat::AnnexB),
            Err(CodecError::ParamsMissing)
        ));
        let mut out = Vec::new();
        insert_sei_annexb(codec, &[0, 0, 1, 0x65, 1], &params(), None, &mut out).unwrap();
        let mut bad = out.clone();
        let pos = bad.iter().rposition(|&b| b == 0x80).unwrap();
        bad[pos - 1] ^= 0x55; // the CRC's last byte, right before the trailing bits
        assert!(matches!(extract_params(codec, &bad, NalFormat::AnnexB), Err(CodecError::ParamsInvalid(_))));
        assert!(matches!(
            extract_params(codec, &[0, 0, 0, 9, 1], NalFormat::LengthPrefixed(4)),
            Err(CodecError::Bitstream(_))
        ));
        // Truncated SEI size.
        assert!(extract_params(codec, &[0, 0, 1, 0x06, 5, 0xff], NalFormat::AnnexB).is_err());
    }

    fn camera() -> CameraBlock {
        CameraBlock {
            frame_index: 0x0000_0300,
            pose: CameraPose { position: [1.0, 0.0, -2.5], rotation: [0.0, 0.382_683_4, 0.0, 0.923_879_5] },
            intrinsics: Intrinsics::from_fov_y(1.0, 64, 36, 0.1),
        }
    }

    /// An access unit with the SEI of `content` before an IDR slice.
    fn access_unit(codec: VideoCodec, content: &SeiContent) -> Vec<u8> {
        let slice: &[u8] = match codec {
            VideoCodec::H264 => &[0x65, 0x88, 0x00, 0x00, 0x03, 0x01],
            VideoCodec::Hevc => &[0x26, 0x01, 0xaf, 0x80],
            VideoCodec::Av1 => unreachable!("NAL codecs only; AV1 is tested in obu"),
        };
        let mut au = vec![0, 0, 0, 1];
        au.extend_from_slice(slice);
        let mut out = Vec::new();
        insert_sei_annexb_with(codec, &au, content, &mut out).unwrap();
        out
    }

    #[test]
    fn camera_travels_beside_the_parameters_and_alone() {
        for codec in [VideoCodec::H264, VideoCodec::Hevc] {
            // A depth frame: both messages in one SEI NAL unit.
            let both = SeiContent { params: Some(params()), camera: Some(camera()), sent_unix_us: Some(7) };
            let au = access_unit(codec, &both);
            let sei_units = nal_units(&au, NalFormat::AnnexB)
                .unwrap()
                .into_iter()
                .filter(|n| !nal_type(codec, n).is_some_and(|t| is_vcl(codec, t)))
                .count();
            assert_eq!(sei_units, 1, "one SEI NAL unit holds both messages");
            let got = extract_params(codec, &au, NalFormat::AnnexB).unwrap();
            assert_eq!((got.params, got.camera, got.sent_unix_us), (params(), Some(camera()), Some(7)));
            assert_eq!(extract_camera(codec, &au, NalFormat::AnnexB).unwrap(), (camera(), Some(7)));
            // A colour frame: the camera alone; no parameters.
            let colour = SeiContent { params: None, camera: Some(camera()), sent_unix_us: Some(9) };
            let au = access_unit(codec, &colour);
            assert_eq!(extract_camera(codec, &au, NalFormat::AnnexB).unwrap(), (camera(), Some(9)));
            assert!(matches!(extract_params(codec, &au, NalFormat::AnnexB), Err(CodecError::ParamsMissing)));
            let (p, c) = extract_all(codec, &au, NalFormat::AnnexB);
            assert!(matches!(p, Err(CodecError::ParamsMissing)));
            assert_eq!(c.unwrap(), (camera(), Some(9)));
            // Old streams: parameters without a camera.
            let au = access_unit(codec, &SeiContent { camera: None, ..both });
            assert_eq!(extract_params(codec, &au, NalFormat::AnnexB).unwrap().camera, None);
            assert!(matches!(extract_camera(codec, &au, NalFormat::AnnexB), Err(CodecError::CameraMissing)));
            // Nothing to carry: the access unit stays as it was.
            let au = access_unit(codec, &SeiContent::default());
            assert_eq!(nal_units(&au, NalFormat::AnnexB).unwrap().len(), 1);
        }
    }

    #[test]
    fn a_corrupt_camera_block_is_an_error() {
        let codec = VideoCodec::H264;
        for params in [Some(params()), None] {
            let content = SeiContent { params, camera: Some(camera()), sent_unix_us: None };
            let mut au = access_unit(codec, &content);
            // The camera message comes last: its CRC's last byte sits right before the trailing
            // bits.
            let pos = au.iter().rposition(|&b| b == 0x80).unwrap();
            let pos = (0..pos).rev().find(|&i| au[i] == camera().to_bytes()[CAMERA_LEN - 1]).unwrap();
            au[pos] ^= 0x55;
            assert!(matches!(extract_camera(codec, &au, NalFormat::AnnexB), Err(CodecError::CameraInvalid(_))));
            if params.is_some() {
                assert!(matches!(extract_params(codec, &au, NalFormat::AnnexB), Err(CodecError::CameraInvalid(_))));
            }
        }
    }
}
