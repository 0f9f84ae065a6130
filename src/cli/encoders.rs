//! `depthcast encoders`: every encoder back-end, whether the linked FFmpeg has it, whether it
//! opens here, and why not.

use depthcast_codec::{EncoderSettings, VideoCodec, probe_all};
use depthcast_packing::BitDepth;

/// Options of `depthcast encoders`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Bit depth to probe (8 or 10).
    #[arg(long, default_value_t = 8)]
    bits: u8,
}

pub(crate) fn run(a: Args) -> anyhow::Result<()> {
    let bits = BitDepth::from_bits(a.bits).ok_or_else(|| anyhow::anyhow!("--bits {} is not 8 or 10", a.bits))?;
    println!("{:<5} {:<9} {:<14} {:<9} {:<7} reason", "codec", "back-end", "encoder", "compiled", "usable");
    for codec in VideoCodec::ALL {
        let mut s = EncoderSettings::new(codec, 1280, 720);
        s.bit_depth = bits;
        for st in probe_all(&s) {
            println!(
                "{:<5} {:<9} {:<14} {:<9} {:<7} {}",
                codec.name(),
                st.backend.name(),
                st.encoder,
                if st.compiled_in { "yes" } else { "no" },
                if st.usable.is_ok() { "yes" } else { "no" },
                st.usable.as_ref().err().map_or("", |r| r.as_str())
            );
        }
    }
    Ok(())
}
