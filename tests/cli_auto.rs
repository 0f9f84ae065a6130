//! The standalone tools end to end with precision-net choosing: `depthcast send --auto --probe`
//! (and `--receivers`, which lets the probe choose the codec and bit depth too) into a file with
//! the real encoders, then `depthcast recv` against the source. The probe's winner must carry
//! every frame, in-band, and the stream must decode whole.

use std::process::Command;

use depthcast::sequence::{DepthEncoding, SequenceWriter};
use depthcast_packing::testdata::game_scene;

/// Writes `frames` frames of the built-in scene (320x180) as an EXR sequence under a fresh `dir`.
fn sequence(dir: &std::path::Path, frames: usize) -> std::path::PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    let seq = dir.join("seq");
    let mut w = SequenceWriter::create(&seq, 320, 180, 30.0, DepthEncoding::ExrF32).unwrap();
    for i in 0..frames {
        w.push(&game_scene(320, 180, i as f32 / 30.0), None).unwrap();
    }
    w.finish().unwrap();
    seq
}

/// `depthcast recv` of `video` against `seq`: the stats CSV's header and rows.
fn recv_rows(video: &std::path::Path, seq: &std::path::Path) -> (Vec<String>, Vec<Vec<String>>) {
    let stats = video.with_extension("csv");
    let out = Command::new(env!("CARGO_BIN_EXE_depthcast"))
        .args(["recv", "--url", video.to_str().unwrap(), "--source", seq.to_str().unwrap()])
        .args(["--stats", stats.to_str().unwrap(), "--timeout", "5"])
        .output()
        .unwrap();
    assert!(out.status.success(), "recv failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&stats).unwrap();
    let mut lines = text.lines().map(|l| l.split(',').map(String::from).collect::<Vec<_>>());
    let header = lines.next().unwrap();
    (header, lines.collect())
}

/// `depthcast send --input SEQ --url URL`, for the rest of a test's arguments.
fn send_command(seq: &std::path::Path, url: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_depthcast"));
    c.args(["send", "--input", seq.to_str().unwrap(), "--url", url.to_str().unwrap()]);
    c
}

#[test]
fn send_auto_probe_then_recv() {
    let dir = std::env::temp_dir().join(format!("depthcast-cli-auto-{}", std::process::id()));
    let frames = 24;
    let seq = sequence(&dir, frames);
    let video = dir.join("auto.mkv");
    let out = send_command(&seq, &video)
        .args(["--auto", "--probe", "--kbps", "400", "--gop", "12", "--software", "--fast"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "send failed: {err}");
    // "probe: <id> MAE ..." per shortlisted configuration, then "probe: <id> wins".
    let measured: Vec<(String, f64)> = err
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("probe: ")?;
            let (id, mae) = rest.split_once(" MAE ")?;
            Some((id.trim().to_string(), mae.split_whitespace().next()?.parse().ok()?))
        })
        .collect();
    assert!(measured.len() >= 2, "the probe measured a shortlist: {err}");
    let winner = err
        .lines()
        .find_map(|l| Some(l.strip_prefix("probe: ")?.split_once(" wins (")?.0.to_string()))
        .expect("the probe names its winner");
    let best = measured.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
    assert_eq!(winner, best.0, "the lowest measured error wins: {measured:?}");
    assert!(err.contains(&format!("precision-net: {winner} for {frames} frames")), "{err}");

    let (header, rows) = recv_rows(&video, &seq);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(rows.len(), frames, "every frame decoded");
    // The winner's id starts with its scheme and names its precision, if it has one
    // (`luma-P8-lin`, `vbp-luma-P16-lin-a255-roi-0.40`, `hue-lin`).
    let scheme = winner.split('-').next().unwrap();
    let precision = winner.split('-').find_map(|p| p.strip_prefix('P'));
    for r in &rows {
        assert_eq!(r[col("status")], "ok");
        assert_eq!(r[col("scheme")], scheme, "{r:?}");
        if let Some(p) = precision {
            assert_eq!(r[col("precision")], p, "{r:?}");
        }
        let mae: f64 = r[col("mae_mm")].parse().unwrap();
        assert!(mae.is_finite() && mae >= 0.0);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--receivers chromium` into a `.ts` file: the formats are what Chromium decodes and MPEG-TS
/// carries (H.264 at 8 and 10 bits: AV1 goes into .mkv only, HEVC is not decoded), half-size
/// maps among the pairs (the page rebuilds them), every pair the probe measured is printed, the
/// lowest wins, and the stream comes out in the winner's format.
#[test]
fn send_probe_across_formats_then_recv() {
    let dir = std::env::temp_dir().join(format!("depthcast-cli-formats-{}", std::process::id()));
    let frames = 24;
    let seq = sequence(&dir, frames);
    let video = dir.join("formats.ts");
    let out = send_command(&seq, &video)
        .args(["--auto", "--probe", "--receivers", "chromium", "--kbps", "600", "--gop", "12", "--software", "--fast"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "send failed: {err}");
    assert!(err.contains("formats: not av1-8: AV1 goes into .mkv files"), "{err}");
    assert!(err.contains("formats: h264-8, h264-10 ("), "{err}");
    // "probe: <format> <id> MAE ..." per pair, then "probe: <format> <id> wins".
    let measured: Vec<(String, String, f64)> = err
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("probe: ")?;
            let (pair, mae) = rest.split_once(" MAE ")?;
            let mut words = pair.split_whitespace();
            let (f, c) = (words.next()?.to_string(), words.next()?.to_string());
            Some((f, c, mae.split_whitespace().next()?.parse().ok()?))
        })
        .collect();
    for f in ["h264-8", "h264-10"] {
        assert!(measured.iter().filter(|m| m.0 == f).count() >= 2, "{f}: a shortlist and its fallback: {err}");
    }
    assert!(measured.iter().any(|m| m.0 == "h264-10" && m.1 == "luma-P10-lin"), "{err}");
    // The page rebuilds maps sent at half size, so the probe measures those too.
    for (f, id) in [("h264-8", "luma-P8-lin-half"), ("h264-10", "luma-P10-lin-half")] {
        assert!(measured.iter().any(|m| m.0 == f && m.1 == id), "{f} {id}: {err}");
    }
    let (format, winner) = err
        .lines()
        .find_map(|l| {
            let (pair, _) = l.strip_prefix("probe: ")?.split_once(" wins (")?;
            let (f, c) = pair.split_once(' ')?;
            Some((f.to_string(), c.to_string()))
        })
        .expect("the probe names its winner");
    let best = measured.iter().min_by(|a, b| a.2.total_cmp(&b.2)).unwrap();
    assert_eq!((&format, &winner), (&best.0, &best.1), "the lowest measured error wins: {measured:?}");
    assert!(err.contains(&format!("across formats: {format}, {winner}")), "{err}");

    let (header, rows) = recv_rows(&video, &seq);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(rows.len(), frames, "every frame decoded");
    let bits = format.rsplit('-').next().unwrap();
    for r in &rows {
        assert_eq!(r[col("status")], "ok");
        assert_eq!(r[col("bits")], bits, "the stream is in the chosen format: {r:?}");
        assert_eq!(r[col("scheme")], winner.split('-').next().unwrap(), "{r:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `send --reprobe` without `--gop` keeps a keyframe every 30 frames, the GOP its rules were
/// chosen and measured at (60 without the re-probe): its first round is taken at frame 30.
#[test]
fn send_reprobe_takes_a_gop_of_30_frames_by_default() {
    let dir = std::env::temp_dir().join(format!("depthcast-cli-reprobe-gop-{}", std::process::id()));
    let seq = sequence(&dir, 32);
    let log = dir.join("rounds.csv");
    let out = send_command(&seq, &dir.join("gop.ts"))
        .args(["--auto", "--probe", "--receivers", "h264-8", "--reprobe", "--reprobe-pairs", "2"])
        .args(["--reprobe-log", log.to_str().unwrap(), "--kbps", "600", "--software", "--fast"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "send failed: {err}");
    let text = std::fs::read_to_string(&log).unwrap();
    let frames: std::collections::BTreeSet<&str> = text.lines().skip(1).map(|l| l.split(',').nth(1).unwrap()).collect();
    assert_eq!(frames.into_iter().collect::<Vec<_>>(), vec!["30"], "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--reprobe`: the probe goes on while the stream runs (its rounds and switches reported, and
/// logged per pair with `--reprobe-log`), every frame decodes whatever pair carried it, and a
/// container that stores the codec's headers once is refused before anything is sent, with the
/// reason.
#[test]
fn send_reprobe_then_recv() {
    let dir = std::env::temp_dir().join(format!("depthcast-cli-reprobe-{}", std::process::id()));
    let frames = 60;
    let seq = sequence(&dir, frames);
    let video = dir.join("reprobe.ts");
    let log = dir.join("rounds.csv");
    let send = |url: &std::path::Path| {
        send_command(&seq, url)
            .args(["--auto", "--probe", "--receivers", "h264-8,h264-10", "--reprobe"])
            .args(["--reprobe-log", log.to_str().unwrap()])
            .args(["--kbps", "600", "--gop", "15", "--software", "--fast"])
            .output()
            .unwrap()
    };
    let out = send(&video);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "send failed: {err}");
    assert!(err.lines().any(|l| l.starts_with("re-probe: ") && l.contains(" rounds measured (the last of ")), "{err}");
    // After the first round the stream's own pair is measured from its packets (the default).
    assert!(err.contains(", the stream's own pair ") && err.contains(" ms per frame)"), "{err}");
    // The log: a row per pair of each round taken at a keyframe (15, 30, 45), every pair of both
    // formats in each (--fast measures them all, the stream's own among them however it was
    // measured), the stream's pair the same across a round's rows, and as many rounds with a
    // move as the sender reports switches. Each pair's error is over the round's 15 frames; after
    // the first round the stream's own pair's are measured from its packets.
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "round,frame,format,config,round_mae_mm,round_rate,tally_mae_mm,stream_format,stream_config,moved,\
             frames,from_stream,score_mm"
        )
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let rounds: Vec<(&str, &str)> =
        rows.iter().map(|r| (r[0], r[1])).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    assert_eq!(rounds, vec![("1", "15"), ("2", "30"), ("3", "45")], "{text}");
    for round in ["1", "2", "3"] {
        let these: Vec<&Vec<&str>> = rows.iter().filter(|r| r[0] == round).collect();
        assert_eq!(these.len(), 16, "8 configurations in each of 2 formats: {text}");
        assert!(these.iter().all(|r| (r[7], r[8], r[9]) == (these[0][7], these[0][8], these[0][9])), "{text}");
        for r in &these {
            let (mae, rate, so_far): (f64, f64, f64) =
                (r[4].parse().unwrap(), r[5].parse().unwrap(), r[6].parse().unwrap());
            assert!(mae.is_finite() && mae > 0.0 && rate > 0.0 && so_far.is_finite(), "{r:?}");
            assert_eq!(r[10], "15", "{r:?}");
            // The rule compares the risk score (the default --reprobe-risk chosen: RHO 0.25):
            // the error so far ^ 0.75 x the pair's worst round ^ 0.25. The first round replaces
            // what the probe measured, so it is its own worst and the score is its error; after
            // it the worst round is at least this one.
            let score: f64 = r[12].parse().unwrap();
            let floor = if round == "1" { so_far } else { so_far.powf(0.75) * mae.powf(0.25) };
            assert!(score >= floor * (1.0 - 1e-3) - 1e-4, "{r:?}");
            if round == "1" {
                assert!((score - so_far).abs() <= 1e-3 * so_far + 1e-4, "{r:?}");
            }
        }
        if round == "1" {
            assert!(these.iter().all(|r| r[11] == "0"), "the first round encodes every pair: {text}");
        }
    }
    // The stream's own pair of rounds 2 and 3 (the pair carrying it since the keyframe before)
    // is the one measured from its packets.
    for (round, before) in [("2", "1"), ("3", "2")] {
        let own = rows.iter().find(|r| r[0] == before).map(|r| (r[7], r[8])).unwrap();
        let from_stream: Vec<(&str, &str)> =
            rows.iter().filter(|r| r[0] == round && r[11] == "1").map(|r| (r[2], r[3])).collect();
        assert_eq!(from_stream, vec![own], "round {round}: {text}");
    }
    let moves = ["1", "2", "3"].iter().filter(|&&k| rows.iter().any(|r| r[0] == k && r[9] == "1")).count();
    assert!(err.contains(&format!(", {moves} switches;")), "{moves} moves logged: {err}");
    let (header, rows) = recv_rows(&video, &seq);
    let status = header.iter().position(|h| h == "status").unwrap();
    assert_eq!(rows.len(), frames, "every frame decoded");
    assert!(rows.iter().all(|r| r[status] == "ok"), "{rows:?}");

    let out = send(&dir.join("reprobe.mkv"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("stores the codec's headers once"), "{err}");
    assert!(!dir.join("reprobe.mkv").exists(), "nothing sent");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--reprobe-rule causal`: the best causal policy's own rule. Its first round measures each pair
/// cold, from the stream's first frame (the stream's own pair as the receiver decodes the stream's
/// first GOP); its score is the error so far, every round weighing alike; and after each round the
/// stream carries the pair with the lowest error so far among those that held the bitrate.
#[test]
fn send_reprobe_rule_causal_follows_the_lowest_error_so_far() {
    let dir = std::env::temp_dir().join(format!("depthcast-cli-causal-rule-{}", std::process::id()));
    let frames = 60;
    let seq = sequence(&dir, frames);
    let video = dir.join("causal.ts");
    let log = dir.join("rounds.csv");
    let out = send_command(&seq, &video)
        .args(["--auto", "--probe", "--receivers", "h264-8,h264-10", "--reprobe", "--reprobe-rule", "causal"])
        .args(["--reprobe-log", log.to_str().unwrap()])
        .args(["--kbps", "600", "--gop", "15", "--software", "--fast"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "send failed: {err}");
    let text = std::fs::read_to_string(&log).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let num = |r: &[&str], i: usize| -> f64 { r[i].parse().unwrap() };
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-3 * b.abs() + 2e-4;
    let (header, received) = recv_rows(&video, &seq);
    let mae = header.iter().position(|h| h == "mae_mm").unwrap();
    assert_eq!(received.len(), frames, "every frame decoded");
    let first_gop: f64 = received[..15].iter().map(|r| r[mae].parse::<f64>().unwrap()).sum::<f64>() / 15.0;
    // The start-up probe's pick, which carries the first GOP.
    let pick: Vec<&str> =
        err.lines().find(|l| l.starts_with("probe: ") && l.contains(" wins ")).unwrap().split(' ').collect();
    // A pair's rows of the rounds up to `round`.
    let history = |pair: &[&str], round: usize| -> Vec<&Vec<&str>> {
        rows.iter().filter(|q| q[2..4] == pair[2..4] && q[0].parse::<usize>().unwrap() <= round).collect()
    };
    for round in 1..=3 {
        let these: Vec<&Vec<&str>> = rows.iter().filter(|r| r[0] == round.to_string()).collect();
        assert_eq!(these.len(), 16, "every pair of both formats: {text}");
        for r in &these {
            // Each pair's error so far is the mean of its rounds' (15 frames each), the score.
            let rounds: Vec<f64> = history(r, round).iter().map(|q| num(q, 4)).collect();
            assert_eq!(rounds.len(), round, "{r:?}");
            let mean = rounds.iter().sum::<f64>() / round as f64;
            assert!(close(num(r, 6), mean) && close(num(r, 12), num(r, 6)), "round {round}: {r:?} {rounds:?}");
        }
        // The stream goes on with the lowest error so far of the pairs that held the bitrate in
        // every round (within 10%).
        let now = these.iter().find(|r| (r[2], r[3]) == (r[7], r[8])).expect("the stream's pair measured");
        let held = |r: &&&Vec<&str>| history(r, round).iter().all(|q| num(q, 5) <= 1.1);
        for r in these.iter().filter(held) {
            assert!(num(now, 6) <= num(r, 6) * (1.0 + 1e-3), "round {round}: {now:?} over {r:?}");
        }
        if round == 1 {
            // The first round's encode of the stream's first pair is the stream's first GOP.
            let first = these.iter().find(|r| r[2..4] == pick[1..3]).unwrap();
            assert!(close(num(first, 4), first_gop), "{first:?}: {first_gop} mm as received");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--preset auto`: a budget no encoder meets steps the stream down from superfast to ultrafast at
/// its first keyframe, once (the encoder reopened, pre-rolled: every frame still decodes); a
/// budget every encoder meets keeps superfast to the end; a container that stores the codec's
/// headers once is refused before anything is sent. Unset, `--preset` is `auto` into MPEG-TS and
/// `ultrafast` into Matroska.
#[test]
fn send_preset_auto_steps_down_over_the_budget() {
    let dir = std::env::temp_dir().join(format!("depthcast-cli-preset-auto-{}", std::process::id()));
    let frames = 36;
    let seq = sequence(&dir, frames);
    let send = |url: &std::path::Path, budget_ms: &str, more: &[&str]| {
        send_command(&seq, url)
            .args(["--preset", "auto", "--budget-ms", budget_ms, "--kbps", "600", "--gop", "12"])
            .args(["--software", "--fast"])
            .args(more)
            .output()
            .unwrap()
    };
    let steps = |err: &str| err.lines().filter(|l| l.starts_with("preset: frames ")).count();

    // Nothing encodes a frame in a microsecond.
    for (name, more) in [
        ("fixed", &["--config", "luma-P8-lin"][..]),
        ("reprobe", &["--auto", "--probe", "--receivers", "h264-8", "--reprobe"][..]),
    ] {
        let video = dir.join(format!("over-{name}.ts"));
        let out = send(&video, "0.001", more);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "send failed: {err}");
        assert!(err.contains("preset: superfast until a GOP's encodes take over 0.0 ms per frame"), "{err}");
        assert!(err.contains("preset: frames 0..12 took ") && err.contains("budget: ultrafast from frame 12"), "{err}");
        assert_eq!(steps(&err), 1, "one step, at the first keyframe: {err}");
        assert!(err.contains("preset: the stream ended at ultrafast;"), "{err}");
        let (header, rows) = recv_rows(&video, &seq);
        let status = header.iter().position(|h| h == "status").unwrap();
        assert_eq!(rows.len(), frames, "every frame decoded: {name}");
        assert!(rows.iter().all(|r| r[status] == "ok"), "{name}: {rows:?}");
    }

    let video = dir.join("within.ts");
    let out = send(&video, "100000", &["--config", "luma-P8-lin"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "send failed: {err}");
    assert_eq!(steps(&err), 0, "{err}");
    assert!(err.contains("preset: the stream ended at superfast;"), "{err}");
    assert_eq!(recv_rows(&video, &seq).1.len(), frames);

    let mkv = dir.join("refused.mkv");
    let out = send(&mkv, "16", &["--config", "luma-P8-lin"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("stores the codec's headers once"), "{err}");
    assert!(!mkv.exists(), "nothing sent");
    let out = send(&dir.join("zero.ts"), "0", &["--config", "luma-P8-lin"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--budget-ms 0: a time per frame above 0 ms"));

    // Unset, `--preset` is `auto` where it runs, and `ultrafast` where it cannot (a container that
    // stores the codec's headers once), instead of being refused there.
    let plain = |url: &std::path::Path| {
        send_command(&seq, url)
            .args(["--kbps", "600", "--gop", "12", "--software", "--fast", "--config", "luma-P8-lin"])
            .output()
            .unwrap()
    };
    let out = plain(&dir.join("default.ts"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "send failed: {err}");
    assert!(err.contains("preset: superfast until a GOP's encodes take over 16.0 ms per frame"), "{err}");
    let out = plain(&dir.join("default.mkv"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "send failed: {err}");
    assert!(!err.contains("preset:"), "a fixed preset: {err}");
    let _ = std::fs::remove_dir_all(&dir);
}
