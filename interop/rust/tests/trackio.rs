//! Trackio's own client and CLI (the `trackio` package, pinned in
//! `interop/python/requirements.txt`) against the tracking server with a write token:
//! `interop/python/trackio_suite.py` logs a training loop through `trackio.init(server_url=…)`
//! and reads it back with `trackio --space <url> list|get …`.

#[allow(dead_code)]
#[path = "../../../examples/tracking_server/app.rs"]
mod app;
mod support;

use std::sync::Arc;

use support::{repo, run_suite, serve_until_dropped};
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trackio_client_and_cli() {
    let tracker = Arc::new(app::Tracker::temporary());
    let service = app::builder(app::registry(tracker), Some("trackio-secret".to_owned()))
        .build()
        .expect("builds");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let _stop = serve_until_dropped(listener, app::router(service));
    run_suite(
        &repo().join(".venv/bin/python"),
        &repo().join("interop/python/trackio_suite.py"),
        &[&url, "trackio-secret"],
        4,
        "run scripts/test.sh, which installs interop/python/requirements.txt into .venv",
    )
    .await;
}
