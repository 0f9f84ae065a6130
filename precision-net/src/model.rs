//! The integer-only MLP engine and the exact ONNX graph it implements.
//!
//! The int8 model file is a chain of standard ONNX operators that tract runs with an integer
//! matrix product (`MatMulInteger` becomes tract's quantised `EinSum` with i32 accumulation):
//!
//! ```text
//! x: f32[1, F] ── QuantizeLinear(s_in, zp_in: u8) ── a_0: u8[1, F]
//! for each layer l:
//!   a_l ── MatMulInteger(W_l: i8[in, out], a_zero_point = zp_l) ── i32
//!       ── Add(B_l: i32[out]) ── Cast(to = FLOAT) ── Mul(m_l: f32[out])
//!       ── QuantizeLinear(scale = 1, zp_{l+1}: u8) ── a_{l+1}: u8[1, out]
//! a_L ── DequantizeLinear(s_out, zp_out) ── scores: f32[1, K]
//! ```
//!
//! Hidden layers have `zp = 0`, so the u8 saturation of their `QuantizeLinear` is the ReLU. The
//! engine computes the same thing without floats after the input: `acc = B' + Σ a·W` in int32
//! (with `B' = B − zp_l · Σ_i W[i]`), then `clamp(round_half_to_even(acc · m) + zp, 0, 255)` with
//! `m` decomposed exactly into a 24-bit integer multiplier and a shift (Jacob et al. 2018's
//! fixed-point requantisation, made exact: [`Multiplier`]). tract computes `acc · m` in f32, so the
//! two can differ by one step where the f32 product rounds across a half; the test bounds that.

use std::collections::BTreeMap;

use crate::error::{NetError, Result};
use crate::kernels::{Multiplier, Weights, requantise};
use crate::onnx::{DataType, OnnxModel, Tensor};
use crate::simd::{self, CpuLevel};
use depthcast_packing::PackingConfig;

/// One layer: weights and the requantisation to the next activation.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Weights and bias, laid out for every kernel level.
    pub weights: Weights,
    /// Per-output multiplier `m = s_in · s_w / s_out`.
    pub mults: Vec<Multiplier>,
    /// Zero point of the output activation.
    pub out_zp: i32,
}

/// An integer MLP read from the int8 ONNX graph described in the module docs.
#[derive(Debug, Clone)]
pub struct QuantMlp {
    /// Input scale `s_in` (`a = round(x / s_in) + zp_in`).
    pub in_scale: f32,
    /// Input zero point.
    pub in_zp: i32,
    /// Layers in order.
    pub layers: Vec<Layer>,
    /// Output scale.
    pub out_scale: f32,
    /// Output zero point.
    pub out_zp: i32,
    /// The model's `metadata_props` (candidate ids, lookup table, training summary).
    pub metadata: BTreeMap<String, String>,
}

fn graph_err(s: String) -> NetError {
    NetError::Graph(s)
}

fn scalar(t: &Tensor, what: &str) -> Result<f64> {
    if t.values.len() != 1 {
        return Err(graph_err(format!("{what} must be a scalar, has shape {:?}", t.dims)));
    }
    Ok(t.values[0])
}

impl QuantMlp {
    /// Reads the model from ONNX bytes.
    ///
    /// # Errors
    /// [`NetError::Onnx`] for unreadable bytes, [`NetError::Graph`] for any other graph.
    pub fn from_bytes(bytes: &[u8]) -> Result<QuantMlp> {
        QuantMlp::from_onnx(&OnnxModel::parse(bytes)?)
    }

    /// Reads the model from an ONNX file.
    ///
    /// # Errors
    /// [`NetError::Io`], then as [`QuantMlp::from_bytes`].
    pub fn load(path: &std::path::Path) -> Result<QuantMlp> {
        let b = std::fs::read(path).map_err(|e| NetError::Io { path: path.display().to_string(), source: e })?;
        QuantMlp::from_bytes(&b)
    }

    /// Matches the graph against the chain in the module docs.
    ///
    /// # Errors
    /// [`NetError::Graph`] naming the first node or constant that does not fit.
    pub fn from_onnx(onnx: &OnnxModel) -> Result<QuantMlp> {
        let init = |name: &str| -> Result<&Tensor> {
            onnx.initializers.get(name).ok_or_else(|| graph_err(format!("{name:?} is not a constant")))
        };
        let mut nodes = onnx.nodes.iter().peekable();
        let mut expect = |op: &str, input: &str| -> Result<&crate::onnx::Node> {
            let n = nodes.next().ok_or_else(|| graph_err(format!("graph ends where {op} was expected")))?;
            if n.op_type != op {
                return Err(graph_err(format!("found {} where {op} was expected", n.op_type)));
            }
            if !n.inputs.iter().any(|i| i == input) || n.outputs.len() != 1 {
                return Err(graph_err(format!("{op} does not consume {input:?}")));
            }
            Ok(n)
        };
        let input = onnx.inputs.first().ok_or_else(|| graph_err("no graph input".into()))?.clone();
        let q = expect("QuantizeLinear", &input)?;
        let in_scale = scalar(init(&q.inputs[1])?, "input scale")? as f32;
        let in_zp = scalar(init(q.inputs.get(2).ok_or_else(|| graph_err("input zero point missing".into()))?)?, "zp")?;
        let mut cur = q.outputs[0].clone();
        let mut layers = Vec::new();
        let mut prev_zp = in_zp as i32;
        loop {
            let n = expect_any(&mut nodes)?;
            if n.op_type == "DequantizeLinear" {
                if n.inputs[0] != cur {
                    return Err(graph_err("DequantizeLinear does not consume the last layer".into()));
                }
                let out_scale = scalar(init(&n.inputs[1])?, "output scale")? as f32;
                let out_zp = scalar(init(&n.inputs[2])?, "output zero point")? as i32;
                if layers.is_empty() {
                    return Err(graph_err("no layers".into()));
                }
                return Ok(QuantMlp {
                    in_scale,
                    in_zp: in_zp as i32,
                    layers,
                    out_scale,
                    out_zp,
                    metadata: onnx.metadata.clone(),
                });
            }
            if n.op_type != "MatMulInteger" || n.inputs[0] != cur {
                return Err(graph_err(format!("found {} where MatMulInteger on {cur:?} was expected", n.op_type)));
            }
            let w = init(&n.inputs[1])?;
            if w.dtype != DataType::I8 || w.dims.len() != 2 {
                return Err(graph_err(format!("weights {:?} must be int8 [in, out], are {:?}", n.inputs[1], w.dims)));
            }
            let a_zp = match n.inputs.get(2).filter(|s| !s.is_empty()) {
                Some(z) => scalar(init(z)?, "a_zero_point")? as i32,
                None => 0,
            };
            if a_zp != prev_zp {
                return Err(graph_err(format!("a_zero_point {a_zp} differs from the activation's {prev_zp}")));
            }
            if let Some(z) = n.inputs.get(3).filter(|s| !s.is_empty())
                && init(z)?.values.iter().any(|&v| v != 0.0)
            {
                return Err(graph_err("non-zero weight zero points are not supported".into()));
            }
            let (inputs, outputs) = (w.dims[0], w.dims[1]);
            let add = expect_any(&mut nodes)?;
            let bias_name = other(add, "Add", &n.outputs[0])?;
            let b = init(bias_name)?;
            if b.dtype != DataType::I32 || b.values.len() != outputs {
                return Err(graph_err(format!("bias {bias_name:?} must be int32[{outputs}]")));
            }
            let cast = expect_any(&mut nodes)?;
            if cast.op_type != "Cast" || cast.inputs[0] != add.outputs[0] {
                return Err(graph_err(format!("found {} where Cast was expected", cast.op_type)));
            }
            let mul = expect_any(&mut nodes)?;
            let mul_name = other(mul, "Mul", &cast.outputs[0])?;
            let mt = init(mul_name)?;
            if mt.values.len() != outputs && mt.values.len() != 1 {
                return Err(graph_err(format!("multiplier {mul_name:?} must have 1 or {outputs} values")));
            }
            let qn = expect_any(&mut nodes)?;
            if qn.op_type != "QuantizeLinear" || qn.inputs[0] != mul.outputs[0] || qn.inputs.len() != 3 {
                return Err(graph_err(format!("found {} where QuantizeLinear was expected", qn.op_type)));
            }
            if scalar(init(&qn.inputs[1])?, "requantisation scale")? != 1.0 {
                return Err(graph_err("the requantising QuantizeLinear must have scale 1".into()));
            }
            let zpt = init(&qn.inputs[2])?;
            if zpt.dtype != DataType::U8 {
                return Err(graph_err("activations must be uint8".into()));
            }
            let out_zp = scalar(zpt, "zero point")? as i32;
            // Transpose to [out][in] and fold the input zero point into the bias.
            let mut wt = vec![0i8; inputs * outputs];
            let mut bias = vec![0i32; outputs];
            for o in 0..outputs {
                let mut sum = 0i32;
                for i in 0..inputs {
                    let v = w.values[i * outputs + o] as i8;
                    wt[o * inputs + i] = v;
                    sum += i32::from(v);
                }
                bias[o] = b.values[o] as i32 - a_zp * sum;
            }
            let mults = (0..outputs)
                .map(|o| {
                    let v = mt.values[if mt.values.len() == 1 { 0 } else { o }] as f32;
                    Multiplier::from_f32(v).ok_or_else(|| graph_err(format!("multiplier {v} is not finite and ≥ 0")))
                })
                .collect::<Result<Vec<_>>>()?;
            layers.push(Layer { weights: Weights::new(&wt, inputs, outputs, &bias), mults, out_zp });
            if let Some(prev) = layers.iter().rev().nth(1)
                && prev.weights.outputs != inputs
            {
                return Err(graph_err(format!(
                    "layer of {inputs} inputs follows one of {} outputs",
                    prev.weights.outputs
                )));
            }
            prev_zp = out_zp;
            cur = qn.outputs[0].clone();
        }
    }

    /// Number of input features.
    pub fn inputs(&self) -> usize {
        self.layers[0].weights.inputs
    }

    /// Number of outputs (scores).
    pub fn outputs(&self) -> usize {
        self.layers.last().expect("at least one layer").weights.outputs
    }

    /// The packing configurations the model scores, in output order (its metadata's
    /// `candidates`, in the id format of [`PackingConfig`]).
    ///
    /// # Errors
    /// A candidate id that does not parse (a model from a newer build).
    pub fn candidates(&self) -> Result<Vec<PackingConfig>> {
        Ok(self.metadata_list("candidates").iter().map(|id| id.parse()).collect::<std::result::Result<_, _>>()?)
    }

    /// A metadata value split at commas (empty if absent).
    pub fn metadata_list(&self, key: &str) -> Vec<String> {
        self.metadata.get(key).map_or(Vec::new(), |s| s.split(',').map(|x| x.trim().to_string()).collect())
    }
}

fn expect_any<'a>(nodes: &mut impl Iterator<Item = &'a crate::onnx::Node>) -> Result<&'a crate::onnx::Node> {
    nodes.next().ok_or_else(|| graph_err("graph ends inside a layer".into()))
}

/// The input of a binary `op` node that is not `x`.
fn other<'a>(n: &'a crate::onnx::Node, op: &str, x: &str) -> Result<&'a str> {
    if n.op_type != op || n.inputs.len() != 2 {
        return Err(graph_err(format!("found {} where {op} was expected", n.op_type)));
    }
    match (n.inputs[0] == x, n.inputs[1] == x) {
        (true, false) => Ok(&n.inputs[1]),
        (false, true) => Ok(&n.inputs[0]),
        _ => Err(graph_err(format!("{op} does not consume {x:?}"))),
    }
}

/// The model with its buffers and a kernel level: runs one feature vector at a time without
/// allocating.
#[derive(Debug, Clone)]
pub struct Engine {
    /// The model.
    pub model: QuantMlp,
    level: CpuLevel,
    a: Vec<u8>,
    b: Vec<u8>,
    acc: Vec<i32>,
}

impl Engine {
    /// An engine at the detected level ([`CpuLevel::detect`]).
    pub fn new(model: QuantMlp) -> Engine {
        Engine::with_level(model, CpuLevel::detect())
    }

    /// An engine at `level` (unsupported levels run scalar).
    pub fn with_level(model: QuantMlp, level: CpuLevel) -> Engine {
        let width = model.layers.iter().map(|l| l.weights.in_pad.max(l.weights.out_pad)).max().unwrap_or(8);
        Engine { model, level, a: vec![0; width], b: vec![0; width], acc: vec![0; width] }
    }

    /// The kernel level in use.
    pub fn level(&self) -> CpuLevel {
        self.level
    }

    /// Output codes (u8) for the `features`.
    ///
    /// # Errors
    /// [`NetError::InputLength`] if `features` has the wrong length.
    pub fn run(&mut self, features: &[f32]) -> Result<&[u8]> {
        let n = self.model.inputs();
        if features.len() != n {
            return Err(NetError::InputLength { got: features.len(), expected: n });
        }
        // QuantizeLinear as tract computes it: features · (1 / s), rounded half to even.
        let r = self.model.in_scale.recip();
        self.a.fill(0);
        for (q, &v) in self.a.iter_mut().zip(features) {
            *q = ((v * r).round_ties_even() as i32 + self.model.in_zp).clamp(0, 255) as u8;
        }
        for layer in &self.model.layers {
            let w = &layer.weights;
            simd::matvec(self.level, w, &self.a, &mut self.acc);
            self.b.fill(0);
            requantise(&self.acc[..w.outputs], &layer.mults, layer.out_zp, &mut self.b[..w.outputs]);
            std::mem::swap(&mut self.a, &mut self.b);
        }
        Ok(&self.a[..self.model.outputs()])
    }

    /// Dequantised scores for `features`: `s_out · (code − zp_out)`.
    ///
    /// # Errors
    /// As [`Engine::run`].
    pub fn scores(&mut self, features: &[f32]) -> Result<Vec<f32>> {
        let (s, zp) = (self.model.out_scale, self.model.out_zp);
        Ok(self.run(features)?.iter().map(|&q| s * (i32::from(q) - zp) as f32).collect())
    }
}
