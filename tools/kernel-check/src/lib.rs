//! # depthcast-kernel-check
//!
//! Every SIMD level this CPU runs against the scalar reference, bit for bit, on the main thread
//! only (so it runs under qemu-user, whose thread creation hangs on some machines):
//!
//! - [`rows`], [`scheme_rows`]: every row kernel of `depthcast_packing::simd` (luma-only and VBP;
//!   triangle and hue) on random and edge inputs (NaN, ±∞, 0, negative, subnormal, beyond far;
//!   every tail length; unaligned slices; outputs longer or shorter than the inputs; unusual
//!   constants; arbitrary codes);
//! - [`frames`]: every scheme through [`Packer`](depthcast_packing::Packer) (pack, unpack, and
//!   unpack of noisy and of arbitrary codes), both bit depths, both range modes, odd sizes;
//! - [`resample`]: the half-size rebuild (the receiver's upsampler) at every level, scalar
//!   included, against its one-pixel-at-a-time reference;
//! - [`engine`]: the int8 engine's `matvec` on random layers, and the engine at each level on the
//!   committed validation set.
//!
//! Levels are explicit (`CpuLevel::compiled()` filtered by `is_supported()`), so
//! `DEPTHCAST_CPU_LEVEL` cannot lower what is checked. `tests/kernels.rs` is the runner:
//! `cargo test` runs it natively; `scripts/dev.sh test-arm` cross-builds it for aarch64 and runs
//! it under qemu (NEON).

pub mod engine;
pub mod frames;
pub mod resample;
pub mod rng;
pub mod rows;
pub mod scheme_rows;

use std::fmt::Write as _;

use depthcast_packing::CpuLevel;

/// A value compared bit for bit, shown readably in a mismatch.
pub trait Exact: Copy {
    /// Same bits.
    fn same(self, other: Self) -> bool;
    /// The value for a message.
    fn show(self) -> String;
}

macro_rules! exact_int {
    ($($t:ty),*) => {$(
        impl Exact for $t {
            fn same(self, other: Self) -> bool {
                self == other
            }
            fn show(self) -> String {
                self.to_string()
            }
        }
    )*};
}
exact_int!(u8, u16, u32, i32);

impl Exact for f32 {
    fn same(self, other: Self) -> bool {
        self.to_bits() == other.to_bits()
    }
    fn show(self) -> String {
        format!("{self:e} ({:#010x})", self.to_bits())
    }
}

/// Mismatch messages printed per check before the rest are only counted.
const SHOWN_PER_CHECK: u64 = 3;

/// Comparisons of one check (a kernel or a scheme path) at one level.
#[derive(Debug)]
struct Tally {
    check: String,
    level: CpuLevel,
    runs: u64,
    values: u64,
    mismatches: u64,
}

/// The results of every check: counts per check and level, and the mismatches.
#[derive(Debug, Default)]
pub struct Report {
    tallies: Vec<Tally>,
    printed: usize,
    failed: Vec<String>,
}

impl Report {
    /// An empty report.
    pub fn new() -> Report {
        Report::default()
    }

    fn tally(&mut self, check: &str, level: CpuLevel) -> &mut Tally {
        let i = match self.tallies.iter().position(|t| t.check == check && t.level == level) {
            Some(i) => i,
            None => {
                self.tallies.push(Tally { check: check.to_owned(), level, runs: 0, values: 0, mismatches: 0 });
                self.tallies.len() - 1
            }
        };
        &mut self.tallies[i]
    }

    /// Compares the output `what` of `check` at `level` with scalar's: the same length and the
    /// same bits everywhere. `case(i)` describes the inputs (at index `i`) for a mismatch message.
    /// Returns whether they agree.
    pub fn compare<T: Exact>(
        &mut self,
        check: &str,
        level: CpuLevel,
        case: &dyn Fn(usize) -> String,
        what: &str,
        scalar: &[T],
        got: &[T],
    ) -> bool {
        let t = self.tally(check, level);
        t.runs += 1;
        t.values += scalar.len().min(got.len()) as u64;
        let first = if scalar.len() != got.len() {
            Some(format!("{what}: length {} at scalar vs {}", scalar.len(), got.len()))
        } else {
            scalar.iter().zip(got).position(|(a, b)| !a.same(*b)).map(|i| {
                let differing = scalar.iter().zip(got).filter(|(a, b)| !a.same(**b)).count();
                format!(
                    "{what}[{i}] of {}: scalar {} vs {} {} ({differing} values differ); {}",
                    scalar.len(),
                    scalar[i].show(),
                    level.name(),
                    got[i].show(),
                    case(i)
                )
            })
        };
        let Some(msg) = first else { return true };
        t.mismatches += 1;
        if t.mismatches <= SHOWN_PER_CHECK {
            let msg = format!("MISMATCH {check} at {}: {msg}", level.name());
            println!("{msg}");
            self.failed.push(msg);
        }
        false
    }

    /// Records a failure that is not a comparison (a level that does not run, a broken set-up).
    pub fn fail(&mut self, msg: String) {
        println!("FAIL {msg}");
        self.failed.push(msg);
    }

    /// Prints one line per check and level recorded since the last call.
    pub fn print_new(&mut self) {
        for t in &self.tallies[self.printed..] {
            let status = if t.mismatches == 0 { "ok  " } else { "FAIL" };
            let mut line =
                format!("{status} {:<34} {:<8} {:>6} runs {:>10} values", t.check, t.level.name(), t.runs, t.values);
            if t.mismatches > 0 {
                let _ = write!(line, "  {} runs differ", t.mismatches);
            }
            println!("{line}");
        }
        self.printed = self.tallies.len();
    }

    /// Total values compared.
    pub fn values(&self) -> u64 {
        self.tallies.iter().map(|t| t.values).sum()
    }

    /// Whether every check agreed.
    pub fn passed(&self) -> bool {
        self.failed.is_empty() && self.tallies.iter().all(|t| t.mismatches == 0)
    }

    /// Checks with mismatches and other failures, one line each.
    pub fn failures(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .tallies
            .iter()
            .filter(|t| t.mismatches > 0)
            .map(|t| format!("{} at {}: {} of {} runs differ", t.check, t.level.name(), t.mismatches, t.runs))
            .collect();
        v.extend(self.failed.iter().filter(|m| !m.starts_with("MISMATCH")).cloned());
        v
    }
}

/// The levels other than scalar that this CPU runs, lowest first; prints the ones it skips.
pub fn simd_levels() -> Vec<CpuLevel> {
    let mut v = Vec::new();
    for &level in CpuLevel::compiled() {
        if level == CpuLevel::Scalar {
            continue;
        }
        if level.is_supported() {
            v.push(level);
        } else {
            println!("skip {}: not supported by this CPU", level.name());
        }
    }
    v
}

/// One part of the check: runs at the given levels, records into the report.
type Check = fn(&[CpuLevel], &mut Report);

/// Runs every check at `levels` and prints a line per check and level, and each part's time.
pub fn run_all(levels: &[CpuLevel], report: &mut Report) {
    for &l in levels {
        let runs = depthcast_packing::Packer::new(l).level();
        if runs != l {
            println!("packing at {} runs the {} kernels: checked once", l.name(), runs.name());
        }
    }
    let parts: [(&str, Check); 5] = [
        ("row kernels of luma-only and VBP (depthcast_packing::simd)", rows::check),
        ("row kernels of triangle and hue", scheme_rows::check),
        ("every scheme through Packer", frames::check),
        ("half-size rebuild against its reference, scalar included (depthcast_packing::resample)", resample::check),
        ("int8 engine (depthcast_precision_net)", engine::check),
    ];
    for (name, check) in parts {
        println!("== {name}");
        let start = std::time::Instant::now();
        check(levels, report);
        report.print_new();
        println!("   ({:.1} s)", start.elapsed().as_secs_f64());
    }
}
