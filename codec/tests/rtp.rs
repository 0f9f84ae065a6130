//! `rtp://` output (for media servers such as Janus): one H.264 track as RFC 6184 RTP
//! (packetization-mode 1) on loopback UDP. A plain socket receives it; the test depacketizes it
//! (single NAL units, STAP-A, FU-A) and checks that every access unit arrives whole, with its
//! in-band parameters, in packets that fit the 1200-byte limit, and that the SDP says what a
//! receiver needs. Two tracks (RGB-D) and reading `rtp://` are refused with a reason.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use depthcast_codec::sei::{self, NalFormat};
use depthcast_codec::{
    CodecError, Container, Encoder, EncoderSettings, FrameOptions, PacketReceiver, PacketSender, ReceiverOptions,
    VideoCodec,
};
use depthcast_packing::BitDepth;

const W: u32 = 320;
const H: u32 = 180;
const N: usize = 20;

fn encoder(w: u32, h: u32) -> Encoder {
    let mut s = EncoderSettings::new(VideoCodec::H264, w, h);
    s.force_software = true;
    s.bitrate = 2_000_000;
    s.refresh = depthcast_codec::Refresh::Gop(10);
    s.global_header = Container::Rtp.needs_global_header();
    Encoder::new(&s).unwrap()
}

#[test]
fn rtp_url_sends_h264_access_units_whole_with_their_parameters() {
    assert_eq!(Container::for_url("rtp://127.0.0.1:5004").unwrap(), Container::Rtp);
    assert_eq!(Container::for_url("RTP://[::1]:5004?pkt_size=1000").unwrap(), Container::Rtp);

    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    // Room for the whole stream: 20 access units of ~150 packets take about 350 KB of kernel
    // buffer (each 1200-byte datagram costs over 2 KB), past Linux's 208 KB default, and with the
    // whole test suite on two cores the reader thread can be starved for the whole burst (a CI
    // run lost three access units that way). The kernel caps the request at rmem_max.
    socket2::SockRef::from(&socket).set_recv_buffer_size(4 << 20).unwrap();
    // Generous: under a loaded machine (the whole test suite on two cores) an encoder can pause
    // for more than half a second; the reader stops at the last access unit's marker anyway.
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let url = format!("rtp://127.0.0.1:{}", socket.local_addr().unwrap().port());
    let frames = common::packed(N, W, H, BitDepth::Eight);
    let (fw, fh) = (frames[0].1.width, frames[0].1.height);
    let mut enc = encoder(fw, fh);
    let mut tx = PacketSender::open(&url, &enc).unwrap();
    assert_eq!(tx.container(), Container::Rtp);

    let sdp = tx.sdp().expect("an SDP");
    for want in ["m=video ", " RTP/AVP 96", "a=rtpmap:96 H264/90000", "packetization-mode=1"] {
        assert!(sdp.contains(want), "SDP without {want:?}:\n{sdp}");
    }

    // Read while sending: a burst of frames overflows a socket buffer left unread.
    let reader = std::thread::spawn(move || {
        let mut packets = Vec::new();
        let mut buf = [0u8; 2048];
        let mut markers = 0;
        while markers < N
            && let Ok(n) = socket.recv(&mut buf)
        {
            markers += usize::from(n > 1 && buf[1] & 0x80 != 0);
            packets.push(buf[..n].to_vec());
        }
        packets
    });
    let mut sent = Vec::new();
    for (i, (_, f, p)) in frames.iter().enumerate() {
        let opts = FrameOptions { sent_unix_us: Some(1000 + i as u64), ..FrameOptions::default() };
        for pkt in enc.encode(f, p, &opts).unwrap() {
            tx.send(&pkt).unwrap();
            sent.push(pkt.data.clone());
        }
    }
    for pkt in enc.finish().unwrap() {
        tx.send(&pkt).unwrap();
        sent.push(pkt.data);
    }
    tx.finish().unwrap();
    assert_eq!(sent.len(), N);

    // Depacketize: NAL units per RTP timestamp (in arrival order: a BTreeMap would misorder a
    // timestamp wrap).
    let mut units: Vec<(u32, Vec<Vec<u8>>)> = Vec::new();
    let mut markers = 0;
    let mut fu: Option<Vec<u8>> = None;
    for pkt in reader.join().unwrap() {
        let (pkt, n) = (&pkt[..], pkt.len());
        assert!(n <= 1200, "an RTP packet of {n} bytes, over the 1200-byte limit");
        assert_eq!(pkt[0] >> 6, 2, "RTP version");
        assert_eq!(pkt[1] & 0x7f, 96, "payload type");
        let cc = usize::from(pkt[0] & 0x0f);
        let payload = &pkt[12 + 4 * cc..];
        let ts = u32::from_be_bytes(pkt[4..8].try_into().unwrap());
        if pkt[1] & 0x80 != 0 {
            markers += 1;
        }
        if units.last().is_none_or(|(t, _)| *t != ts) {
            units.push((ts, Vec::new()));
        }
        let nals = &mut units.last_mut().unwrap().1;
        match payload[0] & 0x1f {
            1..=23 => nals.push(payload.to_vec()),
            24 => {
                // STAP-A: 16-bit sizes.
                let mut at = 1;
                while at + 2 <= payload.len() {
                    let size = usize::from(u16::from_be_bytes([payload[at], payload[at + 1]]));
                    nals.push(payload[at + 2..at + 2 + size].to_vec());
                    at += 2 + size;
                }
            }
            28 => {
                let (indicator, header) = (payload[0], payload[1]);
                if header & 0x80 != 0 {
                    fu = Some(vec![(indicator & 0xe0) | (header & 0x1f)]);
                }
                fu.as_mut().expect("FU-A start").extend_from_slice(&payload[2..]);
                if header & 0x40 != 0 {
                    nals.push(fu.take().unwrap());
                }
            }
            t => panic!("NAL unit type {t}: packetization-mode 1 uses single units, STAP-A and FU-A"),
        }
    }
    assert_eq!(units.len(), N, "one RTP timestamp per access unit");
    assert_eq!(markers, N, "the marker bit ends each access unit");
    for (i, ((_, nals), au)) in units.iter().zip(&sent).enumerate() {
        let want: Vec<&[u8]> = sei::nal_units(au, NalFormat::AnnexB).unwrap();
        assert_eq!(nals.iter().map(Vec::as_slice).collect::<Vec<_>>(), want, "access unit {i} changed");
        let mut annexb = Vec::new();
        for n in nals {
            annexb.extend_from_slice(&[0, 0, 0, 1]);
            annexb.extend_from_slice(n);
        }
        let inband = sei::extract_params(VideoCodec::H264, &annexb, NalFormat::AnnexB).unwrap();
        assert_eq!(inband.params, frames[i].2, "access unit {i}: parameters");
        assert_eq!(inband.sent_unix_us, Some(1000 + i as u64));
    }
}

#[test]
fn rtp_refuses_two_tracks_and_reading() {
    let (colour, depth) = (encoder(64, 64), encoder(64, 128));
    let err = PacketSender::open_tracks("rtp://127.0.0.1:9", &[&colour, &depth]).unwrap_err();
    assert!(matches!(&err, CodecError::Unsupported(m) if m.contains("one video track")), "{err}");
    let err = PacketReceiver::open("rtp://127.0.0.1:9", &ReceiverOptions::default()).unwrap_err();
    assert!(matches!(&err, CodecError::Unsupported(m) if m.contains("for sending")), "{err}");
}
