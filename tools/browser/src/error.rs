//! The one error type of this crate.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while launching or driving Chromium or serving files.
///
/// `Debug` prints the message too, so that `.expect()` in a test shows it readably.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum BrowserError {
    /// The Chromium binary does not exist.
    #[error(
        "Chromium not found at {}: install Debian's `chromium` package (`./scripts/dev.sh test` installs it) \
         or point DEPTHCAST_CHROMIUM at a Chromium binary",
        binary.display()
    )]
    ChromiumMissing {
        /// The path looked at.
        binary: PathBuf,
    },
    /// Starting the Chromium process failed.
    #[error("starting {}: {source}", binary.display())]
    Launch {
        /// The binary started.
        binary: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Chromium did not print its DevTools address (it exited or took too long).
    #[error("{} did not print `DevTools listening on ws://...` ({why}); its stderr ended with:\n{stderr}", binary.display())]
    NoDevTools {
        /// The binary started.
        binary: PathBuf,
        /// Exited, or the time waited.
        why: String,
        /// The last lines Chromium wrote to stderr.
        stderr: String,
    },
    /// A socket, file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// The DevTools WebSocket failed (connecting, or later).
    #[error("DevTools WebSocket: {0}")]
    WebSocket(String),
    /// The browser connection closed (Chromium exited or crashed) before the answer came.
    #[error("the DevTools connection closed while waiting for {method}{}", stderr_tail(.stderr))]
    Disconnected {
        /// The command that was waiting.
        method: String,
        /// The last lines Chromium wrote to stderr.
        stderr: String,
    },
    /// A DevTools command got an error response.
    #[error("DevTools {method} failed: {message} (code {code})")]
    Protocol {
        /// The command.
        method: String,
        /// The error message Chromium returned.
        message: String,
        /// The JSON-RPC error code.
        code: i64,
    },
    /// A DevTools command got no answer in time.
    #[error("DevTools {method} got no answer within {after:?}")]
    Timeout {
        /// The command.
        method: String,
        /// How long was waited.
        after: Duration,
    },
    /// An answer did not have the expected shape.
    #[error("unexpected DevTools answer to {method}: {detail}")]
    BadAnswer {
        /// The command.
        method: String,
        /// What was wrong.
        detail: String,
    },
    /// A page failed to load.
    #[error("loading {url}: {detail}")]
    Navigation {
        /// The URL.
        url: String,
        /// Chromium's error text, or the time waited.
        detail: String,
    },
    /// [`crate::Page::eval`]'s expression threw (or its promise rejected).
    #[error("JavaScript exception in `{expression}`:\n{exception}")]
    JsException {
        /// The expression (shortened).
        expression: String,
        /// The exception's text and stack.
        exception: String,
    },
    /// [`crate::Page::wait_for`]'s condition did not become true in time.
    #[error(
        "`{expression}` did not become true within {timeout:?}{}; the page's recent console output:\n{console}",
        .last_error.as_ref().map(|e| format!(" (last evaluation failed: {e})")).unwrap_or_default()
    )]
    WaitTimeout {
        /// The condition.
        expression: String,
        /// How long was waited.
        timeout: Duration,
        /// The last evaluation's exception, when the condition threw.
        last_error: Option<String>,
        /// The page's last console lines.
        console: String,
    },
}

impl std::fmt::Debug for BrowserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

fn stderr_tail(stderr: &str) -> String {
    if stderr.is_empty() { String::new() } else { format!("; Chromium's stderr ended with:\n{stderr}") }
}

impl BrowserError {
    /// An [`BrowserError::Io`] error saying what was being done.
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BrowserError {
        let what = what.into();
        move |source| BrowserError::Io { what, source }
    }
}

/// Result alias of this crate.
pub type Result<T, E = BrowserError> = std::result::Result<T, E>;
