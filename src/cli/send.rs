//! `depthcast send`: reads a depth sequence (see [`crate::sequence`]), packs each frame, encodes it
//! with its parameters in-band and streams it to a URL, in real time or as fast as possible.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use depthcast::precision_net::{QuantMlp, Settings, StreamPolicy, models};
use depthcast::sequence::{DepthEncoding, Sequence, SequenceWriter};
use depthcast::sweep::config::{CodecConfig, PackingConfig, RangePolicy};
use depthcast::sweep::encode::{RunOptions, SeqData};
use depthcast::sweep::predictor;
use depthcast_codec::{
    Container, Encoder, EncoderSettings, FrameOptions, RateControl, Refresh, Roi, Sender, VideoCodec,
};
use depthcast_packing::{BitDepth, DepthImage, PackParams, Packer, RangeMode, Scheme, VbpLayout, YuvFrame};

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
    /// Let precision-net choose the packing configuration (the committed int8 model, from each
    /// frame's features and the bitrate: 8-bit luma, VBP chroma, or VBP luma with its
    /// region-of-interest split) instead of --scheme/--precision/--layout/--mode. 8-bit planes.
    #[arg(long, conflicts_with_all = ["scheme", "precision", "layout", "mode", "lossless"])]
    auto: bool,
    /// With --auto: the start-up probe. The network's three best-scored configurations of the
    /// first frame and 8-bit luma are encoded over the first 15 frames (with this encoder's
    /// settings), decoded and measured; the best measured one carries the whole stream, which
    /// starts once the probe is done.
    #[arg(long, requires = "auto")]
    probe: bool,
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
    anyhow::ensure!(!a.auto || bits == BitDepth::Eight, "--auto: the committed model chooses for 8-bit planes");
    let mode =
        RangeMode::from_name(&mode_name).with_context(|| format!("mode {mode_name} is not linear or disparity"))?;
    let m = &seq.meta;
    let mut plan = if a.auto {
        Plan::auto(&a, &seq, codec, bits)?
    } else {
        let (lo, hi) = PackParams::precision_range(scheme, bits);
        let precision = a.precision.unwrap_or((lo + hi) / 2);
        let mut params = PackParams::new(scheme, precision, m.near, m.far, m.width, m.height);
        params.bit_depth = bits;
        params.layout = layout;
        params.mode = mode;
        if scheme == Scheme::Triangle {
            params.period = depthcast_packing::schemes::triangle::default_period(precision, bits);
        }
        params.validate()?;
        Plan::Fixed(params)
    };
    // The first frame's configuration fixes the frame size the encoder opens with.
    let first = plan.next(&seq.read_frame(0)?, 0)?;
    let (fw, fh) = first.0.frame_size();

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
    s.regions_of_interest = plan.regions_of_interest();
    let mut enc = Encoder::new(&s)?;
    eprintln!(
        "{} frames {}x{} -> {} via {} ({}), {}, {} kbit/s",
        seq.len(),
        m.width,
        m.height,
        a.url,
        enc.encoder_name(),
        enc.backend().name(),
        plan.describe(&first.0),
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
            let (params, roi) = if n == 0 { first } else { plan.next(&depth, n as u32)? };
            anyhow::ensure!(params.frame_size() == (fw, fh), "frame {n}: the configuration changed the frame size");
            packer.pack_into(&depth.view(), &params, &mut frame)?;
            let fo = FrameOptions { rois: roi.into_iter().collect(), ..FrameOptions::default() };
            if !a.fast {
                let due = start + Duration::from_secs_f64(n as f64 / fps);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            for pkt in enc.encode(&frame, &params, &fo)? {
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
    plan.summary();
    let secs = n as f64 / fps;
    eprintln!(
        "sent {n} frames, {bytes} bytes, {:.0} kbit/s of {} kbit/s target, in {:.2} s",
        bytes as f64 * 8.0 / secs / 1000.0,
        a.kbps,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Where each frame's packing parameters come from.
enum Plan {
    /// The command line's configuration for every frame.
    Fixed(PackParams),
    /// precision-net's choices (`--auto`).
    Auto(Box<Auto>),
}

struct Auto {
    policy: StreamPolicy,
    /// The model's outputs as configurations.
    cands: Vec<PackingConfig>,
    /// The probe's winner (`--probe`): every frame takes it.
    fixed: Option<usize>,
    /// Each frame's choice so far.
    chosen: Vec<usize>,
    bits: BitDepth,
    near: f32,
    far: f32,
    /// Whether the stream's frame-size group has configurations with a region of interest.
    roi_group: bool,
}

impl Plan {
    fn auto(a: &Args, seq: &Sequence, codec: VideoCodec, bits: BitDepth) -> anyhow::Result<Plan> {
        let m = &seq.meta;
        let model = QuantMlp::from_bytes(models::INT8)?;
        let mut cands = predictor::model_candidates(&model)?;
        let groups: Vec<String> =
            cands.iter().map(|c| predictor::group(c, bits, m.width, m.height).to_string()).collect();
        let settings =
            Settings { bitrate: a.kbps as f64 * 1e3, fps: m.fps.max(1.0), hevc: codec == VideoCodec::Hevc, bits: 8 };
        let policy = StreamPolicy::new(model, groups, a.gop as usize, settings, m.width, m.height);
        let fixed = if a.probe {
            let n = depthcast::precision_net::Probe::FRAMES.min(seq.len());
            let frames = (0..n).map(|i| seq.read_frame(i)).collect::<Result<Vec<DepthImage>, _>>()?;
            let head = SeqData { name: "probe".into(), fps: m.fps.max(1.0), frames, near: m.near, far: m.far };
            let opts = RunOptions { gop: a.gop, force_software: a.software, preset: a.preset.clone(), threads: 0 };
            let encodes = predictor::ProbeEncodes { range: RangePolicy::Sequence, opts: &opts };
            let cc = CodecConfig { codec, bits, aq: false };
            let t = Instant::now();
            let stream =
                predictor::Stream { seq: &head, codec: cc, bitrate: a.kbps * 1000, cands: &cands, gop: a.gop as usize };
            let probe =
                predictor::probe(stream, encodes)?.context("the probe needs the committed model's candidates")?;
            for (c, e) in probe.measured() {
                eprintln!("probe: {:<34} MAE {:>10.3} mm over {n} frames", c.id(), 1e3 * e);
            }
            let w = probe.winner();
            eprintln!("probe: {} wins ({:.2} s)", w.id(), t.elapsed().as_secs_f64());
            // A fallback outside the model's candidates would join the list the frames index.
            Some(cands.iter().position(|c| *c == w).unwrap_or_else(|| {
                cands.push(w);
                cands.len() - 1
            }))
        } else {
            None
        };
        Ok(Plan::Auto(Box::new(Auto {
            policy,
            cands,
            fixed,
            chosen: Vec::new(),
            bits,
            near: m.near,
            far: m.far,
            roi_group: false,
        })))
    }

    /// Frame `index`'s parameters and its region of interest (the high plane's), if any.
    fn next(&mut self, depth: &DepthImage, index: u32) -> anyhow::Result<(PackParams, Option<Roi>)> {
        match self {
            Plan::Fixed(p) => {
                let mut p = *p;
                p.frame_index = index;
                Ok((p, None))
            }
            Plan::Auto(a) => {
                let k = match a.fixed {
                    Some(k) => k,
                    None => a.policy.push(&depth.view())?,
                };
                if a.chosen.is_empty() {
                    let (w, h) = (depth.width, depth.height);
                    let g = predictor::group(&a.cands[k], a.bits, w, h);
                    a.roi_group = match a.fixed {
                        Some(k) => a.cands[k].roi_high.is_some(),
                        None => a.cands.iter().any(|c| c.roi_high.is_some() && predictor::group(c, a.bits, w, h) == g),
                    };
                }
                a.chosen.push(k);
                let c = a.cands[k];
                let p = c.params(a.bits, depth.width, depth.height, a.near, a.far, index);
                let (fw, fh) = p.frame_size();
                Ok((p, c.high_plane_roi(fw, fh)))
            }
        }
    }

    fn regions_of_interest(&self) -> bool {
        matches!(self, Plan::Auto(a) if a.roi_group)
    }

    fn describe(&self, first: &PackParams) -> String {
        match self {
            Plan::Fixed(p) => {
                format!("{} {} P={} {}-bit", p.scheme.name(), p.layout.name(), p.precision, p.bit_depth.bits())
            }
            Plan::Auto(a) => format!(
                "precision-net{} (first frame {})",
                if a.fixed.is_some() { " with the start-up probe" } else { "" },
                a.chosen.first().map_or_else(|| format!("P={}", first.precision), |&k| a.cands[k].id())
            ),
        }
    }

    /// Prints how often each configuration was chosen.
    fn summary(&self) {
        if let Plan::Auto(a) = self {
            let mut counts = std::collections::BTreeMap::new();
            for &k in &a.chosen {
                *counts.entry(a.cands[k].id()).or_insert(0usize) += 1;
            }
            for (id, n) in counts {
                eprintln!("precision-net: {id} for {n} frames");
            }
        }
    }
}
