//! Redis Sentinel, for real, on loopback: one primary, one replica and three sentinels
//! (`redis-server --sentinel`). A service connected through `redis+sentinel://` serves; the
//! primary is killed; once Sentinel has promoted the replica, the same service serves again,
//! without a restart, and a result stored before the failover (and replicated) is still there.
#![cfg(feature = "redis")]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::sentinel::SentinelSet;
use common::TestServer;
use gradio_compat::backend::{BackendLimits, RedisBackend};
use gradio_compat::{CallContext, GradioCompat, Registry};
use http::StatusCode;
use schemars::JsonSchema;
use serde::Deserialize;

const PRIMARY: &str = "gcprimary";
/// How long the sentinels take to call the primary down.
const DOWN_AFTER_MS: u32 = 1000;

#[derive(Deserialize, JsonSchema)]
struct Pair {
    a: f64,
    b: f64,
}

async fn service(url: &str) -> GradioCompat {
    let backend = RedisBackend::connect(url, "sentinel:", BackendLimits::default())
        .await
        .expect("the sentinels name a primary that answers");
    let registry = Registry::new().typed("add", |p: Pair, _: CallContext| async move {
        Ok::<_, String>(p.a + p.b)
    });
    GradioCompat::builder(registry)
        .backend(Arc::new(backend))
        .heartbeat_interval(Duration::from_millis(500))
        .build()
        .expect("builds")
}

/// Waits until `check` holds, failing the test with `what` after `within`.
async fn until(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "{what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A call and its poll; `None` when the call is refused (the store is away).
async fn call_poll(server: &TestServer, a: u32) -> Option<String> {
    let started = server
        .post_json("/gradio_api/call/add", &format!(r#"{{"data": [{a}, 1]}}"#))
        .await;
    if started.status != StatusCode::OK {
        return None;
    }
    let id = started.event_id();
    let end = server
        .sse(&format!("/gradio_api/call/add/{id}"))
        .await
        .terminal()
        .await;
    (end.event.as_deref() == Some("complete")).then_some(end.data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_on_sentinel_serves_again_after_a_failover_without_a_restart() {
    let mut set = SentinelSet::start(PRIMARY, DOWN_AFTER_MS);
    let url = set.url();
    let server = TestServer::start(service(&url).await).await;
    assert_eq!(call_poll(&server, 1).await.as_deref(), Some("[2.0]"));
    // A result stored before the failover, not yet polled.
    let kept = server
        .post_json("/gradio_api/call/add", r#"{"data": [40, 2]}"#)
        .await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.text());
    let kept = kept.event_id();
    // Replicated before the primary goes.
    let on_replica = redis::Client::open(format!("redis://127.0.0.1:{}/", set.replica.port))
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
        .expect("the replica answers");
    let on_replica = std::sync::Mutex::new(on_replica);
    until(
        Duration::from_secs(10),
        "the result reaches the replica",
        || {
            let mut conn = on_replica.lock().unwrap();
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg("sentinel:*")
                .query(&mut *conn)
                .unwrap_or_default();
            keys.iter().any(|k| k.contains(&kept))
        },
    )
    .await;

    set.primary.stop();
    let killed = Instant::now();
    let promoted_port = set.replica.port;
    until(
        Duration::from_secs(30),
        "Sentinel promotes the replica",
        || set.primary_port() == Some(promoted_port),
    )
    .await;
    let promoted = killed.elapsed();
    // The same service serves again, within the failover and a few seconds.
    let mut served = None;
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Some(data) = call_poll(&server, 2).await {
            served = Some(data);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let back = killed.elapsed();
    assert_eq!(
        served.as_deref(),
        Some("[3.0]"),
        "no call+poll succeeded within 15 s of the promotion ({promoted:?} after the kill)"
    );
    eprintln!("failover: promoted after {promoted:?}, serving again after {back:?}");
    let end = server
        .sse(&format!("/gradio_api/call/add/{kept}"))
        .await
        .terminal()
        .await;
    assert_eq!(
        (end.event.as_deref(), end.data.as_str()),
        (Some("complete"), "[42.0]"),
        "the result stored before the failover is still there"
    );
}
