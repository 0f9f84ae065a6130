//! The harness itself: Chromium launches, pages load from the static server, evaluate, report
//! exceptions and console output, run side by side, return large results and take screenshots.
//! Needs Debian's `chromium`; without it these tests fail, loudly.

use std::time::{Duration, Instant};

use depthcast_browser::{BrowserError, Chromium, StaticServer, mime_type};

const PAGE: &str = r#"<!doctype html><html><head><meta charset="utf-8"><title>harness</title></head>
<body style="margin:0;background:#00ff00"><script type="module">
import { answer } from '/lib/answer.js';
window.answer = answer;
console.log('loaded', 42, {a: 1});
</script></body></html>"#;

fn server() -> depthcast_browser::RunningServer {
    let mut s = StaticServer::new(depthcast_browser::web_dir());
    s.add("/t/page.html", PAGE, "text/html");
    s.add("/lib/answer.js", "export const answer = 6 * 7;", mime_type("answer.js"));
    s.start().expect("static server")
}

#[test]
fn mime_types() {
    assert_eq!(mime_type("/js/sei.js"), "text/javascript; charset=utf-8");
    assert_eq!(mime_type("index.html"), "text/html; charset=utf-8");
    assert_eq!(mime_type("a.json"), "application/json");
    assert_eq!(mime_type("a.wasm"), "application/wasm");
    assert_eq!(mime_type("a.bin"), "application/octet-stream");
    assert_eq!(mime_type("noext"), "application/octet-stream");
}

#[test]
fn pages_evaluate_report_and_run_side_by_side() {
    let server = server();
    let chromium = Chromium::launch().expect("Chromium (Debian's `chromium` package) must be installed");
    println!("{}", chromium.version().unwrap()["product"]);
    let page = chromium.new_page(&server.url("/t/page.html")).expect("page");
    page.wait_for("window.answer !== undefined", Duration::from_secs(20)).expect("module ran");
    assert_eq!(page.eval("window.answer").unwrap(), 42);
    assert_eq!(
        page.eval("Promise.resolve({x: [1, 'two', null]})").unwrap(),
        serde_json::json!({"x": [1, "two", null]})
    );
    assert_eq!(page.eval("undefined").unwrap(), serde_json::Value::Null);
    // The web/ directory is served with the module MIME type.
    let ct = page.eval("fetch('/js/sei.js').then(r => r.status + ' ' + r.headers.get('content-type'))").unwrap();
    assert_eq!(ct, "200 text/javascript; charset=utf-8");
    assert_eq!(page.eval("fetch('/nope').then(r => r.status)").unwrap(), 404);
    // Exceptions: thrown and rejected, with message and stack.
    match page.eval("(function boom() { throw new Error('kaput') })()") {
        Err(BrowserError::JsException { exception, .. }) => {
            assert!(exception.contains("kaput") && exception.contains("boom"), "{exception}")
        }
        other => panic!("{other:?}"),
    }
    match page.eval("Promise.reject(new TypeError('nope'))") {
        Err(BrowserError::JsException { exception, .. }) => {
            assert!(exception.contains("TypeError: nope"), "{exception}")
        }
        other => panic!("{other:?}"),
    }
    // Console output, uncaught exceptions included.
    page.eval("console.error('bad', 1.5); setTimeout(() => { throw new Error('later') }, 0)").unwrap();
    page.wait_for("new Promise(r => setTimeout(() => r(true), 50))", Duration::from_secs(5)).unwrap();
    let console = page.console();
    assert!(console.iter().any(|l| l.starts_with("[log] loaded 42 Object")), "{console:?}");
    assert!(console.iter().any(|l| l == "[error] bad 1.5"), "{console:?}");
    assert!(console.iter().any(|l| l.starts_with("[exception]") && l.contains("later")), "{console:?}");
    // A timeout quotes the console.
    page.eval("console.log('waiting for godot')").unwrap();
    let t0 = Instant::now();
    let e = page.wait_for("window.never", Duration::from_millis(300)).unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(e.to_string().contains("waiting for godot"), "{e}");

    // Pages do not block each other: one waits 3 s in a promise while the other answers (in
    // milliseconds; the 2.5 s bound leaves a loaded machine room).
    let other = chromium.new_page(&server.url("/t/page.html")).expect("second page");
    // Loaded first, so that the time below is the answer's alone.
    other.wait_for("window.answer === 42", Duration::from_secs(20)).unwrap();
    std::thread::scope(|s| {
        let slow = s.spawn(|| page.eval("new Promise(r => setTimeout(() => r('slow'), 3000))").unwrap());
        std::thread::sleep(Duration::from_millis(200));
        let t0 = Instant::now();
        assert_eq!(other.eval("window.answer + 1").unwrap(), 43);
        assert!(t0.elapsed() < Duration::from_millis(2500), "the second page waited for the first");
        assert_eq!(slow.join().unwrap(), "slow");
    });

    // Large results: a 48 MB string.
    let t0 = Instant::now();
    let big = page.eval("'abcdefgh'.repeat(6 * 1024 * 1024)").unwrap();
    assert_eq!(big.as_str().map(str::len), Some(48 << 20));
    println!("48 MiB eval result in {:?}", t0.elapsed());

    // Viewport and screenshot.
    page.set_viewport(320, 200).unwrap();
    assert_eq!(page.eval("[innerWidth, innerHeight]").unwrap(), serde_json::json!([320, 200]));
    let png = page.screenshot_png().unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let (w, h) =
        (u32::from_be_bytes(png[16..20].try_into().unwrap()), u32::from_be_bytes(png[20..24].try_into().unwrap()));
    assert_eq!((w, h), (320, 200));
    println!("requests: {:?}", server.requests());
}

#[test]
fn a_page_that_does_not_load_is_an_error() {
    let chromium = Chromium::launch().expect("Chromium (Debian's `chromium` package) must be installed");
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = chromium.new_page(&format!("http://127.0.0.1:{port}/")).unwrap_err();
    assert!(matches!(e, BrowserError::Navigation { .. }), "{e}");
}

#[test]
fn a_missing_binary_is_named() {
    // Only this test's process sees the variable change... but tests run in threads: use a
    // subprocess-free check of the error text instead.
    let e = BrowserError::ChromiumMissing { binary: "/nonexistent/chromium".into() };
    let text = e.to_string();
    assert!(text.contains("/nonexistent/chromium") && text.contains("./scripts/dev.sh test"), "{text}");
}
