//! `depthcast send`: reads a depth sequence (see [`crate::sequence`]), packs each frame, encodes it
//! with its parameters in-band and streams it to a URL, in real time or as fast as possible.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use depthcast::sequence::{DepthEncoding, Sequence, SequenceWriter};
use depthcast_codec::{Container, Encoder, EncoderSettings, FrameOptions, RateControl, Refresh, Sender, VideoCodec};
use depthcast_packing::{BitDepth, PackParams, Packer, RangeMode, Scheme, VbpLayout, YuvFrame};

/// Options of `depthcast send`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Depth sequence folder (with `sequence.json`).
    #[arg(long, required_unless_present = "synthetic")]
    input: Option<PathBuf>,
    /// Instead of `--input`: write this many frames of the built-in game-like scene (640x360,
    /// 30 fps) as a sequence in the temp folder and send it.
    #[arg(long)]
    synthetic: Option<usize>,
    /// Destination: `out.mkv`, `out.ts`, `udp://127.0.0.1:5000`, `tcp://host:port`, `srt://...`,
    /// `rtmp://host/app/stream`.
    #[arg(long)]
    url: String,
    /// Codec: h264 or hevc.
    #[arg(long, default_value = "h264")]
    codec: String,
    /// Plane bit depth: 8 or 10.
    #[arg(long, default_value_t = 8)]
    bits: u8,
    /// Packing scheme: luma, vbp, triangle, hue.
    #[arg(long, default_value = "vbp")]
    scheme: String,
    /// Precision in bits (default: the scheme's mid-range).
    #[arg(long)]
    precision: Option<u8>,
    /// VBP layout: chroma or luma.
    #[arg(long, default_value = "chroma")]
    layout: String,
    /// Range mapping (default: the sequence's `mode`): linear or disparity.
    #[arg(long)]
    mode: Option<String>,
    /// Target bitrate in kbit/s.
    #[arg(long, default_value_t = 4000)]
    kbps: u64,
    /// Variable bitrate (peak twice the target) instead of CBR.
    #[arg(long)]
    vbr: bool,
    /// Lossless (software only; for testing).
    #[arg(long)]
    lossless: bool,
    /// Keyframe interval in frames.
    #[arg(long, default_value_t = 60)]
    gop: u32,
    /// Periodic intra refresh instead of keyframes.
    #[arg(long)]
    intra_refresh: bool,
    /// Use libx264/libx265 only.
    #[arg(long)]
    software: bool,
    /// Software preset.
    #[arg(long, default_value = "ultrafast")]
    preset: String,
    /// Send as fast as possible instead of at the sequence's frame rate.
    #[arg(long)]
    fast: bool,
    /// Times to play the sequence.
    #[arg(long, default_value_t = 1)]
    loops: u32,
}

/// Writes `n` frames of [`depthcast_packing::testdata::game_scene`] as a sequence and returns its
/// folder.
fn synthetic(n: usize) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("depthcast-synthetic-{}", std::process::id()));
    let mut w = SequenceWriter::create(&dir, 640, 360, 30.0, DepthEncoding::Png16Mm)?;
    for i in 0..n {
        w.push(&depthcast_packing::testdata::game_scene(640, 360, i as f32 / 30.0), None)?;
    }
    w.meta_mut().source = Some("depthcast built-in game scene".into());
    w.finish()?;
    Ok(dir)
}

pub(crate) fn run(a: Args) -> anyhow::Result<()> {
    let input = match (&a.input, a.synthetic) {
        (Some(p), _) => p.clone(),
        (None, Some(n)) => synthetic(n)?,
        (None, None) => bail!("give --input DIR or --synthetic N"),
    };
    let seq = Sequence::open(&input)?;
    if seq.is_empty() {
        bail!("{} has no frames", input.display());
    }
    let codec = VideoCodec::from_name(&a.codec).with_context(|| format!("--codec {} is not h264 or hevc", a.codec))?;
    let bits = BitDepth::from_bits(a.bits).with_context(|| format!("--bits {} is not 8 or 10", a.bits))?;
    let scheme = Scheme::from_name(&a.scheme)
        .with_context(|| format!("--scheme {} is not one of luma, vbp, triangle, hue", a.scheme))?;
    let layout =
        VbpLayout::from_name(&a.layout).with_context(|| format!("--layout {} is not chroma or luma", a.layout))?;
    let mode_name = a.mode.clone().unwrap_or_else(|| seq.meta.mode.clone());
    let mode =
        RangeMode::from_name(&mode_name).with_context(|| format!("mode {mode_name} is not linear or disparity"))?;
    let (lo, hi) = PackParams::precision_range(scheme, bits);
    let precision = a.precision.unwrap_or((lo + hi) / 2);
    let m = &seq.meta;
    let mut params = PackParams::new(scheme, precision, m.near, m.far, m.width, m.height);
    params.bit_depth = bits;
    params.layout = layout;
    params.mode = mode;
    if scheme == Scheme::Triangle {
        params.period = depthcast_packing::schemes::triangle::default_period(precision, bits);
    }
    params.validate()?;
    let (fw, fh) = params.frame_size();

    let mut s = EncoderSettings::new(codec, fw, fh);
    s.bit_depth = bits;
    let fps = m.fps.max(1.0);
    s.fps = ((fps * 1000.0).round() as u32, 1000);
    s.bitrate = a.kbps * 1000;
    s.rate_control = if a.lossless {
        RateControl::Lossless
    } else if a.vbr {
        RateControl::Vbr { max_bitrate: 2 * s.bitrate }
    } else {
        RateControl::Cbr
    };
    s.refresh = if a.intra_refresh { Refresh::IntraRefresh(a.gop) } else { Refresh::Gop(a.gop) };
    s.force_software = a.software;
    s.preset = a.preset.clone();
    s.global_header = Container::for_url(&a.url)?.needs_global_header();
    let mut enc = Encoder::new(&s)?;
    eprintln!(
        "{} frames {}x{} -> {} via {} ({}), {} {} P={} {}-bit, {} kbit/s",
        seq.len(),
        m.width,
        m.height,
        a.url,
        enc.encoder_name(),
        enc.backend().name(),
        scheme.name(),
        layout.name(),
        precision,
        bits.bits(),
        a.kbps
    );
    let mut tx = Sender::open(&a.url, &enc)?;
    let total = seq.len() as u64 * u64::from(a.loops);
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} frames {per_sec} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut packer = Packer::default();
    let mut frame = YuvFrame::new(fw, fh, bits);
    let start = Instant::now();
    let mut bytes = 0u64;
    let mut n = 0u64;
    for _ in 0..a.loops {
        for i in 0..seq.len() {
            let depth = seq.read_frame(i)?;
            params.frame_index = n as u32;
            packer.pack_into(&depth.view(), &params, &mut frame)?;
            if !a.fast {
                let due = start + Duration::from_secs_f64(n as f64 / fps);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            for pkt in enc.encode(&frame, &params, &FrameOptions::default())? {
                bytes += pkt.data.len() as u64;
                tx.send(&pkt)?;
            }
            n += 1;
            bar.inc(1);
            let secs = n as f64 / fps;
            bar.set_message(format!("{:.0} kbit/s", bytes as f64 * 8.0 / secs / 1000.0));
        }
    }
    for pkt in enc.finish()? {
        bytes += pkt.data.len() as u64;
        tx.send(&pkt)?;
    }
    tx.finish()?;
    bar.finish();
    let secs = n as f64 / fps;
    eprintln!(
        "sent {n} frames, {bytes} bytes, {:.0} kbit/s of {} kbit/s target, in {:.2} s",
        bytes as f64 * 8.0 / secs / 1000.0,
        a.kbps,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
