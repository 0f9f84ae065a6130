//! Fan-out through an existing media server: nginx with the RTMP module on 127.0.0.1 (a free
//! port, a temporary config); one sender pushes H.264, two receivers pull, and both get every
//! frame's parameters. Skipped, with the reason printed, when nginx or its RTMP module is not
//! installed (Debian: `apt-get install nginx libnginx-mod-rtmp`).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use depthcast_codec::{
    Container, Encoder, EncoderSettings, FrameOptions, PacketReceiver, PacketSender, ReceiverOptions, VideoCodec,
};
use depthcast_packing::BitDepth;

const NGINX: &str = "/usr/sbin/nginx";
const MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";
const N: usize = 45;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_nginx(port: u16) -> Option<Server> {
    for p in [NGINX, MODULE] {
        if !Path::new(p).exists() {
            println!("SKIPPED: {p} is not installed (apt-get install nginx libnginx-mod-rtmp)");
            return None;
        }
    }
    let dir = common::temp_path("nginx");
    std::fs::create_dir_all(&dir).unwrap();
    let conf = format!(
        "load_module {MODULE};\ndaemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 64; }}\n\
         rtmp {{ server {{ listen 127.0.0.1:{port}; chunk_size 4096;\n\
           application live {{ live on; record off; wait_key on; idle_streams on; }} }} }}\n",
        d = dir.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new(NGINX)
        .args(["-p", dir.to_str().unwrap(), "-e", dir.join("error.log").to_str().unwrap(), "-c"])
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(10), "nginx did not start: see {}/error.log", dir.display());
        thread::sleep(Duration::from_millis(50));
    }
    Some(server)
}

#[test]
fn one_sender_two_receivers_through_nginx_rtmp() {
    let port = common::free_port();
    let Some(_server) = start_nginx(port) else { return };
    let url = format!("rtmp://127.0.0.1:{port}/live/depth");
    let frames = common::packed(N, 128, 72, BitDepth::Eight);
    let want: Vec<u32> = frames.iter().map(|f| f.2.frame_index).collect();
    let receivers: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            thread::spawn(move || {
                let opts = ReceiverOptions { timeout: Some(Duration::from_secs(15)), ..Default::default() };
                let mut rx = PacketReceiver::open(&url, &opts).unwrap();
                let mut dec = rx.decoder().unwrap();
                let mut got = Vec::new();
                while got.len() < N {
                    let Some(pkt) = rx.read_packet().unwrap() else { break };
                    for f in dec.decode(&pkt.data, pkt.pts).unwrap() {
                        got.push(f.unwrap().params.unwrap().params.frame_index);
                    }
                }
                got
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(800));
    let mut s = EncoderSettings::new(VideoCodec::H264, 128, 72);
    s.force_software = true;
    s.bitrate = 500_000;
    s.global_header = Container::Flv.needs_global_header();
    let mut enc = Encoder::new(&s).unwrap();
    let mut tx = PacketSender::open(&url, &enc).unwrap();
    for (_, f, p) in &frames {
        for pkt in enc.encode(f, p, &FrameOptions::default()).unwrap() {
            tx.send(&pkt).unwrap();
        }
        thread::sleep(Duration::from_millis(10));
    }
    for pkt in enc.finish().unwrap() {
        tx.send(&pkt).unwrap();
    }
    thread::sleep(Duration::from_millis(500));
    tx.finish().unwrap();
    for r in receivers {
        let got = r.join().unwrap();
        assert_eq!(got, want, "every receiver gets every frame's params");
    }
}
