//! `depthcast serve` end to end on real components (libx264, libavformat, loopback TCP and UDP):
//! streams made with the encoder, served, read by WebSocket clients (no browser).

use std::io::{Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use depthcast_codec::sei::{self, NalFormat};
use depthcast_codec::{EncodedPacket, EncoderSettings, PacketReceiver, ReceivedPacket, ReceiverOptions, VideoCodec};
use depthcast_packing::{BitDepth, CameraBlock, CameraPose, Intrinsics, PackingConfig, RgbImage, YuvFrame, testdata};
use depthcast_serve::{
    FLAG_DISCONTINUITY, FLAG_KEYFRAME, HEADER_LEN, PTS_UNKNOWN, Relay, RelayConfig, ServeConfig, Server, Source,
    SourceConfig, TrackSpec,
};
use depthcast_stream::{DepthEncoder, FrameMeta, RgbdEncoder, RgbdSettings};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

const W: u32 = 160;
const H: u32 = 96;

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("depthcast-serve-{}-{name}", std::process::id()))
}

fn config() -> PackingConfig {
    PackingConfig::vbp_roi(16, -0.4)
}

fn settings(gop: u32, bitrate: u64, w: u32, h: u32) -> EncoderSettings {
    let mut s = EncoderSettings::new(VideoCodec::H264, w, h);
    s.refresh = depthcast_codec::Refresh::Gop(gop);
    s.bitrate = bitrate;
    s.force_software = true;
    s.threads = 1;
    s
}

fn meta(i: usize) -> FrameMeta {
    FrameMeta { frame_index: i as u32, ..Default::default() }
}

/// Encodes `n` frames of the built-in scene into `url` (a file, or udp:// paced at 30 fps).
fn write_depth(url: &str, n: usize, gop: u32, pace: bool) {
    write_depth_with(url, n, gop, pace, VideoCodec::H264);
}

/// As [`write_depth`] with `codec`.
fn write_depth_with(url: &str, n: usize, gop: u32, pace: bool, codec: VideoCodec) {
    let s = EncoderSettings { codec, ..settings(gop, 1_000_000, W, H) };
    let mut enc = DepthEncoder::new(s, &config(), W, H, Some(url)).unwrap();
    let t0 = Instant::now();
    for i in 0..n {
        let d = testdata::game_scene(W, H, i as f32 / 30.0);
        enc.encode(&d.view(), &config(), 0.5, 40.0, &meta(i)).unwrap();
        if pace {
            std::thread::sleep(
                (t0 + Duration::from_secs_f64((i + 1) as f64 / 30.0)).saturating_duration_since(Instant::now()),
            );
        }
    }
    enc.finish().unwrap();
}

fn colour(i: usize) -> YuvFrame {
    let mut data = Vec::with_capacity((W * H * 3) as usize);
    for y in 0..H {
        for x in 0..W {
            data.extend([(x * 255 / W) as u8, ((x + 3 * i as u32) % 255) as u8, (y * 255 / H) as u8]);
        }
    }
    RgbImage { width: W, height: H, data }.to_yuv420(BitDepth::Eight)
}

/// An RGB-D stream of `n` frames into `url`.
fn write_rgbd(url: &str, n: usize, gop: u32) {
    let mut s = RgbdSettings::new(VideoCodec::H264, 2_000_000);
    s.gop = gop;
    s.force_software = true;
    s.threads = 1;
    let mut enc = RgbdEncoder::new(&s, &config(), W, H, Some(url)).unwrap();
    for i in 0..n {
        let d = testdata::game_scene(W, H, i as f32 / 30.0);
        let camera = CameraBlock {
            frame_index: 0,
            pose: CameraPose { position: [0.0, 1.5, 4.0], rotation: [0.0, 0.0, 0.0, 1.0] },
            intrinsics: Intrinsics::from_fov_y(0.9, W, H, 0.5),
        };
        enc.encode(&colour(i), &d.view(), &config(), 0.5, 40.0, &meta(i), &camera).unwrap();
    }
    enc.finish().unwrap();
}

/// Everything `PacketReceiver` reads from a file, and the receiver (tracks, extradata).
fn read_all(path: &str) -> (Vec<ReceivedPacket>, PacketReceiver) {
    let mut rx = PacketReceiver::open(path, &ReceiverOptions::default()).unwrap();
    let mut out = Vec::new();
    while let Some(p) = rx.read_packet().unwrap() {
        out.push(p);
    }
    (out, rx)
}

fn pts_us(p: &ReceivedPacket, rx: &PacketReceiver) -> i64 {
    let (num, den) = rx.tracks()[p.track].time_base;
    // Computed here independently of `depthcast_codec::pts_to_us`, which the server uses.
    p.pts.map_or(PTS_UNKNOWN, |v| (i128::from(v) * i128::from(num) * 1_000_000 / i128::from(den)) as i64)
}

/// The codec string of the first SPS in `data`, computed here independently of the server.
fn sps_codec(data: &[u8], format: NalFormat) -> String {
    let units = sei::nal_units(data, format).unwrap();
    let sps = units.iter().find(|n| n[0] & 0x1f == 7).expect("an SPS");
    format!("avc1.{:02x}{:02x}{:02x}", sps[1], sps[2], sps[3])
}

/// One binary message, parsed.
#[derive(Debug, Clone)]
struct Au {
    track: u8,
    flags: u8,
    seq: u32,
    pts: i64,
    recv_us: u64,
    data: Vec<u8>,
    /// When the client got it, µs since the UNIX epoch.
    got_us: u64,
}

/// What a client got.
#[derive(Debug, Default)]
struct Got {
    hellos: Vec<serde_json::Value>,
    aus: Vec<Au>,
    servers: Vec<serde_json::Value>,
    ended: bool,
    /// Index in `aus` at which each hello came.
    hello_at: Vec<usize>,
}

fn parse(bin: &[u8]) -> Au {
    assert!(bin.len() > HEADER_LEN);
    assert_eq!(bin[0], 1, "version");
    assert_eq!(bin[3], 0, "reserved");
    Au {
        track: bin[1],
        flags: bin[2],
        seq: u32::from_le_bytes(bin[4..8].try_into().unwrap()),
        pts: i64::from_le_bytes(bin[8..16].try_into().unwrap()),
        recv_us: u64::from_le_bytes(bin[16..24].try_into().unwrap()),
        data: bin[HEADER_LEN..].to_vec(),
        got_us: depthcast_codec::unix_us(),
    }
}

/// Reads a WebSocket until `end`, `stop` says so, or `limit` passes.
async fn collect(addr: SocketAddr, limit: Duration, stop: Option<Arc<AtomicBool>>) -> Got {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.unwrap();
    let mut got = Got::default();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
            break;
        }
        let m = match tokio::time::timeout_at(
            deadline.min(tokio::time::Instant::now() + Duration::from_millis(100)),
            ws.next(),
        )
        .await
        {
            Ok(Some(Ok(m))) => m,
            Ok(_) => break,
            Err(_) if tokio::time::Instant::now() >= deadline => break,
            Err(_) => continue,
        };
        match m {
            Message::Text(t) => {
                let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
                match v["type"].as_str().unwrap() {
                    "hello" => {
                        got.hello_at.push(got.aus.len());
                        got.hellos.push(v);
                    }
                    "server" => got.servers.push(v),
                    "end" => {
                        got.ended = true;
                        break;
                    }
                    other => panic!("unknown message type {other}"),
                }
            }
            Message::Binary(b) => got.aus.push(parse(&b)),
            _ => {}
        }
    }
    got
}

fn start(queue: RelayConfig, send_buffer: Option<usize>) -> (Relay, Server) {
    let relay = Relay::new(queue);
    let config = ServeConfig { bind: "127.0.0.1:0".parse().unwrap(), send_buffer, ..ServeConfig::default() };
    let server = Server::start(&config, relay.clone()).unwrap();
    (relay, server)
}

async fn wait_clients(relay: &Relay, n: usize) {
    let t0 = Instant::now();
    while relay.client_count() < n {
        assert!(t0.elapsed() < Duration::from_secs(10), "clients did not connect");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Checks `aus` (one track's, in order) against the packets read from the file, from `from` on.
fn check_track(aus: &[&Au], want: &[&ReceivedPacket], rx: &PacketReceiver, from: usize) -> usize {
    assert_eq!(aus.len(), want.len() - from, "packet count");
    for (k, (a, p)) in aus.iter().zip(&want[from..]).enumerate() {
        assert_eq!(a.data, p.data, "access unit {} differs", from + k);
        assert_eq!(a.flags & FLAG_KEYFRAME != 0, p.keyframe, "keyframe flag of {}", from + k);
        assert_eq!(a.flags & FLAG_DISCONTINUITY, 0, "discontinuity at {}", from + k);
        assert_eq!(a.seq as usize, from + k, "sequence number");
        assert_eq!(a.pts, pts_us(p, rx), "pts of {}", from + k);
        assert!(a.recv_us > 1_600_000_000_000_000, "receive time");
    }
    aus.len()
}

/// A .ts depth stream played in real time: every access unit byte-identical to what
/// PacketReceiver reads, with its header; a page that joins mid-stream starts at a keyframe.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ts_file_is_relayed_byte_identical_and_late_pages_start_at_a_keyframe() {
    let path = temp("depth.ts");
    let path = path.to_str().unwrap().to_string();
    write_depth(&path, 75, 15, false);
    let (want, rx) = read_all(&path);
    assert!(want.len() >= 75);
    let (relay, server) = start(RelayConfig::default(), Some(256 << 10));
    let addr = server.local_addr();
    let early = tokio::spawn(collect(addr, Duration::from_secs(20), None));
    wait_clients(&relay, 1).await;
    let source = Source::start(SourceConfig::new(path.clone()), relay.clone()).unwrap();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let late = tokio::spawn(collect(addr, Duration::from_secs(20), None));
    let (early, late) = (early.await.unwrap(), late.await.unwrap());
    source.stop().unwrap();

    for got in [&early, &late] {
        assert!(got.ended, "end message");
        assert_eq!(got.hellos.len(), 1);
        assert_eq!(got.hello_at, [0], "hello first");
        let h = &got.hellos[0];
        assert_eq!(h["version"], 1);
        assert_eq!(h["source"], path.as_str());
        let t = &h["tracks"][0];
        assert_eq!(h["tracks"].as_array().unwrap().len(), 1);
        assert_eq!(t["role"], "depth");
        assert_eq!(t["codecName"], "h264");
        assert_eq!(t["nalLengthSize"], 0);
        assert!(t["description"].is_null());
        assert_eq!(t["codec"], sps_codec(&want[0].data, NalFormat::AnnexB));
    }
    let all: Vec<&ReceivedPacket> = want.iter().collect();
    let n = check_track(&early.aus.iter().collect::<Vec<_>>(), &all, &rx, 0);
    assert!(!early.servers.is_empty(), "a server message a second");
    assert_eq!(early.servers[0]["skipped"], 0);
    // The late page: its first packet a keyframe, then every packet to the end.
    let first = late.aus[0].seq as usize;
    assert!(first > 0 && late.aus[0].flags & FLAG_KEYFRAME != 0, "late page starts at a keyframe: {first}");
    let m = check_track(&late.aus.iter().collect::<Vec<_>>(), &all, &rx, first);
    // The real-time pacing: 75 frames at 30 fps take about 2.5 s.
    let span = (early.aus.last().unwrap().recv_us - early.aus[0].recv_us) as f64 / 1e6;
    assert!(span > 2.0 && span < 4.0, "paced: {span} s");
    // What the relay adds: from the input handing a packet over to the page's client having it.
    let lat: Vec<f64> = early.aus.iter().map(|a| (a.got_us - a.recv_us) as f64 / 1e3).collect();
    let mean = lat.iter().sum::<f64>() / lat.len() as f64;
    let max = lat.iter().copied().fold(0.0, f64::max);
    assert!(mean < 50.0, "relay latency {mean:.2} ms");
    eprintln!(
        "ts: {n} packets compared (early page), {m} (page joined at packet {first}), span {span:.2} s, \
         relay latency {mean:.2} ms mean, {max:.2} ms max"
    );
    let _ = std::fs::remove_file(&path);
}

/// An RGB-D .ts: two tracks (colour, depth) in hello, each track's access units identical.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rgbd_ts_has_two_tracks_each_identical() {
    let path = temp("rgbd.ts");
    let path = path.to_str().unwrap().to_string();
    write_rgbd(&path, 40, 20);
    let (want, rx) = read_all(&path);
    let (relay, server) = start(RelayConfig::default(), None);
    let client = tokio::spawn(collect(server.local_addr(), Duration::from_secs(20), None));
    wait_clients(&relay, 1).await;
    let source = Source::start(SourceConfig { pace: false, ..SourceConfig::new(path.clone()) }, relay.clone()).unwrap();
    let got = client.await.unwrap();
    source.stop().unwrap();
    assert!(got.ended);
    let tracks = got.hellos[0]["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 2);
    assert_eq!((tracks[0]["role"].as_str(), tracks[1]["role"].as_str()), (Some("colour"), Some("depth")));
    let mut compared = 0;
    for (t, track) in tracks.iter().enumerate() {
        let w: Vec<&ReceivedPacket> = want.iter().filter(|p| p.track == t).collect();
        let a: Vec<&Au> = got.aus.iter().filter(|a| a.track as usize == t).collect();
        let kf = w.iter().find(|p| p.keyframe).unwrap();
        assert_eq!(track["codec"], sps_codec(&kf.data, NalFormat::AnnexB));
        assert_eq!(track["index"], t);
        compared += check_track(&a, &w, &rx, 0);
    }
    // The depth track carries the parameters in-band, the colour track none.
    for a in &got.aus {
        let params = sei::extract_params(VideoCodec::H264, &a.data, NalFormat::AnnexB);
        assert_eq!(params.is_ok(), a.track == 1, "params on track {}", a.track);
    }
    eprintln!("rgbd: {compared} packets compared over 2 tracks");
    let _ = std::fs::remove_file(&path);
}

/// A .mkv (length-prefixed, avcC): nalLengthSize and the description as the extradata says.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mkv_is_length_prefixed_with_an_avcc_description() {
    let path = temp("depth.mkv");
    let path = path.to_str().unwrap().to_string();
    write_depth(&path, 30, 10, false);
    let (want, rx) = read_all(&path);
    let avcc = rx.extradata(0).unwrap().to_vec();
    assert_eq!(avcc[0], 1, "avcC");
    let (relay, server) = start(RelayConfig::default(), None);
    let client = tokio::spawn(collect(server.local_addr(), Duration::from_secs(20), None));
    wait_clients(&relay, 1).await;
    let source = Source::start(SourceConfig { pace: false, ..SourceConfig::new(path.clone()) }, relay.clone()).unwrap();
    let got = client.await.unwrap();
    source.stop().unwrap();
    let t = &got.hellos[0]["tracks"][0];
    let NalFormat::LengthPrefixed(n) = rx.nal_format(0).unwrap() else { panic!("mkv is length-prefixed") };
    assert_eq!(t["nalLengthSize"], u64::from(n));
    let desc = base64::engine::general_purpose::STANDARD.decode(t["description"].as_str().unwrap()).unwrap();
    assert_eq!(desc, avcc);
    assert_eq!(t["codec"], format!("avc1.{:02x}{:02x}{:02x}", avcc[1], avcc[2], avcc[3]));
    // The SPS in the avcC record gives the same string.
    let sps_len = u16::from_be_bytes([avcc[6], avcc[7]]) as usize;
    let sps = &avcc[8..8 + sps_len];
    assert_eq!(sps[0] & 0x1f, 7);
    assert_eq!(t["codec"], format!("avc1.{:02x}{:02x}{:02x}", sps[1], sps[2], sps[3]));
    let all: Vec<&ReceivedPacket> = want.iter().collect();
    let n = check_track(&got.aus.iter().collect::<Vec<_>>(), &all, &rx, 0);
    eprintln!("mkv: {n} length-prefixed packets compared, description {} bytes", avcc.len());
    let _ = std::fs::remove_file(&path);
}

/// Encoded packets of the built-in scene, in-process (no transport).
fn encode_in_process(n: usize, gop: u32, bitrate: u64, w: u32, h: u32) -> (Vec<EncodedPacket>, Vec<TrackSpec>) {
    let mut enc = DepthEncoder::new(settings(gop, bitrate, w, h), &config(), w, h, None).unwrap();
    let specs = TrackSpec::from_encoders(&[enc.encoder()]);
    let mut out = Vec::new();
    for i in 0..n {
        let d = testdata::game_scene(w, h, i as f32 / 30.0);
        out.extend(enc.encode(&d.view(), &config(), 0.5, 40.0, &meta(i)).unwrap().packets);
    }
    out.extend(enc.finish().unwrap());
    (out, specs)
}

/// A page that stops reading: connected with a tiny receive buffer and never read.
async fn stalled_page(addr: SocketAddr) -> (tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>, SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let local = tcp.local_addr().unwrap();
    let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), tcp).await.unwrap();
    (ws, local)
}

/// 4 fast pages and 1 that stops reading, fed in-process faster than real time: the fast ones
/// get every packet, the stalled one skips to keyframes (flagged) and its queue never exceeds
/// the bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_page_skips_and_stays_bounded_while_fast_pages_get_everything() {
    const QUEUE: usize = 60;
    let (mut packets, specs) = encode_in_process(60, 10, 4_000_000, 320, 180);
    packets.truncate(60);
    assert!(packets[0].keyframe && packets.len() == 60);
    let packets = Arc::new(packets);
    let (relay, server) = start(RelayConfig { queue_packets: QUEUE, queue_bytes: 8 << 20 }, Some(16 << 10));
    let addr = server.local_addr();
    relay.set_source("in-process", &specs);
    let done = Arc::new(AtomicBool::new(false));
    let fast: Vec<_> =
        (0..4).map(|_| tokio::spawn(collect(addr, Duration::from_secs(60), Some(done.clone())))).collect();
    let (mut slow, slow_addr) = stalled_page(addr).await;
    wait_clients(&relay, 5).await;
    let slow_id = relay.stats().per_client.iter().find(|c| c.addr == slow_addr.to_string()).unwrap().id;

    // 300 packets (the 60 encoded ones again and again; every 10th a keyframe) at 60 per
    // second (twice real time), publishing from a plain thread.
    const N: usize = 300;
    let publisher = {
        let relay = relay.clone();
        let packets = packets.clone();
        std::thread::spawn(move || {
            let t0 = Instant::now();
            for i in 0..N {
                let p = &packets[i % packets.len()];
                relay.publish(0, p.keyframe, i as i64 * 33_333, &p.data);
                std::thread::sleep(
                    (t0 + Duration::from_micros(16_667 * (i as u64 + 1))).saturating_duration_since(Instant::now()),
                );
            }
        })
    };
    // Sample the stalled page's queue while publishing.
    let mut max_seen = 0;
    while !publisher.is_finished() {
        let s = relay.stats();
        let c = s.per_client.iter().find(|c| c.id == slow_id).unwrap();
        max_seen = max_seen.max(c.queued);
        assert!(c.queued <= QUEUE, "queue {} over its bound", c.queued);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    publisher.join().unwrap();
    // The fast pages drain; then stop them.
    let t0 = Instant::now();
    loop {
        let s = relay.stats();
        let fast_done = s.per_client.iter().filter(|c| c.id != slow_id).all(|c| c.queued == 0);
        if fast_done || t0.elapsed() > Duration::from_secs(10) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stats = relay.stats();
    done.store(true, Ordering::Relaxed);
    for f in fast {
        let got = f.await.unwrap();
        assert_eq!(got.hellos.len(), 1);
        assert_eq!(got.aus.len(), N, "a fast page got every packet: {stats:?}");
        for (i, a) in got.aus.iter().enumerate() {
            assert_eq!(a.seq as usize, i);
            assert_eq!(a.flags & FLAG_DISCONTINUITY, 0);
            assert_eq!(a.data, packets[i % packets.len()].data);
        }
    }
    let slow_stats = stats.per_client.iter().find(|c| c.id == slow_id).unwrap().clone();
    for c in stats.per_client.iter().filter(|c| c.id != slow_id) {
        assert_eq!(c.skipped, 0, "fast page {c:?}");
    }
    assert!(slow_stats.skipped > 0 && slow_stats.overflows > 0, "{slow_stats:?}");
    assert!(slow_stats.max_queued <= QUEUE, "{slow_stats:?}");

    // The stalled page reads again: what it gets resumes at keyframes, flagged, after each gap.
    let mut aus = Vec::new();
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_millis(500), slow.next()).await {
        if let Message::Binary(b) = m {
            aus.push(parse(&b));
        }
    }
    let mut flagged = 0;
    for w in aus.windows(2) {
        if w[1].seq != w[0].seq + 1 {
            assert!(w[1].flags & FLAG_DISCONTINUITY != 0, "a gap without the flag: {} -> {}", w[0].seq, w[1].seq);
            assert!(w[1].flags & FLAG_KEYFRAME != 0, "resumes at a keyframe");
            flagged += 1;
        }
    }
    assert!(flagged > 0, "the stalled page saw its skips");
    eprintln!(
        "stalled page: {} of {N} packets skipped in {} overflows, max queue {} (bound {QUEUE}; sampled {max_seen}), \
         {} received once it read again ({flagged} flagged resumes); fast pages: {N} packets each, 0 skipped",
        slow_stats.skipped,
        slow_stats.overflows,
        slow_stats.max_queued,
        aus.len()
    );
}

/// A plain HTTP GET: status code, content type, body.
fn get(addr: SocketAddr, path: &str) -> (u16, String, Vec<u8>) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let ctype = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type:").map(|v| v.trim().to_string()))
        .unwrap_or_default();
    (code, ctype, buf[split + 4..].to_vec())
}

/// The page and its modules, embedded, with their MIME types; `--web-dir` serves from disk;
/// nothing outside is reachable.
#[test]
fn the_page_and_modules_are_served_with_their_types() {
    let (_relay, server) = start(RelayConfig::default(), None);
    let addr = server.local_addr();
    let (code, ctype, body) = get(addr, "/");
    assert_eq!((code, ctype.as_str()), (200, "text/html; charset=utf-8"));
    assert_eq!(body, include_bytes!("../../../web/index.html"));
    let modules: [(&str, &[u8]); 4] = [
        ("main.js", include_bytes!("../../../web/js/main.js")),
        ("sei.js", include_bytes!("../../../web/js/sei.js")),
        ("unpack.js", include_bytes!("../../../web/js/unpack.js")),
        ("views.js", include_bytes!("../../../web/js/views.js")),
    ];
    for (name, bytes) in modules {
        let (code, ctype, body) = get(addr, &format!("/js/{name}"));
        assert_eq!((code, ctype.as_str()), (200, "text/javascript; charset=utf-8"), "{name}");
        assert_eq!(body, bytes, "{name}");
    }
    for missing in ["/js/nope.js", "/js/../Cargo.toml", "/Cargo.toml", "/js/", "/web/index.html"] {
        assert_eq!(get(addr, missing).0, 404, "{missing}");
    }
    let (code, ctype, body) = get(addr, "/status");
    assert_eq!((code, ctype.as_str()), (200, "application/json"));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["clients"].as_array().unwrap().len(), 0);
    assert_eq!(v["queueBound"]["packets"], RelayConfig::default().queue_packets);

    // From a folder.
    let dir = temp("web");
    std::fs::create_dir_all(dir.join("js")).unwrap();
    std::fs::write(dir.join("index.html"), "<p>dev</p>").unwrap();
    std::fs::write(dir.join("js/extra.js"), "export const x = 1;").unwrap();
    std::fs::write(dir.join("secret.js"), "no").unwrap();
    let config =
        ServeConfig { bind: "127.0.0.1:0".parse().unwrap(), web_dir: Some(dir.clone()), ..ServeConfig::default() };
    let dev = Server::start(&config, Relay::new(RelayConfig::default())).unwrap();
    let a = dev.local_addr();
    assert_eq!(get(a, "/").2, b"<p>dev</p>");
    let (code, ctype, body) = get(a, "/js/extra.js");
    assert_eq!(
        (code, ctype.as_str(), body.as_slice()),
        (200, "text/javascript; charset=utf-8", &b"export const x = 1;"[..])
    );
    assert_eq!(get(a, "/js/..%2Fsecret.js").0, 404);
    assert_eq!(get(a, "/js/../secret.js").0, 404);
    let bad = ServeConfig { web_dir: Some(dir.join("js")), ..config };
    assert!(Server::start(&bad, Relay::new(RelayConfig::default())).is_err(), "a folder without index.html");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A live udp:// input: packets with their in-band parameters, and the input reopened when the
/// sender stops and starts again (no second hello: same tracks).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_live_udp_input_is_relayed_and_reopened() {
    let port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("udp://127.0.0.1:{port}");
    let (relay, server) = start(RelayConfig::default(), None);
    let done = Arc::new(AtomicBool::new(false));
    let client = tokio::spawn(collect(server.local_addr(), Duration::from_secs(30), Some(done.clone())));
    wait_clients(&relay, 1).await;
    let source = Source::start(SourceConfig::new(url.clone()), relay.clone()).unwrap();
    // Give the input time to open its socket, then send, stop, and send again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let u = url.clone();
    tokio::task::spawn_blocking(move || write_depth(&u, 60, 15, true)).await.unwrap();
    let first = relay.stats().packets_in;
    tokio::time::sleep(Duration::from_millis(1800)).await;
    let u = url.clone();
    tokio::task::spawn_blocking(move || write_depth(&u, 60, 15, true)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    done.store(true, Ordering::Relaxed);
    let got = client.await.unwrap();
    let stats = relay.stats();
    source.stop().unwrap();
    assert!(stats.inputs >= 2, "reopened: {stats:?}");
    assert_eq!(got.hellos.len(), 1, "same tracks: one hello");
    assert_eq!(got.hellos[0]["source"], url.as_str());
    assert_eq!(got.hellos[0]["tracks"][0]["codec"], sps_codec(&got.aus[0].data, NalFormat::AnnexB));
    assert!(got.aus[0].flags & FLAG_KEYFRAME != 0);
    assert!(got.aus.len() >= 90, "most of 120 packets: {}", got.aus.len());
    let mut indices = Vec::new();
    for w in got.aus.windows(2) {
        assert!(w[1].seq > w[0].seq);
        if w[1].seq != w[0].seq + 1 {
            assert!(w[1].flags & FLAG_DISCONTINUITY != 0 && w[1].flags & FLAG_KEYFRAME != 0);
        }
    }
    for a in &got.aus {
        let inband = sei::extract_params(VideoCodec::H264, &a.data, NalFormat::AnnexB).unwrap();
        indices.push(inband.params.frame_index);
    }
    // Both sends came through: frame indices run 0.. twice.
    let restarts = indices.windows(2).filter(|w| w[1] < w[0]).count();
    assert_eq!(restarts, 1, "{indices:?}");
    eprintln!(
        "udp: {} packets relayed of 120 sent ({} in the first send), {} input opens",
        got.aus.len(),
        first,
        stats.inputs
    );
}

/// Serves a file as fast as it reads (no pacing) to one page: what it got, and the file's packets.
async fn serve_file(path: &str) -> (Got, Vec<ReceivedPacket>, PacketReceiver) {
    let (want, rx) = read_all(path);
    let (relay, server) = start(RelayConfig::default(), None);
    let client = tokio::spawn(collect(server.local_addr(), Duration::from_secs(20), None));
    wait_clients(&relay, 1).await;
    let source = Source::start(SourceConfig { pace: false, ..SourceConfig::new(path) }, relay.clone()).unwrap();
    let got = client.await.unwrap();
    source.stop().unwrap();
    assert!(got.ended);
    (got, want, rx)
}

/// HEVC in .ts (codec string from the SPS) and .mkv (from hvcC, with the description): both
/// strings agree, and every access unit is identical.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hevc_codec_strings_from_the_sps_and_hvcc_agree() {
    let mut codecs = Vec::new();
    for ext in ["ts", "mkv"] {
        let path = temp(&format!("hevc.{ext}"));
        let path = path.to_str().unwrap().to_string();
        write_depth_with(&path, 20, 10, false, VideoCodec::Hevc);
        let (got, want, rx) = serve_file(&path).await;
        let t = &got.hellos[0]["tracks"][0];
        assert_eq!(t["codecName"], "hevc");
        let hvcc = rx.extradata(0).unwrap();
        if ext == "mkv" {
            assert_eq!(hvcc[0], 1, "hvcC");
            let desc = base64::engine::general_purpose::STANDARD.decode(t["description"].as_str().unwrap()).unwrap();
            assert_eq!(desc, hvcc);
            assert!(t["nalLengthSize"].as_u64().unwrap() > 0);
        } else {
            assert_eq!(t["nalLengthSize"], 0);
        }
        let all: Vec<&ReceivedPacket> = want.iter().collect();
        let n = check_track(&got.aus.iter().collect::<Vec<_>>(), &all, &rx, 0);
        eprintln!("hevc {ext}: {} ({n} packets compared)", t["codec"]);
        codecs.push(t["codec"].as_str().unwrap().to_string());
        let _ = std::fs::remove_file(&path);
    }
    assert_eq!(codecs[0], codecs[1], "SPS and hvcC give one string");
    // libx265 at 8 bits: Main profile (1), compatible with Main and Main 10 (flags 0x6).
    assert!(codecs[0].starts_with("hvc1.1.6.L"), "{}", codecs[0]);
}

/// A file with loop: played again and again, one hello, timestamps and sequence numbers rising
/// across the restarts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_looped_file_keeps_its_timestamps_rising() {
    let path = temp("loop.ts");
    let path = path.to_str().unwrap().to_string();
    write_depth(&path, 12, 6, false);
    let (want, _rx) = read_all(&path);
    let (relay, server) = start(RelayConfig::default(), None);
    let done = Arc::new(AtomicBool::new(false));
    let client = tokio::spawn(collect(server.local_addr(), Duration::from_secs(20), Some(done.clone())));
    wait_clients(&relay, 1).await;
    let source =
        Source::start(SourceConfig { looping: true, ..SourceConfig::new(path.clone()) }, relay.clone()).unwrap();
    // 12 frames at 30 fps: 0.4 s a pass.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    done.store(true, Ordering::Relaxed);
    let got = client.await.unwrap();
    source.stop().unwrap();
    assert!(!got.ended);
    assert_eq!(got.hellos.len(), 1);
    assert!(got.aus.len() >= 2 * want.len(), "at least two passes: {}", got.aus.len());
    for (i, a) in got.aus.iter().enumerate() {
        assert_eq!(a.seq as usize, i);
        assert_eq!(a.data, want[i % want.len()].data, "pass {} packet {}", i / want.len(), i % want.len());
        assert_eq!(a.flags & FLAG_DISCONTINUITY, 0);
    }
    for w in got.aus.windows(2) {
        assert!(w[1].pts > w[0].pts, "pts rise across passes: {} then {}", w[0].pts, w[1].pts);
    }
    let step = got.aus[want.len()].pts - got.aus[want.len() - 1].pts;
    assert!((30_000..=36_000).contains(&step), "one frame between passes: {step} µs");
    eprintln!("loop: {} packets over {} passes", got.aus.len(), got.aus.len() / want.len());
    let _ = std::fs::remove_file(&path);
}

/// The synthetic input (the built-in scene encoded live, published in-process): hello, then
/// every frame with its parameters in-band and its presentation time in µs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_synthetic_input_publishes_in_process() {
    let (relay, server) = start(RelayConfig::default(), None);
    let client = tokio::spawn(collect(server.local_addr(), Duration::from_secs(20), None));
    wait_clients(&relay, 1).await;
    let config = depthcast_serve::SyntheticConfig { width: W, height: H, frames: Some(20), ..Default::default() };
    let r = relay.clone();
    let t0 = Instant::now();
    tokio::task::spawn_blocking(move || depthcast_serve::run_synthetic(&config, &r, &AtomicBool::new(false)))
        .await
        .unwrap()
        .unwrap();
    let took = t0.elapsed().as_secs_f64();
    let got = client.await.unwrap();
    assert!(got.ended);
    assert_eq!(got.hellos[0]["source"], "synthetic");
    assert_eq!(got.hellos[0]["tracks"][0]["codec"], sps_codec(&got.aus[0].data, NalFormat::AnnexB));
    assert_eq!(got.aus.len(), 20);
    for (i, a) in got.aus.iter().enumerate() {
        let inband = sei::extract_params(VideoCodec::H264, &a.data, NalFormat::AnnexB).unwrap();
        assert_eq!(inband.params.frame_index as usize, i);
        assert_eq!(a.pts, i as i64 * 1_000_000 / 30, "pts in µs");
        assert_eq!(a.flags & FLAG_KEYFRAME != 0, i % 30 == 0);
    }
    assert!(took > 0.5, "real time: 20 frames at 30 fps took {took:.2} s");
}
