//! In-band packing parameters: an SEI `user_data_unregistered` message (payload type 5) carrying
//! our 16-byte UUID, the 28-byte [`PackParams::to_bytes`] block and, optionally, the sender's
//! wall-clock time. Pure Rust, no FFmpeg, so the fuzz target calls these functions directly.
//!
//! The message is inserted into every access unit *at the packet level*, right before the first
//! slice, so it works with every encoder back-end. NAL units may come as Annex B (start codes, what
//! encoders and MPEG-TS produce) or length-prefixed (what Matroska and FLV demuxers return).

use depthcast_packing::{PARAMS_LEN, PackParams};

use crate::error::{CodecError, Result};
use crate::settings::VideoCodec;

/// The UUID that marks depthcast's SEI message (random, version-4 style).
pub const DEPTHCAST_SEI_UUID: [u8; 16] =
    [0x6b, 0x1d, 0xd9, 0x3e, 0x52, 0x0c, 0x4f, 0x8a, 0x9d, 0x37, 0x0e, 0x5c, 0xd2, 0x41, 0x7a, 0x90];

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

/// What the SEI of one access unit says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InBand {
    /// The packing parameters.
    pub params: PackParams,
    /// Sender wall-clock time in microseconds since the UNIX epoch, when the sender wrote it.
    pub sent_unix_us: Option<u64>,
}

/// The NAL unit type of a unit (without start code or length).
pub fn nal_type(codec: VideoCodec, nal: &[u8]) -> Option<u8> {
    let h = *nal.first()?;
    Some(match codec {
        VideoCodec::H264 => h & 0x1f,
        VideoCodec::Hevc => (h >> 1) & 0x3f,
    })
}

/// Whether a NAL unit type carries slice data (VCL).
pub fn is_vcl(codec: VideoCodec, nal_type: u8) -> bool {
    match codec {
        VideoCodec::H264 => (1..=5).contains(&nal_type),
        VideoCodec::Hevc => nal_type < 32,
    }
}

/// Whether a NAL unit type starts a random-access point (H.264 IDR, HEVC IRAP).
pub fn is_keyframe_nal(codec: VideoCodec, nal_type: u8) -> bool {
    match codec {
        VideoCodec::H264 => nal_type == 5,
        VideoCodec::Hevc => (16..=21).contains(&nal_type),
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

/// Builds the SEI NAL unit (header included, no start code) carrying `params` and the optional
/// send time.
pub fn build_sei_nal(codec: VideoCodec, params: &PackParams, sent_unix_us: Option<u64>) -> Vec<u8> {
    let mut payload = Vec::with_capacity(16 + PARAMS_LEN + 8);
    payload.extend_from_slice(&DEPTHCAST_SEI_UUID);
    payload.extend_from_slice(&params.to_bytes());
    if let Some(t) = sent_unix_us {
        payload.extend_from_slice(&t.to_le_bytes());
    }
    let mut rbsp = vec![USER_DATA_UNREGISTERED as u8, payload.len() as u8];
    rbsp.extend_from_slice(&payload);
    rbsp.push(0x80); // rbsp_trailing_bits
    let mut nal = match codec {
        VideoCodec::H264 => vec![0x06],
        VideoCodec::Hevc => vec![39 << 1, 0x01], // PREFIX_SEI_NUT, layer 0, temporal id 0
    };
    add_emulation_prevention(&rbsp, &mut nal);
    nal
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
    out.clear();
    let sei = build_sei_nal(codec, params, sent_unix_us);
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

/// Finds depthcast's message among the SEI messages of one SEI NAL unit payload (after the NAL
/// header, emulation prevention removed). `Ok(None)` when the unit holds no depthcast message.
fn parse_sei_rbsp(rbsp: &[u8]) -> Result<Option<InBand>> {
    let mut i = 0;
    // more_rbsp_data: stop at the trailing-bits byte.
    while i < rbsp.len() && !(i + 1 == rbsp.len() && rbsp[i] == 0x80) {
        let start = i;
        let bad = |what: &str| CodecError::Bitstream(format!("SEI message {what} at byte {start}"));
        let ty = sei_number(rbsp, &mut i).ok_or_else(|| bad("type is truncated"))?;
        let size = sei_number(rbsp, &mut i).ok_or_else(|| bad("size is truncated"))? as usize;
        if size > rbsp.len() - i {
            return Err(CodecError::Bitstream(format!(
                "SEI payload of {size} bytes at byte {i} runs past the {}-byte unit",
                rbsp.len()
            )));
        }
        let payload = &rbsp[i..i + size];
        i += size;
        if ty == USER_DATA_UNREGISTERED && payload.starts_with(&DEPTHCAST_SEI_UUID) {
            let body = &payload[16..];
            let params = PackParams::from_bytes(body).map_err(CodecError::ParamsInvalid)?;
            let sent_unix_us =
                body.get(PARAMS_LEN..PARAMS_LEN + 8).map(|t| u64::from_le_bytes(t.try_into().expect("8 bytes")));
            return Ok(Some(InBand { params, sent_unix_us }));
        }
    }
    Ok(None)
}

/// Extracts depthcast's parameters from one access unit.
///
/// # Errors
/// [`CodecError::ParamsMissing`] when no SEI of ours is present, [`CodecError::ParamsInvalid`] when
/// ours is present but its block is corrupt or out of range, [`CodecError::Bitstream`] when the
/// framing or the SEI syntax is broken before ours was found.
pub fn extract_params(codec: VideoCodec, data: &[u8], format: NalFormat) -> Result<InBand> {
    let mut first_error = None;
    for nal in nal_units(data, format)? {
        let (sei, header) = match codec {
            VideoCodec::H264 => (nal_type(codec, nal) == Some(6), 1),
            VideoCodec::Hevc => (matches!(nal_type(codec, nal), Some(39 | 40)), 2),
        };
        if !sei || nal.len() <= header {
            continue;
        }
        match parse_sei_rbsp(&remove_emulation_prevention(&nal[header..])) {
            Ok(Some(found)) => return Ok(found),
            Ok(None) => {}
            Err(e @ CodecError::ParamsInvalid(_)) => return Err(e),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(CodecError::ParamsMissing))
}

/// Whether the access unit contains a random-access slice (IDR / IRAP). Broken framing counts as
/// not a keyframe.
pub fn is_keyframe(codec: VideoCodec, data: &[u8], format: NalFormat) -> bool {
    nal_units(data, format)
        .is_ok_and(|units| units.iter().filter_map(|n| nal_type(codec, n)).any(|t| is_keyframe_nal(codec, t)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use depthcast_packing::Scheme;

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
}
