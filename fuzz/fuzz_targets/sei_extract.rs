//! Fuzzes the in-band parameter path: NAL splitting (Annex B and length-prefixed), SEI parsing,
//! emulation-prevention removal and the PackParams decoder. Must never panic.
//! Run: see `fuzz/README.md`.

#![no_main]

use depthcast_codec::VideoCodec;
use depthcast_codec::sei::{self, NalFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let codec = if sel & 1 == 0 { VideoCodec::H264 } else { VideoCodec::Hevc };
    let format = match (sel >> 1) % 5 {
        0 => NalFormat::AnnexB,
        n => NalFormat::LengthPrefixed(n),
    };
    if let Ok(inband) = sei::extract_params(codec, rest, format) {
        // Whatever decodes must re-encode to the same parameters.
        let mut out = Vec::new();
        sei::insert_sei_annexb(codec, &[0, 0, 1, 0x65, 0x80], &inband.params, inband.sent_unix_us, &mut out).unwrap();
        assert_eq!(sei::extract_params(codec, &out, NalFormat::AnnexB).unwrap().params, inband.params);
    }
    let _ = sei::is_keyframe(codec, rest, format);
    let _ = sei::remove_emulation_prevention(rest);
    let _ = depthcast_packing::PackParams::from_bytes(rest);
});
