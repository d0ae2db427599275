//! Headless Chromium over WebDriver (Debian's `chromium` and `chromium-driver`), for the
//! browser tests. A failing test saves a screenshot under `target/browser-screenshots/`.

use std::future::Future;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile.
    pub async fn start() -> Self {
        let port = free_port();
        let driver = Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (apt-get install chromium chromium-driver)");
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "prefs": { "intl.accept_languages": "vi" },
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--lang=vi", "--accept-lang=vi",
                    format!("--user-data-dir={}", profile.path().display()),
                    "--window-size=1280,900",
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        // Two TLS providers are linked (see Cargo.toml): name one, once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut last_error = None;
        for _ in 0..100 {
            match ClientBuilder::rustls()
                .unwrap()
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Self {
                        client,
                        driver,
                        _profile: profile,
                    };
                }
                Err(e) => last_error = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cannot connect to chromedriver: {last_error:?}");
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|_| panic!("no field {css}"));
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Clicks the element, retrying while a page is still loading (stale or missing
    /// elements) for up to five seconds.
    pub async fn click(&self, css: &str) {
        let mut last = None;
        for _ in 0..50 {
            match self.client.find(Locator::Css(css)).await {
                Ok(el) => match el.click().await {
                    Ok(()) => return,
                    Err(e) => last = Some(e.to_string()),
                },
                Err(e) => last = Some(e.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cannot click {css}: {last:?}");
    }

    /// The page's visible text, once the page has settled.
    pub async fn text(&self) -> String {
        for _ in 0..50 {
            if let Ok(body) = self.client.find(Locator::Css("body")).await
                && let Ok(text) = body.text().await
            {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page did not settle");
    }

    /// The page's text once it holds `needle` (a click starts a navigation that may not have
    /// replaced the page yet), for up to five seconds; the last text otherwise.
    pub async fn text_with(&self, needle: &str) -> String {
        let mut text = String::new();
        for _ in 0..50 {
            text = self.text().await;
            if text.contains(needle) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        text
    }

    /// Waits (up to five seconds) until the address bar shows `path`.
    pub async fn wait_for_path(&self, path: &str) {
        for _ in 0..50 {
            if let Ok(url) = self.client.current_url().await
                && url.path() == path
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the browser never reached {path}");
    }

    /// Opens the `<details>` section that holds `form_css`, as a user clicks its summary.
    pub async fn open_section(&self, form_css: &str) {
        self.click(&format!("details:has({form_css}) > summary")).await;
    }

    /// Runs axe-core (from npm, `node_modules/axe-core/axe.min.js`) on the current page
    /// and returns the serious and critical violations.
    pub async fn serious_accessibility_violations(&self) -> Vec<Value> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/axe-core/axe.min.js");
        let axe = std::fs::read_to_string(&path).expect("axe-core is installed (npm ci)");
        self.client.execute(&axe, vec![]).await.unwrap();
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1]; \
                 axe.run(document, { resultTypes: ['violations'] }).then(r => done(r.violations)).catch(e => done(String(e)));",
                vec![],
            )
            .await
            .unwrap();
        result
            .as_array()
            .unwrap_or_else(|| panic!("axe failed: {result}"))
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .cloned()
            .collect()
    }

    async fn screenshot(&self, name: &str) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(dir.join(format!("{name}.png")), png);
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Runs a browser test body; when it fails (panics), saves a screenshot and fails.
pub async fn run<F, Fut>(name: &str, body: F)
where
    F: FnOnce(std::sync::Arc<Browser>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let browser = std::sync::Arc::new(Browser::start().await);
    let outcome = tokio::spawn(body(browser.clone())).await;
    if let Err(e) = outcome {
        browser.screenshot(name).await;
        let _ = browser.client.clone().close().await;
        std::panic::resume_unwind(e.into_panic());
    }
    let _ = browser.client.clone().close().await;
}
