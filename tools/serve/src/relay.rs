//! [`Relay`]: the fan-out hub between one input and the pages.
//!
//! The input publishes from any thread, async or not ([`Relay::publish`],
//! [`Relay::publish_packet`]); each page has a [`Subscription`] whose queue is bounded by
//! packet count and bytes ([`RelayConfig`]). When a page's queue is full it is emptied and each
//! track of that page resumes at its next keyframe, its first packet flagged as a discontinuity:
//! a slow page never stalls the others, and never makes the server hold more than its bound.
//! Each track keeps its packets since its last keyframe (the GOP cache, bounded the same way), so
//! a page that joins mid-stream starts decoding at once.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use depthcast_codec::EncodedPacket;
use tokio::sync::Notify;

use crate::describe::{TrackDesc, TrackSpec};

/// The protocol version, byte 0 of every binary message and `version` of `hello`.
pub const PROTOCOL_VERSION: u8 = 1;
/// The length of a binary message's header.
pub const HEADER_LEN: usize = 24;
/// Header flag (byte 2): the access unit is a keyframe.
pub const FLAG_KEYFRAME: u8 = 1;
/// Header flag (byte 2): packets of this track were skipped for this page before this one.
pub const FLAG_DISCONTINUITY: u8 = 2;
/// The header's presentation time when it is unknown.
pub const PTS_UNKNOWN: i64 = i64::MIN;

/// Bounds of the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayConfig {
    /// Most packets (access units, all tracks together) queued for one page; also the bound of
    /// the GOP cache. Default 150: 5 s of a depth stream at 30 fps, 2.5 s of RGB-D (two tracks),
    /// enough for a page that joins to get a whole 60-frame GOP of both tracks at once.
    pub queue_packets: usize,
    /// Most bytes of access units queued for one page; also the bound of the GOP cache. A single
    /// packet larger than this is still queued when the queue is empty. Default 16 MiB.
    pub queue_bytes: usize,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig { queue_packets: 150, queue_bytes: 16 << 20 }
    }
}

/// One access unit as it goes to every page: the 24-byte header (without the discontinuity
/// flag) and the data.
#[derive(Debug)]
struct Packet {
    track: usize,
    keyframe: bool,
    /// Header and access unit.
    frame: Bytes,
    /// Arrival order over all tracks (the GOP cache is merged by it).
    order: u64,
}

impl Packet {
    fn data_len(&self) -> usize {
        self.frame.len() - HEADER_LEN
    }

    /// The binary message, with the discontinuity flag when `disc`.
    fn message(&self, disc: bool) -> Bytes {
        if !disc {
            return self.frame.clone();
        }
        let mut v = self.frame.to_vec();
        v[2] |= FLAG_DISCONTINUITY;
        Bytes::from(v)
    }
}

/// The header of a binary message (see `web/README.md`).
fn header(track: u8, flags: u8, seq: u32, pts_us: i64, recv_us: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0] = PROTOCOL_VERSION;
    h[1] = track;
    h[2] = flags;
    h[4..8].copy_from_slice(&seq.to_le_bytes());
    h[8..16].copy_from_slice(&pts_us.to_le_bytes());
    h[16..24].copy_from_slice(&recv_us.to_le_bytes());
    h
}

/// One message for a page, in the order it is to be sent.
#[derive(Debug, Clone, PartialEq)]
pub enum WireMessage {
    /// A JSON text message (`hello`, `end`).
    Text(Arc<str>),
    /// A binary message: header and access unit.
    Binary(Bytes),
}

/// What is queued for a page.
#[derive(Debug)]
enum Entry {
    Text(Arc<str>),
    Packet(Arc<Packet>, bool),
}

/// One page's state.
#[derive(Debug)]
struct Client {
    addr: String,
    queue: VecDeque<Entry>,
    /// Packets in `queue`, and their access units' bytes.
    queued: usize,
    queued_bytes: usize,
    max_queued: usize,
    max_queued_bytes: usize,
    /// Whether the page has had the current `hello` (and the GOP cache after it).
    joined: bool,
    /// The last `hello` it was given.
    hello: Option<Arc<str>>,
    /// Per track: skip until a keyframe (after an overflow).
    waiting_key: Vec<bool>,
    /// Per track: the next packet sent carries the discontinuity flag.
    disc: Vec<bool>,
    sent: u64,
    skipped: u64,
    overflows: u64,
    notify: Arc<Notify>,
}

impl Client {
    fn push_text(&mut self, text: &Arc<str>) {
        self.queue.push_back(Entry::Text(text.clone()));
        self.notify.notify_one();
    }

    /// Queues `p`, or skips it; empties the queue when it is full.
    fn offer(&mut self, p: &Arc<Packet>, config: &RelayConfig) {
        let t = p.track;
        if self.waiting_key.len() <= t {
            self.waiting_key.resize(t + 1, false);
            self.disc.resize(t + 1, false);
        }
        if self.waiting_key[t] && !p.keyframe {
            self.skipped += 1;
            return;
        }
        let full = self.queued + 1 > config.queue_packets
            || (self.queued > 0 && self.queued_bytes + p.data_len() > config.queue_bytes);
        if full {
            self.overflows += 1;
            self.skipped += self.queued as u64;
            self.queue.retain(|e| matches!(e, Entry::Text(_)));
            self.queued = 0;
            self.queued_bytes = 0;
            self.waiting_key.iter_mut().for_each(|w| *w = true);
            self.disc.iter_mut().for_each(|d| *d = true);
            if !p.keyframe {
                self.skipped += 1;
                return;
            }
        }
        self.waiting_key[t] = false;
        let disc = std::mem::take(&mut self.disc[t]);
        self.queue.push_back(Entry::Packet(p.clone(), disc));
        self.queued += 1;
        self.queued_bytes += p.data_len();
        self.max_queued = self.max_queued.max(self.queued);
        self.max_queued_bytes = self.max_queued_bytes.max(self.queued_bytes);
        self.notify.notify_one();
    }

    fn stats(&self, id: u64) -> ClientStats {
        ClientStats {
            id,
            addr: self.addr.clone(),
            joined: self.joined,
            sent: self.sent,
            skipped: self.skipped,
            overflows: self.overflows,
            queued: self.queued,
            queued_bytes: self.queued_bytes,
            max_queued: self.max_queued,
            max_queued_bytes: self.max_queued_bytes,
        }
    }
}

/// One page's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientStats {
    /// The subscription's id.
    pub id: u64,
    /// The page's address (as given to [`Relay::subscribe`]).
    pub addr: String,
    /// Whether it has had `hello` (else it waits for the input's first keyframes).
    pub joined: bool,
    /// Messages taken from its queue to be sent (packets and text).
    pub sent: u64,
    /// Packets dropped for it (its queue was full, or they came before a track's next keyframe).
    pub skipped: u64,
    /// How often its queue was full and emptied.
    pub overflows: u64,
    /// Packets queued now.
    pub queued: usize,
    /// Bytes of access units queued now.
    pub queued_bytes: usize,
    /// Most packets it ever had queued.
    pub max_queued: usize,
    /// Most bytes it ever had queued.
    pub max_queued_bytes: usize,
}

/// The relay's totals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RelayStats {
    /// The input's name (redacted URL, `synthetic`, ...), empty before [`Relay::set_source`].
    pub source: String,
    /// The tracks announced in the current `hello` (empty before the first keyframes).
    pub tracks: Vec<TrackDesc>,
    /// Whether the input ended ([`Relay::end`]).
    pub ended: bool,
    /// Packets published (all tracks) since the relay was made.
    pub packets_in: u64,
    /// Bytes of access units published.
    pub bytes_in: u64,
    /// Keyframes published.
    pub keyframes_in: u64,
    /// Times the input was (re)started ([`Relay::set_source`]).
    pub inputs: u64,
    /// Pages connected now.
    pub clients: usize,
    /// Pages connected since the relay was made.
    pub clients_total: u64,
    /// Messages sent to pages, all pages together, including those gone.
    pub sent: u64,
    /// Packets skipped for pages, all pages together, including those gone.
    pub skipped: u64,
    /// Packets in the GOP cache now.
    pub gop_packets: usize,
    /// Per page.
    pub per_client: Vec<ClientStats>,
    /// Why the input could not be opened the last time it was tried, until it opens
    /// ([`Relay::set_input_error`]); `None` once it has.
    pub input_error: Option<String>,
}

/// The input side of the relay.
#[derive(Debug, Default)]
struct State {
    source: String,
    specs: Vec<TrackSpec>,
    descs: Vec<Option<TrackDesc>>,
    /// Per track: a keyframe was seen since the input (re)started.
    started: Vec<bool>,
    /// Per track: packets dropped since the input (re)started, before its first keyframe.
    dropped: Vec<bool>,
    /// The current `hello`: its tracks and JSON.
    hello: Option<(String, Vec<TrackDesc>, Arc<str>)>,
    /// All tracks described and started since the input (re)started.
    ready: bool,
    ended: bool,
    /// Per track: its packets since its last keyframe.
    gop: Vec<VecDeque<Arc<Packet>>>,
    gop_bytes: usize,
    /// Per track: the next sequence number.
    seq: Vec<u32>,
    order: u64,
    clients: HashMap<u64, Client>,
    next_id: u64,
    packets_in: u64,
    bytes_in: u64,
    keyframes_in: u64,
    inputs: u64,
    clients_total: u64,
    /// Counters of pages gone.
    gone_sent: u64,
    gone_skipped: u64,
    input_error: Option<String>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    config: RelayConfig,
}

/// The fan-out hub (cheap to clone: clones share it). See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Relay {
    shared: Arc<Shared>,
}

impl Relay {
    /// An empty relay with `config`'s bounds.
    pub fn new(config: RelayConfig) -> Relay {
        let config = RelayConfig { queue_packets: config.queue_packets.max(1), queue_bytes: config.queue_bytes.max(1) };
        Relay { shared: Arc::new(Shared { state: Mutex::new(State::default()), config }) }
    }

    /// Its bounds.
    pub fn config(&self) -> RelayConfig {
        self.shared.config
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves counters at worst inconsistent: go on.
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Declares the input's tracks (the input started or restarted): `source` is its name in
    /// `hello`. Each track's codec string comes from its extradata or its first keyframe; once
    /// every track has been described and has had a keyframe, the pages get `hello` (again only
    /// when the tracks differ from the last `hello`'s) and the packets since those keyframes.
    /// Until then a track's packets before its first keyframe are dropped.
    pub fn set_source(&self, source: &str, tracks: &[TrackSpec]) {
        let mut st = self.lock();
        let n = tracks.len();
        st.input_error = None;
        st.source = source.to_string();
        st.descs = tracks.iter().enumerate().map(|(i, s)| TrackDesc::new(i, s, None)).collect();
        st.specs = tracks.to_vec();
        st.started = vec![false; n];
        st.dropped = vec![false; n];
        st.ready = false;
        st.ended = false;
        st.gop = vec![VecDeque::new(); n];
        st.gop_bytes = 0;
        st.seq.resize(n, 0);
        st.inputs += 1;
        for c in st.clients.values_mut() {
            c.joined = false;
        }
    }

    /// Records why the input could not be opened (a live URL keeps being retried): shown in
    /// [`RelayStats::input_error`] and `/status` until the input opens.
    pub fn set_input_error(&self, error: &str) {
        self.lock().input_error = Some(error.to_string());
    }

    /// Like [`Relay::set_source`] with tracks already described (no SPS search).
    pub fn set_tracks(&self, source: &str, tracks: Vec<TrackDesc>) {
        let specs: Vec<TrackSpec> =
            tracks.iter().map(|t| TrackSpec { role: t.role, codec: t.video_codec, extradata: Vec::new() }).collect();
        self.set_source(source, &specs);
        let mut st = self.lock();
        st.descs = tracks.into_iter().enumerate().map(|(i, t)| Some(TrackDesc { index: i, ..t })).collect();
    }

    /// Publishes one access unit of `track` (as [`Relay::set_source`] declared it): `pts_us`
    /// its presentation time in µs ([`PTS_UNKNOWN`] when unknown), `data` as the pages are to
    /// get it (Annex B, or length-prefixed as the track's extradata says). Never blocks on a
    /// page. A packet of an undeclared track is ignored.
    pub fn publish(&self, track: usize, keyframe: bool, pts_us: i64, data: &[u8]) {
        let recv_us = depthcast_codec::unix_us();
        let config = self.shared.config;
        // The message is built outside the lock; only its sequence number is set inside.
        let flags = if keyframe { FLAG_KEYFRAME } else { 0 };
        let mut frame = Vec::with_capacity(HEADER_LEN + data.len());
        frame.extend_from_slice(&header(track.min(255) as u8, flags, 0, pts_us, recv_us));
        frame.extend_from_slice(data);
        let mut guard = self.lock();
        let st = &mut *guard;
        if track >= st.specs.len() {
            return;
        }
        st.packets_in += 1;
        st.bytes_in += data.len() as u64;
        st.keyframes_in += u64::from(keyframe);
        // Every packet of the input counts, those dropped before a keyframe too: a gap.
        let seq = st.seq[track];
        st.seq[track] = seq.wrapping_add(1);
        if !st.started[track] {
            if !keyframe {
                st.dropped[track] = true;
                return;
            }
            if st.descs[track].is_none() {
                st.descs[track] = TrackDesc::new(track, &st.specs[track], Some(data));
                if st.descs[track].is_none() {
                    // A keyframe without an SPS (and none in the extradata): wait for another.
                    st.dropped[track] = true;
                    return;
                }
            }
            st.started[track] = true;
        }
        st.order += 1;
        frame[4..8].copy_from_slice(&seq.to_le_bytes());
        let p = Arc::new(Packet { track, keyframe, frame: Bytes::from(frame), order: st.order });

        // The GOP cache: from the last keyframe on, while it fits the bounds.
        if keyframe {
            st.gop_bytes -= st.gop[track].iter().map(|p| p.data_len()).sum::<usize>();
            st.gop[track].clear();
        }
        if !st.gop[track].is_empty() || keyframe {
            let count: usize = st.gop.iter().map(VecDeque::len).sum();
            if count + 1 > config.queue_packets || st.gop_bytes + p.data_len() > config.queue_bytes {
                // Too long a GOP to give a page at once: pages that join wait for the next one.
                st.gop_bytes -= st.gop[track].iter().map(|p| p.data_len()).sum::<usize>();
                st.gop[track].clear();
            } else {
                st.gop[track].push_back(p.clone());
                st.gop_bytes += p.data_len();
            }
        }

        if !st.ready {
            if !(st.started.iter().all(|&s| s) && st.descs.iter().all(Option::is_some)) {
                return;
            }
            st.ready = true;
            let tracks: Vec<TrackDesc> = st.descs.iter().flatten().cloned().collect();
            let same = st.hello.as_ref().is_some_and(|(s, t, _)| *s == st.source && *t == tracks);
            if !same {
                let json = serde_json::json!({
                    "type": "hello",
                    "version": PROTOCOL_VERSION,
                    "source": st.source,
                    "tracks": tracks.iter().map(TrackDesc::to_json).collect::<Vec<_>>(),
                });
                st.hello = Some((st.source.clone(), tracks, Arc::from(json.to_string())));
            }
            let dropped = std::mem::take(&mut st.dropped);
            let State { clients, gop, hello, .. } = st;
            for c in clients.values_mut() {
                if !c.joined {
                    join(c, gop, hello.as_ref(), &dropped, &config);
                }
            }
            st.dropped = vec![false; st.specs.len()];
            return;
        }
        for c in st.clients.values_mut() {
            if c.joined {
                c.offer(&p, &config);
            }
        }
    }

    /// Publishes an in-process encoder's packet (see [`TrackSpec::from_encoders`]): its
    /// presentation time converted to µs with its time base.
    pub fn publish_packet(&self, track: usize, packet: &EncodedPacket) {
        let pts_us = depthcast_codec::pts_to_us(packet.pts, packet.time_base).unwrap_or(PTS_UNKNOWN);
        self.publish(track, packet.keyframe, pts_us, &packet.data);
    }

    /// The input ended for good: every page gets `end` after what is queued for it.
    pub fn end(&self) {
        let mut st = self.lock();
        st.ended = true;
        let end: Arc<str> = Arc::from(r#"{"type":"end"}"#);
        for c in st.clients.values_mut() {
            c.push_text(&end);
        }
    }

    /// A new page (`addr`: its address, for the status): it gets `hello` and the GOP cache at
    /// once when the input is running, else when the input's first keyframes arrive.
    pub fn subscribe(&self, addr: &str) -> Subscription {
        let config = self.shared.config;
        let notify = Arc::new(Notify::new());
        let mut guard = self.lock();
        let st = &mut *guard;
        let id = st.next_id;
        st.next_id += 1;
        st.clients_total += 1;
        let n = st.specs.len();
        let mut c = Client {
            addr: addr.to_string(),
            queue: VecDeque::new(),
            queued: 0,
            queued_bytes: 0,
            max_queued: 0,
            max_queued_bytes: 0,
            joined: false,
            hello: None,
            waiting_key: vec![false; n],
            disc: vec![false; n],
            sent: 0,
            skipped: 0,
            overflows: 0,
            notify: notify.clone(),
        };
        if st.ready {
            join(&mut c, &st.gop, st.hello.as_ref(), &[], &config);
        }
        if st.ended {
            c.push_text(&Arc::from(r#"{"type":"end"}"#));
        }
        st.clients.insert(id, c);
        Subscription { relay: self.clone(), id, notify, closed: AtomicBool::new(false) }
    }

    /// Counters and the state of every page.
    pub fn stats(&self) -> RelayStats {
        let st = self.lock();
        let mut per_client: Vec<ClientStats> = st.clients.iter().map(|(&id, c)| c.stats(id)).collect();
        per_client.sort_by_key(|c| c.id);
        RelayStats {
            source: st.source.clone(),
            tracks: st.hello.as_ref().map(|h| h.1.clone()).unwrap_or_default(),
            ended: st.ended,
            packets_in: st.packets_in,
            bytes_in: st.bytes_in,
            keyframes_in: st.keyframes_in,
            inputs: st.inputs,
            clients: st.clients.len(),
            clients_total: st.clients_total,
            sent: st.gone_sent + per_client.iter().map(|c| c.sent).sum::<u64>(),
            skipped: st.gone_skipped + per_client.iter().map(|c| c.skipped).sum::<u64>(),
            gop_packets: st.gop.iter().map(VecDeque::len).sum(),
            per_client,
            input_error: st.input_error.clone(),
        }
    }

    /// The number of pages connected now.
    pub fn client_count(&self) -> usize {
        self.lock().clients.len()
    }
}

/// Gives a page `hello` (unless it had that one) and the GOP cache in arrival order; for a page
/// that had it, a track whose packets were `dropped` (the input restarted mid-GOP) starts with
/// the discontinuity flag.
fn join(
    c: &mut Client,
    gop: &[VecDeque<Arc<Packet>>],
    hello: Option<&(String, Vec<TrackDesc>, Arc<str>)>,
    dropped: &[bool],
    config: &RelayConfig,
) {
    c.joined = true;
    c.waiting_key = vec![false; gop.len()];
    let had = hello.is_some_and(|(_, _, json)| c.hello.as_ref().is_some_and(|h| Arc::ptr_eq(h, json)));
    // Only a page that already got packets of these tracks missed the dropped ones.
    c.disc = (0..gop.len()).map(|t| had && dropped.get(t).copied().unwrap_or(false)).collect();
    if let Some((_, _, json)) = hello
        && !had
    {
        c.hello = Some(json.clone());
        c.push_text(json);
    }
    let mut cached: Vec<&Arc<Packet>> = gop.iter().flatten().collect();
    cached.sort_by_key(|p| p.order);
    for p in cached {
        c.offer(p, config);
    }
}

/// One page's end of the relay: its messages in order ([`Subscription::next_message`]) and a
/// wake-up when there are more ([`Subscription::notified`]). Dropping it removes the page.
#[derive(Debug)]
pub struct Subscription {
    relay: Relay,
    id: u64,
    notify: Arc<Notify>,
    closed: AtomicBool,
}

impl Subscription {
    /// Its id (as in [`ClientStats::id`]).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The next message to send, if any (counted as sent).
    pub fn next_message(&self) -> Option<WireMessage> {
        let mut st = self.relay.lock();
        let c = st.clients.get_mut(&self.id)?;
        let e = c.queue.pop_front()?;
        c.sent += 1;
        Some(match e {
            Entry::Text(t) => WireMessage::Text(t),
            Entry::Packet(p, disc) => {
                c.queued -= 1;
                c.queued_bytes -= p.data_len();
                WireMessage::Binary(p.message(disc))
            }
        })
    }

    /// Waits until messages may have been queued since the last call.
    pub async fn notified(&self) {
        self.notify.notified().await;
    }

    /// The `server` message for this page: pages connected and packets skipped for it.
    pub fn server_message(&self) -> String {
        let st = self.relay.lock();
        let skipped = st.clients.get(&self.id).map_or(0, |c| c.skipped);
        serde_json::json!({"type": "server", "clients": st.clients.len(), "skipped": skipped}).to_string()
    }

    /// This page's counters.
    pub fn stats(&self) -> Option<ClientStats> {
        self.relay.lock().clients.get(&self.id).map(|c| c.stats(self.id))
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if self.closed.swap(true, Ordering::Relaxed) {
            return;
        }
        let mut st = self.relay.lock();
        if let Some(c) = st.clients.remove(&self.id) {
            st.gone_sent += c.sent;
            st.gone_skipped += c.skipped;
        }
    }
}

#[cfg(test)]
mod tests {
    use depthcast_codec::{TrackRole, VideoCodec};

    use super::*;

    fn relay(queue: usize) -> Relay {
        let r = Relay::new(RelayConfig { queue_packets: queue, queue_bytes: 1 << 20 });
        let desc = TrackDesc {
            index: 0,
            role: TrackRole::Depth,
            codec: "avc1.640016".into(),
            video_codec: VideoCodec::H264,
            nal_length_size: 0,
            description: None,
        };
        r.set_tracks("test", vec![desc]);
        r
    }

    fn drain(s: &Subscription) -> Vec<WireMessage> {
        std::iter::from_fn(|| s.next_message()).collect()
    }

    fn seq_flags(m: &WireMessage) -> Option<(u32, u8)> {
        match m {
            WireMessage::Binary(b) => Some((u32::from_le_bytes(b[4..8].try_into().unwrap()), b[2])),
            WireMessage::Text(_) => None,
        }
    }

    #[test]
    fn a_page_joining_mid_gop_gets_hello_and_the_gop() {
        let r = relay(100);
        for i in 0..25 {
            r.publish(0, i % 10 == 0, i * 1000, &[0, 0, 1, 0x65, i as u8]);
        }
        let s = r.subscribe("x");
        let m = drain(&s);
        assert!(matches!(&m[0], WireMessage::Text(t) if t.contains("\"hello\"")));
        let seqs: Vec<_> = m[1..].iter().filter_map(seq_flags).collect();
        assert_eq!(seqs, (20..25).map(|i| (i, if i == 20 { FLAG_KEYFRAME } else { 0 })).collect::<Vec<_>>());
    }

    #[test]
    fn a_full_queue_is_emptied_and_resumes_at_a_keyframe() {
        let r = relay(8);
        r.publish(0, true, 0, &[1]);
        let s = r.subscribe("slow");
        for i in 1..37 {
            r.publish(0, i % 10 == 0, i, &[1]);
        }
        let st = s.stats().unwrap();
        assert!(st.max_queued <= 8, "{st:?}");
        assert!(st.skipped > 0 && st.overflows > 0, "{st:?}");
        let m = drain(&s);
        let first = m.iter().filter_map(seq_flags).next().unwrap();
        assert_eq!(first.1, FLAG_KEYFRAME | FLAG_DISCONTINUITY, "{m:?}");
        assert_eq!(r.stats().skipped + (m.len() as u64 - 1), 37);
    }

    #[test]
    fn a_restart_with_the_same_tracks_sends_no_new_hello_and_flags_what_was_dropped() {
        let r = relay(100);
        let s = r.subscribe("x");
        r.publish(0, true, 0, &[1]);
        r.publish(0, false, 1, &[2]);
        // The input restarts mid-GOP: its first packet is dropped, then a keyframe.
        let desc = r.stats().tracks;
        r.set_tracks("test", desc.clone());
        r.publish(0, false, 2, &[3]);
        r.publish(0, true, 3, &[4]);
        let m = drain(&s);
        let hellos = m.iter().filter(|m| matches!(m, WireMessage::Text(_))).count();
        assert_eq!(hellos, 1);
        let got: Vec<_> = m.iter().filter_map(seq_flags).collect();
        assert_eq!(got, [(0, FLAG_KEYFRAME), (1, 0), (3, FLAG_KEYFRAME | FLAG_DISCONTINUITY)]);
        // A page that joins now: no flag (nothing was skipped for it).
        let late = r.subscribe("y");
        let got: Vec<_> = drain(&late).iter().filter_map(seq_flags).collect();
        assert_eq!(got, [(3, FLAG_KEYFRAME)]);
        // Other tracks: a new hello.
        let other = TrackDesc { codec: "avc1.4d0028".into(), ..desc[0].clone() };
        r.set_tracks("test", vec![other]);
        r.publish(0, true, 4, &[5]);
        let m = drain(&s);
        assert!(matches!(&m[0], WireMessage::Text(t) if t.contains("avc1.4d0028")), "{m:?}");
    }

    #[test]
    fn an_input_error_is_shown_until_the_input_opens() {
        let r = relay(10);
        assert_eq!(r.stats().input_error, None);
        r.set_input_error("opening udp://x for reading: Connection timed out");
        assert_eq!(r.stats().input_error.as_deref(), Some("opening udp://x for reading: Connection timed out"));
        let desc = r.stats().tracks;
        r.set_tracks("test", desc);
        assert_eq!(r.stats().input_error, None);
    }
}
