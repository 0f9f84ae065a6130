//! AV1's in-band metadata: depthcast's messages as metadata OBUs, the AV1 counterpart of
//! [`crate::sei`]'s SEI messages. Pure Rust, no FFmpeg.
//!
//! An AV1 temporal unit is a sequence of OBUs ("low overhead bitstream format", every OBU with its
//! size, what libsvtav1, Matroska and FFmpeg's packets use). Each depthcast message is one
//! `OBU_METADATA` of type ITU-T T.35 whose payload is [`T35_PREFIX`] and then exactly an SEI
//! `user_data_unregistered` payload: the message's 16-byte UUID ([`crate::sei::DEPTHCAST_SEI_UUID`]
//! or [`crate::sei::DEPTHCAST_CAMERA_UUID`]), the block, the optional send time; then the OBU's
//! trailing bits.
//!
//! Why T.35 and not one of the "unregistered user private" types (6..=31), which the
//! specification offers for this: FFmpeg's AV1 bitstream reader (CBS, under its hardware-decoding
//! `av1` decoder and the AV1 bitstream filters) refuses unknown metadata types as "patch welcome"
//! errors, and dav1d before 1.5.1 (Debian 12 has 1.0) logs every private-type OBU at error level.
//! T.35 metadata is read and skipped quietly by all of them, and by libgav1, which wants the
//! trailing bits we write. The prefix uses the escape country code and an extension byte that
//! no registered T.35 payload uses, so no decoder mistakes ours for HDR or caption data.
//!
//! The metadata OBUs go right before the first frame (or frame header) OBU, after the temporal
//! delimiter and the sequence header, as the specification orders a temporal unit (section 7.5).

use crate::error::{CodecError, Result};
use crate::sei::{Found, SeiContent, collect_message, message_payloads};

/// `METADATA_TYPE_ITUT_T35`, the metadata type of depthcast's OBUs.
pub const METADATA_TYPE_ITUT_T35: u64 = 4;

/// What starts the T.35 payload of depthcast's metadata: `itu_t_t35_country_code` 0xFF (an
/// extension byte follows) and `itu_t_t35_country_code_extension_byte` 0xFF. The message's UUID
/// comes next.
pub const T35_PREFIX: [u8; 2] = [0xff, 0xff];

/// `OBU_SEQUENCE_HEADER`.
pub const OBU_SEQUENCE_HEADER: u8 = 1;
/// `OBU_TEMPORAL_DELIMITER`.
pub const OBU_TEMPORAL_DELIMITER: u8 = 2;
/// `OBU_FRAME_HEADER`.
pub const OBU_FRAME_HEADER: u8 = 3;
/// `OBU_TILE_GROUP`.
pub const OBU_TILE_GROUP: u8 = 4;
/// `OBU_METADATA`.
pub const OBU_METADATA: u8 = 5;
/// `OBU_FRAME` (frame header and tile group in one).
pub const OBU_FRAME: u8 = 6;
/// `OBU_REDUNDANT_FRAME_HEADER`.
pub const OBU_REDUNDANT_FRAME_HEADER: u8 = 7;

/// One OBU of a temporal unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Obu<'a> {
    /// `obu_type`.
    pub obu_type: u8,
    /// The whole OBU, header and size field included.
    pub bytes: &'a [u8],
    /// The payload (after the header, extension and size field).
    pub payload: &'a [u8],
}

/// Reads a `leb128()` number (at most 8 bytes, value below 2^32 as the specification requires).
fn leb128(b: &[u8], i: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for k in 0..8 {
        let x = *b.get(*i)?;
        *i += 1;
        v |= u64::from(x & 0x7f) << (7 * k);
        if x & 0x80 == 0 {
            return (v <= u64::from(u32::MAX)).then_some(v);
        }
    }
    None
}

/// Appends `v` as `leb128()`.
fn push_leb128(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Splits a temporal unit into its OBUs. An OBU without a size field runs to the end of the data
/// (allowed for the last one).
///
/// # Errors
/// [`CodecError::Bitstream`] for the forbidden bit set, a truncated header or size, or a size
/// running past the end of the data.
pub fn obus(data: &[u8]) -> Result<Vec<Obu<'_>>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let start = i;
        let h = data[i];
        if h & 0x80 != 0 {
            return Err(CodecError::Bitstream(format!("AV1 OBU at byte {start} has its forbidden bit set")));
        }
        let obu_type = (h >> 3) & 0x0f;
        let extension = h & 0x04 != 0;
        let has_size = h & 0x02 != 0;
        i += 1 + usize::from(extension);
        if i > data.len() {
            return Err(CodecError::Bitstream(format!("AV1 OBU header at byte {start} is truncated")));
        }
        let size = if has_size {
            let size = leb128(data, &mut i).ok_or_else(|| {
                CodecError::Bitstream(format!("AV1 OBU size at byte {start} is truncated or too large"))
            })?;
            usize::try_from(size).unwrap_or(usize::MAX)
        } else {
            data.len() - i
        };
        if size > data.len() - i {
            return Err(CodecError::Bitstream(format!(
                "AV1 OBU of {size} bytes at byte {start} runs past the {}-byte temporal unit",
                data.len()
            )));
        }
        out.push(Obu { obu_type, bytes: &data[start..i + size], payload: &data[i..i + size] });
        i += size;
    }
    Ok(out)
}

/// Appends one metadata OBU (header with a size field, type, payload, trailing bits) for a message
/// whose payload is `uuid` then `body`.
fn push_metadata_obu(out: &mut Vec<u8>, uuid: &[u8; 16], body: &[&[u8]]) {
    let mut payload = Vec::with_capacity(1 + 2 + 16 + body.iter().map(|b| b.len()).sum::<usize>() + 1);
    push_leb128(&mut payload, METADATA_TYPE_ITUT_T35);
    payload.extend_from_slice(&T35_PREFIX);
    payload.extend_from_slice(uuid);
    for b in body {
        payload.extend_from_slice(b);
    }
    payload.push(0x80); // trailing_bits: a one bit, then zeros to the byte boundary
    out.push((OBU_METADATA << 3) | 0x02);
    push_leb128(out, payload.len() as u64);
    out.extend_from_slice(&payload);
}

/// The metadata OBUs carrying `content` (parameters first, then the camera), or `None` when it
/// is empty.
pub fn build_metadata_obus(content: &SeiContent) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for (uuid, body) in message_payloads(content) {
        push_metadata_obu(&mut out, uuid, &[&body]);
    }
    (!out.is_empty()).then_some(out)
}

/// Writes the temporal unit `tu` to `out` (cleared first) with the metadata OBUs of `content`
/// inserted before the first frame or frame-header OBU (appended when there is none). An empty
/// content copies `tu` unchanged.
///
/// # Errors
/// [`CodecError::Bitstream`] when `tu` is not a sequence of sized OBUs.
pub fn insert_metadata(tu: &[u8], content: &SeiContent, out: &mut Vec<u8>) -> Result<()> {
    out.clear();
    let Some(meta) = build_metadata_obus(content) else {
        out.extend_from_slice(tu);
        return Ok(());
    };
    let mut inserted = false;
    for obu in obus(tu)? {
        let picture = matches!(obu.obu_type, OBU_FRAME | OBU_FRAME_HEADER | OBU_TILE_GROUP);
        if picture && !inserted {
            out.extend_from_slice(&meta);
            inserted = true;
        }
        out.extend_from_slice(obu.bytes);
    }
    if !inserted {
        out.extend_from_slice(&meta);
    }
    Ok(())
}

/// Collects depthcast's messages from the metadata OBUs of a temporal unit.
pub(crate) fn scan(data: &[u8]) -> Result<Found> {
    let mut found = Found::default();
    for obu in obus(data)? {
        if obu.obu_type != OBU_METADATA {
            continue;
        }
        let mut i = 0;
        let Some(ty) = leb128(obu.payload, &mut i) else {
            found.broken.get_or_insert_with(|| "AV1 metadata type is truncated".into());
            continue;
        };
        if ty != METADATA_TYPE_ITUT_T35 {
            continue;
        }
        let Some(body) = obu.payload[i..].strip_prefix(&T35_PREFIX) else {
            continue;
        };
        // The payload ends with the trailing bits: the last non-zero byte holds the one bit.
        let end = body.iter().rposition(|&b| b != 0);
        let Some(end) = end.filter(|&e| body[e] == 0x80) else {
            found.broken.get_or_insert_with(|| "AV1 metadata OBU lacks its trailing bits".into());
            continue;
        };
        collect_message(&body[..end], &mut found);
        if found.params.is_some() && found.camera.is_some() {
            break;
        }
    }
    Ok(found)
}

/// The sequence header's `reduced_still_picture_header` flag (its fifth bit), which means every
/// frame is a key frame without a frame-type field.
fn reduced_still_picture(seq: &[u8]) -> bool {
    seq.first().is_some_and(|b| b & 0x08 != 0)
}

/// Whether the temporal unit starts a random-access point: it carries a sequence header and its
/// first frame is shown as a new `KEY_FRAME` (`show_existing_frame = 0`, `frame_type = 0`).
/// Broken framing counts as not a keyframe.
pub fn is_keyframe(data: &[u8]) -> bool {
    let Ok(units) = obus(data) else {
        return false;
    };
    let Some(seq) = units.iter().find(|o| o.obu_type == OBU_SEQUENCE_HEADER) else {
        return false;
    };
    if reduced_still_picture(seq.payload) {
        return true;
    }
    units
        .iter()
        .find(|o| matches!(o.obu_type, OBU_FRAME | OBU_FRAME_HEADER))
        .and_then(|o| o.payload.first())
        // show_existing_frame (1 bit) = 0, frame_type (2 bits) = KEY_FRAME (0).
        .is_some_and(|&b| b & 0xe0 == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sei::{DEPTHCAST_CAMERA_UUID, DEPTHCAST_SEI_UUID};
    use depthcast_packing::{CameraBlock, CameraPose, Intrinsics, PackParams, Scheme};

    fn obu(ty: u8, payload: &[u8]) -> Vec<u8> {
        let mut o = vec![(ty << 3) | 0x02];
        push_leb128(&mut o, payload.len() as u64);
        o.extend_from_slice(payload);
        o
    }

    /// TD, sequence header (profile 0, not still), a key frame OBU.
    fn key_tu() -> Vec<u8> {
        let mut tu = obu(OBU_TEMPORAL_DELIMITER, &[]);
        tu.extend(obu(OBU_SEQUENCE_HEADER, &[0x00, 0x00, 0x00, 0x0a]));
        tu.extend(obu(OBU_FRAME, &[0x10, 0x00, 0x00, 0x00, 0x80]));
        tu
    }

    fn params() -> PackParams {
        let mut p = PackParams::new(Scheme::Vbp, 16, 0.5, 30.0, 64, 36);
        p.frame_index = 0x0000_0300;
        p
    }

    fn camera() -> CameraBlock {
        CameraBlock {
            frame_index: 7,
            pose: CameraPose { position: [1.0, 0.0, -2.5], rotation: [0.0, 0.382_683_4, 0.0, 0.923_879_5] },
            intrinsics: Intrinsics::from_fov_y(1.0, 64, 36, 0.1),
        }
    }

    #[test]
    fn leb128_round_trips_and_rejects_overlong() {
        for v in [0u64, 1, 127, 128, 300, 16_383, 16_384, u64::from(u32::MAX)] {
            let mut b = Vec::new();
            push_leb128(&mut b, v);
            let mut i = 0;
            assert_eq!(leb128(&b, &mut i), Some(v));
            assert_eq!(i, b.len());
        }
        let mut i = 0;
        assert_eq!(leb128(&[0x80; 9], &mut i), None, "more than 8 bytes");
        let mut i = 0;
        assert_eq!(leb128(&[0xff, 0xff, 0xff, 0xff, 0x7f], &mut i), None, "above 2^32 - 1");
    }

    #[test]
    fn metadata_goes_before_the_frame_and_comes_back() {
        let content = SeiContent { params: Some(params()), camera: Some(camera()), sent_unix_us: Some(42) };
        let mut out = Vec::new();
        insert_metadata(&key_tu(), &content, &mut out).unwrap();
        let types: Vec<u8> = obus(&out).unwrap().iter().map(|o| o.obu_type).collect();
        assert_eq!(
            types,
            [OBU_TEMPORAL_DELIMITER, OBU_SEQUENCE_HEADER, OBU_METADATA, OBU_METADATA, OBU_FRAME],
            "TD, sequence header, then ours, then the frame"
        );
        let found = scan(&out).unwrap();
        let got = found.params().unwrap();
        assert_eq!((got.params, got.camera, got.sent_unix_us), (params(), Some(camera()), Some(42)));
        assert_eq!(found.camera().unwrap(), (camera(), Some(42)));
        assert!(is_keyframe(&out));
        // Both messages are T.35 metadata holding SEI payloads: type, prefix, UUID, block.
        let metas: Vec<_> = obus(&out).unwrap().into_iter().filter(|o| o.obu_type == OBU_METADATA).collect();
        assert_eq!(&metas[0].payload[..3], &[4, 0xff, 0xff]);
        assert_eq!(&metas[0].payload[3..19], &DEPTHCAST_SEI_UUID);
        assert_eq!(&metas[1].payload[3..19], &DEPTHCAST_CAMERA_UUID);
        assert_eq!(metas[1].payload.last(), Some(&0x80), "trailing bits");
        // Nothing to carry: unchanged.
        insert_metadata(&key_tu(), &SeiContent::default(), &mut out).unwrap();
        assert_eq!(out, key_tu());
    }

    #[test]
    fn missing_corrupt_and_broken_are_told_apart() {
        assert!(matches!(scan(&key_tu()).unwrap().params(), Err(CodecError::ParamsMissing)));
        let content = SeiContent { params: Some(params()), camera: None, sent_unix_us: None };
        let mut out = Vec::new();
        insert_metadata(&key_tu(), &content, &mut out).unwrap();
        // The CRC's last byte sits right before the trailing-bits byte of our OBU.
        let meta_end = out.len() - obu(OBU_FRAME, &[0x10, 0x00, 0x00, 0x00, 0x80]).len();
        let mut bad = out.clone();
        bad[meta_end - 2] ^= 0x55;
        assert!(matches!(scan(&bad).unwrap().params(), Err(CodecError::ParamsInvalid(_))));
        // A size past the end.
        assert!(matches!(obus(&out[..out.len() - 1]), Err(CodecError::Bitstream(_))));
        // Our message under another T.35 country code, or another metadata type, is not ours.
        for prefix in [[4u8, 0xb5, 0x00], [25, 0xff, 0xff]] {
            let mut other =
                obu(OBU_METADATA, &[prefix.as_slice(), &DEPTHCAST_SEI_UUID, &params().to_bytes(), &[0x80]].concat());
            other.extend(key_tu());
            assert!(matches!(scan(&other).unwrap().params(), Err(CodecError::ParamsMissing)), "{prefix:?}");
        }
    }

    #[test]
    fn mutated_temporal_units_never_panic() {
        let content = SeiContent { params: Some(params()), camera: Some(camera()), sent_unix_us: Some(1) };
        let mut good = Vec::new();
        insert_metadata(&key_tu(), &content, &mut good).unwrap();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut decoded, mut refused) = (0, 0);
        for _ in 0..20_000 {
            let mut tu = good.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % tu.len() as u64) as usize;
                match next() % 3 {
                    0 => tu[at] ^= 1 << (next() % 8),
                    1 => tu.truncate(at),
                    _ => tu.insert(at, next() as u8),
                }
                if tu.is_empty() {
                    break;
                }
            }
            let _ = is_keyframe(&tu);
            match scan(&tu).map(|f| f.params()) {
                Ok(Ok(_)) => decoded += 1,
                _ => refused += 1,
            }
        }
        // Bit flips in the frame OBU or the camera's block leave the parameters readable.
        assert!(decoded > 0 && refused > 0, "{decoded} decoded, {refused} refused");
    }

    #[test]
    fn keyframes_are_shown_key_frames_with_a_sequence_header() {
        assert!(is_keyframe(&key_tu()));
        let mut inter = obu(OBU_TEMPORAL_DELIMITER, &[]);
        inter.extend(obu(OBU_FRAME, &[0x30, 0x00]));
        assert!(!is_keyframe(&inter), "inter frame, no sequence header");
        let mut shown_existing = obu(OBU_SEQUENCE_HEADER, &[0x00, 0x00]);
        shown_existing.extend(obu(OBU_FRAME_HEADER, &[0x80]));
        assert!(!is_keyframe(&shown_existing), "show_existing_frame");
        let still = obu(OBU_SEQUENCE_HEADER, &[0x18]);
        assert!(is_keyframe(&still), "reduced still-picture header");
        assert!(!is_keyframe(&[0x80]), "forbidden bit");
    }
}
