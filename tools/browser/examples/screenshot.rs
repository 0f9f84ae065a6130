//! Opens a page in headless Chromium, waits for a condition, and saves a screenshot: how the
//! README's picture of the browser receiver is taken.
//!
//! ```sh
//! cargo run --release -p depthcast-browser --example screenshot -- \
//!     http://127.0.0.1:8080/ results/browser-receiver.png \
//!     "window.depthcast && window.depthcast.stats().unpacked >= 60" 1280x900
//! ```

use std::time::Duration;

use depthcast_browser::Chromium;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, out, rest @ ..] = args.as_slice() else {
        eprintln!("usage: screenshot URL OUT.png [JS-CONDITION] [WIDTHxHEIGHT] [SCRIPT.js to evaluate and print]");
        std::process::exit(2);
    };
    let condition = rest.first().map(String::as_str).unwrap_or("document.readyState === 'complete'");
    let (width, height) = rest
        .get(1)
        .and_then(|s| s.split_once('x'))
        .map(|(w, h)| (w.parse().unwrap_or(1280), h.parse().unwrap_or(900)))
        .unwrap_or((1280, 900));
    let chromium = Chromium::launch()?;
    let page = chromium.new_page(url)?;
    page.set_viewport(width, height)?;
    page.wait_for(condition, Duration::from_secs(120))?;
    let png = page.screenshot_png()?;
    std::fs::write(out, &png)?;
    println!("{out}: {} bytes, {width}x{height}", png.len());
    if let Ok(stats) = page.eval("window.depthcast ? window.depthcast.stats() : null") {
        println!("{stats}");
    }
    if let Some(script) = rest.get(2) {
        println!("{}", page.eval(&std::fs::read_to_string(script)?)?);
    }
    Ok(())
}
