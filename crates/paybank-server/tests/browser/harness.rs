//! Headless Chromium driven over WebDriver (chromedriver + fantoccini): one browser per test,
//! a few at a time, with a screenshot and the page's HTML saved when a test fails.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tokio::sync::{Semaphore, SemaphorePermit};

/// Browsers running at once: Chromium is heavy and CI machines have two cores.
static BROWSERS: Semaphore = Semaphore::const_new(2);
/// How long a page may take to show what a test waits for.
const WAIT: Duration = Duration::from_secs(15);
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The screen a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Desktop,
    /// A 360 × 740 phone, touch and device pixel ratio 2.
    Phone,
}

/// A chromedriver process with one Chromium session. Clones share both.
#[derive(Clone)]
pub struct Browser {
    pub client: Client,
    pub name: String,
    _driver: Arc<Driver>,
    _permit: Arc<SemaphorePermit<'static>>,
}

struct Driver {
    child: Child,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Browser {
    /// Starts Chromium for the test `name` (used for failure artifacts).
    pub async fn start(name: &str, screen: Screen) -> Browser {
        let permit = BROWSERS.acquire().await.expect("semaphore open");
        let (client, driver) = start_session(name, screen).await;
        Browser {
            client,
            name: name.to_owned(),
            _driver: Arc::new(driver),
            _permit: Arc::new(permit),
        }
    }

    /// Runs a story; if it panics, saves a screenshot and the HTML of the page it was on (and
    /// of the top-level page) under target/tmp/browser-failures/<test>/, then fails.
    pub async fn run<F, Fut>(self, story: F)
    where
        F: FnOnce(Browser) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let outcome = tokio::spawn(story(self.clone())).await;
        if let Err(error) = outcome {
            if error.is_panic() {
                self.save_failure_artifacts().await;
                std::panic::resume_unwind(error.into_panic());
            }
            panic!("{}: {error}", self.name);
        }
        let _ = self.client.clone().close().await;
    }

    async fn save_failure_artifacts(&self) {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("browser-failures")
            .join(&self.name);
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(html) = self.client.source().await {
            let _ = std::fs::write(dir.join("frame.html"), html);
        }
        let _ = self.client.enter_frame(None).await;
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(dir.join("screenshot.png"), png);
        }
        if let Ok(html) = self.client.source().await {
            let _ = std::fs::write(dir.join("page.html"), html);
        }
        if let Ok(url) = self.client.current_url().await {
            let _ = std::fs::write(dir.join("url.txt"), url.as_str());
        }
        eprintln!("browser test {} failed: see {}", self.name, dir.display());
        let _ = self.client.clone().close().await;
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|error| panic!("open {url}: {error}"));
    }

    /// Waits until an element matching `css` exists, and returns it. Every failure until then
    /// is a reason to look again, not only "no such element": a lookup made while the page
    /// navigates (a form posting, a redirect) is answered "aborted by navigation".
    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => return element,
                Err(error) if Instant::now() >= deadline => {
                    panic!("waiting for {css}: {error}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        element
            .click()
            .await
            .unwrap_or_else(|error| panic!("click {css}: {error}"));
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        element
            .send_keys(text)
            .await
            .unwrap_or_else(|error| panic!("type into {css}: {error}"));
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap_or_default()
    }

    /// Waits until the current document's `#main` says it is `page`.
    pub async fn wait_page(&self, page: &str) {
        self.find(&format!("main[data-page=\"{page}\"]")).await;
    }

    /// The Lightbox step (`data-page`) of the current document.
    pub async fn page(&self) -> String {
        let main = self.find("main[data-page]").await;
        main.attr("data-page")
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|error| panic!("run {script}: {error}"))
    }

    /// Polls a script until it returns something truthy, and returns that.
    pub async fn wait_js(&self, script: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let value = self.js(script).await;
            let truthy = !matches!(&value, Value::Null | Value::Bool(false))
                && value != json!("")
                && value != json!(0);
            if truthy {
                return value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {script}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|url| url.to_string())
            .unwrap_or_default()
    }

    /// Waits until the top-level URL starts with `prefix`, and returns it.
    pub async fn wait_url(&self, prefix: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.url().await;
            if url.starts_with(prefix) {
                return url;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {prefix}, at {url}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Switches into the iframe matching `css` of the current document.
    pub async fn enter_frame(&self, css: &str) {
        let frame = self.find(css).await;
        frame
            .enter_frame()
            .await
            .unwrap_or_else(|error| panic!("enter {css}: {error}"));
    }

    pub async fn leave_frames(&self) {
        self.client.enter_frame(None).await.expect("top-level");
    }

    /// Saves a screenshot of the viewport as docs/screenshots/<name>.png, rewriting the file
    /// only when the picture changed.
    pub async fn screenshot_for_docs(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
        std::fs::create_dir_all(&dir).expect("docs/screenshots");
        let path = dir.join(format!("{name}.png"));
        if std::fs::read(&path).ok().as_deref() != Some(png.as_slice()) {
            std::fs::write(&path, png).expect("write the screenshot");
        }
    }
}

/// chromedriver on a free port, ready to accept sessions.
/// A chromedriver and a Chromium session on it. A session that does not start is tried again
/// on a new chromedriver, up to [`SESSION_ATTEMPTS`] in all. A session once failed to start
/// in `.ci/run` ("webdriver server did not respond") and started at the next try: the port is
/// found free by binding it and letting it go, so another process can take it first, and a
/// chromedriver can die while starting Chromium on a loaded machine.
async fn start_session(name: &str, screen: Screen) -> (Client, Driver) {
    let mut failures = Vec::new();
    for _ in 0..SESSION_ATTEMPTS {
        let (driver, port) = spawn_driver(name);
        let connected = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities(&driver.profile, screen))
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        match connected {
            Ok(client) => return (client, driver),
            Err(error) => failures.push(error.to_string()),
        }
    }
    panic!("start Chromium through chromedriver: {failures:?}")
}

const SESSION_ATTEMPTS: usize = 3;

fn spawn_driver(name: &str) -> (Driver, u16) {
    for tool in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            std::path::Path::new(tool).exists(),
            "{tool} is missing: run scripts/test (it installs Debian's chromium and chromium-driver)"
        );
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port");
    let profile = std::env::temp_dir().join(format!("paybank-chromium-{name}-{port}"));
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver { child, profile };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (driver, port)
}

/// Chromium as the machine's own package, headless, with nothing reaching out to the network
/// by itself (this machine's network is closed), and a profile of its own.
fn capabilities(profile: &std::path::Path, screen: Screen) -> serde_json::Map<String, Value> {
    let mut args = vec![
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--hide-scrollbars".to_owned(),
        "--force-device-scale-factor=1".to_owned(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let mut options = json!({ "binary": CHROMIUM });
    match screen {
        Screen::Desktop => args.push("--window-size=1280,900".to_owned()),
        Screen::Phone => {
            options["mobileEmulation"] = json!({
                "deviceMetrics": { "width": 360, "height": 740, "pixelRatio": 2.0, "touch": true },
                "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36"
            });
        }
    }
    options["args"] = json!(args);
    let capabilities = json!({ "browserName": "chrome", "goog:chromeOptions": options });
    match capabilities {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object"),
    }
}
