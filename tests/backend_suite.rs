//! The in-memory backend passes the generic backend suite (`backend::testing`), the one any
//! `Backend` implementation can run.

use std::sync::Arc;

use gradio_compat::backend::{testing, Backend, MemoryBackend};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_backend_passes_the_backend_suite() {
    testing::backend_suite(|limits| Arc::new(MemoryBackend::new(limits)) as Arc<dyn Backend>).await;
}

/// The suite fails a backend that breaks a rule: one that ignores the unfinished limit.
#[tokio::test]
#[should_panic(expected = "max_unfinished")]
async fn the_suite_catches_a_backend_without_a_limit() {
    testing::backend_suite(|mut limits| {
        limits.max_unfinished = usize::MAX;
        Arc::new(MemoryBackend::new(limits)) as Arc<dyn Backend>
    })
    .await;
}

/// The suite fails a backend whose leases never lapse: its lost jobs would hang their pollers.
#[tokio::test]
#[should_panic(expected = "within 5 s")]
async fn the_suite_catches_a_backend_whose_leases_never_lapse() {
    testing::backend_suite(|mut limits| {
        limits.lease = std::time::Duration::from_secs(3600);
        Arc::new(MemoryBackend::new(limits)) as Arc<dyn Backend>
    })
    .await;
}
