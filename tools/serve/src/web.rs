//! The receiver page's files: embedded in the binary, or read from a folder (`--web-dir`, for
//! development).

use std::path::{Path, PathBuf};

/// `(URL path, file under web/, bytes, content type)` of every embedded file.
const FILES: [(&str, &[u8], &str); 5] = [
    ("/", include_bytes!("../../../web/index.html"), HTML),
    ("/js/main.js", include_bytes!("../../../web/js/main.js"), JS),
    ("/js/sei.js", include_bytes!("../../../web/js/sei.js"), JS),
    ("/js/unpack.js", include_bytes!("../../../web/js/unpack.js"), JS),
    ("/js/views.js", include_bytes!("../../../web/js/views.js"), JS),
];

/// Content type of the page.
pub(crate) const HTML: &str = "text/html; charset=utf-8";
/// Content type of the modules.
pub(crate) const JS: &str = "text/javascript; charset=utf-8";

/// Where the page's files come from.
#[derive(Debug, Clone)]
pub(crate) enum WebFiles {
    /// Built into the binary.
    Embedded,
    /// Read from this folder at every request.
    Dir(PathBuf),
}

impl WebFiles {
    /// The file for a request path (`/`, `/index.html`, `/js/NAME.js`) and its content type.
    pub(crate) async fn get(&self, path: &str) -> Option<(Vec<u8>, &'static str)> {
        let path = if path == "/index.html" { "/" } else { path };
        match self {
            WebFiles::Embedded => FILES.iter().find(|f| f.0 == path).map(|f| (f.1.to_vec(), f.2)),
            WebFiles::Dir(dir) => {
                let (rel, mime) = if path == "/" {
                    (PathBuf::from("index.html"), HTML)
                } else {
                    let name = path.strip_prefix("/js/")?;
                    let plain = name.strip_suffix(".js")?;
                    // One plain file name: no folders, no `..`.
                    if plain.is_empty() || !plain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
                        return None;
                    }
                    (Path::new("js").join(name), JS)
                };
                // Development only, small files: a blocking read is fine.
                std::fs::read(dir.join(rel)).ok().map(|b| (b, mime))
            }
        }
    }
}
