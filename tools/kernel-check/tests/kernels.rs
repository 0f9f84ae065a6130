//! The kernel check's runner (no libtest harness, never spawns a thread): every SIMD level this CPU
//! runs against scalar, bit for bit, one line per check; exits non-zero on any mismatch.
//!
//! `--require LEVEL` (repeatable) fails unless LEVEL is among the checked levels: `scripts/dev.sh
//! test-arm` passes `--require neon`, so an emulator without NEON cannot pass by checking nothing.
//! `--list` prints nothing (there are no libtest tests to list); other arguments (libtest's,
//! passed by `cargo test -- ...`) are ignored.

use std::process::ExitCode;
use std::time::Instant;

use depthcast_kernel_check::{Report, run_all, simd_levels};
use depthcast_packing::CpuLevel;

fn main() -> ExitCode {
    let start = Instant::now();
    let mut required = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--list" {
            // A test lister (`cargo test -- --list`, nextest) asks what is here: no libtest tests.
            return ExitCode::SUCCESS;
        }
        if a == "--require" {
            match args.next() {
                Some(name) => required.push(name),
                None => {
                    eprintln!("--require needs a level name");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    println!(
        "kernel check on {} ({}): SIMD levels against scalar, bit for bit",
        std::env::consts::ARCH,
        CpuLevel::compiled().iter().map(|l| l.name()).collect::<Vec<_>>().join(", ")
    );
    if let Ok(v) = std::env::var("DEPTHCAST_CPU_LEVEL") {
        println!("DEPTHCAST_CPU_LEVEL={v} is ignored here: the check runs each level explicitly");
    }
    let levels = simd_levels();
    let mut report = Report::new();
    for name in &required {
        if !levels.iter().any(|l| l.name() == name) {
            report.fail(format!("required level {name} is not supported (or not compiled) here"));
        }
    }
    if levels.is_empty() {
        println!("no SIMD level runs on this CPU: nothing to compare");
    } else {
        println!("checking: {}", levels.iter().map(|l| l.name()).collect::<Vec<_>>().join(", "));
        run_all(&levels, &mut report);
    }
    let secs = start.elapsed().as_secs_f64();
    if report.passed() {
        println!("kernel check passed: {} values compared in {secs:.1} s", report.values());
        ExitCode::SUCCESS
    } else {
        println!("kernel check FAILED ({secs:.1} s):");
        for f in report.failures() {
            println!("  {f}");
        }
        ExitCode::FAILURE
    }
}
