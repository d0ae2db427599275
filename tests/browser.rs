//! Pages in a real browser: headless Chromium over WebDriver. Ignored in the plain test
//! command (they need `chromium` and `chromium-driver`); `.ci/run` runs them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::browser;
use common::{TestEnv, TestServer};

#[tokio::test]
#[ignore = "needs chromium and chromium-driver"]
async fn the_browser_sees_the_security_headers_honoured() {
    let env = TestEnv::new().await;
    let server = TestServer::start(env.state().await).await;
    let url = server.url("/healthz");
    browser::run("health", move |b| async move {
        b.goto(&url).await;
        assert!(b.text().await.contains("ok"));
    })
    .await;
}
