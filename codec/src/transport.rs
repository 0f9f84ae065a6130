//! Transports through libavformat, chosen by URL: files (`.mkv`, `.ts`), `udp://` and `tcp://`
//! with MPEG-TS, `srt://` (when the FFmpeg build has it), `rtmp://` (FLV, H.264 only) and
//! `rtp://` (plain RTP over UDP, one video track, send only: for media servers such as Janus's
//! streaming plugin, which relay it to WebRTC pages).
//!
//! A game that has its own channel skips this module and sends [`crate::EncodedPacket::data`]
//! itself; the receiving side feeds those bytes to [`crate::Decoder::send_packet`].
//!
//! **Tracks.** A depth stream has one video track. An RGB-D stream has two
//! ([`PacketSender::open_tracks`]): track 0 is the colour, track 1 the depth. Players play the
//! first video track, so a standard player (ffplay, VLC) shows the colour of an RGB-D stream.
//! MPEG-TS (`.ts`, `udp://`, `tcp://`, `srt://`) and Matroska carry both; RTMP/FLV carries one
//! video track only, and RTP one per URL, so two tracks are refused there. The receiver tells the
//! roles apart by the track count ([`TrackRole`]): one video track is depth (every older
//! stream), two are colour and depth.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ff::ffi;
use ffmpeg_next as ff;

use crate::decoder::Decoder;
use crate::encoder::{EncodedPacket, Encoder};
use crate::error::{CodecError, Result, ff as fferr};
use crate::sei::{self, InBand, NalFormat};
use crate::settings::VideoCodec;

/// The container a URL is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// Matroska (`.mkv` files).
    Matroska,
    /// MPEG transport stream (`.ts` files, `udp://`, `tcp://`, `srt://`).
    MpegTs,
    /// FLV (`rtmp://`), H.264 only with FFmpeg 5.1.
    Flv,
    /// RTP (`rtp://host:port`, sending only): libavformat's `rtp` muxer, one video track, the
    /// access units packetized as RFC 6184 (H.264, packetization-mode 1: single NAL units, FU-A,
    /// STAP-A) or RFC 7798 (HEVC, not tried with a media server), with SPS/PPS and the SEI
    /// in-band, payload type 96, 90 kHz clock, at most 1200-byte packets unless the URL sets
    /// `pkt_size`. RTCP goes to port + 1. [`PacketSender::sdp`] gives the session description a
    /// receiver needs. Plain UDP: a receiver that falls behind its socket buffer loses packets.
    Rtp,
}

const ALLOWED: &str = "a .mkv or .ts file, or a udp://, tcp://, srt://, rtmp:// or rtp:// URL";

impl Container {
    /// Chooses the container for a URL or file name.
    ///
    /// # Errors
    /// [`CodecError::UnknownContainer`] for anything else.
    pub fn for_url(url: &str) -> Result<Container> {
        let lower = url.to_ascii_lowercase();
        let path = lower.split(['?', '#']).next().unwrap_or("");
        if lower.starts_with("rtmp://") || lower.starts_with("rtmps://") {
            Ok(Container::Flv)
        } else if lower.starts_with("rtp://") {
            Ok(Container::Rtp)
        } else if ["udp://", "tcp://", "srt://"].iter().any(|p| lower.starts_with(p)) || path.ends_with(".ts") {
            Ok(Container::MpegTs)
        } else if path.ends_with(".mkv") {
            Ok(Container::Matroska)
        } else {
            Err(CodecError::UnknownContainer { url: url.into(), allowed: ALLOWED })
        }
    }

    /// Whether this container carries `codec` with the linked FFmpeg; the error says why not and
    /// what to use instead.
    ///
    /// # Errors
    /// FLV with anything but H.264; MPEG-TS or RTP with AV1.
    pub fn carries(self, codec: VideoCodec) -> std::result::Result<(), String> {
        match (self, codec) {
            (Container::Flv, VideoCodec::Hevc | VideoCodec::Av1) => {
                Err(format!("RTMP/FLV carries H.264 only with this FFmpeg, not {}", codec.name()))
            }
            (Container::MpegTs | Container::Rtp, VideoCodec::Av1) => Err(format!(
                "AV1 goes into .mkv files with this FFmpeg: its {} muxer has no AV1 (MPEG-TS writes it as \
                 private data that no demuxer reads back as video); use H.264 or HEVC for {}",
                self.ffmpeg_name(),
                if self == Container::Rtp { "RTP" } else { "MPEG-TS, udp://, tcp:// and srt://" }
            )),
            _ => Ok(()),
        }
    }

    /// libavformat's muxer name.
    pub fn ffmpeg_name(self) -> &'static str {
        match self {
            Container::Matroska => "matroska",
            Container::MpegTs => "mpegts",
            Container::Flv => "flv",
            Container::Rtp => "rtp",
        }
    }

    /// Whether the container stores SPS/PPS once (so the encoder must use a global header).
    pub fn needs_global_header(self) -> bool {
        matches!(self, Container::Matroska | Container::Flv)
    }
}

/// Writes encoded packets to a URL: one video track ([`PacketSender::open`]) or several
/// ([`PacketSender::open_tracks`]).
pub struct PacketSender {
    octx: ff::format::context::Output,
    container: Container,
    url: String,
    /// Per track: the encoder's and the stream's time base.
    tracks: Vec<(ff::Rational, ff::Rational)>,
    finished: bool,
}

impl std::fmt::Debug for PacketSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacketSender")
            .field("url", &redact_url(&self.url))
            .field("container", &self.container)
            .field("tracks", &self.tracks.len())
            .finish_non_exhaustive()
    }
}

impl PacketSender {
    /// Opens `url` for the stream of `encoder` and writes the container header. The encoder must
    /// have been opened with [`crate::EncoderSettings::global_header`] set to
    /// [`Container::needs_global_header`].
    ///
    /// # Errors
    /// An unknown container, HEVC or AV1 over RTMP, AV1 in MPEG-TS or RTP, a global-header
    /// mismatch, or FFmpeg failing to open the URL or write the header.
    pub fn open(url: &str, encoder: &Encoder) -> Result<PacketSender> {
        Self::open_tracks(url, &[encoder])
    }

    /// Opens `url` with one video track per encoder, in order, and writes the container header.
    /// For an RGB-D stream: track 0 the colour, track 1 the depth (players play the first video
    /// track). Each encoder must have been opened with [`crate::EncoderSettings::global_header`]
    /// set to [`Container::needs_global_header`]. Packets are written as they come, never held
    /// back waiting for another track, so a live stream keeps its latency.
    ///
    /// # Errors
    /// No encoder, an unknown container, more than one track over RTMP/FLV (it carries one video
    /// track), HEVC or AV1 over RTMP, AV1 in MPEG-TS or RTP (FFmpeg 5.1's muxers lack it), a
    /// global-header mismatch, or FFmpeg failing to open the URL or write the header.
    pub fn open_tracks(url: &str, encoders: &[&Encoder]) -> Result<PacketSender> {
        crate::init();
        let container = Container::for_url(url)?;
        if encoders.is_empty() {
            return Err(CodecError::InvalidSetting {
                name: "tracks",
                value: "0".into(),
                allowed: "at least one encoder".into(),
            });
        }
        if container == Container::Rtp && encoders.len() > 1 {
            return Err(CodecError::Unsupported(format!(
                "{}: RTP carries one video track per URL, not {}: send colour and depth (RGB-D) \
                 over srt://, udp://, tcp:// or into a .ts or .mkv file, or send one track over RTP",
                redact_url(url),
                encoders.len()
            )));
        }
        if container == Container::Flv && encoders.len() > 1 {
            return Err(CodecError::Unsupported(format!(
                "{}: RTMP/FLV carries one video track, not {}: send colour and depth (RGB-D) over \
                 srt://, udp://, tcp:// or into a .ts or .mkv file, or send one track over RTMP",
                redact_url(url),
                encoders.len()
            )));
        }
        for encoder in encoders {
            let s = encoder.settings();
            container.carries(s.codec).map_err(|why| CodecError::Unsupported(format!("{}: {why}", redact_url(url))))?;
            if s.global_header != container.needs_global_header() {
                return Err(CodecError::InvalidSetting {
                    name: "global_header",
                    value: s.global_header.to_string(),
                    allowed: format!("{} for {}", container.needs_global_header(), url),
                });
            }
        }
        let mut io_opts = ff::Dictionary::new();
        if url.starts_with("udp://") && !url.contains("pkt_size") {
            io_opts.set("pkt_size", "1316");
        }
        if container == Container::Rtp && !url.contains("pkt_size") {
            // Room for what a relay adds before WebRTC (SRTP, header extensions) under a
            // 1500-byte MTU.
            io_opts.set("pkt_size", "1200");
        }
        let mut octx = ff::format::output_as_with(url, container.ffmpeg_name(), io_opts).map_err(fferr(format!(
            "opening {} for writing{}",
            redact_url(url),
            srt_hint(url, false)
        )))?;
        let mut enc_tbs = Vec::with_capacity(encoders.len());
        for (i, encoder) in encoders.iter().enumerate() {
            let s = encoder.settings();
            let enc_tb = encoder.context().time_base();
            let mut st = octx.add_stream_with(encoder.context().as_ref()).map_err(fferr("adding a video stream"))?;
            st.set_time_base(enc_tb);
            st.set_avg_frame_rate(ff::Rational::new(s.fps.0 as i32, s.fps.1 as i32));
            if encoders.len() > 1 {
                // The first track (an RGB-D stream's colour) is the default one: Matroska stores
                // it (FlagDefault), and players and `ffmpeg` then pick it over the depth, whose
                // packed frame is larger.
                let disposition = if i == 0 { ffi::AV_DISPOSITION_DEFAULT } else { 0 };
                // SAFETY: `st` is a stream of the output context being set up; `disposition` is
                // a plain field read when the header is written.
                unsafe { (*st.as_mut_ptr()).disposition = disposition };
            }
            enc_tbs.push(enc_tb);
        }
        let mut opts = ff::Dictionary::new();
        if container == Container::MpegTs {
            // Low latency: no muxing delay, PCR often.
            opts.set("muxdelay", "0");
            opts.set("flush_packets", "1");
            // The PES length of each video packet (when under 64 KiB): the demuxer then hands a
            // packet out once it is complete. Without it a packet waits for the next one of its
            // track to start: a frame of latency on every track, and as long as the track stalls
            // when it does (a colour frame would miss its depth while the colour track is lost).
            opts.set("omit_video_pes_length", "0");
        }
        if container == Container::Matroska {
            opts.set("live", "0");
        }
        octx.write_header_with(opts)
            .map_err(fferr(format!("writing the {} header to {url}", container.ffmpeg_name())))?;
        let tracks = enc_tbs
            .into_iter()
            .enumerate()
            .map(|(i, enc_tb)| (enc_tb, octx.stream(i).expect("added above").time_base()))
            .collect();
        Ok(PacketSender { octx, container, url: url.into(), tracks, finished: false })
    }

    /// The container in use.
    pub fn container(&self) -> Container {
        self.container
    }

    /// The number of video tracks.
    pub fn track_count(&self) -> usize {
        self.tracks.len()
    }

    /// The SDP session description of this output (`c=`, `m=video <port> RTP/AVP 96`,
    /// `a=rtpmap:96 H264/90000`, `a=fmtp:96 packetization-mode=1`), what an RTP receiver
    /// (`ffplay x.sdp`, a media server's mountpoint) needs; `None` when libavformat cannot write
    /// one. Meant for [`Container::Rtp`]; other containers' descriptions are of little use.
    pub fn sdp(&self) -> Option<String> {
        let mut buf = vec![0u8; 4096];
        // SAFETY: one open output context, only read; `buf` is writable for its length and
        // av_sdp_create NUL-terminates what it writes.
        let r = unsafe {
            let mut ctx = self.octx.as_ptr().cast_mut();
            ffi::av_sdp_create(&mut ctx, 1, buf.as_mut_ptr().cast(), buf.len() as i32)
        };
        if r < 0 {
            return None;
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        buf.truncate(end);
        String::from_utf8(buf).ok()
    }

    /// Writes one packet of the first (or only) track.
    ///
    /// # Errors
    /// FFmpeg failing to write (connection closed, disk full).
    pub fn send(&mut self, packet: &EncodedPacket) -> Result<()> {
        self.send_track(0, packet)
    }

    /// Writes one packet of `track` (the index of its encoder in
    /// [`PacketSender::open_tracks`]). A single track is written through libavformat's
    /// interleaving (which then never waits); several are written as they come, each track's
    /// timestamps rising on their own.
    ///
    /// # Errors
    /// A track that was not opened, or FFmpeg failing to write (connection closed, disk full).
    pub fn send_track(&mut self, track: usize, packet: &EncodedPacket) -> Result<()> {
        let Some(&(enc_tb, stream_tb)) = self.tracks.get(track) else {
            return Err(CodecError::InvalidSetting {
                name: "track",
                value: track.to_string(),
                allowed: format!("0..{} (the tracks opened)", self.tracks.len()),
            });
        };
        let mut pkt = ff::Packet::copy(&packet.data);
        pkt.set_pts(Some(packet.pts));
        pkt.set_dts(Some(packet.dts));
        pkt.set_duration(1);
        if packet.keyframe {
            pkt.set_flags(ff::packet::Flags::KEY);
        }
        pkt.set_stream(track);
        pkt.rescale_ts(enc_tb, stream_tb);
        let written = if self.tracks.len() == 1 {
            pkt.write_interleaved(&mut self.octx)
        } else {
            // av_write_frame: interleaving would hold a packet until every other track has one
            // at least as late.
            pkt.write(&mut self.octx).map(|_| ())
        };
        written.map_err(fferr(format!("writing to {}", redact_url(&self.url))))?;
        // SAFETY: `pb` is the open output IO context of this muxer, or null for AVFMT_NOFILE.
        unsafe {
            let pb = (*self.octx.as_mut_ptr()).pb;
            if !pb.is_null() {
                ffi::avio_flush(pb);
            }
        }
        Ok(())
    }

    /// Writes the trailer and closes the output.
    ///
    /// # Errors
    /// FFmpeg failing to write the trailer.
    pub fn finish(mut self) -> Result<()> {
        self.finished = true;
        self.octx.write_trailer().map_err(fferr(format!("finishing {}", redact_url(&self.url))))
    }
}

impl Drop for PacketSender {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.octx.write_trailer();
        }
    }
}

/// Whether the linked FFmpeg has the output protocol `name` (`"srt"`, `"rtmp"`, `"udp"`, ...):
/// SRT needs an FFmpeg built with libsrt.
pub fn has_protocol(name: &str) -> bool {
    crate::init();
    let mut opaque = std::ptr::null_mut();
    loop {
        // SAFETY: avio_enum_protocols walks a static table with the opaque cursor it owns; each
        // name is a static NUL-terminated string.
        let p = unsafe { ffi::avio_enum_protocols(&mut opaque, 1) };
        if p.is_null() {
            return false;
        }
        // SAFETY: non-null, static, NUL-terminated (see above).
        if unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes() == name.as_bytes() {
            return true;
        }
    }
}

/// `url` with the value of every `passphrase=` parameter replaced by `***`: an SRT passphrase is
/// a secret and does not belong in messages or logs.
pub fn redact_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("passphrase") => format!("{k}=***"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

/// What a failed SRT open most likely means, for error messages (empty for other URLs).
fn srt_hint(url: &str, reading: bool) -> &'static str {
    if !url.starts_with("srt://") {
        ""
    } else if reading {
        " (SRT: no caller connected in time; a caller whose passphrase= differs from this one is \
         rejected during the handshake, which libsrt logs as \"Incorrect passphrase\")"
    } else {
        " (SRT: no listener answered at that address, or it rejected the handshake: a passphrase= \
         that differs from the listener's is rejected as \"Incorrect passphrase\")"
    }
}

/// What an open may take beyond [`ReceiverOptions::timeout`]: the stream-info search after the
/// first data (up to a keyframe and `analyzeduration`).
const OPEN_GRACE: Duration = Duration::from_secs(2);

/// Options of [`PacketReceiver::open`].
#[derive(Debug, Clone)]
pub struct ReceiverOptions {
    /// Small probe size and analysis time, so the first frame comes out early. Default true.
    pub low_latency: bool,
    /// Give up when no data arrives for this long (also bounds the wait for a sender). Default 10 s.
    pub timeout: Option<Duration>,
    /// For `tcp://` URLs: listen for the sender instead of connecting. Default false.
    pub listen: bool,
}

impl Default for ReceiverOptions {
    fn default() -> Self {
        ReceiverOptions { low_latency: true, timeout: Some(Duration::from_secs(10)), listen: false }
    }
}

/// What a video track of a received stream holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackRole {
    /// Colour (track 0 of a stream with two or more video tracks).
    Colour,
    /// Depth (the only track of a one-track stream, track 1 of an RGB-D stream).
    Depth,
    /// A third or later video track (no depthcast sender writes one).
    Other,
}

/// One H.264/HEVC video track of a received stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackInfo {
    /// What it holds.
    pub role: TrackRole,
    /// Its codec.
    pub codec: VideoCodec,
    /// Time base `(num, den)` of its packets' [`ReceivedPacket::pts`].
    pub time_base: (i32, i32),
}

/// One packet read from a URL.
#[derive(Debug)]
pub struct ReceivedPacket {
    /// The video track it belongs to (an index into [`PacketReceiver::tracks`]).
    pub track: usize,
    /// The access unit as the demuxer returns it (length-prefixed for Matroska and FLV).
    pub data: Vec<u8>,
    /// Presentation timestamp in its track's time base ([`TrackInfo::time_base`]).
    pub pts: Option<i64>,
    /// Whether it is a keyframe (flagged by the demuxer, or an IDR/IRAP slice in it).
    pub keyframe: bool,
    /// The in-band parameters, or why there are none (a colour packet has none).
    pub params: Result<InBand>,
}

/// How to read one track's packets.
struct TrackInput {
    stream: usize,
    extradata: Vec<u8>,
    format: Option<NalFormat>,
}

/// Reads the H.264/HEVC video tracks of a URL.
pub struct PacketReceiver {
    ictx: ff::format::context::Input,
    url: String,
    tracks: Vec<TrackInfo>,
    inputs: Vec<TrackInput>,
}

impl std::fmt::Debug for PacketReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacketReceiver")
            .field("url", &redact_url(&self.url))
            .field("tracks", &self.tracks)
            .finish_non_exhaustive()
    }
}

impl PacketReceiver {
    /// Opens `url` and finds its H.264/HEVC video tracks. Blocks until the stream header arrives.
    ///
    /// # Errors
    /// FFmpeg failing to open or probe the URL, or no H.264/HEVC stream in it.
    pub fn open(url: &str, opts: &ReceiverOptions) -> Result<PacketReceiver> {
        crate::init();
        if matches!(Container::for_url(url), Ok(Container::Rtp)) {
            return Err(CodecError::Unsupported(format!(
                "{}: rtp:// is for sending to a media server (Janus, ...); receive a depthcast \
                 stream over udp://, tcp://, srt:// or rtmp://",
                redact_url(url)
            )));
        }
        let mut d = ff::Dictionary::new();
        if opts.low_latency {
            d.set("probesize", "65536");
            d.set("analyzeduration", "200000");
            d.set("fpsprobesize", "0");
        }
        if let Some(t) = opts.timeout {
            let us = t.as_micros().to_string();
            d.set("rw_timeout", &us);
            if url.starts_with("udp://") || url.starts_with("tcp://") {
                d.set("timeout", &us);
            }
            if url.starts_with("srt://") {
                // libsrt: `timeout` bounds reads and a caller's connect; `listen_timeout` the
                // listener's wait for a caller (without it, FFmpeg waits for ever). A caller's
                // handshake is rejected in that wait when the passphrases differ, so the wait
                // simply runs out.
                d.set("timeout", &us);
                d.set("listen_timeout", &us);
            }
        }
        if url.starts_with("udp://") {
            d.set("buffer_size", "8388608");
            // libavformat's circular buffer, in 188-byte packets: 65536 = 12 MiB, 12 s at
            // 8 Mbit/s. Its pages become resident as the writer first reaches them, so the
            // 1,000,000 used before (179 MiB) grew a receiver by ~1 MB/s for three minutes
            // (results/soak).
            d.set("fifo_size", "65536");
            d.set("overrun_nonfatal", "1");
        }
        if opts.listen && url.starts_with("tcp://") {
            d.set("listen", "1");
        }
        if url.starts_with("rtmp://") {
            d.set("rtmp_live", "live");
        }
        if matches!(Container::for_url(url), Ok(Container::MpegTs)) {
            // No parser: each PES packet is one access unit (libavformat's muxer writes them so,
            // with their length: see `PacketSender::open_tracks`) and is handed out as soon as
            // it is complete. The H.264/HEVC parser would hold each one until the next of its
            // track began: a frame of latency, and for as long as a track stalls.
            d.set("fflags", "noparse");
        }
        // Only the demuxer of the URL's container: whatever else the first bytes probe as (mutated
        // MPEG-TS scores as MPEG-PS, whose stream-info search then reads for as long as data
        // comes, never finding a stream) is refused at once, and a playlist or concat file
        // cannot make the receiver open other URLs.
        d.set(
            "format_whitelist",
            match Container::for_url(url) {
                Ok(Container::MpegTs) => "mpegts",
                Ok(Container::Matroska) => "matroska,webm",
                Ok(Container::Flv) => "flv,live_flv",
                Ok(Container::Rtp) => "rtp", // refused above
                Err(_) => "mpegts,matroska,webm,flv,live_flv",
            },
        );
        // With a timeout, the open and its stream-info search end by a deadline even while data
        // keeps coming (`rw_timeout` fires only without data); reads after the open are not
        // interrupted.
        let opening = Arc::new(AtomicBool::new(true));
        let deadline = opts.timeout.map(|t| Instant::now() + t + OPEN_GRACE);
        let interrupt = {
            let opening = opening.clone();
            move || opening.load(Ordering::Relaxed) && deadline.is_some_and(|d| Instant::now() >= d)
        };
        let ictx = ff::format::input_with_interrupt_and_dictionary(&url, interrupt, d)
            .map_err(|e| match e {
                // Refused by the whitelist: the data is some other format, so not our stream.
                ff::Error::Other { errno } if errno == ff::util::error::EINVAL => ff::Error::InvalidData,
                e => e,
            })
            .map_err(fferr(format!("opening {} for reading{}", redact_url(url), srt_hint(url, true))))?;
        opening.store(false, Ordering::Relaxed);
        let mut inputs = Vec::new();
        let mut found = Vec::new();
        for st in ictx.streams() {
            let par = st.parameters();
            let codec = match par.id() {
                ff::codec::Id::H264 => VideoCodec::H264,
                ff::codec::Id::HEVC => VideoCodec::Hevc,
                ff::codec::Id::AV1 => VideoCodec::Av1,
                _ => continue,
            };
            // SAFETY: codecpar of a stream of the open input; extradata is null or
            // `extradata_size` bytes owned by it, copied out before the borrow ends.
            let extradata = unsafe {
                let p = par.as_ptr();
                if (*p).extradata.is_null() || (*p).extradata_size <= 0 {
                    Vec::new()
                } else {
                    std::slice::from_raw_parts((*p).extradata, (*p).extradata_size as usize).to_vec()
                }
            };
            let format = (!extradata.is_empty()).then(|| NalFormat::from_extradata(codec, &extradata));
            let tb = st.time_base();
            found.push((codec, (tb.numerator(), tb.denominator())));
            inputs.push(TrackInput { stream: st.index(), extradata, format });
        }
        if found.is_empty() {
            return Err(CodecError::NoVideoStream(url.into()));
        }
        let n = found.len();
        let tracks = found
            .into_iter()
            .enumerate()
            .map(|(i, (codec, time_base))| {
                let role = match (n, i) {
                    (1, _) | (_, 1) => TrackRole::Depth,
                    (_, 0) => TrackRole::Colour,
                    _ => TrackRole::Other,
                };
                TrackInfo { role, codec, time_base }
            })
            .collect();
        Ok(PacketReceiver { ictx, url: url.into(), tracks, inputs })
    }

    /// The video tracks, in stream order (one: depth; two: colour, depth).
    pub fn tracks(&self) -> &[TrackInfo] {
        &self.tracks
    }

    /// The depth track's index in [`PacketReceiver::tracks`].
    pub fn depth_track(&self) -> usize {
        self.tracks.iter().position(|t| t.role == TrackRole::Depth).unwrap_or(0)
    }

    /// The colour track's index, when the stream has one (an RGB-D stream).
    pub fn colour_track(&self) -> Option<usize> {
        self.tracks.iter().position(|t| t.role == TrackRole::Colour)
    }

    /// The depth track's codec.
    pub fn codec(&self) -> VideoCodec {
        self.tracks[self.depth_track()].codec
    }

    /// The depth track's time base `(num, den)`.
    pub fn time_base(&self) -> (i32, i32) {
        self.tracks[self.depth_track()].time_base
    }

    /// The codec extradata of `track` as the container gave it (`avcC`/`hvcC` for Matroska and
    /// FLV, empty for MPEG-TS, whose headers are in-band), or `None` for a track out of range.
    pub fn extradata(&self, track: usize) -> Option<&[u8]> {
        self.inputs.get(track).map(|t| t.extradata.as_slice())
    }

    /// How `track`'s packets frame their NAL units, when the container says (Matroska, FLV); `None`
    /// when it does not (MPEG-TS: Annex B, detected per packet) or for a track out of range.
    pub fn nal_format(&self, track: usize) -> Option<NalFormat> {
        self.inputs.get(track).and_then(|t| t.format)
    }

    /// A decoder set up for the depth track's framing and headers.
    ///
    /// # Errors
    /// As [`Decoder::with_extradata`].
    pub fn decoder(&self) -> Result<Decoder> {
        self.decoder_for(self.depth_track())
    }

    /// A decoder set up for `track`'s framing and headers.
    ///
    /// # Errors
    /// A track out of range, or as [`Decoder::with_extradata`].
    pub fn decoder_for(&self, track: usize) -> Result<Decoder> {
        let (Some(info), Some(input)) = (self.tracks.get(track), self.inputs.get(track)) else {
            return Err(CodecError::InvalidSetting {
                name: "track",
                value: track.to_string(),
                allowed: format!("0..{} (the stream's video tracks)", self.tracks.len()),
            });
        };
        Decoder::with_extradata(info.codec, &input.extradata)
    }

    /// Reads the next packet of any video track ([`ReceivedPacket::track`] says which).
    /// `Ok(None)` at end of stream (or when the timeout passes without data on a live URL).
    ///
    /// # Errors
    /// FFmpeg failing to read for another reason.
    pub fn read_packet(&mut self) -> Result<Option<ReceivedPacket>> {
        loop {
            // A fresh packet every time: av_read_frame overwrites a packet without unreferencing
            // it, so reusing one leaked every skipped packet of another stream.
            let mut pkt = ff::Packet::empty();
            match pkt.read(&mut self.ictx) {
                Ok(()) => {}
                Err(ff::Error::Eof) => return Ok(None),
                Err(ff::Error::Other { errno })
                    if errno == ff::util::error::ETIMEDOUT || errno == ff::util::error::EIO =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(fferr(format!("reading {}", redact_url(&self.url)))(e)),
            }
            let Some(track) = self.inputs.iter().position(|t| t.stream == pkt.stream()) else {
                continue;
            };
            let data = pkt.data().unwrap_or(&[]).to_vec();
            let format = self.inputs[track].format.unwrap_or_else(|| NalFormat::detect(&data));
            let codec = self.tracks[track].codec;
            let params = sei::extract_params(codec, &data, format);
            // MPEG-TS is read without libavformat's parser (see `open`), which set the flag.
            let keyframe = pkt.is_key() || sei::is_keyframe(codec, &data, format);
            return Ok(Some(ReceivedPacket { track, pts: pkt.pts(), keyframe, params, data }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrases_are_redacted() {
        assert_eq!(
            redact_url("srt://h:9000?mode=caller&passphrase=s3cret-s3cret&pbkeylen=32"),
            "srt://h:9000?mode=caller&passphrase=***&pbkeylen=32"
        );
        assert_eq!(redact_url("srt://h:9000?Passphrase=x"), "srt://h:9000?Passphrase=***");
        assert_eq!(redact_url("udp://127.0.0.1:5000"), "udp://127.0.0.1:5000");
    }
}
