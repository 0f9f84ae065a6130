// The depthcast receiver page: connects to `depthcast serve` over WebSocket (protocol in
// web/README.md), decodes each track with WebCodecs, reads the in-band packing parameters and
// camera from the depth track's SEI (sei.js), unpacks the decoded planes on the GPU (unpack.js)
// and shows the depth in false colour and as a point cloud (views.js), with the colour of an
// RGB-D stream beside it and live stats.
//
// Live viewing keeps the latency bounded on a slow device: every chunk is decoded (decoding is
// cheap, and it keeps the chain of reference frames whole), but a depth frame is not unpacked
// and drawn when newer ones are already waiting, so the views show the newest frame; only when
// the decoder itself falls behind (more than MAX_DECODE_QUEUE chunks queued) does a track drop
// chunks until its next keyframe. Both are counted in the stats, with how long messages waited
// in the page (their age against the server's send time, less the smallest age seen, so a
// constant offset between the clocks cancels). Tests
// that need every frame turn this off with `keep=all`.
//
// Query parameters: `ws=URL` another WebSocket URL; `keep=all` decode and unpack every frame
// however late; `collect=N` keep the first N unpacked depth
// maps for a test to read (`window.depthcast.collected()`); `slow=MS` take one message every MS
// milliseconds (a deliberately slow page, for the fan-out test).
//
// Exactness: the depth track is decoded with `hardwareAcceleration: 'prefer-software'`, whose
// frames are CPU-side I420 (8-bit) or I420P10 (10-bit), copied out plane by plane with
// `VideoFrame.copyTo`: the unpacked codes are the decoder's, bit for bit. NV12 frames are
// de-interleaved. A browser that hands back only RGB frames (or GPU frames that cannot be
// copied) for the depth track cannot be unpacked exactly (the YUV->RGB conversion has already
// rounded the codes away): the page then says so and shows no depth, rather than wrong depth.
//
// A depth map sent at half size (`-half` configurations) is rebuilt to full size by unpack.js,
// with the luma of its frame's colour as the guide when an RGB-D stream's colour frame is decoded
// within 20 ms of the depth (2 s with `keep=all`), else without: as `RgbdReceiver` in Rust, whose
// depth the page's equals bit for bit. The stats count both.

import { parseAccessUnit } from './sei.js';
import { DepthUnpacker } from './unpack.js';
import { DepthViews } from './views.js';

const HEADER_LEN = 24;
const FLAG_KEYFRAME = 1;
const FLAG_DISCONTINUITY = 2;
const PTS_UNKNOWN = -(2n ** 63n);
/** Chunks a decoder may have queued before its track skips to the next keyframe. */
const MAX_DECODE_QUEUE = 12;

const query = new URLSearchParams(location.search);
const options = {
  ws: query.get('ws') || `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`,
  collect: Number(query.get('collect') || 0),
  keepAll: query.get('keep') === 'all' || Number(query.get('collect') || 0) > 0,
  slowMs: Number(query.get('slow') || 0),
};

const $ = (id) => document.getElementById(id);

function base64ToBytes(text) {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

function bytesToBase64(bytes) {
  let s = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) s += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
  return btoa(s);
}

/** A rate over the last second. */
class Window {
  constructor() { this.samples = []; }
  add(value) { this.samples.push([performance.now(), value]); }
  perSecond() {
    const now = performance.now();
    while (this.samples.length && now - this.samples[0][0] > 1000) this.samples.shift();
    return this.samples.reduce((s, x) => s + x[1], 0);
  }
}

/** A running mean and the latest value. */
class Mean {
  constructor() { this.n = 0; this.sum = 0; this.last = null; }
  add(v) { this.n++; this.sum += v; this.last = v; }
  get mean() { return this.n ? this.sum / this.n : null; }
}

/**
 * Planes of a decoded frame as the unpacker takes them, or a reason why there are none. With
 * `lumaOnly` (a guide), `u` and `v` are null: the chroma is not repacked.
 */
async function copyPlanes(frame, { lumaOnly = false } = {}) {
  const format = frame.format;
  const rect = frame.visibleRect;
  const width = rect.width;
  const height = rect.height;
  const uvWidth = Math.ceil(width / 2);
  const uvHeight = Math.ceil(height / 2);
  if (format === 'I420' || format === 'I420P10' || format === 'I420A' || format === 'I420AP10') {
    const size = frame.allocationSize({ rect });
    const buffer = new ArrayBuffer(size);
    const layout = await frame.copyTo(buffer, { rect });
    const wide = format.endsWith('P10');
    const plane = (i, w, h) => {
      const { offset, stride } = layout[i];
      if (wide) {
        const out = new Uint16Array(w * h);
        for (let row = 0; row < h; row++) out.set(new Uint16Array(buffer, offset + row * stride, w), row * w);
        return out;
      }
      const out = new Uint8Array(w * h);
      for (let row = 0; row < h; row++) out.set(new Uint8Array(buffer, offset + row * stride, w), row * w);
      return out;
    };
    const [u, v] = lumaOnly ? [null, null] : [plane(1, uvWidth, uvHeight), plane(2, uvWidth, uvHeight)];
    return { planes: { y: plane(0, width, height), u, v, width, height, uvWidth, uvHeight, bitDepth: wide ? 10 : 8 }, format };
  }
  if (format === 'NV12') {
    const size = frame.allocationSize({ rect });
    const buffer = new ArrayBuffer(size);
    const layout = await frame.copyTo(buffer, { rect });
    const y = new Uint8Array(width * height);
    for (let row = 0; row < height; row++) y.set(new Uint8Array(buffer, layout[0].offset + row * layout[0].stride, width), row * width);
    if (lumaOnly) return { planes: { y, u: null, v: null, width, height, uvWidth, uvHeight, bitDepth: 8 }, format };
    const u = new Uint8Array(uvWidth * uvHeight);
    const v = new Uint8Array(uvWidth * uvHeight);
    for (let row = 0; row < uvHeight; row++) {
      const line = new Uint8Array(buffer, layout[1].offset + row * layout[1].stride, uvWidth * 2);
      for (let x = 0; x < uvWidth; x++) {
        u[row * uvWidth + x] = line[2 * x];
        v[row * uvWidth + x] = line[2 * x + 1];
      }
    }
    return { planes: { y, u, v, width, height, uvWidth, uvHeight, bitDepth: 8 }, format };
  }
  return { planes: null, format: format === null ? 'a GPU frame that cannot be copied' : format };
}

/**
 * The luma plane of a decoded colour frame as the unpacker's guide ({ y, width, height,
 * bitDepth }), or null when its planes cannot be copied exactly (an RGB or GPU frame).
 */
async function copyLuma(frame) {
  try {
    const { planes } = await copyPlanes(frame, { lumaOnly: true });
    return planes ? { y: planes.y, width: planes.width, height: planes.height, bitDepth: planes.bitDepth } : null;
  } catch (e) {
    // Closed meanwhile (a live page keeps only the newest colour frames): rebuilt unguided.
    return null;
  }
}

/** One video track: its decoder and counters. */
class Track {
  constructor(info, receiver) {
    this.info = info;
    this.receiver = receiver;
    this.chunks = 0;
    this.decoded = 0;
    this.bytes = 0;
    this.keyframes = 0;
    this.discontinuities = 0;
    this.lastSeq = null;
    this.seqGaps = 0;
    this.bitrate = new Window();
    this.fps = new Window();
    this.waitingForKey = true;
    this.dropped = 0;
    this.error = null;
    this.decoder = null;
    this.software = info.role === 'depth';
    this.configured = this.configure();
  }

  config() {
    const config = { codec: this.info.codec, optimizeForLatency: true };
    if (this.info.description) config.description = base64ToBytes(this.info.description);
    // Depth needs the exact planes: software frames are CPU-side YUV (see the top of the file).
    config.hardwareAcceleration = this.software ? 'prefer-software' : 'no-preference';
    return config;
  }

  async configure() {
    if (typeof VideoDecoder === 'undefined') {
      this.error = 'this browser has no WebCodecs VideoDecoder (Chromium 94+, Safari 16.4+, Firefox 130+; pages must come from https:// or localhost)';
      return false;
    }
    const config = this.config();
    let support;
    try {
      support = await VideoDecoder.isConfigSupported(config);
    } catch (e) {
      support = { supported: false };
    }
    if (!support.supported) {
      this.error = `this browser cannot decode ${this.info.codecName} (${this.info.codec})` +
        (this.info.codecName === 'hevc' ? ': Chromium\'s WebCodecs has no HEVC decoder here; send H.264 (depthcast send --codec h264)' : '');
      return false;
    }
    this.decoder = new VideoDecoder({
      output: (frame) => this.receiver.onFrame(this, frame),
      error: (e) => { this.error = `decoder: ${e.message}`; this.waitingForKey = true; this.decoder = null; this.configured = this.configure(); },
    });
    this.decoder.configure(config);
    this.waitingForKey = true;
    return true;
  }

  /** Falls back to software decoding after the decoder handed out frames without YUV planes. */
  async forceSoftware() {
    if (this.software) return false;
    this.software = true;
    this.close();
    this.configured = this.configure();
    return true;
  }

  async decode(header, data) {
    this.chunks++;
    this.bytes += data.length;
    this.bitrate.add(data.length * 8);
    if (header.flags & FLAG_DISCONTINUITY) this.discontinuities++;
    if (this.lastSeq !== null && header.seq !== this.lastSeq + 1) this.seqGaps += header.seq - this.lastSeq - 1;
    this.lastSeq = header.seq;
    const key = (header.flags & FLAG_KEYFRAME) !== 0;
    if (key) this.keyframes++;
    if (!(await this.configured) || !this.decoder || this.decoder.state !== 'configured') return;
    if (!options.keepAll && !key && this.decoder.decodeQueueSize > MAX_DECODE_QUEUE) this.waitingForKey = true;
    if (this.waitingForKey && !key) {
      if (this.decoded > 0) this.dropped++;
      return;
    }
    this.waitingForKey = false;
    this.decoder.decode(new EncodedVideoChunk({ type: key ? 'key' : 'delta', timestamp: header.timestamp, data }));
  }

  close() {
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
    this.decoder = null;
  }
}

class Receiver {
  constructor() {
    this.tracks = [];
    this.depthTrack = null;
    this.colourTrack = null;
    this.meta = new Map(); // depth chunk timestamp -> in-band content + arrival
    this.colourFrames = new Map(); // colour frame timestamp -> VideoFrame (awaiting its depth)
    this.colourWaiters = new Map(); // timestamp -> resolve(), a half-size depth frame awaiting its colour
    this.messages = 0;
    this.startedAt = performance.now();
    this.state = 'connecting';
    this.serverInfo = {};
    this.errors = [];
    this.unpacked = 0;
    this.unpackMs = new Mean();
    this.copyMs = new Mean();
    this.waitedInPage = new Mean();
    this.latencySender = new Mean();
    this.latencyServer = new Mean();
    this.paired = 0;
    this.depthGuided = 0;
    this.depthHalf = 0;
    this.rgbFrames = 0;
    this.paramsErrors = 0;
    this.lastParams = null;
    this.lastCamera = null;
    this.lastFormat = null;
    this.collectedDepth = new Map();
    this.depthChain = Promise.resolve();
    this.nextDepth = null;
    this.depthBusy = false;
    this.minAge = Infinity;
    this.notShown = 0;
    this.source = '';

    this.gl = document.createElement('canvas').getContext('webgl2', { antialias: false, depth: true, preserveDrawingBuffer: true });
    if (!this.gl) throw new Error('this browser has no WebGL2: the depth is unpacked with a WebGL2 shader');
    this.unpacker = new DepthUnpacker(this.gl);
    this.views = new DepthViews(this.gl);
    this.views.attachOrbit($('cloud'));
  }

  connect() {
    if (options.slowMs > 0 && typeof WebSocketStream !== 'undefined') {
      this.connectSlow();
      return;
    }
    const ws = new WebSocket(options.ws);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => this.setState('waiting for the stream', 'live');
    ws.onmessage = (e) => this.onMessage(e.data);
    ws.onclose = () => {
      if (this.state !== 'ended') this.setState('disconnected: reconnecting…', 'bad');
      setTimeout(() => this.connect(), 1000);
    };
    this.ws = ws;
  }

  /** A deliberately slow page (`?slow=MS`): reads one message every MS milliseconds through
   * WebSocketStream, whose reads apply backpressure to the server, without spending the CPU a
   * busy page would (which on a small test machine would slow the other pages too). */
  async connectSlow() {
    try {
      const wss = new WebSocketStream(options.ws);
      const { readable } = await wss.opened;
      this.setState('waiting for the stream (slow page)', 'live');
      const reader = readable.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this.onMessage(value instanceof Uint8Array ? value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) : value);
        await new Promise((resolve) => setTimeout(resolve, options.slowMs));
      }
    } catch (e) {
      this.note(`slow connection: ${e.message || e}`);
    }
    if (this.state !== 'ended') this.setState('disconnected: reconnecting…', 'bad');
    setTimeout(() => this.connect(), 1000);
  }

  setState(text, cls = '') {
    this.state = text;
    const el = $('state');
    el.textContent = text;
    el.className = `state ${cls}`;
  }

  onMessage(data) {
    this.messages++;
    if (options.slowMs > 0 && typeof WebSocketStream === 'undefined') {
      const until = performance.now() + options.slowMs;
      while (performance.now() < until) { /* a deliberately slow page */ }
    }
    if (typeof data === 'string') {
      const msg = JSON.parse(data);
      if (msg.type === 'hello') this.onHello(msg);
      else if (msg.type === 'server') this.serverInfo = msg;
      else if (msg.type === 'end') this.setState('stream ended', '');
      return;
    }
    const view = new DataView(data);
    if (data.byteLength < HEADER_LEN || view.getUint8(0) !== 1) return;
    const pts = view.getBigInt64(8, true);
    const header = {
      track: view.getUint8(1),
      flags: view.getUint8(2),
      seq: view.getUint32(4, true),
      timestamp: pts === PTS_UNKNOWN ? view.getUint32(4, true) * 33333 : Number(pts),
      serverUs: Number(view.getBigUint64(16, true)),
    };
    const track = this.tracks[header.track];
    if (!track) return;
    // Lateness of this message: its age now minus the smallest age seen (offset of the clocks
    // plus the network's base delay), i.e. how long it waited in queues, mostly this page's.
    const age = Date.now() - header.serverUs / 1000;
    this.minAge = Math.min(this.minAge, age);
    const lateMs = age - this.minAge;
    const bytes = new Uint8Array(data, HEADER_LEN);
    if (track === this.depthTrack) {
      const inBand = parseAccessUnit(bytes, track.info.nalLengthSize, track.info.codecName);
      if (!inBand.params) this.paramsErrors++;
      this.meta.set(header.timestamp, { inBand, serverUs: header.serverUs, arrivedMs: performance.now() });
      if (this.meta.size > 300) this.meta.delete(this.meta.keys().next().value);
    }
    this.waitedInPage.add(lateMs);
    track.decode(header, bytes);
  }

  onHello(msg) {
    for (const t of this.tracks) t.close();
    for (const f of this.colourFrames.values()) f.close();
    this.colourFrames.clear();
    this.meta.clear();
    this.minAge = Infinity;
    this.source = msg.source || '';
    $('source').textContent = this.source;
    this.tracks = msg.tracks.map((info) => new Track(info, this));
    this.depthTrack = this.tracks.find((t) => t.info.role === 'depth') || null;
    this.colourTrack = this.tracks.find((t) => t.info.role === 'colour') || null;
    $('colour-view').hidden = !this.colourTrack;
    this.setState(this.colourTrack ? 'live: colour + depth' : 'live: depth', 'live');
  }

  onFrame(track, frame) {
    track.decoded++;
    track.fps.add(1);
    if (track === this.colourTrack) {
      this.showColour(frame);
      if (!this.depthTrack) { frame.close(); return; }
      this.colourFrames.set(frame.timestamp, frame);
      const waiter = this.colourWaiters.get(frame.timestamp);
      if (waiter) waiter();
      // Keep a few colour frames waiting for their depth; close the oldest beyond that (held
      // frames stall the decoder).
      while (this.colourFrames.size > (options.keepAll ? 8 : 3)) {
        const [ts, old] = this.colourFrames.entries().next().value;
        old.close();
        this.colourFrames.delete(ts);
      }
      return;
    }
    if (track !== this.depthTrack) { frame.close(); return; }
    // Depth frames are handled one at a time, in order (copyTo is asynchronous).
    if (options.keepAll) {
      this.depthChain = this.depthChain.then(() => this.onDepth(track, frame)).catch((e) => this.fail(e));
      return;
    }
    // Live: one frame waits at most; a newer one replaces it (and the replaced one is closed at
    // once: a decoder whose frames are all held stops decoding).
    if (this.nextDepth) {
      this.nextDepth.frame.close();
      this.notShown++;
    }
    this.nextDepth = { track, frame };
    if (!this.depthBusy) this.drainDepth();
  }

  async drainDepth() {
    this.depthBusy = true;
    while (this.nextDepth) {
      const { track, frame } = this.nextDepth;
      this.nextDepth = null;
      try {
        await this.onDepth(track, frame);
      } catch (e) {
        this.fail(e);
      }
    }
    this.depthBusy = false;
  }

  /** The colour frame of `timestamp`, if it is decoded within `ms` milliseconds, else null. */
  async awaitColour(timestamp, ms) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.colourWaiters.set(timestamp, () => { clearTimeout(timer); resolve(); });
    });
    this.colourWaiters.delete(timestamp);
    return this.colourFrames.get(timestamp) || null;
  }

  showColour(frame) {
    const canvas = $('colour');
    if (canvas.width !== frame.displayWidth || canvas.height !== frame.displayHeight) {
      canvas.width = frame.displayWidth;
      canvas.height = frame.displayHeight;
      $('colour-size').textContent = `${frame.displayWidth}x${frame.displayHeight}`;
    }
    canvas.getContext('2d').drawImage(frame, 0, 0);
  }

  async onDepth(track, frame) {
    try {
      const meta = this.meta.get(frame.timestamp);
      this.meta.delete(frame.timestamp);
      const inBand = meta && meta.inBand;
      if (!inBand || !inBand.params) {
        if (inBand && inBand.paramsError) this.note(`depth frame without parameters: ${inBand.paramsError}`);
        return;
      }
      const t0 = performance.now();
      const { planes, format } = await copyPlanes(frame);
      this.copyMs.add(performance.now() - t0);
      this.lastFormat = format;
      if (!planes) {
        this.rgbFrames++;
        if (!(await track.forceSoftware())) {
          this.note(`the depth track decodes to ${format} frames here, not YUV planes: the packed codes are lost in the conversion, so the depth cannot be unpacked exactly and is not shown`);
        }
        return;
      }
      const params = inBand.params;
      // A map sent at half size is rebuilt with its colour's luma as the guide (as RgbdReceiver
      // does) when the colour is here; it is worth waiting a little for.
      let colour = this.colourFrames.get(frame.timestamp) || null;
      if (params.half && !colour && this.colourTrack) colour = await this.awaitColour(frame.timestamp, options.keepAll ? 2000 : 20);
      const guide = params.half && colour ? await copyLuma(colour) : null;
      const depth = this.unpacker.unpack(planes, params, guide);
      this.unpacked++;
      if (params.half) this.depthHalf++;
      if (depth.guided) this.depthGuided++;
      // Looked up again: while the guide was copied, newer colour frames may have closed it.
      colour = this.colourFrames.get(frame.timestamp) || null;
      if (this.unpacked <= options.collect) {
        this.collectedDepth.set(params.frameIndex, new Uint8Array(this.unpacker.readDepth().buffer));
      }
      if (colour) {
        this.paired++;
        this.views.setColour(colour);
        for (const [ts, f] of this.colourFrames) {
          if (ts <= frame.timestamp) { f.close(); this.colourFrames.delete(ts); }
        }
      } else if (!this.colourTrack) {
        this.views.setColour(null);
      }
      this.views.draw(depth, params, inBand.camera);
      this.present(depth, params, inBand.camera);
      this.unpackMs.add(performance.now() - t0);
      const now = Date.now();
      if (inBand.sentUnixUs) this.latencySender.add(now - inBand.sentUnixUs / 1000);
      if (meta.serverUs) this.latencyServer.add(now - meta.serverUs / 1000);
      this.lastParams = params;
      this.lastCamera = inBand.camera;
    } finally {
      frame.close();
    }
  }

  /** Copies the two halves of the WebGL canvas to the depth and cloud canvases. */
  present(depth, params, camera) {
    const gl = this.gl;
    const w = Math.min(depth.width, 960);
    const h = Math.round((w * depth.height) / depth.width);
    if (gl.canvas.width !== 2 * w || gl.canvas.height !== h) {
      gl.canvas.width = 2 * w;
      gl.canvas.height = h;
      // The size changed after drawing: draw again at the new size.
      this.views.draw(depth, params, camera);
    }
    for (const [id, x] of [['depth', 0], ['cloud', w]]) {
      const canvas = $(id);
      if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
      canvas.getContext('2d').drawImage(gl.canvas, x, 0, w, h, 0, 0, w, h);
    }
    $('depth-size').textContent = `${depth.width}x${depth.height}`;
  }

  note(text) {
    if (!this.errors.includes(text)) this.errors.push(text);
    $('error').textContent = this.errors.join('\n');
  }

  fail(e) {
    console.error(e);
    this.note(`error: ${e.message || e}`);
  }

  /** Everything the stats table shows, as plain data (also read by the tests). */
  stats() {
    const track = (t) => t && {
      codec: t.info.codec, chunks: t.chunks, decoded: t.decoded, keyframes: t.keyframes, bytes: t.bytes,
      bitrateKbps: t.bitrate.perSecond() / 1000, fps: t.fps.perSecond(), discontinuities: t.discontinuities,
      sequenceGaps: t.seqGaps, decodeQueue: t.decoder ? t.decoder.decodeQueueSize : 0, droppedByPage: t.dropped, error: t.error,
    };
    return {
      state: this.state, source: this.source, messages: this.messages,
      depth: track(this.depthTrack), colour: track(this.colourTrack),
      unpacked: this.unpacked, notShown: this.notShown, paired: this.paired, depthHalf: this.depthHalf, depthGuided: this.depthGuided, paramsErrors: this.paramsErrors, rgbFrames: this.rgbFrames,
      frameFormat: this.lastFormat, unpackMs: this.unpackMs.mean, copyMs: this.copyMs.mean,
      latencyMs: this.latencySender.last, latencyMeanMs: this.latencySender.mean,
      serverToPageMs: this.latencyServer.last, serverToPageMeanMs: this.latencyServer.mean,
      waitedInPageMs: this.waitedInPage.last,
      params: this.lastParams, camera: this.lastCamera, server: this.serverInfo, errors: this.errors,
    };
  }

  renderStats() {
    const s = this.stats();
    const fmt = (v, d = 1) => (v === null || v === undefined ? '–' : typeof v === 'number' ? v.toFixed(d) : String(v));
    const rows = [];
    for (const [name, t] of [['depth', s.depth], ['colour', s.colour]]) {
      if (!t) continue;
      rows.push([`${name} track`, `${t.codec} · ${fmt(t.bitrateKbps / 1000, 2)} Mbit/s · ${fmt(t.fps, 0)} fps · ${t.decoded} decoded of ${t.chunks} · ${t.keyframes} keyframes` +
        (t.discontinuities ? ` · ${t.discontinuities} skips by the server` : '') + (t.error ? ` · ${t.error}` : '')]);
    }
    if (s.params) {
      const p = s.params;
      const scheme = p.scheme === 'vbp' ? `vbp-${p.layout} P${p.precision}` : p.scheme === 'triangle' ? `triangle P${p.precision} n_p=${p.period}` : p.scheme === 'luma' ? `luma P${p.precision}` : 'hue';
      rows.push(['packing', `${scheme} · ${p.mode} · ${p.bitDepth}-bit planes · ${p.width}x${p.height} · range ${fmt(p.near, 3)}–${fmt(p.far, 3)} m · frame ${p.frameIndex}`]);
      $('legend-near').textContent = `${fmt(p.near, 2)} m`;
      $('legend-far').textContent = `${fmt(p.far, 2)} m`;
    }
    rows.push(['frames', `${s.unpacked} unpacked` + (s.notShown ? ` · ${s.notShown} skipped (late)` : '') + (s.depth && s.depth.droppedByPage ? ` · ${s.depth.droppedByPage} dropped to catch up` : '') + (s.colour ? ` · ${s.paired} with their colour` : '') + (s.depthHalf ? ` · ${s.depthHalf} sent at half size (${s.depthGuided} rebuilt with the colour as guide)` : '') + ` · planes ${s.frameFormat || '–'} · copy ${fmt(s.copyMs)} ms, copy + unpack + draw ${fmt(s.unpackMs)} ms`]);
    rows.push(['latency', `sender → shown ${fmt(s.latencyMs, 0)} ms (mean ${fmt(s.latencyMeanMs, 0)}; sender's clock) · server → shown ${fmt(s.serverToPageMs, 0)} ms · last message waited ${fmt(s.waitedInPageMs, 0)} ms in this page`]);
    if (s.camera) {
      const c = s.camera;
      const pos = c.pose && c.pose.position ? c.pose.position.map((x) => x.toFixed(2)).join(', ') : '–';
      rows.push(['camera', `position ${pos} · in-band intrinsics`]);
    }
    if (s.server && s.server.clients !== undefined) rows.push(['server', `${s.server.clients} pages · ${s.server.skipped || 0} packets skipped for this page`]);
    const body = $('stats');
    body.replaceChildren(...rows.map(([k, v]) => {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.textContent = k;
      const td = document.createElement('td');
      td.textContent = v;
      tr.append(th, td);
      return tr;
    }));
    const bad = [s.depth, s.colour].filter((t) => t && t.error).map((t) => t.error);
    for (const e of bad) this.note(e);
  }
}

let receiver;
try {
  receiver = new Receiver();
  receiver.connect();
  setInterval(() => receiver.renderStats(), 500);
} catch (e) {
  $('error').textContent = e.message;
  $('state').textContent = 'cannot start';
  $('state').className = 'state bad';
  throw e;
}

// For tests and the console.
window.depthcast = {
  receiver,
  stats: () => receiver.stats(),
  /** The frame indices of the unpacked depth maps kept with `?collect=N`, in arrival order. */
  collected: () => [...receiver.collectedDepth.keys()],
  /** One kept depth map: base64 of its f32 bytes (little-endian, row-major), or null. */
  collectedFrame: (frameIndex) => {
    const bytes = receiver.collectedDepth.get(frameIndex);
    return bytes ? bytesToBase64(bytes) : null;
  },
};
