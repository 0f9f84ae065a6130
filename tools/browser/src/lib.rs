//! # depthcast-browser
//!
//! Launches Debian's headless Chromium and drives it over the DevTools protocol, for the tests of
//! the browser receiver (`web/`).
//!
//! - [`Chromium`]: one headless browser process (`/usr/bin/chromium`, or `$DEPTHCAST_CHROMIUM`)
//!   with a fresh profile, killed and cleaned up when dropped.
//! - [`Page`]: one tab ([`Chromium::new_page`]); any number of them at once, from any threads:
//!   [`Page::eval`] (promises awaited, results by value), [`Page::wait_for`], [`Page::console`],
//!   [`Page::screenshot_png`], [`Page::set_viewport`].
//! - [`StaticServer`]: a tiny HTTP/1.1 server for a directory (`web/`: [`web_dir`]) plus
//!   in-memory files, so tests load the receiver's modules and their fixtures without the real
//!   server.
//!
//! Synchronous: one WebSocket to the browser, a reader thread that hands responses to their
//! callers and keeps every page's console output; pages are attached as flattened sessions.
//!
//! ```no_run
//! use depthcast_browser::{Chromium, StaticServer};
//!
//! let mut server = StaticServer::new("web");
//! server.add("/hello.html", b"<script type=module>window.x = 6 * 7</script>".to_vec(), "text/html");
//! let server = server.start()?;
//! let chromium = Chromium::launch()?;
//! let page = chromium.new_page(&server.url("/hello.html"))?;
//! page.wait_for("window.x !== undefined", std::time::Duration::from_secs(10))?;
//! assert_eq!(page.eval("window.x")?, 42);
//! # Ok::<(), depthcast_browser::BrowserError>(())
//! ```

mod cdp;
mod chromium;
mod error;
mod page;
mod server;

pub use chromium::{CHROMIUM_ENV, Chromium, DEFAULT_CHROMIUM};
pub use error::{BrowserError, Result};
pub use page::Page;
pub use server::{RunningServer, StaticServer, mime_type};

/// The repository's `web/` folder: beside this crate's folder as cargo names it when it runs the
/// tests (the checkout they run in), else as it was when this crate was built. A test binary that
/// a shared target folder kept from a checkout elsewhere still serves this checkout's pages.
pub fn web_dir() -> std::path::PathBuf {
    let crate_dir = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    std::path::Path::new(&crate_dir).join("../../web")
}
