//! The built-in scene ([`super::BUILTIN_SCENE`]): a 16 m x 16 m room with walls, boxes, a pillar,
//! a ramp and two spheres, one of them moving, so the demo and tests need no files. Built from
//! Bevy's primitive meshes; the moving sphere follows `x = 4 sin(0.8 t)` at 1.2 m height.
//!
//! Colours (for the colour capture and reprojection): the floor is a 1 m checkerboard of two
//! greens ([`FLOOR_COLOURS`]), the walls a checkerboard of two browns, every other object a
//! flat colour of its own; no colour is black (the clear colour, where depth is invalid). Headless
//! renders draw them unlit, so a pixel's bytes are exactly one of these sRGB colours (textures
//! sampled nearest, without mipmaps).

use bevy::asset::RenderAssetUsages;
use bevy::image::{ImageAddressMode, ImageSampler, ImageSamplerDescriptor};
use bevy::math::Affine2;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};

/// The floor's two checkerboard colours (sRGB bytes); its top face is the plane y = 0.
pub const FLOOR_COLOURS: [[u8; 3]; 2] = [[70, 140, 80], [150, 200, 120]];
const WALL_COLOURS: [[u8; 3]; 2] = [[200, 170, 120], [120, 100, 80]];
const OBJECT_COLOURS: [[u8; 3]; 6] =
    [[200, 60, 50], [60, 90, 200], [230, 200, 40], [160, 80, 200], [40, 200, 200], [250, 130, 30]];

/// A 2x2 checkerboard texture that repeats, sampled nearest.
fn checker(images: &mut Assets<Image>, [a, b]: [[u8; 3]; 2]) -> Handle<Image> {
    let texel = |c: [u8; 3]| [c[0], c[1], c[2], 255];
    let data = [texel(a), texel(b), texel(b), texel(a)].concat();
    let mut image = Image::new(
        Extent3d { width: 2, height: 2, depth_or_array_layers: 1 },
        TextureDimension::D2,
        data,
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::RENDER_WORLD,
    );
    image.sampler = ImageSampler::Descriptor(ImageSamplerDescriptor {
        address_mode_u: ImageAddressMode::Repeat,
        address_mode_v: ImageAddressMode::Repeat,
        ..ImageSamplerDescriptor::nearest()
    });
    images.add(image)
}

/// Moves along its path with the app's time.
#[derive(Component)]
pub(crate) struct Mover {
    origin: Vec3,
}

/// Spawns the room into `world`.
pub(crate) fn spawn(world: &mut World) {
    let (floor_tex, wall_tex) = {
        let mut images = world.resource_mut::<Assets<Image>>();
        (checker(&mut images, FLOOR_COLOURS), checker(&mut images, WALL_COLOURS))
    };
    let materials = {
        let mut m = world.resource_mut::<Assets<StandardMaterial>>();
        // Cuboid faces map UV 0..1 once; `repeats` cells of the 2x2 texture per face.
        let mut textured = |texture: Handle<Image>, repeats: f32| {
            m.add(StandardMaterial {
                base_color_texture: Some(texture),
                uv_transform: Affine2::from_scale(Vec2::splat(repeats / 2.0)),
                ..default()
            })
        };
        let (floor, wall) = (textured(floor_tex, 16.0), textured(wall_tex, 8.0));
        let solid: Vec<Handle<StandardMaterial>> = OBJECT_COLOURS
            .iter()
            .map(|&[r, g, b]| m.add(StandardMaterial::from_color(Color::srgb_u8(r, g, b))))
            .collect();
        (floor, wall, solid)
    };
    let (floor, wall, solid) = materials;
    let mut meshes = Vec::new();
    {
        let mut assets = world.resource_mut::<Assets<Mesh>>();
        let mut cuboid = |size: Vec3, at: Vec3, rot: Quat, material: &Handle<StandardMaterial>| {
            meshes.push((
                assets.add(Cuboid::from_size(size)),
                Transform::from_translation(at).with_rotation(rot),
                material.clone(),
                false,
            ));
        };
        cuboid(Vec3::new(16.0, 0.1, 16.0), Vec3::new(0.0, -0.05, 0.0), Quat::IDENTITY, &floor); // floor
        cuboid(Vec3::new(16.0, 4.0, 0.2), Vec3::new(0.0, 2.0, -8.0), Quat::IDENTITY, &wall); // back wall
        cuboid(Vec3::new(0.2, 4.0, 16.0), Vec3::new(-8.0, 2.0, 0.0), Quat::IDENTITY, &wall); // left wall
        cuboid(Vec3::new(0.2, 4.0, 10.0), Vec3::new(8.0, 2.0, -3.0), Quat::IDENTITY, &wall); // right wall, a gap
        cuboid(Vec3::ONE, Vec3::new(-3.0, 0.5, -2.0), Quat::from_rotation_y(0.4), &solid[0]); // box
        cuboid(Vec3::new(2.0, 1.5, 1.0), Vec3::new(3.0, 0.75, -4.0), Quat::IDENTITY, &solid[1]); // crate
        cuboid(Vec3::new(0.8, 4.0, 0.8), Vec3::new(0.0, 2.0, -5.0), Quat::IDENTITY, &solid[2]); // pillar
        cuboid(Vec3::new(3.0, 0.2, 1.5), Vec3::new(-4.5, 0.6, 3.0), Quat::from_rotation_z(0.35), &solid[3]); // ramp
        let sphere = assets.add(Sphere::new(0.7));
        meshes.push((sphere, Transform::from_xyz(1.5, 0.7, 1.0), solid[4].clone(), false));
        let ball = assets.add(Sphere::new(0.5));
        meshes.push((ball, Transform::from_xyz(0.0, 1.2, -1.0), solid[5].clone(), true));
    }
    for (mesh, transform, material, moving) in meshes {
        let mut e = world.spawn((Mesh3d(mesh), MeshMaterial3d(material), transform));
        if moving {
            e.insert(Mover { origin: transform.translation });
        }
    }
}

/// Moves the moving sphere.
pub(crate) fn animate(time: Res<Time>, mut movers: Query<(&Mover, &mut Transform)>) {
    let t = time.elapsed_secs();
    for (m, mut tf) in &mut movers {
        tf.translation = m.origin + Vec3::new(4.0 * (0.8 * t).sin(), 0.0, 0.0);
    }
}
