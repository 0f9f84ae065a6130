// The encoded-frame side of web/janus.html: an RTCRtpScriptTransform (or, where only the older
// API exists, the streams of `receiver.createEncodedStreams()` posted here) that reads each
// received H.264 access unit, finds depthcast's SEI `user_data_unregistered` message in it and
// posts what it says (read by js/sei.js) to the page, keyed by RTP timestamp. Frames pass
// through unchanged.
//
// Chromium's H.264 depacketizer hands the transform the whole access unit in Annex B (start codes),
// SEI NAL units included: that is what this worker checks (`seiNals` per frame).

import { nalUnits, parseAccessUnit } from './sei.js';

/** FNV-1a 32-bit over the NAL units (each preceded by its length, 4 bytes big-endian), so that
 * start-code lengths do not matter: compared with the sender's access units, it shows whether
 * anything between the encoder and this point changed the bitstream. */
export function nalHash(nals) {
  let h = 0x811c9dc5;
  const eat = (x) => { h ^= x; h = Math.imul(h, 0x01000193); };
  for (const n of nals) {
    eat(n.length >>> 24); eat((n.length >>> 16) & 255); eat((n.length >>> 8) & 255); eat(n.length & 255);
    for (let i = 0; i < n.length; i++) eat(n[i]);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

function inspect(frame) {
  const at = performance.timeOrigin + performance.now();
  const meta = frame.getMetadata ? frame.getMetadata() : {};
  const rtp = meta.rtpTimestamp ?? frame.timestamp;
  const bytes = new Uint8Array(frame.data);
  const nals = nalUnits(bytes, 0);
  const types = nals.map((n) => n[0] & 0x1f);
  const au = parseAccessUnit(bytes, 0, 'h264');
  self.postMessage({
    kind: 'encoded', rtp, at, bytes: bytes.length, type: frame.type, types, nalHash: nalHash(nals),
    seiNals: types.filter((t) => t === 6).length,
    params: au.params, paramsError: au.paramsError, sentUs: au.sentUnixUs, keyframe: au.keyframe,
    receiveTime: meta.receiveTime ?? null, payloadType: meta.payloadType ?? null,
  });
}

function run(readable, writable) {
  readable.pipeThrough(new TransformStream({
    transform(frame, controller) {
      try { inspect(frame); } catch (e) { self.postMessage({ kind: 'error', message: String(e && e.stack || e) }); }
      controller.enqueue(frame);
    },
  })).pipeTo(writable).catch((e) => self.postMessage({ kind: 'error', message: 'pipe: ' + e }));
}

// RTCRtpScriptTransform.
self.onrtctransform = (event) => run(event.transformer.readable, event.transformer.writable);
// createEncodedStreams() fallback.
self.onmessage = (event) => {
  if (event.data && event.data.readable) run(event.data.readable, event.data.writable);
};
