//! Limits at their boundaries, floods, hostile handlers, path tricks, CORS, secrets in
//! Debug output, event-id randomness and slow clients.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::fixtures::{registry, Probe};
use common::post_json_request as post;
use common::{call_in_process, parse_frames, request, TestServer};
use gradio_compat::{CallContext, EventId, GradioCompat, NoArgs, Registry};
use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

#[tokio::test]
async fn body_limit_is_exact() {
    let svc = GradioCompat::builder(registry(Probe::new()))
        .max_body_bytes(100)
        .build()
        .unwrap();
    let base = r#"{"data": [1, 2]}"#;
    let at_limit = format!("{base}{}", " ".repeat(100 - base.len()));
    assert_eq!(at_limit.len(), 100);
    let r = call_in_process(&svc, post("/gradio_api/call/add", at_limit.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let over = format!("{at_limit} ");
    let r = call_in_process(&svc, post("/gradio_api/call/add", over)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

fn multipart(parts: &[(&str, Vec<u8>)]) -> (String, Bytes) {
    let mut body = Vec::new();
    for (name, content) in parts {
        body.extend_from_slice(format!("--B\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n\r\n").as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--B--\r\n");
    (
        "multipart/form-data; boundary=B".to_owned(),
        Bytes::from(body),
    )
}

#[tokio::test]
async fn upload_limits_are_exact() {
    let svc = GradioCompat::builder(registry(Probe::new()))
        .max_file_bytes(10)
        .max_upload_parts(3)
        .max_uploaded_files(8)
        .build()
        .unwrap();
    let send = |parts: Vec<(&'static str, Vec<u8>)>| {
        let svc = svc.clone();
        async move {
            let (ct, body) = multipart(&parts);
            call_in_process(
                &svc,
                request(
                    Method::POST,
                    "/gradio_api/upload",
                    &[("content-type", ct.as_str())],
                    body,
                ),
            )
            .await
        }
    };
    assert_eq!(send(vec![("a", vec![1; 10])]).await.status, StatusCode::OK);
    assert_eq!(
        send(vec![("a", vec![1; 11])]).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        send(vec![("a", vec![1]), ("b", vec![1]), ("c", vec![1])])
            .await
            .status,
        StatusCode::OK
    );
    let r = send(vec![
        ("a", vec![1]),
        ("b", vec![1]),
        ("c", vec![1]),
        ("d", vec![1]),
    ])
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Four files are stored; four more fill the store, which then says so.
    for name in ["e", "f", "g", "h"] {
        assert_eq!(send(vec![(name, vec![1])]).await.status, StatusCode::OK);
    }
    let r = send(vec![("i", vec![1])]).await;
    assert_eq!(r.status, StatusCode::INSUFFICIENT_STORAGE, "{}", r.text());
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("8 uploaded files"));
    // The per-request limit.
    let svc = GradioCompat::builder(registry(Probe::new()))
        .max_upload_bytes(200)
        .build()
        .unwrap();
    let (ct, body) = multipart(&[("a", vec![7; 60])]);
    assert!(body.len() <= 200);
    let r = call_in_process(
        &svc,
        request(
            Method::POST,
            "/gradio_api/upload",
            &[("content-type", ct.as_str())],
            body,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let (ct, body) = multipart(&[("a", vec![7; 201])]);
    let r = call_in_process(
        &svc,
        request(
            Method::POST,
            "/gradio_api/upload",
            &[("content-type", ct.as_str())],
            body,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn session_limit_is_exact() {
    let probe = Probe::new();
    let svc = GradioCompat::builder(registry(probe.clone()))
        .max_sessions(3)
        .build()
        .unwrap();
    let wait = {
        let config = call_in_process(&svc, request(Method::GET, "/config", &[], Bytes::new()))
            .await
            .json();
        config["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .position(|d| d["api_name"] == "wait")
            .unwrap()
    };
    for i in 0..3 {
        let body =
            json!({"data": [], "fn_index": wait, "session_hash": format!("s{i}")}).to_string();
        assert_eq!(
            call_in_process(&svc, post("/gradio_api/queue/join", body))
                .await
                .status,
            StatusCode::OK
        );
    }
    let body = json!({"data": [], "fn_index": wait, "session_hash": "s3"}).to_string();
    let r = call_in_process(&svc, post("/gradio_api/queue/join", body)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("3 open queue sessions"));
    // An existing session may still take jobs.
    let body = json!({"data": [], "fn_index": wait, "session_hash": "s0"}).to_string();
    assert_eq!(
        call_in_process(&svc, post("/gradio_api/queue/join", body))
            .await
            .status,
        StatusCode::OK
    );
    for _ in 0..4 {
        probe.release();
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Pair {
    a: i64,
    b: i64,
}

/// 5,000 concurrent call+poll pairs: each poll gets exactly its own result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_concurrent_pairs_each_get_their_own_result() {
    let registry = Registry::new().typed("mul", |p: Pair, _: CallContext| async move {
        tokio::task::yield_now().await;
        Ok::<_, String>(p.a * p.b)
    });
    let svc = GradioCompat::builder(registry).build().unwrap();
    let mut tasks = Vec::new();
    for i in 0..5_000i64 {
        let svc = svc.clone();
        tasks.push(tokio::spawn(async move {
            let r = call_in_process(
                &svc,
                post("/gradio_api/call/mul", format!(r#"{{"data": [{i}, 3]}}"#)),
            )
            .await;
            let id = r.event_id();
            let poll = call_in_process(
                &svc,
                request(
                    Method::GET,
                    &format!("/gradio_api/call/mul/{id}"),
                    &[],
                    Bytes::new(),
                ),
            )
            .await;
            (i, poll.text().to_owned())
        }));
    }
    for task in tasks {
        let (i, text) = task.await.unwrap();
        assert_eq!(text, format!("event: complete\ndata: [{}]\n\n", i * 3));
    }
    // And over loopback, 64 clients at a time.
    let server = TestServer::start(svc).await;
    let server = Arc::new(server);
    let mut tasks = Vec::new();
    for client in 0..64i64 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            for k in 0..16i64 {
                let n = client * 1000 + k;
                let id = server
                    .post_json("/gradio_api/call/mul", &format!(r#"{{"data": [{n}, 7]}}"#))
                    .await
                    .event_id();
                let poll = server.get(&format!("/gradio_api/call/mul/{id}")).await;
                assert_eq!(
                    poll.text(),
                    format!("event: complete\ndata: [{}]\n\n", n * 7)
                );
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// A handler that panics, one that never returns and one that returns a huge value each
/// affect only their own call.
#[tokio::test]
async fn hostile_handlers_affect_only_their_own_call() {
    let registry = Registry::new()
        .typed("forever", |_: NoArgs, _: CallContext| async move {
            std::future::pending::<()>().await;
            Ok::<(), String>(())
        })
        .typed("huge", |_: NoArgs, _: CallContext| async move {
            Ok::<_, String>("x".repeat(10_000))
        })
        .typed("boom", |_: NoArgs, _: CallContext| async move {
            if true {
                panic!("boom");
            }
            Ok::<(), String>(())
        })
        .typed("ok", |_: NoArgs, _: CallContext| async move {
            Ok::<_, String>(1)
        });
    let svc = GradioCompat::builder(registry)
        .max_output_bytes(1_000)
        .heartbeat_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    let server = TestServer::start(svc).await;
    let forever = server
        .post_json("/gradio_api/call/forever", r#"{"data": []}"#)
        .await
        .event_id();
    let huge = server
        .post_json("/gradio_api/call/huge", r#"{"data": []}"#)
        .await
        .event_id();
    let boom = server
        .post_json("/gradio_api/call/boom", r#"{"data": []}"#)
        .await
        .event_id();
    let ok = server
        .post_json("/gradio_api/call/ok", r#"{"data": []}"#)
        .await
        .event_id();
    assert_eq!(
        server
            .get(&format!("/gradio_api/call/ok/{ok}"))
            .await
            .text(),
        "event: complete\ndata: [1]\n\n"
    );
    let frames = parse_frames(
        server
            .get(&format!("/gradio_api/call/huge/{huge}"))
            .await
            .text(),
    );
    assert_eq!(frames[0].event.as_deref(), Some("error"));
    assert!(
        frames[0].data.contains("10004 bytes") && frames[0].data.contains("limit of 1000"),
        "{}",
        frames[0].data
    );
    let frames = parse_frames(
        server
            .get(&format!("/gradio_api/call/boom/{boom}"))
            .await
            .text(),
    );
    assert!(frames[0].data.contains("internal error"));
    // The never-ending call only heartbeats.
    let response = server
        .open(request(
            Method::GET,
            &format!("/gradio_api/call/forever/{forever}"),
            &[],
            Bytes::new(),
        ))
        .await;
    let mut sse = common::SseReader::new(response.into_body());
    for _ in 0..3 {
        assert_eq!(
            sse.next().await.unwrap().event.as_deref(),
            Some("heartbeat")
        );
    }
    assert_eq!(server.get("/gradio_api/info").await.status, StatusCode::OK);
}

#[tokio::test]
async fn file_serving_cannot_escape() {
    let probe = Probe::new();
    let svc = GradioCompat::builder(registry(probe)).build().unwrap();
    let dir = svc.upload_dir().to_path_buf();
    let server = TestServer::start(svc).await;
    let (ct, body) = multipart(&[("ok.txt", b"ok".to_vec()), ("victim.txt", b"v".to_vec())]);
    let up = server
        .send(request(
            Method::POST,
            "/gradio_api/upload",
            &[("content-type", ct.as_str())],
            body,
        ))
        .await;
    let paths: Vec<String> = serde_json::from_slice(&up.body).unwrap();
    let sub = std::path::Path::new(&paths[0])
        .parent()
        .unwrap()
        .display()
        .to_string();
    // A symlink planted in the upload dir, and an uploaded file replaced by one.
    let planted = dir.join("planted");
    std::os::unix::fs::symlink("/etc/passwd", &planted).unwrap();
    std::fs::remove_file(&paths[1]).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", &paths[1]).unwrap();
    for path in [
        format!("{sub}/../../../../etc/passwd"),
        format!("{sub}/%2e%2e/%2e%2e/%2e%2e/etc/passwd"),
        format!("{sub}%2f..%2f..%2fetc%2fpasswd"),
        format!("{sub}\\..\\..\\etc\\passwd"),
        "/etc/passwd".to_owned(),
        "etc/passwd".to_owned(),
        planted.display().to_string(),
        paths[1].clone(),
        format!("{}%00.txt", paths[0]),
        dir.display().to_string(),
    ] {
        let r = server.get(&format!("/gradio_api/file={path}")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text());
    }
    // The replaced upload is refused as an argument too.
    let call = json!({"data": [{"path": paths[1]}]}).to_string();
    assert_eq!(
        server
            .post_json("/gradio_api/call/file_size", &call)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Symlinks inside an allowed dir that point outside it are refused.
    let allowed = std::env::temp_dir().join(format!("gc-allowed-link-{}", std::process::id()));
    std::fs::create_dir_all(&allowed).unwrap();
    let link = allowed.join("passwd");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("/etc/passwd", &link).unwrap();
    let svc = GradioCompat::builder(registry(Probe::new()))
        .allow_dir(&allowed)
        .build()
        .unwrap();
    let server = TestServer::start(svc).await;
    let canonical_dir = std::fs::canonicalize(&allowed).unwrap();
    let r = server
        .get(&format!(
            "/gradio_api/file={}/passwd",
            canonical_dir.display()
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let _ = std::fs::remove_dir_all(&allowed);
}

#[tokio::test]
async fn cors_is_off_by_default_and_follows_fetch_when_on() {
    let off = GradioCompat::builder(registry(Probe::new()))
        .build()
        .unwrap();
    let preflight = |origin: &'static str| {
        request(
            Method::OPTIONS,
            "/gradio_api/call/add",
            &[
                ("origin", origin),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "content-type, authorization",
                ),
            ],
            Bytes::new(),
        )
    };
    let r = call_in_process(&off, preflight("https://app.example")).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.header("access-control-allow-origin").is_none());
    let r = call_in_process(
        &off,
        request(
            Method::GET,
            "/gradio_api/info",
            &[("origin", "https://app.example")],
            Bytes::new(),
        ),
    )
    .await;
    assert!(r.header("access-control-allow-origin").is_none());

    let on = GradioCompat::builder(registry(Probe::new()))
        .cors_allow_origins(["https://app.example"])
        .build()
        .unwrap();
    let r = call_in_process(&on, preflight("https://app.example")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert!(r
        .header("access-control-allow-methods")
        .unwrap()
        .contains("POST"));
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("content-type, authorization")
    );
    assert!(r.header("vary").unwrap().contains("Origin"));
    let r = call_in_process(&on, preflight("https://evil.example")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.header("access-control-allow-origin").is_none());
    let r = call_in_process(
        &on,
        request(
            Method::GET,
            "/gradio_api/info",
            &[("origin", "https://app.example")],
            Bytes::new(),
        ),
    )
    .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(r.header("vary"), Some("Origin"));
    let r = call_in_process(
        &on,
        request(
            Method::GET,
            "/gradio_api/info",
            &[("origin", "https://evil.example")],
            Bytes::new(),
        ),
    )
    .await;
    assert!(r.header("access-control-allow-origin").is_none());
    let any = GradioCompat::builder(registry(Probe::new()))
        .cors_allow_origins(["*"])
        .build()
        .unwrap();
    let r = call_in_process(
        &any,
        request(
            Method::GET,
            "/gradio_api/info",
            &[("origin", "https://x.example")],
            Bytes::new(),
        ),
    )
    .await;
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn event_ids_are_random_uuid_v4() {
    let mut seen = HashSet::new();
    for _ in 0..10_000 {
        let id = EventId::new_random().to_string();
        assert_eq!(id.len(), 32);
        assert_eq!(&id[12..13], "4", "version 4");
        assert!(
            matches!(&id[16..17], "8" | "9" | "a" | "b"),
            "RFC 4122 variant"
        );
        assert!(seen.insert(id));
    }
}

#[tokio::test]
async fn tokens_never_show_in_debug_output() {
    let seen = Arc::new(std::sync::Mutex::new(String::new()));
    let log = seen.clone();
    let registry = Registry::new().typed(
        "t",
        move |_: common::fixtures::TokenArgs, ctx: CallContext| {
            let log = log.clone();
            async move {
                *log.lock().unwrap() = format!("{ctx:?}");
                Ok::<_, String>(())
            }
        },
    );
    let hook_seen = Arc::new(std::sync::Mutex::new(String::new()));
    let hook_log = hook_seen.clone();
    let svc = GradioCompat::builder(registry)
        .authorize(move |req| {
            *hook_log.lock().unwrap() = format!("{req:?}");
            Ok(())
        })
        .build()
        .unwrap();
    let r = call_in_process(
        &svc,
        request(
            Method::POST,
            "/gradio_api/call/t",
            &[
                ("authorization", "Bearer hf_SECRET_1"),
                ("content-type", "application/json"),
            ],
            Bytes::from_static(br#"{"data": [1, "hf_SECRET_2"]}"#),
        ),
    )
    .await;
    let id = r.event_id();
    call_in_process(
        &svc,
        request(
            Method::GET,
            &format!("/gradio_api/call/t/{id}"),
            &[],
            Bytes::new(),
        ),
    )
    .await;
    for text in [
        seen.lock().unwrap().clone(),
        hook_seen.lock().unwrap().clone(),
        format!("{svc:?}"),
    ] {
        assert!(!text.is_empty());
        assert!(!text.contains("SECRET"), "{text}");
    }
}

/// The serve helper closes connections whose headers never finish.
#[tokio::test]
async fn slow_loris_connections_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let svc = GradioCompat::builder(registry(Probe::new()))
        .build()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = gradio_compat::server::ServeOptions::default()
        .header_read_timeout(Duration::from_millis(200));
    tokio::spawn(gradio_compat::server::serve_with(
        listener,
        svc,
        std::future::pending(),
        options,
    ));
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /gradio_api/info HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(common::WAIT, stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the server must close the connection");
    // hyper may answer 408 before closing; it must not answer the request itself.
    assert!(!String::from_utf8_lossy(&buf).contains("named_endpoints"));
}

#[tokio::test]
async fn uploads_live_while_used_and_go_with_the_service() {
    let svc = GradioCompat::builder(registry(Probe::new()))
        .upload_ttl(Duration::from_millis(400))
        .build()
        .unwrap();
    let dir = svc.upload_dir().to_path_buf();
    let server = TestServer::start(svc.clone()).await;
    let (ct, body) = multipart(&[("used.txt", b"u".to_vec()), ("idle.txt", b"i".to_vec())]);
    let up = server
        .send(request(
            Method::POST,
            "/gradio_api/upload",
            &[("content-type", ct.as_str())],
            body,
        ))
        .await;
    let paths: Vec<String> = serde_json::from_slice(&up.body).unwrap();
    // Keep using the first file in calls until the idle one is deleted: each use starts its
    // TTL again, so it must outlive the idle one, whatever the timing.
    let call = json!({"data": [{"path": paths[0]}]}).to_string();
    let deadline = tokio::time::Instant::now() + common::WAIT;
    let mut uses = 0;
    while std::path::Path::new(&paths[1]).exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the idle upload was never deleted"
        );
        let id = server
            .post_json("/gradio_api/call/file_size", &call)
            .await
            .event_id();
        let poll = server
            .get(&format!("/gradio_api/call/file_size/{id}"))
            .await;
        assert_eq!(parse_frames(poll.text())[0].data, "[1]", "use {uses}");
        uses += 1;
    }
    assert!(uses > 0);
    assert!(
        std::path::Path::new(&paths[0]).exists(),
        "the used upload outlives the idle one"
    );
    // Dropping the service (and its server) removes the upload directory it made.
    drop(server);
    drop(svc);
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while dir.exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the upload directory was not removed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One data stream per session: a second stream for the same session takes over, and the
/// first one ends, so a session cannot hold many streams open.
#[tokio::test]
async fn one_data_stream_per_session() {
    let probe = Probe::new();
    let server = TestServer::start(
        GradioCompat::builder(registry(probe.clone()))
            .build()
            .unwrap(),
    )
    .await;
    let config = server.get("/config").await.json();
    let wait = config["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .position(|d| d["api_name"] == "wait")
        .unwrap();
    let body = json!({"data": [], "fn_index": wait, "session_hash": "one"}).to_string();
    server
        .post_json("/gradio_api/queue/join", &body)
        .await
        .event_id();
    let first = server
        .open(request(
            Method::GET,
            "/gradio_api/queue/data?session_hash=one",
            &[],
            Bytes::new(),
        ))
        .await;
    let mut first = common::SseReader::new(first.into_body());
    let m: Value = serde_json::from_str(&first.next().await.unwrap().data).unwrap();
    assert_eq!(m["msg"], "estimation");
    let second = server
        .open(request(
            Method::GET,
            "/gradio_api/queue/data?session_hash=one",
            &[],
            Bytes::new(),
        ))
        .await;
    let mut second = common::SseReader::new(second.into_body());
    // The first stream ends; the second carries the rest.
    while let Some(frame) = first.next().await {
        let m: Value = serde_json::from_str(&frame.data).unwrap();
        assert_ne!(m["msg"], "process_completed");
    }
    probe.release();
    let mut kinds = Vec::new();
    while let Some(frame) = second.next().await {
        let m: Value = serde_json::from_str(&frame.data).unwrap();
        kinds.push(m["msg"].as_str().unwrap().to_owned());
    }
    assert!(kinds.contains(&"process_completed".to_owned()), "{kinds:?}");
    assert_eq!(kinds.last().map(String::as_str), Some("close_stream"));
}

/// Exactly `max_unfinished` calls are accepted at once; the next gets 503 with Retry-After.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_limit_is_exact() {
    let probe = Probe::new();
    let svc = GradioCompat::builder(registry(probe.clone()))
        .max_unfinished(500)
        .build()
        .unwrap();
    for i in 0..500 {
        let r = svc
            .handle(post("/gradio_api/call/wait", r#"{"data": []}"#))
            .await;
        assert_eq!(r.status(), StatusCode::OK, "call {i}");
    }
    let refused = call_in_process(&svc, post("/gradio_api/call/wait", r#"{"data": []}"#)).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert!(refused.json()["error"]
        .as_str()
        .unwrap()
        .contains("500 unfinished calls"));
    probe.gate.add_permits(500);
}

/// `/call` and the queue share one count of unfinished calls: half the limit on each route
/// fills it, and the next call on either route gets 503. Finished calls give their place back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_limit_counts_call_and_queue_together() {
    let probe = Probe::new();
    let svc = GradioCompat::builder(registry(probe.clone()))
        .max_unfinished(10)
        .build()
        .unwrap();
    let config = call_in_process(&svc, request(Method::GET, "/config", &[], Bytes::new()))
        .await
        .json();
    let wait_index = config["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .position(|d| d["api_name"] == "wait")
        .unwrap();
    let join = |hash: String| {
        post(
            "/gradio_api/queue/join",
            json!({"data": [], "fn_index": wait_index, "session_hash": hash}).to_string(),
        )
    };
    for i in 0..5 {
        let r = call_in_process(&svc, post("/gradio_api/call/wait", r#"{"data": []}"#)).await;
        assert_eq!(r.status, StatusCode::OK, "call {i}");
        let r = call_in_process(&svc, join(format!("s{i}"))).await;
        assert_eq!(r.status, StatusCode::OK, "join {i}");
    }
    let refused = call_in_process(&svc, post("/gradio_api/call/wait", r#"{"data": []}"#)).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.json()["error"]
        .as_str()
        .unwrap()
        .contains("10 unfinished calls"));
    let refused = call_in_process(&svc, join("s-extra".into())).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.header("retry-after"), Some("1"));
    // One call finishes: one place is free again, on either route.
    probe.release();
    let deadline = tokio::time::Instant::now() + common::WAIT;
    loop {
        let r = call_in_process(&svc, join("s-after".into())).await;
        if r.status == StatusCode::OK {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place never came back"
        );
        tokio::task::yield_now().await;
    }
    probe.gate.add_permits(100);
}
