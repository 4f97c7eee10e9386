//! A headless Chromium driven through chromedriver (WebDriver), one per test: started on a free
//! loopback port, closed when the test ends. Outside CI a machine without `chromium` and
//! `chromedriver` skips the browser tests with a notice; under CI (`CI=true`) that is a failure.
//!
//! Every test ends with a screenshot under `target/tmp/console-screenshots/`, checked not to be
//! blank; a test that fails saves `<name>-failed.png` there first, for the developer.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use serde_json::{json, Value};

/// The longest any single wait of a console test lasts.
pub const WAIT: Duration = Duration::from_secs(30);

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    })
}

/// Where screenshots go: the test target's scratch directory.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots")
}

pub struct Browser {
    pub client: Client,
    pub downloads: tempfile::TempDir,
}

/// The chromedriver process; it outlives the test body, so a failed test can still take its
/// screenshot.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `body` against a fresh browser, or skips (outside CI) when there is none, answering
/// whether it ran: a test that checks the API afterwards returns early when it did not.
/// Screenshot and blank check at the end; a failure screenshot on panic.
pub async fn with_browser<F, Fut>(name: &str, body: F) -> bool
where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = Browser>,
{
    let Some((browser, _driver)) = Browser::start().await else {
        return false;
    };
    let client = browser.client.clone();
    match std::panic::AssertUnwindSafe(body(browser))
        .catch_unwind()
        .await
    {
        Ok(b) => {
            let png = b.client.screenshot().await.expect("a screenshot");
            let path = save(name, &png);
            assert_not_blank(&png, &path);
            let _ = b.client.clone().close().await;
            true
        }
        Err(panic) => {
            if let Ok(png) = client.screenshot().await {
                let path = save(&format!("{name}-failed"), &png);
                eprintln!(
                    "console test {name} failed; its screenshot: {}",
                    path.display()
                );
            }
            let _ = client.close().await;
            std::panic::resume_unwind(panic);
        }
    }
}

fn save(name: &str, png: &[u8]) -> PathBuf {
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    path
}

impl Browser {
    async fn start() -> Option<(Browser, Driver)> {
        let chrome = on_path(&["chromium", "chromium-browser", "google-chrome"]);
        let driver = on_path(&["chromedriver"]);
        let (Some(chrome), Some(driver)) = (chrome, driver) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but chromium or chromedriver is missing: install the Debian packages chromium and chromium-driver"
            );
            eprintln!("notice: chromium or chromedriver not found; the console browser test is skipped (install chromium and chromium-driver)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver(driver);
        let downloads = tempfile::tempdir().unwrap();
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chrome,
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    "--window-size=1400,900", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                    "--no-first-run", "--disable-extensions", "--disable-background-networking"],
                "prefs": {
                    "download.default_directory": downloads.path(),
                    "download.prompt_for_download": false
                }
            }
        });
        let caps = caps.as_object().unwrap().clone();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + WAIT;
        let client = loop {
            let mut b =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
            match b.capabilities(caps.clone()).connect(&url).await {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => panic!("no WebDriver session: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Some((Browser { client, downloads }, driver))
    }

    /// Saves a screenshot of the page as it is now as `<name>.png`, checked not blank.
    pub async fn snapshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        let path = save(name, &png);
        assert_not_blank(&png, &path);
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigates");
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no `{css}` on the page: {e}"))
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("clickable");
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    /// Evaluates `script` (a function body that returns a value) in the page.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits until `script` returns something truthy; returns it.
    pub async fn until(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.eval(script).await;
            let truthy =
                !matches!(&v, Value::Null | Value::Bool(false)) && v != json!(0) && v != json!("");
            if truthy {
                return v;
            }
            if Instant::now() > deadline {
                let seen = self
                    .eval("return {text: document.body.innerText.slice(0, 600), map: Object.assign({}, document.getElementById('map')?.dataset)};")
                    .await;
                panic!("timed out waiting for {what}; the page: {seen}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the page's text contains `needle`.
    pub async fn until_text(&self, needle: &str) {
        let script = format!(
            "return document.body.innerText.includes({});",
            serde_json::to_string(needle).unwrap()
        );
        self.until(&format!("the text `{needle}`"), &script).await;
    }

    /// Opens the console at `base` and signs in with `key`, landing on `hash`.
    pub async fn sign_in(&self, base: &str, key: &str, hash: &str) {
        self.goto(&format!("{base}/{hash}")).await;
        self.fill("#api-key", key).await;
        self.click("#signin").await;
        self.find("#nav a").await;
    }
}

/// Decodes an 8-bit RGB or RGBA PNG (what Chromium writes) and fails when the picture is
/// blank: fewer than 16 colours, or one colour covering 98% of it.
pub fn assert_not_blank(png: &[u8], path: &Path) {
    let (w, h, pixels) = decode_png(png);
    let mut counts = std::collections::HashMap::<[u8; 3], usize>::new();
    for p in &pixels {
        *counts.entry(*p).or_default() += 1;
    }
    let top = counts.values().copied().max().unwrap_or(0);
    assert!(
        counts.len() >= 16 && (top as f64) < 0.98 * (w * h) as f64,
        "the screenshot {} looks blank: {} colours, the commonest on {top} of {} pixels",
        path.display(),
        counts.len(),
        w * h
    );
}

fn decode_png(png: &[u8]) -> (usize, usize, Vec<[u8; 3]>) {
    use std::io::Read;
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let (mut w, mut h, mut channels) = (0usize, 0usize, 0usize);
    let mut idat = Vec::new();
    let mut at = 8;
    while at + 8 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let kind = &png[at + 4..at + 8];
        let data = &png[at + 8..at + 8 + len];
        match kind {
            b"IHDR" => {
                w = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
                h = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
                assert_eq!(data[8], 8, "8-bit PNG");
                channels = match data[9] {
                    2 => 3,
                    6 => 4,
                    t => panic!("PNG colour type {t}"),
                };
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        at += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .unwrap();
    let stride = w * channels;
    let mut prev = vec![0u8; stride];
    let mut pixels = Vec::with_capacity(w * h);
    for row in raw.chunks(stride + 1).take(h) {
        let (filter, line) = (row[0], &row[1..]);
        let mut cur = vec![0u8; stride];
        for i in 0..stride {
            let a = if i >= channels { cur[i - channels] } else { 0 } as i16;
            let b = prev[i] as i16;
            let c = if i >= channels { prev[i - channels] } else { 0 } as i16;
            let pred = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("PNG filter {f}"),
            };
            cur[i] = line[i].wrapping_add(pred as u8);
        }
        pixels.extend(cur.chunks(channels).map(|p| [p[0], p[1], p[2]]));
        prev = cur;
    }
    (w, h, pixels)
}
