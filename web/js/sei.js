// The JavaScript twin of codec/src/sei.rs (the reading side), packing/src/params.rs
// (PackParams::from_bytes, crc16) and packing/src/camera.rs (CameraBlock::from_bytes).
// Plain ES module, no dependencies. tools/browser/tests/sei_contract.rs checks it against the Rust
// reader on real encodes.
//
// - nalUnits(bytes, nalLengthSize): the NAL units of an access unit (Annex B or length-prefixed).
// - parseAccessUnit(bytes, nalLengthSize, codecName): depthcast's SEI messages of an access unit
//   (packing parameters, camera, send time) and whether it is a keyframe; for AV1 the same
//   messages in T.35 metadata OBUs (codec/src/obu.rs).
// - obus(bytes): the OBUs of an AV1 temporal unit.
// - decodePackParams(bytes), decodeCameraBlock(bytes): the in-band blocks, validated as in Rust.
// - crc16(bytes): CRC-16/CCITT-FALSE, the blocks' checksum.

/** UUID of depthcast's packing-parameters SEI message (`DEPTHCAST_SEI_UUID`). */
export const DEPTHCAST_SEI_UUID = Uint8Array.of(
  0x6b, 0x1d, 0xd9, 0x3e, 0x52, 0x0c, 0x4f, 0x8a, 0x9d, 0x37, 0x0e, 0x5c, 0xd2, 0x41, 0x7a, 0x90);
/** UUID of depthcast's camera SEI message (`DEPTHCAST_CAMERA_UUID`). */
export const DEPTHCAST_CAMERA_UUID = Uint8Array.of(
  0x3f, 0xa2, 0x71, 0xc4, 0x0e, 0x9b, 0x4d, 0x16, 0xb8, 0x5a, 0x27, 0xe3, 0x61, 0xcd, 0x08, 0x5f);
/** Bytes of an encoded `PackParams`. */
export const PARAMS_LEN = 28;
/** Bytes of an encoded `CameraBlock`. */
export const CAMERA_LEN = 64;

/** SEI payload type of `user_data_unregistered`. */
const USER_DATA_UNREGISTERED = 5;
const PARAMS_MAGIC = 0x4443; // "DC"
const CAMERA_MAGIC = 0x4b44; // "DK"
const VERSION = 1;

/** Scheme names by their code (`Scheme::name`). */
const SCHEMES = ['luma', 'vbp', 'triangle', 'hue'];
/** Rust's `Debug` names of the schemes, for error messages as Rust words them. */
const SCHEME_DEBUG = { luma: 'LumaOnly', vbp: 'Vbp', triangle: 'Triangle', hue: 'Hue' };

// Depth range limits (packing/src/range.rs), as f32.
const MIN_NEAR = Math.fround(1e-6);
const MAX_FAR = Math.fround(1e7);
const MAX_RATIO = Math.fround(1e6);

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of `bytes`. */
export function crc16(bytes) {
  let crc = 0xffff;
  for (let i = 0; i < bytes.length; i++) {
    crc ^= bytes[i] << 8;
    for (let k = 0; k < 8; k++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

/** `{:#06x}` as Rust formats it. */
function hex4(v) {
  return '0x' + v.toString(16).padStart(4, '0');
}

/** An f32 as Rust's `Display` prints it: the shortest decimal that reads back, no exponent. */
function f32Text(v) {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  let s = String(v);
  for (let p = 1; p <= 9; p++) {
    const t = v.toPrecision(p);
    if (Math.fround(Number(t)) === v) {
      s = t;
      break;
    }
  }
  const n = Number(s);
  if (/e/i.test(String(n))) {
    // Write out the digits without an exponent, as Rust does.
    const [mant, exp] = n.toExponential().split('e');
    const e = Number(exp);
    const neg = mant.startsWith('-');
    const digits = mant.replace('-', '').replace('.', '');
    const out = e < 0 ? '0.' + '0'.repeat(-e - 1) + digits : digits + '0'.repeat(Math.max(0, e + 1 - digits.length));
    return (neg ? '-' : '') + out;
  }
  return String(n);
}

/** An Error whose message is Rust's `PackError::MalformedParams` text. */
function malformed(what) {
  const e = new Error(`packing parameters are malformed: ${what}`);
  e.name = 'ParamsDecodeError';
  return e;
}

/** An Error whose message is the other `PackError`s' text (fields out of range). */
function invalid(what) {
  const e = new Error(what);
  e.name = 'PackError';
  return e;
}

/** `bytes` (a Uint8Array, another typed array or DataView, an ArrayBuffer or an array of numbers) as a Uint8Array. */
function asBytes(bytes) {
  if (Array.isArray(bytes)) return Uint8Array.from(bytes);
  return bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer ?? bytes, bytes.byteOffset ?? 0, bytes.byteLength);
}

/** Checks near/far as `DepthRange::new` does (f32 arithmetic). */
function checkRange(near, far, mode) {
  const bad = () => invalid(`depth range near=${f32Text(near)} far=${f32Text(far)} is invalid: need 1e-6 <= near < far <= 1e7 metres and far/near <= 1e6`);
  const sane = near >= MIN_NEAR && far <= MAX_FAR && far > near && Math.fround(far / near) <= MAX_RATIO;
  if (!sane) throw bad();
  const span = mode === 'linear'
    ? Math.fround(far - near)
    : Math.fround(Math.fround(1 / near) - Math.fround(1 / far));
  if (!(span > 0 && Number.isFinite(span))) throw bad();
}

/** Allowed precisions of a scheme at a bit depth (`PackParams::precision_range`). */
function precisionRange(scheme, bits) {
  switch (scheme) {
    case 'luma': return [bits, bits];
    case 'vbp':
    case 'triangle': return [bits, bits + 8];
    default: return [0, 0];
  }
}

/** Allowed triangle periods (`PackParams::period_range`). */
function periodRange(precision, bits) {
  const w = 2 ** precision;
  const maxCode = 2 ** bits - 1;
  const guard = 4 << (bits - 8);
  const codes = maxCode - guard;
  return [Math.max(Math.floor(w / codes) + 1, 16), Math.floor(w / 2)];
}

/** Throws the error `PackParams::validate` would give for `p`. */
function validateParams(p) {
  if (p.width === 0 || p.height === 0) {
    throw invalid(`frame size ${p.width}x${p.height} is empty: width and height must be at least 1`);
  }
  if (p.width > 65534 || p.height > 32766) {
    throw invalid(`frame size ${p.width}x${p.height} is too large: at most 65534x32766 pixels are supported`);
  }
  checkRange(p.near, p.far, p.mode);
  const [min, max] = precisionRange(p.scheme, p.bitDepth);
  if (p.precision < min || p.precision > max) {
    throw invalid(`precision ${p.precision} is outside ${min}..=${max} for ${SCHEME_DEBUG[p.scheme]} with ${p.bitDepth}-bit planes`);
  }
  if (p.scheme === 'vbp' && p.lowAmplitude === 0) {
    throw invalid('low-plane amplitude 0 is invalid: it must be 1..=255 (255 = full code range)');
  }
  if (p.scheme === 'triangle') {
    const [pmin, pmax] = periodRange(p.precision, p.bitDepth);
    if (p.period < pmin || p.period > pmax) {
      throw invalid(`triangle period n_p=${p.period} is invalid for w=2^${p.precision} levels: need ${pmin}..=${pmax}`);
    }
  }
}

/**
 * Decodes the 28-byte packing-parameters block (`PackParams::from_bytes`) and validates it.
 * Extra trailing bytes are ignored.
 *
 * Returns `{scheme: 'luma'|'vbp'|'triangle'|'hue', bitDepth: 8|10, precision,
 * layout: 'chroma'|'luma', mode: 'linear'|'disparity', lowAmplitude, period, near, far, width,
 * height, half, frameIndex}`; `near`/`far` are the f32 values exactly.
 *
 * Throws an Error (message as Rust's `PackError`) for short input, a wrong magic, version or
 * checksum, unknown scheme, or fields out of range.
 */
export function decodePackParams(bytes) {
  const b = asBytes(bytes);
  if (b.length < PARAMS_LEN) throw malformed(`${b.length} bytes, ${PARAMS_LEN} needed`);
  const dv = new DataView(b.buffer, b.byteOffset, PARAMS_LEN);
  const magic = dv.getUint16(0, true);
  if (magic !== PARAMS_MAGIC) throw malformed(`bad magic ${hex4(magic)}`);
  if (b[2] !== VERSION) throw malformed(`unsupported version ${b[2]} (this build reads version 1)`);
  const found = dv.getUint16(26, true);
  const computed = crc16(b.subarray(0, 26));
  if (found !== computed) {
    throw malformed(`checksum ${hex4(found)} does not match computed ${hex4(computed)}`);
  }
  const flags = b[3];
  const scheme = SCHEMES[flags & 0x0f];
  if (scheme === undefined) throw malformed(`field scheme holds unknown value ${flags & 0x0f}`);
  const p = {
    scheme,
    bitDepth: flags & 0x10 ? 10 : 8,
    precision: b[4],
    layout: flags & 0x20 ? 'luma' : 'chroma',
    mode: flags & 0x40 ? 'disparity' : 'linear',
    lowAmplitude: b[5],
    period: dv.getUint32(6, true),
    near: dv.getFloat32(10, true),
    far: dv.getFloat32(14, true),
    width: dv.getUint16(18, true),
    height: dv.getUint16(20, true),
    // The map travels at half size, for the receiver to rebuild (packing::resample; unpack.js
    // has its twin).
    half: (flags & 0x80) !== 0,
    frameIndex: dv.getUint32(22, true),
  };
  validateParams(p);
  return p;
}

/**
 * Decodes the 64-byte camera block (`CameraBlock::from_bytes`) and validates it. Extra trailing
 * bytes are ignored.
 *
 * Returns `{frameIndex, pose: {position: [x, y, z], rotation: [x, y, z, w]},
 * intrinsics: {width, height, fx, fy, cx, cy, near}}` (f32 values exactly).
 *
 * Throws an Error (message as Rust's `PackError`) for short input, a wrong magic, version or
 * checksum, unknown flags, or fields out of range (non-finite, a non-unit quaternion, sizes or
 * focal lengths not positive).
 */
export function decodeCameraBlock(bytes) {
  const b = asBytes(bytes);
  if (b.length < CAMERA_LEN) throw malformed(`${b.length} bytes, ${CAMERA_LEN} needed`);
  const dv = new DataView(b.buffer, b.byteOffset, CAMERA_LEN);
  const magic = dv.getUint16(0, true);
  if (magic !== CAMERA_MAGIC) throw malformed(`bad magic ${hex4(magic)}`);
  if (b[2] !== VERSION) throw malformed(`unsupported version ${b[2]} (this build reads version 1)`);
  const found = dv.getUint16(62, true);
  const computed = crc16(b.subarray(0, 62));
  if (found !== computed) {
    throw malformed(`checksum ${hex4(found)} does not match computed ${hex4(computed)}`);
  }
  if (b[3] !== 0) throw malformed(`field camera flags holds unknown value ${b[3]}`);
  const f = (i) => dv.getFloat32(i, true);
  const block = {
    frameIndex: dv.getUint32(4, true),
    pose: { position: [f(8), f(12), f(16)], rotation: [f(20), f(24), f(28), f(32)] },
    intrinsics: {
      width: dv.getUint16(36, true),
      height: dv.getUint16(38, true),
      fx: f(40),
      fy: f(44),
      cx: f(48),
      cy: f(52),
      near: f(56),
    },
  };
  validateCamera(block);
  return block;
}

/** Throws the error `CameraBlock::validate` would give (f32 arithmetic). */
function validateCamera(c) {
  const bad = (what) => invalid(`invalid camera block: ${what}`);
  const k = c.intrinsics;
  const all = [...c.pose.position, ...c.pose.rotation, k.fx, k.fy, k.cx, k.cy, k.near];
  const nonFinite = all.find((v) => !Number.isFinite(v));
  if (nonFinite !== undefined) throw bad(`non-finite value ${f32Text(nonFinite)}`);
  let sum = 0;
  for (const q of c.pose.rotation) sum = Math.fround(sum + Math.fround(q * q));
  const n = Math.fround(Math.sqrt(sum));
  if (Math.abs(Math.fround(n - 1)) > Math.fround(1e-3)) {
    throw bad(`rotation quaternion of norm ${f32Text(n)}, not 1`);
  }
  if (k.width === 0 || k.height === 0 || k.width > 65535 || k.height > 65535) {
    throw bad(`image size ${k.width}x${k.height} outside 1..=65535`);
  }
  if (!(k.fx > 0 && k.fy > 0 && k.near > 0)) {
    throw bad(`focal lengths ${f32Text(k.fx)} / ${f32Text(k.fy)} and near ${f32Text(k.near)} must be positive`);
  }
}

/**
 * Splits an access unit into NAL units (payloads without start codes or lengths), as
 * `sei::nal_units` does. `nalLengthSize` 0: Annex B start codes (trailing zero bytes of a unit
 * belong to the next start code); 1..=4: each unit preceded by its big-endian length.
 *
 * Throws an Error when a length prefix runs past the end of the data.
 */
export function nalUnits(bytes, nalLengthSize) {
  const data = asBytes(bytes);
  const out = [];
  if (!nalLengthSize) {
    const starts = [];
    for (let i = 0; i + 3 <= data.length;) {
      if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
        starts.push(i);
        i += 3;
      } else {
        i += 1;
      }
    }
    for (let k = 0; k < starts.length; k++) {
      const begin = starts[k] + 3;
      let end = k + 1 < starts.length ? starts[k + 1] : data.length;
      while (end > begin && data[end - 1] === 0) end--;
      if (end > begin) out.push(data.subarray(begin, end));
    }
    return out;
  }
  const n = Math.min(Math.max(nalLengthSize | 0, 1), 4);
  for (let i = 0; i < data.length;) {
    if (i + n > data.length) {
      throw new Error(`${data.length - i} bytes left at offset ${i}, a ${n}-byte NAL length needs more`);
    }
    let len = 0;
    for (let k = 0; k < n; k++) len = len * 256 + data[i + k];
    i += n;
    if (len > data.length - i) {
      throw new Error(`NAL length ${len} at offset ${i - n} runs past the packet end (${data.length} bytes)`);
    }
    if (len > 0) out.push(data.subarray(i, i + len));
    i += len;
  }
  return out;
}

/** Removes emulation-prevention bytes (`00 00 03` → `00 00`). */
export function removeEmulationPrevention(ebsp) {
  const out = new Uint8Array(ebsp.length);
  let o = 0;
  let zeros = 0;
  for (let i = 0; i < ebsp.length; i++) {
    const b = ebsp[i];
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    out[o++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, o);
}

/** The NAL unit type (`sei::nal_type`). */
function nalType(codec, nal) {
  return codec === 'hevc' ? (nal[0] >> 1) & 0x3f : nal[0] & 0x1f;
}

/** Whether a NAL unit type starts a random-access point (H.264 IDR, HEVC IRAP). */
function isKeyframeNal(codec, type) {
  return codec === 'hevc' ? type >= 16 && type <= 21 : type === 5;
}

/** Whether `payload` starts with `uuid`. */
function startsWith(payload, uuid) {
  if (payload.length < uuid.length) return false;
  for (let i = 0; i < uuid.length; i++) if (payload[i] !== uuid[i]) return false;
  return true;
}

/** The optional 8-byte little-endian send time after a block of `len` bytes (µs, as a number). */
function sendTime(body, len) {
  if (body.length < len + 8) return null;
  const dv = new DataView(body.buffer, body.byteOffset + len, 8);
  return Number(dv.getBigUint64(0, true));
}

/** Reads a `ff ff .. xx` coded SEI number at `pos.i`; null when truncated. */
function seiNumber(b, pos) {
  let v = 0;
  for (;;) {
    if (pos.i >= b.length) return null;
    const x = b[pos.i++];
    v += x;
    if (v > 0xffffffff) return null; // u32 overflow, as Rust's checked_add
    if (x !== 0xff) return v;
  }
}

/** Decodes a block, giving `{ok, err}` (one of them null). */
function attempt(decode, body, len) {
  try {
    return { value: decode(body), sent: sendTime(body, len), err: null };
  } catch (e) {
    return { value: null, sent: null, err: e.message };
  }
}

/** Collects depthcast's messages of one SEI payload (`parse_sei_rbsp`) into `found`. */
function parseSeiRbsp(rbsp, found) {
  const pos = { i: 0 };
  while (pos.i < rbsp.length && !(pos.i + 1 === rbsp.length && rbsp[pos.i] === 0x80)) {
    const start = pos.i;
    const type = seiNumber(rbsp, pos);
    if (type === null) {
      found.broken ??= `SEI message type is truncated at byte ${start}`;
      return;
    }
    const size = seiNumber(rbsp, pos);
    if (size === null) {
      found.broken ??= `SEI message size is truncated at byte ${start}`;
      return;
    }
    if (size > rbsp.length - pos.i) {
      found.broken ??= `SEI payload of ${size} bytes at byte ${pos.i} runs past the ${rbsp.length}-byte unit`;
      return;
    }
    const payload = rbsp.subarray(pos.i, pos.i + size);
    pos.i += size;
    if (type === USER_DATA_UNREGISTERED) collectMessage(payload, found);
  }
}

/** Decodes one message payload (UUID, then body) into `found` when it is one of depthcast's and
 * the first of its kind (`sei::collect_message`). */
function collectMessage(payload, found) {
  if (found.params === null && startsWith(payload, DEPTHCAST_SEI_UUID)) {
    found.params = attempt(decodePackParams, payload.subarray(16), PARAMS_LEN);
  } else if (found.camera === null && startsWith(payload, DEPTHCAST_CAMERA_UUID)) {
    found.camera = attempt(decodeCameraBlock, payload.subarray(16), CAMERA_LEN);
  }
}

/** Reads a `leb128()` at `pos.i` (`obu::leb128`): null when truncated, longer than 8 bytes or
 * above 2^32 - 1. */
function leb128(b, pos) {
  let v = 0;
  for (let k = 0; k < 8; k++) {
    if (pos.i >= b.length) return null;
    const x = b[pos.i++];
    v += (x & 0x7f) * 2 ** (7 * k);
    if ((x & 0x80) === 0) return v <= 0xffffffff ? v : null;
  }
  return null;
}

/** The OBUs of an AV1 temporal unit (`obu::obus`): `{type, payload}` each. Throws on broken
 * framing, with Rust's messages. */
export function obus(bytes) {
  const out = [];
  let i = 0;
  while (i < bytes.length) {
    const start = i;
    const h = bytes[i];
    if (h & 0x80) throw new Error(`AV1 OBU at byte ${start} has its forbidden bit set`);
    const type = (h >> 3) & 0x0f;
    i += 1 + ((h & 0x04) !== 0 ? 1 : 0);
    if (i > bytes.length) throw new Error(`AV1 OBU header at byte ${start} is truncated`);
    let size;
    if ((h & 0x02) !== 0) {
      const pos = { i };
      size = leb128(bytes, pos);
      if (size === null) throw new Error(`AV1 OBU size at byte ${start} is truncated or too large`);
      i = pos.i;
    } else {
      size = bytes.length - i;
    }
    if (size > bytes.length - i) {
      throw new Error(`AV1 OBU of ${size} bytes at byte ${start} runs past the ${bytes.length}-byte temporal unit`);
    }
    out.push({ type, payload: bytes.subarray(i, i + size) });
    i += size;
  }
  return out;
}

/** `METADATA_TYPE_ITUT_T35` and the country code + extension byte that start depthcast's T.35
 * payloads (`obu::T35_PREFIX`). */
const METADATA_TYPE_ITUT_T35 = 4;
const T35_PREFIX = Uint8Array.of(0xff, 0xff);

/** Collects depthcast's messages from the metadata OBUs of a temporal unit (`obu::scan`). */
function scanObus(units, found) {
  for (const obu of units) {
    if (obu.type !== 5) continue;
    const pos = { i: 0 };
    const type = leb128(obu.payload, pos);
    if (type === null) {
      found.broken ??= 'AV1 metadata type is truncated';
      continue;
    }
    const rest = obu.payload.subarray(pos.i);
    if (type !== METADATA_TYPE_ITUT_T35 || !startsWith(rest, T35_PREFIX)) continue;
    const body = rest.subarray(T35_PREFIX.length);
    let end = body.length - 1;
    while (end >= 0 && body[end] === 0) end--;
    if (end < 0 || body[end] !== 0x80) {
      found.broken ??= 'AV1 metadata OBU lacks its trailing bits';
      continue;
    }
    collectMessage(body.subarray(0, end), found);
    if (found.params !== null && found.camera !== null) break;
  }
}

/** Whether a temporal unit starts a random-access point (`obu::is_keyframe`): a sequence header,
 * and a first frame shown as a new KEY_FRAME (or a reduced still-picture header). */
function isAv1Keyframe(units) {
  const seq = units.find((o) => o.type === 1);
  if (!seq) return false;
  if (seq.payload.length > 0 && (seq.payload[0] & 0x08) !== 0) return true;
  const frame = units.find((o) => o.type === 6 || o.type === 3);
  return frame !== undefined && frame.payload.length > 0 && (frame.payload[0] & 0xe0) === 0;
}

/**
 * depthcast's SEI messages of one access unit, read as codec/src/sei.rs reads them.
 *
 * `nalLengthSize`: 0 for Annex B, else the NAL length size (the `hello` message's
 * `nalLengthSize`; unused for AV1); `codecName`: `'h264'`, `'hevc'` or `'av1'` (a temporal unit
 * of OBUs, the messages in T.35 metadata OBUs).
 *
 * Returns:
 * - `params`: the packing parameters (`decodePackParams`), or null;
 * - `paramsError`: why there are none although the unit has a parameters message (its block is
 *   corrupt: `the depthcast parameters are invalid: ...`; it came with a corrupt camera block:
 *   `the depthcast camera block is invalid: ...`, as Rust's `extract_params` refuses the frame
 *   then), or the framing or SEI syntax is broken (`malformed bitstream: ...`); null when the
 *   parameters were read or the unit simply carries none (a colour frame);
 * - `camera`: the camera block (`decodeCameraBlock`), or null; `cameraError` likewise;
 * - `sentUnixUs`: the sender's send time (µs since the UNIX epoch) of the parameters message, else
 *   of the camera message; null when none was written;
 * - `keyframe`: whether an IDR (H.264) / IRAP (HEVC) slice is present, or for AV1 a shown key
 *   frame with its sequence header (false for broken framing).
 */
export function parseAccessUnit(bytes, nalLengthSize, codecName = 'h264') {
  const codec = codecName === 'hevc' || codecName === 'h265' ? 'hevc' : 'h264';
  const result = {
    params: null, paramsError: null, camera: null, cameraError: null, sentUnixUs: null, keyframe: false,
  };
  const av1 = codecName === 'av1';
  let units;
  try {
    units = av1 ? obus(bytes) : nalUnits(bytes, nalLengthSize);
  } catch (e) {
    result.paramsError = result.cameraError = `malformed bitstream: ${e.message}`;
    return result;
  }
  const found = { params: null, camera: null, broken: null };
  const header = codec === 'hevc' ? 2 : 1;
  if (av1) {
    result.keyframe = isAv1Keyframe(units);
    scanObus(units, found);
  } else {
    for (const nal of units) {
      const type = nalType(codec, nal);
      if (isKeyframeNal(codec, type)) result.keyframe = true;
      const sei = codec === 'hevc' ? type === 39 || type === 40 : type === 6;
      if (!sei || nal.length <= header || (found.params !== null && found.camera !== null)) continue;
      parseSeiRbsp(removeEmulationPrevention(nal.subarray(header)), found);
    }
  }
  // Found::camera
  if (found.camera?.err === null) {
    result.camera = found.camera.value;
  } else if (found.camera) {
    result.cameraError = `the depthcast camera block is invalid: ${found.camera.err}`;
  } else if (found.broken !== null) {
    result.cameraError = `malformed bitstream: ${found.broken}`;
  }
  // Found::params
  if (found.params?.err === null && result.cameraError !== null && found.camera) {
    result.paramsError = result.cameraError;
  } else if (found.params?.err === null) {
    result.params = found.params.value;
  } else if (found.params) {
    result.paramsError = `the depthcast parameters are invalid: ${found.params.err}`;
  } else if (found.broken !== null) {
    result.paramsError = `malformed bitstream: ${found.broken}`;
  }
  if (result.params !== null) {
    result.sentUnixUs = found.params.sent;
  } else if (result.camera !== null) {
    result.sentUnixUs = found.camera.sent ?? (found.params?.err === null ? found.params.sent : null);
  }
  return result;
}
