//! Cancellation: a token per running call, and the registry `POST {prefix}/cancel` looks
//! calls up in.

use std::sync::atomic::{AtomicBool, Ordering};
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

/// The running calls, by event id.
#[derive(Default)]
pub(crate) struct Running {
    calls: DashMap<EventId, CancelToken, BuildIdHasher>,
}

impl Running {
    pub(crate) fn start(&self, id: EventId) -> CancelToken {
        let token = CancelToken::default();
        self.calls.insert(id, token.clone());
        token
    }

    pub(crate) fn end(&self, id: EventId) {
        self.calls.remove(&id);
    }

    /// How many calls run (or wait for a slot).
    pub(crate) fn len(&self) -> usize {
        self.calls.len()
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
