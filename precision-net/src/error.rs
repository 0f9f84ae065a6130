//! The crate's error type.

/// Everything that can fail in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The bytes are not a readable ONNX model (malformed protobuf, unsupported tensor type).
    #[error("unreadable ONNX model: {0}")]
    Onnx(String),
    /// The graph is valid ONNX but not the integer MLP the engine implements (see [`crate::model`]).
    #[error("unsupported graph: {0}")]
    Graph(String),
    /// An input of the wrong length.
    #[error("input has {got} features, the model takes {expected}")]
    InputLength {
        /// Features given.
        got: usize,
        /// Features the model takes.
        expected: usize,
    },
    /// A model file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The model names a candidate configuration this build cannot read.
    #[error("the model's candidate: {0}")]
    Candidate(#[from] depthcast_packing::ConfigParseError),
    /// tract failed to load or run the model (the `tract` feature).
    #[error("tract: {0}")]
    Tract(String),
}

/// Result with [`NetError`].
pub type Result<T> = std::result::Result<T, NetError>;
