//! The integer engine against its scalar reference (every SIMD level, bit for bit) and against
//! tract running the same committed `.onnx` files (within one output quantisation step).

use depthcast_precision_net::kernels::{self, Weights};
use depthcast_precision_net::{CpuLevel, Engine, NUM_FEATURES, QuantMlp, models, simd};

/// The committed validation features (test scenes only), `[n][NUM_FEATURES]` f32 little-endian.
fn validation() -> Vec<Vec<f32>> {
    let b = include_bytes!("../models/validation.f32");
    let v: Vec<f32> = b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    assert!(!v.is_empty() && v.len().is_multiple_of(NUM_FEATURES));
    v.chunks(NUM_FEATURES).map(<[f32]>::to_vec).collect()
}

fn levels() -> Vec<CpuLevel> {
    let mut v = Vec::new();
    for &l in CpuLevel::compiled() {
        if l.is_supported() {
            v.push(l);
        } else {
            println!("SKIP level {}: not supported by this CPU (not tested here)", l.name());
        }
    }
    v
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }
}

#[test]
fn every_level_matches_scalar_matvec() {
    let lv = levels();
    let mut r = Lcg(7);
    let shapes = [(1, 1), (3, 5), (4, 8), (17, 9), (48, 32), (33, 64), (64, 8), (5, 23)];
    for &(inputs, outputs) in &shapes {
        for fill in 0..4 {
            let w: Vec<i8> = (0..inputs * outputs)
                .map(|_| match fill {
                    0 => (r.next() % 256) as u8 as i8,
                    1 => 0,
                    2 => 127,
                    _ => -128,
                })
                .collect();
            let bias: Vec<i32> = (0..outputs).map(|_| (r.next() % 20_001) as i32 - 10_000).collect();
            let wt = Weights::new(&w, inputs, outputs, &bias);
            let mut a = vec![0u8; wt.in_pad];
            for (i, x) in a.iter_mut().take(inputs).enumerate() {
                *x = match fill {
                    0 => (r.next() % 256) as u8,
                    1 => 0,
                    _ => 255 - (i % 2) as u8,
                };
            }
            let mut want = vec![0i32; wt.out_pad];
            kernels::matvec(&wt, &a, &mut want);
            // Independent check of the reference itself.
            for o in 0..outputs {
                let s: i32 = (0..inputs).map(|i| i32::from(a[i]) * i32::from(w[o * inputs + i])).sum();
                assert_eq!(want[o], bias[o] + s);
            }
            for &level in &lv {
                let mut got = vec![0i32; wt.out_pad];
                simd::matvec(level, &wt, &a, &mut got);
                assert_eq!(got, want, "level {} shape {inputs}x{outputs} fill {fill}", level.name());
            }
        }
    }
}

#[test]
fn every_level_gives_the_same_codes_on_the_validation_set() {
    let model = QuantMlp::from_bytes(models::INT8).expect("committed int8 model");
    assert_eq!(model.inputs(), NUM_FEATURES);
    assert_eq!(model.outputs(), model.metadata_list("candidates").len());
    let mut reference = Engine::with_level(model.clone(), CpuLevel::Scalar);
    for level in levels() {
        let mut e = Engine::with_level(model.clone(), level);
        for x in validation() {
            assert_eq!(e.run(&x).unwrap(), reference.run(&x).unwrap(), "level {}", level.name());
        }
    }
}

#[test]
fn bad_inputs_are_errors() {
    assert!(QuantMlp::from_bytes(b"not a model").is_err());
    assert!(QuantMlp::from_bytes(models::F32).is_err(), "the f32 graph is not the integer chain");
    let mut e = Engine::new(QuantMlp::from_bytes(models::INT8).unwrap());
    assert!(e.run(&[0.0; 3]).is_err());
}

#[cfg(feature = "tract")]
#[test]
fn own_int8_matches_tract_int8_within_one_step() {
    use depthcast_precision_net::tract::TractModel;
    let model = QuantMlp::from_bytes(models::INT8).unwrap();
    let (s, zp) = (model.out_scale, model.out_zp);
    let mut e = Engine::new(model);
    let t8 = TractModel::from_bytes(models::INT8, NUM_FEATURES).expect("tract loads the int8 model");
    let t32 = TractModel::from_bytes(models::F32, NUM_FEATURES).expect("tract loads the f32 model");
    let (mut exact, mut total, mut worst, mut agree) = (0usize, 0usize, 0i32, 0usize);
    let val = validation();
    for x in &val {
        let ours = e.run(x).unwrap().to_vec();
        let theirs = t8.run(x).unwrap();
        for (&q, &f) in ours.iter().zip(&theirs) {
            let tq = (f / s).round() as i32 + zp;
            let d = (i32::from(q) - tq).abs();
            worst = worst.max(d);
            exact += usize::from(d == 0);
            total += 1;
        }
        let f32_out = t32.run(x).unwrap();
        // First index among equal maxima, as the switcher breaks ties (int8 scores do tie).
        let am = |v: &[f32]| (0..v.len()).fold(0, |b, k| if v[k] > v[b] { k } else { b });
        agree += usize::from(am(&f32_out) == am(&theirs));
    }
    println!(
        "own int8 vs tract int8: {exact}/{total} outputs identical, worst {worst} step(s); int8 vs f32 argmax agreement {agree}/{}",
        val.len()
    );
    assert!(worst <= 1, "outputs differ by {worst} quantisation steps");
}
