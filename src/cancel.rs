//! Cancellation on this replica: a token per call it runs, and the registry of those calls
//! that the backend's cancel requests (from `POST {prefix}/cancel` on any replica) reach.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use tokio::sync::Notify;

use crate::event_id::{BuildIdHasher, EventId};

/// Set once when a call is cancelled.
#[derive(Clone, Debug, Default)]
pub(crate) struct CancelToken(Arc<CancelInner>);

#[derive(Debug, Default)]
struct CancelInner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancelToken {
    pub(crate) fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::Release);
        self.0.notify.notify_waiters();
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::Acquire)
    }

    /// Resolves once the call is cancelled.
    pub(crate) async fn cancelled(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// The calls this replica runs, by event id.
#[derive(Default)]
pub(crate) struct Running {
    calls: DashMap<EventId, CancelToken, BuildIdHasher>,
    /// How many calls run; kept beside the map so that ending a call need not count it.
    count: AtomicUsize,
    /// Woken whenever the last running call ends.
    idle: Notify,
}

impl Running {
    /// Registers a call this replica runs (or that waits for a slot here), or gives the token
    /// it has when it was registered already (a call whose first step ran inline before its
    /// job began). The limit on unfinished calls is the backend's, counted when the job begins.
    pub(crate) fn start(&self, id: EventId) -> CancelToken {
        match self.calls.entry(id) {
            dashmap::mapref::entry::Entry::Occupied(known) => known.get().clone(),
            dashmap::mapref::entry::Entry::Vacant(slot) => {
                let token = CancelToken::default();
                slot.insert(token.clone());
                self.count.fetch_add(1, Ordering::AcqRel);
                token
            }
        }
    }

    pub(crate) fn end(&self, id: EventId) {
        if self.calls.remove(&id).is_some() && self.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// Waits until no call runs (or waits for a slot), or until `deadline`. Returns whether
    /// none runs.
    pub(crate) async fn idle_by(&self, deadline: tokio::time::Instant) -> bool {
        loop {
            // Registered before the check, so that an end between the two is not missed.
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.count.load(Ordering::Acquire) == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.count.load(Ordering::Acquire) == 0;
            }
        }
    }

    /// Cancels every running call; returns how many.
    pub(crate) fn cancel_all(&self) -> usize {
        let mut n = 0;
        for entry in self.calls.iter() {
            entry.value().cancel();
            n += 1;
        }
        n
    }

    /// Cancels a running call; false when no such call runs.
    pub(crate) fn cancel(&self, id: EventId) -> bool {
        match self.calls.get(&id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn idle_by_wakes_on_the_last_end_or_the_deadline() {
        let running = Arc::new(Running::default());
        let (a, b) = (EventId::new_random(), EventId::new_random());
        running.start(a);
        running.start(b);
        let start = tokio::time::Instant::now();
        // Nothing ends: the deadline answers, after exactly the bound (paused time).
        assert!(!running.idle_by(start + Duration::from_secs(5)).await);
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        // The last end wakes the waiter at once, long before its deadline.
        let ender = running.clone();
        tokio::spawn(async move {
            ender.end(a);
            tokio::task::yield_now().await;
            ender.end(b);
        });
        let waited = tokio::time::Instant::now();
        assert!(running.idle_by(waited + Duration::from_secs(3600)).await);
        assert!(waited.elapsed() < Duration::from_secs(1));
        // Ending an unknown id changes nothing.
        running.end(EventId::new_random());
        assert!(running.idle_by(tokio::time::Instant::now()).await);
    }
}
