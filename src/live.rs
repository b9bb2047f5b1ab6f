//! Partial results of streaming calls on the `/call` route: buffered per event until its poll
//! reads them, as `event: generating` frames with full values.
//!
//! They live in this process only (the job runs here); a shared [`EventStore`](crate::backend::EventStore)
//! still sees the terminal outcome.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dashmap::DashMap;

use crate::event_id::{BuildIdHasher, EventId};
use crate::frames;

/// The most partial results kept per event; older ones are dropped first (each carries the
/// full value, so the newest stands for those before it).
const MAX_ITEMS: usize = 1_000;

#[derive(Default)]
struct State {
    frames: VecDeque<Bytes>,
    waker: Option<Waker>,
    finished: Option<Instant>,
}

/// The buffer of one event.
#[derive(Default)]
pub(crate) struct Live {
    state: Mutex<State>,
}

impl Live {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next buffered frame; otherwise registers `waker` for the next push.
    pub(crate) fn pop_or_wait(&self, waker: &Waker) -> Option<Bytes> {
        let mut state = self.lock();
        let frame = state.frames.pop_front();
        if frame.is_none() {
            state.waker = Some(waker.clone());
        }
        frame
    }

    /// The next buffered frame, if any.
    pub(crate) fn pop(&self) -> Option<Bytes> {
        self.lock().frames.pop_front()
    }
}

/// Every streaming event's buffer.
pub(crate) struct LiveUpdates {
    map: DashMap<EventId, Arc<Live>, BuildIdHasher>,
    max_events: usize,
}

impl LiveUpdates {
    pub(crate) fn new(max_events: usize) -> Self {
        Self {
            map: DashMap::default(),
            max_events,
        }
    }

    /// Starts buffering for a streaming call. Past the limit the call still runs, and its
    /// poll sees only the terminal frame.
    pub(crate) fn open(&self, id: EventId) {
        if self.map.len() < self.max_events {
            self.map.insert(id, Arc::new(Live::default()));
        }
    }

    pub(crate) fn get(&self, id: EventId) -> Option<Arc<Live>> {
        self.map.get(&id).map(|l| l.clone())
    }

    /// Buffers one partial result.
    pub(crate) fn push(&self, id: EventId, data: &[u8]) {
        let Some(live) = self.get(id) else { return };
        let mut state = live.lock();
        if state.frames.len() >= MAX_ITEMS {
            state.frames.pop_front();
        }
        state.frames.push_back(frames::generating(data));
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    }

    /// Marks the call ended: its buffer is swept after `ttl` if nobody reads it.
    pub(crate) fn finish(&self, id: EventId) {
        if let Some(live) = self.get(id) {
            live.lock().finished = Some(Instant::now());
        }
    }

    pub(crate) fn remove(&self, id: EventId) {
        self.map.remove(&id);
    }

    /// Drops buffers of calls that ended more than `ttl` ago.
    pub(crate) fn sweep(&self, now: Instant, ttl: Duration) {
        self.map.retain(|_, live| {
            live.lock()
                .finished
                .is_none_or(|at| now.saturating_duration_since(at) < ttl)
        });
    }
}
