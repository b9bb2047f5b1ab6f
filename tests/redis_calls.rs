//! `/call` on the Redis backend, in process on a real `redis-server`: a handler done at once
//! is recorded finished in one step and its poll takes it in one more (two round trips,
//! counted with `INFO commandstats`); a taken result whose client left before the frame went
//! out is put back; a slower handler goes the usual way.
#![cfg(feature = "redis")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::redis_server::RedisServer;
use common::{call_in_process, post_json_request, request};
use gradio_compat::backend::{BackendLimits, RedisBackend};
use gradio_compat::{CallContext, GradioCompat, Registry};
use http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::Deserialize;

/// Two numbers.
#[derive(Deserialize, JsonSchema)]
struct Pair {
    a: f64,
    b: f64,
}

async fn service(url: &str) -> GradioCompat {
    let backend = RedisBackend::connect(url, "calls:", BackendLimits::default())
        .await
        .expect("the test's redis-server answers");
    let registry = Registry::new()
        .typed("add", |p: Pair, _: CallContext| async move {
            Ok::<_, String>(p.a + p.b)
        })
        .typed("slow_add", |p: Pair, _: CallContext| async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<_, String>(p.a + p.b)
        });
    GradioCompat::builder(registry)
        .backend(Arc::new(backend))
        .build()
        .expect("builds")
}

/// Script calls Redis served so far (`evalsha` and `eval`).
fn script_calls(url: &str) -> u64 {
    let client = redis::Client::open(url).expect("client");
    let mut conn = client.get_connection().expect("connection");
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut conn)
        .expect("INFO");
    info.lines()
        .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
        .filter_map(|l| {
            l.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

async fn call_poll(svc: &GradioCompat, api: &str, body: &str) -> (String, String) {
    let started = call_in_process(
        svc,
        post_json_request(&format!("/gradio_api/call/{api}"), body.to_owned()),
    )
    .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    let id = started.event_id();
    let polled = call_in_process(
        svc,
        request(
            Method::GET,
            &format!("/gradio_api/call/{api}/{id}"),
            &[],
            Bytes::new(),
        ),
    )
    .await;
    (id, polled.text().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_call_and_its_poll_take_two_round_trips() {
    let redis = RedisServer::start();
    let url = redis.url();
    let svc = service(&url).await;
    // Warm the scripts into Redis's cache.
    call_poll(&svc, "add", r#"{"data": [1, 2]}"#).await;
    let n = 200;
    let before = script_calls(&url);
    for i in 0..n {
        let (id, text) = call_poll(&svc, "add", &format!(r#"{{"data": [{i}, 1]}}"#)).await;
        assert_eq!(text, format!("event: complete\ndata: [{}.0]\n\n", i + 1));
        // Taken by its poll: gone for any other.
        let again = call_in_process(
            &svc,
            request(
                Method::GET,
                &format!("/gradio_api/call/add/{id}"),
                &[],
                Bytes::new(),
            ),
        )
        .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
    }
    let per_cycle = (script_calls(&url) - before) as f64 / n as f64;
    // Three per cycle here: the call, its poll, and the check that it is gone; background
    // lease renewals and sweeps add a little.
    assert!(
        per_cycle <= 3.1,
        "{per_cycle} script calls per call+poll+check (expected 3)"
    );
    // A handler that waits runs as a job: begin, finish, and a poll that takes it.
    let (_, text) = call_poll(&svc, "slow_add", r#"{"data": [2, 2]}"#).await;
    assert_eq!(text, "event: complete\ndata: [4.0]\n\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_result_whose_client_left_is_put_back() {
    let redis = RedisServer::start();
    let svc = service(&redis.url()).await;
    let started = call_in_process(
        &svc,
        post_json_request("/gradio_api/call/add", r#"{"data": [20, 22]}"#),
    )
    .await;
    let id = started.event_id();
    let poll = || {
        request(
            Method::GET,
            &format!("/gradio_api/call/add/{id}"),
            &[],
            Bytes::new(),
        )
    };
    // The poll's response is dropped without its body being read: the client left.
    let left = svc.handle(poll()).await;
    assert_eq!(left.status(), StatusCode::OK);
    drop(left);
    // Put back in the background: a later poll gets it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let again = call_in_process(&svc, poll()).await;
        if again.status == StatusCode::OK {
            assert_eq!(again.text(), "event: complete\ndata: [42.0]\n\n");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never put back");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
