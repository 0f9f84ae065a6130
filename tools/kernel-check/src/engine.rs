//! precision-net's int8 engine at each level against scalar, bit for bit: `matvec` on random
//! layers (every padding remainder, extreme weights and activations) and on the committed model's
//! own layers, then the whole engine on the committed validation set (and on scaled copies of it
//! that saturate the input quantisation).

use depthcast_packing::CpuLevel;
use depthcast_precision_net::kernels::{self, Weights};
use depthcast_precision_net::{Engine, NUM_FEATURES, QuantMlp, models, simd};

use crate::Report;
use crate::rng::Rng;

/// The committed validation features (test scenes only), `[n][NUM_FEATURES]` f32 little-endian:
/// the file precision-net's own tests read.
const VALIDATION: &[u8] = include_bytes!("../../../precision-net/models/validation.f32");

/// Marker the accumulators start as.
const MARK: i32 = 0x5a5a_5a5a;

fn validation() -> Vec<Vec<f32>> {
    let v: Vec<f32> = VALIDATION.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    assert!(!v.is_empty() && v.len().is_multiple_of(NUM_FEATURES), "validation.f32 is [n][{NUM_FEATURES}] f32");
    v.chunks(NUM_FEATURES).map(<[f32]>::to_vec).collect()
}

/// `matvec` of `w` on `a` at `level` (into a buffer a little longer than the padded outputs).
fn matvec(level: CpuLevel, w: &Weights, a: &[u8]) -> Vec<i32> {
    let mut acc = vec![MARK; w.out_pad + 3];
    if level == CpuLevel::Scalar {
        kernels::matvec(w, a, &mut acc);
    } else {
        simd::matvec(level, w, a, &mut acc);
    }
    acc
}

fn compare_matvec(report: &mut Report, level: CpuLevel, check: &str, label: &str, w: &Weights, a: &[u8]) {
    let at = |i: usize| format!("{label}; output {i} (inputs {}, outputs {})", w.inputs, w.outputs);
    report.compare(check, level, &at, "accumulators", &matvec(CpuLevel::Scalar, w, a), &matvec(level, w, a));
}

/// Runs the engine checks at `levels`.
pub fn check(levels: &[CpuLevel], report: &mut Report) {
    let model = match QuantMlp::from_bytes(models::INT8) {
        Ok(m) => m,
        Err(e) => return report.fail(format!("the committed int8 model does not load: {e}")),
    };
    let val = validation();
    let mut rng = Rng::new(0x5eed_0003);
    for &level in levels {
        // Random layers: every remainder of the padding, and extreme fills.
        for inputs in (1..=20).chain([31, 48, 64, 65, 130]) {
            for outputs in [1, 5, 8, 9, 16, 23, 32, 33] {
                for fill in 0..5 {
                    let weight = |r: &mut Rng| match fill {
                        0 | 4 => r.u32() as i8,
                        1 => 0,
                        2 => 127,
                        _ => -128,
                    };
                    let w: Vec<i8> = (0..inputs * outputs).map(|_| weight(&mut rng)).collect();
                    let bias: Vec<i32> = (0..outputs)
                        .map(|_| if fill == 4 { rng.u32() as i32 >> 4 } else { rng.below(20_001) as i32 - 10_000 })
                        .collect();
                    let wt = Weights::new(&w, inputs, outputs, &bias);
                    // Activations are `in_pad` long, zero past the real inputs (as the engine keeps them).
                    let mut a = vec![0u8; wt.in_pad + rng.index(3)];
                    for x in a.iter_mut().take(inputs) {
                        *x = match fill {
                            1 => 0,
                            2 | 3 => 255,
                            _ => rng.u32() as u8,
                        };
                    }
                    let label = format!("random layer fill {fill}");
                    compare_matvec(report, level, "matvec random layers", &label, &wt, &a);
                }
            }
        }
        // The committed model's layers on random activations.
        for (li, layer) in model.layers.iter().enumerate() {
            for round in 0..200 {
                let w = &layer.weights;
                let mut a = vec![0u8; w.in_pad];
                for x in a.iter_mut().take(w.inputs) {
                    *x = if round % 10 == 0 { 255 } else { rng.u32() as u8 };
                }
                compare_matvec(report, level, "matvec model layers", &format!("model layer {li}"), w, &a);
            }
        }
        // The whole engine on the validation set, then on scaled copies that saturate.
        let mut scalar = Engine::with_level(model.clone(), CpuLevel::Scalar);
        let mut engine = Engine::with_level(model.clone(), level);
        if engine.level() != level {
            report.fail(format!("Engine::with_level({}) runs at {}", level.name(), engine.level().name()));
        }
        for (check, factors) in [
            ("engine validation set", &[1.0f32][..]),
            ("engine scaled features", &[0.0, -1.0, 3.0, 40.0, -1e9, f32::NAN]),
        ] {
            for (k, x) in val.iter().enumerate() {
                for &f in factors {
                    let x: Vec<f32> = x.iter().map(|v| v * f).collect();
                    let (want, got) = match (scalar.run(&x), engine.run(&x)) {
                        (Ok(a), Ok(b)) => (a.to_vec(), b.to_vec()),
                        (a, b) => {
                            return report.fail(format!(
                                "engine run failed on vector {k}: {:?} / {:?}",
                                a.err(),
                                b.err()
                            ));
                        }
                    };
                    let at = |i: usize| format!("validation vector {k} times {f}; output code {i}");
                    report.compare(check, level, &at, "output codes", &want, &got);
                }
            }
        }
    }
}
