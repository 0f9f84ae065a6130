//! The browser receiver end to end: real encodes relayed by `depthcast serve` to the page (`web/`)
//! in Debian's headless Chromium, which decodes them with WebCodecs and unpacks them with its
//! WebGL2 shader. The page's depth is read back and compared with the Rust receiver's.
//!
//! Chromium must be installed (`./scripts/dev.sh test` installs it): these tests fail, they do
//! not skip, without it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use depthcast_browser::{Chromium, Page};
use depthcast_codec::{EncoderSettings, RateControl, Refresh, VideoCodec};
use depthcast_packing::{BitDepth, DepthImage, PackingConfig, VbpLayout, testdata};
use depthcast_serve::{Relay, RelayConfig, ServeConfig, Server, Source, SourceConfig};
use depthcast_stream::{DepthReceiver, FrameMeta, ReceiverConfig};

const FPS: f32 = 30.0;

/// One browser test at a time: each runs several software-rendered pages, and the machine has
/// few cores.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Encodes `frames` frames of the built-in game scene into a `.ts` file and returns the source
/// depth maps by frame index.
fn encode_file(
    path: &Path,
    config: &PackingConfig,
    size: (u32, u32),
    frames: u32,
    rate: RateControl,
    bitrate: u64,
) -> Vec<DepthImage> {
    encode_file_bits(path, config, size, frames, rate, bitrate, BitDepth::Eight)
}

/// [`encode_file`] with `bits`-bit planes (10: x264 High 10, or High 4:4:4 when lossless).
fn encode_file_bits(
    path: &Path,
    config: &PackingConfig,
    size: (u32, u32),
    frames: u32,
    rate: RateControl,
    bitrate: u64,
    bits: BitDepth,
) -> Vec<DepthImage> {
    encode_file_codec(path, config, size, frames, (rate, bitrate), bits, VideoCodec::H264)
}

/// [`encode_file_bits`] with `codec`.
fn encode_file_codec(
    path: &Path,
    config: &PackingConfig,
    size: (u32, u32),
    frames: u32,
    (rate, bitrate): (RateControl, u64),
    bits: BitDepth,
    codec: VideoCodec,
) -> Vec<DepthImage> {
    let mut settings = EncoderSettings::new(codec, 0, 0);
    settings.bit_depth = bits;
    settings.rate_control = rate;
    settings.bitrate = bitrate;
    settings.refresh = Refresh::Gop(30);
    settings.force_software = true;
    let url = path.to_str().unwrap();
    let mut enc = depthcast_stream::DepthEncoder::new(settings, config, size.0, size.1, Some(url)).unwrap();
    let mut sources = Vec::new();
    for i in 0..frames {
        let depth = testdata::game_scene(size.0, size.1, i as f32 / FPS);
        let meta = FrameMeta { frame_index: i, sent_unix_us: Some(depthcast_stream::unix_us()), ..Default::default() };
        enc.encode(&depth.view(), config, 0.5, 30.0, &meta).unwrap();
        sources.push(depth);
    }
    enc.finish().unwrap();
    sources
}

/// What the Rust receiver unpacks from `path`, by frame index.
fn rust_unpack(path: &Path) -> BTreeMap<u32, DepthImage> {
    let mut rx = DepthReceiver::new(ReceiverConfig::new(path.to_str().unwrap()));
    let mut out = BTreeMap::new();
    while let Some(frame) = rx.recv().unwrap() {
        out.insert(frame.params.frame_index, frame.depth);
    }
    out
}

/// A server on a free port relaying `url` (files paced in real time unless `pace` is false).
fn serve(url: &str, pace: bool, relay: RelayConfig) -> (Server, Relay, Source) {
    let relay = Relay::new(relay);
    let config = ServeConfig { bind: "127.0.0.1:0".parse().unwrap(), ..ServeConfig::default() };
    let server = Server::start(&config, relay.clone()).unwrap();
    let mut source = SourceConfig::new(url);
    source.pace = pace;
    let source = Source::start(source, relay.clone()).unwrap();
    (server, relay, source)
}

fn stats(page: &Page) -> serde_json::Value {
    page.eval("window.depthcast ? window.depthcast.stats() : null").unwrap()
}

/// The depth maps the page kept (`?collect=N`), by frame index.
fn collected(page: &Page) -> BTreeMap<u32, Vec<f32>> {
    let indices = page.eval("window.depthcast.collected()").unwrap();
    let mut out = BTreeMap::new();
    for i in indices.as_array().unwrap() {
        let i = i.as_u64().unwrap() as u32;
        let b64 = page.eval(&format!("window.depthcast.collectedFrame({i})")).unwrap();
        let bytes = BASE64.decode(b64.as_str().unwrap()).unwrap();
        out.insert(i, bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect());
    }
    out
}

/// Waits until the page has unpacked `n` frames; on timeout, panics with its stats and console.
fn wait_unpacked(page: &Page, n: usize, timeout: Duration) {
    let condition = format!("window.depthcast && window.depthcast.stats().unpacked >= {n}");
    if let Err(e) = page.wait_for(&condition, timeout) {
        panic!("the page did not unpack {n} frames: {e}\nstats: {}\nconsole: {:#?}", stats(page), page.console());
    }
}

/// Mean absolute error in mm over the source's valid pixels.
fn mae_mm(source: &DepthImage, got: &[f32]) -> f64 {
    let (mut sum, mut n) = (0.0f64, 0usize);
    for (&s, &g) in source.data.iter().zip(got) {
        if s > 0.0 && s.is_finite() && s <= 30.0 {
            sum += ((s as f64) - (g as f64)).abs();
            n += 1;
        }
    }
    1000.0 * sum / n.max(1) as f64
}

/// Serves the file at `path` (`frames` frames) to a page and checks that the page's depth equals
/// the Rust receiver's bit for bit; returns the values compared and the page's stats.
fn page_equals_rust_receiver(chromium: &Chromium, path: &Path, frames: u32, id: &str) -> (usize, serde_json::Value) {
    let expected = rust_unpack(path);
    assert_eq!(expected.len(), frames as usize, "{id}: the Rust receiver's frames");
    let (server, _relay, _source) = serve(path.to_str().unwrap(), false, RelayConfig::default());
    let page = chromium.new_page(&format!("{}?collect={frames}", server.url())).unwrap();
    wait_unpacked(&page, frames as usize, Duration::from_secs(180));
    (bit_identical(&expected, &page, frames, id), stats(&page))
}

/// Checks that the depth maps `page` kept equal `expected` bit for bit; returns the values
/// compared.
fn bit_identical(expected: &BTreeMap<u32, DepthImage>, page: &Page, frames: u32, id: &str) -> usize {
    let got = collected(page);
    assert_eq!(got.len(), frames as usize, "{id}: frames kept by the page");
    let mut compared = 0usize;
    for (i, depth) in expected {
        let page_depth = got.get(i).unwrap_or_else(|| panic!("{id}: frame {i} missing in the page"));
        assert_eq!(page_depth.len(), depth.data.len(), "{id} frame {i}: size");
        for (k, (&a, &b)) in depth.data.iter().zip(page_depth).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "{id} frame {i} pixel {k}: Rust {a} page {b}");
        }
        compared += depth.data.len();
    }
    compared
}

#[test]
fn lossless_streams_unpack_bit_exact_in_the_browser() {
    let _serial = serial();
    let chromium = Chromium::launch().unwrap();
    let eight = [
        "vbp-luma-P16-lin-a255-roi-0.40",
        "luma-P8-lin",
        "vbp-chroma-P12-lin-a255",
        "triangle-P16-np1024-lin",
        "hue-lin",
    ];
    let mut configs: Vec<(PackingConfig, BitDepth)> =
        eight.iter().map(|id| (id.parse().unwrap(), BitDepth::Eight)).collect();
    // 10-bit planes: the page gets I420P10 frames.
    configs.push((PackingConfig::luma(BitDepth::Ten), BitDepth::Ten));
    configs.push((PackingConfig::vbp(18, VbpLayout::Luma), BitDepth::Ten));
    let frames = 8;
    for (config, bits) in configs {
        let id = format!("{config}-{}bit", bits.bits());
        let path = tmp(&format!("lossless-{id}.ts"));
        encode_file_bits(&path, &config, (160, 90), frames, RateControl::Lossless, 0, bits);
        let (compared, s) = page_equals_rust_receiver(&chromium, &path, frames, &id);
        println!(
            "{id}: {compared} depth values bit-identical between the page and the Rust receiver (planes {})",
            s["frameFormat"]
        );
    }
}

/// Every format `depthcast_stream::caps::CHROMIUM` says this Chromium decodes (what `send --auto
/// --probe --receivers chromium` chooses among), as a lossy CBR stream: H.264 High and High 10,
/// AV1 at 8 and 10 bits. H.264 and AV1 decoding are exactly specified, so Chromium's decoders
/// and the Rust receiver's give the same planes, and the page's depth equals the Rust receiver's
/// bit for bit.
#[test]
fn every_format_claimed_for_chromium_unpacks_in_the_browser_as_in_the_rust_receiver() {
    let _serial = serial();
    let chromium = Chromium::launch().unwrap();
    let frames = 20;
    for format in depthcast_stream::caps::CHROMIUM {
        let config = match format.bits {
            BitDepth::Ten => PackingConfig::vbp(18, VbpLayout::Luma),
            BitDepth::Eight => PackingConfig::vbp(14, VbpLayout::Luma),
        };
        // AV1 goes into Matroska with this FFmpeg; H.264 into MPEG-TS as a live stream would.
        let ext = if format.codec == VideoCodec::Av1 { "mkv" } else { "ts" };
        let path = tmp(&format!("claimed-{format}.{ext}"));
        let id = format!("{format} {config}");
        let rate = (RateControl::Cbr, 1_000_000);
        encode_file_codec(&path, &config, (160, 90), frames, rate, format.bits, format.codec);
        let (compared, s) = page_equals_rust_receiver(&chromium, &path, frames, &id);
        let planes = if format.bits == BitDepth::Ten { "I420P10" } else { "I420" };
        assert_eq!(s["frameFormat"], planes, "{id}: planes copied out");
        let prefix = match (format.codec, format.bits) {
            (VideoCodec::Av1, _) => "av01.0.",
            (_, BitDepth::Ten) => "avc1.6e", // profile_idc 110: High 10
            _ => "avc1.",
        };
        let codec = s["depth"]["codec"].as_str().unwrap_or_default().to_ascii_lowercase();
        assert!(codec.starts_with(prefix), "{id}: codec string {codec}");
        println!("{id}: {compared} depth values bit-identical between the page and the Rust receiver ({codec})");
    }
}

/// A stream whose encoder `send --reprobe` reopened mid-stream: 8-bit luma, then (at a keyframe,
/// pre-rolled) 10-bit VBP in the luma layout, a new bit depth and frame size on the same
/// MPEG-TS transport. The page follows the change, and its depth equals the Rust receiver's bit
/// for bit on both sides of it.
#[test]
fn a_stream_reopened_for_a_new_bit_depth_and_frame_size_unpacks_in_the_browser() {
    let _serial = serial();
    let chromium = Chromium::launch().unwrap();
    let (frames, switch, size) = (20u32, 10u32, (160, 90));
    let path = tmp("reopened.ts");
    let mut settings = EncoderSettings::new(VideoCodec::H264, 0, 0);
    settings.bitrate = 1_000_000;
    settings.refresh = Refresh::Gop(10);
    settings.force_software = true;
    let (luma8, vbp10) = (PackingConfig::luma(BitDepth::Eight), PackingConfig::vbp(18, VbpLayout::Luma));
    let mut enc =
        depthcast_stream::DepthEncoder::new(settings.clone(), &luma8, size.0, size.1, Some(path.to_str().unwrap()))
            .unwrap();
    let depth = |i: u32| testdata::game_scene(size.0, size.1, i as f32 / FPS);
    let mut config = luma8;
    for i in 0..frames {
        if i == switch {
            config = vbp10;
            let ten = EncoderSettings { bit_depth: BitDepth::Ten, ..settings.clone() };
            let preroll: Vec<DepthImage> = (switch - 5..switch).map(depth).collect();
            enc.reopen(ten, &config, size, &preroll, (0.5, 30.0), i64::from(i)).unwrap();
        }
        let meta = FrameMeta { frame_index: i, sent_unix_us: Some(depthcast_stream::unix_us()), ..Default::default() };
        enc.encode(&depth(i).view(), &config, 0.5, 30.0, &meta).unwrap();
    }
    enc.finish().unwrap();
    let expected = rust_unpack(&path);
    assert_eq!(expected.len(), frames as usize, "the Rust receiver's frames");
    // The page connects before the file starts: a page that joins later gets the relay's cache,
    // which begins at the last keyframe (here the switch).
    let relay = Relay::new(RelayConfig::default());
    let config = ServeConfig { bind: "127.0.0.1:0".parse().unwrap(), ..ServeConfig::default() };
    let server = Server::start(&config, relay.clone()).unwrap();
    let page = chromium.new_page(&format!("{}?collect={frames}", server.url())).unwrap();
    page.wait_for("window.depthcast !== undefined", Duration::from_secs(30)).unwrap();
    // Its script running is not its connection open: an unpaced source is through the file in
    // milliseconds, and a page that connected after the switch would get the last GOP only.
    let t0 = Instant::now();
    while relay.client_count() < 1 {
        assert!(t0.elapsed() < Duration::from_secs(30), "the page never connected");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut source = SourceConfig::new(path.to_str().unwrap());
    source.pace = false;
    let _source = Source::start(source, relay.clone()).unwrap();
    wait_unpacked(&page, frames as usize, Duration::from_secs(180));
    let compared = bit_identical(&expected, &page, frames, "reopened");
    let s = stats(&page);
    assert_eq!(s["frameFormat"], "I420P10", "the last frames' planes: {s}");
    assert_eq!(s["depth"]["keyframes"], 2, "{s}");
    println!("reopened stream: {compared} depth values bit-identical between the page and the Rust receiver");
}

#[test]
fn lossy_stream_error_in_the_browser_matches_the_rust_receiver() {
    let _serial = serial();
    let chromium = Chromium::launch().unwrap();
    let config = PackingConfig::vbp_roi(16, -0.4);
    let frames = 30;
    let path = tmp("lossy-2M.ts");
    let sources = encode_file(&path, &config, (640, 360), frames, RateControl::Cbr, 2_000_000);
    let rust = rust_unpack(&path);
    let (server, _relay, _source) = serve(path.to_str().unwrap(), true, RelayConfig::default());
    let page = chromium.new_page(&format!("{}?collect={frames}", server.url())).unwrap();
    wait_unpacked(&page, frames as usize, Duration::from_secs(180));
    let got = collected(&page);
    let (mut page_mae, mut rust_mae, mut n) = (0.0, 0.0, 0usize);
    for (i, source) in sources.iter().enumerate() {
        let i = i as u32;
        let (Some(p), Some(r)) = (got.get(&i), rust.get(&i)) else {
            panic!("frame {i} missing: page {} rust {}", got.contains_key(&i), rust.contains_key(&i))
        };
        page_mae += mae_mm(source, p);
        rust_mae += mae_mm(source, &r.data);
        n += 1;
    }
    page_mae /= n as f64;
    rust_mae /= n as f64;
    println!("2 Mbit/s, {config}, 640x360, {n} frames: MAE page {page_mae:.4} mm, Rust receiver {rust_mae:.4} mm");
    assert!(rust_mae > 0.0, "a lossy stream has some error");
    assert!(
        (page_mae - rust_mae).abs() <= 0.01 * rust_mae,
        "page {page_mae} mm vs Rust {rust_mae} mm: more than 1% apart"
    );
}

#[test]
fn four_pages_keep_every_frame_while_a_slow_page_skips() {
    let _serial = serial();
    let chromium = Chromium::launch().unwrap();
    let config = PackingConfig::vbp_roi(16, -0.4);
    let frames = 150;
    let path = tmp("fanout.ts");
    encode_file(&path, &config, (320, 180), frames, RateControl::Cbr, 2_000_000);
    // A small queue, so the slow page overflows it within the stream.
    let relay = Relay::new(RelayConfig { queue_packets: 30, ..RelayConfig::default() });
    let server =
        Server::start(&ServeConfig { bind: "127.0.0.1:0".parse().unwrap(), ..ServeConfig::default() }, relay.clone())
            .unwrap();
    let url = server.url();
    // `keep=all`: the pages decode and unpack every frame however late (a live page skips frames
    // it would show late; this machine's software WebGL is slower than the stream).
    let pages: Vec<Page> = (0..4).map(|_| chromium.new_page(&format!("{url}?keep=all")).unwrap()).collect();
    // Another site (localhost, not 127.0.0.1), so it gets its own renderer process: its busy
    // main thread must not be shared with the others'.
    let slow_url = url.replace("127.0.0.1", "localhost");
    let slow = chromium.new_page(&format!("{slow_url}?slow=250")).unwrap();
    let t0 = Instant::now();
    while relay.client_count() < 5 {
        assert!(t0.elapsed() < Duration::from_secs(30), "only {} pages connected", relay.client_count());
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut source = SourceConfig::new(path.to_str().unwrap());
    source.pace = true;
    let started = Instant::now();
    let _source = Source::start(source, relay.clone()).unwrap();
    for page in &pages {
        wait_unpacked(page, frames as usize, Duration::from_secs(180));
    }
    let took = started.elapsed();
    for (k, page) in pages.iter().enumerate() {
        let s = stats(page);
        let d = &s["depth"];
        println!(
            "page {k}: {} chunks, {} decoded, {} unpacked, {} skips",
            d["chunks"], d["decoded"], s["unpacked"], d["discontinuities"]
        );
        assert_eq!(d["chunks"], frames, "page {k} got every packet");
        assert_eq!(d["decoded"], frames, "page {k} decoded every frame");
        assert_eq!(d["discontinuities"], 0, "page {k} was never skipped");
        assert_eq!(d["sequenceGaps"], 0, "page {k} has no gap");
    }
    let relay_stats = relay.stats();
    let skipped = relay_stats.skipped;
    let s = stats(&slow);
    println!(
        "the 4 pages got all {frames} frames in {:.1} s ({:.1} s of stream); the slow page got {} packets, {} skips; the server skipped {skipped} packets for it",
        took.as_secs_f64(),
        frames as f64 / FPS as f64,
        s["depth"]["chunks"],
        s["depth"]["discontinuities"]
    );
    assert!(skipped > 0, "the slow page was skipped: {relay_stats:?}");
}

#[test]
fn the_page_shows_depth_and_a_point_cloud() {
    let _serial = serial();
    let chromium = Chromium::launch().unwrap();
    let config = PackingConfig::vbp_roi(16, -0.4);
    let path = tmp("screenshot.ts");
    encode_file(&path, &config, (640, 360), 60, RateControl::Cbr, 4_000_000);
    // Played in a loop, as a live stream: the page in its live mode shows the newest frames
    // (skipping those it would show late on this machine's software WebGL).
    let relay = Relay::new(RelayConfig::default());
    let server =
        Server::start(&ServeConfig { bind: "127.0.0.1:0".parse().unwrap(), ..ServeConfig::default() }, relay.clone())
            .unwrap();
    let mut source = SourceConfig::new(path.to_str().unwrap());
    source.looping = true;
    let _source = Source::start(source, relay).unwrap();
    let page = chromium.new_page(&server.url()).unwrap();
    page.set_viewport(1280, 720).unwrap();
    wait_unpacked(&page, 20, Duration::from_secs(180));
    // Share of non-black pixels of each view.
    let lit = page
        .eval(
            "Object.fromEntries(['depth', 'cloud'].map((id) => { const c = document.getElementById(id); \
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let lit = 0; \
             for (let i = 0; i < d.length; i += 4) if (Math.max(d[i], d[i + 1], d[i + 2]) > 60) lit++; \
             return [id, lit / (d.length / 4)]; }))",
        )
        .unwrap();
    println!("lit share of the views: {lit}");
    assert!(lit["depth"].as_f64().unwrap() > 0.5, "the false-colour view shows the depth: {lit}");
    assert!(lit["cloud"].as_f64().unwrap() > 0.05, "the point cloud shows points: {lit}");
    let png = page.screenshot_png().unwrap();
    let out = tmp("receiver.png");
    std::fs::write(&out, &png).unwrap();
    println!("screenshot: {} ({} bytes)", out.display(), png.len());
    assert!(png.starts_with(b"\x89PNG"));
}

/// Maps sent at half size (`-half`), lossy, through the page: depth-only streams (8-bit luma and
/// 10-bit VBP in the luma layout, one with an odd half size) rebuilt without a guide equal
/// `DepthReceiver`'s bit for bit; an RGB-D stream's rebuilt with its colour's luma as the guide
/// equals `RgbdReceiver`'s, every frame guided on both sides, and differs from the unguided
/// rebuild (so the guide was used, not ignored).
#[test]
fn half_size_maps_are_rebuilt_in_the_browser_as_in_the_rust_receivers() {
    let _serial = serial();
    let chromium = Chromium::launch().unwrap();
    let frames = 12u32;
    let cases = [
        (PackingConfig::luma(BitDepth::Eight).at_half(), BitDepth::Eight, (320, 180)),
        (PackingConfig::vbp(16, VbpLayout::Luma).at_half(), BitDepth::Ten, (166, 94)),
    ];
    for (config, bits, size) in cases {
        let id = format!("{config}-{}bit {}x{}", bits.bits(), size.0, size.1);
        let path = tmp(&format!("half-{config}-{}.ts", bits.bits()));
        encode_file_bits(&path, &config, size, frames, RateControl::Cbr, 300_000, bits);
        let (compared, s) = page_equals_rust_receiver(&chromium, &path, frames, &id);
        assert_eq!((s["depthHalf"].as_u64(), s["depthGuided"].as_u64()), (Some(frames.into()), Some(0)), "{id}: {s}");
        println!("{id}: {compared} depth values rebuilt from half size, bit-identical to the Rust receiver's");
    }

    // RGB-D: the colour's luma falls with depth, so depth edges are colour edges.
    let (w, h) = (320u32, 180u32);
    let config = PackingConfig::luma(BitDepth::Eight).at_half();
    let path = tmp("half-rgbd.ts");
    let url = path.to_str().unwrap().to_string();
    let mut settings = depthcast_stream::RgbdSettings::new(VideoCodec::H264, 2_000_000);
    settings.depth_share = 0.25;
    settings.gop = 30;
    settings.force_software = true;
    settings.threads = 1;
    let mut enc = depthcast_stream::RgbdEncoder::new(&settings, &config, w, h, Some(&url)).unwrap();
    for i in 0..frames {
        let d = testdata::game_scene(w, h, i as f32 / FPS);
        let mut colour = depthcast_packing::YuvFrame::new(w, h, BitDepth::Eight);
        for (y, &z) in colour.y.iter_mut().zip(&d.data) {
            *y = if depthcast_packing::is_valid_depth(z) { (235.0 - 9.0 * z).clamp(16.0, 235.0) as u16 } else { 8 };
        }
        let camera = depthcast_packing::CameraBlock {
            frame_index: 0,
            pose: depthcast_packing::CameraPose { position: [0.0, 1.5, 4.0], rotation: [0.0, 0.0, 0.0, 1.0] },
            intrinsics: depthcast_packing::Intrinsics::from_fov_y(0.9, w, h, 0.5),
        };
        let meta = FrameMeta { frame_index: i, ..Default::default() };
        enc.encode(&colour, &d.view(), &config, 0.5, 30.0, &meta, &camera).unwrap();
    }
    enc.finish().unwrap();
    let mut rx = depthcast_stream::RgbdReceiver::new(depthcast_stream::RgbdConfig::new(url.clone()));
    let mut guided = BTreeMap::new();
    while let Some(f) = rx.recv().unwrap() {
        if let (Some(i), Some(d)) = (f.frame_index, f.depth) {
            guided.insert(i, d);
        }
    }
    let rs = rx.stats().clone();
    assert_eq!((guided.len(), rs.depth_guided), (frames as usize, u64::from(frames)), "RgbdReceiver: {rs:?}");
    let unguided = rust_unpack(&path);
    let moved: usize = guided
        .iter()
        .map(|(i, d)| d.data.iter().zip(&unguided[i].data).filter(|(a, b)| a.to_bits() != b.to_bits()).count())
        .sum();
    assert!(moved > 0, "the guide changed no pixel: the test would not tell guided from unguided");
    let (server, _relay, _source) = serve(&url, false, RelayConfig::default());
    let page = chromium.new_page(&format!("{}?collect={frames}", server.url())).unwrap();
    wait_unpacked(&page, frames as usize, Duration::from_secs(180));
    let s = stats(&page);
    assert_eq!((s["depthHalf"].as_u64(), s["depthGuided"].as_u64()), (Some(frames.into()), Some(frames.into())), "{s}");
    let compared = bit_identical(&guided, &page, frames, "half RGB-D");
    println!(
        "RGB-D {config} {w}x{h}: {compared} depth values rebuilt with the colour as guide, bit-identical to \
         RgbdReceiver's ({moved} differ from the unguided rebuild)"
    );
}
