//! `depthcast recv`: receives a stream from a URL with [`RgbdReceiver`] (decode, in-band
//! parameters, unpack; an RGB-D stream's colour paired with its depth), writes a depth sequence
//! (see [`depthcast::sequence`]; with colour, each frame's colour planes and camera in it and a
//! viewable `NNNNNN.colour.png` beside it) and per-frame stats.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use depthcast::sequence::{DepthEncoding, Sequence, SequenceWriter};
use depthcast_codec::redact_url;
use depthcast_packing::{Metrics, RgbImage};
use depthcast_stream::{FailureKind, ReceiverConfig, RgbdConfig, RgbdFrame, RgbdReceiver, StreamError};

use super::exit::NoFrames;

/// Options of `depthcast recv`.
#[derive(clap::Args, Debug)]
#[command(after_help = super::exit::HELP)]
pub(crate) struct Args {
    /// Source: a `.mkv`/`.ts` file, `udp://127.0.0.1:5000`, `tcp://127.0.0.1:5000` (with
    /// `--listen`), `srt://...`, `rtmp://host/app/stream`.
    #[arg(long)]
    url: String,
    /// Output depth sequence folder (omit to only print stats). With an RGB-D stream, each frame's
    /// colour goes into it too (exact 4:2:0 planes and the camera, for `rgbd-sweep`-style
    /// measurements) and beside it as a viewable `NNNNNN.colour.png` (RGB).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Write EXR f32 frames instead of 16-bit PNG millimetres.
    #[arg(long)]
    exr: bool,
    /// The source sequence, to report the error of each frame (matched by frame index).
    #[arg(long)]
    source: Option<PathBuf>,
    /// Per-frame stats CSV (default: stdout).
    #[arg(long)]
    stats: Option<PathBuf>,
    /// Stop after this many frames.
    #[arg(long)]
    frames: Option<u64>,
    /// Before the first frame: seconds without a valid frame after which the stream counts as
    /// absent (garbage and stray data do not count: the receiver keeps waiting for a valid
    /// stream). After frames: seconds without any data after which the stream counts as over (a
    /// live stream whose frames are all damaged for a while, lost keyframes, goes on).
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// For tcp:// URLs: listen for the sender.
    #[arg(long)]
    listen: bool,
}

/// Writes the frames as they come: stats rows, errors against the source, the depth sequence.
struct Output {
    stats: Box<dyn Write>,
    source: Option<Sequence>,
    writer: Option<SequenceWriter>,
}

impl Output {
    fn frame(&mut self, a: &Args, f: &RgbdFrame) -> anyhow::Result<()> {
        if let (Some(dir), Some(colour), Some(i)) = (&a.output, &f.colour, f.frame_index) {
            std::fs::create_dir_all(dir)?;
            let rgb = RgbImage::from_yuv420(colour, colour.width, colour.height);
            let path = dir.join(format!("{i:06}.colour.png"));
            image::save_buffer(&path, &rgb.data, rgb.width, rgb.height, image::ColorType::Rgb8)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        // A frame whose depth was lost (colour only) has no row and no sequence frame.
        let (Some(p), Some(depth)) = (&f.params, &f.depth) else { return Ok(()) };
        let latency = f.latency_ms().map(|l| format!("{l:.1}")).unwrap_or_default();
        let (mut mae, mut max, mut flips) = (String::new(), String::new(), String::new());
        if let Some(src) = &self.source {
            let i = p.frame_index as usize % src.len().max(1);
            let truth = src.read_frame(i)?;
            if (truth.width, truth.height) == (depth.width, depth.height) {
                let m = Metrics::compute(&truth.view(), &depth.view(), p.near, p.far);
                mae = format!("{:.3}", m.mae * 1e3);
                max = format!("{:.3}", m.max * 1e3);
                flips = (m.valid_to_invalid + m.invalid_to_valid).to_string();
            }
        }
        writeln!(
            self.stats,
            "{},{},{},{},{},{mae},{max},{flips},{latency},{},ok",
            p.frame_index,
            f.bytes.1,
            p.scheme.name(),
            p.precision,
            p.bit_depth.bits(),
            f.colour.as_ref().map_or(String::new(), |_| f.bytes.0.to_string()),
        )?;
        if let Some(dir) = &a.output {
            if self.writer.is_none() {
                let enc = if a.exr { DepthEncoding::ExrF32 } else { DepthEncoding::Png16Mm };
                let mut w = SequenceWriter::create(dir, p.width, p.height, 30.0, enc)?;
                w.meta_mut().mode = p.mode.name().into();
                w.meta_mut().source = Some(redact_url(&a.url));
                self.writer = Some(w);
            }
            if let Some(w) = self.writer.as_mut() {
                // The colour and camera go into the sequence when both came with the depth.
                let camera = f.camera.filter(|c| (c.intrinsics.width, c.intrinsics.height) == (p.width, p.height));
                let colour =
                    f.colour.as_ref().filter(|c| (c.width, c.height) == (p.width, p.height) && camera.is_some());
                w.push_rgbd(depth, None, colour, camera.filter(|_| colour.is_some()).as_ref())?;
            }
        }
        Ok(())
    }
}

pub(crate) fn run(a: Args) -> anyhow::Result<()> {
    let timeout = Duration::from_secs_f64(a.timeout.max(0.1));
    let config = ReceiverConfig {
        listen: a.listen,
        poll: timeout.min(Duration::from_secs(1)),
        timeout,
        ..ReceiverConfig::new(a.url.clone())
    };
    let mut rx = RgbdReceiver::new(RgbdConfig { receiver: config, ..RgbdConfig::new(a.url.clone()) });
    let mut out = Output {
        stats: match &a.stats {
            Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p)?)),
            None => Box::new(std::io::stdout().lock()),
        },
        source: a.source.as_ref().map(Sequence::open).transpose()?,
        writer: None,
    };
    writeln!(
        out.stats,
        "frame,bytes,scheme,precision,bits,mae_mm,max_mm,invalid_flips,latency_ms,colour_bytes,status"
    )?;
    let mut frames = 0u64;
    // Bytes read when the last frame (or the last wait after one) ended.
    let mut bytes_mark = 0;
    while a.frames.is_none_or(|n| frames < n) {
        match rx.recv() {
            Ok(Some(f)) => {
                out.frame(&a, &f)?;
                frames += 1;
                bytes_mark = rx.receiver_stats().bytes;
            }
            Ok(None) => break,
            // After frames: data without a valid frame (damaged keyframes) is a live stream
            // going through loss; no data for the timeout is a stream that stopped.
            Err(StreamError::Timeout { .. }) if frames > 0 => {
                let bytes = rx.receiver_stats().bytes;
                if bytes == bytes_mark {
                    break;
                }
                eprintln!("no valid frame for {:.1} s, but data keeps arriving: still receiving", a.timeout);
                bytes_mark = bytes;
            }
            Err(e) => return Err(e).with_context(|| format!("receiving {}", redact_url(&a.url))),
        }
    }
    out.stats.flush()?;
    if let Some(w) = out.writer {
        w.finish()?;
    }
    let pairs = rx.stats().clone();
    let s = rx.receiver_stats();
    if pairs.colour_frames > 0 {
        eprintln!(
            "RGB-D: {} paired, {} colour only, {} depth only ({} released by the pairing timeout), pairing wait {:.2} ms mean",
            pairs.paired,
            pairs.colour_only,
            pairs.depth_only,
            pairs.pair_timeouts,
            pairs.pair_wait_ms_mean()
        );
        if pairs.depth_guided > 0 {
            eprintln!(
                "RGB-D: {} half-size depth maps (of {} depth maps) rebuilt with their colour as the guide",
                pairs.depth_guided, pairs.depth_frames
            );
        }
    }
    eprintln!(
        "received {frames} frames ({} missing by frame index), {} dropped for their in-band parameters \
         ({} missing, {} corrupt, {} disagreeing with the frame), {} decode errors, {} connection(s), \
         {} open(s) on data that was not a stream",
        s.gaps,
        s.invalid_params,
        s.params_missing,
        s.params_corrupt,
        s.params_mismatched,
        s.decode_errors,
        s.connections,
        s.rejected_opens
    );
    if frames == 0 {
        // The stream ended (a file) without one valid frame.
        let last = s.last_error.as_ref().map(|e| format!(" (last: {e})")).unwrap_or_default();
        return Err(NoFrames {
            kind: if s.data_seen() { FailureKind::BadStream } else { FailureKind::NoStream },
            message: format!("{} ended without a valid depth frame{last}", redact_url(&a.url)),
        }
        .into());
    }
    Ok(())
}
