//! The built-in scene ([`super::BUILTIN_SCENE`]): a 16 m x 16 m room with walls, boxes, a pillar,
//! a ramp and two spheres, one of them moving, so the demo and tests need no files. Built from
//! Bevy's primitive meshes; the moving sphere follows `x = 4 sin(0.8 t)` at 1.2 m height.

use bevy::prelude::*;

/// Moves along its path with the app's time.
#[derive(Component)]
pub(crate) struct Mover {
    origin: Vec3,
}

/// Spawns the room into `world`.
pub(crate) fn spawn(world: &mut World) {
    let material = world.resource_mut::<Assets<StandardMaterial>>().add(StandardMaterial::default());
    let mut meshes = Vec::new();
    {
        let mut assets = world.resource_mut::<Assets<Mesh>>();
        let mut cuboid = |size: Vec3, at: Vec3, rot: Quat| {
            meshes.push((
                assets.add(Cuboid::from_size(size)),
                Transform::from_translation(at).with_rotation(rot),
                false,
            ));
        };
        cuboid(Vec3::new(16.0, 0.1, 16.0), Vec3::new(0.0, -0.05, 0.0), Quat::IDENTITY); // floor
        cuboid(Vec3::new(16.0, 4.0, 0.2), Vec3::new(0.0, 2.0, -8.0), Quat::IDENTITY); // back wall
        cuboid(Vec3::new(0.2, 4.0, 16.0), Vec3::new(-8.0, 2.0, 0.0), Quat::IDENTITY); // left wall
        cuboid(Vec3::new(0.2, 4.0, 10.0), Vec3::new(8.0, 2.0, -3.0), Quat::IDENTITY); // right wall, a gap
        cuboid(Vec3::ONE, Vec3::new(-3.0, 0.5, -2.0), Quat::from_rotation_y(0.4)); // box
        cuboid(Vec3::new(2.0, 1.5, 1.0), Vec3::new(3.0, 0.75, -4.0), Quat::IDENTITY); // crate
        cuboid(Vec3::new(0.8, 4.0, 0.8), Vec3::new(0.0, 2.0, -5.0), Quat::IDENTITY); // pillar
        cuboid(Vec3::new(3.0, 0.2, 1.5), Vec3::new(-4.5, 0.6, 3.0), Quat::from_rotation_z(0.35)); // ramp
        let sphere = assets.add(Sphere::new(0.7));
        meshes.push((sphere, Transform::from_xyz(1.5, 0.7, 1.0), false));
        let ball = assets.add(Sphere::new(0.5));
        meshes.push((ball, Transform::from_xyz(0.0, 1.2, -1.0), true));
    }
    for (mesh, transform, moving) in meshes {
        let mut e = world.spawn((Mesh3d(mesh), MeshMaterial3d(material.clone()), transform));
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
