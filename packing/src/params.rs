//! [`PackParams`]: everything a receiver needs to unpack a frame, and its in-band binary encoding.

use crate::error::{PackError, ParamsDecodeError, Result};

/// How depth is laid out in the frame planes. See each scheme's module for its formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Scheme {
    /// Depth quantised to the plane bit depth in luma; chroma neutral ([`crate::schemes::luma`]).
    LumaOnly = 0,
    /// Variable bit packing: high bits in luma, folded low bits in a second plane ([`crate::schemes::vbp`]).
    Vbp = 1,
    /// Pece et al. 2011: coarse luma plus two phase-shifted triangle waves in chroma ([`crate::schemes::triangle`]).
    Triangle = 2,
    /// Intel RealSense hue colourisation, 1530 levels on the hue wheel ([`crate::schemes::hue`]).
    Hue = 3,
}

impl Scheme {
    /// Every scheme, in encoding order.
    pub const ALL: [Scheme; 4] = [Scheme::LumaOnly, Scheme::Vbp, Scheme::Triangle, Scheme::Hue];

    /// Short lower-case name used on the command line and in CSV files.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::LumaOnly => "luma",
            Scheme::Vbp => "vbp",
            Scheme::Triangle => "triangle",
            Scheme::Hue => "hue",
        }
    }

    /// Parses [`Scheme::name`].
    pub fn from_name(name: &str) -> Option<Scheme> {
        Scheme::ALL.into_iter().find(|x| x.name() == name)
    }

    fn from_u8(v: u8) -> Option<Scheme> {
        Scheme::ALL.get(v as usize).copied()
    }
}

/// Where VBP puts its low bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum VbpLayout {
    /// Low part in the U plane, one value per 2x2 block (4:2:0); V neutral. Same frame size as the depth.
    Chroma = 0,
    /// Low part in luma: the frame is twice as tall, high rows on top, low rows below; chroma neutral.
    Luma = 1,
}

impl VbpLayout {
    /// Short lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            VbpLayout::Chroma => "chroma",
            VbpLayout::Luma => "luma",
        }
    }
    /// Parses [`VbpLayout::name`].
    pub fn from_name(name: &str) -> Option<VbpLayout> {
        [VbpLayout::Chroma, VbpLayout::Luma].into_iter().find(|x| x.name() == name)
    }
}

/// How depth in `near..=far` is mapped to the normalised value `n` in `0..=1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum RangeMode {
    /// `n = (z − near) / (far − near)`: equal steps in metres.
    Linear = 0,
    /// `n = (1/near − 1/z) / (1/near − 1/far)`: equal steps in disparity, finer near the camera.
    Disparity = 1,
}

impl RangeMode {
    /// Short lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            RangeMode::Linear => "linear",
            RangeMode::Disparity => "disparity",
        }
    }
    /// Parses [`RangeMode::name`].
    pub fn from_name(name: &str) -> Option<RangeMode> {
        [RangeMode::Linear, RangeMode::Disparity].into_iter().find(|x| x.name() == name)
    }
}

/// Bit depth of the video frame planes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BitDepth {
    /// 8-bit planes (`yuv420p`, NV12), codes 0..=255.
    Eight,
    /// 10-bit planes (`yuv420p10le`, P010), codes 0..=1023.
    Ten,
}

impl BitDepth {
    /// Number of bits per sample.
    pub const fn bits(self) -> u8 {
        match self {
            BitDepth::Eight => 8,
            BitDepth::Ten => 10,
        }
    }
    /// Largest code, `2^bits − 1`.
    pub const fn max_code(self) -> u16 {
        (1u16 << self.bits()) - 1
    }
    /// The neutral chroma code, `2^(bits−1)`.
    pub const fn neutral(self) -> u16 {
        1u16 << (self.bits() - 1)
    }
    /// Lowest luma code a valid pixel may use; codes below it are reserved for invalid pixels
    /// (4 codes at 8 bits, 16 at 10 bits). The receiver treats luma below `guard / 2` as invalid,
    /// so codec noise of up to ±`guard/2 − 1` codes on a background/near-plane border is tolerated.
    pub const fn guard(self) -> u16 {
        4u16 << (self.bits() - 8)
    }
    /// Parses 8 or 10.
    pub fn from_bits(bits: u8) -> Option<BitDepth> {
        match bits {
            8 => Some(BitDepth::Eight),
            10 => Some(BitDepth::Ten),
            _ => None,
        }
    }
}

/// Default triangle-wave period in levels (see [`crate::schemes::triangle`] for why 4096).
pub const DEFAULT_TRIANGLE_PERIOD: u32 = 4096;

/// Everything needed to unpack one frame. Travels in-band with the frame ([`PackParams::to_bytes`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PackParams {
    /// Packing scheme.
    pub scheme: Scheme,
    /// Bit depth of the frame planes.
    pub bit_depth: BitDepth,
    /// Quantisation precision P in bits (`2^P` levels). Luma-only: the plane bit depth; VBP and triangle:
    /// 8..=16 at 8 bits, 10..=20 at 10 bits; hue: ignored (fixed 1530 levels), stored as 0.
    pub precision: u8,
    /// VBP low-part layout (ignored by other schemes).
    pub layout: VbpLayout,
    /// Depth-to-`n` mapping.
    pub mode: RangeMode,
    /// VBP low-plane amplitude in 1/255 of the plane's code range (255 = full range, the default).
    /// Smaller amplitudes put less high-frequency content in the low plane.
    pub low_amplitude: u8,
    /// Triangle-wave period `n_p` in levels of `w = 2^P` (ignored by other schemes).
    pub period: u32,
    /// Near bound of the range in metres. Depths below it are clamped to it.
    pub near: f32,
    /// Far bound of the range in metres. Depths beyond it are invalid.
    pub far: f32,
    /// Width of the depth map in pixels (the frame may be padded to even).
    pub width: u32,
    /// Height of the depth map in pixels.
    pub height: u32,
    /// The map travels at half width and height ([`crate::resample`]): the sender keeps one
    /// sample of each 2x2 block and the receiver rebuilds `width x height` with an edge-aware
    /// upsampler. [`PackParams::packed`] gives the parameters of the map the planes hold.
    pub half: bool,
    /// Frame index in the sequence (wraps at 2^32).
    pub frame_index: u32,
}

impl std::fmt::Display for PackParams {
    /// Every field but the frame index, for messages: `vbp 8-bit P=16 luma linear amp=255
    /// period=4096 range 5e-1..3e1 640x360`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}-bit P={} {} {} amp={} period={} range {:e}..{:e} {}x{}",
            self.scheme.name(),
            self.bit_depth.bits(),
            self.precision,
            self.layout.name(),
            self.mode.name(),
            self.low_amplitude,
            self.period,
            self.near,
            self.far,
            self.width,
            self.height
        )?;
        if self.half {
            write!(f, " (sent at half size)")?;
        }
        Ok(())
    }
}

/// Number of bytes of [`PackParams::to_bytes`].
pub const PARAMS_LEN: usize = 28;
const MAGIC: u16 = 0x4443; // "DC"
const VERSION: u8 = 1;

impl PackParams {
    /// Parameters for `scheme` at `precision` over `near..far`, with the defaults of the other
    /// fields: 8-bit planes, linear mode, chroma layout, full low amplitude, period 4096, frame 0.
    pub fn new(scheme: Scheme, precision: u8, near: f32, far: f32, width: u32, height: u32) -> Self {
        PackParams {
            scheme,
            bit_depth: BitDepth::Eight,
            precision: if scheme == Scheme::Hue { 0 } else { precision },
            layout: VbpLayout::Chroma,
            mode: RangeMode::Linear,
            low_amplitude: 255,
            period: DEFAULT_TRIANGLE_PERIOD,
            near,
            far,
            width,
            height,
            half: false,
            frame_index: 0,
        }
    }

    /// Allowed precision range for a scheme at a bit depth.
    pub fn precision_range(scheme: Scheme, bit_depth: BitDepth) -> (u8, u8) {
        let b = bit_depth.bits();
        match scheme {
            Scheme::LumaOnly => (b, b),
            Scheme::Vbp | Scheme::Triangle => (b, b + 8),
            Scheme::Hue => (0, 0),
        }
    }

    /// Allowed triangle periods at a precision and bit depth: the luma plane must tell periods
    /// apart (`n_p · (luma codes) > 2^P`, see [`crate::schemes::triangle`]) and a period is at
    /// most half the levels.
    pub fn period_range(precision: u8, bit_depth: BitDepth) -> (u32, u32) {
        let w = 1u64 << precision;
        let codes = u64::from(bit_depth.max_code() - bit_depth.guard());
        let min = (w / codes + 1).max(16) as u32;
        (min, (w / 2) as u32)
    }

    /// Checks every field.
    ///
    /// # Errors
    /// The first field found out of range, with the allowed values.
    pub fn validate(&self) -> Result<()> {
        if self.width == 0 || self.height == 0 {
            return Err(PackError::EmptySize { width: self.width, height: self.height });
        }
        if self.width > 65534 || self.height > 32766 {
            return Err(PackError::TooLarge { width: self.width, height: self.height });
        }
        crate::range::DepthRange::new(self.near, self.far, self.mode)?;
        let (min, max) = Self::precision_range(self.scheme, self.bit_depth);
        if self.precision < min || self.precision > max {
            return Err(PackError::PrecisionOutOfRange {
                scheme: self.scheme,
                precision: self.precision,
                min,
                max,
                bits: self.bit_depth.bits(),
            });
        }
        if self.scheme == Scheme::Vbp && self.low_amplitude == 0 {
            return Err(PackError::InvalidAmplitude(0));
        }
        if self.scheme == Scheme::Triangle {
            let (min, max) = Self::period_range(self.precision, self.bit_depth);
            if self.period < min || self.period > max {
                return Err(PackError::InvalidPeriod { period: self.period, precision: self.precision, min, max });
            }
        }
        Ok(())
    }

    /// The depth range these parameters map.
    pub fn range(&self) -> Result<crate::range::DepthRange> {
        crate::range::DepthRange::new(self.near, self.far, self.mode)
    }

    /// The parameters of the map the frame planes hold: these, or for a map sent at half size
    /// ([`Self::half`]) the same at [`crate::resample::reduced_size`] with `half` off.
    pub fn packed(&self) -> PackParams {
        if !self.half {
            return *self;
        }
        let (width, height) = crate::resample::reduced_size(self.width, self.height, 2);
        PackParams { width, height, half: false, ..*self }
    }

    /// Frame size (luma plane) these parameters produce: the packed map's size
    /// ([`Self::packed`]) padded to even, and twice as tall for the VBP luma layout when it has
    /// low bits.
    pub fn frame_size(&self) -> (u32, u32) {
        let p = self.packed();
        let w = p.width.next_multiple_of(2);
        let h = p.height.next_multiple_of(2);
        if self.scheme == Scheme::Vbp && self.layout == VbpLayout::Luma && self.low_bits() > 0 {
            (w, 2 * h)
        } else {
            (w, h)
        }
    }

    /// Number of low bits VBP puts in the second plane (`P − bits`, 0 for other schemes).
    pub fn low_bits(&self) -> u8 {
        match self.scheme {
            Scheme::Vbp => self.precision.saturating_sub(self.bit_depth.bits()),
            _ => 0,
        }
    }

    /// Size of one quantisation step in metres at normalised position `normalised` (0 = near, 1 = far):
    /// the resolution a lossless round trip guarantees to half of.
    pub fn step_at(&self, normalised: f32) -> f32 {
        let levels = match self.scheme {
            Scheme::Hue => crate::schemes::hue::HUE_DEPTH_MAX as f32,
            Scheme::LumaOnly | Scheme::Vbp => {
                let b = self.bit_depth;
                let q0 = u32::from(b.guard()) << (self.precision - b.bits());
                ((1u64 << self.precision) - 1 - u64::from(q0)) as f32
            }
            Scheme::Triangle => crate::schemes::triangle::effective_levels(self),
        };
        let span = self.far - self.near;
        match self.mode {
            RangeMode::Linear => span / levels,
            RangeMode::Disparity => {
                // dz/dn = z^2 (1/near − 1/far)
                let r = crate::range::DepthRange::new(self.near, self.far, self.mode);
                match r {
                    Ok(r) => {
                        let z = r.denormalise(normalised);
                        z * z * (1.0 / self.near - 1.0 / self.far) / levels
                    }
                    Err(_) => f32::NAN,
                }
            }
        }
    }

    /// Encodes to [`PARAMS_LEN`] bytes: magic `"DC"`, version, fields little-endian, CRC-16/CCITT.
    ///
    /// | bytes | field |
    /// |---|---|
    /// | 0..2 | magic `0x4443` |
    /// | 2 | version (1) |
    /// | 3 | scheme (bits 0..3), 10-bit (bit 4), VBP luma layout (bit 5), disparity (bit 6), half size (bit 7) |
    /// | 4 | precision |
    /// | 5 | low amplitude |
    /// | 6..10 | triangle period (u32) |
    /// | 10..14 | near (f32) |
    /// | 14..18 | far (f32) |
    /// | 18..20 | width (u16) |
    /// | 20..22 | height (u16) |
    /// | 22..26 | frame index (u32) |
    /// | 26..28 | CRC-16/CCITT-FALSE of bytes 0..26 |
    pub fn to_bytes(&self) -> [u8; PARAMS_LEN] {
        let mut b = [0u8; PARAMS_LEN];
        b[0..2].copy_from_slice(&MAGIC.to_le_bytes());
        b[2] = VERSION;
        b[3] = (self.scheme as u8)
            | (u8::from(self.bit_depth == BitDepth::Ten) << 4)
            | ((self.layout as u8) << 5)
            | ((self.mode as u8) << 6)
            | (u8::from(self.half) << 7);
        b[4] = self.precision;
        b[5] = self.low_amplitude;
        b[6..10].copy_from_slice(&self.period.to_le_bytes());
        b[10..14].copy_from_slice(&self.near.to_le_bytes());
        b[14..18].copy_from_slice(&self.far.to_le_bytes());
        b[18..20].copy_from_slice(&(self.width.min(65535) as u16).to_le_bytes());
        b[20..22].copy_from_slice(&(self.height.min(65535) as u16).to_le_bytes());
        b[22..26].copy_from_slice(&self.frame_index.to_le_bytes());
        let crc = crc16(&b[..26]);
        b[26..28].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes [`PackParams::to_bytes`] and validates the result. Extra trailing bytes are ignored.
    ///
    /// # Errors
    /// [`PackError::MalformedParams`] for short input, wrong magic, version, checksum or enum
    /// values; the [`PackParams::validate`] error when the fields are out of range.
    pub fn from_bytes(bytes: &[u8]) -> Result<PackParams> {
        let bad = PackError::MalformedParams;
        if bytes.len() < PARAMS_LEN {
            return Err(bad(ParamsDecodeError::Truncated { needed: PARAMS_LEN, got: bytes.len() }));
        }
        let b = &bytes[..PARAMS_LEN];
        let magic = u16::from_le_bytes([b[0], b[1]]);
        if magic != MAGIC {
            return Err(bad(ParamsDecodeError::BadMagic(magic)));
        }
        if b[2] != VERSION {
            return Err(bad(ParamsDecodeError::UnsupportedVersion(b[2])));
        }
        let found = u16::from_le_bytes([b[26], b[27]]);
        let computed = crc16(&b[..26]);
        if found != computed {
            return Err(bad(ParamsDecodeError::BadChecksum { found, computed }));
        }
        let scheme = Scheme::from_u8(b[3] & 0x0f)
            .ok_or(bad(ParamsDecodeError::UnknownValue { field: "scheme", value: b[3] & 0x0f }))?;
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let p = PackParams {
            scheme,
            bit_depth: if b[3] & 0x10 != 0 { BitDepth::Ten } else { BitDepth::Eight },
            layout: if b[3] & 0x20 != 0 { VbpLayout::Luma } else { VbpLayout::Chroma },
            mode: if b[3] & 0x40 != 0 { RangeMode::Disparity } else { RangeMode::Linear },
            precision: b[4],
            low_amplitude: b[5],
            period: u32_at(6),
            near: f32::from_bits(u32_at(10)),
            far: f32::from_bits(u32_at(14)),
            width: u32::from(u16::from_le_bytes([b[18], b[19]])),
            height: u32::from(u16::from_le_bytes([b[20], b[21]])),
            half: b[3] & 0x80 != 0,
            frame_index: u32_at(22),
        };
        p.validate()?;
        Ok(p)
    }
}

/// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), the checksum of [`PackParams::to_bytes`].
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xffff;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_reference_check_value() {
        assert_eq!(crc16(b"123456789"), 0x29b1);
    }

    #[test]
    fn round_trip_and_rejections() {
        let mut p = PackParams::new(Scheme::Vbp, 12, 0.5, 20.0, 1919, 1081);
        p.layout = VbpLayout::Luma;
        p.mode = RangeMode::Disparity;
        p.frame_index = 0xdead_beef;
        p.low_amplitude = 64;
        let bytes = p.to_bytes();
        assert!(bytes.len() <= 32);
        assert_eq!(PackParams::from_bytes(&bytes).unwrap(), p);
        for i in 0..PARAMS_LEN {
            for bit in 0..8 {
                let mut b = bytes;
                b[i] ^= 1 << bit;
                assert!(PackParams::from_bytes(&b).is_err(), "flip byte {i} bit {bit} accepted");
            }
        }
        assert!(matches!(
            PackParams::from_bytes(&bytes[..10]),
            Err(PackError::MalformedParams(ParamsDecodeError::Truncated { .. }))
        ));
    }

    #[test]
    fn validate_reports_allowed_ranges() {
        let p = PackParams::new(Scheme::Vbp, 19, 0.5, 20.0, 64, 64);
        let e = p.validate().unwrap_err();
        assert_eq!(e.to_string(), "precision 19 is outside 8..=16 for Vbp with 8-bit planes");
        let mut p = PackParams::new(Scheme::Triangle, 16, 0.5, 20.0, 64, 64);
        p.period = 128;
        assert!(matches!(p.validate(), Err(PackError::InvalidPeriod { min: 262, .. })));
        p.period = 512;
        p.validate().unwrap();
        let p = PackParams::new(Scheme::LumaOnly, 8, 2.0, 1.0, 64, 64);
        assert!(matches!(p.validate(), Err(PackError::InvalidRange { .. })));
        let p = PackParams::new(Scheme::LumaOnly, 8, 1.0, f32::INFINITY, 64, 64);
        assert!(matches!(p.validate(), Err(PackError::InvalidRange { .. })));
        let p = PackParams::new(Scheme::LumaOnly, 8, 1.0, 2.0, 0, 64);
        assert!(matches!(p.validate(), Err(PackError::EmptySize { .. })));
    }
}
