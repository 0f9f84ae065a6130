//! Sharded sweeps: split a grid's fixed-configuration runs over `N` machines or batch tasks
//! ([`run_shard`]), then put them together and analyse them as one sweep ([`merge`]).
//!
//! Every shard computes the same plan from the same inputs and options: the list of runs of every
//! sequence, each keyed `<sequence>/g<gop>-<preset>/<run id>` (its CSV's path under `runs/`), and
//! a fingerprint of the grid (encoder options, every sequence's name, size, frame count, rate and
//! range, every run key). Runs are dealt to shards by expected cost (frames × packed pixels),
//! largest first, each to the least-loaded shard (ties: lowest key, lowest shard), so shards take
//! about the same time whatever the grid. Shard indices are 0-based: `I/N` with `0 <= I < N`, as
//! Slurm array indices (`--array=0-7`) and Kubernetes indexed Jobs (`JOB_COMPLETION_INDEX`) count.
//!
//! A shard writes its runs' CSVs exactly where an unsharded sweep would, resumes like one (a
//! complete run file is not encoded again) and, once all its runs are complete, writes
//! `shard.json` (`shard`, `shards`, `fingerprint`, `grid`, `runs`). It does no analysis: the
//! oracles and policy re-encodes need every run. [`merge`] checks that the shard folders hold
//! every shard of the same grid and every run complete, copies the run CSVs into its output folder
//! and runs the normal sweep there ([`crate::run`]), which finds every fixed run on disk, encodes
//! the policy runs and writes `summary.json`, `frames.csv`, plots and `report.md`: the same
//! outputs as the unsharded sweep.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::analysis::Cell;
use super::{Source, SweepOptions, execute, fixed_jobs, run_dir};

/// Which share of a sweep's runs this process encodes: shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index, below `count`.
    pub index: usize,
    /// Number of shards (at least 1).
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// Parses `I/N` (0-based: `0/4` .. `3/4`).
    fn from_str(s: &str) -> Result<Shard, String> {
        let (i, n) = s.split_once('/').ok_or_else(|| format!("{s:?}: expected I/N, e.g. 0/4"))?;
        let index: usize = i.trim().parse().map_err(|_| format!("{i:?} is not a shard index"))?;
        let count: usize = n.trim().parse().map_err(|_| format!("{n:?} is not a shard count"))?;
        if count == 0 {
            return Err("the shard count must be at least 1".into());
        }
        if index >= count {
            return Err(format!("shard indices are 0-based: {count} shards are 0/{count} .. {}/{count}", count - 1));
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The `shard.json` a finished shard writes in its output folder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ShardFile {
    /// 0-based shard index.
    pub shard: usize,
    /// Number of shards.
    pub shards: usize,
    /// Fingerprint of the grid (FNV-1a 64 of `grid`, hex); every shard of one sweep has the same.
    pub fingerprint: String,
    /// The canonical description of the grid the fingerprint is taken of, one item a line.
    pub grid: Vec<String>,
    /// Run keys (`<sequence>/g<gop>-<preset>/<run id>`, the CSV's path under `runs/` without
    /// `.csv`) this shard encoded, all complete.
    pub runs: Vec<String>,
}

/// One fixed run of the plan.
struct PlannedRun {
    key: String,
    cost: u64,
}

/// The whole grid as every shard computes it.
struct Plan {
    grid: Vec<String>,
    fingerprint: String,
    /// Runs with their shard, sorted by key.
    runs: Vec<(PlannedRun, usize)>,
    /// Frame count of each sequence, by name.
    frames: BTreeMap<String, usize>,
}

fn fnv1a(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn plan(sources: &[Source], opts: &SweepOptions, count: usize) -> anyhow::Result<Plan> {
    let r = &opts.run;
    let mut grid = vec![
        "depthcast-sweep shard plan v1".to_string(),
        format!("encoder gop={} preset={} software={} threads={}", r.gop, r.preset, r.force_software, r.threads),
    ];
    let mut runs = Vec::new();
    let mut frames = BTreeMap::new();
    for (si, src) in sources.iter().enumerate() {
        let seq = src.load(opts.max_frames)?;
        frames.insert(seq.name.clone(), seq.frames.len());
        grid.push(format!(
            "sequence {} {}x{} frames={} fps={:?} near={:?} far={:?}",
            seq.name,
            seq.width(),
            seq.height(),
            seq.frames.len(),
            seq.fps,
            seq.near,
            seq.far
        ));
        let folder = run_dir(Path::new(""), &seq, opts);
        let folder = folder.strip_prefix("runs").unwrap_or(&folder).to_string_lossy().replace('\\', "/");
        for job in fixed_jobs(&seq, si, opts) {
            let p = job.choices[0].0.params(job.codec.bits, seq.width(), seq.height(), seq.near, seq.far, 0);
            let (w, h) = p.frame_size();
            let cost = seq.frames.len() as u64 * u64::from(w) * u64::from(h);
            runs.push(PlannedRun { key: format!("{folder}/{}", job.id), cost });
        }
    }
    runs.sort_by(|a, b| a.key.cmp(&b.key));
    let keys: BTreeSet<&str> = runs.iter().map(|r| r.key.as_str()).collect();
    anyhow::ensure!(keys.len() == runs.len(), "two runs of the grid have the same file name (sequences of one name?)");
    grid.extend(runs.iter().map(|r| format!("run {}", r.key)));
    let fingerprint = fnv1a(&grid.join("\n"));
    // Largest first, each to the least-loaded shard; ties by key, then by lowest shard.
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&a, &b| runs[b].cost.cmp(&runs[a].cost).then_with(|| runs[a].key.cmp(&runs[b].key)));
    let mut load = vec![0u64; count];
    let mut shard_of = vec![0usize; runs.len()];
    for i in order {
        let k = (0..count).min_by_key(|&k| (load[k], k)).expect("at least one shard");
        load[k] += runs[i].cost;
        shard_of[i] = k;
    }
    Ok(Plan { grid, fingerprint, runs: runs.into_iter().zip(shard_of).collect(), frames })
}

/// Encodes shard `shard`'s share of the grid's fixed runs into `opts.out` (resuming: complete run
/// files are kept) and writes `opts.out/shard.json`. Does no analysis and no policy runs. Returns
/// the `shard.json` written.
///
/// # Errors
/// Unreadable inputs, unwritable outputs, or encoder failures (all failed runs are listed).
pub fn run_shard(sources: &[Source], opts: &SweepOptions, shard: Shard) -> anyhow::Result<ShardFile> {
    anyhow::ensure!(shard.index < shard.count, "shard {shard}: indices are 0-based, below the count");
    let plan = plan(sources, opts, shard.count)?;
    let mine: BTreeSet<&str> =
        plan.runs.iter().filter(|(_, k)| *k == shard.index).map(|(r, _)| r.key.as_str()).collect();
    eprintln!("shard {shard}: {} of the grid's {} runs (grid {})", mine.len(), plan.runs.len(), plan.fingerprint);
    std::fs::create_dir_all(&opts.out)?;
    // A stale shard.json (from an earlier, other shard or grid in this folder) must not outlive
    // this run: it is written again once every run here is complete.
    let json = opts.out.join("shard.json");
    if json.exists() {
        std::fs::remove_file(&json)?;
    }
    for (si, src) in sources.iter().enumerate() {
        let seq = src.load(opts.max_frames)?;
        let dir = run_dir(&opts.out, &seq, opts);
        let folder = run_dir(Path::new(""), &seq, opts);
        let folder = folder.strip_prefix("runs").unwrap_or(&folder).to_string_lossy().replace('\\', "/");
        let jobs: Vec<_> = fixed_jobs(&seq, si, opts)
            .into_iter()
            .filter(|j| mine.contains(format!("{folder}/{}", j.id).as_str()))
            .collect();
        if jobs.is_empty() {
            continue;
        }
        eprintln!("sequence {}/{}: {} ({} runs of this shard)", si + 1, sources.len(), seq.name, jobs.len());
        std::fs::create_dir_all(&dir)?;
        execute(&seq, &dir, jobs, opts, "fixed runs")?;
    }
    let file = ShardFile {
        shard: shard.index,
        shards: shard.count,
        fingerprint: plan.fingerprint,
        grid: plan.grid,
        runs: mine.into_iter().map(str::to_string).collect(),
    };
    let tmp = json.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&file)?)?;
    std::fs::rename(&tmp, &json)?;
    Ok(file)
}

/// Checks that `shard_dirs` hold every shard of the grid `sources` and `opts` describe, each with
/// its runs complete, copies their run CSVs into `opts.out` and runs the whole sweep there
/// ([`crate::run`]: analysis, policy re-encodes, report). `opts.out` may be one of the shard
/// folders.
///
/// # Errors
/// A folder without `shard.json`, shards of another grid or of different counts, a shard given
/// twice, missing shards or runs (named), and whatever [`crate::run`] fails on.
pub fn merge(shard_dirs: &[PathBuf], sources: &[Source], opts: &SweepOptions) -> anyhow::Result<Vec<Cell>> {
    anyhow::ensure!(!shard_dirs.is_empty(), "merge: no shard folders given");
    let mut files = Vec::new();
    for d in shard_dirs {
        let p = d.join("shard.json");
        let text = std::fs::read_to_string(&p).map_err(|e| {
            anyhow::anyhow!("{}: {e} (not a shard folder, or its shard has not finished: run it again)", p.display())
        })?;
        let f: ShardFile = serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
        files.push((d.clone(), f));
    }
    let count = files[0].1.shards;
    if let Some((d, f)) = files.iter().find(|(_, f)| f.shards != count) {
        anyhow::bail!(
            "{} is shard {}/{}, but {} is one of {count} shards: they are not one sweep",
            d.display(),
            f.shard,
            f.shards,
            files[0].0.display()
        );
    }
    let plan = plan(sources, opts, count)?;
    for (d, f) in &files {
        anyhow::ensure!(
            f.fingerprint == plan.fingerprint,
            "{} holds shard {}/{} of another grid (fingerprint {}, this merge's grid {}): give the merge the \
             shards' sequences and grid arguments{}",
            d.display(),
            f.shard,
            f.shards,
            f.fingerprint,
            plan.fingerprint,
            first_difference(&f.grid, &plan.grid)
        );
    }
    let mut by_index: BTreeMap<usize, &PathBuf> = BTreeMap::new();
    for (d, f) in &files {
        if let Some(other) = by_index.insert(f.shard, d) {
            anyhow::bail!("shard {}/{count} given twice: {} and {}", f.shard, other.display(), d.display());
        }
    }
    let missing_shards: Vec<String> =
        (0..count).filter(|k| !by_index.contains_key(k)).map(|k| format!("{k}/{count}")).collect();
    // Every run of the plan must be complete in the folder of the shard that owns it.
    let mut missing = Vec::new();
    let mut copies = Vec::new();
    for (r, k) in &plan.runs {
        let n = plan.frames[r.key.split('/').next().unwrap_or_default()];
        let Some(d) = by_index.get(k) else {
            missing.push(format!("{} (shard {k}/{count})", r.key));
            continue;
        };
        let src = d.join("runs").join(format!("{}.csv", r.key));
        match super::csv::read(&src) {
            Ok(rows) if rows.len() == n => copies.push((src, opts.out.join("runs").join(format!("{}.csv", r.key)))),
            Ok(rows) => missing.push(format!("{} (shard {k}/{count}: {} of {n} frames)", r.key, rows.len())),
            Err(_) => missing.push(format!("{} (shard {k}/{count}: no readable {})", r.key, src.display())),
        }
    }
    if !missing.is_empty() {
        let mut msg = String::new();
        if !missing_shards.is_empty() {
            let _ = write!(msg, "missing shards: {}; ", missing_shards.join(", "));
        }
        let _ = write!(msg, "{} of the grid's {} runs are missing:", missing.len(), plan.runs.len());
        for m in &missing {
            let _ = write!(msg, "\n  {m}");
        }
        anyhow::bail!(msg);
    }
    for (src, dst) in &copies {
        let same = match (src.canonicalize(), dst.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same {
            continue;
        }
        std::fs::create_dir_all(dst.parent().expect("run files live in folders"))?;
        let tmp = dst.with_extension("csv.tmp");
        std::fs::copy(src, &tmp)?;
        std::fs::rename(&tmp, dst)?;
    }
    eprintln!("merge: {count} shards, {} runs copied into {}", copies.len(), opts.out.display());
    super::run(sources, opts)
}

fn first_difference(a: &[String], b: &[String]) -> String {
    let i = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    match (a.get(i), b.get(i)) {
        (None, None) => String::new(),
        (x, y) => format!(
            " (first difference: shard has {:?}, merge has {:?})",
            x.map_or("nothing", String::as_str),
            y.map_or("nothing", String::as_str)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parses_0_based_and_refuses_out_of_range() {
        assert_eq!("0/3".parse::<Shard>(), Ok(Shard { index: 0, count: 3 }));
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        for bad in ["3/2", "2/2", "1/0", "x/2", "1", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert!("3/2".parse::<Shard>().unwrap_err().contains("0-based"));
    }
}
