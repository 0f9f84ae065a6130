//! Fuzzes `PackParams::from_bytes`: arbitrary bytes must give a typed error or parameters that
//! validate and re-encode to the same bytes. Run: see `fuzz/README.md`.
#![no_main]

use depthcast_packing::{PARAMS_LEN, PackParams};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = PackParams::from_bytes(data) {
        p.validate().expect("decoded parameters validate");
        assert_eq!(&p.to_bytes()[..], &data[..PARAMS_LEN]);
    }
});
