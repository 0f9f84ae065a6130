//! Times the predictor without the CLI: features of a 1920x1080 frame, and the committed model run
//! by our int8 engine (scalar and best level), tract f32 and tract int8 (the same numbers as the
//! `"bench":"predict"` lines of `depthcast bench --json`).
//!
//! `cargo run --release -p depthcast-precision-net --features tract --example predict_bench`

use std::hint::black_box;
use std::time::Instant;

use depthcast_packing::testdata::game_scene;
use depthcast_precision_net::tract::TractModel;
use depthcast_precision_net::{CpuLevel, Engine, FeatureExtractor, QuantMlp, Settings, models};

fn per_call_ns(mut f: impl FnMut()) -> f64 {
    const REPS: usize = 2000;
    f();
    let mut t: Vec<f64> = (0..15)
        .map(|_| {
            let s = Instant::now();
            for _ in 0..REPS {
                f();
            }
            s.elapsed().as_nanos() as f64 / REPS as f64
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let depth = game_scene(1920, 1080, 0.0);
    let settings = Settings { bitrate: 4e6, fps: 30.0, hevc: false, bits: 8 };
    let mut fx = FeatureExtractor::new();
    let f = fx.extract(&depth.view(), &settings);
    let features = per_call_ns(|| {
        black_box(fx.extract(black_box(&depth.view()), &settings));
    });
    println!("features (1920x1080): {features:.0} ns");
    let model = QuantMlp::from_bytes(models::INT8)?;
    let mut own = f64::INFINITY;
    for level in [CpuLevel::Scalar, CpuLevel::detect()] {
        let mut e = Engine::with_level(model.clone(), level);
        let ns = per_call_ns(|| {
            black_box(e.run(black_box(&f)).expect("engine").len());
        });
        own = own.min(ns);
        println!("own_int8 {:<8}: {ns:.0} ns", level.name());
    }
    let mut tract = f64::INFINITY;
    for (name, bytes) in [("tract_f32", models::F32), ("tract_int8", models::INT8)] {
        let t = TractModel::from_bytes(bytes, f.len())?;
        let ns = per_call_ns(|| {
            black_box(t.run(black_box(&f)).expect("tract"));
        });
        tract = tract.min(ns);
        println!("{name:<17}: {ns:.0} ns");
    }
    println!(
        "own int8 (best level) is {:.1}x faster than the faster tract; features + own int8 = {:.0} ns",
        tract / own,
        features + own
    );
    Ok(())
}
