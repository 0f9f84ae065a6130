//! Depth views and the conversion from Bevy's reverse-Z depth buffer.

use crate::error::{PackError, Result};

/// What an invalid pixel unpacks to: `0.0` metres, never a plausible distance (every valid depth
/// is at least `near > 0`). Test with [`is_valid_depth`].
pub const INVALID_DEPTH: f32 = 0.0;

/// Whether an unpacked depth is a real distance (finite and positive).
#[inline]
pub fn is_valid_depth(depth: f32) -> bool {
    depth > 0.0 && depth.is_finite()
}

/// A borrowed depth map: `height` rows of `width` linear view depths in metres, rows `stride`
/// elements apart.
#[derive(Debug, Clone, Copy)]
pub struct DepthView<'a> {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Distance between row starts, in elements (≥ width).
    pub stride: usize,
    /// The samples.
    pub data: &'a [f32],
}

impl<'a> DepthView<'a> {
    /// Wraps a buffer.
    ///
    /// # Errors
    /// Empty size, stride shorter than the width, or a buffer shorter than
    /// `stride · (height − 1) + width`.
    pub fn new(width: u32, height: u32, stride: usize, data: &'a [f32]) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(PackError::EmptySize { width, height });
        }
        if stride < width as usize {
            return Err(PackError::StrideTooSmall { stride, width });
        }
        let needed = stride * (height as usize - 1) + width as usize;
        if data.len() < needed {
            return Err(PackError::BufferTooShort { needed, got: data.len() });
        }
        Ok(DepthView { width, height, stride, data })
    }

    /// Row `index` (exactly `width` samples).
    #[inline]
    pub fn row(&self, index: u32) -> &'a [f32] {
        let s = index as usize * self.stride;
        &self.data[s..s + self.width as usize]
    }

    /// Iterates over the rows.
    pub fn rows(&self) -> impl Iterator<Item = &'a [f32]> + '_ {
        (0..self.height).map(|y| self.row(y))
    }
}

/// Linear view depth in metres from Bevy's reverse-Z, infinite-far NDC depth: `z = near / ndc`.
/// `ndc == 0` (cleared background, at infinity) and any non-positive or NaN `ndc` give
/// `f32::INFINITY`, which every scheme packs as invalid.
///
/// This is the CPU twin of `shaders/linearize_depth.wgsl`.
#[inline]
pub fn ndc_to_linear(ndc: f32, near: f32) -> f32 {
    if ndc > 0.0 { near / ndc } else { f32::INFINITY }
}

/// [`ndc_to_linear`] over a whole buffer: `out[i] = ndc_to_linear(ndc[i], near)`.
///
/// # Panics
/// If `out` is shorter than `ndc`.
pub fn linearize_ndc(ndc: &[f32], near: f32, out: &mut [f32]) {
    assert!(out.len() >= ndc.len(), "output shorter than input");
    for (o, &d) in out.iter_mut().zip(ndc) {
        *o = ndc_to_linear(d, near);
    }
}

/// An owned depth map, `width · height` samples, tightly packed.
#[derive(Debug, Clone, PartialEq)]
pub struct DepthImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row-major samples in metres; [`INVALID_DEPTH`] where invalid.
    pub data: Vec<f32>,
}

impl DepthImage {
    /// An image filled with [`INVALID_DEPTH`].
    pub fn new(width: u32, height: u32) -> Self {
        DepthImage { width, height, data: vec![INVALID_DEPTH; width as usize * height as usize] }
    }

    /// Borrows as a view.
    pub fn view(&self) -> DepthView<'_> {
        DepthView { width: self.width, height: self.height, stride: self.width as usize, data: &self.data }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndc_background_is_infinite() {
        assert_eq!(ndc_to_linear(0.0, 0.1), f32::INFINITY);
        assert_eq!(ndc_to_linear(-0.0, 0.1), f32::INFINITY);
        assert_eq!(ndc_to_linear(f32::NAN, 0.1), f32::INFINITY);
        assert_eq!(ndc_to_linear(1.0, 0.1), 0.1);
        assert!((ndc_to_linear(0.01, 0.1) - 10.0).abs() < 1e-5);
    }

    #[test]
    fn view_checks_shape() {
        let d = [0.0f32; 10];
        assert!(DepthView::new(3, 3, 3, &d).is_ok());
        assert!(matches!(DepthView::new(3, 4, 3, &d), Err(PackError::BufferTooShort { needed: 12, got: 10 })));
        assert!(matches!(DepthView::new(4, 2, 3, &d), Err(PackError::StrideTooSmall { .. })));
        assert!(matches!(DepthView::new(0, 2, 3, &d), Err(PackError::EmptySize { .. })));
        // The last row may end before the stride does.
        assert!(DepthView::new(2, 3, 4, &d).is_ok());
    }
}
