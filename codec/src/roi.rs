//! Regions of interest as FFmpeg frame side data (`AV_FRAME_DATA_REGIONS_OF_INTEREST`), which
//! libx264, libx265, NVENC and VA-API honour.

use ff::ffi;
use ffmpeg_next as ff;

use crate::error::{CodecError, Result};
use crate::settings::Roi;

/// Replaces the frame's ROI side data with `rois` (none: removes it).
///
/// # Errors
/// [`CodecError::InvalidSetting`] for a rectangle outside the frame or an offset outside
/// `-1..=1`.
pub(crate) fn attach(frame: &mut ff::frame::Video, rois: &[Roi], width: u32, height: u32) -> Result<()> {
    let kind = ffi::AVFrameSideDataType::AV_FRAME_DATA_REGIONS_OF_INTEREST;
    // SAFETY: the frame is a valid AVFrame we own; removing absent side data is a no-op.
    unsafe { ffi::av_frame_remove_side_data(frame.as_mut_ptr(), kind) };
    if rois.is_empty() {
        return Ok(());
    }
    for r in rois {
        let inside = r.width > 0
            && r.height > 0
            && r.left.checked_add(r.width).is_some_and(|x| x <= width)
            && r.top.checked_add(r.height).is_some_and(|y| y <= height);
        if !inside || !(-1.0..=1.0).contains(&r.qoffset) {
            return Err(CodecError::InvalidSetting {
                name: "roi",
                value: format!("{r:?}"),
                allowed: format!("a non-empty rectangle inside {width}x{height}, qoffset in -1..=1"),
            });
        }
    }
    let item = std::mem::size_of::<ffi::AVRegionOfInterest>();
    // SAFETY: allocates side data of `rois.len() * item` bytes owned by the frame; we fill it
    // with properly aligned AVRegionOfInterest values (FFmpeg allocates with av_malloc alignment).
    unsafe {
        let sd = ffi::av_frame_new_side_data(frame.as_mut_ptr(), kind, rois.len() * item);
        if sd.is_null() {
            return Err(CodecError::Unsupported("cannot allocate ROI side data".into()));
        }
        let out = (*sd).data.cast::<ffi::AVRegionOfInterest>();
        for (i, r) in rois.iter().enumerate() {
            out.add(i).write(ffi::AVRegionOfInterest {
                self_size: item as u32,
                top: r.top as i32,
                bottom: (r.top + r.height) as i32,
                left: r.left as i32,
                right: (r.left + r.width) as i32,
                qoffset: ffi::AVRational { num: (r.qoffset * 1000.0).round() as i32, den: 1000 },
            });
        }
    }
    Ok(())
}
