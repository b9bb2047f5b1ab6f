//! Follow endpoints: calls that follow one shared live source (a `Fanout`), over loopback:
//! `/call` polls read the shared buffer, the queue relays them from a small task each; errors, wrong
//! endpoints, cancels, HEAD and the limit.

mod common;

use bytes::Bytes;
use common::{parse_frames, request, TestServer};
use gradio_compat::{CallContext, Fanout, GradioCompat, Registry};
use http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

/// Which source to follow.
#[derive(Deserialize, JsonSchema)]
struct Which {
    name: String,
}

fn service(a: &Fanout<f64>, b: &Fanout<f64>, limit: usize) -> GradioCompat {
    let (a, b) = (a.clone(), b.clone());
    let registry = Registry::new()
        .follow("watch", move |w: Which, _: CallContext| {
            match w.name.as_str() {
                "a" => Ok(a.clone()),
                "b" => Ok(b.clone()),
                other => Err(format!("no source named {other:?}; there are a and b")),
            }
        })
        .typed("other", |_: Which, _: CallContext| async {
            Ok::<_, String>(1)
        });
    GradioCompat::builder(registry)
        .max_unfinished(limit)
        .build()
        .unwrap()
}

fn shown(frames: &[common::Frame]) -> Vec<(String, String)> {
    frames
        .iter()
        .filter(|f| f.event.as_deref() != Some("heartbeat"))
        .map(|f| (f.event.clone().unwrap_or_default(), f.data.clone()))
        .collect()
}

#[tokio::test]
async fn every_follower_gets_each_value_then_the_last_as_complete() {
    let (a, b) = (Fanout::new(), Fanout::new());
    let server = TestServer::start(service(&a, &b, 100)).await;
    let call = || server.post_json("/gradio_api/call/watch", r#"{"data": ["a"]}"#);
    let first = call().await.event_id();
    let second = call().await.event_id();
    // Values published after the call, before its poll, are read too.
    a.publish(&1.5).unwrap();
    let mut one = server.sse(&format!("/gradio_api/call/watch/{first}")).await;
    let mut two = server
        .sse(&format!("/gradio_api/call/watch/{second}"))
        .await;
    a.publish(&-0.0).unwrap();
    a.publish(&5e-324).unwrap();
    a.finish();
    for reader in [&mut one, &mut two] {
        let mut frames = Vec::new();
        while let Some(frame) = reader.next().await {
            frames.push(frame);
        }
        assert_eq!(
            shown(&frames),
            [
                ("generating".into(), "[1.5]".into()),
                ("generating".into(), "[-0.0]".into()),
                ("generating".into(), "[5e-324]".into()),
                ("complete".into(), "[5e-324]".into()),
            ]
        );
    }
    // A call after the end completes at once with the last value.
    let late = call().await.event_id();
    let poll = server.get(&format!("/gradio_api/call/watch/{late}")).await;
    assert_eq!(poll.text(), "event: complete\ndata: [5e-324]\n\n");
    // The poll took the call: a second poll finds nothing.
    let again = server.get(&format!("/gradio_api/call/watch/{late}")).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn refusals_wrong_endpoints_cancels_head_and_the_limit() {
    let (a, b) = (Fanout::new(), Fanout::new());
    let server = TestServer::start(service(&a, &b, 2)).await;
    // The handler refuses: the poll reads its message as the call's error.
    let id = server
        .post_json("/gradio_api/call/watch", r#"{"data": ["zz"]}"#)
        .await
        .event_id();
    let poll = server.get(&format!("/gradio_api/call/watch/{id}")).await;
    let frames = parse_frames(poll.text());
    assert_eq!(frames[0].event.as_deref(), Some("error"));
    assert!(
        frames[0].data.contains("no source named \\\"zz\\\""),
        "{frames:?}"
    );
    // Polled on another endpoint: 404 naming the right one, and the call still waits.
    let id = server
        .post_json("/gradio_api/call/watch", r#"{"data": ["a"]}"#)
        .await
        .event_id();
    let wrong = server.get(&format!("/gradio_api/call/other/{id}")).await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    assert!(
        wrong.text().contains("belongs to /watch"),
        "{}",
        wrong.text()
    );
    // HEAD does not take it either.
    let head = server
        .send(request(
            Method::HEAD,
            &format!("/gradio_api/call/watch/{id}"),
            &[],
            Bytes::new(),
        ))
        .await;
    assert_eq!(head.status, StatusCode::OK);
    // Two wait (the limit): a third is refused with 503 and Retry-After.
    let waiting = server
        .post_json("/gradio_api/call/watch", r#"{"data": ["b"]}"#)
        .await
        .event_id();
    let refused = server
        .post_json("/gradio_api/call/watch", r#"{"data": ["b"]}"#)
        .await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert!(
        refused.text().contains("waiting for their poll"),
        "{}",
        refused.text()
    );
    // A cancel drops a waiting call: its poll finds nothing, and there is room again.
    let cancel = json!({"event_id": waiting}).to_string();
    server.post_json("/gradio_api/cancel", &cancel).await;
    let gone = server
        .get(&format!("/gradio_api/call/watch/{waiting}"))
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let room = server
        .post_json("/gradio_api/call/watch", r#"{"data": ["b"]}"#)
        .await;
    assert_eq!(room.status, StatusCode::OK);
    // The first one still streams.
    let mut reader = server.sse(&format!("/gradio_api/call/watch/{id}")).await;
    a.publish(&2.0).unwrap();
    a.fail("the source stopped");
    let mut frames = Vec::new();
    while let Some(frame) = reader.next().await {
        frames.push(frame);
    }
    let frames = shown(&frames);
    assert_eq!(frames[0], ("generating".into(), "[2.0]".into()));
    assert_eq!(frames[1].0, "error");
    assert!(frames[1].1.contains("the source stopped"));
}

#[tokio::test]
async fn the_queue_relays_a_follow_call() {
    let (a, b) = (Fanout::new(), Fanout::new());
    let server = TestServer::start(service(&a, &b, 100)).await;
    let index = common::fn_index(&server, "watch").await;
    let join = json!({"data": ["b"], "fn_index": index, "session_hash": "s-follow"}).to_string();
    server.post_json("/gradio_api/queue/join", &join).await;
    let mut sse = server
        .sse("/gradio_api/queue/data?session_hash=s-follow")
        .await;
    // Publish once the call has started (its follower is made when its handler runs).
    let mut generating = Vec::new();
    let mut completed = None;
    let mut published = false;
    while let Some(frame) = sse.next().await {
        let m: Value = serde_json::from_str(&frame.data).unwrap();
        match m["msg"].as_str().unwrap() {
            "process_starts" if !published => {
                published = true;
                // The handler has run by `process_starts`; give the relay a moment.
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                b.publish(&1.0).unwrap();
                b.publish(&2.0).unwrap();
                b.finish();
            }
            "process_generating" => generating.push(m["output"]["data"].clone()),
            "process_completed" => completed = Some(m),
            "close_stream" => break,
            _ => {}
        }
    }
    assert_eq!(generating, [json!([1.0]), json!([[["replace", [], 2.0]]])]);
    assert_eq!(
        completed.expect("completed")["output"]["data"],
        json!([2.0])
    );
}

/// Through the queue, a follow handler that refuses is reported like any failed call: a
/// failed `process_completed` with its message, after `process_starts`.
#[tokio::test]
async fn the_queue_reports_a_refusing_follow_handler() {
    let (a, b) = (Fanout::new(), Fanout::new());
    let server = TestServer::start(service(&a, &b, 100)).await;
    let index = common::fn_index(&server, "watch").await;
    let join = json!({"data": ["c"], "fn_index": index, "session_hash": "s-refused"}).to_string();
    server.post_json("/gradio_api/queue/join", &join).await;
    let mut sse = server
        .sse("/gradio_api/queue/data?session_hash=s-refused")
        .await;
    let mut messages = Vec::new();
    while let Some(frame) = sse.next().await {
        let m: Value = serde_json::from_str(&frame.data).unwrap();
        let msg = m["msg"].as_str().unwrap().to_owned();
        if msg == "process_completed" {
            assert_eq!(m["success"], false, "{m}");
            assert!(
                m["output"]["error"]
                    .as_str()
                    .unwrap()
                    .contains("no source named \"c\""),
                "{m}"
            );
        }
        let end = msg == "close_stream";
        messages.push(msg);
        if end {
            break;
        }
    }
    assert_eq!(
        messages,
        [
            "estimation",
            "process_starts",
            "process_completed",
            "close_stream"
        ]
    );
}

#[tokio::test]
async fn a_shutdown_ends_open_follow_streams_as_cancelled_calls() {
    let (a, b) = (Fanout::new(), Fanout::new());
    let svc = service(&a, &b, 100);
    let server = TestServer::start(svc.clone()).await;
    let id = server
        .post_json("/gradio_api/call/watch", r#"{"data": ["a"]}"#)
        .await
        .event_id();
    let mut reader = server.sse(&format!("/gradio_api/call/watch/{id}")).await;
    a.publish(&1.0).unwrap();
    let first = reader.next().await.unwrap();
    assert_eq!(first.data, "[1.0]");
    assert_eq!(svc.shutdown(std::time::Duration::ZERO).await, 0);
    let last = reader.terminal().await;
    assert_eq!(last.event.as_deref(), Some("error"));
    assert!(
        last.data.contains("the call was cancelled"),
        "{}",
        last.data
    );
    assert!(reader.next().await.is_none(), "the stream ends");
    // New calls are refused.
    let refused = server
        .post_json("/gradio_api/call/watch", r#"{"data": ["a"]}"#)
        .await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
}
