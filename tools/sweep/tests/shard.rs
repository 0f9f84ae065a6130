//! A sharded sweep equals the unsharded one: a small grid through the real libx264, once whole and
//! once as 3 shards merged; `summary.json` and `frames.csv` are byte-identical. A merge without one
//! shard fails and names the missing runs; a merge with other grid arguments is refused.

use std::path::{Path, PathBuf};
use std::time::Instant;

use depthcast_packing::{BitDepth, VbpLayout};
use depthcast_sweep::config::{CodecConfig, PackingConfig, PackingGrid, RangeChoice};
use depthcast_sweep::encode::RunOptions;
use depthcast_sweep::shard::{Shard, merge, run_shard};
use depthcast_sweep::{Source, SweepOptions};

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
        threads: 1,
        policies: true,
        predictor_policies: true,
        max_frames: None,
        format_probe: Default::default(),
        reopen_preroll: depthcast_sweep::encode::DEFAULT_REOPEN_PREROLL,
        reprobe: depthcast_sweep::causal::Rounds::default(),
    }
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}/{name}: {e}", dir.display()))
}

#[test]
fn three_shards_merged_equal_the_unsharded_sweep() {
    let root = std::env::temp_dir().join(format!("depthcast-shard-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let sources = [Source::Procedural { width: 96, height: 64, frames: 16, fps: 30.0 }];

    let t = Instant::now();
    let whole = options(root.join("whole"));
    depthcast_sweep::run(&sources, &whole).unwrap();
    let t_whole = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let dirs: Vec<PathBuf> = (0..3).map(|i| root.join(format!("shard{i}"))).collect();
    let mut per_shard = Vec::new();
    let mut all = Vec::new();
    for (i, d) in dirs.iter().enumerate() {
        let f = run_shard(&sources, &options(d.clone()), Shard { index: i, count: 3 }).unwrap();
        assert_eq!((f.shard, f.shards), (i, 3));
        assert!(d.join("shard.json").is_file());
        assert!(!d.join("summary.json").exists(), "a shard does no analysis");
        per_shard.push(f.runs.len());
        all.extend(f.runs);
    }
    let t_shards = t.elapsed().as_secs_f64();
    // 3 bitrates × 4 packings = 12 runs, dealt 4 + 4 + 4, each exactly once.
    assert_eq!(per_shard, vec![4, 4, 4]);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 12);

    // Resuming a finished shard encodes nothing and writes the same shard.json.
    let before = read(&dirs[1], "shard.json");
    let t = Instant::now();
    run_shard(&sources, &options(dirs[1].clone()), Shard { index: 1, count: 3 }).unwrap();
    assert!(t.elapsed().as_secs_f64() < 2.0, "a finished shard resumes without encoding");
    assert_eq!(read(&dirs[1], "shard.json"), before);

    // One shard missing: the merge names its runs.
    let err = merge(&dirs[..2], &sources, &options(root.join("incomplete"))).unwrap_err().to_string();
    assert!(err.contains("missing shards: 2/3"), "{err}");
    assert!(err.contains("4 of the grid's 12 runs are missing"), "{err}");
    let missing_shard = serde_json::from_slice::<serde_json::Value>(&read(&dirs[2], "shard.json")).unwrap();
    for run in missing_shard["runs"].as_array().unwrap() {
        assert!(err.contains(run.as_str().unwrap()), "{err}");
    }
    assert!(!root.join("incomplete/summary.json").exists());

    // Another grid (other bitrates) is refused by fingerprint.
    let mut other = options(root.join("other"));
    other.mbps = vec![0.05, 0.2];
    let err = merge(&dirs, &sources, &other).unwrap_err().to_string();
    assert!(err.contains("another grid"), "{err}");

    let t = Instant::now();
    let merged = options(root.join("merged"));
    merge(&dirs, &sources, &merged).unwrap();
    let t_merge = t.elapsed().as_secs_f64();
    eprintln!(
        "unsharded {t_whole:.1} s; 3 shards {t_shards:.1} s ({per_shard:?} runs); merge (policy runs, analysis) \
         {t_merge:.1} s"
    );
    for name in ["summary.json", "frames.csv", "report.md"] {
        assert!(read(&whole.out, name) == read(&merged.out, name), "{name} differs between unsharded and merged");
    }
    let _ = std::fs::remove_dir_all(&root);
}
