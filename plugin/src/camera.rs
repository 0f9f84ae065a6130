//! A Bevy camera's pose and projection as depthcast's [`CameraBlock`] (what RGB-D streams carry
//! in-band with each frame).

use bevy::math::Mat4;
use depthcast_packing::{CameraBlock, CameraPose, Intrinsics};

/// The pose of a camera-to-world transform (scale ignored, the rotation normalised).
pub fn pose(world_from_view: &Mat4) -> CameraPose {
    let (_, rotation, position) = world_from_view.to_scale_rotation_translation();
    CameraPose { position: position.to_array(), rotation: rotation.normalize().to_array() }
}

/// The camera block of frame `index` rendered `width x height` from `world_from_view` (the
/// camera's pose) with `clip_from_view` (Bevy's perspective projection, reverse-Z, finite or
/// infinite far plane; off-centre projections keep their principal point).
pub fn camera_block(index: u32, world_from_view: &Mat4, clip_from_view: &Mat4, width: u32, height: u32) -> CameraBlock {
    let m = clip_from_view;
    let (w, h) = (width as f32, height as f32);
    // Reverse-Z: z_clip = a·z + b with a = n/(f−n) (0 for an infinite far plane) and
    // b = n·f/(f−n) (n for an infinite one), so n = b / (a + 1).
    let near = m.w_axis.z / (m.z_axis.z + 1.0);
    CameraBlock {
        frame_index: index,
        pose: pose(world_from_view),
        intrinsics: Intrinsics {
            width,
            height,
            fx: m.x_axis.x * w / 2.0,
            fy: m.y_axis.y * h / 2.0,
            cx: (1.0 - m.z_axis.x) * w / 2.0,
            cy: (1.0 + m.z_axis.y) * h / 2.0,
            near,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy::math::{Quat, Vec3};

    #[test]
    fn bevy_perspective_gives_the_pinhole_intrinsics() {
        let fov = std::f32::consts::FRAC_PI_4;
        let proj = Mat4::perspective_infinite_reverse_rh(fov, 1280.0 / 720.0, 0.1);
        let pose = Mat4::from_rotation_translation(Quat::from_rotation_y(0.3), Vec3::new(1.0, 2.0, 3.0));
        let b = camera_block(7, &pose, &proj, 1280, 720);
        let want = Intrinsics::from_fov_y(fov, 1280, 720, 0.1);
        let k = b.intrinsics;
        assert!((k.fx - want.fx).abs() < 1e-2 && (k.fy - want.fy).abs() < 1e-2, "{k:?} vs {want:?}");
        assert!((k.cx - 640.0).abs() < 1e-4 && (k.cy - 360.0).abs() < 1e-4 && (k.near - 0.1).abs() < 1e-6);
        b.validate().unwrap();
        // A point in front of the camera projects where Bevy's clip space puts it.
        let world = Vec3::new(1.5, 2.2, 1.0);
        let clip = proj * pose.inverse() * world.extend(1.0);
        let ndc = clip.truncate() / clip.w;
        let (x, y, _) = k.project(b.pose.to_camera(world.to_array())).unwrap();
        assert!((x - (ndc.x + 1.0) * 640.0).abs() < 1e-2 && (y - (1.0 - ndc.y) * 360.0).abs() < 1e-2);
    }
}
