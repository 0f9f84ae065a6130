//! Procedural levels render headless (Mesa's software Vulkan in CI): each kind gives depth with
//! geometry in view from its first frame, within the level's extent, and a camera that moves.

use depthcast_scene::{Level, LevelKind, SceneRenderConfig, SceneRenderer};

#[test]
fn every_level_kind_renders_moving_depth_inside_its_extent() {
    for seed in 0..4u64 {
        let level = Level::from_seed(seed);
        let mut cfg = SceneRenderConfig::new(format!("level:{seed}"));
        (cfg.width, cfg.height, cfg.frames, cfg.log) = (160, 90, 6, false);
        assert_eq!(cfg.path, level.camera_path(), "level {seed}: the config's default path is the level's");
        let mut r = SceneRenderer::new(cfg).unwrap_or_else(|e| panic!("level {seed}: {e}"));
        assert_eq!(r.info().meshes, level.parts.len(), "level {seed}: one mesh per part");
        let reach = 2.0 * r.info().bounds.radius();
        let mut frames = Vec::new();
        while let Some(f) = r.next_frame().expect("frame") {
            frames.push(f.data.clone());
            r.recycle(f);
        }
        assert_eq!(frames.len(), 6);
        let valid = |d: &[f32]| d.iter().filter(|z| z.is_finite() && **z > 0.0).count() as f64 / d.len() as f64;
        let first = &frames[0];
        // Interiors and cities fill the view; terrain and arenas may show sky above the horizon.
        let least = if matches!(level.kind, LevelKind::Interior | LevelKind::City) { 0.95 } else { 0.3 };
        assert!(valid(first) >= least, "level {seed} ({:?}): {:.2} of the first frame valid", level.kind, valid(first));
        for z in first.iter().filter(|z| z.is_finite() && **z > 0.0) {
            assert!(*z < reach, "level {seed}: depth {z} m beyond the level's reach {reach} m");
        }
        let last = &frames[5];
        let changed = first.iter().zip(last).filter(|(a, b)| (*a - *b).abs() > 1e-3).count();
        assert!(changed * 10 > first.len(), "level {seed}: only {changed} pixels changed in 5 frames");
    }
}
