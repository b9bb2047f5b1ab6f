//! Trackio's own client and CLI (the `trackio` package, pinned in
//! `interop/python/requirements.txt`) against the tracking server with a write token.
//!
//! - `interop/python/trackio_suite.py` logs a training loop through `trackio.init(server_url=…)`
//!   and reads it back with `trackio --space <url> list|get …`;
//! - `interop/python/trackio_full_suite.py` does everything else the client and CLI do: exact
//!   values through every read, system metrics, alerts, media, artifacts, reports, traces,
//!   snapshots, SQL, run management.
//!
//! Trackio's client talks Trackio's own HTTP API when the server has it (`GET /version`) and
//! Gradio otherwise: both are run.

#[allow(dead_code)]
#[path = "../../../examples/tracking_server/app.rs"]
mod app;
mod support;

use std::sync::Arc;

use support::{repo, run_suite, serve_until_dropped};
use tokio::net::TcpListener;

const TOKEN: &str = "trackio-secret";
const HINT: &str = "run scripts/test.sh, which installs interop/python/requirements.txt into .venv";

/// Serves a fresh tracker (Trackio's API too unless `gradio_only`); its URL, media folder and
/// the guard that stops it.
async fn serve(gradio_only: bool) -> (String, String, impl Drop) {
    let tracker = Arc::new(app::Tracker::temporary());
    let media = std::path::absolute(tracker.media_dir())
        .expect("absolute")
        .to_string_lossy()
        .into_owned();
    let service = app::builder(
        &tracker,
        app::registry(tracker.clone()),
        Some(TOKEN.to_owned()),
    )
    .build()
    .expect("builds");
    let router = if gradio_only {
        app::front::Front::new(service, app::dashboard_routes(tracker))
    } else {
        app::router(service, tracker)
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    (url, media, serve_until_dropped(listener, router))
}

/// The training loop and the CLI's list/get, with the client on the Gradio protocol.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trackio_client_and_cli_over_gradio() {
    let (url, _, _stop) = serve(true).await;
    let script = repo().join("interop/python/trackio_suite.py");
    run_suite(
        &repo().join(".venv/bin/python"),
        &script,
        &[&url, TOKEN],
        4,
        HINT,
    )
    .await;
}

/// Everything, with the client on Trackio's own HTTP API (as against Trackio's server).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trackio_everything_over_trackio_api() {
    let (url, media, _stop) = serve(false).await;
    let script = repo().join("interop/python/trackio_full_suite.py");
    run_suite(
        &repo().join(".venv/bin/python"),
        &script,
        &[&url, TOKEN, &media, "trackio-api"],
        9,
        HINT,
    )
    .await;
}

/// Everything but artifacts, with the client on the Gradio protocol. (The Gradio Python
/// client takes every `{"path": …}` object in a result for a file to download, and an
/// artifact's manifest is made of them: artifacts need Trackio's API.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trackio_everything_but_artifacts_over_gradio() {
    let (url, media, _stop) = serve(true).await;
    let script = repo().join("interop/python/trackio_full_suite.py");
    run_suite(
        &repo().join(".venv/bin/python"),
        &script,
        &[&url, TOKEN, &media, "gradio"],
        8,
        HINT,
    )
    .await;
}
