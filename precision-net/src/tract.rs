//! The reference runtime: the same `.onnx` files run by tract-onnx (feature `tract`).

use tract_onnx::prelude::*;

use crate::error::{NetError, Result};

fn err(e: impl std::fmt::Display) -> NetError {
    NetError::Tract(format!("{e:#}"))
}

/// A model loaded, typed for a `[1, features]` f32 input, optimised and ready to run by tract.
#[derive(Debug)]
pub struct TractModel {
    plan: std::sync::Arc<TypedSimplePlan>,
    features: usize,
}

impl TractModel {
    /// Loads ONNX bytes for inputs of `features` values.
    ///
    /// # Errors
    /// [`NetError::Tract`] if tract cannot parse, type or optimise the graph.
    pub fn from_bytes(bytes: &[u8], features: usize) -> Result<TractModel> {
        let model = tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(bytes))
            .map_err(err)?
            .with_input_fact(0, f32::fact([1, features]).into())
            .map_err(err)?
            .into_optimized()
            .map_err(err)?
            .into_runnable()
            .map_err(err)?;
        Ok(TractModel { plan: model, features })
    }

    /// Runs one feature vector and returns the f32 outputs.
    ///
    /// # Errors
    /// [`NetError::InputLength`] for a wrong length, [`NetError::Tract`] if the run fails.
    pub fn run(&self, features: &[f32]) -> Result<Vec<f32>> {
        if features.len() != self.features {
            return Err(NetError::InputLength { got: features.len(), expected: self.features });
        }
        let input = Tensor::from_shape(&[1, self.features], features).map_err(err)?;
        let out = self.plan.run(tvec!(input.into())).map_err(err)?;
        let v = out[0].to_plain_array_view::<f32>().map_err(err)?;
        Ok(v.iter().copied().collect())
    }
}
