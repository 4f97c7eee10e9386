//! The web console over a million events, measured in a real headless Chromium through
//! chromedriver: the compressed bytes of JavaScript and CSS a first visit loads, and the time
//! from pressing "Sign in" to the map's first `idle` (every visible tile loaded and drawn),
//! read from the page's Performance API (`picket-sign-in` and `picket-map-interactive`
//! marks). The first run meets a server whose map index is still cold; the next runs each
//! start a fresh browser profile (nothing cached) against the warm server.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::Server;

const RUNS: usize = 5;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn on_path(name: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

async fn session(port: u16, chrome: &std::path::Path) -> anyhow::Result<Client> {
    let caps = json!({"browserName": "chrome", "goog:chromeOptions": {"binary": chrome,
        "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900",
            "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-first-run"]}});
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut b = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        match b
            .capabilities(caps.as_object().expect("an object").clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() > deadline => anyhow::bail!("no WebDriver session: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// One visit: sign in on `#/map`, wait (at most two minutes) for the map, read the figures.
async fn visit(c: &Client, server: &Server) -> anyhow::Result<Value> {
    c.goto(&format!("{}/#/map", server.base)).await?;
    let key = c
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("#api-key"))
        .await?;
    key.send_keys(&server.key).await?;
    c.find(Locator::Css("#signin")).await?.click().await?;
    c.wait()
        .at_most(Duration::from_secs(120))
        .for_element(Locator::Css("#map[data-ready=true]"))
        .await?;
    Ok(c.execute(
        "const at = (n) => performance.getEntriesByName(n)[0].startTime;
         const code = performance.getEntriesByType('resource')
           .filter((e) => /\\.(js|css)$/.test(new URL(e.name).pathname));
         return {interactive_ms: at('picket-map-interactive') - at('picket-sign-in'),
                 code_files: code.length, code_compressed: code.reduce((a, e) => a + e.encodedBodySize, 0),
                 code_decoded: code.reduce((a, e) => a + e.decodedBodySize, 0)};",
        vec![],
    )
    .await?)
}

pub async fn run(server: &Server, events: usize) -> anyhow::Result<()> {
    let (Some(chrome), Some(driver)) = (on_path("chromium"), on_path("chromedriver")) else {
        anyhow::bail!("the console scenario needs chromium and chromedriver on the PATH");
    };
    crate::map::import_corpus(server, events).await?;

    // The map worker is loaded by the worker itself, out of the page's resource timeline:
    // its compressed size is taken over HTTP as a browser would get it.
    let worker = reqwest::Client::builder()
        .no_gzip()
        .build()?
        .get(format!(
            "{}/assets/vendor/maplibre-gl-csp-worker.js",
            server.base
        ))
        .header("accept-encoding", "gzip")
        .send()
        .await?
        .bytes()
        .await?
        .len();

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let _driver = Driver(
        Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let mut times = Vec::new();
    for run in 0..RUNS {
        let c = session(port, &chrome).await?;
        let v = visit(&c, server).await;
        let _ = c.close().await;
        let v = v?;
        let ms = v["interactive_ms"].as_f64().unwrap_or(f64::NAN);
        if run == 0 {
            let code = v["code_compressed"].as_u64().unwrap_or(0) + worker as u64;
            println!(
                "first load: {} JS and CSS files + the map worker, {:.0} KiB compressed ({:.0} KiB in the page, {:.0} KiB worker), {:.0} KiB uncompressed in the page",
                v["code_files"],
                code as f64 / 1024.0,
                v["code_compressed"].as_f64().unwrap_or(0.0) / 1024.0,
                worker as f64 / 1024.0,
                v["code_decoded"].as_f64().unwrap_or(0.0) / 1024.0
            );
            println!("sign-in to interactive map, cold server: {ms:.0} ms");
        } else {
            times.push(ms);
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "sign-in to interactive map, warm server, fresh browser: median {:.0} ms, best {:.0}, worst {:.0} ({} runs)",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        times.len()
    );
    Ok(())
}
