// The page's two views of an unpacked depth texture (R32F, metres, 0 = invalid), drawn with
// WebGL2 in the context the unpacker uses:
// - false colour: near red ... far blue over the frame's packing range, invalid pixels black;
// - point cloud: every pixel unprojected with the frame's pinhole camera (the in-band camera of
//   an RGB-D stream, else a 60-degree vertical field of view), coloured by the colour frame when
//   there is one, seen from a camera that orbits the cloud (drag to turn it).
//
// Conventions as in packing/src/camera.rs: camera space is right-handed, x right, y up, looking
// down -z; pixel (u, v) has its centre at (u + 0.5, v + 0.5), v from the top row.

const VERTEX_FULLSCREEN = `#version 300 es
void main() {
  // One triangle covering the viewport.
  vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}`;

// The colour map, shared by both views.
const COLOUR_MAP = `
vec3 depth_colour(float t) {
  // A jet-like ramp: dark red (near) -> red -> yellow -> cyan -> blue -> dark blue (far).
  t = clamp(t, 0.0, 1.0);
  float x = 1.0 - t;
  return clamp(vec3(1.5 - abs(4.0 * x - 3.0), 1.5 - abs(4.0 * x - 2.0), 1.5 - abs(4.0 * x - 1.0)), 0.0, 1.0);
}`;

const FRAGMENT_FALSE_COLOUR = `#version 300 es
precision highp float;
precision highp int;
uniform highp sampler2D u_depth;
uniform ivec2 u_size;
uniform vec4 u_viewport;
uniform vec2 u_range;
out vec4 o_colour;
${COLOUR_MAP}
void main() {
  vec2 f = (gl_FragCoord.xy - u_viewport.xy) / u_viewport.zw;
  ivec2 texel = clamp(ivec2(int(f.x * float(u_size.x)), int((1.0 - f.y) * float(u_size.y))), ivec2(0), u_size - 1);
  float z = texelFetch(u_depth, texel, 0).r;
  if (!(z > 0.0)) { o_colour = vec4(0.0, 0.0, 0.0, 1.0); return; }
  o_colour = vec4(depth_colour((z - u_range.x) / max(u_range.y - u_range.x, 1e-6)), 1.0);
}`;

const VERTEX_CLOUD = `#version 300 es
precision highp float;
precision highp int;
uniform highp sampler2D u_depth;
uniform highp sampler2D u_colour;
uniform bool u_has_colour;
uniform ivec2 u_size;
uniform int u_stride;
uniform vec4 u_intrinsics; // fx, fy, cx, cy in depth-map pixels
uniform vec2 u_range;
uniform mat4 u_view_projection;
uniform float u_point_size;
out vec3 v_colour;
${COLOUR_MAP}
void main() {
  int columns = (u_size.x + u_stride - 1) / u_stride;
  ivec2 texel = ivec2(gl_VertexID % columns, gl_VertexID / columns) * u_stride;
  float z = texelFetch(u_depth, texel, 0).r;
  if (!(z > 0.0) || texel.y >= u_size.y) {
    gl_Position = vec4(2.0, 2.0, 2.0, 1.0); // outside the clip volume: not drawn
    v_colour = vec3(0.0);
    return;
  }
  vec2 pixel = vec2(texel) + 0.5;
  vec3 p = vec3((pixel.x - u_intrinsics.z) / u_intrinsics.x * z, (u_intrinsics.w - pixel.y) / u_intrinsics.y * z, -z);
  gl_Position = u_view_projection * vec4(p, 1.0);
  gl_PointSize = u_point_size;
  if (u_has_colour) {
    v_colour = texture(u_colour, pixel / vec2(u_size)).rgb;
  } else {
    v_colour = depth_colour((z - u_range.x) / max(u_range.y - u_range.x, 1e-6));
  }
}`;

const FRAGMENT_CLOUD = `#version 300 es
precision highp float;
in vec3 v_colour;
out vec4 o_colour;
void main() { o_colour = vec4(v_colour, 1.0); }`;

function compile(gl, vertex, fragment) {
  const program = gl.createProgram();
  for (const [type, source] of [[gl.VERTEX_SHADER, vertex], [gl.FRAGMENT_SHADER, fragment]]) {
    const shader = gl.createShader(type);
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
      throw new Error(`views.js: shader does not compile: ${gl.getShaderInfoLog(shader)}`);
    }
    gl.attachShader(program, shader);
  }
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) {
    throw new Error(`views.js: program does not link: ${gl.getProgramInfoLog(program)}`);
  }
  const uniforms = {};
  const n = gl.getProgramParameter(program, gl.ACTIVE_UNIFORMS);
  for (let i = 0; i < n; i++) {
    const name = gl.getActiveUniform(program, i).name;
    uniforms[name] = gl.getUniformLocation(program, name);
  }
  return { program, uniforms };
}

// Column-major 4x4 matrices, as WebGL takes them.
function multiply(a, b) {
  const out = new Float32Array(16);
  for (let c = 0; c < 4; c++) {
    for (let r = 0; r < 4; r++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[k * 4 + r] * b[c * 4 + k];
      out[c * 4 + r] = s;
    }
  }
  return out;
}

function perspective(fovY, aspect, near, far) {
  const f = 1 / Math.tan(fovY / 2);
  const m = new Float32Array(16);
  m[0] = f / aspect;
  m[5] = f;
  m[10] = (far + near) / (near - far);
  m[11] = -1;
  m[14] = (2 * far * near) / (near - far);
  return m;
}

function lookAt(eye, target, up) {
  const sub = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
  const norm = (a) => { const l = Math.hypot(...a) || 1; return a.map((x) => x / l); };
  const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
  const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  const z = norm(sub(eye, target));
  const x = norm(cross(up, z));
  const y = cross(z, x);
  return new Float32Array([x[0], y[0], z[0], 0, x[1], y[1], z[1], 0, x[2], y[2], z[2], 0, -dot(x, eye), -dot(y, eye), -dot(z, eye), 1]);
}

/** Pinhole intrinsics in depth-map pixels: the in-band camera's (scaled to the depth map's size),
 * else a 60-degree vertical field of view centred on the map. */
export function intrinsicsFor(camera, width, height) {
  const k = camera && camera.intrinsics;
  if (k && k.width > 0 && k.height > 0 && k.fx > 0 && k.fy > 0) {
    const sx = width / k.width;
    const sy = height / k.height;
    return { fx: k.fx * sx, fy: k.fy * sy, cx: k.cx * sx, cy: k.cy * sy, fromStream: true };
  }
  const fy = height / 2 / Math.tan((60 * Math.PI) / 180 / 2);
  return { fx: fy, fy, cx: width / 2, cy: height / 2, fromStream: false };
}

/** Draws the false-colour and point-cloud views of depth textures into one WebGL2 canvas (left
 * half and right half), from which the page copies each half to its own canvas. */
export class DepthViews {
  constructor(gl) {
    this.gl = gl;
    this.falseColour = compile(gl, VERTEX_FULLSCREEN, FRAGMENT_FALSE_COLOUR);
    this.cloud = compile(gl, VERTEX_CLOUD, FRAGMENT_CLOUD);
    this.vao = gl.createVertexArray();
    this.colourTexture = gl.createTexture();
    this.hasColour = false;
    this.yaw = 0;
    this.pitch = 0;
    this.dragging = false;
    this.autoTurn = true;
    this.start = performance.now();
  }

  /** Lets the user turn the point cloud by dragging on `element`. */
  attachOrbit(element) {
    let last = null;
    element.addEventListener('pointerdown', (e) => { last = [e.clientX, e.clientY]; this.autoTurn = false; element.setPointerCapture(e.pointerId); });
    element.addEventListener('pointerup', () => { last = null; });
    element.addEventListener('pointermove', (e) => {
      if (!last) return;
      this.yaw += (e.clientX - last[0]) * 0.01;
      this.pitch = Math.max(-1.2, Math.min(1.2, this.pitch + (e.clientY - last[1]) * 0.01));
      last = [e.clientX, e.clientY];
    });
  }

  /** Uploads a colour VideoFrame (or any TexImageSource) to colour the point cloud; null: none. */
  setColour(source) {
    const gl = this.gl;
    this.hasColour = !!source;
    if (!source) return;
    gl.bindTexture(gl.TEXTURE_2D, this.colourTexture);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, source);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  }

  /** Draws both views of `depth` ({texture, width, height}) with the frame's params (near, far)
   * and camera (or null) into the canvas: false colour on the left half, the cloud on the right. */
  draw(depth, params, camera) {
    const gl = this.gl;
    const canvas = gl.canvas;
    const half = Math.floor(canvas.width / 2);
    const range = [params.near, params.far];
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.disable(gl.BLEND);
    gl.disable(gl.SCISSOR_TEST);
    gl.bindVertexArray(this.vao);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, depth.texture);

    // False colour.
    gl.disable(gl.DEPTH_TEST);
    gl.viewport(0, 0, half, canvas.height);
    const fc = this.falseColour;
    gl.useProgram(fc.program);
    gl.uniform1i(fc.uniforms.u_depth, 0);
    gl.uniform2i(fc.uniforms.u_size, depth.width, depth.height);
    gl.uniform4f(fc.uniforms.u_viewport, 0, 0, half, canvas.height);
    gl.uniform2f(fc.uniforms.u_range, range[0], range[1]);
    gl.drawArrays(gl.TRIANGLES, 0, 3);

    // Point cloud.
    gl.enable(gl.SCISSOR_TEST);
    gl.scissor(half, 0, canvas.width - half, canvas.height);
    gl.viewport(half, 0, canvas.width - half, canvas.height);
    gl.clearColor(0.06, 0.07, 0.08, 1);
    gl.clearDepth(1);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    gl.enable(gl.DEPTH_TEST);
    const k = intrinsicsFor(camera, depth.width, depth.height);
    // At most ~150k points: software WebGL (no GPU) draws them at a few frames per second.
    const stride = Math.max(1, Math.ceil(Math.sqrt((depth.width * depth.height) / 150000)));
    const columns = Math.ceil(depth.width / stride);
    const rows = Math.ceil(depth.height / stride);
    const mid = (range[0] + range[1]) / 2;
    const target = [0, 0, -mid];
    if (this.autoTurn) {
      const t = (performance.now() - this.start) / 1000;
      this.yaw = 0.45 * Math.sin(t * 0.5);
      this.pitch = 0.15 + 0.1 * Math.sin(t * 0.31);
    }
    const eye = [
      target[0] + mid * Math.sin(this.yaw) * Math.cos(this.pitch),
      target[1] + mid * Math.sin(this.pitch),
      target[2] + mid * Math.cos(this.yaw) * Math.cos(this.pitch),
    ];
    const fovY = 2 * Math.atan(depth.height / 2 / k.fy);
    const aspect = (canvas.width - half) / canvas.height;
    const vp = multiply(perspective(fovY, aspect, Math.max(mid * 0.01, 0.01), range[1] * 4 + 1), lookAt(eye, target, [0, 1, 0]));
    const pc = this.cloud;
    gl.useProgram(pc.program);
    gl.uniform1i(pc.uniforms.u_depth, 0);
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, this.colourTexture);
    gl.uniform1i(pc.uniforms.u_colour, 1);
    gl.uniform1i(pc.uniforms.u_has_colour, this.hasColour ? 1 : 0);
    gl.uniform2i(pc.uniforms.u_size, depth.width, depth.height);
    gl.uniform1i(pc.uniforms.u_stride, stride);
    gl.uniform4f(pc.uniforms.u_intrinsics, k.fx, k.fy, k.cx, k.cy);
    gl.uniform2f(pc.uniforms.u_range, range[0], range[1]);
    gl.uniformMatrix4fv(pc.uniforms.u_view_projection, false, vp);
    gl.uniform1f(pc.uniforms.u_point_size, Math.max(1, Math.min(4, (stride * (canvas.width - half)) / depth.width)));
    gl.drawArrays(gl.POINTS, 0, columns * rows);
    gl.disable(gl.SCISSOR_TEST);
    gl.disable(gl.DEPTH_TEST);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindVertexArray(null);
    return { intrinsicsFromStream: k.fromStream, points: columns * rows };
  }
}
