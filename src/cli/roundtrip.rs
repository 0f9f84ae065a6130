//! `depthcast roundtrip`: packs a built-in depth frame with every scheme, precision, layout, range
//! mode and bit depth, unpacks it without a codec and prints the errors.

use depthcast_packing::{
    BitDepth, DepthImage, Metrics, PackParams, Packer, RangeMode, Scheme, VbpLayout, YuvFrame, testdata, tight_range,
};

/// Options of `depthcast roundtrip`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Frame width.
    #[arg(long, default_value_t = 1280)]
    width: u32,
    /// Frame height.
    #[arg(long, default_value_t = 720)]
    height: u32,
}

pub(crate) fn run(a: Args) -> anyhow::Result<()> {
    let depth = testdata::game_scene(a.width, a.height, 0.0);
    let view = depth.view();
    let (near, far) = tight_range(&view, 0.05).ok_or_else(|| anyhow::anyhow!("no valid depth"))?;
    println!("built-in {}x{} game-like depth frame, tight range {near:.3}..{far:.3} m", a.width, a.height);
    println!(
        "{:<9} {:<7} {:>2} {:<9} {:<5} {:>9} {:>9} {:>9} {:>8} {:>7}",
        "scheme", "layout", "P", "mode", "bits", "MAE mm", "p99 mm", "max mm", "PSNR dB", "invalid"
    );
    let mut packer = Packer::default();
    for bits in [BitDepth::Eight, BitDepth::Ten] {
        for scheme in Scheme::ALL {
            let (lo, hi) = PackParams::precision_range(scheme, bits);
            let precisions: Vec<u8> = if scheme == Scheme::Hue {
                vec![0]
            } else {
                [lo, (lo + hi) / 2, hi].into_iter().collect::<std::collections::BTreeSet<_>>().into_iter().collect()
            };
            let layouts: &[VbpLayout] =
                if scheme == Scheme::Vbp { &[VbpLayout::Chroma, VbpLayout::Luma] } else { &[VbpLayout::Chroma] };
            for &precision in &precisions {
                for &layout in layouts {
                    for mode in [RangeMode::Linear, RangeMode::Disparity] {
                        let mut p = PackParams::new(scheme, precision, near, far, a.width, a.height);
                        p.bit_depth = bits;
                        p.layout = layout;
                        p.mode = mode;
                        if scheme == Scheme::Triangle {
                            p.period = depthcast_packing::schemes::triangle::default_period(precision, bits);
                        }
                        let (fw, fh) = p.frame_size();
                        let mut frame = YuvFrame::new(fw, fh, bits);
                        let mut out = DepthImage::new(a.width, a.height);
                        packer.pack_into(&view, &p, &mut frame)?;
                        packer.unpack_into(&frame, &p, &mut out)?;
                        let m = Metrics::compute(&view, &out.view(), near, far);
                        println!(
                            "{:<9} {:<7} {:>2} {:<9} {:<5} {:>9.3} {:>9.3} {:>9.3} {:>8.1} {:>7}",
                            scheme.name(),
                            if scheme == Scheme::Vbp { layout.name() } else { "-" },
                            precision,
                            mode.name(),
                            bits.bits(),
                            m.mae * 1e3,
                            m.p99 * 1e3,
                            m.max * 1e3,
                            m.psnr,
                            m.valid_to_invalid + m.invalid_to_valid
                        );
                    }
                }
            }
        }
    }
    Ok(())
}
