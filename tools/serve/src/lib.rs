//! # depthcast-serve
//!
//! Relays a depthcast stream to browsers over WebSocket and serves the receiver page (`web/`).
//! The wire protocol is in `web/README.md`.
