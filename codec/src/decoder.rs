//! [`Decoder`]: software H.264/HEVC/AV1 decoding back to planes, with each frame's in-band
//! parameters and camera, full range end to end (codes come back exactly as decoded, never
//! rescaled). Depth and colour frames decode alike; a colour frame has no parameters.

use std::collections::BTreeMap;

use depthcast_packing::{BitDepth, CameraBlock, YuvFrame};
use ff::ffi;
use ffmpeg_next as ff;

use crate::error::{CodecError, Result, ff as fferr};
use crate::planes;
use crate::sei::{self, InBand, NalFormat};
use crate::settings::VideoCodec;

/// One decoded frame.
#[derive(Debug)]
pub struct DecodedFrame {
    /// The planes, codes as decoded.
    pub frame: YuvFrame,
    /// The parameters from the frame's SEI, or why there are none
    /// ([`CodecError::ParamsMissing`], [`CodecError::ParamsInvalid`], [`CodecError::Bitstream`]).
    /// Never guessed from other frames. A colour frame has none ([`CodecError::ParamsMissing`]).
    pub params: Result<InBand>,
    /// The camera and send time from the frame's camera SEI message, or why there is none
    /// ([`CodecError::CameraMissing`] for streams without cameras, [`CodecError::CameraInvalid`]).
    pub camera: Result<(CameraBlock, Option<u64>)>,
    /// Presentation timestamp in the stream's time base.
    pub pts: i64,
}

/// The in-band parameters and camera of a packet, until its frame comes out.
type PendingSei = (Result<InBand>, Result<(CameraBlock, Option<u64>)>);

/// What happened to a packet given to [`Decoder::send_packet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketStatus {
    /// Handed to the decoder.
    Decoding,
    /// Dropped: after an error (or at the start) decoding waits for the next keyframe.
    WaitingForKeyframe,
}

/// A software decoder. After any bitstream error it drops packets until the next keyframe
/// (IDR / IRAP), so corrupted pictures are never returned.
pub struct Decoder {
    dec: ff::decoder::Video,
    codec: VideoCodec,
    format: Option<NalFormat>,
    pending: BTreeMap<i64, PendingSei>,
    frame: ff::frame::Video,
    waiting: bool,
    next_pts: i64,
    extradata: Vec<u8>,
    /// HEVC: the stream carries decoded-picture hashes (suffix SEI), so an access unit without
    /// one was cut short.
    expect_hash: bool,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("codec", &self.codec)
            .field("format", &self.format)
            .field("waiting_for_keyframe", &self.waiting)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// A decoder for Annex B packets with in-band SPS/PPS (what [`crate::Encoder`] produces).
    ///
    /// # Errors
    /// FFmpeg has no decoder for the codec, or it fails to open.
    pub fn new(codec: VideoCodec) -> Result<Decoder> {
        Self::with_extradata(codec, &[])
    }

    /// A decoder for a stream whose headers are in `extradata` (`avcC`/`hvcC` or Annex B), as
    /// containers store them.
    ///
    /// # Errors
    /// As [`Decoder::new`].
    pub fn with_extradata(codec: VideoCodec, extradata: &[u8]) -> Result<Decoder> {
        crate::init();
        let c = find(codec)
            .ok_or_else(|| CodecError::Unsupported(format!("no {} decoder in the linked FFmpeg", codec.name())))?;
        let mut ctx = ff::codec::Context::new_with_codec(c);
        // SAFETY: the context is allocated and not opened; extradata is copied into an
        // av_malloc'ed, padded buffer that the context owns and frees.
        unsafe {
            let p = ctx.as_mut_ptr();
            if !extradata.is_empty() {
                let pad = ffi::AV_INPUT_BUFFER_PADDING_SIZE as usize;
                let buf = ffi::av_mallocz(extradata.len() + pad).cast::<u8>();
                if buf.is_null() {
                    return Err(CodecError::Unsupported("out of memory for extradata".into()));
                }
                std::ptr::copy_nonoverlapping(extradata.as_ptr(), buf, extradata.len());
                (*p).extradata = buf;
                (*p).extradata_size = extradata.len() as i32;
            }
            (*p).err_recognition = ffi::AV_EF_EXPLODE | ffi::AV_EF_BITSTREAM | ffi::AV_EF_BUFFER | ffi::AV_EF_CRCCHECK;
            (*p).flags |= ffi::AV_CODEC_FLAG_LOW_DELAY as i32;
            (*p).thread_count = 1;
        }
        let dec = ctx.decoder().video().map_err(fferr(format!("opening the {} decoder", codec.name())))?;
        Ok(Decoder {
            dec,
            codec,
            format: (!extradata.is_empty()).then(|| NalFormat::from_extradata(codec, extradata)),
            pending: BTreeMap::new(),
            frame: ff::frame::Video::empty(),
            waiting: true,
            next_pts: 0,
            extradata: extradata.to_vec(),
            expect_hash: false,
        })
    }

    /// The codec.
    pub fn codec(&self) -> VideoCodec {
        self.codec
    }

    /// Whether packets are being dropped until the next keyframe.
    pub fn waiting_for_keyframe(&self) -> bool {
        self.waiting
    }

    /// Drops all decoder state and waits for the next keyframe. A flush alone keeps state that
    /// a damaged slice left behind (H.264 lossless pictures after the next IDR came back wrong),
    /// so the decoder is reopened.
    fn resync(&mut self) {
        self.waiting = true;
        self.pending.clear();
        match Decoder::with_extradata(self.codec, &self.extradata) {
            Ok(fresh) => self.dec = fresh.dec,
            Err(_) => self.dec.flush(),
        }
    }

    /// Feeds one access unit. `pts` (stream time base) defaults to a running frame counter.
    ///
    /// # Errors
    /// A decoder error; decoding then waits for the next keyframe.
    pub fn send_packet(&mut self, data: &[u8], pts: Option<i64>) -> Result<PacketStatus> {
        let format = self.format.unwrap_or_else(|| NalFormat::detect(data));
        let pts = pts.unwrap_or(self.next_pts);
        self.next_pts = pts + 1;
        if self.waiting {
            if !sei::is_keyframe(self.codec, data, format) {
                return Ok(PacketStatus::WaitingForKeyframe);
            }
            self.waiting = false;
        }
        if self.codec == VideoCodec::Av1
            && let Err(e) = crate::obu::obus(data)
        {
            // dav1d would decode what it can of a temporal unit cut short.
            self.resync();
            return Err(CodecError::Bitstream(format!("temporal unit at pts {pts}: {e}")));
        }
        if self.codec == VideoCodec::Hevc {
            let has_hash =
                sei::nal_units(data, format).is_ok_and(|u| u.iter().any(|n| sei::nal_type(self.codec, n) == Some(40)));
            if self.expect_hash && !has_hash {
                self.resync();
                return Err(CodecError::Bitstream(format!(
                    "access unit at pts {pts} lacks its decoded-picture hash: truncated"
                )));
            }
            self.expect_hash |= has_hash;
        }
        self.pending.insert(pts, sei::extract_all(self.codec, data, format));
        let mut pkt = ff::Packet::copy(data);
        pkt.set_pts(Some(pts));
        pkt.set_dts(Some(pts));
        if let Err(e) = self.dec.send_packet(&pkt) {
            self.resync();
            return Err(fferr(format!("decoding the packet at pts {pts}"))(e));
        }
        Ok(PacketStatus::Decoding)
    }

    /// Signals end of stream; then [`Decoder::receive_frame`] drains the remaining frames.
    ///
    /// # Errors
    /// A decoder failure.
    pub fn send_eof(&mut self) -> Result<()> {
        self.dec.send_eof().map_err(fferr("flushing the decoder"))
    }

    /// Takes the next decoded frame. `Ok(None)` means "send more input" (or end of stream).
    ///
    /// # Errors
    /// A frame decoded with errors, or a decoder failure; decoding then waits for the next
    /// keyframe.
    pub fn receive_frame(&mut self) -> Result<Option<DecodedFrame>> {
        match self.dec.receive_frame(&mut self.frame) {
            Ok(()) => {}
            Err(ff::Error::Eof) => return Ok(None),
            Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => {
                return Ok(None);
            }
            Err(e) => {
                self.resync();
                return Err(fferr("receiving a frame")(e));
            }
        }
        let pts = self.frame.pts().or(self.frame.timestamp()).unwrap_or(0);
        if self.frame.is_corrupt() || self.frame.has_decode_errors() {
            self.resync();
            return Err(CodecError::Bitstream(format!(
                "frame at pts {pts} decoded with errors; waiting for the next keyframe"
            )));
        }
        let (params, camera) =
            self.pending.remove(&pts).unwrap_or((Err(CodecError::ParamsMissing), Err(CodecError::CameraMissing)));
        self.pending = self.pending.split_off(&pts);
        let mut frame = YuvFrame::new(2, 2, BitDepth::Eight);
        planes::read_frame(&self.frame, &mut frame)?;
        Ok(Some(DecodedFrame { frame, params, camera, pts }))
    }

    /// Feeds a packet and returns every frame available after it. Errors of single frames are
    /// returned in place of the frame.
    ///
    /// # Errors
    /// The packet itself was rejected.
    pub fn decode(&mut self, data: &[u8], pts: Option<i64>) -> Result<Vec<Result<DecodedFrame>>> {
        self.send_packet(data, pts)?;
        let mut out = Vec::new();
        loop {
            match self.receive_frame() {
                Ok(Some(f)) => out.push(Ok(f)),
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(e));
                    break;
                }
            }
        }
        Ok(out)
    }
}

/// The decoder [`Decoder::new`] opens for `codec`, if the linked FFmpeg has it.
pub(crate) fn find(codec: VideoCodec) -> Option<ff::Codec> {
    match codec {
        VideoCodec::H264 => ff::decoder::find(ff::codec::Id::H264),
        VideoCodec::Hevc => ff::decoder::find(ff::codec::Id::HEVC),
        // FFmpeg's own AV1 decoder only drives hardware decoders; dav1d decodes in software.
        VideoCodec::Av1 => ff::decoder::find_by_name("libdav1d"),
    }
}
