//! Contract test: `web/js/sei.js`, the JavaScript twin of `depthcast_codec::sei`'s reading side,
//! reads real encodes exactly as the Rust reader does, in headless Chromium.
//!
//! - H.264 access units from libx264 (Annex B), with `PackParams` of every scheme, both layouts
//!   and modes, 8- and 10-bit planes, a `CameraBlock` and a send time; HEVC ones from libx265
//!   (Chromium does not decode HEVC, but the page parses it);
//! - the same streams through a Matroska file, read back with `PacketReceiver` (length-prefixed
//!   NAL units, the framing `nal_format(track)` says);
//! - hand-made SEI on real slices: no send time, camera alone, parameters alone, a corrupt
//!   parameters CRC, a corrupt camera CRC, a truncated SEI, several messages;
//! - emulation prevention: parameters, cameras and send times with `00 00 0x` byte runs;
//! - `decodePackParams` / `decodeCameraBlock` on thousands of mutated blocks (CRC fixed up, so
//!   that the value checks run), errors worded as Rust words them.
//!
//! Every field is compared with the Rust reader's (`sei::extract_all`, `sei::is_keyframe`), f32
//! values by bit pattern, and with what was sent. Needs Debian's `chromium`; without it the test
//! fails, loudly.

use std::time::Duration;

use base64::Engine as _;
use depthcast_browser::{Chromium, StaticServer};
use depthcast_codec::sei::{self, NalFormat, SeiContent};
use depthcast_codec::{
    CodecError, Container, Encoder, EncoderSettings, FrameOptions, PacketReceiver, PacketSender, ReceiverOptions,
    VideoCodec,
};
use depthcast_packing::params::crc16;
use depthcast_packing::{
    BitDepth, CameraBlock, CameraPose, Intrinsics, PackParams, RangeMode, Scheme, VbpLayout, pack, testdata,
};
use serde_json::{Value, json};

const W: u32 = 64;
const H: u32 = 64;

/// SplitMix64, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One access unit for the page, with where it came from.
struct Unit {
    label: String,
    data: Vec<u8>,
    /// 0: Annex B; else the NAL length size.
    nal: u8,
    codec: VideoCodec,
    /// What the sender put in (None for hand-made units checked against the Rust reader only).
    sent: Option<SeiContent>,
    /// The encoder's / demuxer's keyframe flag.
    keyframe: Option<bool>,
}

impl Unit {
    fn format(&self) -> NalFormat {
        if self.nal == 0 { NalFormat::AnnexB } else { NalFormat::LengthPrefixed(self.nal) }
    }
}

fn camera(frame_index: u32, k: usize) -> CameraBlock {
    let poses = [
        CameraPose { position: [1.0, 0.0, -2.5], rotation: [0.0, 0.382_683_4, 0.0, 0.923_879_5] },
        // 2.0 = 00 00 00 40: zero runs in the block.
        CameraPose { position: [2.0, 0.0, 0.0], rotation: [0.0, 0.0, 0.0, 1.0] },
        CameraPose { position: [-0.1, 1e-7, 123.456], rotation: [0.5, -0.5, 0.5, 0.5] },
    ];
    CameraBlock {
        frame_index,
        pose: poses[k % poses.len()],
        intrinsics: Intrinsics::from_fov_y(1.0 + 0.1 * k as f32, W, H, 0.1),
    }
}

/// Every configuration: scheme x bit depth x layout x mode, with precisions, amplitudes, periods
/// and ranges varied (ranges with zero bytes in their f32 patterns among them).
fn configurations() -> Vec<PackParams> {
    let mut out = Vec::new();
    let ranges = [(0.5, 30.0), (2.0, 8.0), (0.3, 100.0), (0.1, 1e4)];
    for bits in [BitDepth::Eight, BitDepth::Ten] {
        for scheme in Scheme::ALL {
            for layout in [VbpLayout::Chroma, VbpLayout::Luma] {
                for mode in [RangeMode::Linear, RangeMode::Disparity] {
                    let n = out.len();
                    let (lo, hi) = PackParams::precision_range(scheme, bits);
                    let precision = if n % 2 == 0 { hi } else { lo + (hi - lo) / 2 };
                    let (near, far) = ranges[n % ranges.len()];
                    let mut p = PackParams::new(scheme, precision, near, far, W, H);
                    p.bit_depth = bits;
                    p.layout = layout;
                    p.mode = mode;
                    p.low_amplitude = [255, 77, 1][n % 3];
                    if scheme == Scheme::Triangle {
                        let (min, max) = PackParams::period_range(precision, bits);
                        p.period = [min, max, ((min + max) / 2) | 1][n % 3];
                    }
                    p.validate().unwrap_or_else(|e| panic!("{p:?}: {e}"));
                    out.push(p);
                }
            }
        }
    }
    out
}

fn label(p: &PackParams) -> String {
    format!("{} P{} {}-bit {} {}", p.scheme.name(), p.precision, p.bit_depth.bits(), p.layout.name(), p.mode.name())
}

/// Frame indices and send times with zero runs (emulation prevention) and without.
const FRAME_INDICES: [u32; 3] = [0, 0x0000_0300, 0xdead_beef];
const SEND_TIMES: [u64; 3] = [0x0003_0000_0000_0001, 1_796_393_576_129_526, 0x0000_0100_0000_0000];

/// Encodes three frames of `p` (the first a keyframe), cameras on all but the last.
fn encode(
    codec: VideoCodec,
    p: &PackParams,
    global_header: bool,
) -> (Encoder, Vec<(depthcast_codec::EncodedPacket, SeiContent)>) {
    let (fw, fh) = p.frame_size();
    let mut s = EncoderSettings::new(codec, fw, fh);
    s.bit_depth = p.bit_depth;
    s.force_software = true;
    s.bitrate = 500_000;
    s.threads = 1;
    s.global_header = global_header;
    let mut enc = Encoder::new(&s).unwrap_or_else(|e| panic!("{} encoder for {}: {e}", codec.name(), label(p)));
    let mut out = Vec::new();
    // What each frame was sent with, by pts: libsvtav1's packets come out frames later.
    let mut contents = Vec::new();
    let mut packets = Vec::new();
    for i in 0..3 {
        let mut p = *p;
        p.frame_index = FRAME_INDICES[i];
        let depth = testdata::game_scene(W, H, i as f32 * 0.1);
        let frame = pack(&depth.view(), &p).unwrap();
        let cam = (i < 2).then(|| camera(p.frame_index, i));
        let opts = FrameOptions {
            force_keyframe: i == 0,
            camera: cam,
            sent_unix_us: Some(SEND_TIMES[i]),
            ..FrameOptions::default()
        };
        contents.push(SeiContent { params: Some(p), camera: cam, sent_unix_us: Some(SEND_TIMES[i]) });
        packets.extend(enc.encode(&frame, &p, &opts).unwrap());
    }
    packets.extend(enc.finish().unwrap());
    for pkt in packets {
        let content = contents[usize::try_from(pkt.pts).unwrap()];
        out.push((pkt, content));
    }
    (enc, out)
}

/// The units of real Annex B encodes, and the same streams through Matroska files.
fn encoded_units(dir: &std::path::Path) -> (Vec<Unit>, usize) {
    let mut units = Vec::new();
    let mut configs = 0;
    let mut all: Vec<(VideoCodec, PackParams)> = configurations().into_iter().map(|p| (VideoCodec::H264, p)).collect();
    // HEVC: a few configurations (the page parses it; Chromium cannot decode it).
    for p in configurations().into_iter().step_by(5) {
        all.push((VideoCodec::Hevc, p));
    }
    // AV1: metadata OBUs instead of SEI, 8- and 10-bit (the configurations alternate).
    for p in configurations().into_iter().skip(1).step_by(7) {
        all.push((VideoCodec::Av1, p));
    }
    for (k, (codec, p)) in all.into_iter().enumerate() {
        configs += 1;
        let (_, packets) = encode(codec, &p, false);
        for (i, (pkt, content)) in packets.into_iter().enumerate() {
            units.push(Unit {
                label: format!("{} {} annexb #{i}", codec.name(), label(&p)),
                data: pkt.data,
                nal: 0,
                codec,
                sent: Some(content).filter(|c| c.sent_unix_us.is_some()),
                keyframe: Some(pkt.keyframe),
            });
        }
        // Through Matroska: length-prefixed units, as the demuxer returns them.
        let path = dir.join(format!("{k}.mkv"));
        let url = path.to_str().unwrap().to_owned();
        assert!(Container::for_url(&url).unwrap().needs_global_header());
        let (enc, packets) = encode(codec, &p, true);
        let mut tx = PacketSender::open(&url, &enc).unwrap_or_else(|e| panic!("{url}: {e}"));
        let sent: Vec<SeiContent> = packets.iter().map(|(_, c)| *c).collect();
        for (pkt, _) in &packets {
            tx.send(pkt).unwrap();
        }
        tx.finish().unwrap();
        drop(enc);
        let mut rx = PacketReceiver::open(&url, &ReceiverOptions::default()).unwrap();
        let track = rx.depth_track();
        let n = if codec == VideoCodec::Av1 {
            // av1C, and temporal units of OBUs (without their temporal delimiters).
            assert_eq!(rx.extradata(track).and_then(|e| e.first()), Some(&0x81), "{url}: av1C extradata");
            0
        } else {
            let Some(NalFormat::LengthPrefixed(n)) = rx.nal_format(track) else {
                panic!("{url}: Matroska should announce length-prefixed units, got {:?}", rx.nal_format(track))
            };
            assert_eq!(rx.extradata(track).and_then(|e| e.first()), Some(&1), "{url}: avcC/hvcC extradata");
            n
        };
        let mut i = 0;
        while let Some(pkt) = rx.read_packet().unwrap() {
            units.push(Unit {
                label: format!("{} {} mkv #{i}", codec.name(), label(&p)),
                data: pkt.data,
                nal: n,
                codec,
                sent: sent.get(i).copied().filter(|c| c.sent_unix_us.is_some()),
                keyframe: Some(pkt.keyframe),
            });
            i += 1;
        }
        assert_eq!(i, sent.len(), "{url}: packets read back");
    }
    (units, configs)
}

/// The SEI NAL unit (H.264 header) of raw messages `(uuid, body)`, emulation prevention added.
fn sei_nal(messages: &[(&[u8; 16], Vec<u8>)]) -> Vec<u8> {
    let mut rbsp = Vec::new();
    for (uuid, body) in messages {
        // Type 5, then the size ff-coded (long messages use the 0xff continuation).
        rbsp.push(5);
        let mut size = 16 + body.len();
        while size >= 255 {
            rbsp.push(255);
            size -= 255;
        }
        rbsp.push(size as u8);
        rbsp.extend_from_slice(&uuid[..]);
        rbsp.extend_from_slice(body);
    }
    rbsp.push(0x80);
    let mut nal = vec![0x06];
    sei::add_emulation_prevention(&rbsp, &mut nal);
    nal
}

/// `au` (Annex B, H.264) with its SEI units replaced by `sei` (before the first slice).
fn with_sei(au: &[u8], sei_units: &[Vec<u8>]) -> Vec<u8> {
    let codec = VideoCodec::H264;
    let mut out = Vec::new();
    let mut inserted = false;
    for nal in sei::nal_units(au, NalFormat::AnnexB).unwrap() {
        let t = sei::nal_type(codec, nal).unwrap();
        if t == 6 {
            continue;
        }
        if sei::is_vcl(codec, t) && !inserted {
            for s in sei_units {
                out.extend_from_slice(&[0, 0, 0, 1]);
                out.extend_from_slice(s);
            }
            inserted = true;
        }
        out.extend_from_slice(&[0, 0, 1]);
        out.extend_from_slice(nal);
    }
    out
}

/// Hand-made SEI on the slices of a real keyframe and a real P frame.
fn handmade_units(key: &[u8], inter: &[u8]) -> Vec<Unit> {
    let mut units = Vec::new();
    let p = {
        let mut p = PackParams::new(Scheme::Vbp, 12, 2.0, 8.0, W, H);
        p.frame_index = 0x0000_0300;
        p
    };
    let cam = camera(0x0000_0300, 1);
    let time = 0x0003_0000_0000_0001u64.to_le_bytes().to_vec();
    let cat = |a: &[u8], b: &[u8]| [a, b].concat();
    let mut bad_params = p.to_bytes();
    bad_params[27] ^= 0x55;
    let mut bad_camera = cam.to_bytes();
    bad_camera[63] ^= 0x55;
    let mut bad_magic = p.to_bytes();
    bad_magic[0] = 0x44;
    let other_uuid = [7u8; 16];
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("params, no send time", vec![sei_nal(&[(&sei::DEPTHCAST_SEI_UUID, p.to_bytes().to_vec())])]),
        ("camera alone, send time", vec![sei_nal(&[(&sei::DEPTHCAST_CAMERA_UUID, cat(&cam.to_bytes(), &time))])]),
        ("camera alone, no send time", vec![sei_nal(&[(&sei::DEPTHCAST_CAMERA_UUID, cam.to_bytes().to_vec())])]),
        (
            "params without time, camera with time",
            vec![sei_nal(&[
                (&sei::DEPTHCAST_SEI_UUID, p.to_bytes().to_vec()),
                (&sei::DEPTHCAST_CAMERA_UUID, cat(&cam.to_bytes(), &time)),
            ])],
        ),
        ("corrupt params CRC", vec![sei_nal(&[(&sei::DEPTHCAST_SEI_UUID, cat(&bad_params, &time))])]),
        ("bad params magic", vec![sei_nal(&[(&sei::DEPTHCAST_SEI_UUID, bad_magic.to_vec())])]),
        (
            "good params, corrupt camera CRC",
            vec![sei_nal(&[
                (&sei::DEPTHCAST_SEI_UUID, cat(&p.to_bytes(), &time)),
                (&sei::DEPTHCAST_CAMERA_UUID, cat(&bad_camera, &time)),
            ])],
        ),
        ("corrupt camera CRC alone", vec![sei_nal(&[(&sei::DEPTHCAST_CAMERA_UUID, bad_camera.to_vec())])]),
        ("truncated params block", vec![sei_nal(&[(&sei::DEPTHCAST_SEI_UUID, p.to_bytes()[..20].to_vec())])]),
        (
            "a foreign message first, a long one (ff-coded size)",
            vec![sei_nal(&[(&other_uuid, vec![0u8; 300]), (&sei::DEPTHCAST_SEI_UUID, cat(&p.to_bytes(), &time))])],
        ),
        (
            "two SEI units, params in the second",
            vec![
                sei_nal(&[(&other_uuid, vec![1, 2, 3])]),
                sei_nal(&[(&sei::DEPTHCAST_SEI_UUID, cat(&p.to_bytes(), &time))]),
            ],
        ),
        (
            "the first params message wins",
            vec![sei_nal(&[
                (&sei::DEPTHCAST_SEI_UUID, cat(&bad_params, &time)),
                (&sei::DEPTHCAST_SEI_UUID, cat(&p.to_bytes(), &time)),
            ])],
        ),
        ("truncated SEI size", vec![vec![0x06, 0x05, 0xff]]),
        ("SEI payload past the end", vec![vec![0x06, 0x05, 0x40, 1, 2, 3, 0x80]]),
        ("no SEI at all", vec![]),
    ];
    for (name, sei_units) in cases {
        for (frame, au) in [("key", key), ("inter", inter)] {
            units.push(Unit {
                label: format!("hand-made: {name} ({frame})"),
                data: with_sei(au, &sei_units),
                nal: 0,
                codec: VideoCodec::H264,
                sent: None,
                keyframe: Some(frame == "key"),
            });
        }
    }
    // Length-prefixed framing that runs past the end.
    units.push(Unit {
        label: "hand-made: NAL length past the end".into(),
        data: vec![0, 0, 0, 9, 1],
        nal: 4,
        codec: VideoCodec::H264,
        sent: None,
        keyframe: Some(false),
    });
    // 1-, 2- and 3-byte lengths.
    for n in 1..=3u8 {
        let annexb = with_sei(key, &[sei_nal(&[(&sei::DEPTHCAST_SEI_UUID, cat(&p.to_bytes(), &time))])]);
        let mut lp = Vec::new();
        for u in sei::nal_units(&annexb, NalFormat::AnnexB).unwrap() {
            if u.len() >= 1 << (8 * u32::from(n)) {
                continue; // does not fit the length field
            }
            lp.extend_from_slice(&(u.len() as u32).to_be_bytes()[4 - usize::from(n)..]);
            lp.extend_from_slice(u);
        }
        units.push(Unit {
            label: format!("hand-made: {n}-byte NAL lengths"),
            data: lp,
            nal: n,
            codec: VideoCodec::H264,
            sent: None,
            keyframe: None,
        });
    }
    // HEVC framing rules on synthetic units (as sei.rs's own tests build them).
    for (name, slice) in [("IDR_W_RADL", vec![0x26u8, 0x01, 0xaf, 0x80]), ("TRAIL_R", vec![0x02, 0x01, 0xd0, 0x80])] {
        let mut au = vec![0, 0, 0, 1];
        au.extend_from_slice(&slice);
        let content = SeiContent { params: Some(p), camera: Some(cam), sent_unix_us: Some(42) };
        let mut out = Vec::new();
        sei::insert_sei_annexb_with(VideoCodec::Hevc, &au, &content, &mut out).unwrap();
        units.push(Unit {
            label: format!("hand-made: HEVC {name}"),
            data: out,
            nal: 0,
            codec: VideoCodec::Hevc,
            sent: Some(content),
            keyframe: Some(name.starts_with("IDR")),
        });
    }
    units
}

fn params_json(p: &PackParams) -> Value {
    json!({
        "scheme": p.scheme.name(), "bitDepth": p.bit_depth.bits(), "precision": p.precision,
        "layout": p.layout.name(), "mode": p.mode.name(), "lowAmplitude": p.low_amplitude,
        "period": p.period, "near": null, "far": null, "width": p.width, "height": p.height,
        "frameIndex": p.frame_index, "half": p.half, "nearBits": p.near.to_bits(), "farBits": p.far.to_bits(),
        "nearExact": true, "farExact": true,
        "keys": "bitDepth,far,frameIndex,half,height,layout,lowAmplitude,mode,near,period,precision,scheme,width",
    })
}

fn camera_json(c: &CameraBlock) -> Value {
    let k = &c.intrinsics;
    let lens = [k.fx, k.fy, k.cx, k.cy, k.near].map(f32::to_bits);
    json!({
        "frameIndex": c.frame_index,
        "position": c.pose.position.map(f32::to_bits),
        "rotation": c.pose.rotation.map(f32::to_bits),
        "width": k.width, "height": k.height,
        "lens": lens,
    })
}

/// What the page must report for `u`, from the Rust reader.
fn expected(u: &Unit) -> Value {
    let (params, camera) = sei::extract_all(u.codec, &u.data, u.format());
    let (params_v, params_err, params_sent) = match &params {
        Ok(inband) => (params_json(&inband.params), Value::Null, inband.sent_unix_us),
        Err(CodecError::ParamsMissing) => (Value::Null, Value::Null, None),
        Err(e) => (Value::Null, Value::String(e.to_string()), None),
    };
    let (camera_v, camera_err, camera_sent) = match &camera {
        Ok((c, sent)) => (camera_json(c), Value::Null, *sent),
        Err(CodecError::CameraMissing) => (Value::Null, Value::Null, None),
        Err(e) => (Value::Null, Value::String(e.to_string()), None),
    };
    let sent = if params.is_ok() { params_sent } else { camera_sent };
    // What was sent, when known, agrees with the Rust reader.
    if let Some(s) = &u.sent {
        let inband = params.as_ref().unwrap_or_else(|e| panic!("{}: {e}", u.label));
        assert_eq!(Some(inband.params), s.params, "{}", u.label);
        assert_eq!(inband.camera, s.camera, "{}", u.label);
        assert_eq!(inband.sent_unix_us, s.sent_unix_us, "{}", u.label);
    }
    let keyframe = sei::is_keyframe(u.codec, &u.data, u.format());
    if let Some(k) = u.keyframe {
        assert_eq!(keyframe, k, "{}: the encoder's or demuxer's keyframe flag", u.label);
    }
    json!({
        "params": params_v, "paramsError": params_err, "camera": camera_v, "cameraError": camera_err,
        "sentUnixUs": sent.map(|s| s.to_string()), "sentSafe": true, "keyframe": keyframe,
    })
}

/// Valid blocks of every configuration and camera, and mutations of them with the CRC fixed up
/// (and some without), for `decodePackParams` / `decodeCameraBlock`.
fn blocks(rng: &mut Rng) -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let mut valid_params: Vec<[u8; 28]> = configurations().iter().map(PackParams::to_bytes).collect();
    let mut extra = PackParams::new(Scheme::Triangle, 16, 0.3, 20.0, 1919, 1081);
    extra.period = 512;
    valid_params.push(extra.to_bytes());
    for b in &valid_params {
        out.push(("params", b.to_vec()));
        out.push(("params", [&b[..], &[1, 2, 3]].concat())); // trailing bytes are ignored
        out.push(("params", b[..27].to_vec())); // truncated
        for _ in 0..60 {
            let mut m = *b;
            let at = 3 + rng.below(23) as usize;
            m[at] = match rng.below(4) {
                0 => rng.next() as u8,
                1 => m[at] ^ (1 << rng.below(8)),
                2 => 0,
                _ => 0xff,
            };
            if rng.below(8) != 0 {
                let crc = crc16(&m[..26]);
                m[26..28].copy_from_slice(&crc.to_le_bytes());
            }
            out.push(("params", m.to_vec()));
        }
        let mut v = *b;
        v[2] = 2; // version
        out.push(("params", v.to_vec()));
    }
    // Special floats in near/far: NaN, infinities, subnormals, negatives.
    for (near, far) in [
        (f32::NAN, 1.0),
        (0.5, f32::INFINITY),
        (1e-40, 1.0),
        (-1.0, 2.0),
        (1e-6, 1.0),
        (1e-7, 0.5),
        (0.001, 1e7),
        (1.0, 1.0),
    ] {
        let mut p = PackParams::new(Scheme::LumaOnly, 8, 0.5, 2.0, 64, 64);
        p.near = near;
        p.far = far;
        out.push(("params", p.to_bytes().to_vec()));
    }
    for k in 0..3 {
        let c = camera(0x0000_0300 + k as u32, k);
        let b = c.to_bytes();
        out.push(("camera", b.to_vec()));
        out.push(("camera", b[..63].to_vec()));
        for _ in 0..200 {
            let mut m = b;
            let at = 3 + rng.below(59) as usize;
            m[at] = match rng.below(4) {
                0 => rng.next() as u8,
                1 => m[at] ^ (1 << rng.below(8)),
                2 => 0,
                _ => 0xff,
            };
            if rng.below(8) != 0 {
                let crc = crc16(&m[..62]);
                m[62..64].copy_from_slice(&crc.to_le_bytes());
            }
            out.push(("camera", m.to_vec()));
        }
    }
    let mut odd = camera(1, 0);
    odd.pose.rotation = [0.0, 0.0, 0.0, 2.0];
    out.push(("camera", odd.to_bytes().to_vec()));
    odd.pose.rotation = [0.0, 0.0, 0.0, 1.0005];
    out.push(("camera", odd.to_bytes().to_vec()));
    odd.pose.rotation = [f32::NAN, 0.0, 0.0, 1.0];
    out.push(("camera", odd.to_bytes().to_vec()));
    // Quaternion norms at the 1e-3 tolerance, a few ULPs either side (f32 arithmetic decides).
    for edge in [1.001f32, 0.999] {
        for ulps in -4i32..=4 {
            let w = f32::from_bits(edge.to_bits().wrapping_add_signed(ulps));
            odd.pose.rotation = [0.0, 0.0, 0.0, w];
            out.push(("camera", odd.to_bytes().to_vec()));
            let c = w / 2f32.sqrt();
            odd.pose.rotation = [c, 0.0, 0.0, c];
            out.push(("camera", odd.to_bytes().to_vec()));
        }
    }
    out
}

fn expected_block(kind: &str, b: &[u8]) -> Value {
    if kind == "params" {
        match PackParams::from_bytes(b) {
            Ok(p) => json!({"ok": params_json(&p), "err": null}),
            Err(e) => json!({"ok": null, "err": e.to_string()}),
        }
    } else {
        match CameraBlock::from_bytes(b) {
            Ok(c) => json!({"ok": camera_json(&c), "err": null}),
            Err(e) => json!({"ok": null, "err": e.to_string()}),
        }
    }
}

#[test]
fn sei_js_reads_access_units_as_the_rust_reader_does() {
    let b64 = base64::engine::general_purpose::STANDARD;
    let dir = std::env::temp_dir().join(format!("depthcast-sei-contract-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mut units, configs) = encoded_units(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let real = units.len();
    let key = units.iter().find(|u| u.nal == 0 && u.codec == VideoCodec::H264 && u.keyframe == Some(true)).unwrap();
    let inter = units.iter().find(|u| u.nal == 0 && u.codec == VideoCodec::H264 && u.keyframe == Some(false)).unwrap();
    let (key, inter) = (key.data.clone(), inter.data.clone());
    units.extend(handmade_units(&key, &inter));
    // AV1 temporal units made bad: cut short, a flipped bit in each metadata OBU's block, the
    // forbidden bit, a metadata type cut short.
    let av1 = units.iter().find(|u| u.codec == VideoCodec::Av1 && u.keyframe == Some(true)).unwrap().data.clone();
    // Where each metadata OBU ends.
    let mut metadata = Vec::new();
    let mut end = 0;
    for o in depthcast_codec::obu::obus(&av1).unwrap() {
        end += o.bytes.len();
        if o.obu_type == depthcast_codec::obu::OBU_METADATA {
            metadata.push(end);
        }
    }
    assert!(!metadata.is_empty(), "the AV1 keyframe carries metadata OBUs");
    let mut bad: Vec<(String, Vec<u8>)> = vec![("cut".into(), av1[..av1.len() - 3].to_vec())];
    for (k, end) in metadata.iter().enumerate() {
        let mut b = av1.clone();
        b[end - 10] ^= 0x10; // the block's CRC: its last byte comes before the 8-byte send time and the trailing bits
        bad.push((format!("metadata OBU {k} corrupt"), b));
    }
    let mut b = av1.clone();
    b[0] |= 0x80;
    bad.push(("forbidden bit".into(), b));
    bad.push(("metadata type cut".into(), [&[0x2a, 0x01, 0x80][..], &av1].concat()));
    for (label, data) in bad {
        units.push(Unit {
            label: format!("av1 hand-made: {label}"),
            data,
            nal: 0,
            codec: VideoCodec::Av1,
            sent: None,
            keyframe: None,
        });
    }

    // Emulation prevention really happened in the SEI of real encodes.
    let escaped = units[..real]
        .iter()
        .filter(|u| {
            sei::nal_units(&u.data, u.format()).unwrap().iter().any(|n| {
                sei::nal_type(u.codec, n) == Some(if u.codec == VideoCodec::H264 { 6 } else { 39 })
                    && n.windows(3).any(|w| w == [0, 0, 3])
            })
        })
        .count();
    assert!(escaped > 10, "only {escaped} SEI units needed emulation prevention");

    let manifest: Vec<Value> =
        units.iter().map(|u| json!({"data": b64.encode(&u.data), "nal": u.nal, "codec": u.codec.name()})).collect();
    let mut rng = Rng(0x5e1);
    let blocks = blocks(&mut rng);
    let block_manifest: Vec<Value> =
        blocks.iter().map(|(kind, b)| json!({"kind": kind, "data": b64.encode(b)})).collect();

    let web = depthcast_browser::web_dir();
    let mut server = StaticServer::new(web);
    server.add("/contract/sei.html", include_bytes!("sei_contract.html").to_vec(), "text/html");
    server.add("/contract/units.json", serde_json::to_vec(&manifest).unwrap(), "application/json");
    server.add("/contract/blocks.json", serde_json::to_vec(&block_manifest).unwrap(), "application/json");
    let server = server.start().expect("static server");
    let chromium = Chromium::launch().expect("Chromium (Debian's `chromium` package) must be installed");
    let page = chromium.new_page(&server.url("/contract/sei.html")).expect("page");
    page.wait_for("window.seiContract !== undefined", Duration::from_secs(30)).expect("the contract page did not load");

    assert_eq!(page.eval("window.seiContract.crc16('123456789')").unwrap(), 0x29b1);

    // Access units.
    let result = page.eval("window.seiContract.units('/contract/units.json')").expect("parseAccessUnit in the page");
    let got = result["out"].as_array().expect("an array of results");
    assert_eq!(got.len(), units.len());
    let mut failed = Vec::new();
    let (mut with_params, mut with_camera, mut keyframes, mut errors, mut length_prefixed) = (0, 0, 0, 0, 0);
    for (u, g) in units.iter().zip(got) {
        let want = expected(u);
        let mut g = g.clone();
        let nal_count = g["units"].take();
        g.as_object_mut().unwrap().remove("units");
        let rust_units = if u.codec == VideoCodec::Av1 {
            depthcast_codec::obu::obus(&u.data).map(|o| o.len())
        } else {
            sei::nal_units(&u.data, u.format()).map(|n| n.len())
        };
        if let Ok(n) = rust_units
            && nal_count != n
        {
            failed.push(format!("{}: nalUnits/obus gave {nal_count} units, Rust {n}", u.label));
        }
        if g != want {
            failed.push(format!("{}:\n  page {g}\n  rust {want}", u.label));
        }
        with_params += usize::from(!want["params"].is_null());
        with_camera += usize::from(!want["camera"].is_null());
        keyframes += usize::from(want["keyframe"] == true);
        errors += usize::from(!want["paramsError"].is_null() || !want["cameraError"].is_null());
        length_prefixed += usize::from(u.nal != 0);
    }
    println!(
        "{} access units ({real} from {configs} real encodes, {} hand-made; {length_prefixed} length-prefixed): \
         {with_params} with parameters, {with_camera} with a camera, {keyframes} keyframes, {errors} with errors; \
         {escaped} real SEI units with emulation prevention; parsed in {:.1} ms",
        units.len(),
        units.len() - real,
        result["ms"].as_f64().unwrap_or(f64::NAN)
    );
    for f in failed.iter().take(15) {
        eprintln!("{f}");
    }
    assert!(failed.is_empty(), "{} of {} access units differ", failed.len(), units.len());
    assert!(errors >= 10 && with_camera > 50 && with_params > 100, "the cases cover what they should");

    // Blocks.
    let got = page.eval("window.seiContract.blocks('/contract/blocks.json')").expect("decoding blocks in the page");
    let got = got.as_array().expect("an array of results");
    assert_eq!(got.len(), blocks.len());
    let mut failed = Vec::new();
    let (mut ok, mut err) = (0, 0);
    for ((kind, b), g) in blocks.iter().zip(got) {
        let want = expected_block(kind, b);
        if want["ok"].is_null() {
            err += 1
        } else {
            ok += 1
        }
        if *g != want {
            failed.push(format!("{kind} {}:\n  page {g}\n  rust {want}", b64.encode(b)));
        }
    }
    println!("{} blocks decoded ({ok} valid, {err} refused), results and error messages as Rust's", blocks.len());
    for f in failed.iter().take(15) {
        eprintln!("{f}");
    }
    assert!(failed.is_empty(), "{} of {} blocks differ", failed.len(), blocks.len());
    let console = page.console();
    assert!(!console.iter().any(|l| l.starts_with("[exception]")), "page exceptions: {console:?}");
}
