//! Procedural game-like levels ([`Level`]): the varied training scenes precision-net needs, each
//! fixed by a seed and rendered like any glTF scene (`depthcast render --scene level:SEED`).
//!
//! Four kinds, each with the geometry of a game genre and a camera path of its own:
//!
//! | kind | geometry | camera |
//! |---|---|---|
//! | [`LevelKind::Interior`] | rooms on a grid joined by corridors (a random spanning tree plus loops), props, a ceiling or open sky | walks the corridors at eye height, 1.5–5 m/s |
//! | [`LevelKind::Terrain`] | a heightfield of summed ridges, trees, rocks, huts; sky beyond | flies 1.7–30 m above the ground, 3–20 m/s |
//! | [`LevelKind::City`] | blocks of towers with setbacks, streets, lamp posts, moving cars | drives a street, or flies over the roofs |
//! | [`LevelKind::Arena`] | open ground with scattered props, ramps, low walls | circles the centre |
//!
//! Every level has moving objects (sliding, bobbing and spinning parts). The layout
//! ([`Level::from_seed`]) is plain data, testable without a GPU; [`Level::spawn`] turns it into
//! Bevy meshes with flat colours (drawn unlit headless, like every scene here).

use std::f32::consts::{PI, TAU};

use bevy::asset::RenderAssetUsages;
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;

use crate::camera_path::{CameraPath, Keyframe, PathFile, PathSpace};

/// Scene names `level:SEED` render [`Level::from_seed`]`(SEED)`.
pub const LEVEL_SCENE_PREFIX: &str = "level:";

/// Length of every level's camera path in seconds (held after its end).
pub const LEVEL_PATH_SECONDS: f32 = 60.0;

/// Keyframes per second of a level's camera path.
const PATH_RATE: f32 = 10.0;

/// SplitMix64: a seed always gives the same level.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..hi`.
    fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next() >> 40) as f32 / (1u64 << 24) as f32)
    }
    /// Log-uniform in `lo..hi` (both positive).
    fn log_uniform(&mut self, lo: f32, hi: f32) -> f32 {
        self.uniform(lo.ln(), hi.ln()).exp()
    }
    /// Uniform integer in `lo..=hi`.
    fn int(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
    fn chance(&mut self, p: f32) -> bool {
        self.uniform(0.0, 1.0) < p
    }
    /// A flat colour that is never black (black is the clear colour, where depth is invalid).
    fn colour(&mut self) -> [u8; 3] {
        let c = Color::hsl(self.uniform(0.0, 360.0), self.uniform(0.2, 0.8), self.uniform(0.3, 0.75)).to_srgba();
        [c.red, c.green, c.blue].map(|v| (v * 255.0).round().clamp(24.0, 255.0) as u8)
    }
}

/// The genre of a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelKind {
    /// Rooms and corridors.
    Interior,
    /// Open terrain.
    Terrain,
    /// City blocks.
    City,
    /// Props on open ground.
    Arena,
}

impl LevelKind {
    /// The kind of the level of `seed`: they cycle with the seed (`seed % 4`).
    pub fn of_seed(seed: u64) -> LevelKind {
        [LevelKind::Interior, LevelKind::Terrain, LevelKind::City, LevelKind::Arena][(seed % 4) as usize]
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            LevelKind::Interior => "interior",
            LevelKind::Terrain => "terrain",
            LevelKind::City => "city",
            LevelKind::Arena => "arena",
        }
    }
}

/// The shape of a [`Part`], centred on its position (a heightfield: its grid centred in x and z).
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A box of this size.
    Cuboid(Vec3),
    /// A sphere of this radius.
    Sphere(f32),
    /// An upright cylinder.
    Cylinder {
        /// Radius, metres.
        radius: f32,
        /// Height, metres.
        height: f32,
    },
    /// A square heightfield: `n x n` heights in metres, row-major in z then x, over `size` metres.
    Heightfield {
        /// Side length, metres.
        size: f32,
        /// Vertices per side.
        n: usize,
        /// Heights.
        heights: Vec<f32>,
    },
}

/// Motion of a moving part: `position = origin + amplitude · sin(ω t + phase)`, turning about y at
/// `spin` rad/s.
#[derive(Debug, Clone, Copy, PartialEq, Component)]
pub struct Motion {
    /// Position at rest.
    pub origin: Vec3,
    /// Displacement at the sine's peak, metres.
    pub amplitude: Vec3,
    /// Angular frequency, rad/s.
    pub omega: f32,
    /// Phase, radians.
    pub phase: f32,
    /// Turn rate about y, rad/s.
    pub spin: f32,
}

/// One mesh of a level.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// What it is.
    pub shape: Shape,
    /// Where its centre is, metres.
    pub at: Vec3,
    /// Rotation.
    pub rotation: Quat,
    /// Flat colour (sRGB bytes).
    pub colour: [u8; 3],
    /// How it moves, if it does.
    pub motion: Option<Motion>,
}

/// A procedural level: parts and a camera path, all from one seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    /// The seed.
    pub seed: u64,
    /// Its genre.
    pub kind: LevelKind,
    /// Its meshes.
    pub parts: Vec<Part>,
    /// Its camera path (world coordinates, [`LEVEL_PATH_SECONDS`] long).
    pub path: PathFile,
}

impl Level {
    /// The seed of a scene name `level:SEED`, if it is one.
    pub fn parse_name(name: &str) -> Option<u64> {
        name.strip_prefix(LEVEL_SCENE_PREFIX)?.parse().ok()
    }

    /// The level of `seed`: the kind cycles with the seed (`seed % 4`: interior, terrain, city,
    /// arena), everything else is drawn from it.
    pub fn from_seed(seed: u64) -> Level {
        let mut rng = Rng(seed ^ 0xD3B7_C0DE_0000_0000);
        let mut b = Builder { rng: &mut rng, parts: Vec::new() };
        let kind = LevelKind::of_seed(seed);
        let path = match kind {
            LevelKind::Interior => b.interior(),
            LevelKind::Terrain => b.terrain(),
            LevelKind::City => b.city(),
            LevelKind::Arena => b.arena(),
        };
        let parts = b.parts;
        Level { seed, kind, parts, path }
    }

    /// The level's camera path.
    pub fn camera_path(&self) -> CameraPath {
        CameraPath::Custom(self.path.clone())
    }

    /// Spawns the level's meshes into `world` (moving ones carry their [`Motion`]).
    pub fn spawn(&self, world: &mut World) {
        for part in &self.parts {
            let mesh = match &part.shape {
                Shape::Cuboid(size) => Cuboid::from_size(*size).into(),
                Shape::Sphere(r) => Sphere::new(*r).mesh().uv(20, 12),
                Shape::Cylinder { radius, height } => Cylinder::new(*radius, *height).mesh().resolution(16).into(),
                Shape::Heightfield { size, n, heights } => heightfield_mesh(*size, *n, heights),
            };
            let mesh = world.resource_mut::<Assets<Mesh>>().add(mesh);
            let [r, g, b] = part.colour;
            let material = world
                .resource_mut::<Assets<StandardMaterial>>()
                .add(StandardMaterial::from_color(Color::srgb_u8(r, g, b)));
            let transform = Transform::from_translation(part.at).with_rotation(part.rotation);
            let mut e = world.spawn((Mesh3d(mesh), MeshMaterial3d(material), transform));
            if let Some(m) = part.motion {
                e.insert(m);
            }
        }
    }
}

/// Moves every part that has a [`Motion`].
pub(crate) fn animate(time: Res<Time>, mut parts: Query<(&Motion, &mut Transform)>) {
    let t = time.elapsed_secs();
    for (m, mut tf) in &mut parts {
        tf.translation = m.origin + m.amplitude * (m.omega * t + m.phase).sin();
        tf.rotation = Quat::from_rotation_y(m.spin * t);
    }
}

/// A mesh of a heightfield, with normals from central differences.
fn heightfield_mesh(size: f32, n: usize, heights: &[f32]) -> Mesh {
    let step = size / (n - 1) as f32;
    let h = |x: usize, z: usize| heights[z.min(n - 1) * n + x.min(n - 1)];
    let mut positions = Vec::with_capacity(n * n);
    let mut normals = Vec::with_capacity(n * n);
    let mut uvs = Vec::with_capacity(n * n);
    for z in 0..n {
        for x in 0..n {
            positions.push([x as f32 * step - 0.5 * size, h(x, z), z as f32 * step - 0.5 * size]);
            let dx = (h(x + 1, z) - h(x.saturating_sub(1), z)) / (2.0 * step);
            let dz = (h(x, z + 1) - h(x, z.saturating_sub(1))) / (2.0 * step);
            normals.push(Vec3::new(-dx, 1.0, -dz).normalize().to_array());
            uvs.push([x as f32 / (n - 1) as f32, z as f32 / (n - 1) as f32]);
        }
    }
    let mut indices = Vec::with_capacity((n - 1) * (n - 1) * 6);
    for z in 0..n - 1 {
        for x in 0..n - 1 {
            let i = (z * n + x) as u32;
            let (right, down) = (i + 1, i + n as u32);
            indices.extend_from_slice(&[i, down, right, right, down, down + 1]);
        }
    }
    Mesh::new(PrimitiveTopology::TriangleList, RenderAssetUsages::default())
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
        .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, normals)
        .with_inserted_attribute(Mesh::ATTRIBUTE_UV_0, uvs)
        .with_inserted_indices(Indices::U32(indices))
}

/// Bilinear height of a heightfield at world `(x, z)` (its grid centred on the origin).
fn terrain_height(size: f32, n: usize, heights: &[f32], x: f32, z: f32) -> f32 {
    let step = size / (n - 1) as f32;
    let gx = ((x + 0.5 * size) / step).clamp(0.0, (n - 1) as f32 - 1e-3);
    let gz = ((z + 0.5 * size) / step).clamp(0.0, (n - 1) as f32 - 1e-3);
    let (ix, iz) = (gx as usize, gz as usize);
    let (fx, fz) = (gx - ix as f32, gz - iz as f32);
    let at = |x: usize, z: usize| heights[z * n + x];
    let top = at(ix, iz) * (1.0 - fx) + at(ix + 1, iz) * fx;
    let bottom = at(ix, iz + 1) * (1.0 - fx) + at(ix + 1, iz + 1) * fx;
    top * (1.0 - fz) + bottom * fz
}

/// Builds a level's parts and camera path.
struct Builder<'a> {
    rng: &'a mut Rng,
    parts: Vec<Part>,
}

impl Builder<'_> {
    fn add(&mut self, shape: Shape, at: Vec3, yaw: f32) -> &mut Part {
        let colour = self.rng.colour();
        self.parts.push(Part { shape, at, rotation: Quat::from_rotation_y(yaw), colour, motion: None });
        self.parts.last_mut().expect("just pushed")
    }

    fn mover(&mut self, shape: Shape, at: Vec3, amplitude: Vec3, omega: f32, spin: f32) {
        let phase = self.rng.uniform(0.0, TAU);
        let part = self.add(shape, at, 0.0);
        part.motion = Some(Motion { origin: at, amplitude, omega, phase, spin });
    }

    /// A wall along an axis-aligned segment from `a` to `b` (x, z), `height` tall, 0.2 m thick.
    fn wall(&mut self, a: Vec2, b: Vec2, height: f32) {
        let d = (b - a).abs();
        if d.x.max(d.y) < 0.05 {
            return;
        }
        let size = Vec3::new(d.x.max(0.2), height, d.y.max(0.2));
        let mid = 0.5 * (a + b);
        self.add(Shape::Cuboid(size), Vec3::new(mid.x, 0.5 * height, mid.y), 0.0);
    }

    /// Rooms on a grid, joined by corridors; the camera walks from room centre to room centre.
    fn interior(&mut self) -> PathFile {
        let cell = self.rng.uniform(10.0, 16.0);
        let (nx, nz) = (self.rng.int(2, 4), self.rng.int(2, 4));
        let height = self.rng.uniform(2.6, 4.5);
        let corridor = self.rng.uniform(1.8, 3.0);
        let origin = -0.5 * cell * Vec2::new(nx as f32, nz as f32);
        let rooms: Vec<(Vec2, Vec2)> = (0..nx * nz)
            .map(|i| {
                let c = origin + cell * Vec2::new((i % nx) as f32 + 0.5, (i / nx) as f32 + 0.5);
                let max = 0.5 * cell - 1.2;
                (c, Vec2::new(self.rng.uniform(3.0, max), self.rng.uniform(3.0, max)))
            })
            .collect();
        // A random spanning tree (depth-first), plus a loop now and then.
        let neighbours = |i: usize| {
            let (x, z) = (i % nx, i / nx);
            let mut v = Vec::new();
            if x > 0 {
                v.push(i - 1);
            }
            if x + 1 < nx {
                v.push(i + 1);
            }
            if z > 0 {
                v.push(i - nx);
            }
            if z + 1 < nz {
                v.push(i + nx);
            }
            v
        };
        let mut linked = vec![false; nx * nz];
        let mut edges: Vec<(usize, usize)> = Vec::new();
        let mut stack = vec![self.rng.int(0, nx * nz - 1)];
        linked[stack[0]] = true;
        while let Some(&i) = stack.last() {
            let open: Vec<usize> = neighbours(i).into_iter().filter(|&j| !linked[j]).collect();
            if open.is_empty() {
                stack.pop();
                continue;
            }
            let j = open[self.rng.int(0, open.len() - 1)];
            linked[j] = true;
            edges.push((i.min(j), i.max(j)));
            stack.push(j);
        }
        for i in 0..nx * nz {
            for j in neighbours(i) {
                if i < j && !edges.contains(&(i, j)) && self.rng.chance(0.25) {
                    edges.push((i, j));
                }
            }
        }
        let extent = cell * Vec2::new(nx as f32, nz as f32) + Vec2::splat(2.0);
        self.add(Shape::Cuboid(Vec3::new(extent.x, 0.2, extent.y)), Vec3::new(0.0, -0.1, 0.0), 0.0);
        if self.rng.chance(0.6) {
            self.add(Shape::Cuboid(Vec3::new(extent.x, 0.2, extent.y)), Vec3::new(0.0, height + 0.1, 0.0), 0.0);
        }
        // Room walls, with a doorway where a corridor meets them; corridor walls between.
        let w = 0.5 * corridor;
        for (i, &(c, h)) in rooms.iter().enumerate() {
            let door_to = |j: Option<usize>| j.is_some_and(|j| edges.contains(&(i.min(j), i.max(j))));
            let (x, z) = (i % nx, i / nx);
            let east = door_to((x + 1 < nx).then(|| i + 1));
            let west = door_to((x > 0).then(|| i - 1));
            let south = door_to((z + 1 < nz).then(|| i + nx));
            let north = door_to((z > 0).then(|| i - nx));
            for (sign, door) in [(1.0, east), (-1.0, west)] {
                let x = c.x + sign * h.x;
                let (lo, hi) = (c.y - h.y, c.y + h.y);
                if door {
                    self.wall(Vec2::new(x, lo), Vec2::new(x, c.y - w), height);
                    self.wall(Vec2::new(x, c.y + w), Vec2::new(x, hi), height);
                } else {
                    self.wall(Vec2::new(x, lo), Vec2::new(x, hi), height);
                }
            }
            for (sign, door) in [(1.0, south), (-1.0, north)] {
                let z = c.y + sign * h.y;
                let (lo, hi) = (c.x - h.x, c.x + h.x);
                if door {
                    self.wall(Vec2::new(lo, z), Vec2::new(c.x - w, z), height);
                    self.wall(Vec2::new(c.x + w, z), Vec2::new(hi, z), height);
                } else {
                    self.wall(Vec2::new(lo, z), Vec2::new(hi, z), height);
                }
            }
            self.room_props(c, h, height);
        }
        for &(i, j) in &edges {
            let ((a, ha), (b, hb)) = (rooms[i], rooms[j]);
            if j == i + 1 {
                let (x0, x1) = (a.x + ha.x, b.x - hb.x);
                for s in [-w, w] {
                    self.wall(Vec2::new(x0, a.y + s), Vec2::new(x1, a.y + s), height);
                }
            } else {
                let (z0, z1) = (a.y + ha.y, b.y - hb.y);
                for s in [-w, w] {
                    self.wall(Vec2::new(a.x + s, z0), Vec2::new(a.x + s, z1), height);
                }
            }
        }
        // A walk over the corridors: on to a random neighbour, back only from a dead end.
        let speed = self.rng.uniform(1.5, 5.0);
        let eye = self.rng.uniform(1.5, 1.8);
        let mut at = self.rng.int(0, nx * nz - 1);
        let mut prev = usize::MAX;
        let mut points = vec![rooms[at].0];
        let mut length = 0.0;
        while length < speed * LEVEL_PATH_SECONDS + 10.0 {
            let next: Vec<usize> =
                neighbours(at).into_iter().filter(|&j| edges.contains(&(at.min(j), at.max(j)))).collect();
            let forward: Vec<usize> = next.iter().copied().filter(|&j| j != prev).collect();
            let pick = if forward.is_empty() { &next } else { &forward };
            let j = pick[self.rng.int(0, pick.len() - 1)];
            length += rooms[at].0.distance(rooms[j].0);
            (prev, at) = (at, j);
            points.push(rooms[at].0);
        }
        let points: Vec<Vec3> = points.iter().map(|p| Vec3::new(p.x, eye, p.y)).collect();
        polyline_path(&points, false, speed, 3.0, 0.3)
    }

    /// Crates, pillars, balls and tables in a room's four quadrants (off the walk's cross), and
    /// now and then a ball rolling across it.
    fn room_props(&mut self, c: Vec2, h: Vec2, height: f32) {
        for _ in 0..self.rng.int(2, 7) {
            let sx = if self.rng.chance(0.5) { 1.0 } else { -1.0 };
            let sz = if self.rng.chance(0.5) { 1.0 } else { -1.0 };
            let x = c.x + sx * self.rng.uniform(1.6, h.x - 0.7);
            let z = c.y + sz * self.rng.uniform(1.6, h.y - 0.7);
            let yaw = self.rng.uniform(0.0, PI);
            match self.rng.int(0, 3) {
                0 => {
                    let s = self.rng.uniform(0.5, 1.2);
                    self.add(Shape::Cuboid(Vec3::splat(s)), Vec3::new(x, 0.5 * s, z), yaw);
                    if self.rng.chance(0.4) {
                        let t = 0.8 * s;
                        self.add(Shape::Cuboid(Vec3::splat(t)), Vec3::new(x, s + 0.5 * t, z), yaw + 0.3);
                    }
                }
                1 => {
                    let radius = self.rng.uniform(0.2, 0.5);
                    self.add(Shape::Cylinder { radius, height }, Vec3::new(x, 0.5 * height, z), 0.0);
                }
                2 => {
                    let r = self.rng.uniform(0.25, 0.6);
                    self.add(Shape::Sphere(r), Vec3::new(x, r, z), 0.0);
                }
                _ => {
                    self.add(Shape::Cuboid(Vec3::new(1.4, 0.08, 0.8)), Vec3::new(x, 0.75, z), yaw);
                    self.add(Shape::Cylinder { radius: 0.08, height: 0.71 }, Vec3::new(x, 0.355, z), 0.0);
                }
            }
        }
        if self.rng.chance(0.5) {
            let r = self.rng.uniform(0.2, 0.45);
            let z = c.y + self.rng.uniform(1.6, h.y - 0.7) * if self.rng.chance(0.5) { 1.0 } else { -1.0 };
            let omega = self.rng.uniform(0.5, 2.0);
            let y = self.rng.uniform(r, 1.5);
            self.mover(Shape::Sphere(r), Vec3::new(c.x, y, z), Vec3::X * (h.x - r - 0.3), omega, 0.0);
        }
    }

    /// A heightfield of summed ridges with trees, rocks and huts; the camera circles over it.
    fn terrain(&mut self) -> PathFile {
        let size = self.rng.uniform(120.0, 320.0);
        let n = 81;
        let amplitude = self.rng.log_uniform(1.0, 25.0);
        let waves: Vec<(Vec2, f32, f32, f32)> = (0..6)
            .map(|k| {
                let a = self.rng.uniform(0.0, TAU);
                let f = TAU / size * self.rng.uniform(1.0, 3.0) * 2f32.powi(k);
                (Vec2::from_angle(a), f, amplitude * 0.5f32.powi(k), self.rng.uniform(0.0, TAU))
            })
            .collect();
        let floor = self.rng.chance(0.3).then(|| self.rng.uniform(-0.5, 0.0) * amplitude);
        let step = size / (n - 1) as f32;
        let heights: Vec<f32> = (0..n * n)
            .map(|i| {
                let p = Vec2::new((i % n) as f32, (i / n) as f32) * step - Vec2::splat(0.5 * size);
                let h: f32 = waves.iter().map(|&(d, f, a, ph)| a * (d.dot(p) * f + ph).sin()).sum();
                floor.map_or(h, |f| h.max(f))
            })
            .collect();
        let ground = |x: f32, z: f32| terrain_height(size, n, &heights, x, z);
        let scatter = |b: &mut Self| {
            let (x, z) = (b.rng.uniform(-0.45, 0.45) * size, b.rng.uniform(-0.45, 0.45) * size);
            (x, z, ground(x, z))
        };
        for _ in 0..self.rng.int(10, 120) {
            let (x, z, y) = scatter(self);
            let (r, h) = (self.rng.uniform(0.15, 0.4), self.rng.uniform(2.0, 6.0));
            self.add(Shape::Cylinder { radius: r, height: h }, Vec3::new(x, y + 0.5 * h, z), 0.0);
            let crown = self.rng.uniform(1.0, 3.0);
            self.add(Shape::Sphere(crown), Vec3::new(x, y + h + 0.7 * crown, z), 0.0);
        }
        for _ in 0..self.rng.int(5, 40) {
            let (x, z, y) = scatter(self);
            let r = self.rng.log_uniform(0.3, 3.0);
            self.add(Shape::Sphere(r), Vec3::new(x, y + 0.4 * r, z), 0.0);
        }
        for _ in 0..self.rng.int(0, 6) {
            let (x, z, y) = scatter(self);
            let s = Vec3::new(self.rng.uniform(3.0, 8.0), self.rng.uniform(2.5, 5.0), self.rng.uniform(3.0, 8.0));
            let yaw = self.rng.uniform(0.0, PI);
            self.add(Shape::Cuboid(s), Vec3::new(x, y + 0.5 * s.y - 0.3, z), yaw);
        }
        for _ in 0..self.rng.int(1, 4) {
            let (x, z, y) = scatter(self);
            let dir = Vec2::from_angle(self.rng.uniform(0.0, TAU)) * self.rng.uniform(5.0, 20.0);
            let omega = self.rng.uniform(0.2, 0.6);
            if self.rng.chance(0.5) {
                let s = Vec3::new(self.rng.uniform(2.0, 4.0), 1.5, self.rng.uniform(1.5, 2.0));
                self.mover(Shape::Cuboid(s), Vec3::new(x, y + 0.75, z), Vec3::new(dir.x, 0.0, dir.y), omega, 0.0);
            } else {
                let at = Vec3::new(x, y + self.rng.uniform(5.0, 15.0), z);
                let r = self.rng.uniform(0.3, 1.0);
                self.mover(Shape::Sphere(r), at, Vec3::new(dir.x, 2.0, dir.y), omega, 0.0);
            }
        }
        self.add(Shape::Heightfield { size, n, heights: heights.clone() }, Vec3::ZERO, 0.0);
        // A circle (wobbling in radius) at a height above the ground.
        let radius = self.rng.uniform(0.15, 0.35) * size;
        let above = self.rng.log_uniform(1.7, 30.0);
        let speed = self.rng.uniform(3.0, 20.0);
        let turn = if self.rng.chance(0.5) { 1.0 } else { -1.0 };
        let wobble = self.rng.uniform(0.0, 0.3);
        let points: Vec<Vec3> = (0..144)
            .map(|k| {
                let a = turn * TAU * k as f32 / 144.0;
                let r = radius * (1.0 + wobble * (3.0 * a).sin());
                let (x, z) = (r * a.cos(), r * a.sin());
                Vec3::new(x, ground(x, z) + above, z)
            })
            .collect();
        polyline_path(&points, true, speed, 12.0, 0.4 * above)
    }

    /// Blocks of towers between streets, lamp posts and cars; the camera drives round a block or
    /// flies over the roofs.
    fn city(&mut self) -> PathFile {
        let nb = self.rng.int(3, 6);
        let block = self.rng.uniform(20.0, 40.0);
        let street = self.rng.uniform(8.0, 16.0);
        let pitch = block + street;
        let extent = nb as f32 * pitch + street;
        let half = 0.5 * extent;
        self.add(Shape::Cuboid(Vec3::new(extent, 0.2, extent)), Vec3::new(0.0, -0.1, 0.0), 0.0);
        // Street centre lines (x = line, and z = line).
        let lines: Vec<f32> = (0..=nb).map(|i| -half + 0.5 * street + i as f32 * pitch).collect();
        let mut tallest = 0.0f32;
        for i in 0..nb {
            for j in 0..nb {
                let lo = Vec2::new(-half + street + i as f32 * pitch, -half + street + j as f32 * pitch);
                let (sx, sz) = (self.rng.int(1, 2), self.rng.int(1, 2));
                let lot = Vec2::new(block / sx as f32, block / sz as f32);
                for a in 0..sx {
                    for b in 0..sz {
                        let inset = self.rng.uniform(1.0, 3.0);
                        let c = lo + lot * Vec2::new(a as f32 + 0.5, b as f32 + 0.5);
                        let foot = lot - Vec2::splat(2.0 * inset);
                        let h = self.rng.log_uniform(6.0, 80.0);
                        tallest = tallest.max(h);
                        self.add(Shape::Cuboid(Vec3::new(foot.x, h, foot.y)), Vec3::new(c.x, 0.5 * h, c.y), 0.0);
                        if self.rng.chance(0.3) {
                            let top = h * self.rng.uniform(0.3, 1.0);
                            tallest = tallest.max(h + top);
                            let s = Vec3::new(0.6 * foot.x, top, 0.6 * foot.y);
                            self.add(Shape::Cuboid(s), Vec3::new(c.x, h + 0.5 * top, c.y), 0.0);
                        }
                    }
                }
            }
        }
        for _ in 0..self.rng.int(10, 60) {
            let along = self.rng.uniform(-half, half);
            let line =
                lines[self.rng.int(0, nb)] + (0.5 * street - 0.6) * if self.rng.chance(0.5) { 1.0 } else { -1.0 };
            let at = if self.rng.chance(0.5) { Vec3::new(along, 2.5, line) } else { Vec3::new(line, 2.5, along) };
            self.add(Shape::Cylinder { radius: 0.12, height: 5.0 }, at, 0.0);
        }
        for _ in 0..self.rng.int(3, 12) {
            let line = lines[self.rng.int(0, nb)] + self.rng.uniform(-0.25, 0.25) * street;
            let amplitude = self.rng.uniform(10.0, 0.45 * extent);
            let omega = self.rng.uniform(5.0, 15.0) / amplitude;
            let along_x = self.rng.chance(0.5);
            let (at, amp, size) = if along_x {
                (Vec3::new(0.0, 0.75, line), Vec3::X * amplitude, Vec3::new(4.4, 1.5, 1.8))
            } else {
                (Vec3::new(line, 0.75, 0.0), Vec3::Z * amplitude, Vec3::new(1.8, 1.5, 4.4))
            };
            self.mover(Shape::Cuboid(size), at, amp, omega, 0.0);
        }
        if self.rng.chance(0.5) {
            // Drive round the block between two adjacent streets each way.
            let (i, j) = (self.rng.int(0, nb - 1), self.rng.int(0, nb - 1));
            let eye = self.rng.uniform(1.5, 2.5);
            let (x0, x1, z0, z1) = (lines[i], lines[i + 1], lines[j], lines[j + 1]);
            let mut corners =
                vec![Vec3::new(x0, eye, z0), Vec3::new(x1, eye, z0), Vec3::new(x1, eye, z1), Vec3::new(x0, eye, z1)];
            if self.rng.chance(0.5) {
                corners.reverse();
            }
            polyline_path(&corners, true, self.rng.uniform(5.0, 15.0), 8.0, 0.5)
        } else {
            let height = tallest + self.rng.uniform(5.0, 40.0);
            let radius = self.rng.uniform(0.2, 0.4) * extent;
            let points: Vec<Vec3> =
                (0..96).map(|k| (Vec2::from_angle(TAU * k as f32 / 96.0) * radius).extend(height).xzy()).collect();
            polyline_path(&points, true, self.rng.uniform(8.0, 25.0), 20.0, 0.6 * height)
        }
    }

    /// Props, ramps and low walls on open ground; the camera circles the centre, looking at it or
    /// ahead.
    fn arena(&mut self) -> PathFile {
        let size = self.rng.uniform(30.0, 80.0);
        let half = 0.5 * size;
        self.add(Shape::Cuboid(Vec3::new(size, 0.2, size)), Vec3::new(0.0, -0.1, 0.0), 0.0);
        if self.rng.chance(0.7) {
            let h = self.rng.uniform(1.0, 4.0);
            for k in 0..8 {
                if self.rng.chance(0.75) {
                    let (a, b) = (-half + (k % 2) as f32 * half, -half + (k % 2 + 1) as f32 * half);
                    let side = if k / 2 % 2 == 0 { -half } else { half };
                    if k < 4 {
                        self.wall(Vec2::new(a, side), Vec2::new(b, side), h);
                    } else {
                        self.wall(Vec2::new(side, a), Vec2::new(side, b), h);
                    }
                }
            }
        }
        let radius = self.rng.uniform(0.2, 0.42) * size;
        let clear = |p: Vec2| (p.length() - radius).abs() > 2.5;
        for _ in 0..self.rng.int(15, 80) {
            let p = Vec2::new(self.rng.uniform(-0.45, 0.45), self.rng.uniform(-0.45, 0.45)) * size;
            if !clear(p) {
                continue;
            }
            let yaw = self.rng.uniform(0.0, PI);
            match self.rng.int(0, 3) {
                0 => {
                    let s = Vec3::new(
                        self.rng.uniform(0.5, 4.0),
                        self.rng.log_uniform(0.5, 6.0),
                        self.rng.uniform(0.5, 4.0),
                    );
                    self.add(Shape::Cuboid(s), Vec3::new(p.x, 0.5 * s.y, p.y), yaw);
                }
                1 => {
                    let (radius, height) = (self.rng.uniform(0.2, 1.5), self.rng.uniform(0.5, 8.0));
                    self.add(Shape::Cylinder { radius, height }, Vec3::new(p.x, 0.5 * height, p.y), 0.0);
                }
                2 => {
                    let r = self.rng.uniform(0.3, 2.0);
                    self.add(Shape::Sphere(r), Vec3::new(p.x, r, p.y), 0.0);
                }
                _ => {
                    let s = Vec3::new(self.rng.uniform(3.0, 8.0), 0.3, self.rng.uniform(1.5, 3.0));
                    let tilt = self.rng.uniform(0.15, 0.5);
                    let part = self.add(Shape::Cuboid(s), Vec3::new(p.x, 0.5 * s.x * tilt.sin(), p.y), 0.0);
                    part.rotation = Quat::from_rotation_y(yaw) * Quat::from_rotation_z(tilt);
                }
            }
        }
        for _ in 0..self.rng.int(2, 8) {
            let p = Vec2::new(self.rng.uniform(-0.35, 0.35), self.rng.uniform(-0.35, 0.35)) * size;
            let dir = Vec2::from_angle(self.rng.uniform(0.0, TAU)) * self.rng.uniform(2.0, 0.3 * size);
            let (omega, spin) = (self.rng.uniform(0.3, 1.5), self.rng.uniform(-2.0, 2.0));
            let shape = if self.rng.chance(0.5) {
                Shape::Sphere(self.rng.uniform(0.3, 1.2))
            } else {
                Shape::Cuboid(Vec3::new(
                    self.rng.uniform(0.5, 2.5),
                    self.rng.uniform(0.5, 2.5),
                    self.rng.uniform(0.5, 2.5),
                ))
            };
            let y = self.rng.uniform(1.3, 4.0);
            let bob = self.rng.uniform(0.0, 1.0);
            self.mover(shape, Vec3::new(p.x, y, p.y), Vec3::new(dir.x, bob, dir.y), omega, spin);
        }
        let height = self.rng.uniform(1.7, 12.0);
        let speed = self.rng.uniform(2.0, 10.0);
        let turn = if self.rng.chance(0.5) { 1.0 } else { -1.0 };
        let points: Vec<Vec3> =
            (0..96).map(|k| (Vec2::from_angle(turn * TAU * k as f32 / 96.0) * radius).extend(height).xzy()).collect();
        if self.rng.chance(0.5) {
            return polyline_path(&points, true, speed, 6.0, 0.3 * height);
        }
        // Looking at the centre all the way round.
        let path = polyline_path(&points, true, speed, 6.0, 0.0);
        let keyframes = path.keyframes.iter().map(|k| Keyframe { target: [0.0, 0.5, 0.0], ..*k }).collect();
        PathFile { space: PathSpace::World, keyframes }
    }
}

/// Keyframes ([`PATH_RATE`] a second for [`LEVEL_PATH_SECONDS`]) of a camera moving along
/// `points` (at least two) at `speed` m/s (round and round when `closed`, else held at the end), looking at the
/// point `look` metres further along, `drop` metres lower.
fn polyline_path(points: &[Vec3], closed: bool, speed: f32, look: f32, drop: f32) -> PathFile {
    let mut pts = points.to_vec();
    if closed {
        pts.push(points[0]);
    }
    let cumulative: Vec<f32> = std::iter::once(0.0)
        .chain(pts.windows(2).scan(0.0, |s, w| {
            *s += w[0].distance(w[1]);
            Some(*s)
        }))
        .collect();
    let total = *cumulative.last().expect("at least one point");
    let at = |s: f32| {
        let s = if closed && total > 0.0 { s.rem_euclid(total) } else { s.clamp(0.0, total) };
        let i = cumulative.partition_point(|&c| c <= s).clamp(1, pts.len() - 1);
        let len = cumulative[i] - cumulative[i - 1];
        if len <= 0.0 { pts[i - 1] } else { pts[i - 1].lerp(pts[i], (s - cumulative[i - 1]) / len) }
    };
    let mut direction = Vec3::NEG_Z;
    let keyframes = (0..=(LEVEL_PATH_SECONDS * PATH_RATE) as usize)
        .map(|k| {
            let t = k as f32 / PATH_RATE;
            let eye = at(speed * t);
            let ahead = at(speed * t + look) - Vec3::Y * drop - eye;
            if ahead.length() > 0.3 {
                direction = ahead.normalize();
            }
            let target = eye + look.max(1.0) * direction;
            Keyframe { t, eye: eye.to_array(), target: target.to_array() }
        })
        .collect();
    PathFile { space: PathSpace::World, keyframes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_one_level_and_the_kinds_cycle() {
        assert_eq!(Level::from_seed(7), Level::from_seed(7));
        assert_ne!(Level::from_seed(7).parts, Level::from_seed(11).parts);
        let kinds: Vec<LevelKind> = (0..4).map(|s| Level::from_seed(s).kind).collect();
        assert_eq!(kinds, [LevelKind::Interior, LevelKind::Terrain, LevelKind::City, LevelKind::Arena]);
        assert_eq!(Level::parse_name("level:42"), Some(42));
        assert_eq!(Level::parse_name("level:x"), None);
        assert_eq!(Level::parse_name("builtin:room"), None);
    }

    #[test]
    fn every_level_has_moving_parts_and_a_finite_moving_camera() {
        for seed in 0..40 {
            let level = Level::from_seed(seed);
            assert!(level.parts.iter().any(|p| p.motion.is_some()), "seed {seed}: nothing moves");
            assert!(level.parts.len() >= 5, "seed {seed}: {} parts", level.parts.len());
            let keys = &level.path.keyframes;
            assert_eq!(keys.len(), (LEVEL_PATH_SECONDS * PATH_RATE) as usize + 1);
            for k in keys {
                assert!(k.eye.iter().chain(&k.target).all(|v| v.is_finite()), "seed {seed}: {k:?}");
                let d = Vec3::from(k.target) - Vec3::from(k.eye);
                assert!(d.length() > 0.5, "seed {seed}: target on the eye at t = {}", k.t);
            }
            let travelled = Vec3::from(keys[10].eye).distance(Vec3::from(keys[0].eye));
            assert!(travelled > 0.1, "seed {seed}: the camera stands still ({travelled} m in 1 s)");
        }
    }

    /// Where the camera walks or drives, nothing stands: the interior walk stays in rooms and
    /// corridors, the terrain flight above the ground.
    #[test]
    fn the_camera_keeps_clear_of_walls_and_ground() {
        for seed in (0..60).filter(|s| s % 4 == 0) {
            let level = Level::from_seed(seed);
            for k in level.path.keyframes.iter().step_by(5) {
                let eye = Vec3::from(k.eye);
                for p in &level.parts {
                    if let (Shape::Cuboid(size), None) = (&p.shape, p.motion) {
                        let local = p.rotation.inverse() * (eye - p.at);
                        let inside = (local.abs() - 0.5 * *size).max_element() < 0.0;
                        assert!(!inside, "interior seed {seed}: the eye {eye} at t = {} is inside {p:?}", k.t);
                    }
                }
            }
        }
        for seed in (0..60).filter(|s| s % 4 == 1) {
            let level = Level::from_seed(seed);
            let Some(Shape::Heightfield { size, n, heights }) =
                level.parts.iter().map(|p| &p.shape).find(|s| matches!(s, Shape::Heightfield { .. }))
            else {
                panic!("terrain seed {seed} has no heightfield");
            };
            for k in &level.path.keyframes {
                let ground = terrain_height(*size, *n, heights, k.eye[0], k.eye[2]);
                assert!(k.eye[1] > ground + 1.0, "terrain seed {seed}: eye {:?} vs ground {ground}", k.eye);
            }
        }
    }

    #[test]
    fn heightfield_mesh_has_a_vertex_per_sample_and_upward_normals() {
        let heights: Vec<f32> = (0..16).map(|i| (i % 4) as f32 * 0.5).collect();
        let mesh = heightfield_mesh(3.0, 4, &heights);
        assert_eq!(mesh.count_vertices(), 16);
        assert_eq!(mesh.indices().map(|i| i.len()), Some(9 * 6));
        assert!((terrain_height(3.0, 4, &heights, 0.0, 0.0) - 0.75).abs() < 1e-5);
        let Some(bevy::mesh::VertexAttributeValues::Float32x3(normals)) = mesh.attribute(Mesh::ATTRIBUTE_NORMAL) else {
            panic!("no normals");
        };
        assert!(normals.iter().all(|n| n[1] > 0.5 && n[0] < 0.0), "{normals:?}");
    }
}
