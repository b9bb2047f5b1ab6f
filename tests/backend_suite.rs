//! The generic backend suite (`backend::testing`), the one any `Backend` implementation can
//! run: the in-memory backend passes it, and (feature `redis`) so does the Redis backend on a
//! real `redis-server`.

mod common;

use std::sync::Arc;

use gradio_compat::backend::{testing, Backend, BackendLimits, MemoryBackend};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_backend_passes_the_backend_suite() {
    testing::backend_suite(|limits| async move {
        Arc::new(MemoryBackend::new(limits)) as Arc<dyn Backend>
    })
    .await;
}

/// The suite fails a backend that breaks a rule: one that ignores the unfinished limit.
#[tokio::test]
#[should_panic(expected = "max_unfinished")]
async fn the_suite_catches_a_backend_without_a_limit() {
    testing::backend_suite(|mut limits: BackendLimits| async move {
        limits.max_unfinished = usize::MAX;
        Arc::new(MemoryBackend::new(limits)) as Arc<dyn Backend>
    })
    .await;
}

/// The suite fails a backend whose leases never lapse: its lost jobs would hang their pollers.
#[tokio::test]
#[should_panic(expected = "within 5 s")]
async fn the_suite_catches_a_backend_whose_leases_never_lapse() {
    testing::backend_suite(|mut limits: BackendLimits| async move {
        limits.lease = std::time::Duration::from_secs(3600);
        Arc::new(MemoryBackend::new(limits)) as Arc<dyn Backend>
    })
    .await;
}

/// The Redis backend on a real server, each check under its own key prefix.
#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_backend_passes_the_backend_suite() {
    use gradio_compat::backend::RedisBackend;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let server = common::redis_server::RedisServer::start();
    let url = server.url();
    let checks = Arc::new(AtomicUsize::new(0));
    testing::backend_suite(move |limits| {
        let url = url.clone();
        let prefix = format!("suite{}:", checks.fetch_add(1, Ordering::SeqCst));
        async move {
            Arc::new(
                RedisBackend::connect(&url, &prefix, limits)
                    .await
                    .expect("the test's redis-server answers"),
            ) as Arc<dyn Backend>
        }
    })
    .await;
}
