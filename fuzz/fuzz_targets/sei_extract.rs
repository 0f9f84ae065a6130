//! Fuzzes the in-band parameter path: NAL splitting (Annex B and length-prefixed), SEI parsing,
//! emulation-prevention removal, AV1 OBU splitting and metadata parsing, and the PackParams
//! decoder. Must never panic.
//! Run: see `fuzz/README.md`.

#![no_main]

use depthcast_codec::VideoCodec;
use depthcast_codec::sei::{self, NalFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let codec = VideoCodec::ALL[usize::from(sel % 3)];
    let format = match (sel >> 2) % 5 {
        0 => NalFormat::AnnexB,
        n => NalFormat::LengthPrefixed(n),
    };
    if let Ok(inband) = sei::extract_params(codec, rest, format) {
        // Whatever decodes must re-encode to the same parameters.
        let mut out = Vec::new();
        // An IDR slice, or for AV1 a one-byte frame OBU.
        let unit: &[u8] = if codec == VideoCodec::Av1 { &[0x32, 0x01, 0x10] } else { &[0, 0, 1, 0x65, 0x80] };
        sei::insert_sei_annexb(codec, unit, &inband.params, inband.sent_unix_us, &mut out).unwrap();
        assert_eq!(sei::extract_params(codec, &out, NalFormat::AnnexB).unwrap().params, inband.params);
    }
    let _ = sei::is_keyframe(codec, rest, format);
    let _ = depthcast_codec::obu::obus(rest);
    let _ = sei::remove_emulation_prevention(rest);
    let _ = depthcast_packing::PackParams::from_bytes(rest);
});
