//! The sweep on a small procedural sequence with the real libx264: oracle by construction, error
//! falling with bitrate, a pinned CSV schema, and resuming.

use std::path::PathBuf;

use depthcast::sweep::analysis::{RunResult, per_frame_oracle};
use depthcast::sweep::config::{CodecConfig, PackingConfig, PackingGrid, RangeChoice};
use depthcast::sweep::encode::RunOptions;
use depthcast::sweep::{Source, SweepOptions, csv};
use depthcast_packing::{BitDepth, VbpLayout};

fn options(out: PathBuf) -> SweepOptions {
    SweepOptions {
        out,
        codecs: vec![CodecConfig::H264_8],
        packings: PackingGrid::Given(vec![
            PackingConfig::luma(BitDepth::Eight),
            PackingConfig::vbp(12, VbpLayout::Chroma),
            PackingConfig::vbp(10, VbpLayout::Luma),
            PackingConfig::vbp(14, VbpLayout::Luma),
        ]),
        mbps: vec![0.05, 0.2, 0.8],
        scale: false,
        ranges: vec![RangeChoice::Sequence],
        run: RunOptions { gop: 8, ..RunOptions::default() },
        threads: 2,
        policies: true,
        predictor_policies: true,
        max_frames: None,
        format_probe: Default::default(),
        reopen_preroll: depthcast::sweep::encode::DEFAULT_REOPEN_PREROLL,
        reprobe: depthcast::sweep::causal::Rounds::default(),
    }
}

#[test]
fn sweep_oracles_rates_schema_and_resume() {
    let out = std::env::temp_dir().join(format!("depthcast-sweep-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let sources = [Source::Procedural { width: 96, height: 64, frames: 24, fps: 30.0 }];
    let opts = options(out.clone());
    let cells = depthcast::sweep::run(&sources, &opts).unwrap();
    assert_eq!(cells.len(), 3, "one cell per bitrate");

    // The schema is pinned: changing a column is a breaking change for users' scripts.
    assert_eq!(
        csv::COLUMNS.join(","),
        "sequence,codec,bitrate_bps,run,range,frame,config,family,precision,keyframe,bits,near_m,far_m,params_ok,\
         valid,mae_m,rmse_m,max_m,p99_m,mean_rel,psnr_db,valid_to_invalid,invalid_to_valid"
    );
    let rows = csv::read(&out.join("frames.csv")).unwrap();
    // 4 fixed runs x 3 bitrates + policy runs (5 policies for each group of >= 2 configurations).
    assert!(rows.len() >= 4 * 3 * 24, "{} rows", rows.len());
    assert!(rows.iter().all(|r| r.rec.params_ok), "every frame carried its parameters in-band");

    // The per-frame oracle is never worse than any fixed configuration on any frame.
    for &bitrate in &[50_000u64, 200_000, 800_000] {
        let runs: Vec<RunResult> = opts
            .packings
            .for_bits(BitDepth::Eight)
            .iter()
            .filter(|p| p.layout == VbpLayout::Luma && p.scheme == depthcast_packing::Scheme::Vbp)
            .map(|p| {
                let mine: Vec<csv::Row> = rows
                    .iter()
                    .filter(|r| r.bitrate == bitrate && !r.run.contains("policy") && r.rec.config == p.id())
                    .cloned()
                    .collect();
                assert_eq!(mine.len(), 24, "{} at {bitrate}", p.id());
                RunResult::from_rows(*p, &mine)
            })
            .collect();
        let refs: Vec<&RunResult> = runs.iter().collect();
        let oracle = per_frame_oracle(&refs);
        for (i, &k) in oracle.iter().enumerate() {
            for r in &runs {
                assert!(runs[k].mae[i] <= r.mae[i], "frame {i}: oracle {} > {}", runs[k].mae[i], r.mae[i]);
            }
        }
        let cell = cells.iter().find(|c| c.bitrate == bitrate).unwrap();
        let est = cell.oracle_per_family_mm["vbp-luma"];
        let best = cell.best_per_family["vbp-luma"].1;
        assert!(est <= best + 1e-9, "oracle estimate {est} above best fixed {best}");
        assert!(cell.policy_mae_mm.keys().any(|k| k.ends_with("oracle-frame")), "{:?}", cell.policy_mae_mm);
    }

    // Luma-only error falls as the bitrate rises (4x steps).
    let luma: Vec<f64> = cells.iter().map(|c| c.fixed_mae_mm["luma-P8-lin"]).collect();
    assert!(luma[0] > luma[1] && luma[1] > luma[2], "luma MAE by bitrate: {luma:?}");

    // Resuming re-encodes nothing and reproduces the summary.
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let run_file =
        std::fs::read_dir(out.join("runs/procedural").join(format!("g{}-{}", opts.run.gop, opts.run.preset)))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
    let before = std::fs::metadata(&run_file).unwrap().modified().unwrap();
    depthcast::sweep::run(&sources, &opts).unwrap();
    assert_eq!(std::fs::metadata(&run_file).unwrap().modified().unwrap(), before, "a complete run was re-encoded");
    assert_eq!(std::fs::read_to_string(out.join("summary.json")).unwrap(), summary);
    for p in ["report.md", "plots/error_vs_bitrate_procedural_h264-8.png"] {
        assert!(out.join(p).exists(), "{p} missing");
    }
    std::fs::remove_dir_all(&out).unwrap();
}

/// The start-up probe's measurements are the first frames of real streams: each shortlisted
/// configuration's mean error equals that of the first frames of a whole-sequence encode with it
/// (the encoder does not look ahead), the fallbacks (8-bit luma) are always measured, and the
/// winner is the lowest measured.
#[test]
fn probe_measures_the_first_frames_of_real_streams() {
    use depthcast::precision_net::Probe;
    use depthcast::sweep::encode::encode_sequence;
    use depthcast::sweep::predictor;

    let seq = Source::Procedural { width: 160, height: 96, frames: Probe::FRAMES + 5, fps: 30.0 }.load(None).unwrap();
    let cands = predictor::candidates();
    let opts = RunOptions { gop: 10, ..RunOptions::default() };
    let encodes = predictor::ProbeEncodes { range: RangeChoice::Sequence, opts: &opts };
    let bitrate = 150_000;
    let stream = predictor::Stream { seq: &seq, codec: CodecConfig::H264_8, bitrate, cands: &cands, gop: 10 };
    let m = predictor::probe(stream, encodes).unwrap().expect("committed model");
    let measured = m.measured();
    eprintln!("probe at {bitrate} bit/s: {measured:?}, winner {}", m.winner().id());
    let fallbacks = predictor::fallbacks(BitDepth::Eight);
    assert!(measured.len() >= Probe::CANDIDATES && measured.len() <= Probe::CANDIDATES + fallbacks.len());
    for f in &fallbacks {
        assert!(measured.iter().any(|(c, _)| c == f), "the fallback {} is measured", f.id());
    }
    for &(c, e) in &measured {
        let recs = encode_sequence(
            &seq,
            CodecConfig::H264_8,
            bitrate,
            RangeChoice::Sequence,
            &opts,
            &mut |_| (c, false),
            &|| {},
        )
        .unwrap();
        let head: f64 = recs[..Probe::FRAMES].iter().map(|r| r.metrics.mae).sum::<f64>() / Probe::FRAMES as f64;
        assert!(e.is_finite() && e > 0.0, "{}: {e}", c.id());
        assert!((head - e).abs() <= 1e-9 * head.max(1.0), "{}: probe {e} vs stream {head}", c.id());
    }
    let best = measured.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap().0;
    assert_eq!(m.winner(), best);
}

/// With two formats the sweep runs the start-up probe across them at each bitrate, as `send
/// --auto --probe --receivers` does: the lowest measured pair is chosen, its whole-sequence run is
/// real (the grid's fixed run of that pair when the grid has it, else a run of its own), and the
/// report and plot show it against 8-bit luma with H.264.
#[test]
fn the_probe_across_formats_is_a_real_run_of_its_choice() {
    let out = std::env::temp_dir().join(format!("depthcast-sweep-formats-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let sources = [Source::Procedural { width: 96, height: 64, frames: 24, fps: 30.0 }];
    let mut opts = options(out.clone());
    opts.codecs = vec![CodecConfig::H264_8, CodecConfig { bits: BitDepth::Ten, ..CodecConfig::H264_8 }];
    // The network's candidates and the scheme sets at both bit depths: whatever the probe
    // chooses is a fixed run.
    let mut grid = depthcast::sweep::predictor::candidates();
    for bits in [BitDepth::Eight, BitDepth::Ten] {
        grid.extend(PackingConfig::quick_set(bits).into_iter().filter(|c| !grid.contains(c)).collect::<Vec<_>>());
    }
    opts.packings = PackingGrid::Given(grid);
    opts.mbps = vec![0.1, 0.8];
    let cells = depthcast::sweep::run(&sources, &opts).unwrap();
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let formats = summary["formats"].as_array().unwrap();
    assert_eq!(formats.len(), 2, "one probe per bitrate: {formats:?}");
    for f in formats {
        let probe: Vec<(String, String, f64, f64)> = serde_json::from_value(f["probe"].clone()).unwrap();
        assert!(probe.iter().any(|p| p.0 == "h264-8" && p.1 == "luma-P8-lin"), "{probe:?}");
        assert!(probe.iter().any(|p| p.0 == "h264-10" && p.1 == "luma-P10-lin"), "{probe:?}");
        // The lowest error among the pairs that kept the bitrate, or among all when none did
        // (at 100 kbit/s x264 spends 1.15x on these 96x64 frames, whatever the packing).
        assert!(probe.iter().all(|p| p.3 > 0.5 && p.3 < 2.0), "{probe:?}");
        let kept = probe.iter().any(|p| p.3 <= 1.1);
        let best = probe.iter().filter(|p| p.3 <= 1.1 || !kept).min_by(|a, b| a.2.total_cmp(&b.2)).unwrap();
        let chosen: (String, String) = serde_json::from_value(f["chosen"].clone()).unwrap();
        assert_eq!(chosen, (best.0.clone(), best.1.clone()), "the lowest measured pair");
        let mae = f["mae_mm"].as_f64().unwrap();
        let luma8 = f["luma8_h264_mm"].as_f64().unwrap();
        let best_fixed = f["best_fixed"][2].as_f64().unwrap();
        assert!(mae.is_finite() && mae > 0.0 && best_fixed <= luma8, "{f}");
        let bitrate = f["bitrate"].as_u64().unwrap();
        let cell = cells.iter().find(|c| c.codec == chosen.0 && c.bitrate == bitrate).unwrap();
        let fixed = cell.fixed_mae_mm[&chosen.1];
        assert!((fixed - mae).abs() <= 1e-9 * fixed.max(1.0), "same encode: fixed {fixed} mm, probe run {mae} mm");
        println!(
            "{bitrate} bit/s: {} {} {mae:.2} mm, luma-P8 {luma8:.2} mm, best fixed {best_fixed:.2} mm",
            chosen.0, chosen.1
        );
        // The best causal policy over every fixed run, and the policy of `send --reprobe`: each
        // switches only at keyframes, starts with the best pair over the probe's frames, and
        // where it never switches its run is that pair's fixed run.
        for policy in ["causal", "reprobe"] {
            let p = &f[policy];
            let switches: Vec<(usize, String, String)> = serde_json::from_value(p["switches"].clone()).unwrap();
            assert_eq!(switches[0].0, 0, "{p}");
            assert!(switches.iter().all(|s| s.0 % opts.run.gop as usize == 0), "{p}");
            let (est, real) = (p["estimate_mm"].as_f64().unwrap(), p["mae_mm"].as_f64().unwrap());
            assert!(est.is_finite() && real.is_finite(), "{p}");
            if switches.len() == 1 {
                let c = cells.iter().find(|c| c.codec == switches[0].1 && c.bitrate == bitrate).unwrap();
                let fixed = c.fixed_mae_mm[&switches[0].2];
                assert!((fixed - real).abs() <= 1e-9 * fixed.max(1.0) && (est - real).abs() <= 1e-9 * real.max(1.0));
            }
            println!("  {policy}: {est:.2} mm estimated, {real:.2} mm real, switches {switches:?}");
        }
    }
    // `send --reprobe`'s first round, on settled encoders: every pair the probe measured in the
    // codec it chose (both formats are H.264 here), its first GOP encoded after a pre-roll over
    // that GOP's own first frames (8 + 8 here). Kept with the runs, not in frames.csv.
    let dir = out.join("runs/procedural").join(format!("g{}-{}", opts.run.gop, opts.run.preset));
    let firsts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("first-round8_")))
        .collect();
    let probed: usize = formats.iter().map(|f| f["probe"].as_array().unwrap().len()).sum();
    assert_eq!(firsts.len(), probed, "{firsts:?}");
    for p in &firsts {
        let rows = csv::read(p).unwrap();
        assert_eq!(rows.len(), 16, "{}", p.display());
        // Keyframes a GOP apart from the pre-roll's first frame: here the measured GOP's first.
        assert!(rows[8].rec.keyframe && rows[1..8].iter().all(|r| !r.rec.keyframe), "{}", p.display());
    }
    assert!(csv::read(&out.join("frames.csv")).unwrap().iter().all(|r| !r.run.starts_with("first-round")));
    assert!(report.contains("best causal est."), "{report}");
    assert!(report.contains("## The start-up probe across formats"), "{report}");
    assert!(out.join("plots/formats_procedural.png").exists());
    let _ = std::fs::remove_dir_all(&out);

    // A grid of luma alone: the probe's choice (from every scheme) is encoded as its own run.
    let mut opts = opts.clone();
    opts.out = out.with_extension("luma");
    let _ = std::fs::remove_dir_all(&opts.out);
    opts.packings = PackingGrid::Given(vec![PackingConfig::luma(BitDepth::Eight), PackingConfig::luma(BitDepth::Ten)]);
    depthcast::sweep::run(&sources, &opts).unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(opts.out.join("summary.json")).unwrap()).unwrap();
    let rows = csv::read(&opts.out.join("frames.csv")).unwrap();
    for f in summary["formats"].as_array().unwrap() {
        let chosen: (String, String) = serde_json::from_value(f["chosen"].clone()).unwrap();
        let own = rows.iter().filter(|r| r.run.starts_with("formats_") && r.rec.config == chosen.1).count();
        assert!(chosen.1.starts_with("luma-") || own > 0, "{chosen:?}: its own run is in frames.csv");
        assert!(f["mae_mm"].as_f64().unwrap().is_finite(), "{f}");
    }
    let _ = std::fs::remove_dir_all(&opts.out);
}

/// `send --reprobe-rule causal`, the best causal policy's own rule, over a grid of just the pairs
/// the probe measures (the scheme set at each bit depth, `--grid quick`), 64 frames in GOPs of 16
/// (at least the probe's 15 frames, as a sender's GOP is), the scene turning to fine ripples
/// halfway so that the best pair changes: no first-round encodes of its own, and in every cell the
/// best causal policy's plan and so its very run.
#[test]
fn the_causal_rule_runs_the_best_causal_policys_stream() {
    let out = std::env::temp_dir().join(format!("depthcast-sweep-causal-rule-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let seq_dir = out.join("seq");
    let mut writer =
        depthcast_sequence::SequenceWriter::create(&seq_dir, 96, 64, 30.0, depthcast_sequence::DepthEncoding::ExrF32)
            .unwrap();
    for i in 0..64u32 {
        let mut depth = depthcast_packing::testdata::game_scene(96, 64, i as f32 / 30.0);
        if i >= 32 {
            for (k, d) in depth.data.iter_mut().enumerate() {
                let (x, y) = ((k % 96) as f32, (k / 96) as f32);
                *d += 0.4 * (1.3 * x + 0.2 * i as f32).sin() * (0.9 * y).sin();
            }
        }
        writer.push(&depth, None).unwrap();
    }
    writer.finish().unwrap();
    let causal_sources = [Source::Dir(seq_dir.clone())];
    let mut causal_opts = options(out.join("sweep"));
    causal_opts.codecs = vec![CodecConfig::H264_8, CodecConfig { bits: BitDepth::Ten, ..CodecConfig::H264_8 }];
    causal_opts.run.gop = 16;
    causal_opts.packings = PackingGrid::Quick;
    causal_opts.mbps = vec![0.1, 0.2, 0.4, 0.8, 1.6];
    causal_opts.reprobe = depthcast::sweep::causal::Rounds::causal(causal_opts.run.gop as usize);
    depthcast::sweep::run(&causal_sources, &causal_opts).unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(causal_opts.out.join("summary.json")).unwrap()).unwrap();
    let name = summary["formats"][0]["sequence"].as_str().unwrap();
    let runs = causal_opts.out.join("runs").join(name).join(format!("g16-{}", causal_opts.run.preset));
    let names: Vec<String> =
        std::fs::read_dir(&runs).unwrap().filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
    assert!(!names.iter().any(|n| n.starts_with("first-round")), "{names:?}");
    let mut moved = 0;
    for f in summary["formats"].as_array().unwrap() {
        let probe = f["probe"].as_array().unwrap();
        assert_eq!(probe.len(), 16, "the probe measured the whole grid: {f}");
        assert_eq!(f["reprobe"]["switches"], f["causal"]["switches"], "{f}");
        assert_eq!(f["reprobe"]["estimate_mm"], f["causal"]["estimate_mm"], "{f}");
        assert_eq!(f["reprobe"]["mae_mm"], f["causal"]["mae_mm"], "the same real run: {f}");
        let switches = f["causal"]["switches"].as_array().unwrap().len() - 1;
        moved += usize::from(switches > 0);
        println!("  causal rule: {} mm, {switches} switches", f["reprobe"]["mae_mm"]);
    }
    assert!(moved > 0, "some cell's stream moves (a reopened run): {summary}");
    let _ = std::fs::remove_dir_all(&out);
}

/// A stream whose encoder is reopened in another format at a keyframe, as the best causal policy
/// runs it: each part is a real encode of its own (the same as encoding that part alone), every
/// frame comes back with its codec, and the new encoder starts with a keyframe. With a pre-roll
/// the new encoder first encodes the frames before its first one (a keyframe every
/// `PREROLL_KEYFRAMES_EVERY`) and the receiver's stream begins at a forced keyframe: the same
/// packets and errors as one encode from the earlier frame with those keyframes forced.
#[test]
fn a_reopened_encoder_is_a_fresh_stream_from_its_frame() {
    use depthcast::sweep::encode::{SeqData, encode_reopening, encode_sequence};
    let frames: Vec<_> = (0..16).map(|i| depthcast_packing::testdata::game_scene(96, 64, i as f32 / 30.0)).collect();
    let seq = SeqData::new("procedural".into(), 30.0, frames).unwrap();
    let h264_10 = CodecConfig { bits: BitDepth::Ten, ..CodecConfig::H264_8 };
    let (luma8, luma10) = (PackingConfig::luma(BitDepth::Eight), PackingConfig::luma(BitDepth::Ten));
    let run = RunOptions { gop: 8, ..RunOptions::default() };
    let mut choose = |i: usize| (if i < 8 { luma8 } else { luma10 }, false);
    let seq_range = RangeChoice::Sequence;
    let reopen = [(8, h264_10)];
    for preroll in [0, 4] {
        let recs = encode_reopening(
            &seq,
            CodecConfig::H264_8,
            &reopen,
            preroll,
            200_000,
            seq_range,
            &run,
            &mut choose,
            &|| {},
        )
        .unwrap();
        assert_eq!(recs.len(), 16);
        for (i, (codec, r)) in recs.iter().enumerate() {
            assert_eq!((r.frame as usize, *codec), (i, if i < 8 { CodecConfig::H264_8 } else { h264_10 }));
            assert!(r.params_ok && r.metrics.mae.is_finite(), "frame {i}");
        }
        assert!(recs[8].1.keyframe && recs[0].1.keyframe);
        // The second part alone: from frame 8 (cold), or from frame 4 with the pre-roll's
        // keyframes and frame 8 forced (warm), where the receiver's stream begins.
        let every = depthcast_stream::encoder::PREROLL_KEYFRAMES_EVERY;
        let mut alone = |i: usize| (luma10, preroll > 0 && (i == preroll || (i < preroll && i.is_multiple_of(every))));
        let part = seq.part(8 - preroll..16);
        let alone = encode_sequence(&part, h264_10, 200_000, seq_range, &run, &mut alone, &|| {}).unwrap();
        for (a, (_, b)) in alone[preroll..].iter().zip(&recs[8..]) {
            assert_eq!((a.bits, a.metrics.mae), (b.bits, b.metrics.mae), "pre-roll {preroll}, frame {}", b.frame);
        }
    }
    // Reopening must move forward within the sequence.
    let bad =
        encode_reopening(&seq, CodecConfig::H264_8, &[(0, h264_10)], 0, 200_000, seq_range, &run, &mut choose, &|| {});
    assert!(bad.is_err());
}
