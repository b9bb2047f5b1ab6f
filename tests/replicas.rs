//! Two services built on one backend behave as two replicas behind one address: everything a
//! call on one shares with a poll, a stream, a queue read or a cancel on the other goes
//! through the backend, so each step may land on either. (A networked backend does the same
//! across processes; the in-memory one shows that no process-local side channel is left.)

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use common::fixtures::{registry, Probe};
use common::{parse_frames, SseReader, TestServer};
use gradio_compat::backend::{Backend, BackendLimits, MemoryBackend};
use gradio_compat::GradioCompat;
use http::StatusCode;
use serde_json::{json, Value};

/// Two replicas sharing `backend`, with their own copies of the fixture registry.
async fn replicas(backend: Arc<dyn Backend>, probe: &Arc<Probe>) -> (TestServer, TestServer) {
    let build = || {
        GradioCompat::builder(registry(probe.clone()))
            .backend(backend.clone())
            .build()
            .expect("fixture registry builds")
    };
    (
        TestServer::start(build()).await,
        TestServer::start(build()).await,
    )
}

async fn next_message(sse: &mut SseReader) -> Option<Value> {
    loop {
        let frame = sse.next().await?;
        let m: Value = serde_json::from_str(&frame.data).expect("JSON message");
        if m["msg"] != "heartbeat" {
            return Some(m);
        }
    }
}

#[tokio::test]
async fn a_call_on_one_replica_is_polled_on_the_other() {
    let probe = Probe::new();
    let (a, b) = replicas(Arc::new(MemoryBackend::default()), &probe).await;
    let id = a
        .post_json("/gradio_api/call/add", r#"{"data": [1, 2]}"#)
        .await
        .event_id();
    let polled = b.get(&format!("/gradio_api/call/add/{id}")).await;
    assert_eq!(polled.text(), "event: complete\ndata: [3.0]\n\n");
    // Delivered once, on either replica.
    assert_eq!(
        a.get(&format!("/gradio_api/call/add/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn partial_results_of_a_stream_reach_a_poller_on_the_other_replica() {
    let probe = Probe::new();
    let (a, b) = replicas(Arc::new(MemoryBackend::default()), &probe).await;
    let id = a
        .post_json("/gradio_api/call/count", r#"{"data": ["x", 3]}"#)
        .await
        .event_id();
    let frames = parse_frames(b.get(&format!("/gradio_api/call/count/{id}")).await.text());
    let events: Vec<(&str, &str)> = frames
        .iter()
        .map(|f| (f.event.as_deref().unwrap_or(""), f.data.as_str()))
        .collect();
    assert_eq!(
        events,
        [
            ("generating", r#"["x0"]"#),
            ("generating", r#"["x01"]"#),
            ("generating", r#"["x012"]"#),
            ("complete", r#"["x012"]"#),
        ]
    );
}

#[tokio::test]
async fn a_queue_job_joined_on_one_replica_streams_on_the_other() {
    let probe = Probe::new();
    let (a, b) = replicas(Arc::new(MemoryBackend::default()), &probe).await;
    let count = common::fn_index(&a, "count").await;
    let add = common::fn_index(&a, "add").await;
    let first = a
        .post_json(
            "/gradio_api/queue/join",
            &json!({"data": ["x", 2], "fn_index": count, "session_hash": "shared"}).to_string(),
        )
        .await
        .event_id();
    // A second job of the same session, joined on the other replica.
    let second = b
        .post_json(
            "/gradio_api/queue/join",
            &json!({"data": [2, 3], "fn_index": add, "session_hash": "shared"}).to_string(),
        )
        .await
        .event_id();
    let mut sse = b.sse("/gradio_api/queue/data?session_hash=shared").await;
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut completed = Vec::new();
    while let Some(m) = next_message(&mut sse).await {
        let msg = m["msg"].as_str().expect("msg").to_owned();
        if msg == "close_stream" {
            break;
        }
        let id = m["event_id"].as_str().expect("event_id").to_owned();
        if msg == "process_completed" {
            completed.push((id.clone(), m["output"]["data"].clone()));
        }
        seen.push((id, msg));
    }
    let of = |id: &str| -> Vec<&str> {
        seen.iter()
            .filter(|(e, _)| e == id)
            .map(|(_, m)| m.as_str())
            .collect()
    };
    let counting = of(&first);
    assert_eq!(counting.first(), Some(&"estimation"));
    assert!(counting.contains(&"process_starts"));
    assert!(counting.contains(&"progress"), "progress crosses replicas");
    assert!(counting.contains(&"log"), "log messages cross replicas");
    assert_eq!(
        counting
            .iter()
            .filter(|m| **m == "process_generating")
            .count(),
        2
    );
    assert_eq!(counting.last(), Some(&"process_completed"));
    assert_eq!(of(&second).first(), Some(&"estimation"));
    completed.sort_by(|x, y| x.0.cmp(&y.0));
    let mut expected = vec![
        (first.clone(), json!(["x01"])),
        (second.clone(), json!([5.0])),
    ];
    expected.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(completed, expected);
}

#[tokio::test]
async fn a_cancel_on_one_replica_stops_the_job_on_the_other() {
    let probe = Probe::new();
    let (a, b) = replicas(Arc::new(MemoryBackend::default()), &probe).await;
    let id = a
        .post_json("/gradio_api/call/wait", r#"{"data": []}"#)
        .await
        .event_id();
    let cancelled = b
        .post_json("/gradio_api/cancel", &json!({"event_id": id}).to_string())
        .await;
    assert_eq!(cancelled.json(), json!({"success": true}));
    let mut sse = b.sse(&format!("/gradio_api/call/wait/{id}")).await;
    let terminal = sse.terminal().await;
    assert_eq!(terminal.event.as_deref(), Some("error"));
    assert!(
        terminal.data.contains("stopped after a cancel"),
        "{}",
        terminal.data
    );
    assert_eq!(probe.cancelled.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_unfinished_limit_counts_both_replicas() {
    let probe = Probe::new();
    let mut limits = BackendLimits::default();
    limits.max_unfinished = 2;
    let backend = Arc::new(MemoryBackend::new(limits));
    let (a, b) = replicas(backend, &probe).await;
    a.post_json("/gradio_api/call/wait", r#"{"data": []}"#)
        .await
        .event_id();
    b.post_json("/gradio_api/call/wait", r#"{"data": []}"#)
        .await
        .event_id();
    let refused = a
        .post_json("/gradio_api/call/add", r#"{"data": [1, 2]}"#)
        .await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        refused.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("2 unfinished calls")),
        "{}",
        refused.text()
    );
    probe.release();
    probe.release();
}
