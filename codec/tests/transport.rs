//! Parameters survive Matroska and MPEG-TS files, and loopback UDP and TCP between a sender and a
//! receiver thread.

mod common;

use std::thread;
use std::time::Duration;

use depthcast_codec::{
    Container, Encoder, EncoderSettings, FrameOptions, PacketReceiver, PacketSender, ReceiverOptions, VideoCodec,
};
use depthcast_packing::{BitDepth, PackParams, YuvFrame, unpack};

const W: u32 = 128;
const H: u32 = 72;
const N: usize = 20;

fn send(url: &str, codec: VideoCodec, frames: &[(depthcast_packing::DepthImage, YuvFrame, PackParams)]) {
    let mut s = EncoderSettings::new(codec, W, H);
    s.force_software = true;
    s.bitrate = 1_000_000;
    s.refresh = depthcast_codec::Refresh::Gop(10);
    s.global_header = Container::for_url(url).unwrap().needs_global_header();
    let mut enc = Encoder::new(&s).unwrap();
    // A TCP receiver may not be listening yet: retry for a few seconds.
    let mut tries = 0;
    let mut tx = loop {
        match PacketSender::open(url, &enc) {
            Ok(tx) => break tx,
            Err(e) if tries < 100 && url.starts_with("tcp://") => {
                let _ = e;
                tries += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("{url}: {e}"),
        }
    };
    for (_, f, p) in frames {
        for pkt in enc.encode(f, p, &FrameOptions::default()).unwrap() {
            tx.send(&pkt).unwrap();
        }
    }
    for pkt in enc.finish().unwrap() {
        tx.send(&pkt).unwrap();
    }
    tx.finish().unwrap();
}

/// Reads up to `n` frames; returns their params (in order) after checking each decodes and unpacks.
fn receive(mut rx: PacketReceiver, n: usize) -> Vec<PackParams> {
    let mut dec = rx.decoder().unwrap();
    let mut got = Vec::new();
    while got.len() < n {
        let Some(pkt) = rx.read_packet().unwrap() else { break };
        let inband = pkt.params.as_ref().expect("every packet carries its params").params;
        for f in dec.decode(&pkt.data, pkt.pts).unwrap() {
            let f = f.unwrap();
            let p = f.params.unwrap().params;
            assert_eq!(p, inband);
            let depth = unpack(&f.frame, &p).unwrap();
            assert_eq!((depth.width, depth.height), (W, H));
            got.push(p);
        }
    }
    dec.send_eof().unwrap();
    while got.len() < n {
        match dec.receive_frame().unwrap() {
            Some(f) => got.push(f.params.unwrap().params),
            None => break,
        }
    }
    got
}

fn check(got: &[PackParams], frames: &[(depthcast_packing::DepthImage, YuvFrame, PackParams)]) {
    let want: Vec<PackParams> = frames.iter().map(|f| f.2).collect();
    assert_eq!(got, &want[..]);
}

#[test]
fn files_mkv_and_ts_carry_params() {
    for (ext, codec) in
        [("mkv", VideoCodec::H264), ("ts", VideoCodec::H264), ("mkv", VideoCodec::Hevc), ("ts", VideoCodec::Hevc)]
    {
        let frames = common::packed(N, W, H, BitDepth::Eight);
        let path = common::temp_path(&format!("{}.{ext}", codec.name()));
        let url = path.to_str().unwrap();
        send(url, codec, &frames);
        let rx = PacketReceiver::open(url, &ReceiverOptions::default()).unwrap();
        assert_eq!(rx.codec(), codec);
        let got = receive(rx, N);
        check(&got, &frames);
        let _ = std::fs::remove_file(&path);
    }
}

#[test]
fn udp_loopback_carries_params() {
    let port = common::free_port();
    let frames = common::packed(N, W, H, BitDepth::Eight);
    let want = frames.clone();
    let rx_url = format!("udp://127.0.0.1:{port}");
    let opts = ReceiverOptions { timeout: Some(Duration::from_secs(5)), ..Default::default() };
    let receiver = thread::spawn(move || {
        let rx = PacketReceiver::open(&rx_url, &opts).unwrap();
        receive(rx, N)
    });
    thread::sleep(Duration::from_millis(300));
    send(&format!("udp://127.0.0.1:{port}"), VideoCodec::H264, &frames);
    let got = receiver.join().unwrap();
    check(&got, &want);
}

#[test]
fn tcp_loopback_carries_params() {
    let port = common::free_port();
    let frames = common::packed(N, W, H, BitDepth::Eight);
    let want = frames.clone();
    let rx_url = format!("tcp://127.0.0.1:{port}");
    let opts = ReceiverOptions { listen: true, ..Default::default() };
    let receiver = thread::spawn(move || {
        let rx = PacketReceiver::open(&rx_url, &opts).unwrap();
        receive(rx, N)
    });
    // The receiver listens; the sender connects (retrying until the socket is up).
    send(&format!("tcp://127.0.0.1:{port}"), VideoCodec::H264, &frames);
    let got = receiver.join().unwrap();
    check(&got, &want);
}
