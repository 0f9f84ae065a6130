//! `depthcast predict`: the precision predictor (see `depthcast::precision_net`): per-frame choices
//! for a sequence and bitrate, plus the data tools that train it (procedural scenes, sweeps over the
//! model's candidates, feature dumps).

use std::fmt::Write as _;
use std::path::PathBuf;

use depthcast::precision_net::{self, Engine, FeatureExtractor, NUM_FEATURES, QuantMlp, Settings, Switcher};
use depthcast::sequence::{DepthEncoding, SequenceWriter};
use depthcast::sweep::config::{CodecConfig, DEFAULT_MBPS_720P30, PackingGrid, RangeChoice, scale_bitrates};
use depthcast::sweep::encode::RunOptions;
use depthcast::sweep::{Source, SweepOptions, predictor};

/// Options of `depthcast predict`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Subcommand, Debug)]
enum Cmd {
    /// Prints the configuration chosen for every frame of a sequence at a bitrate (`--probe`: with
    /// the start-up probe's real encodes).
    Run(RunArgs),
    /// Writes procedural scene variants (precision-net's generator) as depth sequences (EXR).
    Scenes(ScenesArgs),
    /// Sweeps sequences over the model's candidate configurations (H.264 8-bit, one range per
    /// sequence), with every policy run, the predictor's included.
    Sweep(SweepArgs),
    /// Writes the predictor's features of every frame at every bitrate of a sweep, as CSV.
    Features(FeaturesArgs),
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Depth sequence folder; none = the built-in procedural scene at 1280x720.
    sequence: Option<PathBuf>,
    /// Target bitrate (as given; not scaled): `4M`, `2500k`, `640000` (bit/s).
    #[arg(long, value_parser = super::parse_bitrate, default_value = "4M")]
    bitrate: u64,
    /// The old spelling of `--bitrate`, in Mbit/s.
    #[arg(long, hide = true, conflicts_with = "bitrate")]
    mbps: Option<f64>,
    /// Codec configuration (h264-8, hevc-10, av1-10).
    #[arg(long, default_value = "h264-8")]
    codec: String,
    /// Keyframe interval in frames (switches happen only there).
    #[arg(long, default_value_t = 60)]
    gop: usize,
    /// Use at most this many frames.
    #[arg(long)]
    frames: Option<usize>,
    /// A model file instead of the committed int8 model.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Start-up probe: encode the network's three best-scored configurations of the first frame
    /// and plain luma over the first 15 frames (libx264, this GOP), measure each after decoding,
    /// and keep the best measured one for the whole stream (committed model only).
    #[arg(long)]
    probe: bool,
}

#[derive(clap::Args, Debug)]
struct ScenesArgs {
    /// Output folder (one sequence folder `pv<seed>` per seed).
    #[arg(long)]
    out: PathBuf,
    /// Seeds.
    #[arg(long, value_delimiter = ',', required = true)]
    seeds: Vec<u64>,
    /// Width.
    #[arg(long, default_value_t = 640)]
    width: u32,
    /// Height.
    #[arg(long, default_value_t = 360)]
    height: u32,
    /// Frames per sequence.
    #[arg(long, default_value_t = 60)]
    frames: usize,
    /// Frames per second.
    #[arg(long, default_value_t = 30.0)]
    fps: f64,
}

#[derive(clap::Args, Debug)]
struct SweepArgs {
    /// Depth sequence folders.
    sequences: Vec<PathBuf>,
    /// Also sweep the built-in procedural scene at this size (e.g. 1280x720).
    #[arg(long)]
    builtin: Option<String>,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Bitrates in Mbit/s at 1280x720, 30 fps (scaled to each sequence's pixel rate).
    #[arg(long, value_delimiter = ',')]
    mbps: Vec<f64>,
    /// Use at most this many frames per sequence.
    #[arg(long, default_value_t = 60)]
    frames: usize,
    /// Skip the policy runs.
    #[arg(long)]
    no_policies: bool,
    /// Keyframe interval.
    #[arg(long, default_value_t = 30)]
    gop: u32,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

#[derive(clap::Args, Debug)]
struct FeaturesArgs {
    /// Depth sequence folders.
    sequences: Vec<PathBuf>,
    /// Also the built-in procedural scene at this size.
    #[arg(long)]
    builtin: Option<String>,
    /// Bitrates in Mbit/s at 1280x720, 30 fps (scaled like the sweep's).
    #[arg(long, value_delimiter = ',')]
    mbps: Vec<f64>,
    /// Use at most this many frames per sequence.
    #[arg(long, default_value_t = 60)]
    frames: usize,
    /// Output CSV: `sequence,bitrate_bps,frame,f0..f47`.
    #[arg(long)]
    out: PathBuf,
}

fn sources(seqs: &[PathBuf], builtin: Option<&str>) -> anyhow::Result<Vec<Source>> {
    let mut v: Vec<Source> = seqs.iter().cloned().map(Source::Dir).collect();
    if let Some(s) = builtin {
        let (w, h) = s.split_once('x').ok_or_else(|| anyhow::anyhow!("--builtin wants WxH, got {s:?}"))?;
        v.push(Source::Procedural { width: w.parse()?, height: h.parse()?, frames: 300, fps: 30.0 });
    }
    Ok(v)
}

fn mbps_or_default(m: &[f64]) -> Vec<f64> {
    if m.is_empty() { DEFAULT_MBPS_720P30.to_vec() } else { m.to_vec() }
}

pub(crate) fn run(a: Args) -> anyhow::Result<()> {
    match a.cmd {
        Cmd::Run(r) => run_predict(r),
        Cmd::Scenes(s) => scenes(s),
        Cmd::Sweep(s) => sweep(s),
        Cmd::Features(f) => features(f),
    }
}

fn run_predict(a: RunArgs) -> anyhow::Result<()> {
    let codec = CodecConfig::parse(&a.codec).ok_or_else(|| anyhow::anyhow!("unknown codec {:?}", a.codec))?;
    let model = match &a.model {
        Some(p) => QuantMlp::load(p)?,
        None => QuantMlp::from_bytes(precision_net::models::INT8)?,
    };
    let src = match &a.sequence {
        Some(p) => Source::Dir(p.clone()),
        None => Source::Procedural { width: 1280, height: 720, frames: 60, fps: 30.0 },
    };
    let seq = src.load(a.frames)?;
    let ids = model.metadata_list("candidates");
    let cands = predictor::candidates();
    // A frame-size group is the frame size each candidate gives this stream.
    let groups: Vec<_> =
        model.candidates()?.iter().map(|c| c.frame_size(seq.width(), seq.height(), codec.bits)).collect();
    let bitrate = a.mbps.map_or(a.bitrate, |m| (m * 1e6).round() as u64);
    let settings = Settings {
        bitrate: bitrate as f64,
        fps: seq.fps,
        hevc: codec.codec == depthcast::codec::VideoCodec::Hevc,
        bits: codec.bits.bits(),
    };
    let mut engine = Engine::new(model);
    eprintln!(
        "{} frames of {}x{}, {:.3} bit per depth pixel, engine level {}",
        seq.frames.len(),
        seq.width(),
        seq.height(),
        settings.bpp(seq.width(), seq.height()),
        engine.level().name()
    );
    let probed = if a.probe {
        anyhow::ensure!(a.model.is_none(), "--probe runs the committed model; drop --model");
        let opts = RunOptions { gop: a.gop as u32, ..RunOptions::default() };
        let encodes = predictor::ProbeEncodes { range: RangeChoice::Sequence, opts: &opts };
        let stream = predictor::Stream { seq: &seq, codec, bitrate, cands: &cands, gop: a.gop };
        let m = predictor::probe(stream, encodes)?
            .ok_or_else(|| anyhow::anyhow!("the committed model's candidates are not all known to this build"))?;
        for (c, e) in m.measured() {
            eprintln!("probe: {:<34} MAE {:>10.3} mm over the first frames", c.id(), 1e3 * e);
        }
        eprintln!("probe: the stream takes {}", m.winner().id());
        Some(m.winner().id())
    } else {
        None
    };
    let mut fx = FeatureExtractor::new();
    let margin = engine.model.metadata.get("margin").and_then(|m| m.parse().ok()).unwrap_or(0.1);
    let mut sw = Switcher::new(groups, a.gop, margin);
    println!("frame,config,best_scored");
    for (i, f) in seq.frames.iter().enumerate() {
        let x = fx.extract(&f.view(), &settings);
        let s = engine.scores(&x)?;
        let k = sw.push(i, &s);
        let best = (0..s.len()).max_by(|&p, &q| s[p].total_cmp(&s[q])).unwrap_or(0);
        println!("{i},{},{}", probed.as_deref().unwrap_or(&ids[k]), ids[best]);
    }
    Ok(())
}

fn scenes(a: ScenesArgs) -> anyhow::Result<()> {
    for &seed in &a.seeds {
        let scene = precision_net::scenes::Scene::from_seed(seed);
        let dir = a.out.join(format!("pv{seed}"));
        let mut w = SequenceWriter::create(&dir, a.width, a.height, a.fps, DepthEncoding::ExrF32)?;
        for i in 0..a.frames {
            w.push(&scene.render(a.width, a.height, i, a.fps), None)?;
        }
        w.finish()?;
        eprintln!("{}: {scene:?}", dir.display());
    }
    Ok(())
}

fn sweep(a: SweepArgs) -> anyhow::Result<()> {
    let opts = SweepOptions {
        out: a.out.clone(),
        codecs: vec![CodecConfig::H264_8],
        packings: PackingGrid::Given(predictor::candidates()),
        mbps: mbps_or_default(&a.mbps),
        scale: true,
        ranges: vec![RangeChoice::Sequence],
        run: RunOptions { gop: a.gop, ..RunOptions::default() },
        threads: a.threads,
        policies: !a.no_policies,
        predictor_policies: true,
        max_frames: Some(a.frames),
        format_probe: Default::default(),
        reopen_preroll: depthcast::sweep::encode::DEFAULT_REOPEN_PREROLL,
        reprobe: depthcast::sweep::causal::Rounds::default(),
    };
    depthcast::sweep::run(&sources(&a.sequences, a.builtin.as_deref())?, &opts)?;
    eprintln!("wrote {}", a.out.display());
    Ok(())
}

fn features(a: FeaturesArgs) -> anyhow::Result<()> {
    let mut text = String::from("sequence,bitrate_bps,frame");
    for k in 0..NUM_FEATURES {
        let _ = write!(text, ",f{k}");
    }
    text.push('\n');
    for src in sources(&a.sequences, a.builtin.as_deref())? {
        let seq = src.load(Some(a.frames))?;
        for bitrate in scale_bitrates(&mbps_or_default(&a.mbps), seq.width(), seq.height(), seq.fps) {
            let s = Settings { bitrate: bitrate as f64, fps: seq.fps, hevc: false, bits: 8 };
            let mut fx = FeatureExtractor::new();
            for (i, f) in seq.frames.iter().enumerate() {
                let x = fx.extract(&f.view(), &s);
                let _ = write!(text, "{},{bitrate},{i}", seq.name);
                for v in x {
                    let _ = write!(text, ",{v}");
                }
                text.push('\n');
            }
        }
    }
    std::fs::write(&a.out, text)?;
    Ok(())
}
