//! The `tracking_server` example: its endpoints' semantics, write tokens, and the dashboard
//! fallback beside the Gradio routes; plus the built binary's options.

mod common;

#[allow(dead_code)]
#[path = "../examples/tracking_server/app.rs"]
mod app;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use bytes::Bytes;
use common::{free_port, parse_frames, request, Frame, TestServer};
use http::{Method, StatusCode};
use serde_json::{json, Value};

async fn start(write_token: Option<&str>) -> TestServer {
    let tracker = Arc::new(app::Tracker::temporary());
    let gradio = app::service(tracker.clone(), write_token.map(str::to_owned)).unwrap();
    TestServer::start(app::router(gradio, tracker)).await
}

/// Calls an endpoint and returns its terminal frame.
async fn call(server: &TestServer, api: &str, data: Value, bearer: Option<&str>) -> Frame {
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    let body = Bytes::from(json!({ "data": data }).to_string());
    let r = server
        .send(request(
            Method::POST,
            &format!("/gradio_api/call/{api}"),
            &headers,
            body,
        ))
        .await;
    let id = r.event_id();
    let poll = server.get(&format!("/gradio_api/call/{api}/{id}")).await;
    let frames = parse_frames(poll.text());
    assert_eq!(frames.len(), 1, "{}", poll.text());
    frames[0].clone()
}

fn value(frame: &Frame) -> Value {
    assert_eq!(frame.event.as_deref(), Some("complete"), "{frame:?}");
    serde_json::from_str::<Value>(&frame.data).unwrap()[0].clone()
}

#[tokio::test]
async fn logging_and_reading_back() {
    let server = start(None).await;
    // Without a step, a run counts from 0.
    for loss in [0.5, 0.4] {
        let f = call(
            &server,
            "log",
            json!(["demo", "run-1", {"loss": loss}]),
            None,
        )
        .await;
        assert_eq!(f.data, "[null]");
    }
    call(
        &server,
        "log",
        json!(["demo", "run-1", {"loss": 0.1, "acc": 0.9}, 10]),
        None,
    )
    .await;
    call(
        &server,
        "log",
        json!(["demo", "run-1", {"loss": 0.05}]),
        None,
    )
    .await;
    // Trackio's bulk_log answers nothing.
    let n = value(&call(&server, "bulk_log", json!([[{"project": "other", "run": "r", "metrics": {"x": 1}}, {"project": "demo", "run": "run-2", "metrics": {"loss": 1}, "step": 3}]]), None).await);
    assert_eq!(n, Value::Null);

    assert_eq!(
        value(&call(&server, "get_all_projects", json!([]), None).await),
        json!(["demo", "other"])
    );
    // Trackio's run records: id (the name when the client gave no run id), name, created_at.
    let runs = value(&call(&server, "get_runs_for_project", json!(["demo"]), None).await);
    let names: Vec<(&str, &str)> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["name"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("run-1", "run-1"), ("run-2", "run-2")]);
    assert!(runs[0]["created_at"].as_str().unwrap().starts_with("20"));
    assert_eq!(
        value(&call(&server, "get_runs_for_project", json!(["nobody"]), None).await),
        json!([])
    );

    let values = value(
        &call(
            &server,
            "get_metric_values",
            json!(["demo", "run-1", "loss"]),
            None,
        )
        .await,
    );
    let steps: Vec<u64> = values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, [0, 1, 10, 11]);
    // Trackio's timestamps: ISO 8601, UTC.
    let stamp = values[0]["timestamp"].as_str().unwrap();
    assert!(
        stamp.starts_with("20") && stamp.ends_with("+00:00"),
        "{stamp}"
    );
    assert_eq!(values[0]["value"], json!(0.5));
    let at_10 = value(
        &call(
            &server,
            "get_metric_values",
            json!({"project": "demo", "run": "run-1", "metric_name": "loss", "step": 10}),
            None,
        )
        .await,
    );
    assert_eq!(at_10.as_array().unwrap().len(), 1);
    assert_eq!(at_10[0]["value"], json!(0.1));
}

#[tokio::test]
async fn unknown_names_fail_in_the_handler_naming_what_is_missing() {
    let server = start(None).await;
    call(
        &server,
        "log",
        json!(["demo", "run-1", {"loss": 0.5}]),
        None,
    )
    .await;
    for (data, needle) in [
        (
            json!(["nope", "run-1", "loss"]),
            "unknown project \\\"nope\\\"",
        ),
        (json!(["demo", "nope", "loss"]), "unknown run \\\"nope\\\""),
        (
            json!(["demo", "run-1", "nope"]),
            "unknown metric \\\"nope\\\"",
        ),
    ] {
        let f = call(&server, "get_metric_values", data, None).await;
        assert_eq!(f.event.as_deref(), Some("error"));
        assert!(f.data.contains(needle), "{} lacks {needle}", f.data);
    }
}

#[tokio::test]
async fn artifacts_keep_the_original_name_and_hash() {
    let server = start(None).await;
    let body = Bytes::from_static(
        b"--B\r\nContent-Disposition: form-data; name=\"files\"; filename=\"weights.bin\"\r\n\r\nhello\r\n--B--\r\n",
    );
    let up = server
        .send(request(
            Method::POST,
            "/gradio_api/upload",
            &[("content-type", "multipart/form-data; boundary=B")],
            body,
        ))
        .await;
    let paths: Vec<String> = serde_json::from_slice(&up.body).unwrap();
    let file =
        json!({"path": paths[0], "orig_name": "weights.bin", "meta": {"_type": "gradio.FileData"}});
    let artifact = value(&call(&server, "upload_artifact", json!(["demo", file]), None).await);
    assert_eq!(
        artifact,
        json!({
            "name": "weights.bin",
            "size": 5,
            "sha256": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        })
    );
}

#[tokio::test]
async fn write_token_guards_writes_and_uploads() {
    let server = start(Some("secret")).await;
    let post = |api: &str, body: &str, auth: Option<&str>| {
        let mut headers = vec![("content-type", "application/json".to_owned())];
        if let Some(a) = auth {
            headers.push(("authorization", format!("Bearer {a}")));
        }
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        request(
            Method::POST,
            &format!("/gradio_api/call/{api}"),
            &headers,
            Bytes::from(body.to_owned()),
        )
    };
    let log = r#"{"data": ["p", "r", {"x": 1}]}"#;
    let r = server.send(post("log", log, None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.json()["error"].as_str().unwrap().contains("write token"));
    assert_eq!(
        server.send(post("log", log, Some("wrong"))).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        server.send(post("log", log, Some("secret"))).await.status,
        StatusCode::OK
    );
    // The token can come as hf_token as well; a wrong own token is judged, not the bearer.
    let own = r#"{"data": ["p", "r", {"x": 1}, null, "secret"]}"#;
    assert_eq!(
        server.send(post("log", own, None)).await.status,
        StatusCode::OK
    );
    let wrong_own = r#"{"data": ["p", "r", {"x": 1}, null, "nope"]}"#;
    assert_eq!(
        server
            .send(post("log", wrong_own, Some("secret")))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        server
            .send(post("bulk_log", r#"{"data": [[]]}"#, None))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // Reads stay open.
    assert_eq!(
        server
            .send(post("get_all_projects", r#"{"data": []}"#, None))
            .await
            .status,
        StatusCode::OK
    );
    // Uploads need the token too.
    let body = Bytes::from_static(b"--B\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a\"\r\n\r\nx\r\n--B--\r\n");
    let upload = |auth: Option<&str>| {
        let mut headers = vec![("content-type", "multipart/form-data; boundary=B".to_owned())];
        if let Some(a) = auth {
            headers.push(("authorization", format!("Bearer {a}")));
        }
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        request(Method::POST, "/gradio_api/upload", &headers, body.clone())
    };
    assert_eq!(
        server.send(upload(None)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        server.send(upload(Some("wrong"))).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        server.send(upload(Some("secret"))).await.status,
        StatusCode::OK
    );
}

/// Trackio's client sends its write token in `X-Trackio-Write-Token`; when present, it decides.
#[tokio::test]
async fn trackio_write_token_header_is_accepted() {
    let server = start(Some("secret")).await;
    let post = |header: &str| {
        request(
            Method::POST,
            "/gradio_api/call/log",
            &[
                ("content-type", "application/json"),
                ("x-trackio-write-token", header),
            ],
            Bytes::from_static(br#"{"data": ["p", "r", {"x": 1}]}"#),
        )
    };
    assert_eq!(server.send(post("secret")).await.status, StatusCode::OK);
    assert_eq!(
        server.send(post("wrong")).await.status,
        StatusCode::FORBIDDEN
    );
}

/// Trackio's dashboard fallback swallowed its API routes; here both work side by side.
#[tokio::test]
async fn dashboard_fallback_and_gradio_routes_coexist() {
    let server = start(None).await;
    let home = server.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.text().contains("<h1>Tracking server</h1>"));
    assert!(server
        .get("/runs/some/deep/link")
        .await
        .text()
        .contains("<h1>Tracking server</h1>"));
    let info = server.get("/gradio_api/info").await;
    assert_eq!(info.header("content-type"), Some("application/json"));
    let named = info.json()["named_endpoints"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(
        named,
        [
            "/log",
            "/bulk_log",
            "/follow_metric",
            "/get_all_projects",
            "/get_runs_for_project",
            "/get_metrics_for_run",
            "/get_metric_values",
            "/get_metric_envelope",
            "/get_project_summary",
            "/get_run_summary",
            "/export_metrics",
            "/upload_artifact",
            "/bulk_log_system",
            "/get_system_metrics_for_run",
            "/get_system_logs",
            "/bulk_alert",
            "/get_alerts",
            "/bulk_upload_media",
            "/get_settings",
            "/check_artifact_blobs",
            "/bulk_upload_artifact_blob",
            "/artifact_log",
            "/get_artifact_manifest",
            "/log_artifact_use",
            "/get_artifacts",
            "/get_runs_table",
            "/get_media",
            "/get_system_envelope",
            "/get_logs",
            "/get_snapshot",
            "/get_traces",
            "/query_project",
            "/delete_run",
            "/rename_run"
        ]
    );
    // Trackio's own API beside them, and its unknown endpoints are JSON 404s.
    let version = server.get("/version").await;
    assert_eq!(version.json()["api_version"], 1);
    let r = server
        .post_json("/api/no_such_endpoint", r#"{"args": []}"#)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        r.json()["error"].as_str().unwrap().contains("get_alerts"),
        "{}",
        r.text()
    );
    let f = call(&server, "get_all_projects", json!([]), None).await;
    assert_eq!(f.data, "[[]]");
    // The Gradio service owns its whole prefix: an unknown path under it is its JSON 404,
    // never the dashboard page; a path that only looks like it is the dashboard's.
    let r = server.get("/gradio_api/no/such/route").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(!r.text().contains("<h1>"), "{}", r.text());
    assert_eq!(server.get("/config").await.json()["protocol"], "sse_v3");
    for path in ["/gradio_api", "/gradio_apis/x", "/configure"] {
        let r = server.get(path).await;
        assert!(
            r.text().contains("<h1>Tracking server</h1>"),
            "{path}: {}",
            r.text()
        );
    }
    // Gradio's 404s stay JSON, not the dashboard page.
    let r = server
        .get("/gradio_api/call/log/0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn info_signatures_match_the_issue() {
    let server = start(None).await;
    let info = server.get("/gradio_api/info").await.json();
    let sig = |api: &str| -> Vec<(String, String, bool)> {
        info["named_endpoints"][api]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["parameter_name"].as_str().unwrap().to_owned(),
                    p["python_type"]["type"].as_str().unwrap().to_owned(),
                    p["parameter_has_default"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let own = |v: &[(&str, &str, bool)]| {
        v.iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        sig("/log"),
        own(&[
            ("project", "str", false),
            ("run", "str", false),
            ("metrics", "dict[str, Any]", false),
            ("step", "int | None", true),
            ("hf_token", "str | None", true),
            ("run_id", "str | None", true)
        ])
    );
    // Trackio's order: the CLI passes the first seven by position.
    let names: Vec<String> = sig("/get_metric_values").into_iter().map(|p| p.0).collect();
    assert_eq!(
        names,
        [
            "project",
            "run",
            "metric_name",
            "step",
            "around_step",
            "at_time",
            "window",
            "run_id",
            "max_points"
        ]
    );
    assert_eq!(sig("/upload_artifact")[1].1, "filepath");
    // bulk_log answers nothing, like log.
    assert_eq!(
        info["named_endpoints"]["/bulk_log"]["returns"],
        info["named_endpoints"]["/log"]["returns"]
    );
    assert_eq!(
        info["named_endpoints"]["/log"]["returns"],
        json!([{"label": "result", "type": {"type": "object"}, "python_type": {"type": "Any", "description": ""}, "component": "Api"}])
    );
}

fn example_binary() -> std::path::PathBuf {
    common::example_binary("tracking_server")
}

/// A fresh data directory for one binary (inside the system's temporary directory).
fn temp_data_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "tracking-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ))
}

/// Starts the binary in a fresh data directory, reads its start-up text (up to the `then:`
/// line) and stops it.
fn startup_text(args: &[&str], env: &[(&str, &str)]) -> String {
    startup_text_in(&temp_data_dir(), args, env)
}

/// The built example binary: `--port` wins over `PORT`, it prints the info URL and a curl
/// call, and says when writes are open.
#[test]
fn binary_prints_its_address_and_honours_port_precedence() {
    let (flag_port, env_port) = (free_port(), free_port());
    let text = startup_text(
        &["--port", &flag_port.to_string()],
        &[("PORT", &env_port.to_string())],
    );
    assert!(
        text.contains(&format!("http://127.0.0.1:{flag_port}/gradio_api/info")),
        "{text}"
    );
    // No token given: one is made, kept, and printed in the line to paste into Trackio.
    assert!(text.contains("write token: kept in"), "{text}");
    assert!(
        text.contains(&format!(
            "trackio.init(project=\"demo\", server_url=\"http://127.0.0.1:{flag_port}/?write_token="
        )),
        "{text}"
    );
    assert!(text.contains("TRACKIO_WRITE_TOKEN="), "{text}");
    assert!(text.contains("curl -s -X POST"), "{text}");
    assert!(
        text.contains(&format!(
            "MCP server: http://127.0.0.1:{flag_port}/gradio_api/mcp"
        )),
        "{text}"
    );
    assert!(!text.contains(&env_port.to_string()), "{text}");

    // PORT alone is used; a write token is announced, never printed.
    let port = free_port();
    let text = startup_text(
        &[],
        &[("PORT", &port.to_string()), ("HF_TOKEN", "s3cr3t-token")],
    );
    assert!(
        text.contains(&format!("listening on http://127.0.0.1:{port}")),
        "{text}"
    );
    assert!(text.contains("need the write token"), "{text}");
    assert!(!text.contains("s3cr3t-token"), "{text}");

    // Trackio's own variable works too.
    let port = free_port();
    let text = startup_text(
        &[],
        &[
            ("PORT", &port.to_string()),
            ("TRACKIO_WRITE_TOKEN", "tr4ckio-token"),
        ],
    );
    assert!(text.contains("need the write token"), "{text}");
    assert!(!text.contains("tr4ckio-token"), "{text}");

    // Writes open on purpose.
    let port = free_port();
    let text = startup_text(&["--port", &port.to_string(), "--open-writes"], &[]);
    assert!(text.contains("writes are OPEN"), "{text}");
    assert!(!text.contains("write_token="), "{text}");

    // --help lists the options and their variables.
    let out = Command::new(example_binary())
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--port",
        "[env: PORT=]",
        "--write-token",
        "TRACKIO_WRITE_TOKEN",
        "--shutdown-secs",
        "--open-writes",
    ] {
        assert!(
            help.contains(needle),
            "{needle} missing from --help:\n{help}"
        );
    }

    // On Spaces it binds all interfaces, unless --host says otherwise.
    let port = free_port();
    let text = startup_text(&["--port", &port.to_string()], &[("SYSTEM", "spaces")]);
    assert!(
        text.contains(&format!("listening on http://0.0.0.0:{port}")),
        "{text}"
    );
    let port = free_port();
    let text = startup_text(
        &["--port", &port.to_string(), "--host", "127.0.0.1"],
        &[("SYSTEM", "spaces")],
    );
    assert!(
        text.contains(&format!("listening on http://127.0.0.1:{port}")),
        "{text}"
    );

    // Bad options exit with status 2 and the usage, as clap prints them.
    let out = Command::new(example_binary())
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage: tracking_server"));
}

/// Starts a `follow_metric` call with `body`, opens its poll, and waits until it listens.
async fn follow(server: &TestServer, tracker: &app::Tracker, body: &str) -> common::SseReader {
    let id = server
        .post_json("/gradio_api/call/follow_metric", body)
        .await
        .event_id();
    let response = server
        .open(request(
            Method::GET,
            &format!("/gradio_api/call/follow_metric/{id}"),
            &[],
            Bytes::new(),
        ))
        .await;
    let sse = common::SseReader::new(response.into_body());
    while tracker.followers() == 0 {
        tokio::task::yield_now().await;
    }
    sse
}

/// `follow_metric` over the curl flow: each value arrives as it is logged, every `generating`
/// frame before `complete`, which repeats the last. Ordering, not timing: each value is logged
/// only after the previous one arrived.
#[tokio::test]
async fn follow_metric_streams_values_as_they_are_logged() {
    let tracker = Arc::new(app::Tracker::temporary());
    let gradio = app::service(tracker.clone(), None).unwrap();
    let server = TestServer::start(app::router(gradio, tracker.clone())).await;
    // Logged before the follow starts: never replayed.
    call(&server, "log", json!(["demo", "live", {"loss": 9.0}]), None).await;
    let mut sse = follow(
        &server,
        &tracker,
        r#"{"data": {"project": "demo", "run": "live", "metric_name": "loss", "max_values": 3}}"#,
    )
    .await;
    for (i, loss) in [0.5, 0.4, 0.3].into_iter().enumerate() {
        call(
            &server,
            "log",
            json!(["demo", "live", {"loss": loss, "other": 1.0}]),
            None,
        )
        .await;
        let frame = sse.next().await.unwrap();
        assert_eq!(frame.event.as_deref(), Some("generating"), "value {i}");
        let v: Value = serde_json::from_str(&frame.data).unwrap();
        assert_eq!(v[0]["value"], json!(loss));
        assert_eq!(v[0]["step"], json!(i + 1));
    }
    let complete = sse.next().await.unwrap();
    assert_eq!(complete.event.as_deref(), Some("complete"));
    let v: Value = serde_json::from_str(&complete.data).unwrap();
    assert_eq!(v[0]["value"], json!(0.3));
    assert_eq!(sse.next().await, None);

    // A quiet run ends after timeout_s with null.
    let f = call(
        &server,
        "follow_metric",
        json!({"project": "nobody", "run": "r", "metric_name": "m", "timeout_s": 0.05}),
        None,
    )
    .await;
    assert_eq!(f.data, "[null]");
}

/// `follow_metric` without a run or metric name follows the whole project: every value of
/// every run, each naming its run and metric; other projects' values are not sent.
#[tokio::test]
async fn follow_metric_without_run_or_metric_follows_the_project() {
    let tracker = Arc::new(app::Tracker::temporary());
    let gradio = app::service(tracker.clone(), None).unwrap();
    let server = TestServer::start(app::router(gradio, tracker.clone())).await;
    let mut sse = follow(&server, &tracker, r#"{"data": ["proj", null, "", 3, 30]}"#).await;
    let logs = json!([[
        {"project": "elsewhere", "run": "a", "metrics": {"loss": 7.0}, "step": 0},
        {"project": "proj", "run": "a", "metrics": {"loss": 1.0, "acc": 0.5}, "step": 4},
        {"project": "proj", "run": "b", "metrics": {"loss": 2.0}, "step": 9}
    ]]);
    call(&server, "bulk_log", logs, None).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let frame = sse.next().await.unwrap();
        assert_eq!(frame.event.as_deref(), Some("generating"));
        let v: Value = serde_json::from_str(&frame.data).unwrap();
        let p = &v[0];
        seen.push((
            p["run"].as_str().unwrap().to_owned(),
            p["metric"].as_str().unwrap().to_owned(),
            p["step"].as_i64().unwrap(),
            p["value"].as_f64().unwrap(),
        ));
    }
    seen.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(
        seen,
        [
            ("a".to_owned(), "acc".to_owned(), 4, 0.5),
            ("a".to_owned(), "loss".to_owned(), 4, 1.0),
            ("b".to_owned(), "loss".to_owned(), 9, 2.0)
        ]
    );
    let complete = sse.next().await.unwrap();
    assert_eq!(complete.event.as_deref(), Some("complete"));
}

/// The dashboard's page and files come from the binary; the page loads nothing from
/// elsewhere; an unknown file is a JSON 404 naming the files there are.
#[tokio::test]
async fn dashboard_files_are_served_from_the_binary() {
    let server = start(None).await;
    let home = server.get("/").await;
    let page = home.text();
    for attr in ["src=\"", "href=\""] {
        for (i, _) in page.match_indices(attr) {
            let target = &page[i + attr.len()..];
            assert!(
                target.starts_with('/'),
                "{attr}{}",
                &target[..40.min(target.len())]
            );
        }
    }
    for (file, kind) in [
        ("main.js", "text/javascript; charset=utf-8"),
        ("chart.js", "text/javascript; charset=utf-8"),
        ("dashboard.css", "text/css; charset=utf-8"),
    ] {
        let r = server.get(&format!("/dashboard/{file}")).await;
        assert_eq!(r.status, StatusCode::OK, "{file}");
        assert_eq!(r.header("content-type"), Some(kind), "{file}");
        for line in r.text().lines().filter(|l| l.starts_with("import ")) {
            assert!(
                line.contains("from \"./"),
                "{file} imports only its siblings: {line}"
            );
        }
    }
    let missing = server.get("/dashboard/nope.js").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.header("content-type"), Some("application/json"));
    let error = missing.json()["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("nope.js") && error.contains("main.js"),
        "{error}"
    );
}

/// `bulk_log` reports progress per entry on the queue.
#[tokio::test]
async fn bulk_log_reports_progress_on_the_queue() {
    let server = start(None).await;
    let config = server.get("/config").await.json();
    let index = config["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .position(|d| d["api_name"] == "bulk_log")
        .unwrap();
    let logs: Vec<Value> = (0..3)
        .map(|i| json!({"project": "bulk", "run": "r", "metrics": {"x": i}}))
        .collect();
    let join = json!({"data": [logs], "fn_index": index, "session_hash": "bulk-1"}).to_string();
    server
        .post_json("/gradio_api/queue/join", &join)
        .await
        .event_id();
    let response = server
        .open(request(
            Method::GET,
            "/gradio_api/queue/data?session_hash=bulk-1",
            &[],
            Bytes::new(),
        ))
        .await;
    let mut sse = common::SseReader::new(response.into_body());
    let mut progress = Vec::new();
    let mut result = None;
    while let Some(frame) = sse.next().await {
        let m: Value = serde_json::from_str(&frame.data).unwrap();
        match m["msg"].as_str().unwrap() {
            "progress" => progress.push((
                m["progress_data"][0]["index"].as_u64().unwrap(),
                m["progress_data"][0]["length"].as_u64().unwrap(),
            )),
            "process_completed" => result = Some(m["output"]["data"].clone()),
            _ => {}
        }
    }
    // One transaction: progress before and after it.
    assert_eq!(progress, [(0, 3), (3, 3)]);
    assert_eq!(result, Some(json!([null])));
    let config_dep = &config["dependencies"][index];
    assert_eq!(config_dep["types"]["generator"], false);
    let follow = config["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["api_name"] == "follow_metric")
        .unwrap();
    assert_eq!(follow["types"]["generator"], true);
}

/// The built binary stops on SIGTERM within its bound: the running `follow_metric` call is
/// cancelled, and its open stream ends with a terminal frame, not a hang.
#[cfg(unix)]
#[tokio::test]
async fn binary_shuts_down_gracefully_on_sigterm() {
    let port = free_port();
    let dir = temp_data_dir();
    let mut child = spawn_binary(port, &dir).await;
    let server = TestServer::remote(([127, 0, 0, 1], port).into());
    let id = server
        .post_json(
            "/gradio_api/call/follow_metric",
            r#"{"data": ["demo", "r", "loss"]}"#,
        )
        .await
        .event_id();
    let response = server
        .open(request(
            Method::GET,
            &format!("/gradio_api/call/follow_metric/{id}"),
            &[],
            Bytes::new(),
        ))
        .await;
    let mut sse = common::SseReader::new(response.into_body());
    let started = std::time::Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let last = sse.terminal().await;
    assert_eq!(last.event.as_deref(), Some("error"));
    assert!(last.data.contains("cancelled"), "{}", last.data);
    let exit = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait())
        .await
        .expect("the process exits within 10 s")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

/// The binary on `port` with `dir` as its data directory, once it printed its start-up lines.
async fn spawn_binary(port: u16, dir: &std::path::Path) -> tokio::process::Child {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(example_binary())
        .args([
            "--port",
            &port.to_string(),
            "--shutdown-secs",
            "0.2",
            "--open-writes",
        ])
        .arg("--data-dir")
        .arg(dir)
        .env_remove("HF_TOKEN")
        .env_remove("TRACKIO_WRITE_TOKEN")
        .env_remove("SYSTEM")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.starts_with("then:") {
            break;
        }
    }
    child
}

fn steps_and_values(frame: &Frame) -> Vec<(i64, f64)> {
    value(frame)
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["step"].as_i64().unwrap(), v["value"].as_f64().unwrap()))
        .collect()
}

/// Every write that was acknowledged (its poll answered `complete`) survives a restart, a
/// graceful one and a SIGKILL; a retried bulk_log entry (same `log_id`) is stored once.
#[tokio::test]
async fn binary_keeps_acknowledged_writes_across_restarts_and_sigkill() {
    let dir = temp_data_dir();
    let port = free_port();
    let server = TestServer::remote(([127, 0, 0, 1], port).into());

    let mut child = spawn_binary(port, &dir).await;
    for (step, loss) in [(0, 0.5), (1, 0.25)] {
        let f = call(
            &server,
            "log",
            json!(["keep", "r", {"loss": loss}, step]),
            None,
        )
        .await;
        assert_eq!(f.event.as_deref(), Some("complete"));
    }
    let term = Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    child.wait().await.unwrap();

    let mut child = spawn_binary(port, &dir).await;
    let read = || {
        call(
            &server,
            "get_metric_values",
            json!(["keep", "r", "loss"]),
            None,
        )
    };
    assert_eq!(steps_and_values(&read().await), [(0, 0.5), (1, 0.25)]);
    let entry = |step: i64, loss: f64, id: &str| json!({"project": "keep", "run": "r", "metrics": {"loss": loss}, "step": step, "log_id": id});
    let batch = json!([[entry(2, 0.125, "a"), entry(3, 0.0625, "b")]]);
    assert_eq!(
        call(&server, "bulk_log", batch.clone(), None)
            .await
            .event
            .as_deref(),
        Some("complete")
    );
    // The client retries the same batch: nothing is stored twice.
    assert_eq!(
        call(&server, "bulk_log", batch, None)
            .await
            .event
            .as_deref(),
        Some("complete")
    );
    child.kill().await.unwrap();

    let _child = spawn_binary(port, &dir).await;
    assert_eq!(
        steps_and_values(&read().await),
        [(0, 0.5), (1, 0.25), (2, 0.125), (3, 0.0625)]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A data directory that cannot be created, or a database file that is not one, stops the
/// start with a message naming the path.
#[test]
fn binary_refuses_an_unusable_data_dir() {
    let start = |dir: &std::path::Path| {
        Command::new(example_binary())
            .args(["--port", &free_port().to_string(), "--data-dir"])
            .arg(dir)
            .env_remove("SYSTEM")
            .output()
            .unwrap()
    };
    // A regular file where the directory should be.
    let file = temp_data_dir();
    std::fs::write(&file, b"not a directory").unwrap();
    let out = start(&file);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&file.display().to_string()), "{err}");

    // A damaged database.
    let dir = temp_data_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("tracking.sqlite");
    std::fs::write(&db, vec![0x42u8; 8192]).unwrap();
    let out = start(&dir);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&db.display().to_string()), "{err}");
    let _ = (std::fs::remove_file(&file), std::fs::remove_dir_all(&dir));
}

/// The start-up lines of the binary on `dir` with `args` and `env` (none of the token, port
/// or Spaces variables of this process), read up to `then:`; the process is stopped after.
fn startup_text_in(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = Command::new(example_binary());
    command
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("TRACKIO_WRITE_TOKEN")
        .env_remove("HF_TOKEN")
        .env_remove("SYSTEM")
        .env_remove("PORT");
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.starts_with("then:");
        lines.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    lines.join("\n")
}

/// Without a token, the binary makes one at its first start, keeps it in the data directory
/// (owner-only), prints the same one after a restart, and an explicit token wins over it.
#[test]
fn binary_makes_a_write_token_and_keeps_it() {
    let dir = temp_data_dir();
    let token_of = |text: &str| {
        let at = text.find("?write_token=").expect(text) + "?write_token=".len();
        text[at..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect::<String>()
    };
    let port = free_port().to_string();
    let first = token_of(&startup_text_in(&dir, &["--port", &port], &[]));
    assert_eq!(first.len(), 64, "{first}");
    let kept = std::fs::read_to_string(dir.join("write_token")).unwrap();
    assert_eq!(kept.trim(), first);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("write_token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the token file is readable by others: {mode:o}"
        );
    }
    let port = free_port().to_string();
    assert_eq!(
        token_of(&startup_text_in(&dir, &["--port", &port], &[])),
        first
    );
    // A given token wins and is not printed.
    let port = free_port().to_string();
    let text = startup_text_in(&dir, &["--port", &port, "--write-token", "given-one"], &[]);
    assert!(
        !text.contains(&first) && !text.contains("given-one"),
        "{text}"
    );
    assert!(
        text.contains("writes need the write token you gave"),
        "{text}"
    );
}

/// Values logged as JSON text come back with the same bits through every read over HTTP:
/// one metric, a snapshot, whole rows, and the SQL view (no number passes through SQLite's
/// JSON functions).
#[tokio::test]
async fn logged_numbers_come_back_bit_for_bit() {
    let server = start(None).await;
    let cases = [
        "0.1",
        "-1.5e-300",
        "5e-324",
        "1e308",
        "-0.0",
        "9007199254740994",
        "1.2345678901234567",
        "2.2250738585072014e-308",
    ];
    let metrics: String = cases
        .iter()
        .enumerate()
        .map(|(i, c)| format!("\"m{i}\": {c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let body = format!(r#"{{"data": ["p", "r", {{{metrics}}}, 4]}}"#);
    let id = server
        .post_json("/gradio_api/call/log", &body)
        .await
        .event_id();
    server.get(&format!("/gradio_api/call/log/{id}")).await;
    let bits = |v: &Value| v.as_f64().unwrap().to_bits();
    let snapshot = value(&call(&server, "get_snapshot", json!(["p", "r", 4]), None).await);
    let logs = value(&call(&server, "get_logs", json!(["p", "r"]), None).await);
    let sql = value(
        &call(
            &server,
            "query_project",
            json!(["p", "SELECT metrics FROM metrics"]),
            None,
        )
        .await,
    );
    let stored: Value = serde_json::from_str(sql["rows"][0]["metrics"].as_str().unwrap()).unwrap();
    let table = value(&call(&server, "get_runs_table", json!(["p"]), None).await);
    for (i, case) in cases.iter().enumerate() {
        let want: f64 = case.parse().unwrap();
        let name = format!("m{i}");
        let one = value(&call(&server, "get_metric_values", json!(["p", "r", name]), None).await);
        assert_eq!(bits(&one[0]["value"]), want.to_bits(), "{case}");
        assert_eq!(bits(&snapshot[&name][0]["value"]), want.to_bits(), "{case}");
        assert_eq!(bits(&logs[0][&name]), want.to_bits(), "{case}");
        assert_eq!(bits(&stored[&name]), want.to_bits(), "{case}");
        let envelope = value(
            &call(
                &server,
                "get_metric_envelope",
                json!(["p", "r", name]),
                None,
            )
            .await,
        );
        assert_eq!(
            bits(&envelope["points"][0]["value"]),
            want.to_bits(),
            "{case}"
        );
        assert_eq!(bits(&table[0]["summary"][&name]), want.to_bits(), "{case}");
    }
    // An integer stays an integer.
    assert_eq!(logs[0]["m5"], json!(9007199254740994u64));
    assert_eq!(table[0]["summary"]["m5"], json!(9007199254740994u64));
}

/// The dashboard's reads: the runs table (config, latest values, last step, state), a run's
/// media, and system metrics reduced without losing a spike; an unknown project or run is
/// named in the error.
#[tokio::test]
async fn the_dashboard_reads_runs_media_and_system_metrics() {
    let server = start(None).await;
    let image = json!({"_type": "trackio.image", "file_path": "d/a/1/x.png", "caption": "c"});
    let table = json!({"_type": "trackio.table", "_value": [{"a": 1}]});
    let logs = json!([[
        {"project": "d", "run": "a", "step": 0, "config": {"lr": 0.1}, "metrics": {"loss": 2.0, "note": "warm"}},
        {"project": "d", "run": "a", "step": 1, "metrics": {"loss": 1.0, "sample": image}},
        {"project": "d", "run": "a", "step": 2, "metrics": {"acc": 0.5, "preds": table}},
        {"project": "d", "run": "b", "step": 5, "metrics": {"loss": 3.0}},
    ]]);
    call(&server, "bulk_log", logs, None).await;
    let runs = value(&call(&server, "get_runs_table", json!(["d"]), None).await);
    let a = &runs[0];
    assert_eq!(a["name"], "a");
    assert_eq!(a["config"], json!({"lr": 0.1}));
    assert_eq!(
        a["summary"],
        json!({"acc": 0.5, "loss": 1.0, "note": "warm"})
    );
    assert_eq!(
        (a["last_step"].clone(), a["num_logs"].clone()),
        (json!(2), json!(3))
    );
    assert_eq!(a["state"], "active");
    assert_eq!(runs[1]["summary"], json!({"loss": 3.0}));
    let media = value(&call(&server, "get_media", json!(["d", "a"]), None).await);
    assert_eq!(media["total"], 2);
    assert_eq!(
        media["entries"],
        json!([
            {"key": "preds", "step": 2, "timestamp": media["entries"][0]["timestamp"], "value": table},
            {"key": "sample", "step": 1, "timestamp": media["entries"][1]["timestamp"], "value": image},
        ])
    );
    // System metrics: 10,000 readings between 0 and 1 and one spike, reduced to 50 buckets.
    let readings: Vec<Value> = (0..10_000)
        .map(|i| {
            let v = if i == 6_180 {
                100.0
            } else {
                f64::from(i % 7) / 7.0
            };
            json!({"project": "d", "run": "a", "metrics": {"gpu": v, "cpu": 0.25},
                   "timestamp": format!("2026-01-01T00:00:00.{i:06}+00:00")})
        })
        .collect();
    call(&server, "bulk_log_system", json!([readings]), None).await;
    let system = value(&call(&server, "get_system_envelope", json!(["d", "a", 50]), None).await);
    let gpu = &system["gpu"];
    assert_eq!(
        (gpu["count"].clone(), gpu["reduced"].clone()),
        (json!(10_000), json!(true))
    );
    let points = gpu["points"].as_array().unwrap();
    assert!(points.len() <= 200, "{}", points.len());
    assert!(
        points.iter().any(|p| p["value"] == 100.0),
        "the spike is kept"
    );
    assert_eq!(system["cpu"]["points"][0]["value"], 0.25);
    // Unknown names are said.
    let unknown = call(&server, "get_runs_table", json!(["nope"]), None).await;
    assert!(unknown.data.contains("unknown project"), "{unknown:?}");
    let unknown = call(&server, "get_media", json!(["d", "ghost"]), None).await;
    assert!(
        unknown.data.contains("ghost") && unknown.data.contains("known runs"),
        "{unknown:?}"
    );
}

/// The in-memory lines behind `get_metric_envelope` stay in step with writes: a value logged
/// after a read (also at an earlier step) is in the next read, and a deleted run's line is
/// gone; a run that existed before its first metric (made by a system-metrics write) is read
/// from SQLite once, then from memory, and kept in step too.
#[tokio::test]
async fn envelope_reads_follow_writes_and_deletes() {
    let server = start(None).await;
    let log = |run: &'static str, step: i64, v: f64| {
        let server = &server;
        async move {
            call(server, "log", json!(["c", run, {"loss": v}, step]), None).await;
        }
    };
    for s in [0, 2, 4] {
        log("r", s, s as f64).await;
    }
    // A run's line as (step, value), through the envelope read.
    let read = |run: &'static str| {
        let server = &server;
        async move {
            let read = value(
                &call(
                    server,
                    "get_metric_envelope",
                    json!(["c", run, "loss"]),
                    None,
                )
                .await,
            );
            read["points"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p["step"].as_i64().unwrap(), p["value"].as_f64().unwrap()))
                .collect::<Vec<(i64, f64)>>()
        }
    };
    assert_eq!(read("r").await, vec![(0, 0.0), (2, 2.0), (4, 4.0)]);
    log("r", 1, 10.0).await;
    log("r", 5, -1.0).await;
    assert_eq!(
        read("r").await,
        vec![(0, 0.0), (1, 10.0), (2, 2.0), (4, 4.0), (5, -1.0)]
    );
    call(&server, "delete_run", json!(["c", "r"]), None).await;
    log("r", 7, 7.0).await;
    assert_eq!(read("r").await, vec![(7, 7.0)]);
    let system = json!([[{"project": "c", "run": "s", "metrics": {"cpu": 1.0}}]]);
    call(&server, "bulk_log_system", system, None).await;
    log("s", 0, 0.5).await;
    log("s", 1, 1.5).await;
    assert_eq!(read("s").await, vec![(0, 0.5), (1, 1.5)]);
    log("s", 2, 2.5).await;
    assert_eq!(read("s").await, vec![(0, 0.5), (1, 1.5), (2, 2.5)]);
}

/// Trackio's own API: positional and keyword arguments, the write token, and failures as
/// Trackio's client shows them (`{"error"}`; the status it would have had in `x-status`).
#[tokio::test]
async fn trackio_api_translates_to_the_gradio_calls() {
    let server = start(Some("tok")).await;
    let post = |path: &'static str, body: &'static str, token: Option<&'static str>| {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(t) = token {
            headers.push(("x-trackio-write-token", t));
        }
        server.send(request(Method::POST, path, &headers, Bytes::from(body)))
    };
    let r = post(
        "/api/log",
        r#"{"args": ["p", "r"], "kwargs": {"metrics": {"loss": 0.5}, "step": 2}}"#,
        Some("tok"),
    )
    .await;
    assert_eq!(r.json(), json!({"data": null}), "{}", r.text());
    let r = post(
        "/api/get_metric_values",
        r#"{"args": ["p", "r", "loss"]}"#,
        None,
    )
    .await;
    assert_eq!(r.json()["data"][0]["value"], 0.5, "{}", r.text());
    assert_eq!(r.json()["data"][0]["step"], 2);
    // Writes without the token: the hook's message, as an error the client raises.
    let r = post("/api/log", r#"{"args": ["p", "r", {"loss": 1}]}"#, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("x-status"), Some("401"));
    assert!(
        r.json()["error"].as_str().unwrap().contains("write token"),
        "{}",
        r.text()
    );
    // A handler's error and a bad argument.
    let r = post(
        "/api/get_metric_values",
        r#"{"args": ["p", "nope", "loss"]}"#,
        None,
    )
    .await;
    assert_eq!(r.header("x-status"), Some("400"));
    assert!(
        r.json()["error"].as_str().unwrap().contains("unknown run"),
        "{}",
        r.text()
    );
    let r = post(
        "/api/get_metric_values",
        r#"{"args": ["p", "r", "loss", "x"]}"#,
        None,
    )
    .await;
    assert_eq!(r.header("x-status"), Some("422"));
    let r = post("/api/get_all_projects", r#"{"args": [1, 2]}"#, None).await;
    assert!(
        r.json()["error"].as_str().unwrap().contains("takes 0"),
        "{}",
        r.text()
    );
    let r = post("/api/get_all_projects", "not json", None).await;
    assert!(
        r.json()["error"].as_str().unwrap().contains("not JSON"),
        "{}",
        r.text()
    );
}

/// Media uploaded through `bulk_upload_media` land where the logged value's `file_path`
/// points (`media/<project>/<run>/<step>/<name>`), are served by `file=` (with ranges), and
/// are still there after a restart on the same data directory, when the crate's short-lived
/// upload store is gone. A name that would leave the media folder is refused.
#[tokio::test]
async fn media_are_kept_in_the_data_dir_across_restarts() {
    let dir = temp_data_dir();
    let media = std::path::absolute(dir.join("media")).unwrap();
    let url = format!("/gradio_api/file={}/myproj/run-1/4/a.png", media.display());
    let bytes: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    {
        let tracker = Arc::new(app::Tracker::open(&dir).unwrap());
        let gradio = app::service(tracker.clone(), None).unwrap();
        let server = TestServer::start(app::router(gradio, tracker)).await;
        let mut body =
            b"--B\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\r\n"
                .to_vec();
        body.extend_from_slice(&bytes);
        body.extend_from_slice(b"\r\n--B--\r\n");
        let up = server
            .send(request(
                Method::POST,
                "/gradio_api/upload",
                &[("content-type", "multipart/form-data; boundary=B")],
                Bytes::from(body),
            ))
            .await;
        let paths: Vec<String> = serde_json::from_slice(&up.body).unwrap();
        let upload = |run: &str, name: &str| {
            json!([[{"project": "my.proj", "run": run, "step": 4,
                     "uploaded_file": {"path": paths[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}}]])
        };
        for (run, name) in [("..", "a.png"), ("a/b", "x.png"), ("r\\\\s", "x.png")] {
            let f = call(&server, "bulk_upload_media", upload(run, name), None).await;
            assert_eq!(f.event.as_deref(), Some("error"), "{run} {name}: {f:?}");
        }
        let f = call(&server, "bulk_upload_media", upload("run-1", "a.png"), None).await;
        assert_eq!(value(&f), Value::Null);
        // Kept in the data directory now: the upload itself is gone from the upload store.
        assert!(!std::path::Path::new(&paths[0]).exists());
        let settings = value(&call(&server, "get_settings", json!([]), None).await);
        assert_eq!(settings["media_dir"], media.to_string_lossy().as_ref());
        let r = server.get(&url).await;
        assert_eq!(
            (r.status, r.body.as_ref()),
            (StatusCode::OK, bytes.as_slice())
        );
        assert_eq!(r.header("content-type"), Some("image/png"));
    }
    let tracker = Arc::new(app::Tracker::open(&dir).unwrap());
    let gradio = app::service(tracker.clone(), None).unwrap();
    let server = TestServer::start(app::router(gradio, tracker)).await;
    let again = server.get(&url).await;
    assert!(again.body.as_ref() == bytes.as_slice(), "{}", again.status);
    let part = server
        .send(request(
            Method::GET,
            &url,
            &[("range", "bytes=4990-")],
            Bytes::new(),
        ))
        .await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert!(part.body.as_ref() == &bytes[4990..]);
    // Trackio's own file route reads the same file.
    let trackio = server
        .get(&format!(
            "/file?path={}/myproj/run-1/4/a.png",
            media.display()
        ))
        .await;
    assert!(
        trackio.body.as_ref() == bytes.as_slice(),
        "{}",
        trackio.status
    );
}

/// `get_metric_envelope`: all numeric values while they fit four per bucket; beyond, each
/// bucket's first, last, lowest and highest (a spike and a dip that even spreading misses are
/// kept), within an optional step range, saying how many there were and that some were left
/// out; text values are not drawn.
#[tokio::test]
async fn the_envelope_read_keeps_every_spike() {
    let server = start(None).await;
    let logs: Vec<Value> = (0..10_000i64)
        .map(|s| {
            let v = match s {
                6_180 => json!(1000.0),
                3_819 => json!(-1000.0),
                7 => json!("NaN"),
                _ => json!((s % 97) as f64 / 97.0),
            };
            json!({"project": "e", "run": "r", "step": s, "metrics": {"loss": v}})
        })
        .collect();
    call(&server, "bulk_log", json!([logs]), None).await;
    let read = |data: Value| {
        let server = &server;
        async move { value(&call(server, "get_metric_envelope", data, None).await) }
    };
    let all = read(json!(["e", "r", "loss", 5000])).await;
    assert_eq!(
        (all["count"].as_u64(), all["reduced"].as_bool()),
        (Some(9_999), Some(false))
    );
    assert_eq!(all["points"].as_array().unwrap().len(), 9_999);
    let env = read(json!(["e", "r", "loss", 100])).await;
    let points = env["points"].as_array().unwrap();
    assert!(
        points.len() <= 400 && env["reduced"] == true,
        "{}",
        points.len()
    );
    let steps: Vec<i64> = points.iter().map(|p| p["step"].as_i64().unwrap()).collect();
    assert!(
        steps.contains(&6_180) && steps.contains(&3_819),
        "{steps:?}"
    );
    assert!(steps.windows(2).all(|w| w[0] < w[1]));
    let zoomed = read(json!({"project": "e", "run": "r", "metric_name": "loss", "buckets": 10, "min_step": 6_000, "max_step": 6_999})).await;
    let steps: Vec<i64> = zoomed["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["step"].as_i64().unwrap())
        .collect();
    assert!(
        steps.contains(&6_180) && steps.iter().all(|s| (6_000..=6_999).contains(s)),
        "{steps:?}"
    );
    assert_eq!(zoomed["count"], 1_000);
}

/// Projects, runs and metric names are answered from memory: after every kind of write they
/// equal what the database says (read by SQL on the store's own connection).
#[tokio::test]
async fn reads_from_memory_equal_the_database_after_every_write() {
    let tracker = Arc::new(app::Tracker::temporary());
    let gradio = app::service(tracker.clone(), None).unwrap();
    let server = TestServer::start(app::router(gradio, tracker.clone())).await;
    async fn snapshot(server: &TestServer) -> Value {
        let projects = value(&call(server, "get_all_projects", json!([]), None).await);
        let mut out = serde_json::Map::new();
        for p in projects.as_array().unwrap() {
            let p = p.as_str().unwrap();
            let runs = value(&call(server, "get_runs_for_project", json!([p]), None).await);
            let mut names = Vec::new();
            for r in runs.as_array().unwrap() {
                let by_id = json!({"project": p, "run_id": r["id"]});
                let by_name = json!({"project": p, "run": r["name"]});
                let a = value(&call(server, "get_metrics_for_run", by_id, None).await);
                let b = value(&call(server, "get_metrics_for_run", by_name, None).await);
                names.push(json!([r["name"], a, b]));
            }
            out.insert(p.to_owned(), json!({"runs": runs, "names": names}));
        }
        Value::Object(out)
    }
    // The same shape, by SQL.
    let fresh = || async {
        tracker
            .with_store(|s| {
                let mut out = serde_json::Map::new();
                for p in s.projects()? {
                    let runs = s.run_records(&p)?;
                    let mut names = Vec::new();
                    for r in &runs {
                        let n = s.metric_names(&p, r["id"].as_str().unwrap())?;
                        names.push(json!([r["name"], n, n]));
                    }
                    out.insert(p, json!({"runs": runs, "names": names}));
                }
                Ok(Value::Object(out))
            })
            .await
            .unwrap()
    };
    let log = |project: &'static str, run: &'static str, metrics: Value| {
        let server = &server;
        async move {
            let done = call(server, "log", json!([project, run, metrics]), None).await;
            assert_eq!(done.event.as_deref(), Some("complete"), "{done:?}");
        }
    };
    // Names read from the database first, then kept in step.
    log("p", "a", json!({"loss": 1.0})).await;
    assert_eq!(snapshot(&server).await, fresh().await);
    log("p", "a", json!({"acc": 0.5, "w\"eird/näme": 1})).await;
    log("p", "b", json!({"x": 1})).await;
    log("q", "c", json!({})).await;
    assert_eq!(snapshot(&server).await, fresh().await);
    // Runs created by system metrics and alerts.
    let system = json!([[{"project": "p", "run": "sys", "metrics": {"cpu": 1.0}}]]);
    call(&server, "bulk_log_system", system, None).await;
    let alert = json!({"alerts": [{"project": "r", "run": "al", "title": "t", "level": "info"}]});
    call(&server, "bulk_alert", alert, None).await;
    assert_eq!(snapshot(&server).await, fresh().await);
    // Renames and deletes (the last run of a project takes the project with it).
    let rename = json!({"project": "p", "old_name": "b", "new_name": "0-first"});
    assert_eq!(
        value(&call(&server, "rename_run", rename, None).await),
        true
    );
    assert_eq!(
        value(&call(&server, "delete_run", json!(["q", "c"]), None).await),
        true
    );
    let now = snapshot(&server).await;
    assert_eq!(now, fresh().await);
    assert_eq!(
        value(&call(&server, "get_all_projects", json!([]), None).await),
        json!(["p", "r"])
    );
    assert!(
        now["p"]["names"].to_string().contains("w\\\"eird/näme"),
        "{now}"
    );
    // A new process loads the runs from the database and reads each run's names once.
    let again = app::Tracker::open(tracker.dir()).unwrap();
    assert_eq!(again.projects(), ["p", "r"]);
    assert_eq!(
        again.run_records("p"),
        now["p"]["runs"].as_array().unwrap().clone()
    );
    for _ in 0..2 {
        let names = again
            .metrics_for_run("p".into(), Some("a".into()), None)
            .await
            .unwrap();
        assert_eq!(names, ["acc", "loss", "w\"eird/näme"]);
    }
}
