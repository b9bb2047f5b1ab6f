//! A test suite that any [`EventStore`] can run (feature `testing`): the contract the service
//! relies on, checked the same way for the in-memory store and for a store of your own.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::sync::Arc;
//! use gradio_compat::backend::{testing, EventStore, MemoryStore};
//!
//! testing::store_suite(|limits| Arc::new(MemoryStore::new(limits)) as Arc<dyn EventStore>).await;
//! # }
//! ```
//!
//! The factory gets the limits a check needs and must return a fresh, empty store that
//! enforces them. Each check panics with a message that names the broken rule.
//!
//! It covers the jobs and their one-shot results: the unfinished limit, the api-name check
//! (a mismatch consumes nothing), delivery to a subscriber that waits and to one that comes
//! late, one-shot consumption (also under racing consumers), capacity (oldest finished first,
//! never a running call) and the time to live.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{BeginError, EventId, EventStore, LookupError, Outcome, StoreLimits, Subscription};

/// Makes a fresh store with these limits.
pub trait StoreFactory: Fn(StoreLimits) -> Arc<dyn EventStore> {}

impl<F: Fn(StoreLimits) -> Arc<dyn EventStore>> StoreFactory for F {}

fn limits(result_capacity: usize, result_ttl: Duration, max_unfinished: usize) -> StoreLimits {
    StoreLimits {
        result_capacity,
        result_ttl,
        max_unfinished,
    }
}

fn complete(value: &'static str) -> Outcome {
    Outcome::Complete(Bytes::from_static(value.as_bytes()))
}

/// The outcome a subscription yields, waiting at most 5 s.
async fn outcome_of(subscription: Subscription) -> Option<Outcome> {
    match subscription {
        Subscription::Ready(outcome) => Some(outcome),
        Subscription::Waiting(rx) => tokio::time::timeout(Duration::from_secs(5), rx)
            .await
            .expect("a waiting subscriber is woken within 5 s when the call finishes")
            .ok(),
    }
}

/// Runs every check; panics at the first broken rule.
pub async fn store_suite(make: impl StoreFactory) {
    unfinished_limit(&make);
    wrong_endpoint_consumes_nothing(&make).await;
    waiting_and_late_subscribers_get_the_outcome(&make).await;
    results_are_delivered_once(&make).await;
    racing_consumers_consume_once(&make).await;
    capacity_evicts_oldest_finished_never_running(&make).await;
    ttl_drops_unpolled_results(&make);
}

/// Exactly `max_unfinished` calls may be unfinished; a finished one frees its place.
fn unfinished_limit(make: &impl StoreFactory) {
    let store = make(limits(100, Duration::from_secs(600), 3));
    let ids: Vec<EventId> = (0..3).map(|_| EventId::new_random()).collect();
    for id in &ids {
        store
            .begin(*id, "add")
            .expect("begin within the unfinished limit");
    }
    assert_eq!(
        store.begin(EventId::new_random(), "add"),
        Err(BeginError::Full { limit: 3 }),
        "the call past max_unfinished is refused with BeginError::Full"
    );
    store.finish(ids[0], complete("[1]"));
    store
        .begin(EventId::new_random(), "add")
        .expect("a finished call frees its place among the unfinished");
}

/// A lookup under another endpoint names the right one and consumes nothing.
async fn wrong_endpoint_consumes_nothing(make: &impl StoreFactory) {
    let store = make(limits(100, Duration::from_secs(600), 100));
    let id = EventId::new_random();
    store.begin(id, "add").expect("begin");
    store.finish(id, complete("[3]"));
    assert_eq!(
        store.subscribe(id, "other").err(),
        Some(LookupError::WrongEndpoint {
            actual: "add".into()
        }),
        "a lookup under the wrong endpoint names the right one"
    );
    let subscription = store
        .subscribe(id, "add")
        .expect("the mismatch consumed nothing");
    assert_eq!(outcome_of(subscription).await, Some(complete("[3]")));
    assert_eq!(
        store.subscribe(EventId::new_random(), "add").err(),
        Some(LookupError::NotFound),
        "an id that never existed is NotFound"
    );
}

/// A subscriber that waits is woken with the outcome; one that comes later gets it at once.
async fn waiting_and_late_subscribers_get_the_outcome(make: &impl StoreFactory) {
    let store = make(limits(100, Duration::from_secs(600), 100));
    let id = EventId::new_random();
    store.begin(id, "add").expect("begin");
    let early = store.subscribe(id, "add").expect("subscribe while running");
    assert!(
        matches!(early, Subscription::Waiting(_)),
        "a running call gives a waiting subscription"
    );
    let finisher = store.clone();
    let finished = tokio::spawn(async move {
        tokio::task::yield_now().await;
        finisher.finish(id, complete("[5]"));
    });
    assert_eq!(outcome_of(early).await, Some(complete("[5]")));
    finished.await.expect("finish");
    let late = store.subscribe(id, "add").expect("subscribe after finish");
    assert!(
        matches!(late, Subscription::Ready(_)),
        "a finished call gives a ready subscription until consumed"
    );
    assert_eq!(outcome_of(late).await, Some(complete("[5]")));
}

/// Once consumed, a result is gone; consuming a running call changes nothing.
async fn results_are_delivered_once(make: &impl StoreFactory) {
    let store = make(limits(100, Duration::from_secs(600), 100));
    let id = EventId::new_random();
    store.begin(id, "add").expect("begin");
    store.consume(id);
    assert!(
        store.subscribe(id, "add").is_ok(),
        "consume leaves an unfinished call alone"
    );
    store.finish(id, complete("[1]"));
    store.consume(id);
    assert_eq!(
        store.subscribe(id, "add").err(),
        Some(LookupError::NotFound),
        "a consumed result is gone"
    );
}

/// Many pollers race for one result: each either gets it or NotFound, and afterwards it is
/// gone.
async fn racing_consumers_consume_once(make: &impl StoreFactory) {
    let store = make(limits(100, Duration::from_secs(600), 100));
    let id = EventId::new_random();
    store.begin(id, "add").expect("begin");
    store.finish(id, complete("[7]"));
    let racers: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let got = match store.subscribe(id, "add") {
                    Ok(subscription) => outcome_of(subscription).await,
                    Err(LookupError::NotFound) => None,
                    Err(other) => panic!("racing lookups see {other:?}"),
                };
                store.consume(id);
                got
            })
        })
        .collect();
    for racer in racers {
        if let Some(outcome) = racer.await.expect("racer") {
            assert_eq!(
                outcome,
                complete("[7]"),
                "every delivered copy is the result"
            );
        }
    }
    assert_eq!(
        store.subscribe(id, "add").err(),
        Some(LookupError::NotFound),
        "after the race the result is gone"
    );
}

/// Past the capacity the oldest finished result goes; a running call is never evicted.
async fn capacity_evicts_oldest_finished_never_running(make: &impl StoreFactory) {
    let store = make(limits(2, Duration::from_secs(600), 100));
    let running = EventId::new_random();
    store.begin(running, "add").expect("begin");
    let ids: Vec<EventId> = (0..3).map(|_| EventId::new_random()).collect();
    for id in &ids {
        store.begin(*id, "add").expect("begin");
        store.finish(*id, complete("[1]"));
    }
    assert_eq!(
        store.subscribe(ids[0], "add").err(),
        Some(LookupError::NotFound),
        "the oldest finished result is evicted past the capacity"
    );
    for id in &ids[1..] {
        assert!(
            store.subscribe(*id, "add").is_ok(),
            "the newest results stay"
        );
    }
    assert!(
        matches!(
            store.subscribe(running, "add"),
            Ok(Subscription::Waiting(_))
        ),
        "a running call is never evicted"
    );
}

/// Results older than the TTL go at the next sweep; younger ones stay.
fn ttl_drops_unpolled_results(make: &impl StoreFactory) {
    let store = make(limits(100, Duration::from_secs(60), 100));
    let old = EventId::new_random();
    store.begin(old, "add").expect("begin");
    store.finish(old, complete("[1]"));
    let now = Instant::now();
    assert_eq!(store.sweep(now), 0, "nothing is older than the TTL yet");
    assert!(store.subscribe(old, "add").is_ok());
    assert!(
        store.sweep(now + Duration::from_secs(61)) >= 1,
        "a sweep past the TTL drops the result"
    );
    assert_eq!(
        store.subscribe(old, "add").err(),
        Some(LookupError::NotFound),
        "an expired result is NotFound"
    );
}
