//! Encoder back-ends: which FFmpeg encoder each one is, the options it gets, option-name
//! validation, and the cached "is it usable here" probe.

use std::collections::HashMap;
use std::ffi::CString;
use std::sync::{Mutex, OnceLock};

use ff::ffi;
use ffmpeg_next as ff;

use crate::error::{BackendFailure, CodecError, Result};
use crate::settings::{EncoderSettings, RateControl, Refresh, VideoCodec};

/// An encoder back-end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Backend {
    /// NVIDIA NVENC (`h264_nvenc`, `hevc_nvenc`), system-memory frames.
    Nvenc,
    /// VA-API (`h264_vaapi`, `hevc_vaapi`), frames uploaded to a VA surface.
    Vaapi,
    /// Intel Quick Sync (`h264_qsv`, `hevc_qsv`), system-memory frames.
    Qsv,
    /// V4L2 memory-to-memory (`h264_v4l2m2m`, `hevc_v4l2m2m`), e.g. Raspberry Pi.
    V4l2m2m,
    /// libx264 / libx265 / libsvtav1 on the CPU.
    Software,
}

impl Backend {
    /// Hardware first, software last.
    pub const DEFAULT_ORDER: [Backend; 5] =
        [Backend::Nvenc, Backend::Vaapi, Backend::Qsv, Backend::V4l2m2m, Backend::Software];

    /// Short lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Nvenc => "nvenc",
            Backend::Vaapi => "vaapi",
            Backend::Qsv => "qsv",
            Backend::V4l2m2m => "v4l2m2m",
            Backend::Software => "software",
        }
    }

    /// Parses [`Backend::name`].
    pub fn from_name(name: &str) -> Option<Backend> {
        Backend::DEFAULT_ORDER.into_iter().find(|b| b.name() == name)
    }

    /// The FFmpeg encoder name for `codec`.
    pub fn encoder_name(self, codec: VideoCodec) -> &'static str {
        match (self, codec) {
            (Backend::Nvenc, VideoCodec::H264) => "h264_nvenc",
            (Backend::Nvenc, VideoCodec::Hevc) => "hevc_nvenc",
            (Backend::Vaapi, VideoCodec::H264) => "h264_vaapi",
            (Backend::Vaapi, VideoCodec::Hevc) => "hevc_vaapi",
            (Backend::Qsv, VideoCodec::H264) => "h264_qsv",
            (Backend::Qsv, VideoCodec::Hevc) => "hevc_qsv",
            (Backend::V4l2m2m, VideoCodec::H264) => "h264_v4l2m2m",
            (Backend::V4l2m2m, VideoCodec::Hevc) => "hevc_v4l2m2m",
            (Backend::Software, VideoCodec::H264) => "libx264",
            (Backend::Software, VideoCodec::Hevc) => "libx265",
            // FFmpeg 6.0 and later; FFmpeg 5.1's probe reports them missing.
            (Backend::Nvenc, VideoCodec::Av1) => "av1_nvenc",
            (Backend::Vaapi, VideoCodec::Av1) => "av1_vaapi",
            (Backend::Qsv, VideoCodec::Av1) => "av1_qsv",
            // FFmpeg has no V4L2 M2M AV1 encoder; the probe reports it missing.
            (Backend::V4l2m2m, VideoCodec::Av1) => "av1_v4l2m2m",
            (Backend::Software, VideoCodec::Av1) => "libsvtav1",
        }
    }

    /// Whether frames go to the encoder as NV12/P010 (semi-planar) rather than planar.
    pub(crate) fn wants_semi_planar(self) -> bool {
        matches!(self, Backend::Vaapi | Backend::Qsv | Backend::Nvenc)
    }
}

/// Encoder-private options (name, value) for a back-end. Codec-context fields (bitrate, GOP,
/// B-frames, colour range) are set in [`crate::encoder`].
///
/// # Errors
/// [`CodecError::Unsupported`] for a setting the back-end cannot honour.
pub(crate) fn options(s: &EncoderSettings, b: Backend) -> Result<Vec<(String, String)>> {
    let mut o: Vec<(&str, String)> = Vec::new();
    let intra_refresh = matches!(s.refresh, Refresh::IntraRefresh(_));
    let aq = s.adaptive_quant || s.regions_of_interest;
    let unsupported =
        |what: &str| Err(CodecError::Unsupported(format!("{what} is not supported by the {} back-end", b.name())));
    if s.rate_control == RateControl::Lossless && b != Backend::Software {
        return unsupported("lossless rate control");
    }
    match (b, s.codec) {
        (Backend::Software, VideoCodec::H264) => {
            o.push(("preset", s.preset.clone()));
            o.push(("tune", "zerolatency".into()));
            o.push(("forced-idr", "1".into()));
            o.push(("rc-lookahead", "0".into()));
            o.push(("aq-mode", if aq { "1" } else { "0" }.into()));
            if intra_refresh {
                o.push(("intra-refresh", "1".into()));
            }
            if s.rate_control == RateControl::Lossless {
                o.push(("qp", "0".into()));
            }
            if s.rate_control == RateControl::Cbr {
                // True CBR: HRD signalling and filler data, so easy (depth) content still fills
                // the channel it was given instead of undershooting by 15 %.
                o.push(("nal-hrd", "cbr".into()));
            }
            if !s.scene_cuts {
                o.push(("x264-params", "scenecut=0".into()));
            }
        }
        (Backend::Software, VideoCodec::Hevc) => {
            o.push(("preset", s.preset.clone()));
            o.push(("tune", "zerolatency".into()));
            o.push(("forced-idr", "1".into()));
            let mut p = vec![
                "log-level=error".to_string(),
                // Decoded-picture hash (checksum; CRC costs 2.5x encode time): FFmpeg checks it and reports damaged HEVC pictures.
                "hash=3".into(),
                "rc-lookahead=0".into(),
                "bframes=0".into(),
                format!("aq-mode={}", if aq { 1 } else { 0 }),
            ];
            if aq {
                // x265's ultrafast preset sets aq-strength=0, and x265 then turns AQ off whatever
                // aq-mode says (without cu-tree, which zerolatency disables), so FFmpeg's
                // per-block ROI offsets were dropped without a word. 1.0 is x265's default
                // and x264's, which keeps its own. Measured (640x720 VBP luma P16, 1 Mbit/s, ROI
                // -0.4): MAE 36.9 mm -> 4.2 mm.
                p.push("aq-strength=1.0".into());
            }
            if intra_refresh {
                p.push("intra-refresh=1".into());
            }
            if s.rate_control == RateControl::Lossless {
                p.push("lossless=1".into());
            }
            if !s.scene_cuts {
                p.push("scenecut=0".into());
            }
            o.push(("x265-params", p.join(":")));
        }
        (Backend::Software, VideoCodec::Av1) => {
            if intra_refresh {
                return unsupported("intra refresh with AV1");
            }
            if s.rate_control == RateControl::Lossless {
                return unsupported("lossless AV1 (SVT-AV1 has no lossless mode)");
            }
            if s.regions_of_interest {
                return unsupported(crate::settings::NO_ROI_REASON);
            }
            o.push(("preset", svt_preset(&s.preset)?.to_string()));
            let mut p = vec![
                // Low delay (no reordering, every frame out as it goes in): SVT-AV1's CBR needs
                // it, and a live stream wants it.
                "pred-struct=1".to_string(),
                // Keyframes are KEY_FRAMEs (closed GOP), where a receiver can join, not
                // intra-only frames.
                "irefresh-type=2".into(),
                // SVT-AV1's own thread pool, sized like the other encoders' threads.
                format!("lp={}", s.auto_threads()),
                // No aq-mode: SVT-AV1 refuses to turn AQ off under rate control.
            ];
            match s.rate_control {
                RateControl::Cbr => p.push("rc=2".into()),
                RateControl::Vbr { .. } => p.push("rc=1".into()),
                RateControl::Lossless => {}
            }
            if let Ok(extra) = std::env::var("DEPTHCAST_SVTAV1_PARAMS") {
                // For experiments: SVT-AV1 parameters appended (a later key wins).
                p.extend(extra.split(':').filter(|kv| !kv.is_empty()).map(str::to_string));
            }
            o.push(("svtav1-params", p.join(":")));
        }
        (Backend::Nvenc, _) => {
            o.push(("preset", "p1".into()));
            o.push(("tune", "ull".into()));
            o.push(("zerolatency", "1".into()));
            o.push(("delay", "0".into()));
            o.push(("forced-idr", "1".into()));
            o.push((
                "rc",
                match s.rate_control {
                    RateControl::Cbr => "cbr",
                    _ => "vbr",
                }
                .into(),
            ));
            if aq {
                o.push(("spatial-aq", "1".into()));
            }
            if intra_refresh {
                o.push(("intra-refresh", "1".into()));
            }
        }
        (Backend::Vaapi, _) => {
            if intra_refresh {
                return unsupported("intra refresh");
            }
            o.push((
                "rc_mode",
                match s.rate_control {
                    RateControl::Cbr => "CBR",
                    _ => "VBR",
                }
                .into(),
            ));
        }
        (Backend::Qsv, _) => {
            if intra_refresh {
                return unsupported("intra refresh");
            }
            o.push(("preset", "veryfast".into()));
            o.push(("async_depth", "1".into()));
            o.push(("forced_idr", "1".into()));
        }
        (Backend::V4l2m2m, _) => {
            if intra_refresh {
                return unsupported("intra refresh");
            }
        }
    }
    let mut out: Vec<(String, String)> = o.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    out.extend(s.extra_options.iter().cloned());
    Ok(out)
}

/// The SVT-AV1 preset (0 slowest ..= 13 fastest in SVT-AV1 1.4) for an x264 preset name, or the
/// number itself. The names map so that each x264 step is one SVT step, `ultrafast` being 12
/// (13 is SVT-AV1's fastest, kept for numeric use).
///
/// # Errors
/// [`CodecError::InvalidSetting`] for anything else.
pub fn svt_preset(preset: &str) -> Result<u8> {
    const NAMES: [&str; 10] =
        ["placebo", "veryslow", "slower", "slow", "medium", "fast", "faster", "veryfast", "superfast", "ultrafast"];
    if let Some(i) = NAMES.iter().position(|n| *n == preset) {
        return Ok(if i == 0 { 2 } else { 3 + i as u8 });
    }
    match preset.parse::<u8>() {
        Ok(n) if n <= 13 => Ok(n),
        _ => Err(CodecError::InvalidSetting {
            name: "preset",
            value: preset.into(),
            allowed: format!("an x264 preset name ({}) or an SVT-AV1 preset 0..=13", NAMES.join(", ")),
        }),
    }
}

/// Checks that every option name exists on the encoder's private class or on `AVCodecContext`
/// (`avcodec_open2` silently ignores unknown names).
///
/// # Errors
/// [`CodecError::UnknownOption`] for the first unknown name.
pub(crate) fn validate_option_names(codec: &ff::Codec, opts: &[(String, String)]) -> Result<()> {
    for (name, _) in opts {
        let c = CString::new(name.as_str())
            .map_err(|_| CodecError::UnknownOption { encoder: codec.name().into(), option: name.clone() })?;
        // SAFETY: `codec.as_ptr()` is a valid static AVCodec; `priv_class` is null or a static
        // AVClass. With AV_OPT_SEARCH_FAKE_OBJ, av_opt_find only reads `*obj` as an AVClass
        // pointer, and both classes outlive the call.
        let found = unsafe {
            let mut private = (*codec.as_ptr()).priv_class;
            let mut generic = ffi::avcodec_get_class();
            let flags = ffi::AV_OPT_SEARCH_FAKE_OBJ;
            let in_private = !private.is_null()
                && !ffi::av_opt_find((&raw mut private).cast(), c.as_ptr(), std::ptr::null(), 0, flags).is_null();
            in_private || !ffi::av_opt_find((&raw mut generic).cast(), c.as_ptr(), std::ptr::null(), 0, flags).is_null()
        };
        if !found {
            return Err(CodecError::UnknownOption { encoder: codec.name().into(), option: name.clone() });
        }
    }
    Ok(())
}

/// One back-end's state on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendStatus {
    /// The back-end.
    pub backend: Backend,
    /// FFmpeg encoder name.
    pub encoder: &'static str,
    /// Whether the linked FFmpeg has the encoder.
    pub compiled_in: bool,
    /// `Ok` when a small test encoder opened with the real options, else why not.
    pub usable: Result<(), String>,
}

type ProbeCache = Mutex<HashMap<String, Result<(), String>>>;

fn cache() -> &'static ProbeCache {
    static CACHE: OnceLock<ProbeCache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Probes one back-end for `settings` (size replaced by a small test size), caching the answer
/// per encoder, bit depth and options for the life of the process.
pub fn probe(settings: &EncoderSettings, backend: Backend) -> BackendStatus {
    crate::init();
    let encoder = backend.encoder_name(settings.codec);
    let compiled_in = ff::encoder::find_by_name(encoder).is_some();
    if !compiled_in {
        return BackendStatus {
            backend,
            encoder,
            compiled_in,
            usable: Err("not compiled into the linked FFmpeg".into()),
        };
    }
    let mut small = settings.clone();
    small.width = 256;
    small.height = 144;
    let key = format!("{encoder}/{}/{:?}", settings.bit_depth.bits(), options(&small, backend))
        + &format!("/{:?}/{:?}/{}", small.rate_control, small.refresh, small.global_header);
    if let Some(r) = cache().lock().expect("probe cache").get(&key) {
        return BackendStatus { backend, encoder, compiled_in, usable: r.clone() };
    }
    let usable = crate::encoder::open_backend(&small, backend)
        .map(crate::encoder::close_opened)
        .map_err(|e| format!("{e}{}", hint(backend)));
    cache().lock().expect("probe cache").insert(key, usable.clone());
    BackendStatus { backend, encoder, compiled_in, usable }
}

/// A likely cause to add to an FFmpeg error string, from what this machine has.
fn hint(b: Backend) -> &'static str {
    let exists = |p: &str| std::path::Path::new(p).exists();
    let any_video = || {
        std::fs::read_dir("/dev")
            .is_ok_and(|d| d.flatten().any(|e| e.file_name().to_string_lossy().starts_with("video")))
    };
    match b {
        Backend::Nvenc if !exists("/dev/nvidiactl") => " (no NVIDIA driver: /dev/nvidiactl is absent)",
        Backend::Vaapi | Backend::Qsv if !exists("/dev/dri") => " (no GPU render node: /dev/dri is absent)",
        Backend::V4l2m2m if !any_video() => " (no V4L2 device: /dev/video* is absent)",
        _ => "",
    }
}

/// Probes every back-end in [`Backend::DEFAULT_ORDER`] for `settings`.
pub fn probe_all(settings: &EncoderSettings) -> Vec<BackendStatus> {
    Backend::DEFAULT_ORDER.into_iter().map(|b| probe(settings, b)).collect()
}

/// Turns failed statuses into the list [`CodecError::NoBackend`] carries.
pub(crate) fn failure(status: &BackendStatus, reason: String) -> BackendFailure {
    BackendFailure { backend: status.backend, encoder: status.encoder.into(), reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(codec: VideoCodec, roi: bool) -> Vec<(String, String)> {
        let s = EncoderSettings { regions_of_interest: roi, ..EncoderSettings::new(codec, 64, 64) };
        options(&s, Backend::Software).unwrap()
    }

    fn get<'a>(o: &'a [(String, String)], name: &str) -> Option<&'a str> {
        o.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn x265_aq_for_rois_has_a_strength() {
        let on = opts(VideoCodec::Hevc, true);
        let params: Vec<&str> = get(&on, "x265-params").unwrap().split(':').collect();
        assert!(params.contains(&"aq-mode=1") && params.contains(&"aq-strength=1.0"), "{params:?}");
        let off = opts(VideoCodec::Hevc, false);
        let params: Vec<&str> = get(&off, "x265-params").unwrap().split(':').collect();
        assert!(params.contains(&"aq-mode=0") && !params.iter().any(|p| p.starts_with("aq-strength")), "{params:?}");
    }

    #[test]
    fn svt_presets_follow_x264_names_or_numbers() {
        assert_eq!(svt_preset("ultrafast").unwrap(), 12);
        assert_eq!(svt_preset("medium").unwrap(), 7);
        assert_eq!(svt_preset("veryslow").unwrap(), 4);
        assert_eq!(svt_preset("placebo").unwrap(), 2);
        assert_eq!(svt_preset("13").unwrap(), 13);
        assert!(svt_preset("14").is_err() && svt_preset("turbo").is_err());
        let o = opts(VideoCodec::Av1, false);
        assert_eq!(get(&o, "preset"), Some("12"));
        let p: Vec<&str> = get(&o, "svtav1-params").unwrap().split(':').collect();
        assert!(p.contains(&"pred-struct=1") && p.contains(&"rc=2"), "{p:?}");
        let s = EncoderSettings { regions_of_interest: true, ..EncoderSettings::new(VideoCodec::Av1, 64, 64) };
        assert!(matches!(options(&s, Backend::Software), Err(CodecError::Unsupported(_))), "ROI is refused");
    }

    #[test]
    fn x264_aq_for_rois_is_only_aq_mode() {
        let on = opts(VideoCodec::H264, true);
        assert_eq!(get(&on, "aq-mode"), Some("1"));
        assert_eq!(get(&on, "aq-strength"), None, "x264 keeps its default strength (1.0)");
        assert_eq!(get(&opts(VideoCodec::H264, false), "aq-mode"), Some("0"));
    }
}
