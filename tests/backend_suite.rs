//! The in-memory store passes the generic store suite (`backend::testing`), the one any
//! `EventStore` implementation can run.

use std::sync::Arc;

use gradio_compat::backend::{testing, EventStore, MemoryStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_passes_the_store_suite() {
    testing::store_suite(|limits| Arc::new(MemoryStore::new(limits)) as Arc<dyn EventStore>).await;
}

/// The suite fails a store that breaks a rule: one that ignores the unfinished limit.
#[tokio::test]
#[should_panic(expected = "max_unfinished")]
async fn the_suite_catches_a_broken_store() {
    testing::store_suite(|mut limits| {
        limits.max_unfinished = usize::MAX;
        Arc::new(MemoryStore::new(limits)) as Arc<dyn EventStore>
    })
    .await;
}
