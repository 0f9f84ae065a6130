//! Hardware frame upload for back-ends that only take device surfaces (VA-API), through the FFI
//! where ffmpeg-next has no safe API.

use std::ptr;

use ff::ffi;
use ffmpeg_next as ff;

use crate::error::{CodecError, Result};

/// A VA-API device and a pool of surfaces of one size and software format.
pub(crate) struct HwFrames {
    device: *mut ffi::AVBufferRef,
    frames: *mut ffi::AVBufferRef,
}

// SAFETY: the buffer refs are owned by this value alone and FFmpeg's hwcontext objects may be
// used from any thread as long as calls are not concurrent (`&mut self` / ownership ensures it).
unsafe impl Send for HwFrames {}

fn check(what: &str, ret: i32) -> Result<()> {
    if ret < 0 { Err(CodecError::Ffmpeg { context: what.into(), source: ff::Error::from(ret) }) } else { Ok(()) }
}

impl HwFrames {
    /// Opens the default VA-API device (`/dev/dri/renderD128`) and a surface pool.
    ///
    /// # Errors
    /// No VA-API device or driver, or the pool cannot be created.
    pub(crate) fn vaapi(width: u32, height: u32, sw_format: ff::format::Pixel) -> Result<Self> {
        let mut hw = HwFrames { device: ptr::null_mut(), frames: ptr::null_mut() };
        // SAFETY: out-pointer to a null AVBufferRef*, null device name and options are allowed.
        let ret = unsafe {
            ffi::av_hwdevice_ctx_create(
                &mut hw.device,
                ffi::AVHWDeviceType::AV_HWDEVICE_TYPE_VAAPI,
                ptr::null(),
                ptr::null_mut(),
                0,
            )
        };
        check("creating the VA-API device", ret)?;
        // SAFETY: `device` is a valid device reference created above.
        hw.frames = unsafe { ffi::av_hwframe_ctx_alloc(hw.device) };
        if hw.frames.is_null() {
            return Err(CodecError::Unsupported("cannot allocate a VA-API frames context".into()));
        }
        // SAFETY: `frames` is a freshly allocated, not yet initialised AVHWFramesContext whose
        // `data` points at the context; we set its public fields before av_hwframe_ctx_init.
        let ret = unsafe {
            let fc = (*hw.frames).data.cast::<ffi::AVHWFramesContext>();
            (*fc).format = ffi::AVPixelFormat::AV_PIX_FMT_VAAPI;
            (*fc).sw_format = sw_format.into();
            (*fc).width = width as i32;
            (*fc).height = height as i32;
            (*fc).initial_pool_size = 8;
            ffi::av_hwframe_ctx_init(hw.frames)
        };
        check("initialising the VA-API surface pool", ret)?;
        Ok(hw)
    }

    /// Gives the encoder context a reference to the pool.
    ///
    /// # Safety
    /// `ctx` must be a valid, not yet opened encoder context.
    pub(crate) unsafe fn attach(&self, ctx: *mut ffi::AVCodecContext) {
        // SAFETY: the caller guarantees `ctx`; `frames` is a valid initialised reference and the
        // context takes ownership of the new reference.
        unsafe {
            (*ctx).hw_frames_ctx = ffi::av_buffer_ref(self.frames);
            (*ctx).pix_fmt = ffi::AVPixelFormat::AV_PIX_FMT_VAAPI;
        }
    }

    /// Uploads a system-memory frame to a new surface, keeping its properties (pts, type, side
    /// data).
    ///
    /// # Errors
    /// The pool is exhausted or the transfer fails.
    pub(crate) fn upload(&self, sw: &ff::frame::Video) -> Result<ff::frame::Video> {
        let mut hw = ff::frame::Video::empty();
        // SAFETY: `frames` is a valid pool; `hw` is a blank frame; `sw` is a filled frame of the
        // pool's software format and size.
        unsafe {
            check("getting a VA-API surface", ffi::av_hwframe_get_buffer(self.frames, hw.as_mut_ptr(), 0))?;
            check("uploading to a VA-API surface", ffi::av_hwframe_transfer_data(hw.as_mut_ptr(), sw.as_ptr(), 0))?;
            check("copying frame properties", ffi::av_frame_copy_props(hw.as_mut_ptr(), sw.as_ptr()))?;
        }
        Ok(hw)
    }
}

impl Drop for HwFrames {
    fn drop(&mut self) {
        // SAFETY: both are null or references owned by us; av_buffer_unref accepts null.
        unsafe {
            ffi::av_buffer_unref(&mut self.frames);
            ffi::av_buffer_unref(&mut self.device);
        }
    }
}
