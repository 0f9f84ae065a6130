//! Fuzzes the whole receive path on arbitrary container bytes: demux (libavformat) → decode
//! (H.264 / HEVC, libavcodec) → in-band SEI parameters → validation → unpack to metres, through
//! the same `DepthReceiver` that `depthcast recv` and the Bevy plugin use.
//!
//! The first byte picks the file name's extension (even: `.ts`, odd: `.mkv`; libavformat probes
//! the content either way), the rest is written to a file on tmpfs and received until the file
//! ends. Must never panic; a finite file must end; every frame handed out must match its
//! parameters and hold depths inside their range. Seeds: real encodes, `fuzz/seed.sh`.
//! Run: see `fuzz/README.md`.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use depthcast_stream::{DepthReceiver, ReceiveEvent, ReceiverConfig};
use libfuzzer_sys::fuzz_target;

/// More events than any input of the fuzzer's sizes can bring (one per frame, which needs a
/// packet, plus the decoder's delay): reaching it means the receiver did not end a finite file.
const MAX_STEPS: usize = 200_000;

/// The two file names of this process, on tmpfs where there is one.
fn files() -> &'static [String; 2] {
    static FILES: OnceLock<[String; 2]> = OnceLock::new();
    FILES.get_or_init(|| {
        // FFmpeg logs nothing, not even what it calls fatal: the fuzzer's output stays readable.
        depthcast_codec::init();
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Quiet);
        let shm = PathBuf::from("/dev/shm");
        let dir = if shm.is_dir() { shm } else { std::env::temp_dir() };
        let base = dir.join(format!("depthcast-fuzz-{}", std::process::id()));
        ["ts", "mkv"].map(|ext| format!("{}.{ext}", base.display()))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else { return };
    let path = &files()[usize::from(sel & 1)];
    std::fs::write(path, bytes).expect("writing the input file");
    let config = ReceiverConfig {
        // A file never waits for data: a long poll keeps every step to one frame's work.
        poll: Duration::from_secs(30),
        reopen: false,
        ..ReceiverConfig::new(path.clone())
    };
    assert!(!config.is_live());
    let mut rx = DepthReceiver::new(config);
    let mut frames = 0u64;
    let mut ended = false;
    for _ in 0..MAX_STEPS {
        match rx.next_event() {
            Ok(ReceiveEvent::Frame(f)) => {
                frames += 1;
                let p = &f.params;
                p.validate().expect("handed-out parameters validate");
                let d = &f.depth;
                assert_eq!((d.width, d.height), (p.width, p.height), "depth size follows the parameters");
                assert_eq!(d.data.len(), (d.width * d.height) as usize);
                // As in `unpack_planes`: 0 (invalid) or inside near..far, up to f32 rounding of
                // the disparity inverse.
                let slack = 4.0 * (p.far / p.near) * f32::EPSILON + 1e-6;
                for &z in &d.data {
                    assert!(
                        z == 0.0 || (z >= p.near * (1.0 - slack) && z <= p.far * (1.0 + slack)),
                        "{z} outside {p:?}"
                    );
                }
            }
            Ok(ReceiveEvent::Connected | ReceiveEvent::Waiting(_)) => {}
            // A file that ends, or cannot be opened or read (not a stream, no H.264/HEVC).
            Ok(ReceiveEvent::Ended) | Err(_) => {
                ended = true;
                break;
            }
        }
    }
    assert!(ended, "a finite file did not end within {MAX_STEPS} steps: {:?}", rx.stats());
    let s = rx.stats();
    assert_eq!(s.frames, frames);
    assert_eq!(s.invalid_params, s.params_missing + s.params_corrupt + s.params_mismatched, "{s:?}");
    assert!(s.connections <= 1, "a file is opened once: {s:?}");
    // Nothing is left on tmpfs once the fuzzer exits (a failing input's file stays).
    drop(rx);
    let _ = std::fs::remove_file(path);
});
