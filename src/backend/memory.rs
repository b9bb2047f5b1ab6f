//! The default, in-memory [`EventStore`], bounded by capacity, TTL and an unfinished-call limit.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dashmap::mapref::entry::Entry as MapEntry;
use dashmap::DashMap;
use tokio::sync::oneshot;

use crate::backend::{BeginError, EventStore, LookupError, Outcome, Subscription};
use crate::event_id::{BuildIdHasher, EventId};

/// Limits of a [`MemoryStore`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StoreLimits {
    /// Finished results kept until polled; past this the oldest are evicted. Default 10,000.
    pub result_capacity: usize,
    /// How long a finished result waits for its poll. Default 10 minutes.
    pub result_ttl: Duration,
    /// Calls that may be unfinished at once; past this, new calls get 503. Default 10,000.
    pub max_unfinished: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            result_capacity: 10_000,
            result_ttl: Duration::from_secs(600),
            max_unfinished: 10_000,
        }
    }
}

enum Slot {
    Running(Vec<oneshot::Sender<Outcome>>),
    Finished { outcome: Outcome, at: Instant },
}

struct Entry {
    api: Arc<str>,
    slot: Slot,
}

/// An in-memory [`EventStore`].
///
/// Finished results are kept in finishing order: past the capacity the oldest is evicted, and
/// results older than the TTL are swept (by [`sweep`](EventStore::sweep), which the service
/// runs periodically, and on every new result). Unfinished calls are never evicted; their
/// number is capped instead.
pub struct MemoryStore {
    map: DashMap<EventId, Entry, BuildIdHasher>,
    /// Finished ids, oldest first. May hold ids consumed since; they are skipped.
    order: Mutex<VecDeque<(EventId, Instant)>>,
    unfinished: AtomicUsize,
    finished: AtomicUsize,
    limits: StoreLimits,
    api_names: DashMap<Box<str>, Arc<str>>,
}

impl MemoryStore {
    /// A store with these limits.
    pub fn new(limits: StoreLimits) -> Self {
        Self {
            map: DashMap::default(),
            order: Mutex::new(VecDeque::new()),
            unfinished: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            limits,
            api_names: DashMap::new(),
        }
    }

    /// The limits this store enforces.
    pub fn limits(&self) -> &StoreLimits {
        &self.limits
    }

    /// Calls that have not finished yet.
    pub fn unfinished(&self) -> usize {
        self.unfinished.load(Ordering::Acquire)
    }

    /// Finished results waiting for their poll.
    pub fn finished(&self) -> usize {
        self.finished.load(Ordering::Acquire)
    }

    fn intern(&self, api: &str) -> Arc<str> {
        if let Some(existing) = self.api_names.get(api) {
            return existing.clone();
        }
        self.api_names
            .entry(api.into())
            .or_insert_with(|| Arc::from(api))
            .clone()
    }

    /// Removes `id` if it is finished and, when `at` is given, finished at that instant.
    fn remove_finished(&self, id: EventId, at: Option<Instant>) -> bool {
        let removed = self.map.remove_if(&id, |_, entry| match entry.slot {
            Slot::Finished { at: done, .. } => at.is_none_or(|at| at == done),
            Slot::Running(_) => false,
        });
        if removed.is_some() {
            self.finished.fetch_sub(1, Ordering::AcqRel);
            true
        } else {
            false
        }
    }

    fn expired(&self, at: Instant, now: Instant) -> bool {
        now.saturating_duration_since(at) >= self.limits.result_ttl
    }

    /// Evicts past the capacity and the TTL, and compacts the order queue.
    fn trim(&self, order: &mut VecDeque<(EventId, Instant)>, now: Instant) -> usize {
        let mut dropped = 0;
        while let Some(&(id, at)) = order.front() {
            let over_capacity = self.finished() > self.limits.result_capacity;
            if !over_capacity && !self.expired(at, now) {
                break;
            }
            order.pop_front();
            if self.remove_finished(id, Some(at)) {
                dropped += 1;
            }
        }
        // Consumed ids linger in the queue; keep it within a constant factor of the live ones.
        if order.len() > 2 * self.finished() + 1024 {
            order.retain(|(id, at)| {
                self.map.get(id).is_some_and(
                    |e| matches!(e.slot, Slot::Finished { at: done, .. } if done == *at),
                )
            });
        }
        dropped
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(StoreLimits::default())
    }
}

impl EventStore for MemoryStore {
    fn begin(&self, id: EventId, api: &str) -> Result<(), BeginError> {
        let limit = self.limits.max_unfinished;
        let reserved = self
            .unfinished
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            });
        if reserved.is_err() {
            return Err(BeginError::Full { limit });
        }
        let api = self.intern(api);
        match self.map.entry(id) {
            MapEntry::Occupied(_) => {
                // A 122-bit random collision; refuse rather than overwrite.
                self.unfinished.fetch_sub(1, Ordering::AcqRel);
                Err(BeginError::Full { limit })
            }
            MapEntry::Vacant(slot) => {
                slot.insert(Entry {
                    api,
                    slot: Slot::Running(Vec::new()),
                });
                Ok(())
            }
        }
    }

    fn finish(&self, id: EventId, outcome: Outcome) {
        let now = Instant::now();
        // Under the order lock: make room first, count the result, then make it visible, so
        // that the count never passes the capacity and a consume never precedes the count.
        let mut order = self.order.lock().unwrap_or_else(|e| e.into_inner());
        while self.finished() >= self.limits.result_capacity {
            let Some((oldest, at)) = order.pop_front() else {
                break;
            };
            self.remove_finished(oldest, Some(at));
        }
        self.finished.fetch_add(1, Ordering::AcqRel);
        let waiters = {
            let Some(mut entry) = self.map.get_mut(&id) else {
                self.finished.fetch_sub(1, Ordering::AcqRel);
                return;
            };
            let previous = std::mem::replace(
                &mut entry.slot,
                Slot::Finished {
                    outcome: outcome.clone(),
                    at: now,
                },
            );
            match previous {
                Slot::Running(waiters) => waiters,
                Slot::Finished { outcome, at } => {
                    // Finished twice: keep the first outcome.
                    entry.slot = Slot::Finished { outcome, at };
                    drop(entry);
                    self.finished.fetch_sub(1, Ordering::AcqRel);
                    return;
                }
            }
        };
        self.unfinished.fetch_sub(1, Ordering::AcqRel);
        order.push_back((id, now));
        self.trim(&mut order, now);
        drop(order);
        for waiter in waiters {
            let _ = waiter.send(outcome.clone());
        }
    }

    fn subscribe(&self, id: EventId, api: &str) -> Result<Subscription, LookupError> {
        let mut entry = self.map.get_mut(&id).ok_or(LookupError::NotFound)?;
        if &*entry.api != api {
            return Err(LookupError::WrongEndpoint {
                actual: entry.api.to_string(),
            });
        }
        match &mut entry.slot {
            Slot::Finished { outcome, at } => {
                if self.expired(*at, Instant::now()) {
                    return Err(LookupError::NotFound);
                }
                Ok(Subscription::Ready(outcome.clone()))
            }
            Slot::Running(waiters) => {
                waiters.retain(|w| !w.is_closed());
                let (tx, rx) = oneshot::channel();
                waiters.push(tx);
                Ok(Subscription::Waiting(rx))
            }
        }
    }

    fn consume(&self, id: EventId) {
        self.remove_finished(id, None);
    }

    fn sweep(&self, now: Instant) -> usize {
        let mut order = self.order.lock().unwrap_or_else(|e| e.into_inner());
        self.trim(&mut order, now)
    }

    /// A quarter of the TTL, between 50 ms and 30 s.
    fn sweep_interval(&self) -> Duration {
        (self.limits.result_ttl / 4).clamp(Duration::from_millis(50), Duration::from_secs(30))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn done(v: &'static str) -> Outcome {
        Outcome::Complete(Bytes::from_static(v.as_bytes()))
    }

    #[test]
    fn capacity_evicts_oldest_finished_but_never_running() {
        let store = MemoryStore::new(StoreLimits {
            result_capacity: 2,
            ..StoreLimits::default()
        });
        let running = EventId::new_random();
        store.begin(running, "a").unwrap();
        let ids: Vec<_> = (0..3).map(|_| EventId::new_random()).collect();
        for id in &ids {
            store.begin(*id, "a").unwrap();
            store.finish(*id, done("[1]"));
        }
        assert_eq!(store.finished(), 2);
        assert_eq!(
            store.subscribe(ids[0], "a").unwrap_err(),
            LookupError::NotFound
        );
        assert!(matches!(
            store.subscribe(ids[2], "a"),
            Ok(Subscription::Ready(_))
        ));
        assert!(matches!(
            store.subscribe(running, "a"),
            Ok(Subscription::Waiting(_))
        ));
    }

    #[test]
    fn unfinished_limit_and_wrong_api() {
        let store = MemoryStore::new(StoreLimits {
            max_unfinished: 1,
            ..StoreLimits::default()
        });
        let a = EventId::new_random();
        store.begin(a, "x").unwrap();
        assert_eq!(
            store.begin(EventId::new_random(), "x"),
            Err(BeginError::Full { limit: 1 })
        );
        assert_eq!(
            store.subscribe(a, "y").unwrap_err(),
            LookupError::WrongEndpoint { actual: "x".into() }
        );
        store.finish(a, done("[]"));
        assert!(store.begin(EventId::new_random(), "x").is_ok());
        store.consume(a);
        assert_eq!(store.subscribe(a, "x").unwrap_err(), LookupError::NotFound);
    }

    #[test]
    fn ttl_sweep_drops_unpolled_results() {
        let store = MemoryStore::new(StoreLimits {
            result_ttl: Duration::from_millis(1),
            ..StoreLimits::default()
        });
        let id = EventId::new_random();
        store.begin(id, "a").unwrap();
        store.finish(id, done("[1]"));
        let later = Instant::now() + Duration::from_secs(1);
        assert_eq!(store.sweep(later), 1);
        assert_eq!(store.finished(), 0);
        assert_eq!(store.subscribe(id, "a").unwrap_err(), LookupError::NotFound);
    }

    #[test]
    fn order_queue_stays_bounded_when_results_are_consumed() {
        let store = MemoryStore::default();
        for _ in 0..10_000 {
            let id = EventId::new_random();
            store.begin(id, "a").unwrap();
            store.finish(id, done("[1]"));
            store.consume(id);
        }
        let len = store.order.lock().unwrap().len();
        assert!(len <= 1025, "order queue grew to {len}");
    }
}
