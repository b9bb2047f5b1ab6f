//! Streaming endpoints, progress and logs, concurrency limits, cancellation of streams,
//! panics and graceful shutdown, over loopback.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::fixtures::{registry, Probe};
use common::{parse_frames, request, SseReader, TestServer};
use gradio_compat::{CallContext, GradioCompat, NoArgs, Registry};
use http::{Method, StatusCode};
use serde_json::{json, Value};

fn service(probe: &Arc<Probe>) -> GradioCompat {
    GradioCompat::builder(registry(probe.clone()))
        .build()
        .unwrap()
}

/// Opens a queue stream and returns a reader of its parsed messages (heartbeats skipped).
async fn queue_reader(server: &TestServer, hash: &str) -> SseReader {
    server
        .sse(&format!("/gradio_api/queue/data?session_hash={hash}"))
        .await
}

async fn next_message(sse: &mut SseReader) -> Option<Value> {
    loop {
        let frame = sse.next().await?;
        let m: Value = serde_json::from_str(&frame.data).unwrap();
        if m["msg"] != "heartbeat" {
            return Some(m);
        }
    }
}

#[tokio::test]
async fn call_route_streams_full_values_then_complete() {
    let server = TestServer::start(service(&Probe::new())).await;
    let id = server
        .post_json("/gradio_api/call/count", r#"{"data": ["x", 3]}"#)
        .await
        .event_id();
    let poll = server.get(&format!("/gradio_api/call/count/{id}")).await;
    let frames = parse_frames(poll.text());
    let shown: Vec<(&str, &str)> = frames
        .iter()
        .map(|f| (f.event.as_deref().unwrap(), f.data.as_str()))
        .collect();
    // Progress and log messages are dropped on this route, as in Gradio.
    assert_eq!(
        shown,
        [
            ("generating", r#"["x0"]"#),
            ("generating", r#"["x01"]"#),
            ("generating", r#"["x012"]"#),
            ("complete", r#"["x012"]"#)
        ]
    );
    // An empty stream completes with null; an error item ends with an error event.
    let id = server
        .post_json("/gradio_api/call/count", r#"{"data": ["x", 0]}"#)
        .await
        .event_id();
    assert_eq!(
        server
            .get(&format!("/gradio_api/call/count/{id}"))
            .await
            .text(),
        "event: complete\ndata: [null]\n\n"
    );
    let id = server
        .post_json("/gradio_api/call/count", r#"{"data": ["x", 5, 2]}"#)
        .await
        .event_id();
    let frames = parse_frames(
        server
            .get(&format!("/gradio_api/call/count/{id}"))
            .await
            .text(),
    );
    let events: Vec<&str> = frames.iter().map(|f| f.event.as_deref().unwrap()).collect();
    assert_eq!(events, ["generating", "generating", "error"]);
    assert!(frames[2].data.contains("failed at item 2"));
}

#[tokio::test]
async fn queue_streams_full_value_then_diffs_then_full_completion() {
    let server = TestServer::start(service(&Probe::new())).await;
    let count = common::fn_index(&server, "count").await;
    let join = json!({"data": ["x", 3], "fn_index": count, "session_hash": "s-gen"}).to_string();
    let id = server
        .post_json("/gradio_api/queue/join", &join)
        .await
        .event_id();
    let mut sse = queue_reader(&server, "s-gen").await;
    let mut generating = Vec::new();
    let mut progress = Vec::new();
    let mut logs = Vec::new();
    let mut completed = None;
    while let Some(m) = next_message(&mut sse).await {
        match m["msg"].as_str().unwrap() {
            "process_generating" => {
                assert_eq!(m["event_id"], id.as_str());
                assert_eq!(m["success"], true);
                assert!(m["output"].get("error").is_none());
                generating.push(m["output"]["data"].clone());
            }
            "progress" => progress.push(m["progress_data"][0].clone()),
            "log" => logs.push(m),
            "process_completed" => completed = Some(m),
            "close_stream" => break,
            _ => {}
        }
    }
    assert_eq!(
        generating,
        [
            json!(["x0"]),
            json!([[["replace", [], "x01"]]]),
            json!([[["replace", [], "x012"]]])
        ]
    );
    let completed = completed.expect("process_completed");
    assert_eq!(completed["output"]["data"], json!(["x012"]));
    assert_eq!(progress.len(), 3);
    assert_eq!(progress[2]["index"], 3);
    assert_eq!(progress[2]["length"], 3);
    assert_eq!(progress[2]["unit"], "items");
    assert_eq!(logs[0]["log"], "counting");
    assert_eq!(logs[0]["level"], "info");
}

/// With a concurrency limit of 1, later callers wait in line and see their place; a full
/// line refuses with 503; a waiting `/call` stream keeps its heartbeats.
#[tokio::test]
async fn concurrency_limits_queue_callers_in_line() {
    let probe = Probe::new();
    let svc = GradioCompat::builder(registry(probe.clone()))
        .heartbeat_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    let server = TestServer::start(svc).await;
    let serial = common::fn_index(&server, "serial").await;
    let join =
        |hash: &str| json!({"data": [], "fn_index": serial, "session_hash": hash}).to_string();
    server
        .post_json("/gradio_api/queue/join", &join("s-a"))
        .await
        .event_id();
    while probe.started() < 1 {
        tokio::task::yield_now().await;
    }
    server
        .post_json("/gradio_api/queue/join", &join("s-b"))
        .await
        .event_id();
    let c = server
        .post_json("/gradio_api/call/serial", r#"{"data": []}"#)
        .await
        .event_id();
    // Two wait, the limit: the next caller is refused.
    let full = server
        .post_json("/gradio_api/queue/join", &join("s-d"))
        .await;
    assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(full.json()["error"]
        .as_str()
        .unwrap()
        .contains("queue of /serial is full"));

    let mut b = queue_reader(&server, "s-b").await;
    let first = next_message(&mut b).await.unwrap();
    assert_eq!(
        (first["msg"].as_str(), first["rank"].as_u64()),
        (Some("estimation"), Some(0))
    );
    // The waiting /call job keeps its heartbeats.
    let response = server
        .open(request(
            Method::GET,
            &format!("/gradio_api/call/serial/{c}"),
            &[],
            Bytes::new(),
        ))
        .await;
    let mut c_stream = SseReader::new(response.into_body());
    assert_eq!(
        c_stream.next().await.unwrap().event.as_deref(),
        Some("heartbeat")
    );

    probe.release(); // a finishes, b starts
    let started = next_message(&mut b).await.unwrap();
    assert_eq!(started["msg"], "process_starts");
    // b's handler starts right after its process_starts; the /call job c still waits.
    while probe.started() < 2 {
        tokio::task::yield_now().await;
    }
    tokio::task::yield_now().await;
    assert_eq!(probe.started(), 2, "only one runs at a time");
    probe.release(); // b finishes
    let done = next_message(&mut b).await.unwrap();
    assert_eq!(done["msg"], "process_completed");
    probe.release(); // c
    let frame = c_stream.terminal().await;
    assert_eq!(frame.event.as_deref(), Some("complete"));
    assert_eq!(frame.data, r#"["done"]"#);
}

#[tokio::test]
async fn a_queue_caller_sees_its_place_move_up() {
    let probe = Probe::new();
    let server = TestServer::start(service(&probe)).await;
    let serial = common::fn_index(&server, "serial").await;
    let join =
        |hash: &str| json!({"data": [], "fn_index": serial, "session_hash": hash}).to_string();
    server
        .post_json("/gradio_api/queue/join", &join("p-a"))
        .await
        .event_id();
    while probe.started() < 1 {
        tokio::task::yield_now().await;
    }
    server
        .post_json("/gradio_api/queue/join", &join("p-b"))
        .await
        .event_id();
    server
        .post_json("/gradio_api/queue/join", &join("p-c"))
        .await
        .event_id();
    let mut c = queue_reader(&server, "p-c").await;
    let first = next_message(&mut c).await.unwrap();
    assert_eq!(
        (first["rank"].as_u64(), first["queue_size"].as_u64()),
        (Some(1), Some(2))
    );
    probe.release(); // a done, b runs: c is next
    let moved = next_message(&mut c).await.unwrap();
    assert_eq!(
        (moved["msg"].as_str(), moved["rank"].as_u64()),
        (Some("estimation"), Some(0))
    );
    probe.release();
    probe.release();
    while let Some(m) = next_message(&mut c).await {
        if m["msg"] == "close_stream" {
            break;
        }
    }
}

/// Cancelling a stream stops its producer: no item is produced after the call ended.
#[tokio::test]
async fn cancelling_a_stream_stops_the_producer() {
    let probe = Probe::new();
    let server = TestServer::start(service(&probe)).await;
    let id = server
        .post_json("/gradio_api/call/ticker", r#"{"data": []}"#)
        .await
        .event_id();
    let response = server
        .open(request(
            Method::GET,
            &format!("/gradio_api/call/ticker/{id}"),
            &[],
            Bytes::new(),
        ))
        .await;
    let mut sse = SseReader::new(response.into_body());
    for expected in 0..3 {
        let frame = sse.next().await.unwrap();
        assert_eq!(frame.event.as_deref(), Some("generating"));
        assert_eq!(frame.data, format!("[{expected}]"));
    }
    server
        .post_json("/gradio_api/cancel", &json!({"event_id": id}).to_string())
        .await;
    let last = sse.terminal().await;
    assert_eq!(last.event.as_deref(), Some("error"));
    assert!(last.data.contains("cancelled"));
    // The stream is dropped, and with it the only code that produces: nothing more can come.
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while probe.streams_dropped() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stream was never dropped"
        );
        tokio::task::yield_now().await;
    }
    let produced = probe.produced.load(Ordering::SeqCst);
    assert!(produced >= 3, "{produced}");
    assert_eq!(probe.streams_dropped(), 1);
}

fn panicking() -> Registry {
    Registry::new().typed("boom", |_: NoArgs, _: CallContext| async move {
        if true {
            panic!("secret detail in a panic");
        }
        Ok::<(), String>(())
    })
}

#[tokio::test]
async fn panics_say_internal_error_unless_show_error() {
    for (show, expect_detail) in [(false, false), (true, true)] {
        let server = TestServer::start(
            GradioCompat::builder(panicking())
                .show_error(show)
                .build()
                .unwrap(),
        )
        .await;
        let id = server
            .post_json("/gradio_api/call/boom", r#"{"data": []}"#)
            .await
            .event_id();
        let frames = parse_frames(
            server
                .get(&format!("/gradio_api/call/boom/{id}"))
                .await
                .text(),
        );
        assert!(frames[0].data.contains("internal error"));
        assert_eq!(
            frames[0].data.contains("secret detail"),
            expect_detail,
            "show_error {show}"
        );
        // The server keeps serving.
        assert_eq!(server.get("/gradio_api/info").await.status, StatusCode::OK);
        assert_eq!(server.get("/config").await.json()["show_error"], show);
    }
}

/// Shutdown cancels what still runs after the bound: open streams get a terminal frame, and
/// new calls are refused.
#[tokio::test]
async fn shutdown_ends_open_streams_with_a_terminal_frame() {
    let probe = Probe::new();
    let svc = GradioCompat::builder(registry(probe.clone()))
        .cancel_grace(Duration::from_millis(50))
        .build()
        .unwrap();
    let server = TestServer::start(svc.clone()).await;
    let id = server
        .post_json("/gradio_api/call/wait", r#"{"data": []}"#)
        .await
        .event_id();
    let response = server
        .open(request(
            Method::GET,
            &format!("/gradio_api/call/wait/{id}"),
            &[],
            Bytes::new(),
        ))
        .await;
    let mut call_stream = SseReader::new(response.into_body());
    let wait = common::fn_index(&server, "wait").await;
    let join = json!({"data": [], "fn_index": wait, "session_hash": "s-shut"}).to_string();
    server
        .post_json("/gradio_api/queue/join", &join)
        .await
        .event_id();
    let mut queue = queue_reader(&server, "s-shut").await;
    while probe.started() < 2 {
        tokio::task::yield_now().await;
    }
    let cancelled = svc.shutdown(Duration::from_millis(50)).await;
    assert_eq!(cancelled, 2);
    let last = call_stream.terminal().await;
    assert_eq!(last.event.as_deref(), Some("error"));
    let mut kinds = Vec::new();
    while let Some(m) = next_message(&mut queue).await {
        kinds.push(m["msg"].as_str().unwrap().to_owned());
    }
    assert_eq!(kinds.last().map(String::as_str), Some("close_stream"));
    assert!(kinds.contains(&"process_completed".to_owned()));
    let refused = server
        .post_json("/gradio_api/call/add", r#"{"data": [1, 2]}"#)
        .await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.json()["error"]
        .as_str()
        .unwrap()
        .contains("shutting down"));
}
