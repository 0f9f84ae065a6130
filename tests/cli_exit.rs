//! `depthcast recv` and `send` as a user meets them when something is wrong: each failure ends
//! by its timeout, with a message that says what happened and a distinct exit code (3 no stream,
//! 4 bad stream, 5 I/O); SRT with a passphrase works with the right key, and with a wrong one
//! both sides fail within their timeouts naming the passphrase, which never appears in a message.

use std::net::UdpSocket;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "correct-horse-battery";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_depthcast"));
    c.env_remove("RUST_BACKTRACE");
    c
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn recv(url: &str, timeout_s: f64) -> Child {
    bin()
        .args(["recv", "--url", url, "--timeout", &timeout_s.to_string(), "--stats", "/dev/null"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child`, failing the test if it outlives `limit` (it must end by its own timeout).
fn finish(mut child: Child, limit: Duration) -> (Output, Duration) {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return (child.wait_with_output().unwrap(), start.elapsed());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!(
                "still running after {limit:?}: {}",
                String::from_utf8_lossy(&child.wait_with_output().unwrap().stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn nothing_arrives_is_no_stream() {
    let url = format!("udp://127.0.0.1:{}", free_udp_port());
    let (out, took) = finish(recv(&url, 2.0), Duration::from_secs(15));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing arrived"), "{}", stderr(&out));
    assert!(took < Duration::from_secs(5), "ended {took:?} after a 2 s timeout");
}

#[test]
fn garbage_only_is_bad_stream() {
    let port = free_udp_port();
    let mut child = recv(&format!("udp://127.0.0.1:{port}"), 3.0);
    let junk = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut state = 0x9e37_79b9_u32;
    let start = Instant::now();
    // Garbage until `recv` gives up (its 3 s timeout), not for a fixed time: on a loaded machine
    // a late start could leave its opens without data, which ends them as timeouts, not garbage.
    while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(15) {
        let d: Vec<u8> = (0..1316)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        junk.send_to(&d, ("127.0.0.1", port)).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let (out, _) = finish(child, Duration::from_secs(15));
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("none of it was a valid depthcast stream"), "{}", stderr(&out));
}

#[test]
fn files_missing_or_garbage() {
    let dir = std::env::temp_dir().join(format!("depthcast-cli-exit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.ts");
    let (out, _) = finish(recv(missing.to_str().unwrap(), 2.0), Duration::from_secs(15));
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("No such file"), "{}", stderr(&out));
    let junk = dir.join("junk.ts");
    std::fs::write(&junk, (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect::<Vec<_>>())
        .unwrap();
    let (out, _) = finish(recv(junk.to_str().unwrap(), 2.0), Duration::from_secs(15));
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    // Sending into a folder that does not exist is an I/O error.
    let out = bin()
        .args(["send", "--synthetic", "4", "--fast", "--url", dir.join("no/such/dir/x.ts").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

fn srt_url(port: u16, mode: &str, passphrase: &str) -> String {
    format!("srt://127.0.0.1:{port}?mode={mode}&passphrase={passphrase}&pbkeylen=32")
}

fn send(url: &str, frames: u32) -> Child {
    bin()
        .args(["send", "--synthetic", &frames.to_string(), "--bitrate", "1M", "--url", url])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn srt_with_the_right_passphrase_streams() {
    let port = free_udp_port();
    let rx = recv(&srt_url(port, "listener", SECRET), 5.0);
    std::thread::sleep(Duration::from_millis(500));
    let (sent, _) = finish(send(&srt_url(port, "caller", SECRET), 45), Duration::from_secs(30));
    assert!(sent.status.success(), "{}", stderr(&sent));
    let (out, _) = finish(rx, Duration::from_secs(30));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let received: u32 = err
        .lines()
        .find_map(|l| l.strip_prefix("received ")?.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no summary: {err}"));
    // The first frames can go by while the listener probes the stream.
    assert!(received >= 35, "{received} of 45 frames arrived: {err}");
    for e in [&err, &stderr(&sent)] {
        assert!(!e.contains(SECRET), "the passphrase leaked into a message: {e}");
    }
}

#[test]
fn srt_with_a_wrong_passphrase_fails_on_both_sides() {
    let port = free_udp_port();
    let rx = recv(&srt_url(port, "listener", SECRET), 4.0);
    std::thread::sleep(Duration::from_millis(500));
    let (sent, took) = finish(send(&srt_url(port, "caller", "not-the-right-one"), 45), Duration::from_secs(20));
    let (out, rx_took) = finish(rx, Duration::from_secs(20));
    let (send_err, recv_err) = (stderr(&sent), stderr(&out));
    assert_eq!(sent.status.code(), Some(5), "{send_err}");
    assert!(send_err.contains("passphrase"), "{send_err}");
    assert!(took < Duration::from_secs(10), "the sender took {took:?}");
    assert_eq!(out.status.code(), Some(3), "{recv_err}");
    assert!(recv_err.contains("passphrase"), "{recv_err}");
    assert!(rx_took < Duration::from_secs(8), "the receiver took {rx_took:?} with a 4 s timeout");
    for e in [&send_err, &recv_err] {
        // libsrt's own log lines say "Incorrect passphrase"; the secret itself is never printed.
        assert!(!e.contains(SECRET) && !e.contains("not-the-right-one"), "a passphrase leaked: {e}");
    }
}

/// After frames, a stretch of damaged data longer than `--timeout` (packets arrive, no frame is
/// valid: lost keyframes on a lossy link) does not end the receiver; silence does.
#[test]
fn damaged_data_after_frames_is_not_the_end() {
    let (in_port, out_port) = (free_udp_port(), free_udp_port());
    let rx = bin()
        .args(["recv", "--url", &format!("udp://127.0.0.1:{out_port}"), "--timeout", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A proxy that corrupts every transport packet's payload (its 4-byte header kept, so the
    // demuxer still hands packets on) between 1.5 s and 6.5 s after the first datagram: 5 s of
    // damage against a 3 s timeout, which also leaves `send` 2.7 s to start on a loaded machine
    // (with 1.5 s, `recv` once gave up before the first datagram).
    let proxy = std::thread::spawn(move || {
        let sock = UdpSocket::bind(("127.0.0.1", in_port)).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let out = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut buf = [0u8; 2048];
        let mut first = None;
        let mut damaged = 0;
        while let Ok(n) = sock.recv(&mut buf) {
            let t = first.get_or_insert_with(Instant::now).elapsed();
            if t > Duration::from_millis(1500) && t < Duration::from_millis(6500) {
                for packet in buf[..n].chunks_mut(188) {
                    for b in packet.iter_mut().skip(4) {
                        *b ^= 0x5a;
                    }
                }
                damaged += 1;
            }
            out.send_to(&buf[..n], ("127.0.0.1", out_port)).unwrap();
        }
        damaged
    });
    std::thread::sleep(Duration::from_millis(300));
    let (sent, _) = finish(
        bin()
            .args(["send", "--synthetic", "300", "--gop", "15", "--bitrate", "1M"])
            .args(["--url", &format!("udp://127.0.0.1:{in_port}?pkt_size=1316")])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
        Duration::from_secs(30),
    );
    assert!(sent.status.success(), "{}", stderr(&sent));
    let damaged = proxy.join().unwrap();
    let (out, _) = finish(rx, Duration::from_secs(30));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let indices: Vec<u32> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next()?.parse().ok())
        .collect();
    println!("{damaged} damaged datagrams; frames {indices:?}; {err}");
    assert!(damaged > 50, "the damage window was hit ({damaged} datagrams)");
    assert!(indices.iter().any(|&i| i < 40), "frames before the damage: {indices:?}");
    assert!(indices.iter().any(|&i| i > 230), "the receiver stayed through the damage: {indices:?}");
    // The damage covers frames 45..195 at exact pacing; a GOP of margin on each side for a sender
    // whose first frame came late or early.
    assert!(!indices.iter().any(|&i| (65..175).contains(&i)), "no damaged frame is returned: {indices:?}");
}

#[test]
fn a_frame_that_cannot_be_read_ends_send_naming_it() {
    // `send` reads its frames ahead on a thread of their own: a frame that fails there still
    // ends the stream with what is wrong with it, not with a stream cut short in silence.
    let dir = std::env::temp_dir().join(format!("depthcast-cli-exit-frame-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let seq = dir.join("seq");
    let mut w =
        depthcast::sequence::SequenceWriter::create(&seq, 64, 36, 30.0, depthcast::sequence::DepthEncoding::Png16Mm)
            .unwrap();
    for i in 0..6 {
        w.push(&depthcast::packing::testdata::game_scene(64, 36, i as f32 / 30.0), None).unwrap();
    }
    w.finish().unwrap();
    std::fs::write(seq.join("000003.png"), b"not a png").unwrap();
    let out = bin()
        .args(["send", "--input", seq.to_str().unwrap(), "--fast", "--url", dir.join("x.ts").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("000003.png"), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}
