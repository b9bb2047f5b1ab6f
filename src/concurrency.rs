//! Per-endpoint concurrency limits: a fair line of waiting calls, with each one's place in it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// The line for one endpoint with a concurrency limit.
pub(crate) struct Limiter {
    slots: Arc<Semaphore>,
    /// Tickets handed out, in arrival order.
    issued: AtomicU64,
    /// Tickets that left the line (started or gave up).
    left: AtomicU64,
    waiting: AtomicUsize,
    max_waiting: Option<usize>,
    moved: Notify,
}

/// A place in line, taken before the job exists.
pub(crate) struct Ticket {
    number: u64,
    limiter: Arc<Limiter>,
    waiting: bool,
}

impl Limiter {
    pub(crate) fn new(limit: usize, max_waiting: Option<usize>) -> Arc<Self> {
        Arc::new(Self {
            slots: Arc::new(Semaphore::new(limit)),
            issued: AtomicU64::new(0),
            left: AtomicU64::new(0),
            waiting: AtomicUsize::new(0),
            max_waiting,
            moved: Notify::new(),
        })
    }

    /// Joins the line; `Err(waiting)` when it is full.
    pub(crate) fn admit(self: &Arc<Self>) -> Result<Ticket, usize> {
        let max = self.max_waiting.unwrap_or(usize::MAX);
        self.waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })?;
        Ok(Ticket {
            number: self.issued.fetch_add(1, Ordering::AcqRel),
            limiter: self.clone(),
            waiting: true,
        })
    }
}

impl Ticket {
    /// Calls ahead of this one (0 = next to start) and the length of the line.
    pub(crate) fn place(&self) -> (usize, usize) {
        let l = &self.limiter;
        let ahead = self.number.saturating_sub(l.left.load(Ordering::Acquire));
        (ahead as usize, l.waiting.load(Ordering::Acquire).max(1))
    }

    /// Waits for a slot. `on_move` runs with the new place whenever the line moves.
    pub(crate) async fn acquire(
        mut self,
        mut on_move: impl FnMut((usize, usize)),
    ) -> OwnedSemaphorePermit {
        let slots = self.limiter.slots.clone();
        let acquire = slots.acquire_owned();
        tokio::pin!(acquire);
        let mut shown = self.place();
        loop {
            let moved = self.limiter.moved.notified();
            tokio::select! {
                permit = &mut acquire => {
                    self.leave();
                    // The semaphore is never closed.
                    return permit.unwrap_or_else(|_| unreachable!("limiter semaphores are never closed"));
                }
                () = moved => {
                    let place = self.place();
                    if place != shown {
                        shown = place;
                        on_move(place);
                    }
                }
            }
        }
    }

    fn leave(&mut self) {
        if std::mem::take(&mut self.waiting) {
            let l = &self.limiter;
            l.waiting.fetch_sub(1, Ordering::AcqRel);
            l.left.fetch_add(1, Ordering::AcqRel);
            l.moved.notify_waiters();
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.leave();
    }
}
