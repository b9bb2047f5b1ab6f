//! A flood of unpolled calls, in its own test binary so that the resident memory it measures
//! is its own.

mod common;

use std::sync::Arc;

use common::fixtures::{registry, Probe};
use common::post_json_request as post;
use gradio_compat::backend::{BackendLimits, MemoryBackend};
use gradio_compat::GradioCompat;
use http::StatusCode;

/// Growth of resident memory allowed for the flood: the 10,000 kept results take about 3 MB,
/// allocator slack a few more; 200,000 kept results would take 58 MB.
const MEMORY_BOUND_KIB: u64 = 32 * 1024;

/// Resident memory of this process, from /proc (Linux), in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("a VmRSS line")
}

/// 200,000 calls that nobody polls: the store keeps at most its capacity at every check, and
/// the process's resident memory grows by less than a bound that 200,000 kept results would
/// pass (each costs about 290 bytes: 58 MB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_of_unpolled_calls_stays_within_capacity() {
    let capacity = 10_000;
    let store = Arc::new(MemoryBackend::new(BackendLimits::default()));
    assert_eq!(store.limits().result_capacity, capacity);
    let svc = GradioCompat::builder(registry(Probe::new()))
        .backend(store.clone())
        .build()
        .unwrap();
    let before = rss_kib();
    let mut accepted = 0;
    for i in 0..200_000u32 {
        let r = svc
            .handle(post(
                "/gradio_api/call/add",
                format!(r#"{{"data": [{i}, 1]}}"#),
            ))
            .await;
        if r.status() == StatusCode::OK {
            accepted += 1;
        }
        if i % 5_000 == 0 {
            assert!(
                store.finished() <= capacity,
                "{} finished results kept",
                store.finished()
            );
        }
    }
    // Let the last jobs finish.
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while store.unfinished() > 0 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::task::yield_now().await;
    }
    let after = rss_kib();
    assert_eq!(
        accepted, 200_000,
        "calls only fail when 10,000 are unfinished at once"
    );
    assert!(store.finished() <= capacity);
    println!(
        "flood: 200000 calls, {} results kept, RSS {before} KiB -> {after} KiB",
        store.finished()
    );
    assert!(
        after.saturating_sub(before) < MEMORY_BOUND_KIB,
        "resident memory grew by {} KiB, over the bound of {MEMORY_BOUND_KIB} KiB",
        after.saturating_sub(before)
    );
}
