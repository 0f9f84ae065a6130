//! Fuzzes unpacking arbitrary plane bytes under arbitrary (valid) parameters: never a panic, and
//! every output pixel is invalid (0) or inside the parameters' range.
//! Run: see `fuzz/README.md`.
#![no_main]

use depthcast_packing::{PARAMS_LEN, PackParams, PixelFormat, YuvFrame, unpack};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < PARAMS_LEN + 2 {
        return;
    }
    // Parameters come from the first bytes with a fresh checksum, so the fuzzer reaches unpack.
    let mut head = [0u8; PARAMS_LEN];
    head.copy_from_slice(&data[..PARAMS_LEN]);
    let seed = PackParams::new(depthcast_packing::Scheme::Vbp, 12, 0.5, 10.0, 2, 2).to_bytes();
    head[..3].copy_from_slice(&seed[..3]);
    // Small sizes keep iterations fast.
    head[18] %= 33;
    head[19] = 0;
    head[20] %= 17;
    head[21] = 0;
    let crc = depthcast_packing::params::crc16(&head[..26]);
    head[26..28].copy_from_slice(&crc.to_le_bytes());
    let Ok(p) = PackParams::from_bytes(&head) else { return };
    let (fw, fh) = p.frame_size();
    let format = if p.bit_depth.bits() == 8 { PixelFormat::Yuv420p } else { PixelFormat::Yuv420p10le };
    let planes = &data[PARAMS_LEN..];
    let mut bytes = vec![0u8; format.frame_bytes(fw, fh)];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = planes[i % planes.len()];
    }
    let frame = YuvFrame::read(format, fw, fh, &bytes).expect("sizes match");
    let out = unpack(&frame, &p).expect("frame matches parameters");
    // The disparity inverse 1/(1/near − n·span) loses precision at the far end in proportion to
    // far/near (f32 has 24 bits): allow that much, with a factor 4 for the chain of operations.
    let slack = 4.0 * (p.far / p.near) * f32::EPSILON + 1e-6;
    for &z in &out.data {
        assert!(z == 0.0 || (z >= p.near * (1.0 - slack) && z <= p.far * (1.0 + slack)), "{z} outside {p:?}");
    }
});
