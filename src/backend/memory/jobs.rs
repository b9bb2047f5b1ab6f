//! The jobs of a [`MemoryBackend`](super::MemoryBackend): each unfinished job, its unread
//! messages, and finished results in finishing order under a capacity and a time to live.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dashmap::mapref::entry::Entry as MapEntry;
use dashmap::DashMap;
use futures_util::Stream;

use super::sessions::Session;
use super::wakers::Wakers;
use crate::backend::{Gone, JobItem, LookupError, Outcome, RunnerId};
use crate::event_id::{BuildIdHasher, EventId};

/// What readers of a `/call` job share with its runner.
#[derive(Default)]
pub(super) struct Shared {
    state: Mutex<FeedState>,
}

#[derive(Default)]
struct FeedState {
    messages: VecDeque<Bytes>,
    outcome: Option<Outcome>,
    wakers: Wakers,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, FeedState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where a job's messages go.
pub(super) enum Route {
    /// Its own feed, read by `GET /call/{api}/{id}`.
    Call(Arc<Shared>),
    /// Its queue session's feed.
    Session(Arc<Session>),
    /// A finished `/call` job that nobody was reading and that left no unread message: only
    /// its outcome is kept, which makes a stored result small.
    Done(Outcome),
}

pub(super) struct Job {
    api: Arc<str>,
    pub(super) runner: RunnerId,
    pub(super) route: Route,
    /// When it finished (`/call` jobs only: session jobs are removed when they finish).
    finished: Option<Instant>,
}

/// Why `insert` refused a job.
pub(super) struct Collision;

/// Every job, by id.
pub(super) struct Jobs {
    map: DashMap<EventId, Job, BuildIdHasher>,
    /// Finished ids, oldest first. May hold ids consumed since; they are skipped.
    order: Mutex<VecDeque<(EventId, Instant)>>,
    finished: AtomicUsize,
    api_names: DashMap<Box<str>, Arc<str>>,
    capacity: usize,
    ttl: Duration,
    max_unread: usize,
}

impl Jobs {
    pub(super) fn new(capacity: usize, ttl: Duration, max_unread: usize) -> Self {
        Self {
            map: DashMap::default(),
            order: Mutex::new(VecDeque::new()),
            finished: AtomicUsize::new(0),
            api_names: DashMap::new(),
            capacity,
            ttl,
            max_unread: max_unread.max(1),
        }
    }

    pub(super) fn finished(&self) -> usize {
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

    /// Adds an unfinished job, unless the id is taken (122 random bits: never in practice).
    pub(super) fn insert(
        &self,
        id: EventId,
        api: &str,
        runner: RunnerId,
        session: Option<Arc<Session>>,
    ) -> Result<(), Collision> {
        let api = self.intern(api);
        match self.map.entry(id) {
            MapEntry::Occupied(_) => Err(Collision),
            MapEntry::Vacant(slot) => {
                let route = match session {
                    Some(session) => Route::Session(session),
                    None => Route::Call(Arc::default()),
                };
                slot.insert(Job {
                    api,
                    runner,
                    route,
                    finished: None,
                });
                Ok(())
            }
        }
    }

    /// Where the messages of unfinished job `id` go.
    pub(super) fn route_of_unfinished(&self, id: EventId) -> Option<RouteRef> {
        let job = self.map.get(&id)?;
        if job.finished.is_some() {
            return None;
        }
        match &job.route {
            Route::Call(shared) => Some(RouteRef::Call(shared.clone())),
            Route::Session(session) => Some(RouteRef::Session(session.clone())),
            Route::Done(_) => None,
        }
    }

    /// The runner of unfinished job `id`.
    pub(super) fn runner_of_unfinished(&self, id: EventId) -> Option<RunnerId> {
        let job = self.map.get(&id)?;
        job.finished.is_none().then_some(job.runner)
    }

    /// Appends a message to a `/call` job's feed; past the bound the oldest is dropped.
    pub(super) fn push(&self, shared: &Shared, message: Bytes) {
        let mut state = shared.lock();
        if state.outcome.is_some() {
            return;
        }
        if state.messages.len() >= self.max_unread {
            state.messages.pop_front();
        }
        state.messages.push_back(message);
        state.wakers.wake_all();
    }

    /// Ends unfinished job `id`. Returns where it ran (`None` when unknown or finished): a
    /// `/call` job keeps its outcome; a session job is removed.
    pub(super) fn finish(&self, id: EventId, outcome: Outcome) -> Option<Ended> {
        let now = Instant::now();
        let mut outcome = Some(outcome);
        // Under the order lock: make room first, count the result, then make it visible, so
        // that the count never passes the capacity and a consume never precedes the count.
        let mut order = self.order.lock().unwrap_or_else(|e| e.into_inner());
        let shared = {
            let mut job = self.map.get_mut(&id)?;
            if job.finished.is_some() {
                return None;
            }
            match &job.route {
                Route::Done(_) => return None,
                Route::Session(_) => {
                    drop(job);
                    drop(order);
                    let (_, job) = self.map.remove_if(&id, |_, job| job.finished.is_none())?;
                    let Route::Session(session) = job.route else {
                        return None;
                    };
                    return Some(Ended::Session(session));
                }
                Route::Call(shared) => {
                    // No reader holds the feed (this shard is locked, so none can start) and
                    // nothing is unread: keep the outcome alone.
                    let alone = Arc::strong_count(shared) == 1 && shared.lock().messages.is_empty();
                    let shared = (!alone).then(|| shared.clone());
                    job.finished = Some(now);
                    if alone {
                        job.route = Route::Done(outcome.take()?);
                    }
                    shared
                }
            }
        };
        while self.finished() >= self.capacity {
            let Some((oldest, at)) = order.pop_front() else {
                break;
            };
            self.remove_finished(oldest, Some(at));
        }
        self.finished.fetch_add(1, Ordering::AcqRel);
        order.push_back((id, now));
        self.trim(&mut order, now);
        drop(order);
        if let Some(shared) = shared {
            let mut state = shared.lock();
            state.outcome = outcome;
            state.wakers.wake_all();
        }
        Some(Ended::Call)
    }

    /// Opens the feed of `/call` job `id`, checking its endpoint. The feed removes the job
    /// when it reaches the outcome, so that one reader gets it.
    pub(super) fn watch(
        jobs: &Arc<Jobs>,
        id: EventId,
        api: &str,
    ) -> Result<JobFeedStream, LookupError> {
        let job = jobs.map.get(&id).ok_or(LookupError::NotFound)?;
        if &*job.api != api {
            return Err(LookupError::WrongEndpoint {
                actual: job.api.to_string(),
            });
        }
        if job
            .finished
            .is_some_and(|at| jobs.expired(at, Instant::now()))
        {
            return Err(LookupError::NotFound);
        }
        let feed = match &job.route {
            Route::Call(shared) => Feed::Shared(shared.clone()),
            Route::Done(outcome) => Feed::Done(outcome.clone()),
            Route::Session(_) => return Err(LookupError::NotFound),
        };
        Ok(JobFeedStream {
            feed,
            done: false,
            jobs: jobs.clone(),
            id,
        })
    }

    /// Removes `id` if it is finished and, when `at` is given, finished at that instant.
    pub(super) fn remove_finished(&self, id: EventId, at: Option<Instant>) -> bool {
        let removed = self.map.remove_if(&id, |_, job| {
            job.finished
                .is_some_and(|done| at.is_none_or(|at| at == done))
        });
        if removed.is_some() {
            self.finished.fetch_sub(1, Ordering::AcqRel);
            true
        } else {
            false
        }
    }

    fn expired(&self, at: Instant, now: Instant) -> bool {
        now.saturating_duration_since(at) >= self.ttl
    }

    /// Evicts past the capacity and the TTL, and compacts the order queue.
    fn trim(&self, order: &mut VecDeque<(EventId, Instant)>, now: Instant) -> usize {
        let mut dropped = 0;
        while let Some(&(id, at)) = order.front() {
            let over_capacity = self.finished() > self.capacity;
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
                self.map
                    .get(id)
                    .is_some_and(|job| job.finished == Some(*at))
            });
        }
        dropped
    }

    /// Drops results past the TTL. Returns how many.
    pub(super) fn sweep(&self, now: Instant) -> usize {
        let mut order = self.order.lock().unwrap_or_else(|e| e.into_inner());
        self.trim(&mut order, now)
    }

    /// The unfinished jobs of `runner`.
    pub(super) fn unfinished_of(&self, runner: RunnerId) -> Vec<EventId> {
        self.map
            .iter()
            .filter(|job| job.runner == runner && job.finished.is_none())
            .map(|job| *job.key())
            .collect()
    }

    #[cfg(test)]
    pub(super) fn order_len(&self) -> usize {
        self.order.lock().unwrap().len()
    }
}

/// Where an unfinished job's messages go, without holding the map.
pub(super) enum RouteRef {
    Call(Arc<Shared>),
    Session(Arc<Session>),
}

/// Where a job that just finished ran.
pub(super) enum Ended {
    Call,
    Session(Arc<Session>),
}

/// What a `/call` job's feed reads.
enum Feed {
    /// The runner's feed: messages, then the outcome.
    Shared(Arc<Shared>),
    /// The outcome of a job that finished unread.
    Done(Outcome),
}

/// The feed of one `/call` job.
pub(super) struct JobFeedStream {
    feed: Feed,
    done: bool,
    /// Where the job is kept, to take it when the outcome is reached.
    jobs: Arc<Jobs>,
    id: EventId,
}

impl JobFeedStream {
    /// The outcome, if this reader is the one to take it (it removes the finished job); else
    /// why not.
    fn claim(&mut self, outcome: Outcome) -> JobItem {
        self.done = true;
        if self.jobs.remove_finished(self.id, None) {
            JobItem::Outcome(outcome)
        } else {
            JobItem::Gone(Gone::Delivered)
        }
    }
}

impl Stream for JobFeedStream {
    type Item = JobItem;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<JobItem>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let outcome = match &this.feed {
            Feed::Done(outcome) => outcome.clone(),
            Feed::Shared(shared) => {
                let mut state = shared.lock();
                if let Some(message) = state.messages.pop_front() {
                    return Poll::Ready(Some(JobItem::Message(message)));
                }
                match &state.outcome {
                    Some(outcome) => outcome.clone(),
                    None => {
                        state.wakers.register(cx.waker());
                        return Poll::Pending;
                    }
                }
            }
        };
        Poll::Ready(Some(this.claim(outcome)))
    }
}
