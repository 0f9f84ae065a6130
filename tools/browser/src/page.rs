//! [`Page`]: one tab of a [`crate::Chromium`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::cdp::{Connection, exception_text};
use crate::error::{BrowserError, Result};

/// Default time limit of [`Page::eval`] and the other page commands.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a navigation may take to fire its `load` event.
const LOAD: Duration = Duration::from_secs(60);
/// Console lines quoted in a [`BrowserError::WaitTimeout`].
const CONSOLE_QUOTED: usize = 40;
/// Poll interval of [`Page::wait_for`].
const POLL: Duration = Duration::from_millis(25);

/// One browser tab, attached over the browser's DevTools connection (a flattened session).
/// `Send + Sync`: pages may be driven from several threads at once. Closed when dropped.
pub struct Page {
    conn: Arc<Connection>,
    target_id: String,
    session: String,
    timeout: Duration,
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page").field("target_id", &self.target_id).field("session", &self.session).finish()
    }
}

/// `s` cut to about `n` characters, for error messages.
fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_owned() } else { s.chars().take(n).collect::<String>() + " …" }
}

impl Page {
    /// Enables the domains whose events the page keeps (console, exceptions, log, loads).
    pub(crate) fn attach(conn: Arc<Connection>, target_id: String, session: String) -> Result<Page> {
        conn.with_session(&session, |_| ());
        let page = Page { conn, target_id, session, timeout: DEFAULT_TIMEOUT };
        page.call("Page.enable", json!({}))?;
        page.call("Page.setLifecycleEventsEnabled", json!({"enabled": true}))?;
        page.call("Runtime.enable", json!({}))?;
        page.call("Log.enable", json!({}))?;
        Ok(page)
    }

    /// Sets the time limit of each later command of this page ([`Page::eval`] included; 300 s
    /// unless set).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The DevTools target id of this tab.
    pub fn target_id(&self) -> &str {
        &self.target_id
    }

    /// Sends a DevTools command to this page's session and returns its result (the escape hatch
    /// for what this API does not wrap).
    ///
    /// # Errors
    /// The command's error response, a closed connection, or no answer in the page's time limit.
    pub fn call(&self, method: &str, params: Value) -> Result<Value> {
        self.conn.call(Some(&self.session), method, params, self.timeout)
    }

    /// Loads `url` in this tab and waits for its `load` event.
    ///
    /// # Errors
    /// [`BrowserError::Navigation`] with Chromium's error text (unreachable server, ...) or when
    /// `load` does not fire within 60 s; DevTools errors.
    pub fn navigate(&self, url: &str) -> Result<()> {
        let nav = self.call("Page.navigate", json!({"url": url}))?;
        if let Some(e) = nav["errorText"].as_str().filter(|e| !e.is_empty()) {
            return Err(BrowserError::Navigation { url: url.to_owned(), detail: e.to_owned() });
        }
        // A same-document navigation has no loader and no load event.
        let Some(loader) = nav["loaderId"].as_str() else { return Ok(()) };
        let loaded = self
            .conn
            .wait_session(&self.session, LOAD, |log| log.gone.is_some() || log.loaded.iter().any(|l| l == loader));
        let gone = self.conn.with_session(&self.session, |log| log.gone.clone());
        match (loaded, gone) {
            (_, Some(why)) => Err(BrowserError::Navigation { url: url.to_owned(), detail: why }),
            (true, None) => Ok(()),
            (false, None) => Err(BrowserError::Navigation {
                url: url.to_owned(),
                detail: format!("no load event within {LOAD:?}; console:\n{}", self.recent_console(CONSOLE_QUOTED)),
            }),
        }
    }

    /// Evaluates a JavaScript expression in the page (a promise is awaited) and returns its
    /// value as JSON (`undefined` as `null`; objects by value, so typed arrays come back as
    /// `{}`: return base64 strings or plain arrays).
    ///
    /// # Errors
    /// [`BrowserError::JsException`] with the exception's message and stack when the expression
    /// throws or its promise rejects; [`BrowserError::Timeout`] past the page's time limit;
    /// DevTools errors.
    pub fn eval(&self, expression: &str) -> Result<Value> {
        self.eval_within(expression, self.timeout)
    }

    fn eval_within(&self, expression: &str, timeout: Duration) -> Result<Value> {
        let params = json!({
            "expression": expression,
            "awaitPromise": true,
            "returnByValue": true,
            "userGesture": true,
        });
        let mut r = self.conn.call(Some(&self.session), "Runtime.evaluate", params, timeout)?;
        if !r["exceptionDetails"].is_null() {
            return Err(BrowserError::JsException {
                expression: shorten(expression, 200),
                exception: exception_text(&r["exceptionDetails"]),
            });
        }
        let result = r["result"].take();
        if let Some(u) = result["unserializableValue"].as_str() {
            // NaN, Infinity, -0, bigints: as their text.
            return Ok(Value::String(u.to_owned()));
        }
        Ok(result.get("value").cloned().unwrap_or(Value::Null))
    }

    /// Polls the JavaScript expression `condition` (truthy = done; a promise is awaited) until it
    /// holds, for at most `timeout`. An evaluation that throws counts as not yet.
    ///
    /// # Errors
    /// [`BrowserError::WaitTimeout`] with the last exception and the page's recent console
    /// output; a closed connection.
    pub fn wait_for(&self, condition: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let expression = format!("(async () => Boolean(await ({condition})))()");
        let mut last_error = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.eval_within(&expression, left.max(Duration::from_secs(1))) {
                Ok(Value::Bool(true)) => return Ok(()),
                Ok(_) => last_error = None,
                Err(BrowserError::JsException { exception, .. }) => last_error = Some(exception),
                Err(BrowserError::Timeout { .. }) => {}
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                return Err(BrowserError::WaitTimeout {
                    expression: shorten(condition, 200),
                    timeout,
                    last_error,
                    console: self.recent_console(CONSOLE_QUOTED),
                });
            }
            std::thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
        }
    }

    /// Everything the page wrote to its console (`[log] ...`, `[error] ...`), its uncaught
    /// exceptions (`[exception] ...`) and Chromium's log entries about it (`[network error] ...`:
    /// failed loads), oldest first; the last 10 000 lines are kept.
    pub fn console(&self) -> Vec<String> {
        self.conn.with_session(&self.session, |log| log.console.iter().cloned().collect())
    }

    /// The last `n` console lines, joined (`(none)` when empty).
    fn recent_console(&self, n: usize) -> String {
        let lines = self.console();
        if lines.is_empty() {
            return "(none)".into();
        }
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Sets the viewport to `width x height` CSS pixels at device scale factor 1
    /// (`Emulation.setDeviceMetricsOverride`).
    ///
    /// # Errors
    /// DevTools errors.
    pub fn set_viewport(&self, width: u32, height: u32) -> Result<()> {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )?;
        Ok(())
    }

    /// A PNG screenshot of the viewport.
    ///
    /// # Errors
    /// DevTools errors; [`BrowserError::BadAnswer`] when the image is not base64.
    pub fn screenshot_png(&self) -> Result<Vec<u8>> {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}))?;
        let bad = |detail: String| BrowserError::BadAnswer { method: "Page.captureScreenshot".into(), detail };
        let data = r["data"].as_str().ok_or_else(|| bad("no `data`".into()))?;
        base64::engine::general_purpose::STANDARD.decode(data).map_err(|e| bad(format!("data is not base64: {e}")))
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        let _ = self.conn.call(None, "Target.closeTarget", json!({"targetId": self.target_id}), Duration::from_secs(5));
        self.conn.drop_session(&self.session);
    }
}
