//! # depthcast-serve
//!
//! `depthcast serve`: relays a depthcast stream to browsers over WebSocket and serves the
//! receiver page (`web/`, embedded in the binary). The wire protocol is in `web/README.md`:
//! a `hello` JSON text message, then one binary message per access unit (24-byte header, then
//! the access unit as the input had it, SEI included), `server` JSON about once a second, `end`
//! when the input ended.
//!
//! | type | module | what it does |
//! |---|---|---|
//! | [`Relay`] | [`relay`] | the fan-out hub: published from any (plain) thread, a bounded queue per page, a GOP cache per track, counters |
//! | [`TrackDesc`], [`TrackSpec`] | [`describe`] | what a page needs to configure a `VideoDecoder`: the codec string from the SPS (or `avcC`/`hvcC`), the framing, the `avcC` description |
//! | [`Source`], [`SourceConfig`] | [`source`] | a URL read with [`depthcast_codec::PacketReceiver`] on its own thread (live URLs reopened, files paced at their timestamps, optional loop) |
//! | [`run_synthetic`] | [`source`] | the built-in scene encoded live with [`depthcast_stream::DepthEncoder`] into a [`Relay`] |
//! | [`Server`], [`ServeConfig`] | [`server`] | the HTTP side (axum): `/`, `/js/*.js`, `/ws`, `/status` |
//!
//! A program that encodes in-process publishes its packets straight into a [`Relay`]:
//!
//! ```no_run
//! use depthcast_codec::{EncoderSettings, VideoCodec};
//! use depthcast_packing::{PackingConfig, testdata};
//! use depthcast_serve::{Relay, RelayConfig, ServeConfig, Server, TrackSpec};
//! use depthcast_stream::{DepthEncoder, FrameMeta};
//!
//! let relay = Relay::new(RelayConfig::default());
//! let server = Server::start(&ServeConfig::default(), relay.clone())?;
//! println!("open {}", server.url());
//! let config = PackingConfig::vbp_roi(16, -0.4);
//! let mut enc = DepthEncoder::new(EncoderSettings::new(VideoCodec::H264, 640, 360), &config, 640, 360, None)?;
//! relay.set_source("my game", &TrackSpec::from_encoders(&[enc.encoder()]));
//! for i in 0..300 {
//!     let depth = testdata::game_scene(640, 360, i as f32 / 30.0);
//!     let frame = enc.encode(&depth.view(), &config, 0.5, 40.0, &FrameMeta { frame_index: i, ..Default::default() })?;
//!     for p in &frame.packets {
//!         relay.publish_packet(0, p);
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod describe;
pub mod relay;
pub mod server;
pub mod source;
mod web;

pub use describe::{TrackDesc, TrackSpec, codec_string};
pub use relay::{
    ClientStats, FLAG_DISCONTINUITY, FLAG_KEYFRAME, HEADER_LEN, PROTOCOL_VERSION, PTS_UNKNOWN, Relay, RelayConfig,
    RelayStats, Subscription, WireMessage,
};
pub use server::{ServeConfig, Server};
pub use source::{Source, SourceConfig, SyntheticConfig, run_synthetic};

/// What can go wrong in `depthcast serve`.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listening socket could not be set up (address in use, no permission).
    #[error("listening on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The async runtime could not be started.
    #[error("starting the server's runtime: {0}")]
    Runtime(std::io::Error),
    /// `--web-dir` is not a folder with `index.html`.
    #[error("web folder {path}: {why}")]
    WebDir {
        /// The folder given.
        path: std::path::PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// The input failed (a file that cannot be opened or read).
    #[error(transparent)]
    Codec(#[from] depthcast_codec::CodecError),
    /// The in-process encoder failed.
    #[error(transparent)]
    Stream(#[from] depthcast_stream::StreamError),
}

/// The result of this crate's fallible functions.
pub type Result<T, E = ServeError> = std::result::Result<T, E>;
