//! The three official Gradio clients against a gradio-compat server: Python `gradio_client`
//! and JS `@gradio/client` (run as child processes on suites in `interop/python` and
//! `interop/js`), and the Rust `gradio` crate (in process).
//!
//! The server is the `tracking_server` example's registry plus `count`, a stream of numbers
//! with progress, and `slow`, an endpoint that runs until it is cancelled, with write token
//! `secret`, on 127.0.0.1 and a free port: once at the root, and once nested under `/tools`
//! in an axum router beside a `/health` route (clients connect to `…/tools/`). The clients
//! are installed by `scripts/test.sh`; when one is missing, its test fails with a message that
//! says how to install it. Nothing is skipped.

#[allow(dead_code)]
#[path = "../../../examples/tracking_server/app.rs"]
mod app;
mod support;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gradio_compat::CallContext;
use support::{repo, run_suite, serve_until_dropped, which, with_slow};
use tokio::net::TcpListener;

const TOKEN: &str = "secret";

/// Counts from 0 to `n - 1`, `delay_ms` apart, reporting progress.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct CountArgs {
    n: u32,
    delay_ms: u64,
}

/// A running server and what its `slow` endpoint saw.
struct Harness {
    url: String,
    slow_cancelled: Arc<AtomicUsize>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Where the app is served: at the root (the tracking server's own router), or nested.
#[derive(Clone, Copy)]
enum Mount {
    Root,
    Nested,
}

async fn start() -> Harness {
    start_at(Mount::Root).await
}

async fn start_at(mount: Mount) -> Harness {
    let tracker = Arc::new(app::Tracker::temporary());
    let slow_cancelled = Arc::new(AtomicUsize::new(0));
    let seen = slow_cancelled.clone();
    let registry =
        app::registry(tracker.clone()).typed_stream("count", |a: CountArgs, ctx: CallContext| {
            futures_util::stream::unfold(0u32, move |i| {
                let ctx = ctx.clone();
                async move {
                    if i >= a.n {
                        return None;
                    }
                    // Progress first, then the work, then the item: between two items the
                    // latest message a client has is the progress.
                    ctx.progress(
                        u64::from(i) + 1,
                        Some(u64::from(a.n)),
                        "steps",
                        Some("counting"),
                    );
                    tokio::time::sleep(Duration::from_millis(a.delay_ms)).await;
                    Some((Ok::<_, String>(i), i + 1))
                }
            })
        });
    let registry = with_slow(registry, seen);
    let builder = app::builder(&tracker, registry, Some(TOKEN.to_owned()));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().unwrap();
    let (stop, url) = match mount {
        Mount::Root => {
            let gradio = builder.build().expect("service builds");
            let stop = serve_until_dropped(listener, app::router(gradio, tracker));
            (stop, format!("http://{addr}"))
        }
        Mount::Nested => {
            let gradio = builder.root_path("/tools").build().expect("service builds");
            let router = axum::Router::new()
                .route("/health", axum::routing::get(|| async { "ok" }))
                .nest_service("/tools", gradio);
            let stop = serve_until_dropped(listener, router);
            (stop, format!("http://{addr}/tools/"))
        }
    };
    Harness {
        url,
        slow_cancelled,
        _stop: stop,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_gradio_client() {
    python_gradio_client_at(Mount::Root).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_gradio_client_nested() {
    python_gradio_client_at(Mount::Nested).await;
}

async fn python_gradio_client_at(mount: Mount) {
    let harness = start_at(mount).await;
    let python = repo().join(".venv/bin/python");
    run_suite(
        &python,
        &repo().join("interop/python/suite.py"),
        &[&harness.url, TOKEN],
        10,
        "run scripts/test.sh, which installs interop/python/requirements.txt into .venv",
    )
    .await;
    // The suite cancelled a running `slow` job; the handler must have seen it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while harness.slow_cancelled.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slow handler never saw the cancel"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_gradio_client() {
    js_gradio_client_at(Mount::Root).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_gradio_client_nested() {
    js_gradio_client_at(Mount::Nested).await;
}

async fn js_gradio_client_at(mount: Mount) {
    let harness = start_at(mount).await;
    let node = which("node").unwrap_or_else(|| PathBuf::from("node (not on PATH)"));
    let js = repo().join("interop/js");
    assert!(
        js.join("node_modules/@gradio/client/package.json").exists(),
        "@gradio/client is not installed: run scripts/test.sh, which runs npm ci in interop/js"
    );
    run_suite(
        &node,
        &js.join("suite.mjs"),
        &[&harness.url, TOKEN],
        9,
        "install Node.js 18 or later",
    )
    .await;
}

mod rust_client {
    use super::*;
    use gradio::{Client, ClientOptions, PredictionInput};
    use serde_json::json;

    async fn client(url: &str, token: Option<&str>) -> Client {
        let options = ClientOptions {
            hf_token: token.map(str::to_owned),
            auth: None,
        };
        Client::new(url, options)
            .await
            .expect("the Rust client connects")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn view_api_lists_the_endpoints() {
        let harness = start().await;
        let client = client(&harness.url, None).await;
        let api = client.view_api();
        for name in [
            "/log",
            "/bulk_log",
            "/get_all_projects",
            "/get_runs_for_project",
            "/get_metric_values",
            "/export_metrics",
            "/upload_artifact",
        ] {
            assert!(api.named_endpoints.contains_key(name), "{name}");
        }
        let log = &api.named_endpoints["/log"];
        let names: Vec<_> = log
            .parameters
            .iter()
            .map(|p| p.parameter_name.clone().unwrap_or_default())
            .collect();
        assert_eq!(
            names,
            ["project", "run", "metrics", "step", "hf_token", "run_id"]
        );
        assert_eq!(client.view_config().protocol, "sse_v3");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn predict_values_files_and_errors() {
        predict_values_files_and_errors_at(Mount::Root).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn predict_values_files_and_errors_nested() {
        predict_values_files_and_errors_at(Mount::Nested).await;
    }

    async fn predict_values_files_and_errors_at(mount: Mount) {
        let harness = start_at(mount).await;
        let client = client(&harness.url, Some(TOKEN)).await;
        let out = client
            .predict(
                "/log",
                vec![
                    PredictionInput::from_value("rust"),
                    PredictionInput::from_value("r1"),
                    PredictionInput::from_value(json!({"loss": 0.5})),
                ],
            )
            .await
            .expect("log");
        // A function without a result: one output, null.
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].clone().as_value().unwrap(), json!(null));
        let values = client
            .predict(
                "/get_metric_values",
                vec![
                    PredictionInput::from_value("rust"),
                    PredictionInput::from_value("r1"),
                    PredictionInput::from_value("loss"),
                ],
            )
            .await
            .expect("get_metric_values");
        let values = values.into_iter().next().unwrap().as_value().unwrap();
        assert_eq!(values[0]["value"], json!(0.5));

        // A file input: uploaded by the client, hashed by the handler.
        let dir = std::env::temp_dir().join(format!("gc-rust-client-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("weights.bin");
        std::fs::write(&file, b"hello").unwrap();
        let art = client
            .predict(
                "/upload_artifact",
                vec![
                    PredictionInput::from_value("rust"),
                    PredictionInput::from_file(&file),
                ],
            )
            .await
            .expect("upload_artifact");
        let art = art.into_iter().next().unwrap().as_value().unwrap();
        assert_eq!(art["name"], "weights.bin");
        assert_eq!(
            art["sha256"],
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );

        // A file output, downloaded from its URL.
        let export = client
            .predict(
                "/export_metrics",
                vec![
                    PredictionInput::from_value("rust"),
                    PredictionInput::from_value("r1"),
                ],
            )
            .await
            .expect("export_metrics");
        let export = export
            .into_iter()
            .next()
            .unwrap()
            .as_file()
            .expect("a file output");
        let body = export.download(None).await.expect("download");
        assert!(
            body.starts_with(b"step,metric,value,timestamp\n"),
            "{body:?}"
        );

        // A handler error.
        let err = client
            .predict(
                "/get_metric_values",
                vec![
                    PredictionInput::from_value("no-such-project"),
                    PredictionInput::from_value("r"),
                    PredictionInput::from_value("loss"),
                ],
            )
            .await
            .expect_err("an unknown project fails");
        assert!(
            err.to_string()
                .contains("unknown project \"no-such-project\""),
            "{err}"
        );

        // A wrong token is refused with our message.
        let wrong = client_with(&harness.url, "nope").await;
        let err = wrong
            .predict(
                "/log",
                vec![
                    PredictionInput::from_value("x"),
                    PredictionInput::from_value("r"),
                    PredictionInput::from_value(json!({"a": 1})),
                ],
            )
            .await
            .expect_err("a wrong token fails");
        assert!(
            err.to_string().contains("the write token is wrong"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn prediction_stream_yields_partial_results_and_progress() {
        use gradio::structs::QueueDataMessage;
        let harness = start().await;
        let client = client(&harness.url, None).await;
        let mut stream = client
            .submit(
                "/count",
                vec![
                    PredictionInput::from_value(3),
                    PredictionInput::from_value(20),
                ],
            )
            .await
            .expect("submit");
        let mut partial = Vec::new();
        let mut progress = 0;
        let mut last = None;
        while let Some(message) = stream.next().await {
            match message.expect("a queue message") {
                QueueDataMessage::ProcessGenerating { output, .. } => {
                    let outputs: Vec<gradio::PredictionOutput> = output.try_into().expect("data");
                    partial.push(outputs.into_iter().next().unwrap().as_value().unwrap());
                }
                QueueDataMessage::Progress { progress_data, .. } => {
                    progress += progress_data.map(|p| p.len()).unwrap_or(0);
                }
                QueueDataMessage::ProcessCompleted { output, .. } => {
                    let outputs: Vec<gradio::PredictionOutput> = output.try_into().expect("data");
                    last = Some(outputs.into_iter().next().unwrap().as_value().unwrap());
                    break;
                }
                _ => {}
            }
        }
        assert_eq!(partial, [json!(0), json!(1), json!(2)]);
        assert_eq!(last, Some(json!(2)));
        assert_eq!(progress, 3);
    }

    async fn client_with(url: &str, token: &str) -> Client {
        client(url, Some(token)).await
    }
}
