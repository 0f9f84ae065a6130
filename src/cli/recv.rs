//! `depthcast recv`: receives a stream from a URL, decodes and unpacks each frame with its in-band
//! parameters, writes a depth sequence (see [`crate::sequence`]) and per-frame stats.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use depthcast::sequence::{DepthEncoding, Sequence, SequenceWriter};
use depthcast_codec::{DecodedFrame, Receiver, ReceiverOptions};
use depthcast_packing::{DepthImage, Metrics, Packer};

/// Options of `depthcast recv`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Source: a `.mkv`/`.ts` file, `udp://127.0.0.1:5000`, `tcp://127.0.0.1:5000` (with
    /// `--listen`), `srt://...`, `rtmp://host/app/stream`.
    #[arg(long)]
    url: String,
    /// Output depth sequence folder (omit to only print stats).
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
    /// Give up after this many seconds without data.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// For tcp:// URLs: listen for the sender.
    #[arg(long)]
    listen: bool,
}

fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

pub(crate) fn run(a: Args) -> anyhow::Result<()> {
    let opts =
        ReceiverOptions { timeout: Some(Duration::from_secs_f64(a.timeout)), listen: a.listen, ..Default::default() };
    let mut rx = Receiver::open(&a.url, &opts).with_context(|| format!("receiving {}", a.url))?;
    let mut dec = rx.decoder()?;
    let source = a.source.as_ref().map(Sequence::open).transpose()?;
    let mut out: Box<dyn Write> = match &a.stats {
        Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => Box::new(std::io::stdout().lock()),
    };
    writeln!(out, "frame,bytes,scheme,precision,bits,mae_mm,max_mm,invalid_flips,latency_ms,status")?;
    let mut writer: Option<SequenceWriter> = None;
    let mut packer = Packer::default();
    let mut depth = DepthImage::new(1, 1);
    let (mut frames, mut missing, mut errors) = (0u64, 0u64, 0u64);
    let mut sizes = std::collections::BTreeMap::new();
    let mut handle = |f: DecodedFrame, sizes: &mut std::collections::BTreeMap<i64, usize>| -> anyhow::Result<bool> {
        let bytes = sizes.remove(&f.pts).unwrap_or(0);
        *sizes = sizes.split_off(&f.pts);
        let inband = match f.params {
            Ok(p) => p,
            Err(e) => {
                writeln!(out, "?,{bytes},,,,,,,,\"{e}\"")?;
                return Ok(false);
            }
        };
        let p = inband.params;
        packer.unpack_into(&f.frame, &p, &mut depth)?;
        let latency = inband
            .sent_unix_us
            .map(|t| format!("{:.1}", now_us().saturating_sub(t) as f64 / 1000.0))
            .unwrap_or_default();
        let (mut mae, mut max, mut flips) = (String::new(), String::new(), String::new());
        if let Some(src) = &source {
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
            out,
            "{},{bytes},{},{},{},{mae},{max},{flips},{latency},ok",
            p.frame_index,
            p.scheme.name(),
            p.precision,
            p.bit_depth.bits()
        )?;
        if let Some(dir) = &a.output {
            if writer.is_none() {
                let enc = if a.exr { DepthEncoding::ExrF32 } else { DepthEncoding::Png16Mm };
                let mut w = SequenceWriter::create(dir, p.width, p.height, 30.0, enc)?;
                w.meta_mut().mode = p.mode.name().into();
                w.meta_mut().source = Some(a.url.clone());
                writer = Some(w);
            }
            if let Some(w) = writer.as_mut() {
                w.push(&depth, None)?;
            }
        }
        Ok(true)
    };
    while a.frames.is_none_or(|n| frames + missing < n) {
        let Some(pkt) = rx.read_packet()? else { break };
        let pts = pkt.pts.unwrap_or(0);
        sizes.insert(pts, pkt.data.len());
        match dec.decode(&pkt.data, pkt.pts) {
            Ok(outs) => {
                for o in outs {
                    match o {
                        Ok(f) => {
                            if handle(f, &mut sizes)? {
                                frames += 1
                            } else {
                                missing += 1
                            }
                        }
                        Err(e) => {
                            errors += 1;
                            eprintln!("frame error: {e}");
                        }
                    }
                }
            }
            Err(e) => {
                errors += 1;
                eprintln!("packet error: {e}");
            }
        }
    }
    dec.send_eof()?;
    while let Ok(Some(f)) = dec.receive_frame() {
        if handle(f, &mut sizes)? { frames += 1 } else { missing += 1 }
    }
    if let Some(w) = writer {
        w.finish()?;
    }
    eprintln!("received {frames} frames, {missing} without valid params, {errors} decode errors");
    Ok(())
}
