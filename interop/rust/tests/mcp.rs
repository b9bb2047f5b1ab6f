//! The MCP server of the tracking server (plus a counting stream and a slow call), driven by
//! the official clients: the Python `mcp` SDK (interop/python/mcp_suite.py, pinned in
//! interop/python/requirements.txt) and the Rust `rmcp` client. Each lists the tools, calls
//! one, follows a stream's progress notifications, passes files by URL and by `data:` URI,
//! downloads a file output, fails without and with a wrong token, and cancels a running call.

#[allow(dead_code)]
#[path = "../../../examples/tracking_server/app.rs"]
mod app;
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use gradio_compat::{CallContext, NoArgs};
use rmcp::handler::client::progress::ProgressDispatcher;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientRequest, ProgressNotificationParam, Request,
    ServerResult,
};
use rmcp::service::{NotificationContext, PeerRequestOptions, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::{repo, run_suite, serve_until_dropped, with_slow};
use tokio::net::TcpListener;

const TOKEN: &str = "mcp-secret";
/// The file the test server serves at `/fixture.txt`, for file inputs by URL.
const FIXTURE: &str = "a file passed to an MCP tool by URL\n";

#[derive(Deserialize, schemars::JsonSchema)]
struct CountArgs {
    /// How many items to stream.
    n: u32,
    #[serde(default)]
    delay_ms: u64,
}

struct Harness {
    url: String,
    slow_cancelled: Arc<AtomicUsize>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start() -> Harness {
    let tracker = Arc::new(app::Tracker::temporary());
    let slow_cancelled = Arc::new(AtomicUsize::new(0));
    let seen = slow_cancelled.clone();
    let counted = slow_cancelled.clone();
    let registry = app::registry(tracker.clone())
        .typed_stream("count", |a: CountArgs, ctx: CallContext| {
            futures_util::stream::unfold(0u32, move |i| {
                let ctx = ctx.clone();
                async move {
                    if i >= a.n {
                        return None;
                    }
                    ctx.progress(
                        u64::from(i) + 1,
                        Some(u64::from(a.n)),
                        "steps",
                        Some("counting"),
                    );
                    tokio::time::sleep(Duration::from_millis(a.delay_ms)).await;
                    Some((Ok::<_, String>(format!("item {i}")), i + 1))
                }
            })
        })
        .typed("slow_cancelled", move |_: NoArgs, _: CallContext| {
            let n = counted.load(Ordering::SeqCst);
            async move { Ok::<_, String>(n) }
        });
    let registry = with_slow(registry, seen);
    let service = app::builder(&tracker, registry, Some(TOKEN.to_owned()))
        // The fixture is served on loopback; a short heartbeat notices a dropped stream soon.
        .mcp_fetch_private(true)
        .heartbeat_interval(Duration::from_millis(250))
        .build()
        .expect("service builds");
    let rest = app::routes(service.clone(), tracker)
        .route("/fixture.txt", axum::routing::get(|| async { FIXTURE }));
    let router = app::front::Front::new(service, rest);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    Harness {
        url,
        slow_cancelled,
        _stop: serve_until_dropped(listener, router),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_mcp_sdk() {
    let h = start().await;
    let python = repo().join(".venv/bin/python");
    run_suite(
        &python,
        &repo().join("interop/python/mcp_suite.py"),
        &[&h.url, TOKEN],
        9,
        "run scripts/test.sh, which installs interop/python/requirements.txt into .venv",
    )
    .await;
}

/// Records progress notifications for the requests that asked for them.
#[derive(Clone, Default)]
struct Client {
    progress: ProgressDispatcher,
}

impl ClientHandler for Client {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.handle_notification(params).await;
    }
}

async fn connect(url: &str, token: Option<&str>) -> RunningService<RoleClient, Client> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(format!("{url}/gradio_api/mcp"));
    if let Some(token) = token {
        config = config.auth_header(token.to_owned());
    }
    Client::default()
        .serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("the rmcp client connects")
}

fn args(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("arguments are objects"),
    }
}

async fn call(
    client: &RunningService<RoleClient, Client>,
    name: &'static str,
    arguments: Value,
) -> CallToolResult {
    client
        .call_tool(CallToolRequestParams::new(name).with_arguments(args(arguments)))
        .await
        .unwrap_or_else(|e| panic!("tools/call {name}: {e}"))
}

fn texts(result: &CallToolResult) -> Vec<String> {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rmcp_client() {
    let h = start().await;
    let client = connect(&h.url, Some(TOKEN)).await;

    // The tools, with Gradio's input schemas.
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| &*t.name).collect();
    for name in [
        "log",
        "bulk_log",
        "follow_metric",
        "get_metric_values",
        "export_metrics",
        "upload_artifact",
        "count",
        "slow",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let upload = tools
        .iter()
        .find(|t| t.name == "upload_artifact")
        .expect("upload_artifact");
    let schema = Value::Object((*upload.input_schema).clone());
    assert_eq!(
        schema
            .pointer("/properties/file/format")
            .and_then(Value::as_str),
        Some("Gradio File Input - a http or https url to a file"),
        "{schema}"
    );
    assert!(
        schema["required"]
            .as_array()
            .unwrap()
            .contains(&json!("file")),
        "{schema}"
    );

    // One call, then its value read back.
    let logged = call(
        &client,
        "log",
        json!({"project": "p", "run": "r", "metrics": {"loss": 0.25}}),
    )
    .await;
    assert_ne!(logged.is_error, Some(true), "{logged:?}");
    let values = call(
        &client,
        "get_metric_values",
        json!({"project": "p", "run": "r", "metric_name": "loss"}),
    )
    .await;
    assert!(texts(&values).concat().contains("0.25"), "{values:?}");

    // A stream with progress notifications: one per progress message and per item.
    let handle = client
        .send_cancellable_request(
            ClientRequest::CallToolRequest(Request::new(
                CallToolRequestParams::new("count")
                    .with_arguments(args(json!({"n": 3, "delay_ms": 30}))),
            )),
            PeerRequestOptions::no_options(),
        )
        .await
        .expect("tools/call count");
    let mut notes = client
        .service()
        .progress
        .subscribe(handle.progress_token.clone())
        .await;
    let response = handle.await_response().await.expect("count answers");
    let ServerResult::CallToolResult(result) = response else {
        panic!("not a tool result: {response:?}");
    };
    assert_eq!(texts(&result), vec!["item 2".to_owned()]);
    let mut seen = Vec::new();
    while let Ok(Some(n)) = tokio::time::timeout(Duration::from_millis(300), notes.next()).await {
        seen.push(n);
    }
    let messages: Vec<&str> = seen.iter().filter_map(|n| n.message.as_deref()).collect();
    for expected in [
        "Progress counting: Step 1 of 3",
        "item 0",
        "item 1",
        "item 2",
    ] {
        assert!(
            messages.contains(&expected),
            "{expected:?} not among {messages:?}"
        );
    }
    // rmcp's client hands each notification to a task of its own, so they may reach this
    // subscription out of order; what the server owes is a progress value that grows in the
    // order it sent them. Sorted by progress, the values are distinct and the messages come
    // in the order the job produced them.
    let mut by_progress: Vec<_> = seen.iter().collect();
    by_progress.sort_by(|a, b| a.progress.total_cmp(&b.progress));
    assert!(
        by_progress
            .windows(2)
            .all(|w| w[1].progress > w[0].progress),
        "each notification has its own progress value: {seen:?}"
    );
    let ordered: Vec<&str> = by_progress
        .iter()
        .filter_map(|n| n.message.as_deref())
        .filter(|m| m.starts_with("item") || m.starts_with("Progress counting"))
        .collect();
    assert_eq!(
        ordered,
        [
            "Progress counting: Step 1 of 3",
            "item 0",
            "Progress counting: Step 2 of 3",
            "item 1",
            "Progress counting: Step 3 of 3",
            "item 2"
        ],
        "progress grows in the order the job produced its messages: {seen:?}"
    );

    // Files by URL (a loopback file, and this server's own upload) and by data: URI.
    let artifact = call(
        &client,
        "upload_artifact",
        json!({"project": "p", "file": format!("{}/fixture.txt", h.url)}),
    )
    .await;
    assert_ne!(artifact.is_error, Some(true), "{artifact:?}");
    let text = texts(&artifact).concat();
    assert!(text.contains(&sha256_hex(FIXTURE.as_bytes())), "{text}");
    let data = "data:text/plain;base64,aGVsbG8gbWNw";
    let artifact = call(
        &client,
        "upload_artifact",
        json!({"project": "p", "file": data}),
    )
    .await;
    assert!(
        texts(&artifact)
            .concat()
            .contains(&sha256_hex(b"hello mcp")),
        "{artifact:?}"
    );

    // A file output: its URL, downloaded.
    let export = call(
        &client,
        "export_metrics",
        json!({"project": "p", "run": "r"}),
    )
    .await;
    let url = texts(&export).concat();
    assert!(url.starts_with("http://"), "{export:?}");
    let csv = get(&url).await;
    assert!(csv.contains("loss") && csv.contains("0.25"), "{csv}");

    // Missing and wrong tokens: tool errors with the same messages as /call.
    let anonymous = connect(&h.url, None).await;
    let refused = call(
        &anonymous,
        "log",
        json!({"project": "p", "run": "r", "metrics": {"loss": 1}}),
    )
    .await;
    assert_eq!(refused.is_error, Some(true), "{refused:?}");
    assert!(
        texts(&refused).concat().contains("needs a write token"),
        "{refused:?}"
    );
    let wrong = connect(&h.url, Some("nope")).await;
    let refused = call(
        &wrong,
        "log",
        json!({"project": "p", "run": "r", "metrics": {"loss": 1}}),
    )
    .await;
    assert_eq!(refused.is_error, Some(true), "{refused:?}");
    assert!(
        texts(&refused)
            .concat()
            .contains("the write token is wrong"),
        "{refused:?}"
    );

    // Cancel a running call: its job is cancelled.
    let handle = client
        .send_cancellable_request(
            ClientRequest::CallToolRequest(Request::new(CallToolRequestParams::new("slow"))),
            PeerRequestOptions::no_options(),
        )
        .await
        .expect("tools/call slow");
    tokio::time::sleep(Duration::from_millis(500)).await;
    handle.cancel(Some("test".into())).await.expect("cancel");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while h.slow_cancelled.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the cancelled call's job still runs after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = (
        anonymous.cancel().await,
        wrong.cancel().await,
        client.cancel().await,
    );
}

/// A GET over loopback, as text.
async fn get(url: &str) -> String {
    let uri: http::Uri = url.parse().expect("a URL");
    let authority = uri.authority().expect("authority").to_string();
    let stream = tokio::net::TcpStream::connect(&authority)
        .await
        .expect("connect");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    let request = http::Request::get(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
        .header("host", authority)
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), 200, "GET {url}");
    use http_body_util::BodyExt;
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    String::from_utf8_lossy(&body).into_owned()
}
