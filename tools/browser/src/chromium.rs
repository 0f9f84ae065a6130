//! [`Chromium`]: the headless browser process and its DevTools connection.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::cdp::{Connection, StderrTail, lock, tail_text};
use crate::error::{BrowserError, Result};
use crate::page::Page;

/// The environment variable that overrides the Chromium binary.
pub const CHROMIUM_ENV: &str = "DEPTHCAST_CHROMIUM";
/// Where Debian's `chromium` package installs the browser.
pub const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// How long Chromium may take to print its DevTools address.
const STARTUP: Duration = Duration::from_secs(60);
/// Time limit of browser-level commands.
const COMMAND: Duration = Duration::from_secs(60);
/// Lines of Chromium's stderr kept for error messages.
const STDERR_KEEP: usize = 200;

/// The flags every launch uses: headless, no sandbox (containers), software rendering, and no
/// background traffic (no network here; without these Chromium keeps retrying it).
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    // WebGL2 on the software rasteriser (SwiftShader), which Chromium no longer falls back to by
    // itself without this (it warns that the automatic fallback is deprecated).
    "--enable-unsafe-swiftshader",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    // Tabs in the background keep running timers, animation frames and rendering at full speed.
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-ipc-flooding-protection",
    "--mute-audio",
    "--hide-scrollbars",
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=1280,720",
    "--remote-debugging-port=0",
];

/// A headless Chromium process with a fresh profile, driven over the DevTools protocol. The
/// process is killed and its profile directory removed when this is dropped (pages still open
/// then stop working).
pub struct Chromium {
    child: Mutex<Child>,
    binary: PathBuf,
    profile: PathBuf,
    conn: Arc<Connection>,
    stderr: StderrTail,
}

impl std::fmt::Debug for Chromium {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chromium").field("binary", &self.binary).field("profile", &self.profile).finish_non_exhaustive()
    }
}

/// The binary to start: `$DEPTHCAST_CHROMIUM` (a path, or a name looked up in `PATH`), else
/// [`DEFAULT_CHROMIUM`].
fn binary() -> Result<PathBuf> {
    let asked = std::env::var_os(CHROMIUM_ENV).filter(|v| !v.is_empty());
    let path = match asked {
        Some(v) => {
            let p = PathBuf::from(&v);
            if p.components().count() == 1 {
                std::env::var_os("PATH")
                    .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(&p)).find(|c| c.is_file()))
                    .unwrap_or(p)
            } else {
                p
            }
        }
        None => PathBuf::from(DEFAULT_CHROMIUM),
    };
    if path.is_file() { Ok(path) } else { Err(BrowserError::ChromiumMissing { binary: path }) }
}

/// Removes the profiles of earlier test processes that were killed before they could (their
/// process id no longer runs).
fn remove_stale_profiles() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("depthcast-chromium-")) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// A new empty directory for the browser profile.
fn fresh_profile() -> Result<PathBuf> {
    remove_stale_profiles();
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!(
        "depthcast-chromium-{}-{nanos}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(BrowserError::io(format!("creating {}", dir.display())))?;
    Ok(dir)
}

/// Starts `command` with `SIGKILL` as its parent-death signal, so that Chromium does not outlive
/// a test process that is killed (no `Drop` then). The signal follows the *thread* that forked,
/// so every launch forks from one thread that lives as long as the process.
fn spawn_tied(command: Command) -> std::io::Result<Child> {
    type Request = (Command, mpsc::Sender<std::io::Result<Child>>);
    static LAUNCHER: OnceLock<Mutex<mpsc::Sender<Request>>> = OnceLock::new();
    let launcher = LAUNCHER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Request>();
        let spawned = std::thread::Builder::new().name("chromium-launcher".into()).spawn(move || {
            for (mut command, reply) in rx {
                // SAFETY: the closure runs in the forked child before exec and only calls
                // prctl(2), which is async-signal-safe.
                unsafe {
                    command.pre_exec(|| {
                        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
                let _ = reply.send(command.spawn());
            }
        });
        if let Err(e) = spawned {
            panic!("starting the Chromium launcher thread: {e}");
        }
        Mutex::new(tx)
    });
    let (tx, rx) = mpsc::channel();
    lock(launcher).send((command, tx)).map_err(|_| std::io::Error::other("the launcher thread is gone"))?;
    rx.recv().map_err(|_| std::io::Error::other("the launcher thread is gone"))?
}

impl Chromium {
    /// Starts headless Chromium with the default flags and connects to it.
    ///
    /// # Errors
    /// [`BrowserError::ChromiumMissing`] when the binary is not installed,
    /// [`BrowserError::Launch`] / [`BrowserError::NoDevTools`] when it does not start,
    /// [`BrowserError::WebSocket`] when its DevTools endpoint refuses the connection.
    pub fn launch() -> Result<Chromium> {
        Chromium::launch_with_args(&[])
    }

    /// As [`Chromium::launch`], with extra command-line flags after the default ones (a later
    /// `--window-size=` wins, for example; `--enable-unsafe-swiftshader` for WebGL in software).
    ///
    /// # Errors
    /// As [`Chromium::launch`].
    pub fn launch_with_args(extra: &[&str]) -> Result<Chromium> {
        let binary = binary()?;
        let profile = fresh_profile()?;
        let mut command = Command::new(&binary);
        command
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = match spawn_tied(command) {
            Ok(c) => c,
            Err(source) => {
                let _ = std::fs::remove_dir_all(&profile);
                return Err(BrowserError::Launch { binary, source });
            }
        };
        let stderr: StderrTail = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, rx) = mpsc::channel();
        let pipe = child.stderr.take().expect("stderr is piped");
        {
            let stderr = stderr.clone();
            // Drains stderr for the process's whole life (a full pipe would block Chromium),
            // keeping the last lines; sends the DevTools address once.
            let spawned = std::thread::Builder::new().name("chromium-stderr".into()).spawn(move || {
                let mut tx = Some(tx);
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if let Some(at) = line.find("DevTools listening on ws://")
                        && let Some(t) = tx.take()
                    {
                        let _ = t.send(line[at + "DevTools listening on ".len()..].trim().to_owned());
                    }
                    let mut tail = lock(&stderr);
                    tail.push_back(line);
                    if tail.len() > STDERR_KEEP {
                        tail.pop_front();
                    }
                }
            });
            if let Err(e) = spawned {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_dir_all(&profile);
                return Err(BrowserError::io("starting the stderr reader thread")(e));
            }
        }
        let fail = |mut child: Child, why: String, stderr: &StderrTail| {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(&profile);
            Err(BrowserError::NoDevTools { binary: binary.clone(), why, stderr: tail_text(stderr, 30) })
        };
        let url = match rx.recv_timeout(STARTUP) {
            Ok(url) => url,
            Err(mpsc::RecvTimeoutError::Timeout) => return fail(child, format!("waited {STARTUP:?}"), &stderr),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait().map_or_else(|e| e.to_string(), |s| s.to_string());
                return fail(child, format!("it exited: {status}"), &stderr);
            }
        };
        let conn = match Connection::connect(&url, stderr.clone()) {
            Ok(c) => c,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_dir_all(&profile);
                return Err(e);
            }
        };
        Ok(Chromium { child: Mutex::new(child), binary, profile, conn, stderr })
    }

    /// Opens a new tab, attaches to it and loads `url` (waits for its `load` event). Pages are
    /// independent: several may be open and used from different threads at once.
    ///
    /// # Errors
    /// [`BrowserError::Navigation`] when the URL does not load (network error, no `load` within
    /// 60 s); DevTools errors.
    pub fn new_page(&self, url: &str) -> Result<Page> {
        let created = self.call("Target.createTarget", json!({"url": "about:blank", "newWindow": true}))?;
        let target_id = str_field(&created, "targetId", "Target.createTarget")?;
        let attached = self.call("Target.attachToTarget", json!({"targetId": target_id, "flatten": true}));
        let session = match attached.and_then(|a| str_field(&a, "sessionId", "Target.attachToTarget")) {
            Ok(s) => s,
            Err(e) => {
                let _ = self.call("Target.closeTarget", json!({"targetId": target_id}));
                return Err(e);
            }
        };
        let page = Page::attach(self.conn.clone(), target_id, session)?;
        page.navigate(url)?;
        Ok(page)
    }

    /// Sends a browser-level DevTools command (no session) and returns its result.
    ///
    /// # Errors
    /// The command's error response, a closed connection, or no answer within 60 s.
    pub fn call(&self, method: &str, params: Value) -> Result<Value> {
        self.conn.call(None, method, params, COMMAND)
    }

    /// The browser's version (`Browser.getVersion`: `product`, `userAgent`, ...).
    ///
    /// # Errors
    /// As [`Chromium::call`].
    pub fn version(&self) -> Result<Value> {
        self.call("Browser.getVersion", json!({}))
    }

    /// The binary that was started.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// The last lines Chromium wrote to its stderr (up to 200).
    pub fn stderr(&self) -> Vec<String> {
        lock(&self.stderr).iter().cloned().collect()
    }
}

/// A string field of a command's result.
fn str_field(v: &Value, field: &str, method: &str) -> Result<String> {
    v[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| BrowserError::BadAnswer { method: method.to_owned(), detail: format!("no `{field}` in {v}") })
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let mut child = lock(&self.child);
        // A graceful close ends the renderer and helper processes too; kill if it lingers.
        let _ = self.conn.call(None, "Browser.close", json!({}), Duration::from_secs(2));
        for _ in 0..40 {
            if matches!(child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        drop(child);
        // Chromium's helper processes may still be finishing writes into the profile.
        for _ in 0..20 {
            if std::fs::remove_dir_all(&self.profile).is_ok() || !self.profile.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
