//! # depthcast-browser
//!
//! Launches Debian's headless Chromium and drives it over the DevTools protocol, for the tests of
//! the browser receiver (`web/`).
