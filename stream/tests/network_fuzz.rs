//! Network fuzzing of the UDP receiver, on loopback and bounded in time (a few seconds): the
//! datagrams of a real MPEG-TS stream bit-flipped, truncated, duplicated, reordered, glued, lost
//! and interleaved with random and TS-like junk (a seeded PRNG, so a run replays), sent to a
//! listening `DepthReceiver`, and then the clean stream, which must arrive. Every frame handed out
//! on the way must match its parameters.
//!
//! - a live stream damaged in transit: from the first clean keyframe on, every frame equals what
//!   the same bytes give when read from a file;
//! - garbage and a mutated stream before any stream, then a clean one (ignored until
//!   `PacketReceiver::open` only accepts the URL's container: today mutated MPEG-TS can probe as
//!   MPEG-PS and the open then reads for as long as data comes).
//!
//! Also the seed corpus of the `receive_path` fuzz target (`fuzz/seed.sh`, an ignored test here).

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use depthcast_codec::{EncoderSettings, Refresh, VideoCodec};
use depthcast_packing::{BitDepth, DepthImage, Metrics, PackingConfig, VbpLayout, testdata};
use depthcast_stream::{
    DepthEncoder, DepthReceiver, FrameMeta, ReceiveEvent, ReceivedFrame, ReceiverConfig, ReceiverStats,
};

const W: u32 = 96;
const H: u32 = 64;
const NEAR: f32 = 0.5;
const FAR: f32 = 30.0;
/// MPEG-TS over UDP: seven 188-byte packets a datagram.
const DATAGRAM: usize = 7 * 188;
/// Frame period of the paced senders (30 fps).
const PERIOD: Duration = Duration::from_millis(33);

/// xorshift64*: deterministic, so a failing run replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn settings(codec: VideoCodec, bits: BitDepth, gop: u32) -> EncoderSettings {
    let mut s = EncoderSettings::new(codec, W, H);
    s.bit_depth = bits;
    s.bitrate = 1_000_000;
    s.fps = (30, 1);
    s.refresh = Refresh::Gop(gop);
    s.force_software = true;
    s.threads = 1;
    s
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("depthcast-netfuzz-{}-{name}", std::process::id()))
}

fn config() -> PackingConfig {
    PackingConfig::vbp(12, VbpLayout::Chroma)
}

fn source(n: usize, w: u32, h: u32) -> Vec<DepthImage> {
    (0..n).map(|i| testdata::game_scene(w, h, i as f32 / 30.0)).collect()
}

/// A stream encoded into a file, as a UDP sender writes it.
struct Recording {
    /// The file.
    bytes: Vec<u8>,
    /// Length of the file once frame `i` was written (the muxer flushes every packet, and a UDP
    /// sender sends what it wrote).
    ends: Vec<usize>,
    /// Frames the encoder made keyframes.
    keyframes: Vec<u32>,
    /// What a receiver reading the file gets, by frame index.
    decoded: BTreeMap<u32, DepthImage>,
}

/// Encodes `src` with `config` into the file `path` (`.ts` or `.mkv`); the file's length after
/// each frame and the keyframes.
fn encode_file(path: &Path, s: EncoderSettings, config: &PackingConfig, src: &[DepthImage]) -> (Vec<usize>, Vec<u32>) {
    let (w, h) = (src[0].width, src[0].height);
    let url = path.to_string_lossy().into_owned();
    let mut enc = DepthEncoder::new(s, config, w, h, Some(&url)).unwrap();
    let (mut ends, mut keyframes) = (Vec::new(), Vec::new());
    for (i, f) in src.iter().enumerate() {
        let meta = FrameMeta { frame_index: i as u32, sent_unix_us: Some(1), ..FrameMeta::default() };
        let e = enc.encode(&f.view(), config, NEAR, FAR, &meta).unwrap();
        if e.packets.iter().any(|p| p.keyframe) {
            keyframes.push(i as u32);
        }
        ends.push(std::fs::metadata(path).unwrap().len() as usize);
    }
    enc.finish().unwrap();
    (ends, keyframes)
}

/// Records `src` as MPEG-TS (a keyframe every `gop` frames) and reads it back from the file.
fn record(src: &[DepthImage], gop: u32) -> Recording {
    let path = temp(&format!("recording-{gop}.ts"));
    let (ends, keyframes) = encode_file(&path, settings(VideoCodec::H264, BitDepth::Eight, gop), &config(), src);
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len().is_multiple_of(188), "{} bytes of MPEG-TS", bytes.len());
    let mut rx = DepthReceiver::new(ReceiverConfig::new(path.to_string_lossy()));
    let mut decoded = BTreeMap::new();
    while let Some(f) = rx.recv().unwrap() {
        decoded.insert(f.params.frame_index, f.depth);
    }
    std::fs::remove_file(&path).ok();
    assert_eq!(decoded.len(), src.len(), "the recording reads back whole: {:?}", rx.stats());
    Recording { bytes, ends, keyframes, decoded }
}

/// Depth sizes follow the parameters and every depth is 0 or inside near..far.
fn check_frame(f: &ReceivedFrame) {
    let (p, d) = (&f.params, &f.depth);
    assert_eq!((d.width, d.height, d.data.len()), (p.width, p.height, (p.width * p.height) as usize));
    let slack = 4.0 * (p.far / p.near) * f32::EPSILON + 1e-6;
    assert!(
        d.data.iter().all(|&z| z == 0.0 || (z >= p.near * (1.0 - slack) && z <= p.far * (1.0 + slack))),
        "a depth outside {p:?}"
    );
}

/// Damages datagrams the ways a network and an attacker can.
struct Mutator {
    rng: Rng,
    /// A datagram held back, to go out after the next one (reordering).
    held: Option<Vec<u8>>,
    /// The previous datagram, to glue to another.
    last: Vec<u8>,
}

impl Mutator {
    fn new(seed: u64) -> Self {
        Mutator { rng: Rng(seed), held: None, last: Vec::new() }
    }

    /// Random junk of random length up to a jumbo datagram.
    fn junk(&mut self) -> Vec<u8> {
        let len = 1 + self.rng.below(1500);
        self.rng.bytes(len)
    }

    /// What the network makes of datagram `d`: nothing, itself, or damaged copies.
    fn mutate(&mut self, d: &[u8], out: &mut Vec<Vec<u8>>) {
        let rng = &mut self.rng;
        let n = out.len();
        match rng.below(12) {
            // Intact: parts of the stream get through between the damage.
            0..=2 => out.push(d.to_vec()),
            // A few flipped bits anywhere (TS headers, PES headers, SEI, slices).
            3 | 4 => {
                let mut m = d.to_vec();
                for _ in 0..1 + rng.below(8) {
                    let bit = rng.below(8 * m.len());
                    m[bit / 8] ^= 1 << (bit % 8);
                }
                out.push(m);
            }
            // Truncated, mostly off the 188-byte grid.
            5 => out.push(d[..rng.below(d.len())].to_vec()),
            // Duplicated.
            6 => out.extend([d.to_vec(), d.to_vec()]),
            // Held back, to come after the next one.
            7 if self.held.is_none() => self.held = Some(d.to_vec()),
            // Lost.
            7 => {}
            // TS-like junk: sync bytes in place, often the real packets' headers, random payload.
            8 => {
                let mut m = rng.bytes(d.len());
                for (k, p) in m.chunks_mut(188).enumerate() {
                    p[0] = 0x47;
                    if rng.below(2) == 0 && d.len() >= (k + 1) * 188 {
                        p[1..4].copy_from_slice(&d[k * 188 + 1..k * 188 + 4]);
                    }
                }
                out.push(m);
            }
            // Random bytes over one of its 188-byte packets.
            9 if d.len() >= 188 => {
                let mut m = d.to_vec();
                let k = rng.below(m.len() / 188);
                let junk = rng.bytes(188);
                m[k * 188..(k + 1) * 188].copy_from_slice(&junk);
                out.push(m);
            }
            // Glued to the previous datagram, into one.
            9 | 10 => {
                let mut m = self.last.clone();
                m.extend_from_slice(d);
                out.push(m);
            }
            // Random junk in front of it.
            _ => {
                let j = self.junk();
                out.extend([j, d.to_vec()]);
            }
        }
        if out.len() > n
            && let Some(h) = self.held.take()
        {
            out.push(h);
        }
        self.last = d.to_vec();
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// What a receiver thread saw: the frames (index, keyframe flag, depth), how it ended, its stats.
type Received = (Vec<Frame>, Result<(), String>, ReceiverStats);

/// A received frame: its index, the demuxer's keyframe flag, the depth.
type Frame = (u32, bool, DepthImage);

/// Receives from `url` until `stop`, `enough` says so of the frames so far, or an error;
/// `connected` is set at the first frame.
fn spawn_receiver(
    url: String,
    enough: impl Fn(&[Frame]) -> bool + Send + 'static,
    connected: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Received> {
    let config = ReceiverConfig { poll: Duration::from_millis(300), ..ReceiverConfig::new(url) };
    std::thread::spawn(move || {
        let mut rx = DepthReceiver::new(config);
        let mut frames = Vec::new();
        let result = loop {
            if stop.load(Ordering::Relaxed) {
                break Ok(());
            }
            match rx.next_event() {
                Ok(ReceiveEvent::Frame(f)) => {
                    check_frame(&f);
                    connected.store(true, Ordering::Relaxed);
                    frames.push((f.params.frame_index, f.keyframe, f.depth));
                    if enough(&frames) {
                        break Ok(());
                    }
                }
                Ok(ReceiveEvent::Ended) => break Err("the live stream ended for good".to_string()),
                Ok(ReceiveEvent::Connected | ReceiveEvent::Waiting(_)) => {}
                Err(e) => break Err(e.to_string()),
            }
        };
        (frames, result, rx.stats().clone())
    })
}

/// A live stream mutated in transit: the receiver is connected to a clean stream, then a
/// stretch of it is damaged in every way (and junk comes with it), then it is clean again. The
/// receiver must resynchronise at the first clean keyframe and from there on give exactly what
/// the same bytes give from a file.
#[test]
fn a_stream_mutated_in_transit_recovers_at_the_next_keyframe() {
    let t0 = Instant::now();
    // Head: until the receiver has a frame (at most 90 frames), then 30 damaged, then 40 clean.
    const MAX_HEAD: usize = 90;
    const DAMAGED: usize = 30;
    const TAIL: usize = 40;
    let src = source(MAX_HEAD + DAMAGED + TAIL, W, H);
    let rec = record(&src, 10);
    println!("recorded in {:.2} s", t0.elapsed().as_secs_f64());

    let port = free_udp_port();
    let (connected, stop) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    // The last frame is known once the damage has begun.
    let last = Arc::new(AtomicU32::new(u32::MAX));
    let receiver = {
        let last = last.clone();
        let enough = move |f: &[Frame]| f.last().is_some_and(|f| f.0 >= last.load(Ordering::Relaxed));
        spawn_receiver(format!("udp://127.0.0.1:{port}"), enough, connected.clone(), stop.clone())
    };

    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let send = |d: &[u8]| {
        // A datagram lost on the way is part of the test.
        let _ = tx.send_to(d, ("127.0.0.1", port));
    };
    let mut mutator = Mutator::new(0x5eed_d3b7_4ca5_7001);
    let (mut damage_from, mut clean_from) = (None, None);
    let (mut datagrams, mut damaged) = (0usize, 0usize);
    let start = Instant::now();
    for i in 0..src.len() {
        if damage_from.is_none() && (connected.load(Ordering::Relaxed) || i == MAX_HEAD) {
            damage_from = Some(i);
            last.store((i + DAMAGED + TAIL - 1) as u32, Ordering::Relaxed);
        }
        if damage_from.is_some_and(|d| i == d + DAMAGED) {
            clean_from = Some(i);
        }
        if clean_from.is_some_and(|c| i == c + TAIL) {
            break;
        }
        std::thread::sleep((start + PERIOD * i as u32).saturating_duration_since(Instant::now()));
        // The datagrams a UDP sender sends for frame i: full ones, and the rest (it flushes
        // after every packet).
        let mut out = Vec::new();
        for d in rec.bytes[if i == 0 { 0 } else { rec.ends[i - 1] }..rec.ends[i]].chunks(DATAGRAM) {
            if damage_from.is_some() && clean_from.is_none() {
                mutator.mutate(d, &mut out);
                damaged += 1;
            } else {
                out.push(d.to_vec());
            }
        }
        for d in &out {
            send(d);
        }
        datagrams += out.len();
    }
    let (damage_from, clean_from) = (damage_from.unwrap(), clean_from.expect("the stream went on past the damage"));
    let last = last.load(Ordering::Relaxed);
    // The receiver has a little while for what is still queued.
    let deadline = Instant::now() + Duration::from_secs(3);
    while !receiver.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    let (frames, result, stats) = receiver.join().unwrap();
    let resync = *rec.keyframes.iter().find(|&&k| k as usize >= clean_from).expect("a keyframe after the damage");
    let during: Vec<u32> =
        frames.iter().map(|f| f.0).filter(|&i| i as usize >= damage_from && (i as usize) < clean_from).collect();
    let after: Vec<&Frame> = frames.iter().filter(|f| f.0 >= resync).collect();
    println!(
        "frames {damage_from}..{clean_from} damaged ({damaged} datagrams in, {datagrams} sent in all); \
         received {} frames before, {} during ({during:?}), {} from the keyframe at {resync} to {last}; \
         {:.2} s; {result:?}; {stats:?}",
        frames.iter().filter(|f| (f.0 as usize) < damage_from).count(),
        during.len(),
        after.len(),
        t0.elapsed().as_secs_f64()
    );
    result.unwrap();
    assert!(frames.iter().any(|f| (f.0 as usize) < damage_from), "connected before the damage: {stats:?}");
    assert!(stats.decode_errors + stats.invalid_params + stats.gaps > 0, "the damage did something: {stats:?}");
    // Every frame from the first clean keyframe on, in order, as read from the file.
    let got: Vec<u32> = after.iter().map(|f| f.0).collect();
    assert_eq!(got, (resync..=last).collect::<Vec<_>>(), "{stats:?}");
    for (i, _, depth) in after {
        assert!(*depth == rec.decoded[i], "frame {i} differs from the file's");
    }
    let worst = frames.iter().map(|(i, _, d)| Metrics::compute(&src[*i as usize].view(), &d.view(), NEAR, FAR).mae);
    println!("worst MAE of any frame received: {:.4} m", worst.fold(0.0, f64::max));
}

/// Before any stream: random datagrams, then a real stream's datagrams mutated over and over,
/// then a clean stream. The receiver opens, is refused, reopens, decodes what survives; the
/// clean stream must then arrive.
///
/// Without the demuxer whitelist in `PacketReceiver::open` this hung: mutated MPEG-TS probes as
/// MPEG-PS, whose stream-info search reads for as long as data comes.
#[test]
fn mutated_datagrams_before_the_stream_then_a_clean_stream() {
    let t0 = Instant::now();
    let src = source(30, W, H);
    let rec = record(&src, 5);
    let datagrams: Vec<&[u8]> = rec.bytes.chunks(DATAGRAM).collect();
    let mut mutator = Mutator::new(0x0dd5_eed5_1234_5678);
    let mut garbage: Vec<Vec<u8>> = (0..600).map(|_| mutator.junk()).collect();
    for round in 0..4 {
        for d in &datagrams {
            mutator.mutate(d, &mut garbage);
        }
        garbage.extend((0..50 * (round + 1)).map(|_| mutator.rng.bytes(DATAGRAM)));
    }

    // The clean stream's frame indices start past the mutated stream's.
    const CLEAN: u32 = 1000;
    let port = free_udp_port();
    let url = format!("udp://127.0.0.1:{port}");
    let (connected, stop) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let enough = |f: &[Frame]| f.iter().filter(|f| f.0 >= CLEAN).count() >= 30;
    let receiver = spawn_receiver(url.clone(), enough, connected, stop.clone());
    std::thread::sleep(Duration::from_millis(100));
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    for burst in garbage.chunks(32) {
        for d in burst {
            let _ = tx.send_to(d, ("127.0.0.1", port));
        }
        std::thread::sleep(Duration::from_millis(2));
    }

    // Then the clean stream, paced, a keyframe every 10 frames, until the receiver has 30 frames
    // of it or 12 s passed.
    let config = config();
    let mut enc = DepthEncoder::new(
        settings(VideoCodec::H264, BitDepth::Eight, 10),
        &config,
        W,
        H,
        Some(&format!("{url}?pkt_size={DATAGRAM}")),
    )
    .unwrap();
    let start = Instant::now();
    let mut sent = 0u32;
    while !receiver.is_finished() && start.elapsed() < Duration::from_secs(12) {
        std::thread::sleep((start + PERIOD * sent).saturating_duration_since(Instant::now()));
        let meta = FrameMeta { frame_index: CLEAN + sent, ..FrameMeta::default() };
        enc.encode(&src[sent as usize % 30].view(), &config, NEAR, FAR, &meta).unwrap();
        sent += 1;
    }
    enc.finish().unwrap();
    stop.store(true, Ordering::Relaxed);
    let (frames, result, stats) = receiver.join().unwrap();
    let clean: Vec<&Frame> = frames.iter().filter(|f| f.0 >= CLEAN).collect();
    // From its first keyframe on, the clean stream decodes from clean references only.
    let from_key: Vec<_> = clean.iter().skip_while(|f| !f.1).collect();
    let worst = from_key
        .iter()
        .map(|(i, _, d)| Metrics::compute(&src[(i - CLEAN) as usize % 30].view(), &d.view(), NEAR, FAR).mae)
        .fold(0.0, f64::max);
    println!(
        "{} garbage datagrams; {sent} clean frames sent; received {} frames of the mutated stream, {} clean, \
         {} from a keyframe (worst MAE {worst:.4} m); {:.2} s; {result:?}; {stats:?}",
        garbage.len(),
        frames.len() - clean.len(),
        clean.len(),
        from_key.len(),
        t0.elapsed().as_secs_f64()
    );
    result.unwrap();
    assert!(from_key.len() >= 10, "the clean stream arrived: {stats:?}");
    assert!(from_key.windows(2).all(|w| w[1].0 > w[0].0), "in order");
    // VBP P12 over 29.5 m is 7 mm a step; 1 Mbit/s at this size leaves a few steps.
    assert!(worst < 0.06, "clean frames came back with MAE up to {worst} m");
    assert!(stats.failed_opens + stats.decode_errors + stats.invalid_params > 0, "the garbage arrived: {stats:?}");
}

/// The seed corpus of the `receive_path` fuzz target: tiny real encodes (64x36, four frames, a
/// keyframe every two) of every scheme, H.264 and HEVC, 8 and 10 bits, in MPEG-TS and Matroska,
/// each behind the target's selector byte (0: `.ts`, 1: `.mkv`). Each is checked to come back
/// whole through `DepthReceiver`. Writes to `$DEPTHCAST_FUZZ_SEEDS` (`fuzz/seed.sh` sets it).
#[test]
#[ignore = "writes the fuzz seed corpus; run by fuzz/seed.sh"]
fn fuzz_seed_corpus() {
    let dir = std::env::var_os("DEPTHCAST_FUZZ_SEEDS").map_or_else(|| temp("seeds"), Into::into);
    std::fs::create_dir_all(&dir).unwrap();
    let (w, h) = (64, 36);
    let src: Vec<DepthImage> = (0..4).map(|i| testdata::game_scene(w, h, i as f32 / 10.0)).collect();
    let eight = BitDepth::Eight;
    let cases = [
        (VideoCodec::H264, eight, PackingConfig::luma(eight)),
        (VideoCodec::H264, eight, PackingConfig::vbp_roi(16, -0.4)),
        (VideoCodec::H264, eight, PackingConfig::triangle(14, 0, eight)),
        (VideoCodec::H264, eight, PackingConfig::hue()),
        (VideoCodec::H264, BitDepth::Ten, PackingConfig::vbp(14, VbpLayout::Chroma)),
        (VideoCodec::Hevc, eight, PackingConfig::vbp(12, VbpLayout::Chroma)),
        (VideoCodec::Hevc, BitDepth::Ten, PackingConfig::luma(BitDepth::Ten)),
    ];
    let mut total = 0;
    for (codec, bits, config) in cases {
        for (sel, ext) in [(0u8, "ts"), (1, "mkv")] {
            let mut s = settings(codec, bits, 2);
            s.bitrate = 200_000;
            s.regions_of_interest = config.high_plane_qoffset().is_some();
            let name = format!("{}-{}bit-{config}.{ext}", codec.name(), bits.bits());
            let file = temp(&name);
            encode_file(&file, s, &config, &src);
            let mut rx = DepthReceiver::new(ReceiverConfig::new(file.to_string_lossy()));
            let mut n = 0;
            while let Some(f) = rx.recv().unwrap() {
                check_frame(&f);
                n += 1;
            }
            assert_eq!(n, src.len(), "{name}: every frame back: {:?}", rx.stats());
            let mut seed = vec![sel];
            seed.extend(std::fs::read(&file).unwrap());
            std::fs::remove_file(&file).ok();
            total += seed.len();
            println!("{name}: {} bytes", seed.len());
            std::fs::write(dir.join(name), seed).unwrap();
        }
    }
    println!("{total} bytes of seeds in {}", dir.display());
}
