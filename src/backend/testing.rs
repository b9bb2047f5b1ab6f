//! A test suite that any [`Backend`] can run (feature `testing`): the contract the service
//! relies on, checked the same way for the in-memory backend and for one of your own.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::sync::Arc;
//! use gradio_compat::backend::{testing, Backend, MemoryBackend};
//!
//! testing::backend_suite(|limits| async move {
//!     Arc::new(MemoryBackend::new(limits)) as Arc<dyn Backend>
//! })
//! .await;
//! # }
//! ```
//!
//! The factory gets the limits a check needs and must return (asynchronously, since a networked
//! backend connects) a fresh, empty backend that enforces them. Each check panics with a message that names the broken rule.
//!
//! It covers:
//! - jobs and their one-shot results: the unfinished limit (one count for `/call` and
//!   session jobs), the api-name check (a mismatch consumes nothing), delivery to a reader
//!   that waits and to one that comes late, one-shot consumption (also under racing
//!   readers), capacity (oldest finished first, never an unfinished job) and the time to live;
//! - messages of running jobs: order, the bound on unread messages, and that messages come
//!   before the outcome;
//! - queue sessions: messages of several jobs in order, closing once idle, a newer reader
//!   taking over, a session left idle by its reader going, the session limits, and that
//!   session jobs are not pollable;
//! - cancellation: a cancel reaches the handler of the runner that runs the job, only it;
//! - leases: the jobs of a runner that stops renewing end with an error (a `/call` reader
//!   gets an error outcome, a session reader [`SessionItem::Lost`]), and their places among
//!   the unfinished jobs are freed; a runner that renews keeps its jobs.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;

use super::{
    Backend, BackendLimits, BeginError, EventId, Gone, JobFeed, JobItem, LookupError, Outcome,
    RunnerId, SessionFeed, SessionItem,
};

/// Makes a fresh, empty backend with these limits: any `Fn(BackendLimits) -> impl
/// Future<Output = Arc<dyn Backend>>`.
pub trait BackendFactory {
    /// A fresh backend.
    fn make(&self, limits: BackendLimits) -> impl Future<Output = Arc<dyn Backend>>;
}

impl<F, Fut> BackendFactory for F
where
    F: Fn(BackendLimits) -> Fut,
    Fut: Future<Output = Arc<dyn Backend>>,
{
    fn make(&self, limits: BackendLimits) -> impl Future<Output = Arc<dyn Backend>> {
        self(limits)
    }
}

/// How long a check waits for something that should happen at once.
const PATIENCE: Duration = Duration::from_secs(5);

fn limits() -> BackendLimits {
    BackendLimits::default()
}

fn complete(value: &'static str) -> Outcome {
    Outcome::Complete(Bytes::from_static(value.as_bytes()))
}

fn message(text: &str) -> Bytes {
    Bytes::from(text.to_owned())
}

/// A runner whose cancel requests are recorded.
fn runner(backend: &Arc<dyn Backend>) -> (RunnerId, Arc<Mutex<Vec<EventId>>>) {
    let cancelled = Arc::new(Mutex::new(Vec::new()));
    let seen = cancelled.clone();
    let id = backend.attach(Arc::new(move |id| {
        seen.lock().unwrap_or_else(|e| e.into_inner()).push(id)
    }));
    (id, cancelled)
}

async fn begin(backend: &Arc<dyn Backend>, runner: RunnerId, api: &str) -> EventId {
    let id = EventId::new_random();
    backend
        .begin(id, api, runner, None)
        .await
        .expect("begin within the limits");
    id
}

async fn next_job_item(feed: &mut JobFeed) -> Option<JobItem> {
    tokio::time::timeout(PATIENCE, feed.next())
        .await
        .expect("a job feed yields its next item within 5 s once it exists")
}

async fn next_session_item(feed: &mut SessionFeed) -> Option<SessionItem> {
    tokio::time::timeout(PATIENCE, feed.next())
        .await
        .expect("a session feed yields its next item within 5 s once it exists")
}

/// The outcome a feed ends with, skipping messages (`None` when it ends without one).
async fn outcome_of(feed: JobFeed) -> Option<Outcome> {
    end_of(feed).await.ok()
}

/// How a feed ends, skipping messages: its outcome, or why not (`None` when it just ends).
async fn end_of(mut feed: JobFeed) -> Result<Outcome, Option<Gone>> {
    loop {
        match next_job_item(&mut feed).await {
            Some(JobItem::Message(_)) => continue,
            Some(JobItem::Outcome(outcome)) => return Ok(outcome),
            Some(JobItem::Gone(gone)) => return Err(Some(gone)),
            None => return Err(None),
        }
    }
}

/// Runs every check; panics at the first broken rule.
pub async fn backend_suite(make: impl BackendFactory) {
    unfinished_limit_counts_calls_and_sessions_once(&make).await;
    wrong_endpoint_consumes_nothing(&make).await;
    waiting_and_late_readers_get_the_outcome(&make).await;
    results_are_delivered_once(&make).await;
    racing_readers_consume_once(&make).await;
    results_begun_finished_are_taken_once_and_restored(&make).await;
    capacity_evicts_oldest_finished_never_unfinished(&make).await;
    ttl_drops_unpolled_results(&make).await;
    messages_come_in_order_before_the_outcome(&make).await;
    unread_messages_are_bounded(&make).await;
    session_messages_come_in_order_and_the_session_closes(&make).await;
    a_newer_session_reader_takes_over(&make).await;
    a_session_left_idle_by_its_reader_goes(&make).await;
    session_limits_hold(&make).await;
    cancel_reaches_the_runner_of_the_job(&make).await;
    lapsed_lease_ends_the_jobs_of_its_runner(&make).await;
}

/// Exactly `max_unfinished` jobs may be unfinished, `/call` and session jobs together; a
/// finished one frees its place.
async fn unfinished_limit_counts_calls_and_sessions_once(make: &impl BackendFactory) {
    let mut l = limits();
    l.max_unfinished = 3;
    let backend = make.make(l).await;
    let (runner, _) = runner(&backend);
    let first = begin(&backend, runner, "add").await;
    begin(&backend, runner, "add").await;
    backend
        .begin(EventId::new_random(), "add", runner, Some("s1"))
        .await
        .expect("a session job within the limit");
    assert_eq!(
        backend
            .begin(EventId::new_random(), "add", runner, Some("s2"))
            .await,
        Err(BeginError::Full { limit: 3 }),
        "the job past max_unfinished is refused with BeginError::Full, counting /call and \
         session jobs together"
    );
    assert_eq!(
        backend
            .begin(EventId::new_random(), "add", runner, None)
            .await,
        Err(BeginError::Full { limit: 3 }),
        "the /call job past max_unfinished is refused too"
    );
    backend.finish(first, complete("[1]"), None).await;
    begin(&backend, runner, "add").await;
}

/// A lookup under another endpoint names the right one and consumes nothing.
async fn wrong_endpoint_consumes_nothing(make: &impl BackendFactory) {
    let backend = make.make(limits()).await;
    let (runner, _) = runner(&backend);
    let id = begin(&backend, runner, "add").await;
    backend.finish(id, complete("[3]"), None).await;
    assert_eq!(
        backend.watch(id, "other").await.err(),
        Some(LookupError::WrongEndpoint {
            actual: "add".into()
        }),
        "a lookup under the wrong endpoint names the right one"
    );
    let feed = backend
        .watch(id, "add")
        .await
        .expect("the mismatch consumed nothing");
    assert_eq!(outcome_of(feed).await, Some(complete("[3]")));
    assert_eq!(
        backend.watch(EventId::new_random(), "add").await.err(),
        Some(LookupError::NotFound),
        "an id that never existed is NotFound"
    );
}

/// A reader that waits is woken with the outcome; one that comes after the job finished gets
/// it at once; either way the reader takes it, and a later watch finds nothing.
async fn waiting_and_late_readers_get_the_outcome(make: &impl BackendFactory) {
    let backend = make.make(limits()).await;
    let (runner, _) = runner(&backend);
    let id = begin(&backend, runner, "add").await;
    let early = backend.watch(id, "add").await.expect("watch while running");
    let finisher = backend.clone();
    let finished = tokio::spawn(async move {
        tokio::task::yield_now().await;
        finisher.finish(id, complete("[5]"), None).await;
    });
    assert_eq!(outcome_of(early).await, Some(complete("[5]")));
    finished.await.expect("finish");
    assert_eq!(
        backend.watch(id, "add").await.err(),
        Some(LookupError::NotFound),
        "the reader that got the outcome took it"
    );
    let late = begin(&backend, runner, "add").await;
    backend.finish(late, complete("[6]"), None).await;
    backend.finish(late, complete("[7]"), None).await;
    let feed = backend
        .watch(late, "add")
        .await
        .expect("watch after finish");
    assert_eq!(
        outcome_of(feed).await,
        Some(complete("[6]")),
        "a finished job's outcome waits for its poll; a second finish changed nothing"
    );
}

/// Once consumed, a result is gone; consuming an unfinished job changes nothing.
async fn results_are_delivered_once(make: &impl BackendFactory) {
    let backend = make.make(limits()).await;
    let (runner, _) = runner(&backend);
    let id = begin(&backend, runner, "add").await;
    backend.consume(id).await;
    assert!(
        backend.watch(id, "add").await.is_ok(),
        "consume leaves an unfinished job alone"
    );
    backend.finish(id, complete("[1]"), None).await;
    backend.consume(id).await;
    assert_eq!(
        backend.watch(id, "add").await.err(),
        Some(LookupError::NotFound),
        "a consumed result is gone"
    );
}

/// Many pollers race for one result, some watching before it finishes and some after:
/// exactly one gets it; every other one finds nothing (`NotFound`) or sees its feed end with
/// [`Gone::Delivered`]. A poll that comes afterwards finds nothing.
async fn racing_readers_consume_once(make: &impl BackendFactory) {
    let backend = make.make(limits()).await;
    let (runner, _) = runner(&backend);
    for round in 0..4 {
        let id = begin(&backend, runner, "add").await;
        let racers: Vec<_> = (0..16)
            .map(|i| {
                let backend = backend.clone();
                tokio::spawn(async move {
                    if i % 2 == 1 {
                        tokio::time::sleep(Duration::from_millis(i)).await;
                    }
                    match backend.watch(id, "add").await {
                        Ok(feed) => end_of(feed).await,
                        Err(LookupError::NotFound) => Err(None),
                        Err(other) => panic!("racing lookups see {other:?}"),
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(3 * round)).await;
        backend.finish(id, complete("[7]"), None).await;
        let mut delivered = 0;
        for racer in racers {
            match racer.await.expect("racer") {
                Ok(outcome) => {
                    assert_eq!(outcome, complete("[7]"), "the delivered copy is the result");
                    delivered += 1;
                }
                Err(None | Some(Gone::Delivered)) => {}
                Err(Some(other)) => panic!("a racing reader's feed ended with {other:?}"),
            }
        }
        assert_eq!(delivered, 1, "exactly one racing reader gets the result");
        assert_eq!(
            backend.watch(id, "add").await.err(),
            Some(LookupError::NotFound),
            "after the race the result is gone"
        );
    }
}

/// A result recorded already finished is read like any (the wrong endpoint refused); once
/// read, by `take` or by its feed, it is gone for every other reader, and `restore` puts it
/// back; a job still running is never taken. It never counts as unfinished.
async fn results_begun_finished_are_taken_once_and_restored(make: &impl BackendFactory) {
    let mut l = limits();
    l.max_unfinished = 1;
    let backend = make.make(l).await;
    let (runner, _) = runner(&backend);
    let id = EventId::new_random();
    backend
        .begin_finished(id, "add", runner, complete("[5]"))
        .await
        .expect("begin_finished within the limits");
    // It left the one unfinished place free.
    let running = begin(&backend, runner, "add").await;
    assert!(
        matches!(
            backend.take(id, "sub").await.err(),
            Some(LookupError::WrongEndpoint { .. })
        ),
        "take checks the endpoint"
    );
    let (feed, _) = backend.take(id, "add").await.expect("the result is there");
    assert_eq!(outcome_of(feed).await, Some(complete("[5]")));
    assert_eq!(
        backend.watch(id, "add").await.err(),
        Some(LookupError::NotFound),
        "a result read (taken, or claimed by its feed) is gone for other readers"
    );
    backend.restore(id, "add", complete("[5]")).await;
    let feed = backend
        .watch(id, "add")
        .await
        .expect("a restored result is back");
    assert_eq!(outcome_of(feed).await, Some(complete("[5]")));
    assert_eq!(
        backend.watch(id, "add").await.err(),
        Some(LookupError::NotFound),
        "read again, and gone again"
    );
    let (_, taken) = backend
        .take(running, "add")
        .await
        .expect("a running job can be watched");
    assert!(!taken, "a running job is never taken");
    backend.finish(running, complete("[6]"), None).await;
}

/// Past the capacity the oldest finished result goes; an unfinished job is never evicted.
async fn capacity_evicts_oldest_finished_never_unfinished(make: &impl BackendFactory) {
    let mut l = limits();
    l.result_capacity = 2;
    let backend = make.make(l).await;
    let (runner, _) = runner(&backend);
    let unfinished = begin(&backend, runner, "add").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = begin(&backend, runner, "add").await;
        backend.finish(id, complete("[1]"), None).await;
        ids.push(id);
    }
    assert_eq!(
        backend.watch(ids[0], "add").await.err(),
        Some(LookupError::NotFound),
        "the oldest finished result is evicted past the capacity"
    );
    for id in &ids[1..] {
        assert!(
            backend.watch(*id, "add").await.is_ok(),
            "the newest results stay"
        );
    }
    assert!(
        backend.watch(unfinished, "add").await.is_ok(),
        "an unfinished job is never evicted"
    );
}

/// Results older than the TTL go at the next sweep; younger ones stay.
async fn ttl_drops_unpolled_results(make: &impl BackendFactory) {
    let mut l = limits();
    l.result_ttl = Duration::from_secs(60);
    let backend = make.make(l).await;
    let (runner, _) = runner(&backend);
    let old = begin(&backend, runner, "add").await;
    backend.finish(old, complete("[1]"), None).await;
    let now = Instant::now();
    assert_eq!(
        backend.sweep(now).await,
        0,
        "nothing is older than the TTL yet"
    );
    assert!(backend.watch(old, "add").await.is_ok());
    assert!(
        backend.sweep(now + Duration::from_secs(61)).await >= 1,
        "a sweep past the TTL drops the result"
    );
    assert_eq!(
        backend.watch(old, "add").await.err(),
        Some(LookupError::NotFound),
        "an expired result is NotFound"
    );
}

/// A job's messages reach its reader in publish order, each once, and before its outcome,
/// also when the reader comes after the job finished.
async fn messages_come_in_order_before_the_outcome(make: &impl BackendFactory) {
    let backend = make.make(limits()).await;
    let (runner, _) = runner(&backend);
    // A reader that waits while the messages come.
    let id = begin(&backend, runner, "count").await;
    let mut feed = backend.watch(id, "count").await.expect("watch");
    let publisher = backend.clone();
    let published = tokio::spawn(async move {
        for i in 0..5 {
            publisher.publish(id, message(&format!("m{i}")), true).await;
            tokio::task::yield_now().await;
        }
        publisher.finish(id, complete("[4]"), None).await;
    });
    for i in 0..5 {
        assert_eq!(
            next_job_item(&mut feed).await,
            Some(JobItem::Message(message(&format!("m{i}")))),
            "messages come in publish order"
        );
    }
    assert_eq!(
        next_job_item(&mut feed).await,
        Some(JobItem::Outcome(complete("[4]"))),
        "the outcome comes after the messages"
    );
    assert_eq!(
        next_job_item(&mut feed).await,
        None,
        "the feed ends after the outcome"
    );
    published.await.expect("publisher");
    // A reader that waits while messages and the outcome all come at once misses none.
    for _ in 0..20 {
        let id = begin(&backend, runner, "count").await;
        let mut feed = backend.watch(id, "count").await.expect("watch");
        for i in 0..3 {
            backend.publish(id, message(&format!("b{i}")), true).await;
        }
        backend.finish(id, complete("[2]"), None).await;
        let mut got = Vec::new();
        while let Some(item) = next_job_item(&mut feed).await {
            got.push(item);
        }
        assert_eq!(
            got,
            vec![
                JobItem::Message(message("b0")),
                JobItem::Message(message("b1")),
                JobItem::Message(message("b2")),
                JobItem::Outcome(complete("[2]")),
            ],
            "a burst of messages and the outcome reaches a waiting reader whole"
        );
    }
    // A reader that comes after the end gets the unread messages, then the outcome.
    let late = begin(&backend, runner, "count").await;
    backend.publish(late, message("a"), true).await;
    backend.publish(late, message("b"), false).await;
    backend.finish(late, complete("[1]"), None).await;
    backend.publish(late, message("after"), true).await;
    let mut feed = backend.watch(late, "count").await.expect("watch");
    assert_eq!(
        next_job_item(&mut feed).await,
        Some(JobItem::Message(message("a")))
    );
    assert_eq!(
        next_job_item(&mut feed).await,
        Some(JobItem::Message(message("b")))
    );
    assert_eq!(
        next_job_item(&mut feed).await,
        Some(JobItem::Outcome(complete("[1]"))),
        "a message published after the finish is ignored"
    );
}

/// A job's unread messages stay within `max_unread`, and the newest is kept.
async fn unread_messages_are_bounded(make: &impl BackendFactory) {
    let mut l = limits();
    l.max_unread = 10;
    let backend = make.make(l).await;
    let (runner, _) = runner(&backend);
    let id = begin(&backend, runner, "count").await;
    for i in 0..100 {
        backend.publish(id, message(&format!("m{i}")), true).await;
    }
    backend.finish(id, complete("[99]"), None).await;
    let mut feed = backend.watch(id, "count").await.expect("watch");
    let mut messages = Vec::new();
    while let Some(JobItem::Message(m)) = next_job_item(&mut feed).await {
        messages.push(m);
    }
    assert!(
        !messages.is_empty() && messages.len() <= 10,
        "max_unread = 10 keeps 1 to 10 unread messages, not {}",
        messages.len()
    );
    assert_eq!(
        messages.last(),
        Some(&message("m99")),
        "the newest message is kept"
    );
}

/// A session's feed carries the messages of all its jobs in publish order, each job's last
/// message at its finish, and closes once nothing is pending or unread; then the session is
/// gone. Session jobs are not pollable on their own.
async fn session_messages_come_in_order_and_the_session_closes(make: &impl BackendFactory) {
    let backend = make.make(limits()).await;
    let (runner, _) = runner(&backend);
    let (a, b) = (EventId::new_random(), EventId::new_random());
    backend
        .begin(a, "add", runner, Some("s"))
        .await
        .expect("begin a");
    backend
        .begin(b, "add", runner, Some("s"))
        .await
        .expect("begin b");
    assert_eq!(
        backend.watch(a, "add").await.err(),
        Some(LookupError::NotFound),
        "a session job is not pollable on /call"
    );
    let mut feed = backend
        .watch_session("s")
        .await
        .expect("watch_session")
        .expect("the session exists once a job joined it");
    backend.publish(a, message("a1"), false).await;
    backend.publish(b, message("b1"), true).await;
    backend.publish(a, message("a2"), true).await;
    backend
        .finish(a, complete("[1]"), Some(message("a-done")))
        .await;
    for expected in ["a1", "b1", "a2", "a-done"] {
        assert_eq!(
            next_session_item(&mut feed).await,
            Some(SessionItem::Message(message(expected))),
            "session messages come in publish order"
        );
    }
    let finisher = backend.clone();
    let finished = tokio::spawn(async move {
        tokio::task::yield_now().await;
        finisher
            .finish(b, complete("[2]"), Some(message("b-done")))
            .await;
    });
    assert_eq!(
        next_session_item(&mut feed).await,
        Some(SessionItem::Message(message("b-done"))),
        "a waiting session reader is woken by a job's finish"
    );
    finished.await.expect("finisher");
    assert_eq!(
        next_session_item(&mut feed).await,
        Some(SessionItem::Closed),
        "an idle session closes"
    );
    assert_eq!(
        next_session_item(&mut feed).await,
        None,
        "the feed ends after Closed"
    );
    assert!(
        backend
            .watch_session("s")
            .await
            .expect("watch_session")
            .is_none(),
        "a closed session is gone"
    );
    assert!(
        backend
            .watch_session("never")
            .await
            .expect("watch_session")
            .is_none(),
        "an unknown session is None"
    );
}

/// A second reader of a session takes over: the first feed ends without `Closed`.
async fn a_newer_session_reader_takes_over(make: &impl BackendFactory) {
    let backend = make.make(limits()).await;
    let (runner, _) = runner(&backend);
    let id = EventId::new_random();
    backend
        .begin(id, "add", runner, Some("s"))
        .await
        .expect("begin");
    let mut old = backend
        .watch_session("s")
        .await
        .expect("watch_session")
        .expect("exists");
    let mut new = backend
        .watch_session("s")
        .await
        .expect("watch_session")
        .expect("exists");
    assert_eq!(
        next_session_item(&mut old).await,
        None,
        "the older reader's feed ends"
    );
    backend
        .finish(id, complete("[1]"), Some(message("done")))
        .await;
    assert_eq!(
        next_session_item(&mut new).await,
        Some(SessionItem::Message(message("done"))),
        "the newer reader gets the messages"
    );
}

/// A reader that leaves a session with nothing pending or unread takes it with it (soon:
/// within 5 s); one that leaves a job pending does not.
async fn a_session_left_idle_by_its_reader_goes(make: &impl BackendFactory) {
    let mut l = limits();
    l.max_sessions = 2;
    let backend = make.make(l).await;
    let (runner, _) = runner(&backend);
    let (done, pending) = (EventId::new_random(), EventId::new_random());
    for (id, session) in [(done, "left"), (pending, "kept")] {
        backend
            .begin(id, "add", runner, Some(session))
            .await
            .expect("begin");
    }
    backend
        .finish(done, complete("[1]"), Some(message("done")))
        .await;
    let mut left = backend
        .watch_session("left")
        .await
        .expect("watch_session")
        .expect("exists");
    assert_eq!(
        next_session_item(&mut left).await,
        Some(SessionItem::Message(message("done")))
    );
    drop(left);
    let kept = backend
        .watch_session("kept")
        .await
        .expect("watch_session")
        .expect("exists");
    drop(kept);
    // With `max_sessions` 2, a third session fits only once "left" is gone.
    let third = EventId::new_random();
    let gone = tokio::time::timeout(PATIENCE, async {
        loop {
            match backend.begin(third, "add", runner, Some("third")).await {
                Ok(()) => return,
                Err(BeginError::TooManySessions { .. }) => {
                    tokio::time::sleep(Duration::from_millis(10)).await
                }
                Err(other) => panic!("begin refused with {other:?}"),
            }
        }
    })
    .await;
    assert!(gone.is_ok(), "a session left idle by its reader goes");
    assert!(
        backend
            .watch_session("kept")
            .await
            .expect("watch_session")
            .is_some(),
        "a session with a pending job stays for a new reader"
    );
}

/// `max_sessions` and `max_session_jobs` hold, and a refused job takes no unfinished place.
async fn session_limits_hold(make: &impl BackendFactory) {
    let mut l = limits();
    l.max_sessions = 2;
    l.max_session_jobs = 2;
    l.max_unfinished = 5;
    let backend = make.make(l).await;
    let (runner, _) = runner(&backend);
    for session in ["s1", "s1", "s2"] {
        backend
            .begin(EventId::new_random(), "add", runner, Some(session))
            .await
            .expect("within the session limits");
    }
    assert_eq!(
        backend
            .begin(EventId::new_random(), "add", runner, Some("s1"))
            .await,
        Err(BeginError::SessionBusy { limit: 2 }),
        "a session's job past max_session_jobs is refused"
    );
    assert_eq!(
        backend
            .begin(EventId::new_random(), "add", runner, Some("s3"))
            .await,
        Err(BeginError::TooManySessions { limit: 2 }),
        "a session past max_sessions is refused"
    );
    begin(&backend, runner, "add").await;
    begin(&backend, runner, "add").await;
    assert_eq!(
        backend
            .begin(EventId::new_random(), "add", runner, None)
            .await,
        Err(BeginError::Full { limit: 5 }),
        "refused session jobs took no unfinished place: exactly 5 fit"
    );
}

/// A cancel reaches the handler of the job's runner, and no other; unknown and finished
/// jobs are not cancelled.
async fn cancel_reaches_the_runner_of_the_job(make: &impl BackendFactory) {
    let backend = make.make(limits()).await;
    let (one, one_saw) = runner(&backend);
    let (_two, two_saw) = runner(&backend);
    let id = begin(&backend, one, "sleep").await;
    assert!(
        backend.cancel(id).await,
        "cancelling an unfinished job is true"
    );
    let delivered = tokio::time::timeout(PATIENCE, async {
        loop {
            if one_saw
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&id)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(
        delivered.is_ok(),
        "the job's runner gets the cancel within 5 s"
    );
    assert!(
        two_saw.lock().unwrap_or_else(|e| e.into_inner()).is_empty(),
        "another runner gets no cancel"
    );
    assert!(
        !backend.cancel(EventId::new_random()).await,
        "cancelling an unknown job is false"
    );
    backend.finish(id, complete("[null]"), None).await;
    assert!(
        !backend.cancel(id).await,
        "cancelling a finished job is false"
    );
}

/// A runner that stops renewing loses its jobs after the lease: a `/call` reader gets an
/// error outcome, a session reader `Lost`, and their places are freed. A runner that renews
/// keeps its jobs. (Real time, with a lease of 300 ms: a shared backend keeps leases on its
/// own clock.)
async fn lapsed_lease_ends_the_jobs_of_its_runner(make: &impl BackendFactory) {
    let lease = Duration::from_millis(300);
    let mut l = limits();
    l.lease = lease;
    l.max_unfinished = 3;
    let backend = make.make(l).await;
    let (alive, _) = runner(&backend);
    let (dead, _) = runner(&backend);
    let started = Instant::now();
    let kept = begin(&backend, alive, "add").await;
    let call = begin(&backend, dead, "add").await;
    let queued = EventId::new_random();
    backend
        .begin(queued, "add", dead, Some("s"))
        .await
        .expect("begin");
    let call_feed = backend.watch(call, "add").await.expect("watch");
    let mut session_feed = backend
        .watch_session("s")
        .await
        .expect("watch_session")
        .expect("exists");
    backend.sweep(Instant::now()).await;
    assert!(
        backend.cancel(call).await,
        "a job within its lease is not ended by a sweep"
    );
    // The service's part: `alive` renews and sweeps often; `dead` never renews.
    let keeper = backend.clone();
    let housekeeping = tokio::spawn(async move {
        loop {
            keeper.renew(alive).await.expect("renew");
            keeper.sweep(Instant::now()).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let ended = outcome_of(call_feed).await;
    assert!(
        started.elapsed() >= lease,
        "a job is not ended before its runner's lease ran out"
    );
    match ended {
        Some(Outcome::Error(text)) => assert!(
            String::from_utf8_lossy(&text).contains("lease"),
            "the error says the lease ran out: {}",
            String::from_utf8_lossy(&text)
        ),
        other => panic!("a lapsed job's reader gets an error outcome, not {other:?}"),
    }
    assert_eq!(
        next_session_item(&mut session_feed).await,
        Some(SessionItem::Lost(queued)),
        "a lapsed session job is reported Lost"
    );
    assert_eq!(
        next_session_item(&mut session_feed).await,
        Some(SessionItem::Closed)
    );
    assert!(
        backend.cancel(kept).await,
        "the renewing runner's job is still unfinished"
    );
    begin(&backend, alive, "add").await;
    begin(&backend, alive, "add").await;
    housekeeping.abort();
}
