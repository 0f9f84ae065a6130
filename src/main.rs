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
    /// The main demo: streams a built-in depth scene over loopback UDP and writes demo-out/.
    #[cfg(feature = "bevy")]
    Demo(cli::demo::Args),
    /// Packs a built-in frame with every scheme and prints the round-trip errors (no codec).
    Roundtrip(cli::roundtrip::Args),
    /// Times packing and unpacking (scalar vs SIMD vs a plain copy).
    Bench(cli::bench::Args),
    /// Renders a glTF scene headless along a camera path into a depth sequence.
    #[cfg(feature = "bevy")]
    Render(cli::render::Args),
    /// Lists the encoder back-ends, whether compiled in and usable here, and why not.
    Encoders(cli::encoders::Args),
    /// Packs a depth sequence, encodes it with in-band parameters and streams it to a URL.
    Send(cli::send::Args),
    /// Receives a stream, decodes and unpacks it, writes a depth sequence and per-frame stats.
    Recv(cli::recv::Args),
    /// Serves the browser receiver: relays a stream (or the built-in scene) to pages over
    /// WebSocket.
    Serve(cli::serve::Args),
    /// Bitrate–error sweeps over packing configurations, with oracles and policy runs.
    Sweep(cli::sweep::Args),
    /// What the player sees of an RGB-D stream: stale vs reprojected colour (PSNR, SSIM) over
    /// total bitrates and depth shares.
    RgbdSweep(cli::rgbd_sweep::Args),
    /// Predicts the packing configuration per frame (int8 network), and builds its training data.
    Predict(cli::predict::Args),
}

fn main() -> std::process::ExitCode {
    if std::env::var_os("SVT_LOG").is_none() {
        // SVT-AV1 prints a banner and its configuration to stderr for every encoder it opens
        // (the sweep opens hundreds) unless SVT_LOG says otherwise; 1 keeps its errors.
        // SAFETY: the first statement of main: no other thread exists yet to read the
        // environment.
        unsafe { std::env::set_var("SVT_LOG", "1") };
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line with the chain of causes (no backtrace: these are a user's errors); a
            // cause that its context already quotes is not repeated.
            let mut line = e.to_string();
            for cause in e.chain().skip(1) {
                let c = cause.to_string();
                if !line.ends_with(&c) {
                    line = format!("{line}: {c}");
                }
            }
            eprintln!("error: {line}");
            std::process::ExitCode::from(cli::exit::code(&e))
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        #[cfg(feature = "bevy")]
        Command::Demo(a) => cli::demo::run(a),
        Command::Roundtrip(a) => cli::roundtrip::run(a),
        Command::Bench(a) => cli::bench::run(a),
        #[cfg(feature = "bevy")]
        Command::Render(a) => cli::render::run(a),
        Command::Encoders(a) => cli::encoders::run(a),
        Command::Send(a) => cli::send::run(a),
        Command::Recv(a) => cli::recv::run(a),
        Command::Serve(a) => cli::serve::run(a),
        Command::Sweep(a) => cli::sweep::run(a),
        Command::RgbdSweep(a) => cli::rgbd_sweep::run(a),
        Command::Predict(a) => cli::predict::run(a),
    }
}
