//! The queue sessions of a [`MemoryBackend`](super::MemoryBackend): each session's pending
//! jobs and unread messages, and the feed that reads them.
//!
//! A session's feed yields [`SessionItem::Closed`] and ends only when, at that moment, the
//! session has no pending job and no unread message; the session is then removed, and the
//! next join starts a fresh one (the JS client opens a new stream per job once the previous
//! one closed).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use futures_util::Stream;

use super::wakers::Wakers;
use crate::backend::interface::CLOSE_GRACE;
use crate::backend::{BeginError, SessionItem};

#[derive(Default)]
struct State {
    items: VecDeque<SessionItem>,
    /// Jobs joined and not finished yet.
    pending: usize,
    wakers: Wakers,
    /// Bumped by every new feed; older feeds end.
    generation: u64,
    attached: bool,
    touched: Option<Instant>,
    /// Since when nothing has been pending or unread (see [`CLOSE_GRACE`]).
    idle_since: Option<Instant>,
}

/// One client session.
#[derive(Default)]
pub(super) struct Session {
    state: Mutex<State>,
}

impl Session {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// All sessions.
pub(super) struct Sessions {
    map: DashMap<Box<str>, Arc<Session>>,
    max_sessions: usize,
    max_jobs: usize,
    max_droppable: usize,
    idle_ttl: Duration,
}

impl Sessions {
    pub(super) fn new(
        max_sessions: usize,
        max_jobs: usize,
        max_droppable: usize,
        idle_ttl: Duration,
    ) -> Self {
        Self {
            map: DashMap::new(),
            max_sessions,
            max_jobs,
            max_droppable,
            idle_ttl,
        }
    }

    /// Counts a new job of session `hash`, creating the session if needed.
    pub(super) fn join(&self, hash: &str) -> Result<Arc<Session>, BeginError> {
        // Checked before the entry is taken: `len` locks every shard. Concurrent joins may
        // overshoot the limit by a few sessions.
        if !self.map.contains_key(hash) && self.map.len() >= self.max_sessions {
            return Err(BeginError::TooManySessions {
                limit: self.max_sessions,
            });
        }
        // The map entry is held while the job is counted, so a feed cannot remove the
        // session in between (see `close_if_idle`).
        let session = match self.map.entry(hash.into()) {
            Entry::Occupied(e) => e.into_ref(),
            Entry::Vacant(e) => e.insert(Arc::new(Session::default())),
        };
        let mut state = session.lock();
        if state.pending >= self.max_jobs {
            return Err(BeginError::SessionBusy {
                limit: self.max_jobs,
            });
        }
        state.pending += 1;
        state.touched = Some(Instant::now());
        state.idle_since = None;
        drop(state);
        Ok(session.clone())
    }

    /// Appends an item of a running job. Droppable ones are dropped past the bound; others
    /// never are (a session holds a handful per pending job at most).
    pub(super) fn push(&self, session: &Session, item: SessionItem, droppable: bool) {
        let mut state = session.lock();
        if droppable && state.items.len() >= self.max_droppable {
            return;
        }
        state.items.push_back(item);
        state.wakers.wake_all();
    }

    /// Appends the last item of a job, if any, and counts the job done.
    pub(super) fn complete(&self, session: &Session, last: Option<SessionItem>) {
        let mut state = session.lock();
        state.pending = state.pending.saturating_sub(1);
        if let Some(item) = last {
            state.items.push_back(item);
        }
        state.wakers.wake_all();
    }

    /// Removes the session if it is still `session` and idle. True when removed.
    fn close_if_idle(&self, hash: &str, session: &Arc<Session>) -> bool {
        self.map
            .remove_if(hash, |_, s| {
                Arc::ptr_eq(s, session) && {
                    let state = s.lock();
                    state.pending == 0 && state.items.is_empty()
                }
            })
            .is_some()
    }

    /// Opens the feed of a session; `None` for an unknown session.
    pub(super) fn watch(self: &Arc<Self>, hash: &str) -> Option<SessionFeedStream> {
        let session = self.map.get(hash)?.clone();
        let generation = {
            let mut state = session.lock();
            state.generation += 1;
            state.attached = true;
            state.touched = Some(Instant::now());
            // Older feeds wake up to see that they were replaced.
            state.wakers.wake_all();
            state.generation
        };
        Some(SessionFeedStream {
            sessions: self.clone(),
            hash: hash.into(),
            session,
            generation,
            done: false,
            grace: None,
        })
    }

    /// Drops sessions that nobody reads and that were idle past the TTL. Returns how many.
    pub(super) fn sweep(&self, now: Instant) -> usize {
        let ttl = self.idle_ttl;
        let before = self.map.len();
        self.map.retain(|_, session| {
            let state = session.lock();
            state.attached
                || state
                    .touched
                    .is_none_or(|t| now.saturating_duration_since(t) < ttl)
        });
        before.saturating_sub(self.map.len())
    }
}

/// The feed of one session.
pub(super) struct SessionFeedStream {
    sessions: Arc<Sessions>,
    hash: Box<str>,
    session: Arc<Session>,
    generation: u64,
    done: bool,
    /// The end of the close grace, while it runs.
    grace: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// What a feed finds in its session.
enum Next {
    Item(SessionItem),
    /// A newer feed took over.
    Replaced,
    /// Jobs are pending: wait for their messages.
    Wait,
    /// Nothing pending or unread, since then.
    Idle(Instant),
}

impl Stream for SessionFeedStream {
    type Item = SessionItem;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SessionItem>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            let next = {
                let mut state = this.session.lock();
                if state.generation != this.generation {
                    Next::Replaced
                } else {
                    state.touched = Some(Instant::now());
                    match state.items.pop_front() {
                        Some(item) => Next::Item(item),
                        None => {
                            state.wakers.register(cx.waker());
                            if state.pending > 0 {
                                state.idle_since = None;
                                Next::Wait
                            } else {
                                Next::Idle(*state.idle_since.get_or_insert_with(Instant::now))
                            }
                        }
                    }
                }
            };
            match next {
                Next::Item(item) => return Poll::Ready(Some(item)),
                Next::Replaced => {
                    this.done = true;
                    return Poll::Ready(None);
                }
                Next::Wait => {
                    this.grace = None;
                    return Poll::Pending;
                }
                Next::Idle(since) => {
                    // Closed only once it stayed idle for the grace: a join may be on its way
                    // from a client that would not open a new stream after a close.
                    let deadline = since + CLOSE_GRACE;
                    if Instant::now() < deadline {
                        let timer = this.grace.get_or_insert_with(|| {
                            Box::pin(tokio::time::sleep_until(deadline.into()))
                        });
                        if timer.as_mut().poll(cx).is_pending() {
                            return Poll::Pending;
                        }
                        this.grace = None;
                        continue;
                    }
                    this.grace = None;
                }
            }
            if this.sessions.close_if_idle(&this.hash, &this.session)
                // A job joined in between, or the session was replaced: look again, unless
                // it is gone.
                || !this
                    .sessions
                    .map
                    .get(&*this.hash)
                    .is_some_and(|s| Arc::ptr_eq(&s, &this.session))
            {
                this.done = true;
                return Poll::Ready(Some(SessionItem::Closed));
            }
        }
    }
}

impl Drop for SessionFeedStream {
    /// The reader left: a session with nothing pending or unread goes at once (a later join
    /// starts a fresh one); otherwise it waits for a reader until its idle TTL.
    fn drop(&mut self) {
        let current = {
            let mut state = self.session.lock();
            let current = state.generation == self.generation;
            if current {
                state.attached = false;
                state.touched = Some(Instant::now());
            }
            current
        };
        if current && !self.done {
            self.sessions.close_if_idle(&self.hash, &self.session);
        }
    }
}
