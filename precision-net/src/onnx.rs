//! A minimal ONNX reader: just enough of the protobuf wire format to get a model's graph nodes,
//! initializers and metadata, so that the integer engine needs neither tract nor a protobuf crate.
//!
//! Fields read (from `onnx.proto`): `ModelProto.graph` (7) and `metadata_props` (14);
//! `GraphProto.node` (1), `initializer` (5), `input` (11), `output` (12); `NodeProto.input` (1),
//! `output` (2), `op_type` (4); `TensorProto.dims` (1), `data_type` (2), `float_data` (4),
//! `int32_data` (5), `int64_data` (7), `name` (8), `raw_data` (9); `ValueInfoProto.name` (1).

use std::collections::BTreeMap;

use crate::error::{NetError, Result};

/// ONNX tensor element types this reader understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    /// `FLOAT` (1).
    F32,
    /// `UINT8` (2).
    U8,
    /// `INT8` (3).
    I8,
    /// `INT32` (6).
    I32,
    /// `INT64` (7).
    I64,
}

impl DataType {
    fn from_code(c: u64) -> Option<DataType> {
        Some(match c {
            1 => DataType::F32,
            2 => DataType::U8,
            3 => DataType::I8,
            6 => DataType::I32,
            7 => DataType::I64,
            _ => return None,
        })
    }
    fn size(self) -> usize {
        match self {
            DataType::U8 | DataType::I8 => 1,
            DataType::F32 | DataType::I32 => 4,
            DataType::I64 => 8,
        }
    }
}

/// A constant tensor, values widened to `f64` (exact for every type read here except large i64).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Element type as stored.
    pub dtype: DataType,
    /// Shape.
    pub dims: Vec<usize>,
    /// Values in row-major order.
    pub values: Vec<f64>,
}

/// A graph node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Operator, e.g. `MatMulInteger`.
    pub op_type: String,
    /// Input value names (empty string = omitted optional input).
    pub inputs: Vec<String>,
    /// Output value names.
    pub outputs: Vec<String>,
}

/// The parts of an ONNX model the engine needs.
#[derive(Debug, Clone, Default)]
pub struct OnnxModel {
    /// Nodes in graph order.
    pub nodes: Vec<Node>,
    /// Initializers by name.
    pub initializers: BTreeMap<String, Tensor>,
    /// Graph input names (initializers excluded).
    pub inputs: Vec<String>,
    /// Graph output names.
    pub outputs: Vec<String>,
    /// `metadata_props` key/value pairs.
    pub metadata: BTreeMap<String, String>,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or_else(|| bad("truncated varint"))?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("varint longer than 10 bytes"))
    }
    fn field(&mut self) -> Result<Option<(u64, Value<'a>)>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let v = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.skip(8)?;
                Value::Fixed
            }
            5 => {
                self.skip(4)?;
                Value::Fixed
            }
            2 => {
                let n = usize::try_from(self.varint()?).map_err(|_| bad("length overflow"))?;
                let s = self.pos;
                self.skip(n)?;
                Value::Bytes(&self.buf[s..s + n])
            }
            w => return Err(bad(&format!("unsupported wire type {w}"))),
        };
        Ok(Some((key >> 3, v)))
    }
    fn skip(&mut self, n: usize) -> Result<()> {
        if self.buf.len() - self.pos < n {
            return Err(bad("truncated field"));
        }
        self.pos += n;
        Ok(())
    }
}

fn bad(what: &str) -> NetError {
    NetError::Onnx(what.to_string())
}

fn string(b: &[u8]) -> Result<String> {
    String::from_utf8(b.to_vec()).map_err(|_| bad("string is not UTF-8"))
}

/// Packed or single varints of a repeated integer field.
fn push_varints(v: Value<'_>, out: &mut Vec<u64>) -> Result<()> {
    match v {
        Value::Varint(x) => out.push(x),
        Value::Bytes(b) => {
            let mut r = Reader::new(b);
            while r.pos < b.len() {
                out.push(r.varint()?);
            }
        }
        Value::Fixed => return Err(bad("fixed-width value in an integer field")),
    }
    Ok(())
}

fn tensor(b: &[u8]) -> Result<(String, Tensor)> {
    let mut r = Reader::new(b);
    let (mut name, mut dims, mut dtype, mut raw, mut ints, mut floats) =
        (String::new(), Vec::new(), None, None, Vec::new(), Vec::new());
    while let Some((f, v)) = r.field()? {
        match (f, v) {
            (1, v) => push_varints(v, &mut dims)?,
            (2, Value::Varint(c)) => {
                dtype = Some(DataType::from_code(c).ok_or_else(|| bad(&format!("data type {c}")))?)
            }
            (4, Value::Bytes(b)) => {
                floats.extend(b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            }
            (5 | 7, v) => push_varints(v, &mut ints)?,
            (8, Value::Bytes(b)) => name = string(b)?,
            (9, Value::Bytes(b)) => raw = Some(b),
            _ => {}
        }
    }
    let dtype = dtype.ok_or_else(|| bad(&format!("tensor {name:?} without data type")))?;
    let dims: Vec<usize> = dims.into_iter().map(|d| d as usize).collect();
    let count: usize = dims.iter().product();
    let values: Vec<f64> = if let Some(raw) = raw {
        if raw.len() != count * dtype.size() {
            return Err(bad(&format!("tensor {name:?}: {} raw bytes for {count} values", raw.len())));
        }
        raw.chunks_exact(dtype.size())
            .map(|c| match dtype {
                DataType::F32 => f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                DataType::U8 => f64::from(c[0]),
                DataType::I8 => f64::from(c[0] as i8),
                DataType::I32 => f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                DataType::I64 => i64::from_le_bytes(c.try_into().expect("8 bytes")) as f64,
            })
            .collect()
    } else if dtype == DataType::F32 {
        floats.into_iter().map(f64::from).collect()
    } else {
        // int32_data holds u8/i8/i32 (sign-extended varints); int64_data holds i64.
        ints.into_iter()
            .map(|x| match dtype {
                DataType::I64 => x as i64 as f64,
                _ => f64::from(x as i64 as i32),
            })
            .collect()
    };
    if values.len() != count {
        return Err(bad(&format!("tensor {name:?}: {} values for shape {dims:?}", values.len())));
    }
    Ok((name, Tensor { dtype, dims, values }))
}

fn node(b: &[u8]) -> Result<Node> {
    let mut r = Reader::new(b);
    let mut n = Node { op_type: String::new(), inputs: Vec::new(), outputs: Vec::new() };
    while let Some((f, v)) = r.field()? {
        if let Value::Bytes(b) = v {
            match f {
                1 => n.inputs.push(string(b)?),
                2 => n.outputs.push(string(b)?),
                4 => n.op_type = string(b)?,
                _ => {}
            }
        }
    }
    Ok(n)
}

fn first_string(b: &[u8], field: u64) -> Result<String> {
    let mut r = Reader::new(b);
    while let Some((f, v)) = r.field()? {
        if let (true, Value::Bytes(b)) = (f == field, v) {
            return string(b);
        }
    }
    Ok(String::new())
}

impl OnnxModel {
    /// Parses a serialised `ModelProto`.
    ///
    /// # Errors
    /// [`NetError::Onnx`] for malformed protobuf, unsupported tensor types or a missing graph.
    pub fn parse(bytes: &[u8]) -> Result<OnnxModel> {
        let mut m = OnnxModel::default();
        let mut r = Reader::new(bytes);
        let mut graph = None;
        while let Some((f, v)) = r.field()? {
            match (f, v) {
                (7, Value::Bytes(b)) => graph = Some(b),
                (14, Value::Bytes(b)) => {
                    let (k, v) = (first_string(b, 1)?, first_string(b, 2)?);
                    m.metadata.insert(k, v);
                }
                _ => {}
            }
        }
        let graph = graph.ok_or_else(|| bad("model has no graph"))?;
        let mut r = Reader::new(graph);
        let mut inputs = Vec::new();
        while let Some((f, v)) = r.field()? {
            if let Value::Bytes(b) = v {
                match f {
                    1 => m.nodes.push(node(b)?),
                    5 => {
                        let (name, t) = tensor(b)?;
                        m.initializers.insert(name, t);
                    }
                    11 => inputs.push(first_string(b, 1)?),
                    12 => m.outputs.push(first_string(b, 1)?),
                    _ => {}
                }
            }
        }
        m.inputs = inputs.into_iter().filter(|n| !m.initializers.contains_key(n)).collect();
        Ok(m)
    }
}
