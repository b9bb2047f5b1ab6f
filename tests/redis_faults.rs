//! What a poll is told when the shared Redis fails under it, over HTTP on loopback with a real
//! `redis-server`: a poll open while Redis comes back empty hears that the store lost the call
//! (not that it was delivered or expired); a link to Redis that stalls without closing turns
//! into 503s for new calls, and an error frame for an open poll and an `unexpected_error`
//! message that ends an open queue stream, within the backend's limits,
//! never a hang, and a request that waited in the stalled link past its caller's timeout takes
//! no result (nor a queue session's items) when it reaches Redis; with append-only persistence (`appendfsync always`), a Redis killed and
//! started again loses no finished result.
#![cfg(feature = "redis")]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::redis_server::RedisServer;
use common::stall_proxy::StallProxy;
use common::{SseReader, TestServer};
use gradio_compat::backend::{BackendLimits, RedisBackend, RedisOptions};
use gradio_compat::{CallContext, GradioCompat, Registry};
use http::StatusCode;
use schemars::JsonSchema;
use serde::Deserialize;

/// How long a call of `slow` takes.
#[derive(Deserialize, JsonSchema)]
struct Wait {
    seconds: f64,
}

async fn service(url: &str, prefix: &str) -> GradioCompat {
    service_with(url, prefix, RedisOptions::default()).await
}

async fn service_with(url: &str, prefix: &str, options: RedisOptions) -> GradioCompat {
    let backend = RedisBackend::connect_with(url, prefix, BackendLimits::default(), options)
        .await
        .expect("the test's redis-server answers");
    let registry = Registry::new()
        .typed("slow", |w: Wait, _: CallContext| async move {
            tokio::time::sleep(Duration::from_secs_f64(w.seconds)).await;
            Ok::<_, String>(w.seconds)
        })
        .typed("add", |w: Wait, _: CallContext| async move {
            Ok::<_, String>(w.seconds + 1.0)
        });
    GradioCompat::builder(registry)
        .backend(Arc::new(backend))
        .heartbeat_interval(Duration::from_millis(500))
        .build()
        .expect("builds")
}

/// A Redis, a stall proxy to it, a replica through the proxy (requests time out after 1 s, an
/// open reader gives up after `give_up_secs`) and a replica connected directly, on `prefix`.
async fn stalled_and_direct(
    prefix: &str,
    give_up_secs: u64,
) -> (RedisServer, StallProxy, TestServer, TestServer) {
    let redis = RedisServer::start();
    let proxy = StallProxy::start(redis.port).await;
    let mut options = RedisOptions::default();
    options.request_timeout = Duration::from_secs(1);
    options.give_up_after = Duration::from_secs(give_up_secs);
    let stalled = TestServer::start(service_with(&proxy.url(), prefix, options).await).await;
    let direct = TestServer::start(service(&redis.url(), prefix).await).await;
    (redis, proxy, stalled, direct)
}

/// Starts a call of `slow` for `seconds` and opens its poll, once a heartbeat shows it reading.
async fn reading_poll(server: &TestServer, seconds: u32) -> SseReader {
    let started = server
        .post_json(
            "/gradio_api/call/slow",
            &format!(r#"{{"data": [{seconds}]}}"#),
        )
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    let id = started.event_id();
    let mut poll = server.sse(&format!("/gradio_api/call/slow/{id}")).await;
    let first = poll.next().await.expect("a heartbeat while the call runs");
    assert_eq!(first.event.as_deref(), Some("heartbeat"), "{first:?}");
    poll
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_open_when_redis_comes_back_empty_hears_the_store_lost_its_call() {
    let mut redis = RedisServer::start();
    let server = TestServer::start(service(&redis.url(), "lost:").await).await;
    // The poll is reading when Redis restarts without its data.
    let mut poll = reading_poll(&server, 4).await;
    redis.restart();
    let end = poll.terminal().await;
    assert_eq!(end.event.as_deref(), Some("error"), "{end:?}");
    assert!(
        end.data.contains("the shared store lost it"),
        "the poll is told the store lost the call: {}",
        end.data
    );
    assert!(
        !end.data.contains("expired") && !end.data.contains("delivered to another"),
        "and not another cause: {}",
        end.data
    );
    // The server serves again on the new, empty Redis.
    let again = server
        .post_json("/gradio_api/call/add", r#"{"data": [1]}"#)
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    let id = again.event_id();
    let done = server
        .sse(&format!("/gradio_api/call/add/{id}"))
        .await
        .terminal()
        .await;
    assert_eq!(done.event.as_deref(), Some("complete"), "{done:?}");
    assert_eq!(done.data, "[2.0]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_link_to_redis_gives_503_and_ends_open_polls_with_an_error() {
    let redis = RedisServer::start();
    let proxy = StallProxy::start(redis.port).await;
    let url = proxy.url();
    // Requests give up after 1 s, an open poll after 4 s of failures.
    let mut options = RedisOptions::default();
    options.request_timeout = Duration::from_secs(1);
    options.give_up_after = Duration::from_secs(4);
    let server = TestServer::start(service_with(&url, "stall:", options).await).await;
    let mut poll = reading_poll(&server, 60).await;
    // A queue session with a job running, its stream open.
    let slow = common::fn_index(&server, "slow").await;
    let body = format!(r#"{{"data": [60], "fn_index": {slow}, "session_hash": "stalled"}}"#);
    let joined = server.post_json("/gradio_api/queue/join", &body).await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text());
    let mut queue = server
        .sse("/gradio_api/queue/data?session_hash=stalled")
        .await;
    proxy.stall(true);
    let stalled_at = Instant::now();
    // A new call is refused with a 503 that names the store, within the request timeout.
    let refused = server
        .post_json("/gradio_api/call/add", r#"{"data": [1]}"#)
        .await;
    let waited = stalled_at.elapsed();
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text()
    );
    assert!(refused.text().contains("Redis"), "{}", refused.text());
    assert!(
        waited < Duration::from_secs(4),
        "the 503 came after {waited:?}"
    );
    // The open poll ends with an error frame that says the store stopped answering.
    let end = poll.terminal().await;
    let waited = stalled_at.elapsed();
    assert_eq!(end.event.as_deref(), Some("error"), "{end:?}");
    assert!(
        end.data.contains("stopped answering"),
        "the poll is told the store stopped answering: {}",
        end.data
    );
    assert!(
        waited < Duration::from_secs(10),
        "the error frame came after {waited:?} (give up after 4 s, requests time out after 1 s)"
    );
    // The queue stream ends too, with a message that says why.
    let mut last = None;
    while let Some(frame) = queue.next().await {
        let message: serde_json::Value = serde_json::from_str(&frame.data).expect("JSON");
        if message["msg"] == "unexpected_error" {
            last = Some(message);
        }
    }
    let waited = stalled_at.elapsed();
    let last = last.expect("the queue stream ends with an unexpected_error message");
    assert!(
        last["message"]
            .as_str()
            .is_some_and(|m| m.contains("stopped answering")),
        "{last}"
    );
    assert!(
        waited < Duration::from_secs(12),
        "the queue stream ended after {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_take_that_reaches_redis_after_its_poll_gave_up_leaves_the_result() {
    // One replica behind the stall proxy (requests give up after 1 s, a poll after 2 s), one
    // direct.
    let (_redis, proxy, stalled, direct) = stalled_and_direct("late:", 2).await;
    // A call and poll through the stalled side first: Redis then has its scripts (a script
    // it did not have would fail late, not take), and the lease renewal read its clock.
    let warm = stalled
        .post_json("/gradio_api/call/add", r#"{"data": [0]}"#)
        .await;
    assert_eq!(warm.status, StatusCode::OK, "{}", warm.text());
    let mut poll = stalled
        .sse(&format!("/gradio_api/call/add/{}", warm.event_id()))
        .await;
    assert_eq!(poll.terminal().await.data, "[1.0]");
    let started = direct
        .post_json("/gradio_api/call/add", r#"{"data": [1]}"#)
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    let id = started.event_id();
    proxy.stall(true);
    // The poll's take waits in the stalled link; the poll gives up.
    let gave_up = tokio::time::timeout(
        Duration::from_secs(10),
        stalled.get(&format!("/gradio_api/call/add/{id}")),
    )
    .await
    .expect("the poll gives up within its limits, never hangs");
    let ended_with_error = gave_up.status == StatusCode::SERVICE_UNAVAILABLE
        || (gave_up.status == StatusCode::OK && gave_up.text().contains("event: error"));
    assert!(ended_with_error, "{} {}", gave_up.status, gave_up.text());
    // The link resumes: the take that waited in it reaches Redis now, past its deadline, and
    // must not take the result for a poll that is gone.
    proxy.stall(false);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut poll = direct.sse(&format!("/gradio_api/call/add/{id}")).await;
    let done = poll.terminal().await;
    assert_eq!(done.event.as_deref(), Some("complete"), "{done:?}");
    assert_eq!(done.data, "[2.0]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_read_that_reaches_redis_late_leaves_the_items_for_the_reader() {
    // The queue stream is read through the stalled replica (requests give up after 1 s, the
    // reader after 8 s); the job runs on the direct one.
    let (_redis, proxy, stalled, direct) = stalled_and_direct("lateq:", 8).await;
    let slow = common::fn_index(&direct, "slow").await;
    let body = format!(r#"{{"data": [1.5], "fn_index": {slow}, "session_hash": "late"}}"#);
    let joined = direct.post_json("/gradio_api/queue/join", &body).await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text());
    let mut queue = stalled
        .sse("/gradio_api/queue/data?session_hash=late")
        .await;
    // Reading: the job has started (and Redis has the session scripts).
    loop {
        let frame = queue.next().await.expect("the session's messages");
        let message: serde_json::Value = serde_json::from_str(&frame.data).expect("JSON");
        if message["msg"] == "process_starts" {
            break;
        }
    }
    // The link stalls while the job finishes; the reader's reads wait in it and time out.
    proxy.stall(true);
    tokio::time::sleep(Duration::from_millis(3500)).await;
    proxy.stall(false);
    // The reads that reached Redis past their deadline took nothing: the reader gets the
    // job's end.
    let completed = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(frame) = queue.next().await {
            let message: serde_json::Value = serde_json::from_str(&frame.data).expect("JSON");
            if message["msg"] == "process_completed" {
                return Some(message);
            }
        }
        None
    })
    .await
    .expect("the stream ends");
    let completed = completed.expect("the reader gets process_completed");
    assert_eq!(completed["success"], true, "{completed}");
    assert_eq!(completed["output"]["data"][0], 1.5, "{completed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_aof_always_a_redis_restart_loses_no_finished_result() {
    let mut redis = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let server = TestServer::start(service(&redis.url(), "aof:").await).await;
    // Results recorded finished when the POST answered (`add`), and results of calls that
    // ran a while and finished since (`slow`).
    let mut calls = Vec::new();
    for i in 0..40 {
        let started = server
            .post_json("/gradio_api/call/add", &format!(r#"{{"data": [{i}]}}"#))
            .await;
        assert_eq!(started.status, StatusCode::OK, "{}", started.text());
        calls.push(("add", started.event_id(), format!("[{}.0]", i + 1)));
    }
    for _ in 0..10 {
        let started = server
            .post_json("/gradio_api/call/slow", r#"{"data": [0.2]}"#)
            .await;
        assert_eq!(started.status, StatusCode::OK, "{}", started.text());
        calls.push(("slow", started.event_id(), "[0.2]".to_owned()));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    // SIGKILL, then the same server again on its append-only file.
    redis.restart();
    let mut delivered = 0;
    for (api, id, want) in &calls {
        let mut end = None;
        // The first requests after the restart may meet the reconnect.
        for _ in 0..50 {
            let response = server.get(&format!("/gradio_api/call/{api}/{id}")).await;
            if response.status == StatusCode::OK {
                end = common::parse_frames(response.text()).pop();
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let end = end.unwrap_or_else(|| panic!("{api} {id}: never answered after the restart"));
        assert_eq!(
            (end.event.as_deref(), end.data.as_str()),
            (Some("complete"), want.as_str()),
            "{api} {id}"
        );
        delivered += 1;
    }
    assert_eq!(delivered, calls.len());
}
