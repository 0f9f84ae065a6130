//! [`Encoder`]: opens the first usable back-end, takes packed depth frames with their
//! [`PackParams`] ([`Encoder::send_frame`]) or colour pictures without them
//! ([`Encoder::send_picture`]), and returns Annex B packets with the in-band SEI inserted: the
//! parameters, the camera when [`FrameOptions::camera`] is set, and the send time.

use std::collections::{BTreeMap, VecDeque};
use std::mem::ManuallyDrop;

use depthcast_packing::{BitDepth, CameraBlock, PackParams, PixelFormat, YuvFrame};
use ff::ffi;
use ffmpeg_next as ff;

use crate::backend::{self, Backend};
use crate::error::{CodecError, Result, ff as fferr};
use crate::hw::HwFrames;
use crate::planes;
use crate::sei;
use crate::settings::{EncoderSettings, FrameOptions, RateControl, Refresh, Roi, VideoCodec};

/// One encoded access unit.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedPacket {
    /// Annex B bytes, SEI with the parameters included.
    pub data: Vec<u8>,
    /// Presentation timestamp in [`EncodedPacket::time_base`] units.
    pub pts: i64,
    /// Decoding timestamp in [`EncodedPacket::time_base`] units.
    pub dts: i64,
    /// Time base `(num, den)` of the timestamps (the encoder's is `1/fps`).
    pub time_base: (i32, i32),
    /// Whether the unit is a random-access point.
    pub keyframe: bool,
    /// The parameters carried in the SEI (`None` when the sender had none for this frame, and
    /// for colour pictures).
    pub params: Option<PackParams>,
    /// The camera carried in the SEI (`None` when the frame had none).
    pub camera: Option<CameraBlock>,
}

/// An encoder that opened, and how its frames must be given.
pub(crate) struct Opened {
    pub(crate) enc: EncoderContext,
    pub(crate) input_format: PixelFormat,
    pub(crate) hw: Option<HwFrames>,
}

fn input_format(backend: Backend, bits: BitDepth) -> PixelFormat {
    match (backend.wants_semi_planar(), bits) {
        (true, BitDepth::Eight) => PixelFormat::Nv12,
        (true, BitDepth::Ten) => PixelFormat::P010,
        (false, BitDepth::Eight) => PixelFormat::Yuv420p,
        (false, BitDepth::Ten) => PixelFormat::Yuv420p10le,
    }
}

/// Opens `backend` with the real options for `s` (option names validated first).
///
/// # Errors
/// Invalid settings, unknown option names, the encoder missing, or its open failing.
pub(crate) fn open_backend(s: &EncoderSettings, backend: Backend) -> Result<Opened> {
    crate::init();
    s.validate()?;
    let name = backend.encoder_name(s.codec);
    let codec = ff::encoder::find_by_name(name)
        .ok_or_else(|| CodecError::Unsupported(format!("{name} is not compiled into the linked FFmpeg")))?;
    let opts = backend::options(s, backend)?;
    backend::validate_option_names(&codec, &opts)?;
    let input_format = input_format(backend, s.bit_depth);
    let mut ctx =
        ff::codec::Context::new_with_codec(codec).encoder().video().map_err(fferr(format!("allocating {name}")))?;
    ctx.set_width(s.width);
    ctx.set_height(s.height);
    ctx.set_format(planes::av_format(input_format));
    ctx.set_time_base(ff::Rational::new(s.fps.1 as i32, s.fps.0 as i32));
    ctx.set_frame_rate(Some(ff::Rational::new(s.fps.0 as i32, s.fps.1 as i32)));
    ctx.set_max_b_frames(0);
    ctx.set_gop(match s.refresh {
        Refresh::Gop(n) | Refresh::IntraRefresh(n) => n,
    });
    ctx.set_color_range(if s.full_range { ff::color::Range::JPEG } else { ff::color::Range::MPEG });
    if s.bt709 {
        // The VUI's colour description (x264 and the other encoders read it from the context).
        ctx.set_colorspace(ff::color::Space::BT709);
        ctx.set_color_primaries(ff::color::Primaries::BT709);
        ctx.set_color_transfer_characteristic(ff::color::TransferCharacteristic::BT709);
    }
    let fps = s.fps_f64();
    let vbv = (s.bitrate as f64 * f64::from(s.vbv_frames) / fps) as i32;
    match s.rate_control {
        // SVT-AV1 takes a maximum bitrate only for capped CRF, and refuses one equal to the
        // target; CBR (`rc=2`) and VBR (`rc=1`) are set in the back-end options.
        RateControl::Cbr | RateControl::Vbr { .. } if s.codec == VideoCodec::Av1 => {
            ctx.set_bit_rate(s.bitrate as usize);
        }
        RateControl::Cbr => {
            ctx.set_bit_rate(s.bitrate as usize);
            ctx.set_max_bit_rate(s.bitrate as usize);
        }
        RateControl::Vbr { max_bitrate } => {
            ctx.set_bit_rate(s.bitrate as usize);
            ctx.set_max_bit_rate(max_bitrate as usize);
        }
        RateControl::Lossless => {}
    }
    let hw = if backend == Backend::Vaapi {
        Some(HwFrames::vaapi(s.width, s.height, planes::av_format(input_format))?)
    } else {
        None
    };
    // SAFETY: the context is allocated and not yet opened; these are plain fields.
    unsafe {
        let c = ctx.as_mut_ptr();
        if s.rate_control != RateControl::Lossless {
            (*c).rc_buffer_size = vbv.max(1);
            (*c).rc_initial_buffer_occupancy = vbv.max(1);
        }
        (*c).thread_count = s.auto_threads() as i32;
        if s.global_header {
            (*c).flags |= ffi::AV_CODEC_FLAG_GLOBAL_HEADER as i32;
        }
        (*c).flags |= ffi::AV_CODEC_FLAG_LOW_DELAY as i32;
        if let Some(hw) = &hw {
            hw.attach(c);
        }
    }
    let mut dict = ff::Dictionary::new();
    for (k, v) in &opts {
        dict.set(k, v);
    }
    let svt = name == "libsvtav1";
    let enc = {
        let _serial = svt.then(svt_lifecycle);
        ctx.open_as_with(codec, dict).map_err(fferr(format!("opening {name}")))?
    };
    Ok(Opened { enc: EncoderContext { inner: ManuallyDrop::new(enc), svt }, input_format, hw })
}

/// SVT-AV1 1.4 sets up and tears down process-wide state in `svt_av1_enc_init_handle` and
/// `svt_av1_enc_deinit_handle`, and FFmpeg 5.1 serialises neither (its libsvtav1 wrapper says
/// its init is thread-safe): with many AV1 encoders opened and freed at once (a start-up probe
/// across formats) the process crashed in init (1 run in 4) and, with init serialised, in
/// deinit's `free` (1 run in 3). Both hold this lock.
fn svt_lifecycle() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An opened FFmpeg encoder context; a libsvtav1 one is freed under [`svt_lifecycle`].
pub(crate) struct EncoderContext {
    inner: ManuallyDrop<ff::encoder::Video>,
    svt: bool,
}

impl std::ops::Deref for EncoderContext {
    type Target = ff::encoder::Video;

    fn deref(&self) -> &ff::encoder::Video {
        &self.inner
    }
}

impl std::ops::DerefMut for EncoderContext {
    fn deref_mut(&mut self) -> &mut ff::encoder::Video {
        &mut self.inner
    }
}

impl Drop for EncoderContext {
    fn drop(&mut self) {
        let _serial = self.svt.then(svt_lifecycle);
        // SAFETY: dropped exactly once, here, and never used after.
        unsafe { ManuallyDrop::drop(&mut self.inner) };
    }
}

/// Closes an encoder that was opened but will not encode ([`end_unused`]).
pub(crate) fn close_opened(mut o: Opened) {
    end_unused(&mut o.enc, o.input_format);
}

/// Ends an encoder that was given no frame: one black frame, the end of stream, its packets
/// drained and dropped. SVT-AV1 1.4 (through FFmpeg 5.1) hangs for good both when an encoder is
/// freed before it was told the stream ended and when the end of stream follows no frame at all.
fn end_unused(enc: &mut ff::encoder::Video, format: PixelFormat) {
    let mut frame = ff::frame::Video::new(planes::av_format(format), enc.width(), enc.height());
    for i in 0..frame.planes() {
        frame.data_mut(i).fill(0);
    }
    frame.set_pts(Some(0));
    // A hardware encoder wants uploaded frames and refuses this one; it ends without.
    let _ = enc.send_frame(&frame);
    if enc.send_eof().is_ok() {
        let mut packet = ff::Packet::empty();
        while enc.receive_packet(&mut packet).is_ok() {}
    }
}

/// A low-latency H.264/HEVC/AV1 encoder over the first usable back-end. Flushed when dropped.
pub struct Encoder {
    enc: EncoderContext,
    backend: Backend,
    settings: EncoderSettings,
    input_format: PixelFormat,
    hw: Option<HwFrames>,
    frame: ff::frame::Video,
    packet: ff::Packet,
    pending: BTreeMap<i64, sei::SeiContent>,
    /// Packets drained from an encoder that was replaced ([`Encoder::restart_for_keyframe`]),
    /// handed out before the new encoder's.
    outbox: VecDeque<EncodedPacket>,
    /// Whether any frame was submitted (a first frame is a keyframe anyway).
    started: bool,
    next_pts: i64,
    finished: bool,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("backend", &self.backend)
            .field("encoder", &self.encoder_name())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// Opens the first back-end of [`EncoderSettings::effective_backends`] whose test encoder
    /// opens with the real options (probes are cached per process).
    ///
    /// # Errors
    /// Invalid settings, or [`CodecError::NoBackend`] listing every back-end tried and why it
    /// failed.
    pub fn new(settings: &EncoderSettings) -> Result<Encoder> {
        settings.validate()?;
        let mut failures = Vec::new();
        for b in settings.effective_backends() {
            let status = backend::probe(settings, b);
            if let Err(reason) = &status.usable {
                failures.push(backend::failure(&status, reason.clone()));
                continue;
            }
            match open_backend(settings, b) {
                Ok(o) => return Ok(Self::from_opened(settings, b, o)),
                Err(e) => failures.push(backend::failure(&status, e.to_string())),
            }
        }
        Err(CodecError::NoBackend(failures))
    }

    fn from_opened(settings: &EncoderSettings, backend: Backend, o: Opened) -> Encoder {
        let frame = ff::frame::Video::new(planes::av_format(o.input_format), settings.width, settings.height);
        Encoder {
            enc: o.enc,
            backend,
            settings: settings.clone(),
            input_format: o.input_format,
            hw: o.hw,
            frame,
            packet: ff::Packet::empty(),
            pending: BTreeMap::new(),
            outbox: VecDeque::new(),
            started: false,
            next_pts: 0,
            finished: false,
        }
    }

    /// The back-end that runs.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The FFmpeg encoder name that runs (`libx264`, `hevc_nvenc`, ...).
    pub fn encoder_name(&self) -> &'static str {
        self.backend.encoder_name(self.settings.codec)
    }

    /// The settings the encoder was opened with.
    pub fn settings(&self) -> &EncoderSettings {
        &self.settings
    }

    /// The pixel format the frames are handed to FFmpeg in.
    pub fn input_format(&self) -> PixelFormat {
        self.input_format
    }

    /// SPS/PPS (and VPS) when [`EncoderSettings::global_header`] is set.
    pub fn extradata(&self) -> Option<&[u8]> {
        // SAFETY: the opened context's extradata is either null or `extradata_size` valid bytes
        // owned by the context, which `self` borrows.
        unsafe {
            let c = self.enc.as_ptr();
            if (*c).extradata.is_null() || (*c).extradata_size <= 0 {
                None
            } else {
                Some(std::slice::from_raw_parts((*c).extradata, (*c).extradata_size as usize))
            }
        }
    }

    pub(crate) fn context(&self) -> &ff::encoder::Video {
        &self.enc
    }

    /// Submits one depth frame and its parameters. Collect output with
    /// [`Encoder::receive_packet`].
    ///
    /// # Errors
    /// A frame of the wrong size or bit depth, invalid parameters, or an encoder failure.
    pub fn send_frame(&mut self, frame: &YuvFrame, params: &PackParams, opts: &FrameOptions) -> Result<()> {
        params.validate()?;
        self.submit(frame, Some(params), opts)
    }

    /// Submits one picture that carries no packing parameters (the colour track of an RGB-D
    /// stream): its SEI holds only the camera and the send time, when [`FrameOptions::camera`]
    /// is set, and nothing otherwise. Collect output with [`Encoder::receive_packet`].
    ///
    /// # Errors
    /// A frame of the wrong size or bit depth, an invalid camera block, or an encoder failure.
    pub fn send_picture(&mut self, frame: &YuvFrame, opts: &FrameOptions) -> Result<()> {
        self.submit(frame, None, opts)
    }

    fn submit(&mut self, frame: &YuvFrame, params: Option<&PackParams>, opts: &FrameOptions) -> Result<()> {
        let s = &self.settings;
        if frame.width != s.width || frame.height != s.height || frame.bit_depth != s.bit_depth {
            return Err(CodecError::FrameMismatch {
                got_w: frame.width,
                got_h: frame.height,
                got_bits: frame.bit_depth.bits(),
                want_w: s.width,
                want_h: s.height,
                want_bits: s.bit_depth.bits(),
            });
        }
        if let Some(c) = &opts.camera {
            c.validate().map_err(CodecError::CameraInvalid)?;
        }
        if !s.codec.carries_regions_of_interest() && !opts.rois.is_empty() {
            return Err(CodecError::Unsupported(crate::settings::NO_ROI_REASON.into()));
        }
        if opts.force_keyframe && self.started && s.codec == VideoCodec::Av1 {
            self.restart_for_keyframe()?;
        }
        self.started = true;
        let s = &self.settings;
        let pts = opts.pts.unwrap_or(self.next_pts);
        self.next_pts = pts + 1;
        // SAFETY: `frame` owns its AVFrame; make_writable copies the buffers if the encoder still
        // holds a reference to them, so we never write into a picture it is using.
        let ret = unsafe { ffi::av_frame_make_writable(self.frame.as_mut_ptr()) };
        if ret < 0 {
            return Err(fferr("making the frame writable")(ff::Error::from(ret)));
        }
        planes::fill_frame(frame, &mut self.frame, self.input_format);
        self.frame.set_pts(Some(pts));
        self.frame.set_color_range(if s.full_range { ff::color::Range::JPEG } else { ff::color::Range::MPEG });
        if s.bt709 {
            self.frame.set_color_space(ff::color::Space::BT709);
            self.frame.set_color_primaries(ff::color::Primaries::BT709);
            self.frame.set_color_transfer_characteristic(ff::color::TransferCharacteristic::BT709);
        }
        self.frame.set_kind(if opts.force_keyframe { ff::picture::Type::I } else { ff::picture::Type::None });
        // libx265 3.5 gives a picture a buffer for ROI offsets only when the frame it was first
        // allocated for had them, then recycles pictures: a frame with ROIs after frames without
        // wrote through a null pointer (SIGSEGV in x265's Encoder::encode). With ROIs on, every
        // x265 frame carries them, a whole-frame offset of 0 where the caller gives none.
        let neutral;
        let rois = if opts.rois.is_empty() && s.regions_of_interest && self.encoder_name() == "libx265" {
            neutral = [Roi { left: 0, top: 0, width: s.width, height: s.height, qoffset: 0.0 }];
            &neutral[..]
        } else {
            &opts.rois[..]
        };
        crate::roi::attach(&mut self.frame, rois, s.width, s.height)?;
        let content = sei::SeiContent {
            params: params.copied(),
            camera: opts.camera,
            sent_unix_us: Some(opts.sent_unix_us.unwrap_or_else(crate::unix_us)),
        };
        self.pending.insert(pts, content);
        let r = match &self.hw {
            Some(hw) => {
                let up = hw.upload(&self.frame)?;
                self.enc.send_frame(&up)
            }
            None => self.enc.send_frame(&self.frame),
        };
        r.map_err(fferr(format!("encoding frame {pts}")))
    }

    /// Replaces the encoder by a fresh one of the same settings, whose first frame is a keyframe:
    /// FFmpeg 5.1's libsvtav1 cannot force one (it never sets SVT-AV1's `force_key_frames`, and
    /// SVT-AV1 1.4 allows that only for random-access CRF). The old encoder's last packets go to
    /// the outbox; the sequence header, and so a container's `av1C`, stays the same.
    fn restart_for_keyframe(&mut self) -> Result<()> {
        self.enc.send_eof().map_err(fferr("flushing the encoder before a keyframe"))?;
        while let Some(p) = self.take_packet()? {
            self.outbox.push_back(p);
        }
        let o = open_backend(&self.settings, self.backend)?;
        self.enc = o.enc;
        Ok(())
    }

    /// Takes the next packet. `Ok(None)` means "send more input" (or, after [`Encoder::finish`],
    /// that everything has come out).
    ///
    /// # Errors
    /// An encoder failure.
    pub fn receive_packet(&mut self) -> Result<Option<EncodedPacket>> {
        if let Some(p) = self.outbox.pop_front() {
            return Ok(Some(p));
        }
        self.take_packet()
    }

    /// The encoder's next packet with its SEI inserted.
    fn take_packet(&mut self) -> Result<Option<EncodedPacket>> {
        match self.enc.receive_packet(&mut self.packet) {
            Ok(()) => {}
            Err(ff::Error::Eof) => return Ok(None),
            Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => {
                return Ok(None);
            }
            Err(e) => return Err(fferr("receiving a packet")(e)),
        }
        let pts = self.packet.pts().unwrap_or(0);
        let found = self.pending.remove(&pts);
        // Drop any stale entries the encoder skipped.
        self.pending = self.pending.split_off(&pts);
        let raw = self.packet.data().unwrap_or(&[]);
        let mut data = Vec::with_capacity(raw.len() + 64);
        match &found {
            Some(content) => sei::insert_sei_annexb_with(self.settings.codec, raw, content, &mut data)?,
            None => data.extend_from_slice(raw),
        }
        let tb = self.enc.time_base();
        Ok(Some(EncodedPacket {
            data,
            pts,
            dts: self.packet.dts().unwrap_or(pts),
            time_base: (tb.numerator(), tb.denominator()),
            keyframe: self.packet.is_key(),
            params: found.and_then(|f| f.params),
            camera: found.and_then(|f| f.camera),
        }))
    }

    /// Sends a frame and returns every packet available right after it: its own with x264, x265
    /// and the hardware encoders (zero-latency settings). libsvtav1 (AV1) returns each frame's
    /// packet two frames later: SVT-AV1 1.4 encodes on its own threads, and FFmpeg 5.1's wrapper
    /// asks it for packets only while handing it a new frame. [`Encoder::finish`] returns the
    /// last ones.
    ///
    /// # Errors
    /// As [`Encoder::send_frame`] and [`Encoder::receive_packet`].
    pub fn encode(&mut self, frame: &YuvFrame, params: &PackParams, opts: &FrameOptions) -> Result<Vec<EncodedPacket>> {
        self.send_frame(frame, params, opts)?;
        self.available_packets()
    }

    /// Every packet available now (after a frame, or after the end of stream: all of them).
    fn available_packets(&mut self) -> Result<Vec<EncodedPacket>> {
        let mut out = Vec::new();
        while let Some(p) = self.receive_packet()? {
            out.push(p);
        }
        Ok(out)
    }

    /// Sends a picture without parameters ([`Encoder::send_picture`]) and returns every packet
    /// available right after it.
    ///
    /// # Errors
    /// As [`Encoder::send_picture`] and [`Encoder::receive_packet`].
    pub fn encode_picture(&mut self, frame: &YuvFrame, opts: &FrameOptions) -> Result<Vec<EncodedPacket>> {
        self.send_picture(frame, opts)?;
        self.available_packets()
    }

    /// Signals end of stream and returns the remaining packets. Later calls return nothing.
    ///
    /// # Errors
    /// An encoder failure.
    pub fn finish(&mut self) -> Result<Vec<EncodedPacket>> {
        if self.finished {
            return Ok(Vec::new());
        }
        self.finished = true;
        if !self.started {
            end_unused(&mut self.enc, self.input_format);
            return Ok(Vec::new());
        }
        self.enc.send_eof().map_err(fferr("flushing the encoder"))?;
        self.available_packets()
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // Flush so the encoder's threads and buffers wind down cleanly; packets are discarded
        // (call `finish` to get them).
        let _ = self.finish();
    }
}
