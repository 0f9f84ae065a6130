//! One module per subcommand: each has `Args` (clap) and `run(Args) -> anyhow::Result<()>`.

pub(crate) mod bench;
pub(crate) mod demo;
pub(crate) mod encoders;
pub(crate) mod predict;
pub(crate) mod recv;
pub(crate) mod render;
pub(crate) mod roundtrip;
pub(crate) mod send;
pub(crate) mod sweep;
