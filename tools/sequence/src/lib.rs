//! # depthcast-sequence
//!
//! The on-disk **depth sequence** format that `render` writes and `send`, `sweep` and `predict`
//! read.
//!
//! A sequence is a folder:
//!
//! ```text
//! DIR/sequence.json      the sidecar (below)
//! DIR/000000.png ...     one file per frame: 16-bit greyscale PNG, depth in millimetres,
//!                        0 = invalid (background, or beyond 65.535 m)
//! DIR/000000.exr ...     or: f32 OpenEXR, depth in metres in R (G and B repeat it),
//!                        0, negative, NaN or ±inf = invalid
//! DIR/000000.yuv.png ... optional colour of the frame (RGB-D sequences): 8-bit 4:2:0
//!                        full-range BT.709 planes in one 8-bit greyscale PNG of
//!                        width x (height · 3/2) (sizes rounded up to even): the luma plane
//!                        on top, below it the U (Cb)
//!                        plane in the left half and the V (Cr) plane in the right half
//! ```
//!
//! `sequence.json` (every length in metres, times in seconds):
//!
//! ```json
//! {
//!   "format": "depthcast-sequence", "version": 1,
//!   "width": 1280, "height": 720, "fps": 30.0,
//!   "near": 0.8, "far": 42.0, "mode": "linear",
//!   "encoding": "png16_mm",
//!   "intrinsics": { "fx": 623.5, "fy": 623.5, "cx": 640.0, "cy": 360.0 },
//!   "source": "DepthOfFieldExample.glb, orbit camera",
//!   "frames": [ { "file": "000000.png", "time": 0.0,
//!                 "pose": [16 numbers: world-from-camera, column-major], "near": 1.1, "far": 30.2,
//!                 "colour": "000000.yuv.png",
//!                 "camera": { "frame_index": 0, "position": [3 numbers], "rotation": [x, y, z, w],
//!                             "width": 1280, "height": 720, "fx": 869.1, "fy": 869.1,
//!                             "cx": 640.0, "cy": 360.0, "near": 0.05 } } ]
//! }
//! ```
//!
//! `near`/`far` at the top cover every frame (the range a fixed packing should use); per frame
//! they are that frame's own valid depth range. `mode` suggests the range mapping. `intrinsics`
//! and `pose` are present when known (rendered sequences have both; camera convention: Bevy's,
//! looking down −Z with +Y up).
//!
//! `colour` and `camera` (RGB-D sequences, `depthcast render --colour`) are optional per frame:
//! a sequence without them is a depth sequence as before, and readers that do not know them ignore
//! them (the format version stays 1). `camera` is the frame's
//! [`depthcast_packing::CameraBlock`] (pose camera → world, quaternion `[x, y, z, w]`, and the
//! pinhole intrinsics of the colour and depth images), as it travels in-band in an RGB-D stream.

use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use depthcast_packing::{BitDepth, CameraBlock, CameraPose, DepthImage, YuvFrame};
use serde::{Deserialize, Serialize};

/// Errors of reading or writing a sequence.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SequenceError {
    /// File system error, with the path involved.
    #[error("{path}: {source}")]
    Io {
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The sidecar is not valid JSON of this format.
    #[error("{path}: not a depthcast sequence sidecar: {reason}")]
    BadSidecar {
        /// Path of `sequence.json`.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A frame image could not be decoded or has the wrong shape or type.
    #[error("{path}: {reason}")]
    BadFrame {
        /// Path of the frame file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A frame index past the end.
    #[error("frame {index} requested but the sequence has {len} frames")]
    OutOfRange {
        /// Requested index.
        index: usize,
        /// Frame count.
        len: usize,
    },
}

type Result<T> = std::result::Result<T, SequenceError>;

/// How frames are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepthEncoding {
    /// 16-bit greyscale PNG, millimetres, 0 = invalid (range 1 mm ..= 65.535 m).
    Png16Mm,
    /// f32 OpenEXR, metres.
    ExrF32,
}

impl DepthEncoding {
    fn extension(self) -> &'static str {
        match self {
            DepthEncoding::Png16Mm => "png",
            DepthEncoding::ExrF32 => "exr",
        }
    }
}

/// Pinhole intrinsics in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Intrinsics {
    /// Focal length along x.
    pub fx: f32,
    /// Focal length along y.
    pub fy: f32,
    /// Principal point x.
    pub cx: f32,
    /// Principal point y.
    pub cy: f32,
}

/// One frame's entry in the sidecar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameMeta {
    /// File name inside the folder.
    pub file: String,
    /// Presentation time in seconds.
    pub time: f64,
    /// World-from-camera transform, column-major 4x4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pose: Option<[f32; 16]>,
    /// Smallest valid depth of the frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub near: Option<f32>,
    /// Largest valid depth of the frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub far: Option<f32>,
    /// File name of the frame's colour planes (8-bit 4:2:0 as a greyscale PNG), when the
    /// sequence has colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<String>,
    /// The frame's camera, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera: Option<CameraMeta>,
}

/// A frame's camera in the sidecar: [`CameraBlock`] with named fields.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CameraMeta {
    /// The frame index the camera block carries.
    pub frame_index: u32,
    /// Camera centre in world space, metres.
    pub position: [f32; 3],
    /// Rotation camera → world, unit quaternion `[x, y, z, w]`.
    pub rotation: [f32; 4],
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Focal length along x, pixels.
    pub fx: f32,
    /// Focal length along y, pixels.
    pub fy: f32,
    /// Principal point x, pixels.
    pub cx: f32,
    /// Principal point y, pixels.
    pub cy: f32,
    /// Near plane, metres.
    pub near: f32,
}

impl From<&CameraBlock> for CameraMeta {
    fn from(c: &CameraBlock) -> Self {
        let k = c.intrinsics;
        CameraMeta {
            frame_index: c.frame_index,
            position: c.pose.position,
            rotation: c.pose.rotation,
            width: k.width,
            height: k.height,
            fx: k.fx,
            fy: k.fy,
            cx: k.cx,
            cy: k.cy,
            near: k.near,
        }
    }
}

impl CameraMeta {
    /// The camera block (not validated: see [`CameraBlock::validate`]).
    pub fn block(&self) -> CameraBlock {
        CameraBlock {
            frame_index: self.frame_index,
            pose: CameraPose { position: self.position, rotation: self.rotation },
            intrinsics: depthcast_packing::Intrinsics {
                width: self.width,
                height: self.height,
                fx: self.fx,
                fy: self.fy,
                cx: self.cx,
                cy: self.cy,
                near: self.near,
            },
        }
    }
}

/// The sidecar, `sequence.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceMeta {
    /// Always `"depthcast-sequence"`.
    pub format: String,
    /// Format version (1).
    pub version: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: f64,
    /// Smallest valid depth over the sequence, metres.
    pub near: f32,
    /// Largest valid depth over the sequence, metres.
    pub far: f32,
    /// Suggested range mapping: `"linear"` or `"disparity"`.
    pub mode: String,
    /// Frame file encoding.
    pub encoding: DepthEncoding,
    /// Camera intrinsics, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intrinsics: Option<Intrinsics>,
    /// Free text: where the sequence comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Frames in order.
    pub frames: Vec<FrameMeta>,
}

const SIDECAR: &str = "sequence.json";
const FORMAT: &str = "depthcast-sequence";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SequenceError + '_ {
    move |source| SequenceError::Io { path: path.to_path_buf(), source }
}

/// Writes a sequence frame by frame; [`SequenceWriter::finish`] writes the sidecar.
#[derive(Debug)]
pub struct SequenceWriter {
    dir: PathBuf,
    meta: SequenceMeta,
    scratch: Vec<u16>,
}

impl SequenceWriter {
    /// Creates `dir` (and parents) for a `width x height` sequence at `fps`.
    ///
    /// # Errors
    /// The folder cannot be created.
    pub fn create(dir: impl Into<PathBuf>, width: u32, height: u32, fps: f64, encoding: DepthEncoding) -> Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let meta = SequenceMeta {
            format: FORMAT.into(),
            version: 1,
            width,
            height,
            fps,
            near: f32::INFINITY,
            far: 0.0,
            mode: "linear".into(),
            encoding,
            intrinsics: None,
            source: None,
            frames: Vec::new(),
        };
        Ok(SequenceWriter { dir, meta, scratch: Vec::new() })
    }

    /// The sidecar being built (set `intrinsics`, `source`, `mode` here).
    pub fn meta_mut(&mut self) -> &mut SequenceMeta {
        &mut self.meta
    }

    /// Appends a frame (depth in metres; invalid as 0, NaN or ±inf).
    ///
    /// # Errors
    /// A size other than the sequence's, or a file that cannot be written.
    pub fn push(&mut self, depth: &DepthImage, pose: Option<[f32; 16]>) -> Result<()> {
        self.push_rgbd(depth, pose, None, None)
    }

    /// Appends a frame with its colour (8-bit 4:2:0, the sequence's size) and camera, either
    /// optional ([`SequenceWriter::push`] is this without both).
    ///
    /// # Errors
    /// A depth or colour size other than the sequence's, colour planes that are not 8-bit, a
    /// camera of another image size or with invalid fields, or a file that cannot be written.
    pub fn push_rgbd(
        &mut self,
        depth: &DepthImage,
        pose: Option<[f32; 16]>,
        colour: Option<&YuvFrame>,
        camera: Option<&CameraBlock>,
    ) -> Result<()> {
        let index = self.meta.frames.len();
        let file = format!("{index:06}.{}", self.meta.encoding.extension());
        let path = self.dir.join(&file);
        if depth.width != self.meta.width || depth.height != self.meta.height {
            return Err(SequenceError::BadFrame {
                path,
                reason: format!(
                    "frame is {}x{}, sequence is {}x{}",
                    depth.width, depth.height, self.meta.width, self.meta.height
                ),
            });
        }
        let (mut lo, mut hi) = (f32::INFINITY, 0.0f32);
        for &z in &depth.data {
            if z > 0.0 && z.is_finite() {
                lo = lo.min(z);
                hi = hi.max(z);
            }
        }
        match self.meta.encoding {
            DepthEncoding::Png16Mm => {
                self.scratch.clear();
                self.scratch.extend(depth.data.iter().map(|&z| {
                    let mm = (z * 1000.0).round();
                    if z > 0.0 && mm.is_finite() && (1.0..=65535.0).contains(&mm) { mm as u16 } else { 0 }
                }));
                let img =
                    image::ImageBuffer::<image::Luma<u16>, _>::from_raw(depth.width, depth.height, &self.scratch[..])
                        .expect("buffer matches size");
                img.save(&path).map_err(|e| SequenceError::BadFrame { path: path.clone(), reason: e.to_string() })?;
            }
            DepthEncoding::ExrF32 => {
                let data: Vec<f32> =
                    depth.data.iter().map(|&z| if z > 0.0 && z.is_finite() { z } else { 0.0 }).collect();
                let img =
                    image::ImageBuffer::<image::Luma<f32>, _>::from_raw(depth.width, depth.height, data).expect("size");
                image::DynamicImage::from(image::ImageBuffer::<image::Rgb<f32>, _>::from_fn(
                    depth.width,
                    depth.height,
                    |x, y| {
                        let v = img.get_pixel(x, y).0[0];
                        image::Rgb([v, v, v])
                    },
                ))
                .save(&path)
                .map_err(|e| SequenceError::BadFrame { path: path.clone(), reason: e.to_string() })?;
            }
        }
        if let Some(c) = camera {
            let bad = |reason: String| SequenceError::BadFrame { path: self.dir.join(SIDECAR), reason };
            c.validate().map_err(|e| bad(format!("camera of frame {index}: {e}")))?;
            let k = c.intrinsics;
            if (k.width, k.height) != (self.meta.width, self.meta.height) {
                return Err(bad(format!(
                    "camera of frame {index} is for {}x{} images, sequence is {}x{}",
                    k.width, k.height, self.meta.width, self.meta.height
                )));
            }
        }
        let colour = match colour {
            Some(c) => {
                let name = format!("{index:06}.yuv.png");
                write_colour(&self.dir.join(&name), c, self.meta.width, self.meta.height)?;
                Some(name)
            }
            None => None,
        };
        let (near, far) = if hi > 0.0 { (Some(lo), Some(hi)) } else { (None, None) };
        if hi > 0.0 {
            self.meta.near = self.meta.near.min(lo);
            self.meta.far = self.meta.far.max(hi);
        }
        let time = index as f64 / self.meta.fps;
        let camera = camera.map(CameraMeta::from);
        self.meta.frames.push(FrameMeta { file, time, pose, near, far, colour, camera });
        Ok(())
    }

    /// Writes `sequence.json` and returns the sidecar.
    ///
    /// # Errors
    /// The sidecar cannot be written.
    pub fn finish(mut self) -> Result<SequenceMeta> {
        if !self.meta.near.is_finite() {
            // No valid pixel in any frame: keep the file loadable with a nominal range.
            self.meta.near = 0.1;
            self.meta.far = 1.0;
        }
        let path = self.dir.join(SIDECAR);
        let f = fs::File::create(&path).map_err(io(&path))?;
        serde_json::to_writer_pretty(BufWriter::new(f), &self.meta)
            .map_err(|e| SequenceError::BadSidecar { path: path.clone(), reason: e.to_string() })?;
        Ok(self.meta)
    }
}

/// A sequence opened for reading.
#[derive(Debug, Clone)]
pub struct Sequence {
    /// Its folder.
    pub dir: PathBuf,
    /// Its sidecar.
    pub meta: SequenceMeta,
}

impl Sequence {
    /// Opens `dir/sequence.json` and checks it.
    ///
    /// # Errors
    /// Missing or malformed sidecar.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Sequence> {
        let dir = dir.into();
        let path = dir.join(SIDECAR);
        let text = fs::read_to_string(&path).map_err(io(&path))?;
        let meta: SequenceMeta = serde_json::from_str(&text)
            .map_err(|e| SequenceError::BadSidecar { path: path.clone(), reason: e.to_string() })?;
        let bad = |reason: String| SequenceError::BadSidecar { path: path.clone(), reason };
        if meta.format != FORMAT {
            return Err(bad(format!("format is {:?}, expected {FORMAT:?}", meta.format)));
        }
        if meta.version != 1 {
            return Err(bad(format!("version {} is not supported (this build reads 1)", meta.version)));
        }
        if meta.width == 0 || meta.height == 0 || meta.fps.is_nan() || meta.fps <= 0.0 {
            return Err(bad(format!("size {}x{} at {} fps is invalid", meta.width, meta.height, meta.fps)));
        }
        let plain = |f: &str| !(f.contains('/') || f.contains('\\') || f.starts_with('.'));
        if !meta.frames.iter().all(|f| plain(&f.file) && f.colour.as_deref().is_none_or(plain)) {
            return Err(bad("frame file names must be plain names inside the folder".into()));
        }
        Ok(Sequence { dir, meta })
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.meta.frames.len()
    }

    /// Whether there are no frames.
    pub fn is_empty(&self) -> bool {
        self.meta.frames.is_empty()
    }

    /// Reads frame `index` as metres (invalid = 0).
    ///
    /// # Errors
    /// Index out of range, unreadable file, or a file of another size or pixel type.
    pub fn read_frame(&self, index: usize) -> Result<DepthImage> {
        let fm = self.meta.frames.get(index).ok_or(SequenceError::OutOfRange { index, len: self.len() })?;
        let path = self.dir.join(&fm.file);
        if self.meta.encoding == DepthEncoding::ExrF32
            && let Some(data) = read_exr_depth(&path, self.meta.width, self.meta.height)
        {
            return Ok(DepthImage { width: self.meta.width, height: self.meta.height, data });
        }
        self.read_frame_image(&path)
    }

    /// [`Sequence::read_frame`] through the `image` crate: every PNG, and the EXR files
    /// [`read_exr_depth`] leaves to it.
    fn read_frame_image(&self, path: &Path) -> Result<DepthImage> {
        let bad = |reason: String| SequenceError::BadFrame { path: path.to_path_buf(), reason };
        let img = image::open(path).map_err(|e| bad(e.to_string()))?;
        if img.width() != self.meta.width || img.height() != self.meta.height {
            return Err(bad(format!(
                "is {}x{}, sidecar says {}x{}",
                img.width(),
                img.height(),
                self.meta.width,
                self.meta.height
            )));
        }
        let data: Vec<f32> = match self.meta.encoding {
            DepthEncoding::Png16Mm => match img {
                image::DynamicImage::ImageLuma16(b) => {
                    b.into_raw().into_iter().map(|mm| f32::from(mm) * 1e-3).collect()
                }
                other => return Err(bad(format!("expected 16-bit greyscale PNG, found {:?}", other.color()))),
            },
            DepthEncoding::ExrF32 => img
                .into_rgb32f()
                .pixels()
                .map(|p| {
                    let z = p.0[0];
                    if z > 0.0 && z.is_finite() { z } else { 0.0 }
                })
                .collect(),
        };
        Ok(DepthImage { width: self.meta.width, height: self.meta.height, data })
    }

    /// Reads the frames in order, `loops` times over, on a thread of its own that keeps up to
    /// `ahead` frames (at least 1) read before the one taken; with `colour`, each frame's colour
    /// and camera too. See [`ReadAhead`].
    ///
    /// # Errors
    /// Each frame's read fails as [`Sequence::read_frame`], [`Sequence::read_colour`] and
    /// [`Sequence::camera`] do; the first failure is the last item.
    pub fn read_ahead(&self, loops: u32, ahead: usize, colour: bool) -> ReadAhead {
        let (tx, frames) = mpsc::sync_channel(ahead.max(1));
        let seq = self.clone();
        // Where no thread can be had, the channel's one item says so.
        let no_thread = tx.clone();
        let thread = std::thread::Builder::new().name("depthcast-read-ahead".into()).spawn(move || {
            for index in (0..loops).flat_map(|_| 0..seq.len()) {
                let t = Instant::now();
                let frame = seq.read_frame(index).and_then(|depth| {
                    let colour = if colour {
                        seq.read_colour(index)?.map(|c| seq.camera(index).map(|cam| (c, cam))).transpose()?
                    } else {
                        None
                    };
                    Ok(ReadFrame { index, depth, colour, read: t.elapsed() })
                });
                let failed = frame.is_err();
                if tx.send(frame).is_err() || failed {
                    return;
                }
            }
        });
        let thread = thread
            .map_err(|source| {
                let _ = no_thread.send(Err(SequenceError::Io { path: self.dir.clone(), source }));
            })
            .ok();
        ReadAhead { frames: Some(frames), thread, waited: Duration::ZERO, read: Duration::ZERO, taken: 0 }
    }

    /// Whether every frame has colour and a camera (an RGB-D sequence).
    pub fn has_colour(&self) -> bool {
        !self.is_empty() && self.meta.frames.iter().all(|f| f.colour.is_some() && f.camera.is_some())
    }

    /// Reads frame `index`'s colour planes (8-bit 4:2:0), `None` when the frame has none.
    ///
    /// # Errors
    /// Index out of range, an unreadable file, or a file of another size or pixel type.
    pub fn read_colour(&self, index: usize) -> Result<Option<YuvFrame>> {
        let fm = self.meta.frames.get(index).ok_or(SequenceError::OutOfRange { index, len: self.len() })?;
        let Some(file) = &fm.colour else { return Ok(None) };
        read_colour(&self.dir.join(file), self.meta.width, self.meta.height).map(Some)
    }

    /// Frame `index`'s camera, `None` when the frame has none.
    ///
    /// # Errors
    /// Index out of range, or a camera with invalid fields.
    pub fn camera(&self, index: usize) -> Result<Option<CameraBlock>> {
        let fm = self.meta.frames.get(index).ok_or(SequenceError::OutOfRange { index, len: self.len() })?;
        let Some(c) = fm.camera else { return Ok(None) };
        let block = c.block();
        block.validate().map_err(|e| SequenceError::BadSidecar {
            path: self.dir.join(SIDECAR),
            reason: format!("camera of frame {index}: {e}"),
        })?;
        Ok(Some(block))
    }
}

/// A frame as [`ReadAhead`] hands it over.
#[derive(Debug, Clone)]
pub struct ReadFrame {
    /// Its index in the sequence.
    pub index: usize,
    /// Its depth, metres.
    pub depth: DepthImage,
    /// Its colour and camera, when asked for (`None` where the frame has none).
    pub colour: Option<(YuvFrame, Option<CameraBlock>)>,
    /// How long the reader took to read it.
    pub read: Duration,
}

/// A sequence's frames read on a thread of their own, a few ahead of the one taken
/// ([`Sequence::read_ahead`]). A sender that reads each frame just before it encodes it spends
/// the read on its own schedule: an f32 EXR frame at 720p takes several ms to decode, a 16-bit
/// PNG about 2, of the 33 ms a 30 fps sender has; read ahead, the read overlaps the encode and
/// the wait for the frame's due time.
///
/// The thread stops after the first error (handed over in its frame's place), at the end, or
/// when this is dropped.
#[derive(Debug)]
pub struct ReadAhead {
    frames: Option<mpsc::Receiver<Result<ReadFrame>>>,
    thread: Option<std::thread::JoinHandle<()>>,
    waited: Duration,
    read: Duration,
    taken: usize,
}

impl ReadAhead {
    /// How long [`Iterator::next`] has waited for the reader, in all: reads that did not keep up.
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// The mean time the reader took per frame taken so far, `None` before the first.
    pub fn mean_read(&self) -> Option<Duration> {
        (self.taken > 0).then(|| self.read / self.taken as u32)
    }
}

impl Iterator for ReadAhead {
    type Item = Result<ReadFrame>;

    fn next(&mut self) -> Option<Self::Item> {
        let t = Instant::now();
        let next = self.frames.as_ref()?.recv().ok();
        self.waited += t.elapsed();
        if let Some(Ok(f)) = &next {
            self.read += f.read;
            self.taken += 1;
        }
        next
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // Closing the channel ends the reader at its next frame.
        self.frames = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An EXR frame's depth from its R channel alone, `None` where the file is not the plain
/// `width x height` image this format writes (a data window other than the display window, no
/// `R` channel, or anything the `exr` crate cannot read): the caller then reads it through the
/// `image` crate, which handles those and reports what is wrong.
///
/// The `image` crate decodes every channel into RGBA pixels and copies them twice: 24 ms per
/// 1280x720 frame on the project's machine, against 6.6 ms here, where `send` has 33 ms a frame.
fn read_exr_depth(path: &Path, width: u32, height: u32) -> Option<Vec<f32>> {
    use exr::prelude::{ReadChannels, ReadLayers, ReadSpecificChannel, Vec2};
    let (w, h) = (width as usize, height as usize);
    let image = exr::prelude::read()
        .no_deep_data()
        .largest_resolution_level()
        .specific_channels()
        .required("R")
        .collect_pixels(
            |size: Vec2<usize>, _| (size.width(), vec![0f32; size.area()]),
            |(stride, buf): &mut (usize, Vec<f32>), at: Vec2<usize>, (z,): (f32,)| {
                buf[at.y() * *stride + at.x()] = if z > 0.0 && z.is_finite() { z } else { 0.0 };
            },
        )
        .first_valid_layer()
        .all_attributes()
        .from_file(path)
        .ok()?;
    let (layer, window) = (image.layer_data, image.attributes.display_window);
    let plain =
        layer.size == Vec2(w, h) && window.size == Vec2(w, h) && layer.attributes.layer_position == window.position;
    plain.then_some(layer.channel_data.pixels.1)
}

/// Writes 8-bit 4:2:0 planes as one greyscale PNG (see the crate docs for the layout). Planes
/// of a sequence of odd size are its size rounded up to even (as 4:2:0 needs).
fn write_colour(path: &Path, c: &YuvFrame, width: u32, height: u32) -> Result<()> {
    let bad = |reason: String| SequenceError::BadFrame { path: path.to_path_buf(), reason };
    let (width, height) = (width.next_multiple_of(2), height.next_multiple_of(2));
    if (c.width, c.height) != (width, height) || c.bit_depth != BitDepth::Eight {
        return Err(bad(format!(
            "colour is {}x{} {}-bit, the sequence's colour is {width}x{height} 8-bit",
            c.width,
            c.height,
            c.bit_depth.bits()
        )));
    }
    let (w, h, cw) = (width as usize, height as usize, width as usize / 2);
    let mut buf = Vec::with_capacity(w * h * 3 / 2);
    buf.extend(c.y.iter().map(|&v| v as u8));
    for row in 0..h / 2 {
        buf.extend(c.u[row * cw..][..cw].iter().map(|&v| v as u8));
        buf.extend(c.v[row * cw..][..cw].iter().map(|&v| v as u8));
    }
    let img = image::GrayImage::from_raw(width, height * 3 / 2, buf).expect("buffer matches size");
    img.save(path).map_err(|e| bad(e.to_string()))
}

/// Reads [`write_colour`]'s PNG back into planes.
fn read_colour(path: &Path, width: u32, height: u32) -> Result<YuvFrame> {
    let bad = |reason: String| SequenceError::BadFrame { path: path.to_path_buf(), reason };
    let (width, height) = (width.next_multiple_of(2), height.next_multiple_of(2));
    let img = match image::open(path).map_err(|e| bad(e.to_string()))? {
        image::DynamicImage::ImageLuma8(b) => b,
        other => return Err(bad(format!("expected 8-bit greyscale PNG, found {:?}", other.color()))),
    };
    if (img.width(), img.height()) != (width, height * 3 / 2) {
        return Err(bad(format!(
            "is {}x{}, colour of a {width}x{height} sequence is {width}x{}",
            img.width(),
            img.height(),
            height * 3 / 2
        )));
    }
    let raw = img.into_raw();
    let (w, h, cw) = (width as usize, height as usize, width as usize / 2);
    let mut f = YuvFrame::new(width, height, BitDepth::Eight);
    for (d, &s) in f.y.iter_mut().zip(&raw[..w * h]) {
        *d = u16::from(s);
    }
    for row in 0..h / 2 {
        let line = &raw[w * h + row * w..][..w];
        for (d, &s) in f.u[row * cw..][..cw].iter_mut().zip(&line[..cw]) {
            *d = u16::from(s);
        }
        for (d, &s) in f.v[row * cw..][..cw].iter_mut().zip(&line[cw..]) {
            *d = u16::from(s);
        }
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use depthcast_packing::testdata;

    #[test]
    fn png_and_exr_round_trip() {
        for enc in [DepthEncoding::Png16Mm, DepthEncoding::ExrF32] {
            let dir = std::env::temp_dir().join(format!("depthcast-seq-test-{}-{:?}", std::process::id(), enc));
            let _ = fs::remove_dir_all(&dir);
            let mut w = SequenceWriter::create(&dir, 40, 24, 30.0, enc).unwrap();
            w.meta_mut().intrinsics = Some(Intrinsics { fx: 20.0, fy: 20.0, cx: 20.0, cy: 12.0 });
            let frames: Vec<DepthImage> = (0..3).map(|i| testdata::game_scene(40, 24, i as f32 * 0.5)).collect();
            for f in &frames {
                w.push(f, Some([0.0; 16])).unwrap();
            }
            let meta = w.finish().unwrap();
            let s = Sequence::open(&dir).unwrap();
            assert_eq!(s.meta, meta);
            assert_eq!(s.len(), 3);
            for (i, f) in frames.iter().enumerate() {
                let back = s.read_frame(i).unwrap();
                for (&a, &b) in f.data.iter().zip(&back.data) {
                    if a.is_finite() && a > 0.0 {
                        let tol = if enc == DepthEncoding::Png16Mm { 0.0005 } else { 0.0 };
                        assert!((a - b).abs() <= tol + 1e-6, "{enc:?} {a} vs {b}");
                    } else {
                        assert_eq!(b, 0.0);
                    }
                }
            }
            assert!(matches!(s.read_frame(3), Err(SequenceError::OutOfRange { .. })));
            fs::remove_dir_all(&dir).unwrap();
        }
    }

    /// A sequence of `n` frames of `w x h` in `enc`, in a fresh folder named after `name`.
    fn written(name: &str, enc: DepthEncoding, (w, h): (u32, u32), n: usize) -> (PathBuf, Vec<DepthImage>) {
        let dir = std::env::temp_dir().join(format!("depthcast-seq-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut wr = SequenceWriter::create(&dir, w, h, 30.0, enc).unwrap();
        let frames: Vec<DepthImage> = (0..n).map(|i| testdata::game_scene(w, h, i as f32 * 0.5)).collect();
        for f in &frames {
            wr.push(f, None).unwrap();
        }
        wr.finish().unwrap();
        (dir, frames)
    }

    #[test]
    fn exr_depth_is_read_from_r_alone_as_the_image_crate_reads_it() {
        // 70 x 37: more than one 64-pixel tile across and down, the last ones partial.
        let (dir, frames) = written("exr-fast", DepthEncoding::ExrF32, (70, 37), 2);
        let s = Sequence::open(&dir).unwrap();
        for (i, f) in frames.iter().enumerate() {
            let path = dir.join(&s.meta.frames[i].file);
            let fast = read_exr_depth(&path, 70, 37).expect("a file this format writes takes the fast path");
            let slow = s.read_frame_image(&path).unwrap();
            assert_eq!(
                fast.iter().map(|z| z.to_bits()).collect::<Vec<_>>(),
                slow.data.iter().map(|z| z.to_bits()).collect::<Vec<_>>()
            );
            assert!(f.data.iter().any(|z| !(z.is_finite() && *z > 0.0)), "the test frame has invalid depth");
            assert_eq!(s.read_frame(i).unwrap().data, fast);
        }
        // A frame of another size is left to the image crate, which says what is wrong.
        let mut side: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.join(SIDECAR)).unwrap()).unwrap();
        side["height"] = 36.into();
        fs::write(dir.join(SIDECAR), side.to_string()).unwrap();
        let s = Sequence::open(&dir).unwrap();
        assert_eq!(read_exr_depth(&dir.join(&s.meta.frames[0].file), 70, 36), None);
        let e = s.read_frame(0).unwrap_err().to_string();
        assert!(e.contains("is 70x37, sidecar says 70x36"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn read_ahead_hands_over_every_frame_in_order_then_its_first_error() {
        let (dir, _) = written("ahead", DepthEncoding::Png16Mm, (16, 8), 3);
        let s = Sequence::open(&dir).unwrap();
        let mut r = s.read_ahead(2, 1, false);
        let got: Vec<ReadFrame> = r.by_ref().map(Result::unwrap).collect();
        assert_eq!(got.iter().map(|f| f.index).collect::<Vec<_>>(), [0, 1, 2, 0, 1, 2]);
        for f in &got {
            assert_eq!(f.depth, s.read_frame(f.index).unwrap());
            assert!(f.colour.is_none());
        }
        assert!(r.mean_read().is_some_and(|t| t > Duration::ZERO));
        assert!(r.next().is_none(), "nothing after the last loop");
        // Dropped long before its end, the reader stops (the test would hang otherwise).
        let mut long = s.read_ahead(1_000_000, 2, false);
        assert_eq!(long.next().unwrap().unwrap().index, 0);
        drop(long);
        // A frame that cannot be read is the last item.
        fs::remove_file(dir.join(&s.meta.frames[1].file)).unwrap();
        let items: Vec<_> = s.read_ahead(3, 4, false).collect();
        assert_eq!(items.len(), 2, "frame 0, then frame 1's error");
        assert!(items[0].is_ok());
        assert!(
            matches!(&items[1], Err(SequenceError::BadFrame { path, .. }) if path.ends_with(&s.meta.frames[1].file))
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn colour_and_camera_round_trip() {
        let dir = std::env::temp_dir().join(format!("depthcast-seq-rgbd-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let (w, h) = (40, 24);
        let mut wr = SequenceWriter::create(&dir, w, h, 30.0, DepthEncoding::Png16Mm).unwrap();
        let mut frames = Vec::new();
        for i in 0..2u32 {
            let mut c = YuvFrame::new(w, h, BitDepth::Eight);
            for (k, y) in c.y.iter_mut().enumerate() {
                *y = ((k as u32 * 7 + i) % 256) as u16;
            }
            for (k, (u, v)) in c.u.iter_mut().zip(c.v.iter_mut()).enumerate() {
                (*u, *v) = ((k as u16 * 3) % 256, 255 - (k as u16 % 256));
            }
            let cam = CameraBlock {
                frame_index: i,
                pose: CameraPose { position: [0.1 * i as f32, 1.0, 2.0], rotation: [0.0, 0.6, 0.0, 0.8] },
                intrinsics: depthcast_packing::Intrinsics::from_fov_y(0.8, w, h, 0.05),
            };
            wr.push_rgbd(&testdata::game_scene(w, h, i as f32), None, Some(&c), Some(&cam)).unwrap();
            frames.push((c, cam));
        }
        wr.finish().unwrap();
        let s = Sequence::open(&dir).unwrap();
        assert!(s.has_colour());
        for (i, (c, cam)) in frames.iter().enumerate() {
            assert_eq!(s.read_colour(i).unwrap().as_ref(), Some(c));
            assert_eq!(s.camera(i).unwrap().as_ref(), Some(cam));
        }
        let ahead: Vec<ReadFrame> = s.read_ahead(1, 1, true).map(Result::unwrap).collect();
        assert_eq!(ahead.len(), frames.len());
        for (f, (c, cam)) in ahead.iter().zip(&frames) {
            assert_eq!(f.colour, Some((c.clone(), Some(*cam))));
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sidecars_without_colour_still_load() {
        let dir = std::env::temp_dir().join(format!("depthcast-seq-old-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut wr = SequenceWriter::create(&dir, 8, 4, 30.0, DepthEncoding::Png16Mm).unwrap();
        wr.push(&testdata::game_scene(8, 4, 0.0), None).unwrap();
        wr.finish().unwrap();
        // What a sidecar written before colour existed looks like: no `colour`, no `camera`.
        let text = fs::read_to_string(dir.join(SIDECAR)).unwrap();
        assert!(!text.contains("colour") && !text.contains("camera"), "{text}");
        let s = Sequence::open(&dir).unwrap();
        assert!(!s.has_colour());
        assert_eq!(s.read_colour(0).unwrap(), None);
        assert_eq!(s.camera(0).unwrap(), None);
        assert_eq!(s.read_frame(0).unwrap().width, 8);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rejects_foreign_json() {
        let dir = std::env::temp_dir().join(format!("depthcast-seq-bad-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(SIDECAR), r#"{"hello": 1}"#).unwrap();
        assert!(matches!(Sequence::open(&dir), Err(SequenceError::BadSidecar { .. })));
        fs::remove_dir_all(&dir).unwrap();
    }
}
