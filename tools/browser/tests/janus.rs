//! Many viewers through Janus, end to end on loopback: depthcast sends RTP H.264 (`rtp://`) to a
//! mountpoint of Janus's streaming plugin; web/janus.html watches it over WebRTC in headless
//! Chromium, reads the in-band parameters from the encoded frames (RTCRtpScriptTransform) and the
//! exact planes of the decoded frames (MediaStreamTrackProcessor, `VideoFrame.copyTo`). The test
//! checks that every decoded frame's planes are bit-identical to FFmpeg's decode of the same
//! bitstream, that every frame carries its parameters through, and reports the latency.
//!
//! Needs Debian's `janus` and `chromium` packages; starts its own Janus (HTTP transport and the
//! streaming plugin only, on free loopback ports, config in a temp dir) and stops it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use depthcast_browser::{Chromium, StaticServer};
use depthcast_codec::{Decoder, Encoder, EncoderSettings, FrameOptions, NalFormat, PacketSender, VideoCodec};
use depthcast_packing::{BitDepth, PackParams, Packer, Scheme, YuvFrame, testdata};
use serde_json::Value;

const JANUS_ENV: &str = "DEPTHCAST_JANUS";
const W: u32 = 320;
const H: u32 = 240;
const FPS: u32 = 30;
const FRAMES: usize = 150;

/// Janus run from a temp dir; killed and cleaned up when dropped.
struct Janus {
    child: Child,
    dir: PathBuf,
    http_port: u16,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Janus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Janus {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/janus", self.http_port)
    }

    fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap();
        log[log.len().saturating_sub(40)..].join("\n")
    }
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The Janus binary (`$DEPTHCAST_JANUS`, else `janus` on `PATH`) and its module folder.
fn janus_binary() -> (PathBuf, PathBuf) {
    let bin = std::env::var_os(JANUS_ENV).map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("PATH")
            .and_then(|p| std::env::split_paths(&p).map(|d| d.join("janus")).find(|c| c.is_file()))
            .unwrap_or_else(|| PathBuf::from("/usr/bin/janus"))
    });
    let modules = [
        "/usr/lib/x86_64-linux-gnu/janus",
        "/usr/lib/aarch64-linux-gnu/janus",
        "/usr/lib/janus",
        "/opt/janus/lib/janus",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|d| d.join("plugins/libjanus_streaming.so").exists());
    match (bin.is_file(), modules) {
        (true, Some(m)) => (bin, m),
        _ => panic!(
            "Janus is not installed (looked for {} and libjanus_streaming.so / libjanus_http.so): \
             install Debian's `janus` package (apt-get install janus), or set {JANUS_ENV}",
            bin.display()
        ),
    }
}

/// The Janus configuration this path needs: only the HTTP transport (loopback) and the streaming
/// plugin, two RTP H.264 mountpoints (ids 1 and 2) on `rtp_ports`, ICE on 127.0.0.1 only.
fn write_config(dir: &Path, modules: &Path, http_port: u16, rtp_ports: [u16; 2]) {
    for (sub, lib) in [("plugins", "libjanus_streaming.so"), ("transports", "libjanus_http.so")] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        std::os::unix::fs::symlink(modules.join(sub).join(lib), dir.join(sub).join(lib)).unwrap();
    }
    let d = dir.display();
    std::fs::write(
        dir.join("janus.jcfg"),
        format!(
            r#"general: {{
	configs_folder = "{d}"
	plugins_folder = "{d}/plugins"
	transports_folder = "{d}/transports"
	events_folder = "{d}/none"
	loggers_folder = "{d}/none"
	debug_level = 4
}}
nat: {{
	ice_enforce_list = "127.0.0.1"
}}
"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("janus.transport.http.jcfg"),
        format!(
            "general: {{\n\tjson = \"plain\"\n\tbase_path = \"/janus\"\n\thttp = true\n\tport = {http_port}\n\
             \tinterface = \"lo\"\n\thttps = false\n}}\nadmin: {{\n\tadmin_http = false\n}}\n"
        ),
    )
    .unwrap();
    // Mountpoint 1: what CBR/VBR streams are (x264 at a bitrate: Constrained Baseline).
    // Mountpoint 2: lossless streams (High 4:4:4 Predictive, profile_idc 244, 4:2:0), which
    // Chromium's WebRTC offers to decode (profile-level-id f4001f).
    let mountpoint = |name: &str, id: u32, port: u16, profile: &str| {
        format!(
            r#"{name}: {{
	type = "rtp"
	id = {id}
	description = "depthcast {name}"
	media = (
		{{
			type = "video"
			mid = "v"
			port = {port}
			pt = 96
			codec = "h264"
			fmtp = "profile-level-id={profile};packetization-mode=1"
		}}
	)
}}
"#
        )
    };
    std::fs::write(
        dir.join("janus.plugin.streaming.jcfg"),
        mountpoint("depth", 1, rtp_ports[0], "42e01f") + &mountpoint("lossless", 2, rtp_ports[1], "f4001f"),
    )
    .unwrap();
}

fn start_janus(rtp_ports: [u16; 2]) -> Janus {
    let (bin, modules) = janus_binary();
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("depthcast-janus-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let http_port = free_tcp_port();
    write_config(&dir, &modules, http_port, rtp_ports);
    let mut child = Command::new(&bin)
        .arg("-C")
        .arg(dir.join("janus.jcfg"))
        .arg("-F")
        .arg(&dir)
        .arg("--disable-colors")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    for pipe in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                log.lock().unwrap().push(line);
            }
        });
    }
    let janus = Janus { child, dir, http_port, log };
    // Ready when the REST API answers.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", http_port)).is_ok()
            && janus.log.lock().unwrap().iter().any(|l| l.contains("HTTP webserver started"))
        {
            return janus;
        }
        assert!(Instant::now() < deadline, "Janus did not start its HTTP transport:\n{}", janus.log_tail());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `FRAMES` packed frames of the built-in game-like scene (VBP, 8-bit planes), with their
/// parameters.
fn packed() -> Vec<(YuvFrame, PackParams)> {
    let mut packer = Packer::default();
    (0..FRAMES)
        .map(|i| {
            let depth = testdata::game_scene(W, H, i as f32 / FPS as f32);
            let (_, hi) = PackParams::precision_range(Scheme::Vbp, BitDepth::Eight);
            let mut p = PackParams::new(Scheme::Vbp, hi - 4, 0.5, 40.0, W, H);
            p.frame_index = i as u32;
            let (fw, fh) = p.frame_size();
            let mut f = YuvFrame::new(fw, fh, BitDepth::Eight);
            packer.pack_into(&depth.view(), &p, &mut f).unwrap();
            (f, p)
        })
        .collect()
}

fn unix_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as u64
}

/// FNV-1a 32-bit of an 8-bit plane (as web/js/janus.js hashes the planes it copies out).
fn plane_hash(codes: &[u16]) -> String {
    fnv1a(&codes.iter().map(|&c| c as u8).collect::<Vec<u8>>())
}

/// As web/js/janus-worker.js's `nalHash`: FNV-1a 32-bit over the NAL units, each preceded by
/// its length (4 bytes, big-endian), so start-code lengths do not count.
fn nal_hash(au: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(au.len() + 64);
    for nal in depthcast_codec::sei::nal_units(au, NalFormat::AnnexB).unwrap() {
        bytes.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        bytes.extend_from_slice(nal);
    }
    fnv1a(&bytes)
}

fn fnv1a(bytes: &[u8]) -> String {
    let mut h: u32 = 0x811c9dc5;
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{h:08x}")
}

/// One at a time: the latencies measured mean more without the other case encoding beside.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// At a bitrate (CBR, Constrained Baseline): the page's planes are FFmpeg's decode, bit for bit.
#[test]
fn janus_to_webrtc_keeps_bitstream_planes_and_parameters() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    run(false);
}

/// Lossless (High 4:4:4 Predictive): the page's planes are the packed planes that were sent.
#[test]
fn janus_to_webrtc_lossless_delivers_the_packed_planes() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    run(true);
}

fn run(lossless: bool) {
    let rtp_ports = [free_udp_port(), free_udp_port()];
    let (mountpoint, rtp_port) = if lossless { (2, rtp_ports[1]) } else { (1, rtp_ports[0]) };
    let janus = start_janus(rtp_ports);
    let server = StaticServer::new(depthcast_browser::web_dir()).start().expect("static server");
    let chromium = Chromium::launch_with_args(&[
        // WebRTC over loopback only: host candidates on 127.0.0.1, not hidden behind mDNS names.
        "--allow-loopback-in-peer-connection",
        "--disable-features=WebRtcHideLocalIpsWithMdns",
    ])
    .expect("Chromium (Debian's `chromium` package) must be installed");
    let page =
        chromium.new_page(&server.url(&format!("/janus.html?janus={}&id={mountpoint}", janus.url()))).expect("page");
    if let Err(e) = page.wait_for(
        "window.depthcastJanus && (window.depthcastJanus.ready || window.depthcastJanus.error)",
        Duration::from_secs(20),
    ) {
        panic!("{e}\nJanus:\n{}", janus.log_tail());
    }
    let err = page.eval("window.depthcastJanus.error").unwrap();
    assert!(err.is_null(), "page: {err}\nJanus:\n{}", janus.log_tail());
    // Janus forwards to a viewer once its PeerConnection is up; frames sent before are not its.
    if let Err(e) = page.wait_for("window.depthcastJanus.webrtcUp", Duration::from_secs(20)) {
        panic!("{e}\nJanus:\n{}", janus.log_tail());
    }

    // The sender: depthcast's own rtp:// output (one H.264 track, packetization mode 1).
    let mut s = EncoderSettings::new(VideoCodec::H264, W, H);
    s.force_software = true;
    s.bitrate = 2_000_000;
    if lossless {
        s.rate_control = depthcast_codec::RateControl::Lossless;
    }
    s.refresh = depthcast_codec::Refresh::Gop(30);
    s.fps = (FPS, 1);
    let url = format!("rtp://127.0.0.1:{rtp_port}");
    s.global_header = depthcast_codec::Container::for_url(&url).unwrap().needs_global_header();
    let mut enc = Encoder::new(&s).unwrap();
    let mut tx = PacketSender::open(&url, &enc).unwrap_or_else(|e| panic!("{url}: {e}"));
    println!("SDP:\n{}", tx.sdp().unwrap_or_default());
    let mut reference = Decoder::new(VideoCodec::H264).unwrap();
    // FFmpeg's decode of what was sent: (Y, U, V) hashes and frame index, in order.
    let mut expected: Vec<([String; 3], u32)> = Vec::new();
    let mut decode = |data: &[u8], expected: &mut Vec<([String; 3], u32)>| {
        for d in reference.decode(data, None).unwrap() {
            let d = d.unwrap();
            let index = d.params.as_ref().expect("parameters in FFmpeg's decode").params.frame_index;
            expected.push(([plane_hash(&d.frame.y), plane_hash(&d.frame.u), plane_hash(&d.frame.v)], index));
        }
    };
    let mut sent = Vec::new(); // per access unit sent, in order: its NAL units' hash
    let mut source = Vec::new(); // the packed planes' hashes, in order
    let mut params_sent = Vec::new();
    let mut sender_ms = Vec::new(); // per access unit: send time (SEI) to written to the socket
    let start = Instant::now();
    for (i, (f, p)) in packed().iter().enumerate() {
        let due = start + Duration::from_secs_f64(i as f64 / f64::from(FPS));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let t0 = unix_us();
        let opts = FrameOptions { sent_unix_us: Some(t0), ..FrameOptions::default() };
        for pkt in enc.encode(f, p, &opts).unwrap() {
            tx.send(&pkt).unwrap();
            sender_ms.push((unix_us() - t0) as f64 / 1000.0);
            sent.push(nal_hash(&pkt.data));
            decode(&pkt.data, &mut expected);
        }
        source.push([plane_hash(&f.y), plane_hash(&f.u), plane_hash(&f.v)]);
        params_sent.push(*p);
    }
    for pkt in enc.finish().unwrap() {
        tx.send(&pkt).unwrap();
        sent.push(nal_hash(&pkt.data));
        decode(&pkt.data, &mut expected);
    }
    let _ = reference.send_eof();
    while let Ok(Some(d)) = reference.receive_frame() {
        let index = d.params.as_ref().expect("parameters").params.frame_index;
        expected.push(([plane_hash(&d.frame.y), plane_hash(&d.frame.u), plane_hash(&d.frame.v)], index));
    }
    // Until the last frame is decoded (or 10 s).
    let _ = page.wait_for(&format!("window.depthcastJanus.frames.length >= {FRAMES}"), Duration::from_secs(10));
    let got = page
        .eval(
            "JSON.stringify({frames: window.depthcastJanus.frames, encoded: window.depthcastJanus.encoded, \
             stats: window.depthcastJanus.stats(), errors: window.depthcastJanus.errors, \
             transform: window.depthcastJanus.transform, state: window.depthcastJanus.state})",
        )
        .unwrap();
    let got: Value = serde_json::from_str(got.as_str().unwrap()).unwrap();
    let webrtc = page.eval("window.depthcastJanus.webrtcStats()").unwrap();
    println!("Chromium's receive statistics: {webrtc}");
    tx.finish().unwrap();
    let _ = page.eval("window.depthcastJanus.stop()");
    let frames = got["frames"].as_array().unwrap();
    let encoded = got["encoded"].as_array().unwrap();
    println!(
        "page: {} encoded and {} decoded frames of {FRAMES} sent, transform {}, state {}, errors {}",
        encoded.len(),
        frames.len(),
        got["transform"],
        got["state"],
        got["errors"]
    );
    if let Some(f) = frames.first() {
        println!("first decoded frame: {f}");
    }
    let context = || format!("Janus:\n{}\nconsole:\n{}", janus.log_tail(), page.console().join("\n"));

    // Loopback loses nothing unless a process stalls past a socket buffer (Chromium then NACKs,
    // Janus retransmits from its buffer; what is still lost is skipped until the next keyframe).
    // Allowed, and reported: at most a tenth of the frames. What arrives must be exact.
    let enough = FRAMES * 9 / 10;

    // The bitstream: the access units arrive in order with the NAL units sent (SEI included):
    // Janus relays the RTP payloads untouched and Chromium's depacketizer keeps every NAL unit.
    let mut at = 0;
    for (k, e) in encoded.iter().enumerate() {
        let hash = e["nalHash"].as_str().unwrap();
        let Some(i) = sent[at..].iter().position(|h| h == hash) else {
            panic!("received access unit {k} is none of those sent (after {at}): {e}\n{}", context());
        };
        at += i + 1;
        assert!(e["sentUs"].is_number(), "an access unit without its parameters (SEI): {e}");
    }
    println!("access units lost on the way: {}", sent.len() - encoded.len());
    assert!(
        encoded.len() >= enough,
        "the page received {} of {} access units\n{}",
        encoded.len(),
        sent.len(),
        context()
    );

    // The planes: each decoded frame is bit-identical to FFmpeg's decode of the same access unit,
    // and paired (by RTP timestamp) with that unit's parameters.
    assert_eq!(expected.len(), FRAMES, "FFmpeg decoded {} of {FRAMES} frames", expected.len());
    let index: HashMap<&str, usize> = expected.iter().enumerate().map(|(i, (h, _))| (h[0].as_str(), i)).collect();
    let mut last = None;
    for f in frames {
        let planes: Vec<&str> = f["planes"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
        assert_eq!(f["format"], "I420", "{f}");
        let Some(&i) = index.get(planes[0]) else {
            panic!("a decoded frame whose Y plane is none of FFmpeg's: {f}\n{}", context());
        };
        assert!(last.is_none_or(|l| l < i), "decoded frames out of order: {last:?} then {i}");
        last = Some(i);
        assert_eq!(planes, expected[i].0.iter().map(String::as_str).collect::<Vec<_>>(), "frame {i}: chroma differs");
        assert!(f["sentUs"].is_number(), "frame {i} not paired with its parameters (by RTP timestamp): {f}");
        // The parameters as web/js/sei.js read them from the encoded frame paired with this one.
        let (pj, p) = (&f["params"], &params_sent[i]);
        assert_eq!(expected[i].1, p.frame_index);
        assert_eq!(pj["frameIndex"].as_u64(), Some(u64::from(p.frame_index)), "frame {i}: {pj}");
        assert_eq!(pj["near"].as_f64(), Some(f64::from(p.near)), "frame {i}: {pj}");
        assert_eq!(pj["far"].as_f64(), Some(f64::from(p.far)), "frame {i}: {pj}");
        assert_eq!((pj["width"].as_u64(), pj["height"].as_u64()), (Some(u64::from(W)), Some(u64::from(H))));
        // Lossless: FFmpeg's decode, hence the page's planes, are the packed planes themselves.
        if lossless {
            let want: Vec<&str> = source[i].iter().map(String::as_str).collect();
            assert_eq!(planes, want, "lossless frame {i} is not the packed frame");
        }
    }
    println!("frames not decoded in the page: {}", FRAMES - frames.len());
    assert!(frames.len() >= enough, "the page decoded {} of {FRAMES} frames\n{}", frames.len(), context());

    // Latency: the sender's clock (SEI send time, taken before encoding) to the encoded frame in
    // the page's worker, and to the decoded frame in the page (copied out).
    let stats = |key: &str| {
        let mut v: Vec<f64> = frames.iter().filter_map(|f| f[key].as_f64()).collect();
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        (q(0.5), q(0.95), v[v.len() - 1])
    };
    let (e50, e95, emax) = stats("encodedLatencyMs");
    let (d50, d95, dmax) = stats("latencyMs");
    sender_ms.sort_by(f64::total_cmp);
    let sq = |p: f64| sender_ms[((sender_ms.len() - 1) as f64 * p).round() as usize];
    println!(
        "{}: latency, sender clock to the access unit written to the socket (encode + RTP): p50 {:.1} ms, p95 {:.1} ms",
        if lossless { "lossless" } else { "CBR" },
        sq(0.5),
        sq(0.95)
    );
    println!("latency, sender clock to encoded frame in the page: p50 {e50:.1} ms, p95 {e95:.1} ms, max {emax:.1} ms");
    println!("latency, sender clock to decoded frame in the page: p50 {d50:.1} ms, p95 {d95:.1} ms, max {dmax:.1} ms");
    assert!(d95 < 1000.0, "decoded frames reach the page late: p95 {d95:.1} ms\n{}", context());
}
