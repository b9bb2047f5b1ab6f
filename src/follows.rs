//! Calls that follow a [`Fanout`](crate::Fanout), between their `POST /call` and their poll,
//! on a backend that no other replica shares: each is a cursor into the fan-out's shared
//! buffer, and its poll streams from it. No job, task or message queue exists for them.
//!
//! Bounded like results: at most `capacity` wait for their poll (then 503), each for at most
//! `ttl` (then it is dropped; its poll finds no such event).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use dashmap::DashMap;

use crate::backend::LookupError;
use crate::event_id::{BuildIdHasher, EventId};
use crate::fanout::Follower;

struct Waiting {
    api: Arc<str>,
    follower: Follower,
    since: Instant,
}

/// The follow calls waiting for their poll.
pub(crate) struct FollowCalls {
    waiting: DashMap<EventId, Waiting, BuildIdHasher>,
    /// The service's shutdown, which ends the open follow streams.
    pub(crate) closing: Arc<Closing>,
    capacity: usize,
    ttl: Duration,
}

impl FollowCalls {
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            waiting: DashMap::default(),
            closing: Arc::default(),
            capacity,
            ttl,
        }
    }

    /// Keeps a follower for its poll. Fails with the capacity when that many already wait.
    pub(crate) fn insert(
        &self,
        id: EventId,
        api: Arc<str>,
        follower: Follower,
    ) -> Result<(), usize> {
        // Swept every second too (`housekeeping`).
        if self.waiting.len() >= self.capacity {
            self.sweep(Instant::now());
        }
        if self.waiting.len() >= self.capacity {
            return Err(self.capacity);
        }
        self.waiting.insert(
            id,
            Waiting {
                api,
                follower,
                since: Instant::now(),
            },
        );
        Ok(())
    }

    /// Whether a follow call of `api` waits under `id` (or which endpoint it belongs to).
    pub(crate) fn check(&self, id: EventId, api: &str) -> Option<Result<(), LookupError>> {
        let waiting = self.waiting.get(&id)?;
        Some(if &*waiting.api == api {
            Ok(())
        } else {
            Err(LookupError::WrongEndpoint {
                actual: waiting.api.to_string(),
            })
        })
    }

    /// Takes the follower of `id` for its poll; `None` when no follow call of `api` waits.
    pub(crate) fn take(&self, id: EventId, api: &str) -> Option<Follower> {
        self.waiting
            .remove_if(&id, |_, w| &*w.api == api)
            .map(|(_, w)| w.follower)
    }

    /// Drops a waiting follow call (a cancel). Whether it waited.
    pub(crate) fn cancel(&self, id: EventId) -> bool {
        self.waiting.remove(&id).is_some()
    }

    /// Drops the calls that waited longer than the TTL. Returns how many.
    pub(crate) fn sweep(&self, now: Instant) -> usize {
        let before = self.waiting.len();
        self.waiting
            .retain(|_, w| now.saturating_duration_since(w.since) < self.ttl);
        before.saturating_sub(self.waiting.len())
    }
}

/// The service's shutdown as open follow streams see it: once closed, each ends with a
/// cancelled call's error, woken here (a follow stream is not a running call that the
/// shutdown could cancel).
#[derive(Default)]
pub(crate) struct Closing {
    closed: AtomicBool,
    next: AtomicU64,
    /// The open follow streams' wakers, by stream.
    wakers: Mutex<HashMap<u64, Waker>>,
}

impl Closing {
    /// Ends every open follow stream.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let wakers = std::mem::take(&mut *self.wakers.lock().unwrap_or_else(|e| e.into_inner()));
        for waker in wakers.into_values() {
            waker.wake();
        }
    }

    /// A key for a new stream.
    pub(crate) fn key(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Whether the service closed; else registers the stream (once) to be woken when it does.
    pub(crate) fn poll_closed(&self, key: u64, registered: &mut bool, cx: &Context<'_>) -> bool {
        if self.closed.load(Ordering::Acquire) {
            return true;
        }
        if !*registered {
            *registered = true;
            self.wakers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, cx.waker().clone());
            // Closed meanwhile: the close may have missed this waker.
            return self.closed.load(Ordering::Acquire);
        }
        false
    }

    /// A stream ended.
    pub(crate) fn forget(&self, key: u64) {
        self.wakers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
    }
}
