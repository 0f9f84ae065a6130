//! `depthcast send`: reads a depth sequence (see [`depthcast::sequence`]), packs each frame, encodes
//! it with its parameters in-band and streams it to a URL, in real time or as fast as possible.
//! The pipeline is `depthcast_stream`'s: [`DepthEncoder`], and [`AutoPacking`] for `--auto`.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use depthcast::sequence::{DepthEncoding, ReadFrame, Sequence, SequenceWriter};
use depthcast_codec::{Container, EncoderSettings, Format, RateControl, Refresh, VideoCodec};
use depthcast_packing::{BitDepth, DepthImage, PackParams, PackingConfig, RangeMode, Scheme, VbpLayout};
use depthcast_stream::{
    AUTO_PRESETS, AutoPacking, AutoSettings, DepthEncoder, FrameMeta, PresetGuard, ProbeSet, Receiver, RgbdEncoder,
    RgbdSettings, RoundPairs, StreamEncoder, probe_formats_encoded, stream_formats, unix_us,
};

/// The configuration `send` uses without `--config` or `--auto`: VBP, luma layout, P = 16, the
/// high plane's ROI at −0.4. Over precision-net's 22 training scenes (H.264, 720p30) it is the
/// best fixed configuration in geometric mean from 8 Mbit/s up and within 3% of the best at
/// 4 Mbit/s, the default bitrate; below about 2 Mbit/s 8-bit luma wins (`--config luma-P8-lin`,
/// or `--auto --probe`, which measures both). The Bevy sender has the same default.
pub(crate) const DEFAULT_CONFIG: &str = "vbp-luma-P16-lin-a255-roi-0.40";

/// `--preset auto`, paced: how many frame intervals late a keyframe may be before the stream steps
/// down to a faster preset (100 ms at 30 fps). A move's pre-roll (15 frames encoded at once) costs
/// about that, and a sender with a core to spare catches up within the GOP after it.
const MAX_BEHIND_FRAMES: f64 = 3.0;
/// Frames read ahead of the one being sent: enough to ride out a slow read or a stall of the
/// sender (a reopened encoder's pre-roll), few enough to hold little memory (4 frames of f32
/// depth at 1080p: 33 MB).
const READ_AHEAD: usize = 4;

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
    /// `rtmp://host/app/stream`, `rtp://host:port` (plain RTP for a media server such as Janus;
    /// one track).
    #[arg(long)]
    url: String,
    /// Codec: h264, hevc or av1 (libsvtav1; into .mkv files with this FFmpeg, no ROI).
    #[arg(long, default_value = "h264")]
    codec: String,
    /// Plane bit depth: 8 or 10.
    #[arg(long, default_value_t = 8)]
    bits: u8,
    /// Packing configuration id, as in sweep run names: `luma-P8-lin`, `vbp-chroma-P12-lin-a255`,
    /// `vbp-luma-P16-lin-a255-roi-0.40`, `triangle-P16-np1024-lin`, `hue-lin`.
    #[arg(long, default_value = DEFAULT_CONFIG)]
    config: String,
    /// Instead of `--config`: this scheme (luma, vbp, triangle, hue) at its mid-range precision,
    /// changed by `--precision`, `--layout`, `--roi`.
    #[arg(long)]
    scheme: Option<String>,
    /// Precision in bits (overrides the configuration's).
    #[arg(long)]
    precision: Option<u8>,
    /// VBP layout: chroma or luma (overrides the configuration's; with `--scheme vbp` the default
    /// is chroma).
    #[arg(long)]
    layout: Option<String>,
    /// Region of interest of VBP-luma's high plane: the FFmpeg quality offset, −1..=1 (negative
    /// gives the high bits more of the bitrate; 0 = none). A rate split between the two luma
    /// halves: with x264, −0.8 wins at low bitrates, −0.4…−0.2 from about 4 Mbit/s at 720p30;
    /// with x265, −0.4 (−0.8 undershoots the bitrate at 8 bits and overshoots it at 10).
    #[arg(long, allow_negative_numbers = true)]
    roi: Option<f32>,
    /// Range mapping (default: the sequence's `mode`): linear or disparity.
    #[arg(long)]
    mode: Option<String>,
    /// Target bitrate: `4M`, `2500k`, `640000` (bit/s).
    #[arg(long, value_parser = super::parse_bitrate, default_value = "4M")]
    bitrate: u64,
    /// The old spelling of `--bitrate`, in kbit/s.
    #[arg(long, hide = true, conflicts_with = "bitrate")]
    kbps: Option<u64>,
    /// Variable bitrate (peak twice the target) instead of CBR.
    #[arg(long)]
    vbr: bool,
    /// Lossless (software only; for testing).
    #[arg(long)]
    lossless: bool,
    /// Keyframe interval in frames [default: 60; with --reprobe 30, the GOP at which its rules
    /// were chosen and every sweep and live run of it was measured (a round measures a GOP)].
    #[arg(long)]
    gop: Option<u32>,
    /// Periodic intra refresh instead of keyframes.
    #[arg(long)]
    intra_refresh: bool,
    /// Use libx264/libx265 only.
    #[arg(long)]
    software: bool,
    /// Software preset (x264/x265 names; SVT-AV1 takes them too, or 0..=13), or `auto`. `auto`
    /// (depth-only streams into MPEG-TS or RTP): start at `superfast`, the slowest x264 preset at
    /// which every H.264 pair encodes a 720p frame in 16 ms on one core at 4 Mbit/s
    /// (results/presets-720p), and step down to `ultrafast` at the first keyframe after a GOP
    /// whose encodes took longer than `--budget-ms` per frame on average, or, paced, at a keyframe
    /// more than 3 frame intervals late (the encoder reopened, pre-rolled; it never steps back
    /// up). Sent in real time on a 2-core machine, `auto` had 0.87x the error of `ultrafast`
    /// (0.93x with --reprobe), with no stream late (results/half-720p/live-auto-read-ahead.md).
    /// Default: `auto` where it runs (a depth-only stream into MPEG-TS or RTP, on a software
    /// encoder), else `ultrafast` (RGB-D streams, .mkv; hardware encoders keep their own presets).
    #[arg(long)]
    preset: Option<String>,
    /// With --preset auto: the real-time budget of the stream's encode (packing included) per
    /// frame, ms. The default is results/presets-720p's budget for a 720p frame at 30 fps: about
    /// half the frame's time on one core, the rest for reading, pacing and the re-probe.
    #[arg(long, default_value_t = 16.0)]
    budget_ms: f64,
    /// Send as fast as possible instead of at the sequence's frame rate.
    #[arg(long)]
    fast: bool,
    /// Times to play the sequence.
    #[arg(long, default_value_t = 1)]
    loops: u32,
    /// Let precision-net choose the packing configuration (the committed int8 model, from each
    /// frame's features and the bitrate: 8-bit luma, VBP chroma, or VBP luma with its
    /// region-of-interest split) instead of `--config`. 8-bit planes, unless `--receivers` lets the
    /// probe choose the format.
    #[arg(long, conflicts_with_all = ["scheme", "precision", "layout", "mode", "lossless", "roi"])]
    auto: bool,
    /// With --auto: the start-up probe. The network's three best-scored configurations of the
    /// first frame and 8-bit luma are encoded over the first 15 frames (with this encoder's
    /// settings), decoded and measured; the best measured one carries the whole stream, which
    /// starts once the probe is done.
    #[arg(long, requires = "auto")]
    probe: bool,
    /// With --probe: choose the codec and plane bit depth too, among those this sender's encoders
    /// produce, the URL's container carries and every listed receiver decodes: `native`
    /// (depthcast's own receivers), `chromium` or `browser` (a `depthcast serve` page: H.264 at 8
    /// and 10 bits, AV1), or format ids (`h264-8,h264-10`). The probe then measures the luma
    /// fallback and one configuration of each scheme in each of them (not the network's
    /// shortlist: on unseen scenes it made the choice worse, see `results/formats-720p`).
    /// Without it the stream keeps `--codec` and `--bits`.
    #[arg(long, requires = "probe")]
    receivers: Option<String>,
    /// With --receivers: repeat the probe while the stream runs (from each keyframe, every pair
    /// encoded on worker threads over the GOP as it is sent, each encode pre-rolled over the 15
    /// frames before), and at each keyframe move to the pair with the lowest error measured so
    /// far (older rounds weighing --reprobe-memory; its worst round weighing in too:
    /// --reprobe-risk), reopening the encoder on the same transport, pre-rolled, for another bit
    /// depth or frame size. A keyframe waits up to a frame for its round (with --fast, until it
    /// ends); a round that falls behind is used at the first keyframe after it ends. Keyframes
    /// come every GOP only, never at scene cuts (as x264 presets other than ultrafast would place
    /// them), so that rounds start at them. Depth-only streams into MPEG-TS or RTP (`.ts`,
    /// `udp://`, `srt://`, `tcp://`, `rtp://`), whose keyframes carry the codec's headers.
    /// `depthcast recv`, the Bevy receiver (both on `RgbdReceiver`) and the browser page of
    /// `depthcast serve` follow such a change (a page that joins later starts at the last
    /// keyframe, as always).
    #[arg(long, requires = "receivers")]
    reprobe: bool,
    /// With --reprobe: worker threads of a round, each encoding its share of the pairs frame by
    /// frame. The default leaves the other cores to the stream (on 2 cores at 720p, 16 at once
    /// broke real time); rounds that keep up with the stream need about pairs x 1.5 encodes per
    /// frame sent.
    #[arg(long, default_value_t = 1, requires = "reprobe")]
    reprobe_threads: usize,
    /// With --reprobe: the weight of what earlier rounds measured against each new round (1:
    /// every round alike; 0: the newest alone). The default, 0.4, was chosen on the 300-frame
    /// runs of `results/half-720p`.
    #[arg(long, default_value_t = depthcast_stream::ReprobeSettings::default().memory, requires = "reprobe",
          value_parser = parse_memory)]
    reprobe_memory: f64,
    /// With --reprobe: how many pairs each round encodes. `all`: every pair the start-up probe
    /// measured in the stream's codec. N (2 at least, or 1 with --reprobe-from-stream): the
    /// stream's pair, the best others so far and, by turns, the next best or the one measured
    /// longest ago (rounds of 2 measure the best other in one round, the stalest in the next);
    /// with --reprobe-from-stream the stream's pair is one more, measured from the stream.
    /// `fit`: as many as the round's workers encode in 80% of the time the last GOP took to send
    /// (less the keyframe's wait for its round, and never under the nominal frame rate's), from
    /// what the encodes have cost so far, so the rounds keep up with the stream; with --fast,
    /// the rounds the same stream gets in real time. Default: `fit` when paced, `all` with
    /// --fast (which waits for every round).
    #[arg(long, requires = "reprobe", value_parser = parse_round_pairs)]
    reprobe_pairs: Option<depthcast_stream::RoundPairs>,
    /// With --reprobe: how much better (relative mean error) the best pair must measure than the
    /// stream's for the stream to move there (a move reopens the encoder, which costs).
    #[arg(long, default_value_t = depthcast_stream::ReprobeSettings::default().margin, requires = "reprobe",
          value_parser = parse_margin)]
    reprobe_margin: f64,
    /// With --reprobe: how many rounds in a row must pick the same pair (by the margin) before
    /// the stream moves there; a pair that measures best over one GOP may lose the next ones.
    /// A move away from a pair over the bitrate or with a lost frame does not wait.
    #[arg(long, default_value_t = depthcast_stream::ReprobeSettings::default().confirm, requires = "reprobe",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    reprobe_confirm: usize,
    /// With --reprobe: whether the stream never moves to VBP luma without an ROI (it may start
    /// on it): on a scene's hard GOPs that pair loses whole GOPs with nothing to warn before.
    #[arg(long, default_value_t = depthcast_stream::ReprobeSettings::default().guarded, requires = "reprobe",
          action = clap::ArgAction::Set, value_name = "BOOL")]
    reprobe_guarded: bool,
    /// With --reprobe: the memory (0..=1, 1: every round alike) of a second, slower view of the
    /// rounds; the stream then moves only when that view too has the pick's mean error below
    /// its own pair's, so one good GOP of a pair that lost before does not move it. None by
    /// default.
    #[arg(long, requires = "reprobe", value_parser = parse_memory, value_name = "KEEP")]
    reprobe_long_memory: Option<f64>,
    /// With --reprobe: rank and compare the pairs by mean error ^ (1 - RHO) x worst round ^ RHO,
    /// the worst round (a pair's highest mean error over one round) weighing KEEP at each later
    /// round that measures the pair, rather than by mean error alone (`off`): a pair that lost
    /// whole GOPs in a round is not moved to on one good one. `chosen` is 0.25,0.8, what
    /// procedural levels and glTF training orbits chose; at x264 superfast on the test cameras it
    /// took the worst cells from 1.104x and 1.119x the best fixed pair to 1.077x and 1.054x
    /// (results/half-720p/risk.md).
    #[arg(long, requires = "reprobe", default_value = "chosen", value_parser = parse_risk,
          value_name = "RHO,KEEP|chosen|off")]
    reprobe_risk: RiskRule,
    /// With --reprobe: measure the stream's own pair from what it sends (its packets decoded
    /// and unpacked beside the rounds: a decode per frame where an encode was) rather than by
    /// one of each round's encodes, so each round measures one pair more for its encodes. The
    /// first round still encodes it. Not with --intra-refresh, whose stream has no keyframe where
    /// a round starts.
    #[arg(long, default_value_t = true, requires = "reprobe", action = clap::ArgAction::Set, value_name = "BOOL")]
    reprobe_from_stream: bool,
    /// With --reprobe: how the first round, which starts with the stream, measures each pair's
    /// first GOP: `settled` (pre-rolled over the GOP's first frames, then measured: what later
    /// GOPs cost) or `cold` (a fresh encoder from the stream's first frame, as the best causal
    /// policy's encodes; one GOP fewer of encodes).
    #[arg(long, requires = "reprobe", default_value = "settled", value_parser = parse_first_round)]
    reprobe_first: depthcast_stream::FirstRound,
    /// With --reprobe: `causal` is the best causal policy's own rule: every round counts alike
    /// (memory 1), the stream moves on each round's pick (no margin, confirmation, guard, slower
    /// view or risk score), and the first round is cold. In the sweeps of results/half-720p at
    /// x264 superfast, with every pair in every round, it met each of issue #17's quality goals
    /// on every camera (worst cell 1.048-1.077x the best fixed pair), where the default rule,
    /// with 1-6% less error on average, missed three; at ultrafast it did worse
    /// (results/half-720p/causal-rule.md). In real time on a 2-core machine, rounds of 2-4
    /// pairs, the two were within 1% (live-rule*.md there). Not with the rule's own options.
    #[arg(long, requires = "reprobe", value_parser = ["causal"], conflicts_with_all = RULE_OPTIONS)]
    reprobe_rule: Option<String>,
    /// With --reprobe: write what each round measured to this CSV file, a row per pair: the
    /// round, the keyframe where it was taken, the pair, its error and bitrate over that round
    /// alone, its error over the rounds so far (older ones weighing less), the pair carrying the
    /// stream from that keyframe, whether it moved there, the frames the pair's error is over
    /// and whether they were measured from the stream's own packets (--reprobe-from-stream)
    /// rather than by an encode of the round's, and what the move rule compares (the error over
    /// the rounds so far, or with --reprobe-risk the risk score).
    #[arg(long, requires = "reprobe", value_name = "FILE")]
    reprobe_log: Option<PathBuf>,
    /// With a sequence that has colour (`depthcast render --colour`): the depth's share of
    /// `--bitrate`; the colour gets the rest, as a second video track of one RGB-D stream.
    #[arg(long, default_value_t = RgbdSettings::DEFAULT_DEPTH_SHARE)]
    depth_share: f32,
    /// Send only the depth of a sequence that has colour.
    #[arg(long)]
    depth_only: bool,
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

/// The fixed configuration the options ask for.
fn fixed_config(a: &Args, bits: BitDepth, mode: RangeMode) -> anyhow::Result<PackingConfig> {
    let mut c = match &a.scheme {
        Some(s) => {
            let scheme =
                Scheme::from_name(s).with_context(|| format!("--scheme {s} is not one of luma, vbp, triangle, hue"))?;
            let (lo, hi) = PackParams::precision_range(scheme, bits);
            let p = a.precision.unwrap_or((lo + hi) / 2);
            match scheme {
                Scheme::LumaOnly => PackingConfig::luma(bits),
                Scheme::Vbp => PackingConfig::vbp(p, VbpLayout::Chroma),
                Scheme::Triangle => PackingConfig::triangle(p, 0, bits),
                Scheme::Hue => PackingConfig::hue(),
            }
        }
        None => {
            let mut c: PackingConfig = a.config.parse()?;
            if a.mode.is_none() && a.config == DEFAULT_CONFIG {
                c.mode = mode;
            }
            c
        }
    };
    if let Some(p) = a.precision {
        c.precision = p;
        if c.scheme == Scheme::Triangle {
            c.period = PackingConfig::triangle(p, 0, bits).period;
        }
    }
    if let Some(l) = &a.layout {
        c.layout = VbpLayout::from_name(l).with_context(|| format!("--layout {l} is not chroma or luma"))?;
    }
    if a.mode.is_some() || a.scheme.is_some() {
        c.mode = mode;
    }
    if let Some(q) = a.roi {
        anyhow::ensure!((-1.0..=1.0).contains(&q), "--roi {q} is outside -1..=1");
        c.roi_high = (q != 0.0).then_some(q);
    }
    anyhow::ensure!(
        c.roi_high.is_none() || (c.scheme, c.layout) == (Scheme::Vbp, VbpLayout::Luma),
        "--roi needs the VBP luma layout (the high plane is the top half of the frame), not {c}"
    );
    if c.scheme == Scheme::LumaOnly {
        c.precision = bits.bits();
    }
    Ok(c)
}

pub(crate) fn run(a: Args) -> anyhow::Result<()> {
    // `--gop`, or its default: 30 frames with `--reprobe` (its rules' GOP), 60 without.
    let gop = a.gop.unwrap_or(if a.reprobe { 30 } else { 60 });
    let input = match (&a.input, a.synthetic) {
        (Some(p), _) => p.clone(),
        (None, Some(n)) => synthetic(n)?,
        (None, None) => bail!("give --input DIR or --synthetic N"),
    };
    let seq = Sequence::open(&input)?;
    if seq.is_empty() {
        bail!("{} has no frames", input.display());
    }
    let mut codec =
        VideoCodec::from_name(&a.codec).with_context(|| format!("--codec {} is not h264, hevc or av1", a.codec))?;
    let mut bits = BitDepth::from_bits(a.bits).with_context(|| format!("--bits {} is not 8 or 10", a.bits))?;
    let mode_name = a.mode.clone().unwrap_or_else(|| seq.meta.mode.clone());
    let fixed_format = a.auto && a.receivers.is_none();
    anyhow::ensure!(
        !fixed_format || bits == BitDepth::Eight,
        "--auto: the committed model chooses for 8-bit planes (--probe --receivers measures 10-bit formats too)"
    );
    anyhow::ensure!(
        !fixed_format || codec != VideoCodec::Av1,
        "--auto: the committed model chooses for H.264 and HEVC (its candidates use regions of interest, \
         which AV1 cannot carry here); give AV1 a --config"
    );
    let mode =
        RangeMode::from_name(&mode_name).with_context(|| format!("mode {mode_name} is not linear or disparity"))?;
    let total_bitrate = a.kbps.map_or(a.bitrate, |k| k * 1000);
    let m = &seq.meta;
    let fps = m.fps.max(1.0);
    let rgbd = seq.has_colour() && !a.depth_only;
    if rgbd {
        anyhow::ensure!(
            (0.01..=0.99).contains(&a.depth_share),
            "--depth-share {} is outside 0.01..=0.99",
            a.depth_share
        );
        anyhow::ensure!(
            !(a.vbr || a.lossless || a.intra_refresh) && a.preset.as_deref().is_none_or(|p| p == "ultrafast"),
            "--vbr, --lossless, --intra-refresh and --preset are for depth-only streams (add --depth-only); \
             an RGB-D stream is CBR with the ultrafast preset on both tracks"
        );
    }
    // `--preset` unset: `auto` where the stream can reopen its encoder (depth-only, MPEG-TS or
    // RTP; a hardware back-end turns it off below), else `ultrafast`.
    let reopens = !rgbd && Container::for_url(&a.url).is_ok_and(|c| !c.needs_global_header());
    let preset = a.preset.clone().unwrap_or_else(|| if reopens { "auto" } else { "ultrafast" }.to_string());
    let mut auto_preset = preset == "auto";
    if auto_preset {
        anyhow::ensure!(
            a.budget_ms.is_finite() && a.budget_ms > 0.0,
            "--budget-ms {}: a time per frame above 0 ms",
            a.budget_ms
        );
        let container = Container::for_url(&a.url)?;
        anyhow::ensure!(
            !container.needs_global_header(),
            "--preset auto: {} stores the codec's headers once, so the stream cannot reopen its encoder at a \
             faster preset; send MPEG-TS or RTP (.ts, udp://, srt://, tcp://, rtp://)",
            container.ffmpeg_name()
        );
    }
    // The depth's bitrate: all of it, or its share of an RGB-D stream's.
    let bitrate = if rgbd { (total_bitrate as f64 * f64::from(a.depth_share)).round() as u64 } else { total_bitrate };

    let mut s = EncoderSettings::new(codec, m.width, m.height);
    s.bit_depth = bits;
    s.fps = ((fps * 1000.0).round() as u32, 1000);
    s.bitrate = bitrate;
    s.force_software = a.software;
    s.preset = if auto_preset { AUTO_PRESETS[0].to_string() } else { preset.clone() };
    s.refresh = Refresh::Gop(gop);
    // The re-probe's rounds start at the stream's keyframes, a GOP apart: no extra keyframes at
    // scene cuts (presets other than ultrafast place them), in the stream or in the rounds.
    s.scene_cuts = !a.reprobe;

    let mut auto = None;
    let mut across_formats = None;
    let mut reprobe = None;
    let first = if let Some(receivers) = a.receivers.as_deref() {
        // The start-up probe across formats: codec and bit depth are chosen with the packing.
        let receivers = Receiver::parse_list(receivers)?;
        let container = Container::for_url(&a.url)?;
        let mut candidates = Vec::new();
        for f in Format::ALL {
            match container.carries(f.codec) {
                Ok(()) => candidates.push(f),
                Err(why) => eprintln!("formats: not {f}: {why}"),
            }
        }
        let mut probe = s.clone();
        probe.threads = 0;
        let formats = stream_formats(&candidates, &receivers, &probe)?;
        let ids: Vec<String> = formats.iter().map(|f| f.id()).collect();
        eprintln!("formats: {} (what this sender encodes and every receiver decodes)", ids.join(", "));
        let n = depthcast::precision_net::Probe::FRAMES.min(seq.len());
        let frames = (0..n).map(|i| seq.read_frame(i)).collect::<Result<Vec<DepthImage>, _>>()?;
        let settings = AutoSettings { codec, bits, bitrate, fps, gop };
        // Half-size maps only when every receiver rebuilds them.
        let set =
            if receivers.iter().all(Receiver::upsamples_half) { ProbeSet::SchemesAndHalf } else { ProbeSet::Schemes };
        let report = probe_formats_encoded(&frames, &formats, &settings, set, m.near, m.far, &probe)?;
        for m in &report.measured {
            let over = if m.holds_rate() { "" } else { " (over the bitrate: cannot win)" };
            eprintln!(
                "probe: {:<8} {:<34} MAE {:>10.3} mm over {n} frames, {:.2}x the bitrate{over}",
                m.format.id(),
                m.config.id(),
                1e3 * m.mae,
                m.rate
            );
        }
        eprintln!("probe: {} {} wins ({:.2} s)", report.format, report.winner, report.wall.as_secs_f64());
        (codec, bits) = (report.format.codec, report.format.bits);
        s.codec = codec;
        s.bit_depth = bits;
        s.regions_of_interest = report.winner.high_plane_qoffset().is_some();
        across_formats = Some(report.format);
        if a.reprobe {
            anyhow::ensure!(!rgbd, "--reprobe is for depth-only streams (add --depth-only)");
            anyhow::ensure!(
                !container.needs_global_header(),
                "--reprobe: {} stores the codec's headers once, so the stream cannot change bit depth or \
                 frame size; send MPEG-TS or RTP (.ts, udp://, srt://, tcp://, rtp://)",
                container.ffmpeg_name()
            );
            let every = depthcast_stream::ReprobeSettings {
                window: gop.max(1) as usize,
                threads: a.reprobe_threads,
                memory: a.reprobe_memory,
                // Paced, a keyframe waits up to a frame for its round; --fast sends what a
                // sender whose rounds keep up would.
                deadline: (!a.fast).then(|| Duration::from_secs_f64(1.0 / fps.max(1.0))),
                pairs: a.reprobe_pairs.unwrap_or(if a.fast { RoundPairs::Every } else { RoundPairs::Fit }),
                margin: a.reprobe_margin,
                confirm: a.reprobe_confirm,
                guarded: a.reprobe_guarded,
                long_memory: a.reprobe_long_memory,
                risk: a.reprobe_risk.0,
                // A round's decoder of the stream starts at the keyframe where the round does.
                from_stream: a.reprobe_from_stream && !a.intra_refresh,
                first_round: a.reprobe_first,
                ..Default::default()
            };
            let every = if a.reprobe_rule.is_some() { every.with_causal_rule() } else { every };
            let size = (m.width, m.height);
            reprobe = Some(depthcast_stream::Reprobe::new(&report, &settings, probe, size, (m.near, m.far), every));
        }
        report.winner
    } else if a.auto {
        let settings = AutoSettings { codec, bits, bitrate, fps, gop };
        let mut chooser = AutoPacking::new(&settings, m.width, m.height)?;
        if a.probe {
            let n = depthcast::precision_net::Probe::FRAMES.min(seq.len());
            let frames = (0..n).map(|i| seq.read_frame(i)).collect::<Result<Vec<DepthImage>, _>>()?;
            // The probe encodes as the sweep does (the encoder's own rate control defaults,
            // automatic threads), each shortlisted configuration over the first frames.
            let mut probe = s.clone();
            probe.threads = 0;
            let report = chooser.probe(&frames, m.near, m.far, &probe)?;
            for (c, e) in &report.measured {
                eprintln!("probe: {:<34} MAE {:>10.3} mm over {n} frames", c.id(), 1e3 * e);
            }
            eprintln!("probe: {} wins ({:.2} s)", report.winner, report.wall.as_secs_f64());
        }
        let first = chooser.choose(&seq.read_frame(0)?.view())?;
        s.regions_of_interest = chooser.needs_regions_of_interest(&first);
        auto = Some(chooser);
        first
    } else {
        let c = fixed_config(&a, bits, mode)?;
        anyhow::ensure!(
            codec.carries_regions_of_interest() || c.roi_high.is_none(),
            "--codec av1: {c} has a region of interest, which this FFmpeg's libsvtav1 ignores; give \
             AV1 a configuration without one (--roi 0, or e.g. --config vbp-luma-P18-lin-a255 with --bits 10)"
        );
        c.params(bits, m.width, m.height, m.near, m.far, 0).validate()?;
        s.regions_of_interest = c.high_plane_qoffset().is_some();
        c
    };
    s.rate_control = if a.lossless {
        RateControl::Lossless
    } else if a.vbr {
        RateControl::Vbr { max_bitrate: 2 * bitrate }
    } else {
        RateControl::Cbr
    };
    s.refresh = if a.intra_refresh { Refresh::IntraRefresh(gop) } else { Refresh::Gop(gop) };
    let mut stream_settings = s.clone();
    let mut enc = if rgbd {
        let mut r = RgbdSettings::new(codec, total_bitrate);
        r.depth_share = a.depth_share;
        r.depth_bit_depth = bits;
        r.fps = s.fps;
        r.gop = gop;
        r.regions_of_interest = s.regions_of_interest;
        r.force_software = a.software;
        StreamEncoder::Rgbd(RgbdEncoder::new(&r, &first, m.width, m.height, Some(&a.url))?)
    } else {
        StreamEncoder::Depth(DepthEncoder::new(s, &first, m.width, m.height, Some(&a.url))?)
    };
    let describe = match (&auto, across_formats) {
        (_, Some(f)) => format!("the start-up probe's choice across formats: {f}, {first}"),
        (Some(_), None) => {
            format!("precision-net{} (first frame {first})", if a.probe { " with the start-up probe" } else { "" })
        }
        (None, None) => first.to_string(),
    };
    eprintln!(
        "{} frames {}x{} -> {} via {} ({}), {describe}, {} kbit/s",
        seq.len(),
        m.width,
        m.height,
        depthcast_codec::redact_url(&a.url),
        enc.depth_encoder().encoder_name(),
        enc.depth_encoder().backend().name(),
        bitrate / 1000
    );
    if auto_preset && enc.depth_encoder().backend() != depthcast_codec::Backend::Software {
        // A hardware encoder runs its own fixed preset (`depthcast_codec`'s options): nothing to
        // step down.
        auto_preset = false;
        eprintln!("preset: auto is for software encoders; {} keeps its own", enc.depth_encoder().encoder_name());
    }
    if let StreamEncoder::Depth(e) = &enc
        && let Some(sdp) =
            e.transport().filter(|t| t.container() == depthcast_codec::Container::Rtp).and_then(|t| t.sdp())
    {
        // What an RTP receiver needs (`ffplay -protocol_whitelist file,udp,rtp x.sdp`); a Janus
        // streaming mountpoint needs only the port, `codec = "h264"` and the fmtp line.
        eprintln!("RTP session description (SDP):\n{}", sdp.trim_end());
    }
    if rgbd {
        eprintln!(
            "  with colour: an RGB-D stream, {} kbit/s in all ({:.0}% depth)",
            total_bitrate / 1000,
            100.0 * a.depth_share
        );
    }
    let total = seq.len() as u64 * u64::from(a.loops);
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} frames {per_sec} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut round_log = match (&a.reprobe_log, &reprobe) {
        (Some(path), Some(_)) => Some(RoundLog::create(path)?),
        _ => None,
    };
    // Paced, the sender may be this far behind its schedule at a keyframe: the pre-roll of a move
    // costs about that, and a sender with a core to spare catches up within a GOP.
    let max_behind = Duration::from_secs_f64(MAX_BEHIND_FRAMES / fps);
    let mut guard = auto_preset.then(|| PresetGuard::new(Duration::from_secs_f64(a.budget_ms / 1e3), max_behind));
    if let Some(g) = &guard {
        eprintln!(
            "preset: {} until a GOP's encodes take over {:.1} ms per frame on average{}, then {}",
            g.preset(),
            a.budget_ms,
            if a.fast {
                String::new()
            } else {
                format!(" or a keyframe is over {:.0} ms late", max_behind.as_secs_f64() * 1e3)
            },
            AUTO_PRESETS[1..].join(", then ")
        );
    }
    // `--preset auto` without `--reprobe`: the last frames sent, to pre-roll an encoder reopened
    // at a faster preset (the re-probe keeps its own).
    let preroll_frames = depthcast_stream::ReprobeSettings::default().preroll;
    let mut recent = std::collections::VecDeque::new();
    let start = Instant::now();
    let mut n = 0u64;
    let mut current = first;
    let mut last_config = first;
    let mut switches = 0;
    // Frames are read on a thread of their own, a few ahead: an f32 EXR frame at 720p takes
    // several ms to decode, time a paced sender has while it waits or encodes.
    let mut frames = seq.read_ahead(a.loops, READ_AHEAD, rgbd);
    for frame in frames.by_ref() {
        let ReadFrame { index: i, depth, colour, .. } = frame?;
        // When this frame is due, paced.
        let due = start + Duration::from_secs_f64(n as f64 / fps);
        if let StreamEncoder::Depth(e) = &mut enc
            && n > 0
            && n.is_multiple_of(u64::from(gop.max(1)))
        {
            let size = (m.width, m.height);
            // The preset first, so that a move of the re-probe at this keyframe reopens at it.
            let behind = if a.fast { Duration::ZERO } else { Instant::now().saturating_duration_since(due) };
            let step = guard.as_mut().and_then(|g| g.at_keyframe(behind));
            if let Some(st) = step {
                stream_settings.preset = st.preset.to_string();
                if let Some(rp) = reprobe.as_mut() {
                    rp.set_preset(st.preset);
                }
            }
            let mut moved = false;
            if let Some(rp) = reprobe.as_mut() {
                let rounds = rp.rounds();
                (current, moved) = keyframe_switch(rp, e, &stream_settings, size, (m.near, m.far), n, current, &bar)?;
                switches += usize::from(moved);
                if let Some(log) = round_log.as_mut()
                    && rp.rounds() > rounds
                {
                    log.round(rp, n, moved)?;
                }
            }
            if let Some(st) = step {
                // Without a move the pair is the last frame's (the re-probe's `current`).
                if !moved {
                    let preroll: Vec<DepthImage> =
                        reprobe.as_ref().map_or_else(|| recent.iter().cloned().collect(), |rp| rp.preroll());
                    let mut settings = e.encoder().settings().clone();
                    settings.preset = st.preset.to_string();
                    e.reopen(settings, &last_config, size, &preroll, (m.near, m.far), n as i64)?;
                }
                recent.clear();
                let why = if st.over_budget {
                    format!("over the {:.1} ms budget", a.budget_ms)
                } else {
                    format!("and the keyframe {:.0} ms late", st.behind.as_secs_f64() * 1e3)
                };
                bar.suspend(|| {
                    eprintln!(
                        "preset: frames {}..{n} took {:.1} ms per frame on average, {why}: {} from frame {n}",
                        n - u64::from(st.frames),
                        st.mean.as_secs_f64() * 1e3,
                        st.preset
                    )
                });
            }
        }
        let config = match auto.as_mut() {
            Some(chooser) if n > 0 => chooser.choose(&depth.view())?,
            _ => current,
        };
        last_config = config;
        if !a.fast
            && let Some(wait) = due.checked_duration_since(Instant::now())
        {
            std::thread::sleep(wait);
        }
        let meta = FrameMeta { frame_index: n as u32, sent_unix_us: Some(unix_us()), ..FrameMeta::default() };
        let mut packets = Vec::new();
        match &mut enc {
            StreamEncoder::Depth(e) => {
                let t = Instant::now();
                packets = e.encode(&depth.view(), &config, m.near, m.far, &meta)?.packets;
                if let Some(g) = guard.as_mut() {
                    g.encoded(t.elapsed());
                }
            }
            StreamEncoder::Rgbd(e) => {
                let (colour, camera) = colour.with_context(|| format!("frame {i} has no colour"))?;
                let camera = camera.with_context(|| format!("frame {i} has no camera"))?;
                e.encode(&colour, &depth.view(), &config, m.near, m.far, &meta, &camera)?;
            }
        }
        if let Some(rp) = reprobe.as_mut() {
            rp.push_sent(depth, packets)?;
        } else if guard.as_ref().is_some_and(|g| !g.at_last()) {
            recent.push_back(depth);
            if recent.len() > preroll_frames {
                recent.pop_front();
            }
        }
        n += 1;
        bar.inc(1);
        let secs = n as f64 / fps;
        bar.set_message(format!("{:.0} kbit/s", enc.bytes() as f64 * 8.0 / secs / 1000.0));
    }
    let sent_bytes = enc.bytes();
    // The preset the encoder ran at last (`--preset auto` reopens it at a faster one).
    let last_preset = enc.depth_encoder().settings().preset.clone();
    let sent_bytes = sent_bytes + enc.finish()?.iter().map(|p| p.data.len() as u64).sum::<u64>();
    bar.finish();
    if let Some(chooser) = &auto {
        for (c, frames) in chooser.summary() {
            eprintln!("precision-net: {c} for {frames} frames");
        }
    }
    if let Some(rp) = &reprobe {
        let (f, c) = rp.current();
        let mut cost =
            rp.cost().map_or(String::new(), |c| format!(", {:.1} ms per pair and frame", c.as_secs_f64() * 1e3));
        if let Some(c) = rp.stream_cost() {
            cost += &format!(", the stream's own pair {:.1} ms per frame", c.as_secs_f64() * 1e3);
        }
        eprintln!(
            "re-probe: {} rounds measured (the last of {} pairs{cost}), {switches} switches; the stream ended with {f} {c}",
            rp.rounds(),
            rp.round_size()
        );
    }
    if let Some(mean) = guard.as_ref().and_then(PresetGuard::mean) {
        eprintln!(
            "preset: the stream ended at {last_preset}; its encodes took {:.1} ms per frame on average (budget {:.1} ms)",
            mean.as_secs_f64() * 1e3,
            a.budget_ms
        );
    }
    if let Some(read) = frames.mean_read() {
        eprintln!(
            "frames read ahead on a thread of their own, {:.1} ms each; the sender waited {:.2} s for them in all",
            read.as_secs_f64() * 1e3,
            frames.waited().as_secs_f64()
        );
    }
    let secs = n as f64 / fps;
    eprintln!(
        "sent {n} frames, {} bytes, {:.0} kbit/s of {} kbit/s target, in {:.2} s",
        sent_bytes,
        sent_bytes as f64 * 8.0 / secs / 1000.0,
        total_bitrate / 1000,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `send --reprobe-log`: a CSV row per pair of each round that ended.
struct RoundLog {
    out: std::io::BufWriter<std::fs::File>,
}

impl RoundLog {
    fn create(path: &std::path::Path) -> anyhow::Result<RoundLog> {
        let file = std::fs::File::create(path).with_context(|| format!("--reprobe-log {}", path.display()))?;
        let mut out = std::io::BufWriter::new(file);
        writeln!(
            out,
            "round,frame,format,config,round_mae_mm,round_rate,tally_mae_mm,stream_format,stream_config,moved,\
             frames,from_stream,score_mm"
        )?;
        Ok(RoundLog { out })
    }

    /// The round `rp` took at keyframe `frame`, after which the stream `moved` (or not).
    fn round(&mut self, rp: &depthcast_stream::Reprobe, frame: u64, moved: bool) -> anyhow::Result<()> {
        let tally = rp.measured();
        let scores = rp.scores();
        let (stream_format, stream_config) = rp.current();
        for (p, how) in rp.last_round().iter().zip(rp.last_round_frames()) {
            let k = tally.iter().position(|t| (t.format, t.config) == (p.format, p.config));
            let (so_far, score) = k.map_or((f64::NAN, f64::NAN), |k| (tally[k].mae, scores[k]));
            writeln!(
                self.out,
                "{},{frame},{},{},{:.4},{:.3},{:.4},{},{},{},{},{},{:.4}",
                rp.rounds(),
                p.format,
                p.config,
                1e3 * p.mae,
                p.rate,
                1e3 * so_far,
                stream_format,
                stream_config,
                u8::from(moved),
                how.frames,
                u8::from(how.from_stream),
                1e3 * score
            )?;
        }
        self.out.flush()?;
        Ok(())
    }
}

/// At keyframe `n` of a depth-only stream with `--reprobe`: moves to the re-probe's best pair when
/// it is another one, reopening the encoder on its transport (pre-rolled over the last frames
/// sent; see [`depthcast_stream::reprobe`] for why every move reopens). A failed round is
/// reported and the stream keeps its pair. Returns the configuration from this frame on and
/// whether the stream moved.
#[allow(clippy::too_many_arguments)]
fn keyframe_switch(
    rp: &mut depthcast_stream::Reprobe,
    enc: &mut DepthEncoder,
    base: &EncoderSettings,
    size: (u32, u32),
    range: (f32, f32),
    n: u64,
    current: PackingConfig,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<(PackingConfig, bool)> {
    let before = enc.encoder().settings().clone();
    let key = match rp.at_keyframe() {
        Ok(key) => key,
        Err(e) => {
            bar.suspend(|| eprintln!("re-probe: {e}; the stream keeps {current}"));
            return Ok((current, false));
        }
    };
    for f in &key.failed {
        bar.suspend(|| eprintln!("re-probe: {} {} failed, measured no more: {}", f.format, f.config, f.error));
    }
    let Some(sw) = key.switch else { return Ok((current, false)) };
    let mut s = base.clone();
    (s.codec, s.bit_depth) = (sw.format.codec, sw.format.bits);
    s.regions_of_interest = sw.config.high_plane_qoffset().is_some();
    let preroll = rp.preroll();
    enc.reopen(s, &sw.config, size, &preroll, range, n as i64)?;
    // Printed also when the bar is hidden (stderr not a terminal), unlike `bar.println`.
    bar.suspend(|| {
        eprintln!(
            "re-probe at frame {n} (round {}, {} pairs): {}-{} {current} {:.3} mm -> {} {} {:.3} mm over the rounds (older ones weighing less){}",
            rp.rounds(),
            rp.round_size(),
            before.codec.name(),
            before.bit_depth.bits(),
            1e3 * sw.current_mae,
            sw.format,
            sw.config,
            1e3 * sw.mae,
            if sw.format_changes { " (new bit depth or frame size)" } else { "" }
        )
    });
    Ok((sw.config, true))
}

/// `--reprobe-pairs`: `all`, `fit` or a number of encodes (at least 1; a shortlist measures at
/// least 2 pairs).
fn parse_round_pairs(s: &str) -> Result<RoundPairs, String> {
    match s {
        "all" => Ok(RoundPairs::Every),
        "fit" => Ok(RoundPairs::Fit),
        n => match n.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(RoundPairs::Shortlist(n)),
            _ => Err(format!("{s}: `all`, `fit` or a number of encodes from 1 up")),
        },
    }
}

/// `--reprobe-margin`: a share in 0..1.
fn parse_margin(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(m) if (0.0..1.0).contains(&m) => Ok(m),
        _ => Err(format!("{s}: a share from 0 up to (not including) 1")),
    }
}

/// `--reprobe-memory`: a weight in 0..=1.
pub(super) fn parse_memory(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(m) if (0.0..=1.0).contains(&m) => Ok(m),
        _ => Err(format!("{s}: a weight from 0 to 1")),
    }
}

/// The re-probe's risk score (`--reprobe-risk`): `None` ranks the pairs by mean error alone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct RiskRule(pub Option<depthcast_stream::Risk>);

/// The options of the re-probe's rule, which `--reprobe-rule` sets as a whole.
pub(super) const RULE_OPTIONS: [&str; 7] = [
    "reprobe_memory",
    "reprobe_margin",
    "reprobe_confirm",
    "reprobe_guarded",
    "reprobe_long_memory",
    "reprobe_risk",
    "reprobe_first",
];

/// `settled` or `cold` ([`depthcast_stream::FirstRound`]).
pub(super) fn parse_first_round(s: &str) -> Result<depthcast_stream::FirstRound, String> {
    match s {
        "settled" => Ok(depthcast_stream::FirstRound::Settled),
        "cold" => Ok(depthcast_stream::FirstRound::Cold),
        _ => Err(format!("{s}: `settled` (pre-rolled over the first GOP's frames) or `cold` (from the first frame)")),
    }
}

/// `RHO,KEEP` (each from 0 to 1), `chosen` for [`depthcast_stream::Risk::CHOSEN`], or `off`.
pub(super) fn parse_risk(s: &str) -> Result<RiskRule, String> {
    match s {
        "chosen" => return Ok(RiskRule(Some(depthcast_stream::Risk::CHOSEN))),
        "off" => return Ok(RiskRule(None)),
        _ => {}
    }
    let weights: Vec<Result<f64, String>> = s.split(',').map(parse_memory).collect();
    match weights.as_slice() {
        [Ok(rho), Ok(keep)] => Ok(RiskRule(Some(depthcast_stream::Risk { rho: *rho, keep: *keep }))),
        _ => Err(format!("{s}: RHO,KEEP (each a weight from 0 to 1, as 0.25,0.8), `chosen` or `off`")),
    }
}

#[cfg(test)]
mod tests {
    use clap::{Args as _, FromArgMatches as _};

    use super::Args;

    /// `send` parsed from `extra` after a re-probing stream's arguments.
    fn parse(extra: &[&str]) -> Result<Args, clap::Error> {
        let base = ["send", "--synthetic", "30", "--url", "out.ts", "--auto", "--probe", "--receivers", "native"];
        let m = Args::augment_args(clap::Command::new("send")).try_get_matches_from(base.iter().chain(extra))?;
        Args::from_arg_matches(&m)
    }

    #[test]
    fn the_causal_rule_is_set_whole_and_the_first_round_alone() {
        use depthcast_stream::FirstRound;
        let a = parse(&["--reprobe", "--reprobe-rule", "causal"]).unwrap();
        assert_eq!(a.reprobe_rule.as_deref(), Some("causal"));
        // The other options keep their defaults, which the rule then overrides.
        assert_eq!(a.reprobe_first, FirstRound::Settled);
        assert_eq!(parse(&["--reprobe", "--reprobe-first", "cold"]).unwrap().reprobe_first, FirstRound::Cold);
        for clash in [["--reprobe-margin", "0.1"], ["--reprobe-risk", "off"], ["--reprobe-first", "cold"]] {
            let e = parse(&["--reprobe", "--reprobe-rule", "causal", clash[0], clash[1]]).unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict, "{clash:?}");
        }
        for bad in [
            &["--reprobe", "--reprobe-rule", "best"][..],
            &["--reprobe", "--reprobe-first", "warm"],
            &["--reprobe-rule", "causal"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
