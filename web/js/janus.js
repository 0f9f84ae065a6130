// Many viewers through Janus: watches a mountpoint of Janus's streaming plugin (fed RTP H.264 by
// `depthcast send --url rtp://...`) over WebRTC, talking to Janus's plain HTTP REST API with fetch
// (no janus.js library). Two views of each frame:
//
// - encoded: an RTCRtpScriptTransform worker (js/janus-worker.js) reads each access unit and its
//   in-band packing parameters (SEI), keyed by RTP timestamp;
// - decoded: MediaStreamTrackProcessor gives each VideoFrame; `VideoFrame.metadata().rtpTimestamp`
//   pairs it with its encoded frame, `copyTo` gives the exact planes (I420).
//
// `watch()` returns a handle whose `encoded` hold, per received access unit, its RTP timestamp,
// NAL-unit hash and send time, and whose `frames` hold, per decoded frame, the plane hashes (FNV-1a
// 32-bit of Y, U, V), the parameters and the latency from the sender's clock (the SEI send time)
// to the frame being available here. web/janus.html shows them; the Janus test reads them.

/** A Janus session over the REST API: `create`, `attach`, `message`, `trickle`, long-poll. */
export class JanusSession {
  constructor(base) {
    this.base = base.replace(/\/$/, '');
    this.handlers = new Map(); // handle id -> (event) => void
    this.closed = false;
    this.tx = 0;
  }

  async post(path, body) {
    body.transaction = `t${++this.tx}`;
    const r = await fetch(this.base + path, { method: 'POST', body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`Janus ${body.janus}: HTTP ${r.status}`);
    const j = await r.json();
    if (j.janus === 'error') throw new Error(`Janus ${body.janus}: ${j.error.code} ${j.error.reason}`);
    return j;
  }

  async create() {
    const j = await this.post('', { janus: 'create' });
    this.id = j.data.id;
    this.poll();
    return this;
  }

  /** Attaches a plugin; `onEvent` gets its asynchronous events (plugindata, jsep, webrtcup...). */
  async attach(plugin, onEvent) {
    const j = await this.post(`/${this.id}`, { janus: 'attach', plugin });
    this.handlers.set(j.data.id, onEvent);
    return j.data.id;
  }

  /** Sends a plugin message; resolves with Janus's immediate answer (`success` or `ack`). */
  message(handle, body, jsep) {
    const m = { janus: 'message', body };
    if (jsep) m.jsep = jsep;
    return this.post(`/${this.id}/${handle}`, m);
  }

  trickle(handle, candidate) {
    const m = { janus: 'trickle' };
    if (candidate) m.candidate = candidate; else m.candidate = { completed: true };
    return this.post(`/${this.id}/${handle}`, m);
  }

  async poll() {
    while (!this.closed) {
      let events;
      try {
        const r = await fetch(`${this.base}/${this.id}?maxev=10&rid=${Date.now()}`);
        events = await r.json();
      } catch (e) {
        if (this.closed) return;
        await new Promise((res) => setTimeout(res, 500));
        continue;
      }
      for (const ev of Array.isArray(events) ? events : [events]) {
        const h = this.handlers.get(ev.sender);
        if (h) h(ev);
      }
    }
  }

  async destroy() {
    this.closed = true;
    try { await this.post(`/${this.id}`, { janus: 'destroy' }); } catch { /* gone already */ }
  }
}

/** FNV-1a 32-bit of `bytes[off .. off + len]`, as 8 hex digits. */
export function fnv1a(bytes, off = 0, len = bytes.length - off) {
  let h = 0x811c9dc5;
  for (let i = off, end = off + len; i < end; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

const now = () => performance.timeOrigin + performance.now();

/**
 * Watches mountpoint `id` of the streaming plugin at `janusUrl` (e.g. `http://127.0.0.1:8088/janus`).
 * `onFrame(record)` is called for each decoded frame; `video` (optional) shows the track;
 * `encodedTransform: false` leaves the encoded frames alone (no parameters, no pairing: only to
 * measure what the transform costs).
 * Returns { frames, encoded, errors, state, transform, stats(), stop() }.
 */
export async function watch(janusUrl, id, { onFrame = () => {}, onState = () => {}, video = null, keep = 10000, encodedTransform = true } = {}) {
  const out = { frames: [], encoded: [], errors: [], state: 'connecting', webrtcUp: false, encodedCount: 0, transform: null, stop: null };
  const setState = (s) => { out.state = s; onState(s); };
  const pendingEncoded = new Map(); // rtp -> encoded record
  const session = await new JanusSession(janusUrl).create();
  let pc = null;
  let handle = null;
  let offerResolve;
  const offer = new Promise((res) => { offerResolve = res; });
  handle = await session.attach('janus.plugin.streaming', (ev) => {
    if (ev.jsep && ev.jsep.type === 'offer') offerResolve(ev.jsep);
    if (ev.janus === 'webrtcup') { out.webrtcUp = true; setState('webrtcup'); }
    if (ev.janus === 'hangup') setState('hangup: ' + (ev.reason || ''));
    const data = ev.plugindata && ev.plugindata.data;
    if (data && data.error) { out.errors.push(data.error); setState('error: ' + data.error); }
  });

  const scriptTransform = typeof RTCRtpScriptTransform === 'function';
  out.transform = !encodedTransform ? 'none' : scriptTransform ? 'RTCRtpScriptTransform' : 'createEncodedStreams';
  const worker = new Worker(new URL('./janus-worker.js', import.meta.url), { type: 'module' });
  worker.onmessage = (e) => {
    const m = e.data;
    if (m.kind === 'encoded') {
      out.encodedCount++;
      out.encoded.push({ rtp: m.rtp, at: m.at, nalHash: m.nalHash, sentUs: m.sentUs, frameIndex: m.params ? m.params.frameIndex : null, paramsError: m.paramsError, types: m.types });
      if (out.encoded.length > keep) out.encoded.shift();
      pendingEncoded.set(m.rtp, m);
      if (pendingEncoded.size > 300) pendingEncoded.delete(pendingEncoded.keys().next().value);
    } else if (m.kind === 'error') {
      out.errors.push(m.message);
    }
  };

  pc = new RTCPeerConnection(scriptTransform ? {} : { encodedInsertableStreams: true });
  pc.onicecandidate = (e) => {
    session.trickle(handle, e.candidate ? e.candidate.toJSON() : null).catch((err) => out.errors.push(String(err)));
  };
  pc.oniceconnectionstatechange = () => setState('ice ' + pc.iceConnectionState);
  pc.ontrack = (e) => {
    if (e.track.kind !== 'video') return;
    if (!encodedTransform) {
      // No parameters then: only for measuring what the transform costs.
    } else if (scriptTransform) {
      e.receiver.transform = new RTCRtpScriptTransform(worker, { side: 'receiver' });
    } else {
      const { readable, writable } = e.receiver.createEncodedStreams();
      worker.postMessage({ readable, writable }, [readable, writable]);
    }
    if (video) video.srcObject = new MediaStream([e.track]);
    readDecoded(e.track);
  };

  async function readDecoded(track) {
    // A deeper queue than the default (Chromium drops the oldest frame when the reader is busy
    // and the queue is full: a frame lost here, not on the wire).
    const reader = new MediaStreamTrackProcessor({ track, maxBufferSize: 30 }).readable.getReader();
    let buf = null;
    for (;;) {
      const { value: frame, done } = await reader.read();
      if (done) break;
      const at = now();
      try {
        const meta = frame.metadata ? frame.metadata() : {};
        const rtp = meta.rtpTimestamp;
        const size = frame.allocationSize();
        if (!buf || buf.length < size) buf = new Uint8Array(size);
        const layout = await frame.copyTo(buf);
        const copied = now();
        const w = frame.codedWidth, h = frame.codedHeight;
        const planes = layout.map((p, i) => {
          const pw = i === 0 ? w : (w + 1) >> 1; // I420 planes (NV12 would have two)
          const ph = i === 0 ? h : (h + 1) >> 1;
          // Row by row: a stride may exceed the plane width.
          if (p.stride === pw) return fnv1a(buf, p.offset, pw * ph);
          const row = new Uint8Array(pw * ph);
          for (let y = 0; y < ph; y++) row.set(buf.subarray(p.offset + y * p.stride, p.offset + y * p.stride + pw), y * pw);
          return fnv1a(row);
        });
        const enc = rtp !== undefined ? pendingEncoded.get(rtp) : undefined;
        if (enc) pendingEncoded.delete(rtp);
        const rec = {
          rtp: rtp ?? null, format: frame.format, width: w, height: h,
          visible: [frame.visibleRect.width, frame.visibleRect.height],
          colorSpace: frame.colorSpace ? frame.colorSpace.toJSON() : null,
          planes, at, copied,
          meta: { receiveTime: meta.receiveTime ?? null, captureTime: meta.captureTime ?? null },
          encoded: enc ? { at: enc.at, bytes: enc.bytes, type: enc.type, types: enc.types, seiNals: enc.seiNals, nalHash: enc.nalHash } : null,
          params: enc ? enc.params : null, // js/sei.js decodePackParams
          sentUs: enc ? enc.sentUs : null,
        };
        if (rec.sentUs) {
          rec.latencyMs = at - rec.sentUs / 1000; // sender's wall clock to the decoded frame here
          rec.encodedLatencyMs = enc.at - rec.sentUs / 1000; // ... to the encoded frame here
        }
        out.frames.push(rec);
        if (out.frames.length > keep) out.frames.shift();
        onFrame(rec);
      } catch (err) {
        out.errors.push(String(err && err.stack || err));
      } finally {
        frame.close();
      }
    }
  }

  await session.message(handle, { request: 'watch', id });
  const jsep = await offer;
  await pc.setRemoteDescription(jsep);
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  await session.message(handle, { request: 'start' }, { type: answer.type, sdp: answer.sdp });
  setState('started');

  out.stats = () => {
    const lat = out.frames.filter((f) => f.latencyMs !== undefined).map((f) => f.latencyMs).sort((a, b) => a - b);
    const q = (p) => lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : null;
    return { frames: out.frames.length, encoded: out.encodedCount, withSei: lat.length, p50: q(0.5), p95: q(0.95), max: lat.length ? lat[lat.length - 1] : null };
  };
  /** Chromium's own account of the receive side (RTCInboundRtpStreamStats of the video): per
   * frame, the mean jitter-buffer delay, processing delay (first packet received to decoded),
   * assembly and decode time in ms, and the counts of loss, NACK, PLI, drops, freezes. */
  out.webrtcStats = async () => {
    let r = null;
    (await pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') r = s; });
    if (!r) return null;
    const per = (total, n) => (n ? (1000 * total) / n : null);
    return {
      framesReceived: r.framesReceived, framesDecoded: r.framesDecoded, framesDropped: r.framesDropped,
      packetsReceived: r.packetsReceived, packetsLost: r.packetsLost, nackCount: r.nackCount, pliCount: r.pliCount,
      firCount: r.firCount, freezeCount: r.freezeCount, decoderImplementation: r.decoderImplementation,
      jitterBufferMs: per(r.jitterBufferDelay, r.jitterBufferEmittedCount),
      jitterBufferTargetMs: per(r.jitterBufferTargetDelay, r.jitterBufferEmittedCount),
      processingMs: per(r.totalProcessingDelay, r.framesDecoded),
      assemblyMs: per(r.totalAssemblyTime, r.framesAssembledFromMultiplePackets),
      decodeMs: per(r.totalDecodeTime, r.framesDecoded),
    };
  };
  out.pc = pc;
  out.stop = async () => {
    try { await session.message(handle, { request: 'stop' }); } catch { /* gone */ }
    pc.close();
    worker.terminate();
    await session.destroy();
  };
  return out;
}
