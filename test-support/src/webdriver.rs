//! A real browser for tests: headless Chromium driven through WebDriver (Debian `chromium` +
//! `chromium-driver`, installed by `.ci/deps`). A small blocking W3C WebDriver client — enough to open
//! pages, find elements, click, type, run a script, wait for a condition and take a screenshot.
//!
//! ```ignore
//! let Some(b) = test_support::webdriver::Browser::start() else { return };  // skipped (or fails under CI)
//! b.goto("http://127.0.0.1:8090/");
//! let row = b.wait_for("#timeline tbody tr", Duration::from_secs(10));
//! assert!(b.text(&row).contains("kvnr.check-digit"));
//! ```
//!
//! Chromium is started with `--headless --no-sandbox --disable-gpu --disable-background-networking
//! --disable-component-update --disable-sync --no-first-run` and a fresh `--user-data-dir`. Binaries:
//! `KONFORM_CHROMIUM` / `KONFORM_CHROMEDRIVER`, else `chromium` / `chromedriver` on PATH.

use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// An element found on the page.
#[derive(Clone, Debug)]
pub struct Element(String);

/// A WebDriver error answer (`error`, `message`) or a transport problem.
#[derive(Debug)]
pub struct WdError(pub String);

impl std::fmt::Display for WdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn which(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())
}

pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    profile: PathBuf,
}

impl Browser {
    /// Start Chromium, or say why not: `None` after a "SKIPPED" line outside CI; under `CI=true` a missing
    /// browser is a failure (panic).
    pub fn start() -> Option<Browser> {
        Self::start_sized(1280, 800)
    }

    pub fn start_sized(width: u32, height: u32) -> Option<Browser> {
        let chromium = which(
            "KONFORM_CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        );
        let driver = which("KONFORM_CHROMEDRIVER", &["chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            let msg = "needs headless Chromium and chromedriver (Debian: apt-get install chromium chromium-driver; \
                       `.ci/deps` installs them; or set KONFORM_CHROMIUM and KONFORM_CHROMEDRIVER)";
            if crate::shared::in_ci() {
                panic!("{msg}; under CI their absence is a failure");
            }
            eprintln!("konform test SKIPPED: {msg}");
            return None;
        };
        match Self::launch(&chromium, &driver, width, height) {
            Ok(b) => Some(b),
            Err(e) => panic!(
                "starting {} through {}: {e}",
                chromium.display(),
                driver.display()
            ),
        }
    }

    fn launch(chromium: &Path, driver: &Path, width: u32, height: u32) -> Result<Browser, WdError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| WdError(e.to_string()))?
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| WdError(format!("cannot run {}: {e}", driver.display())))?;
        let profile =
            std::env::temp_dir().join(format!("konform-chromium-{}-{}", std::process::id(), port));
        let mut b = Browser {
            driver: child,
            port,
            session: String::new(),
            profile: profile.clone(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while b.http("GET", "/status", None).is_err() {
            if Instant::now() > deadline {
                return Err(WdError("chromedriver did not start within 20 s".into()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--disable-dev-shm-usage".into(),
            "--hide-scrollbars".into(),
            format!("--user-data-dir={}", profile.display()),
            format!("--window-size={width},{height}"),
        ];
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium.display().to_string(), "args": args }
        }}});
        let v = b.http("POST", "/session", Some(&caps))?;
        b.session = v
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| WdError(format!("no session in {v}")))?
            .to_string();
        Ok(b)
    }

    /// One WebDriver call; returns `value` of the answer.
    fn http(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, WdError> {
        let io = |e: std::io::Error| WdError(format!("chromedriver {method} {path}: {e}"));
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).map_err(io)?;
        s.set_read_timeout(Some(Duration::from_secs(120)))
            .map_err(io)?;
        let body = body
            .map(std::string::ToString::to_string)
            .unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        s.write_all(req.as_bytes()).map_err(io)?;
        let payload = read_response(&mut s).map_err(io)?;
        let v: Value = serde_json::from_str(&payload)
            .map_err(|e| WdError(format!("{method} {path}: {e}: {payload}")))?;
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if let Some(err) = value.get("error").and_then(Value::as_str) {
            let msg = value.get("message").and_then(Value::as_str).unwrap_or("");
            return Err(WdError(format!("{err}: {msg}")));
        }
        Ok(value)
    }

    fn call(&self, method: &str, rel: &str, body: Option<Value>) -> Result<Value, WdError> {
        let path = format!("/session/{}{rel}", self.session);
        self.http(method, &path, body.as_ref())
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })))
            .unwrap_or_else(|e| panic!("navigate to {url}: {e}"));
    }

    pub fn current_url(&self) -> String {
        self.call("GET", "/url", None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    pub fn try_find(&self, css: &str) -> Option<Element> {
        let v = self
            .call(
                "POST",
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .ok()?;
        v.get(ELEMENT)
            .and_then(Value::as_str)
            .map(|s| Element(s.to_string()))
    }

    pub fn find(&self, css: &str) -> Element {
        self.try_find(css)
            .unwrap_or_else(|| panic!("no element `{css}` on {}", self.current_url()))
    }

    pub fn find_all(&self, css: &str) -> Vec<Element> {
        self.call(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        )
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| {
            e.get(ELEMENT)
                .and_then(Value::as_str)
                .map(|s| Element(s.to_string()))
        })
        .collect()
    }

    /// Poll `f` until it gives `Some`, or panic with `what` after `timeout`.
    pub fn wait_until<T>(
        &self,
        timeout: Duration,
        what: &str,
        mut f: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = f() {
                return v;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {what} (page {})",
                    self.current_url()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn wait_for(&self, css: &str, timeout: Duration) -> Element {
        self.wait_until(timeout, css, || self.try_find(css))
    }

    pub fn click(&self, el: &Element) {
        self.call("POST", &format!("/element/{}/click", el.0), Some(json!({})))
            .unwrap_or_else(|e| panic!("click: {e}"));
    }

    pub fn clear(&self, el: &Element) {
        self.call("POST", &format!("/element/{}/clear", el.0), Some(json!({})))
            .unwrap_or_else(|e| panic!("clear: {e}"));
    }

    pub fn send_keys(&self, el: &Element, text: &str) {
        self.call(
            "POST",
            &format!("/element/{}/value", el.0),
            Some(json!({ "text": text })),
        )
        .unwrap_or_else(|e| panic!("type: {e}"));
    }

    /// Replace an input's value by typing.
    pub fn fill(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.clear(&el);
        self.send_keys(&el, text);
    }

    /// Choose the option with `value` in a `<select>` (and fire its change event), as a user would.
    pub fn select(&self, css: &str, value: &str) {
        let sel = self.find(css);
        let opt = self
            .find_all(&format!("{css} option"))
            .into_iter()
            .find(|o| self.attr(o, "value").as_deref() == Some(value))
            .unwrap_or_else(|| panic!("no option `{value}` in `{css}`"));
        self.click(&sel);
        self.click(&opt);
    }

    pub fn text(&self, el: &Element) -> String {
        self.call("GET", &format!("/element/{}/text", el.0), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    pub fn attr(&self, el: &Element, name: &str) -> Option<String> {
        self.call("GET", &format!("/element/{}/attribute/{name}", el.0), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
    }

    /// Send keys to whatever has focus (e.g. `"\u{E00C}"` for Escape, `"\u{E004}"` for Tab).
    pub fn keys(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                [
                    json!({ "type": "keyDown", "value": c.to_string() }),
                    json!({ "type": "keyUp", "value": c.to_string() }),
                ]
            })
            .collect();
        let body = json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] });
        self.call("POST", "/actions", Some(body))
            .unwrap_or_else(|e| panic!("keys: {e}"));
    }

    /// Run a script (`return …;`) in the page.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    pub fn set_window_size(&self, width: u32, height: u32) {
        let _ = self.call(
            "POST",
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        );
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self, path: &Path) {
        let v = self
            .call("GET", "/screenshot", None)
            .unwrap_or_else(|e| panic!("screenshot: {e}"));
        let b64 = v.as_str().unwrap_or_default();
        let png = decode_base64(b64);
        std::fs::write(path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.http("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Read one HTTP/1.1 response body (Content-Length or chunked; chromedriver may keep the connection open).
fn read_response(s: &mut TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::other(
                "connection closed before the headers",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let body = &buf[head_end..];
        let done = match length {
            Some(n) => body.len() >= n,
            None if chunked => body.windows(5).any(|w| w == b"0\r\n\r\n"),
            None => false,
        };
        if done {
            break;
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
    Ok(if chunked { dechunk(&body) } else { body })
}

fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

fn decode_base64(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_and_chunks() {
        assert_eq!(super::decode_base64("aGVsbG8="), b"hello");
        assert_eq!(super::dechunk("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), "abcde");
    }
}
