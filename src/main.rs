//! The `depthcast` command-line tool. `depthcast --help` lists the subcommands.

use clap::{Parser, Subcommand};

mod cli;

/// Depth maps over standard video codecs.
#[derive(Parser, Debug)]
#[command(name = "depthcast", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs the main demo on built-in defaults (no files needed).
    Demo(cli::demo::Args),
    /// Times packing and unpacking (scalar vs SIMD vs a plain copy).
    Bench(cli::bench::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(a) => cli::demo::run(a),
        Command::Bench(a) => cli::bench::run(a),
    }
}
