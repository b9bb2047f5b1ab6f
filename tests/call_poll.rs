//! `POST {p}/call/{api}` and `GET|HEAD {p}/call/{api}/{event_id}`: every row of the DESIGN
//! table for these routes, in process and over loopback.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::fixtures::{registry, Probe};
use common::{call_in_process, parse_frames, request, SseReader, TestServer};
use futures_util::StreamExt;
use gradio_compat::backend::{
    Backend, BackendError, BeginError, CancelHandler, EventId, JobFeed, JobItem, LookupError,
    MemoryBackend, Outcome, Reply, RunnerId, SessionFeed,
};
use gradio_compat::GradioCompat;
use http::{Method, StatusCode};
use serde_json::{json, Value};

fn service(probe: &Arc<Probe>) -> GradioCompat {
    GradioCompat::builder(registry(probe.clone()))
        .build()
        .expect("fixture registry builds")
}

async fn post(svc: &GradioCompat, path: &str, body: &str) -> common::Reply {
    call_in_process(
        svc,
        request(
            Method::POST,
            path,
            &[("content-type", "application/json")],
            Bytes::from(body.to_owned()),
        ),
    )
    .await
}

async fn get(svc: &GradioCompat, path: &str) -> common::Reply {
    call_in_process(svc, request(Method::GET, path, &[], Bytes::new())).await
}

#[tokio::test]
async fn call_and_poll_complete_with_value_and_headers() {
    let probe = Probe::new();
    let server = TestServer::start(service(&probe)).await;
    let call = server
        .post_json("/gradio_api/call/add", r#"{"data": [1, 2]}"#)
        .await;
    assert_eq!(call.status, StatusCode::OK);
    assert_eq!(call.header("content-type"), Some("application/json"));
    let id = call.event_id();
    assert_eq!(id.len(), 32);
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(call.text(), format!("{{\"event_id\":\"{id}\"}}"));

    let poll = server.get(&format!("/gradio_api/call/add/{id}")).await;
    assert_eq!(poll.status, StatusCode::OK);
    assert_eq!(
        poll.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(poll.header("cache-control"), Some("no-store"));
    assert_eq!(poll.header("x-accel-buffering"), Some("no"));
    assert_eq!(poll.text(), "event: complete\ndata: [3.0]\n\n");

    // Delivered once: the event is gone afterwards.
    let again = server.get(&format!("/gradio_api/call/add/{id}")).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert!(again.json()["error"]
        .as_str()
        .unwrap()
        .contains("already delivered"));
}

#[tokio::test]
async fn trailing_slashes_are_accepted() {
    let probe = Probe::new();
    let svc = service(&probe);
    let id = post(&svc, "/gradio_api/call/add/", r#"{"data": [2, 2]}"#)
        .await
        .event_id();
    let poll = get(&svc, &format!("/gradio_api/call/add/{id}/")).await;
    assert_eq!(poll.text(), "event: complete\ndata: [4.0]\n\n");
}

#[tokio::test]
async fn handler_error_arrives_as_error_event() {
    let probe = Probe::new();
    let svc = service(&probe);
    let id = post(
        &svc,
        "/gradio_api/call/fail",
        r#"{"data": ["deliberate failure: boom"]}"#,
    )
    .await
    .event_id();
    let poll = get(&svc, &format!("/gradio_api/call/fail/{id}")).await;
    let frames = parse_frames(poll.text());
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].event.as_deref(), Some("error"));
    let payload: Value = serde_json::from_str(&frames[0].data).unwrap();
    assert_eq!(
        payload,
        json!({"error": "deliberate failure: boom", "title": "Error", "visible": true, "duration": null})
    );
}

#[tokio::test]
async fn a_panicking_handler_gives_an_error_event_and_the_server_keeps_serving() {
    let probe = Probe::new();
    let server = TestServer::start(service(&probe)).await;
    let id = server
        .post_json("/gradio_api/call/boom", r#"{"data": []}"#)
        .await
        .event_id();
    let poll = server.get(&format!("/gradio_api/call/boom/{id}")).await;
    let frames = parse_frames(poll.text());
    assert_eq!(frames[0].event.as_deref(), Some("error"));
    assert!(
        frames[0].data.contains("internal error"),
        "{}",
        frames[0].data
    );
    let id = server
        .post_json("/gradio_api/call/add", r#"{"data": [1, 1]}"#)
        .await
        .event_id();
    let poll = server.get(&format!("/gradio_api/call/add/{id}")).await;
    assert_eq!(poll.text(), "event: complete\ndata: [2.0]\n\n");
}

#[tokio::test]
async fn endpoint_without_a_result_completes_with_null() {
    let probe = Probe::new();
    let svc = service(&probe);
    let id = post(&svc, "/gradio_api/call/nothing", r#"{"data": []}"#)
        .await
        .event_id();
    assert_eq!(
        get(&svc, &format!("/gradio_api/call/nothing/{id}"))
            .await
            .text(),
        "event: complete\ndata: [null]\n\n"
    );
}

#[tokio::test]
async fn wrong_api_name_on_poll_is_404_and_consumes_nothing() {
    let probe = Probe::new();
    let svc = service(&probe);
    let id = post(&svc, "/gradio_api/call/add", r#"{"data": [1, 2]}"#)
        .await
        .event_id();
    let wrong = get(&svc, &format!("/gradio_api/call/fail/{id}")).await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    let message = wrong.json()["error"].as_str().unwrap().to_owned();
    assert!(message.contains("belongs to /add"), "{message}");
    assert!(
        message.contains(&format!("/gradio_api/call/add/{id}")),
        "{message}"
    );
    // An unknown api name is 404 as well.
    assert_eq!(
        get(&svc, &format!("/gradio_api/call/nope/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The correct poll still gets the result.
    let right = get(&svc, &format!("/gradio_api/call/add/{id}")).await;
    assert_eq!(right.text(), "event: complete\ndata: [3.0]\n\n");
}

#[tokio::test]
async fn head_never_consumes() {
    let probe = Probe::new();
    let server = TestServer::start(service(&probe)).await;
    let id = server
        .post_json("/gradio_api/call/add", r#"{"data": [1, 2]}"#)
        .await
        .event_id();
    let path = format!("/gradio_api/call/add/{id}");
    for _ in 0..3 {
        let head = server
            .send(request(Method::HEAD, &path, &[], Bytes::new()))
            .await;
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(
            head.header("content-type"),
            Some("text/event-stream; charset=utf-8")
        );
        assert!(head.body.is_empty());
    }
    assert_eq!(
        server.get(&path).await.text(),
        "event: complete\ndata: [3.0]\n\n"
    );
    let head = server
        .send(request(Method::HEAD, &path, &[], Bytes::new()))
        .await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_and_malformed_event_ids_are_404_json() {
    let probe = Probe::new();
    let svc = service(&probe);
    for id in [
        "0123456789abcdef0123456789abcdef",
        "not-an-id",
        "%2e%2e",
        &"f".repeat(300),
    ] {
        let r = get(&svc, &format!("/gradio_api/call/add/{id}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(r.json()["error"].as_str().unwrap().contains("no event"));
    }
}

#[tokio::test]
async fn unknown_endpoint_is_404_listing_the_endpoints() {
    let probe = Probe::new();
    let svc = service(&probe);
    let r = post(&svc, "/gradio_api/call/nope", r#"{"data": [1]}"#).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let message = r.json()["error"].as_str().unwrap().to_owned();
    assert!(message.contains("/nope"), "{message}");
    for name in ["/add", "/fail", "/wait", "/token"] {
        assert!(message.contains(name), "{message} lacks {name}");
    }
}

/// Each bad body gets 422 with a message that names the problem, and starts no job.
#[tokio::test]
async fn argument_problems_are_422_naming_the_parameter() {
    let probe = Probe::new();
    let svc = service(&probe);
    let cases: &[(&str, &str, &[&str])] = &[
        ("add", r#"{"data":[1,"#, &["not valid JSON"]),
        ("add", r#"{"foo":1}"#, &["\"data\""]),
        ("add", r#"[1, 2]"#, &["{\"data\": [...]}"]),
        ("add", r#"{"data":"notalist"}"#, &["array", "object"]),
        (
            "add",
            r#"{"data":[1,2,3]}"#,
            &["too many values", "(a, b)", "got 3"],
        ),
        (
            "add",
            r#"{"data":[1]}"#,
            &["missing required parameter \"b\"", "index 1"],
        ),
        (
            "add",
            r#"{"data":["abc", 2]}"#,
            &["\"a\"", "index 0", "expected float", "\"abc\""],
        ),
        (
            "add",
            r#"{"data":{"a": 1, "c": 2}}"#,
            &["unknown parameter \"c\""],
        ),
        (
            "shapes",
            r#"{"data":[1, null, 1, "medium", [], {}]}"#,
            &["\"mode\"", "\"fast\""],
        ),
        (
            "shapes",
            r#"{"data":[1.5, null, 1, "fast", [], {}]}"#,
            &["\"count\"", "expected int"],
        ),
        (
            "shapes",
            r#"{"data":[1, null, 1, "fast", ["a", 2], {}]}"#,
            &["\"tags\"", "at /1"],
        ),
        (
            "shapes",
            r#"{"data":[1, -1, 1, "fast", [], {}]}"#,
            &["\"step\""],
        ),
    ];
    for (api, body, needles) in cases {
        let r = post(&svc, &format!("/gradio_api/call/{api}"), body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text()
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
        let message = r.json()["error"].as_str().unwrap().to_owned();
        for needle in *needles {
            assert!(
                message.contains(needle),
                "{body}: {message:?} lacks {needle:?}"
            );
        }
    }
    // A per-parameter problem also comes as structured detail.
    let r = post(&svc, "/gradio_api/call/add", r#"{"data":[1, "x"]}"#).await;
    assert_eq!(r.json()["detail"][0]["parameter"], "b");
    assert_eq!(r.json()["detail"][0]["index"], 1);
    assert_eq!(probe.started(), 0, "no job may start for a refused call");
}

#[tokio::test]
async fn keyword_data_defaults_and_v2_form() {
    let probe = Probe::new();
    let svc = service(&probe);
    let id = post(
        &svc,
        "/gradio_api/call/add",
        r#"{"data": {"b": 5, "a": 1}}"#,
    )
    .await
    .event_id();
    assert_eq!(
        get(&svc, &format!("/gradio_api/call/add/{id}"))
            .await
            .text(),
        "event: complete\ndata: [6.0]\n\n"
    );

    let id = post(&svc, "/gradio_api/call/v2/add", r#"{"a": 2, "b": 5}"#)
        .await
        .event_id();
    assert_eq!(
        get(&svc, &format!("/gradio_api/call/v2/add/{id}"))
            .await
            .text(),
        "event: complete\ndata: [7.0]\n\n"
    );

    // Optional parameters may be left out or padded with null; 3.0 counts as an integer.
    let id = post(
        &svc,
        "/gradio_api/call/shapes",
        r#"{"data": [3.0, null, [1, "x"], "slow", ["t"], {"loss": 1}]}"#,
    )
    .await
    .event_id();
    let poll = get(&svc, &format!("/gradio_api/call/shapes/{id}")).await;
    let frames = parse_frames(poll.text());
    let data: Value = serde_json::from_str(&frames[0].data).unwrap();
    assert_eq!(
        data,
        json!([{"count": 3, "step": null, "anything": [1, "x"], "mode": "slow", "tags": ["t"], "metrics": {"loss": 1.0}}])
    );
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let probe = Probe::new();
    let svc = GradioCompat::builder(registry(probe.clone()))
        .max_body_bytes(64)
        .build()
        .unwrap();
    let big = format!(r#"{{"data": ["{}"]}}"#, "x".repeat(100));
    let r = post(&svc, "/gradio_api/call/fail", &big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.json()["error"].as_str().unwrap().contains("64 bytes"));
    // Also over loopback, where the body arrives without being fully buffered first.
    let server = TestServer::start(svc).await;
    let r = server.post_json("/gradio_api/call/fail", &big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(probe.started(), 0);
}

#[tokio::test]
async fn unfinished_limit_gives_503_with_retry_after() {
    let probe = Probe::new();
    let svc = GradioCompat::builder(registry(probe.clone()))
        .max_unfinished(2)
        .build()
        .unwrap();
    let a = post(&svc, "/gradio_api/call/wait", r#"{"data": []}"#)
        .await
        .event_id();
    post(&svc, "/gradio_api/call/wait", r#"{"data": []}"#)
        .await
        .event_id();
    let full = post(&svc, "/gradio_api/call/add", r#"{"data": [1, 2]}"#).await;
    assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(full.header("retry-after"), Some("1"));
    assert!(full.json()["error"]
        .as_str()
        .unwrap()
        .contains("unfinished"));
    probe.release();
    probe.release();
    // Both finish; once polled, there is room again.
    let r = get(&svc, &format!("/gradio_api/call/wait/{a}")).await;
    assert_eq!(r.text(), "event: complete\ndata: [\"released\"]\n\n");
    let ok = post(&svc, "/gradio_api/call/add", r#"{"data": [1, 2]}"#).await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn methods_not_allowed_say_which_are() {
    let probe = Probe::new();
    let svc = service(&probe);
    let r = call_in_process(
        &svc,
        request(Method::GET, "/gradio_api/call/add", &[], Bytes::new()),
    )
    .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("allow"), Some("POST"));
    let r = call_in_process(
        &svc,
        request(
            Method::DELETE,
            "/gradio_api/call/add/abc",
            &[],
            Bytes::new(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    let r = get(&svc, "/gradio_api/nothing-here").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("/gradio_api/info"));
}

/// Heartbeats flow while the job runs; the result follows once the handler is released.
/// Ordering, not timing: the gate opens only after a heartbeat was read.
#[tokio::test]
async fn heartbeats_while_running_then_complete() {
    let probe = Probe::new();
    let svc = GradioCompat::builder(registry(probe.clone()))
        .heartbeat_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    let server = TestServer::start(svc).await;
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
    let mut sse = SseReader::new(response.into_body());
    let first = sse.next().await.unwrap();
    assert_eq!(first.event.as_deref(), Some("heartbeat"));
    assert_eq!(first.data, "null");
    probe.release();
    loop {
        let frame = sse.next().await.expect("a terminal frame");
        match frame.event.as_deref() {
            Some("heartbeat") => continue,
            Some("complete") => {
                assert_eq!(frame.data, "[\"released\"]");
                break;
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(
        sse.next().await,
        None,
        "the stream closes after the terminal frame"
    );
}

/// A backend that tells the test when a poll's feed was dropped by the server before its
/// outcome was read.
struct WatchingBackend {
    inner: MemoryBackend,
    dropped: Arc<tokio::sync::Notify>,
}

/// A feed that notifies `dropped` when it is dropped before its end.
struct Watched {
    feed: JobFeed,
    ended: bool,
    dropped: Arc<tokio::sync::Notify>,
}

impl futures_util::Stream for Watched {
    type Item = JobItem;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<JobItem>> {
        let item = self.feed.poll_next_unpin(cx);
        if let std::task::Poll::Ready(None | Some(JobItem::Outcome(_))) = &item {
            self.ended = true;
        }
        item
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if !self.ended {
            self.dropped.notify_one();
        }
    }
}

impl Backend for WatchingBackend {
    fn attach(&self, on_cancel: CancelHandler) -> RunnerId {
        self.inner.attach(on_cancel)
    }
    fn renew(&self, runner: RunnerId) -> Reply<Result<(), BackendError>> {
        self.inner.renew(runner)
    }
    fn begin(
        &self,
        id: EventId,
        api: &str,
        runner: RunnerId,
        session: Option<&str>,
    ) -> Reply<Result<(), BeginError>> {
        self.inner.begin(id, api, runner, session)
    }
    fn publish(&self, id: EventId, message: Bytes, droppable: bool) -> Reply<()> {
        self.inner.publish(id, message, droppable)
    }
    fn finish(&self, id: EventId, outcome: Outcome, message: Option<Bytes>) -> Reply<()> {
        self.inner.finish(id, outcome, message)
    }
    fn watch(&self, id: EventId, api: &str) -> Reply<Result<JobFeed, LookupError>> {
        let dropped = self.dropped.clone();
        let watched = self.inner.watch(id, api).now().expect("in memory: at once");
        Reply::ready(watched.map(|feed| {
            Watched {
                feed,
                ended: false,
                dropped,
            }
            .boxed()
        }))
    }
    fn consume(&self, id: EventId) -> Reply<()> {
        self.inner.consume(id)
    }
    fn watch_session(&self, session: &str) -> Reply<Result<Option<SessionFeed>, BackendError>> {
        self.inner.watch_session(session)
    }
    fn cancel(&self, id: EventId) -> Reply<bool> {
        self.inner.cancel(id)
    }
    fn sweep(&self, now: std::time::Instant) -> Reply<usize> {
        self.inner.sweep(now)
    }
}

/// A client that leaves before the result arrives consumes nothing: a later poll gets it.
/// The job is released only after the server has dropped the first poll's stream.
#[tokio::test]
async fn dropped_poll_before_the_result_consumes_nothing() {
    let probe = Probe::new();
    let dropped = Arc::new(tokio::sync::Notify::new());
    let store = Arc::new(WatchingBackend {
        inner: MemoryBackend::default(),
        dropped: dropped.clone(),
    });
    let svc = GradioCompat::builder(registry(probe.clone()))
        .heartbeat_interval(Duration::from_millis(20))
        .backend(store)
        .build()
        .unwrap();
    let server = TestServer::start(svc).await;
    let id = server
        .post_json("/gradio_api/call/wait", r#"{"data": []}"#)
        .await
        .event_id();
    let path = format!("/gradio_api/call/wait/{id}");
    {
        let response = server
            .open(request(Method::GET, &path, &[], Bytes::new()))
            .await;
        let mut sse = SseReader::new(response.into_body());
        assert_eq!(
            sse.next().await.unwrap().event.as_deref(),
            Some("heartbeat")
        );
        // Dropped here, while the job still runs.
    }
    tokio::time::timeout(common::WAIT, dropped.notified())
        .await
        .expect("the server drops the abandoned stream");
    probe.release();
    let mut sse = SseReader::new(
        server
            .open(request(Method::GET, &path, &[], Bytes::new()))
            .await
            .into_body(),
    );
    let frame = sse.terminal().await;
    assert_eq!(frame.event.as_deref(), Some("complete"));
    assert_eq!(frame.data, "[\"released\"]");
}

/// A slow handler does not hold up other requests. The handler waits for a signal that the
/// test sends only after an info request and another call have completed.
#[tokio::test]
async fn a_slow_handler_does_not_hold_up_other_requests() {
    let probe = Probe::new();
    let server = TestServer::start(service(&probe)).await;
    let slow = server
        .post_json("/gradio_api/call/wait", r#"{"data": []}"#)
        .await
        .event_id();
    let slow_poll = {
        let path = format!("/gradio_api/call/wait/{slow}");
        let response = server
            .open(request(Method::GET, &path, &[], Bytes::new()))
            .await;
        tokio::spawn(async move { SseReader::new(response.into_body()).terminal().await })
    };
    let info = server.get("/gradio_api/info").await;
    assert_eq!(info.status, StatusCode::OK);
    let id = server
        .post_json("/gradio_api/call/add", r#"{"data": [20, 22]}"#)
        .await
        .event_id();
    let other = server.get(&format!("/gradio_api/call/add/{id}")).await;
    assert_eq!(other.text(), "event: complete\ndata: [42.0]\n\n");
    assert!(
        !slow_poll.is_finished(),
        "the slow call cannot finish before its signal"
    );
    probe.release();
    let frame = tokio::time::timeout(common::WAIT, slow_poll)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(frame.event.as_deref(), Some("complete"));
    assert_eq!(frame.data, "[\"released\"]");
}

#[tokio::test]
async fn results_expire_after_the_ttl() {
    let probe = Probe::new();
    let svc = GradioCompat::builder(registry(probe.clone()))
        .result_ttl(Duration::from_millis(50))
        .build()
        .unwrap();
    let id = post(&svc, "/gradio_api/call/add", r#"{"data": [1, 2]}"#)
        .await
        .event_id();
    // A HEAD poll finds the result without consuming it, until the sweep drops it. The
    // condition is waited for, not a guessed time: the bound only stops a broken build.
    let path = format!("/gradio_api/call/add/{id}");
    let head = || call_in_process(&svc, request(Method::HEAD, &path, &[], Bytes::new()));
    assert_eq!(head().await.status, StatusCode::OK);
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while head().await.status == StatusCode::OK {
        assert!(tokio::time::Instant::now() < deadline, "never expired");
        tokio::task::yield_now().await;
    }
    let r = get(&svc, &path).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn results_past_the_capacity_evict_the_oldest() {
    let store = Arc::new(MemoryBackend::new({
        let mut limits = gradio_compat::backend::BackendLimits::default();
        limits.result_capacity = 3;
        limits
    }));
    let svc = GradioCompat::builder(registry(Probe::new()))
        .backend(store.clone())
        .build()
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let id = post(
            &svc,
            "/gradio_api/call/add",
            &format!(r#"{{"data": [{i}, 0]}}"#),
        )
        .await
        .event_id();
        // Let each job finish before the next, so the finishing order is known.
        while store.unfinished() > 0 {
            tokio::task::yield_now().await;
        }
        ids.push(id);
    }
    assert_eq!(
        get(&svc, &format!("/gradio_api/call/add/{}", ids[0]))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&svc, &format!("/gradio_api/call/add/{}", ids[1]))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&svc, &format!("/gradio_api/call/add/{}", ids[4]))
            .await
            .text(),
        "event: complete\ndata: [4.0]\n\n"
    );
}

/// Finished results that nobody polls are swept after the TTL, without any request.
#[tokio::test]
async fn unpolled_results_are_swept_without_any_request() {
    let probe = Probe::new();
    let store = Arc::new(MemoryBackend::new({
        let mut limits = gradio_compat::backend::BackendLimits::default();
        limits.result_ttl = Duration::from_millis(100);
        limits
    }));
    let svc = GradioCompat::builder(registry(probe.clone()))
        .backend(store.clone())
        .build()
        .unwrap();
    for i in 0..20 {
        post(
            &svc,
            "/gradio_api/call/add",
            &format!(r#"{{"data": [{i}, 1]}}"#),
        )
        .await
        .event_id();
    }
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while store.finished() + store.unfinished() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "results were never swept"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(probe.started(), 20);
}
