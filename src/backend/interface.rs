//! The [`Backend`] interface: everything a call on one replica shares with a poll, a stream,
//! a queue read or a cancel on another.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::BoxStream;

use crate::backend::Reply;
use crate::event_id::EventId;

/// How a call ended, already encoded as JSON so that delivery never re-serialises it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The call succeeded. The bytes are the JSON array of output values, e.g. `[3]`
    /// (`[null]` for a function without a result).
    Complete(Bytes),
    /// The call failed. The bytes are the message as a JSON string, e.g. `"boom"`.
    Error(Bytes),
}

impl Outcome {
    /// A failure with this message.
    pub fn error(message: &str) -> Self {
        let encoded = serde_json::to_vec(message).unwrap_or_else(|_| b"\"error\"".to_vec());
        Outcome::Error(Bytes::from(encoded))
    }
}

/// The backend could not be reached or answered with an error (a network store that is
/// down, for example). The service answers 503 with this message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackendError {
    /// What went wrong, for people: it names the store and what failed.
    pub message: String,
}

impl BackendError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BackendError {}

/// Why a new job could not be begun.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BeginError {
    /// Too many jobs are unfinished; the caller should retry later.
    Full {
        /// The limit that was reached.
        limit: usize,
    },
    /// Too many queue sessions are open.
    TooManySessions {
        /// The limit that was reached.
        limit: usize,
    },
    /// The session already has this many pending jobs, its limit.
    SessionBusy {
        /// The limit that was reached.
        limit: usize,
    },
    /// The backend failed.
    Unavailable(BackendError),
}

impl fmt::Display for BeginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BeginError::Full { limit } => write!(
                f,
                "the server already has {limit} unfinished calls, its limit; retry later"
            ),
            BeginError::TooManySessions { limit } => write!(
                f,
                "the server already has {limit} open queue sessions, its limit; retry later"
            ),
            BeginError::SessionBusy { limit } => write!(
                f,
                "this session already has {limit} pending jobs, its limit; wait for some to finish"
            ),
            BeginError::Unavailable(e) => write!(f, "the shared store is unavailable: {e}"),
        }
    }
}

impl std::error::Error for BeginError {}

/// Why a poll found nothing to stream.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LookupError {
    /// No such job: never created, already delivered, expired, or run through a queue session.
    NotFound,
    /// The job exists but belongs to another endpoint (named here).
    WrongEndpoint {
        /// The endpoint the job belongs to.
        actual: String,
    },
    /// The backend failed.
    Unavailable(BackendError),
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::NotFound => {
                f.write_str("no such event: it never existed, was already delivered, or expired")
            }
            LookupError::WrongEndpoint { actual } => {
                write!(f, "the event belongs to another endpoint, /{actual}")
            }
            LookupError::Unavailable(e) => write!(f, "the shared store is unavailable: {e}"),
        }
    }
}

impl std::error::Error for LookupError {}

/// What the feed of one job yields, in order: its unread messages, then its outcome (or why
/// there is none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobItem {
    /// A message the runner published (for `/call` jobs: an `event: generating` frame).
    Message(Bytes),
    /// How the job ended; the feed ends after it. A feed yields it only after it removed the
    /// finished job (consumed it), so that the outcome reaches exactly one reader.
    Outcome(Outcome),
    /// The feed ends without the outcome, for this reason.
    Gone(Gone),
}

/// Why a job's feed ended without its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Gone {
    /// Another reader of the same job took the outcome: each result goes to one poll.
    Delivered,
    /// The shared store lost the job while this reader waited: it restarted without
    /// persistence, was flushed, or failed over to a copy that did not have it.
    Lost,
    /// The store could not be reached for longer than the backend's timeout; what became of
    /// the job is unknown.
    Unavailable(BackendError),
}

impl fmt::Display for Gone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gone::Delivered => f.write_str(
                "its result was delivered to another poll of the same event (each result goes \
                 to exactly one poll)",
            ),
            Gone::Lost => f.write_str(
                "the shared store lost it while this poll waited (the store restarted without \
                 persistence, was flushed, or failed over to a copy without it); start the \
                 call again",
            ),
            Gone::Unavailable(e) => write!(
                f,
                "the shared store stopped answering ({e}), so what became of the call is \
                 unknown; poll again later, or start the call again"
            ),
        }
    }
}

/// What the feed of one queue session yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionItem {
    /// A message of one of the session's jobs, framed for the queue stream.
    Message(Bytes),
    /// The job's runner stopped renewing its lease: the job is lost. The service tells the
    /// client with a failed `process_completed`.
    Lost(EventId),
    /// The session has no pending job and no unread message, and was closed; the feed ends
    /// after this (the service sends `close_stream`).
    Closed,
    /// The store could not be reached for longer than the backend's timeout; the feed ends
    /// after this (the service tells the client with an `unexpected_error` message).
    Unavailable(BackendError),
}

/// A job's feed: ends after [`JobItem::Outcome`] or [`JobItem::Gone`], or without either
/// when the job was removed meanwhile for a reason the backend cannot tell.
pub type JobFeed = BoxStream<'static, JobItem>;

/// A session's feed: ends after [`SessionItem::Closed`] (sent once the session stayed idle for
/// [`CLOSE_GRACE`]), or without it when a newer reader of the same session took over.
pub type SessionFeed = BoxStream<'static, SessionItem>;

/// Receives the cancel requests for the jobs of one runner (see [`Backend::attach`]).
pub type CancelHandler = Arc<dyn Fn(EventId) + Send + Sync>;

/// The record of a file the service created (an upload, or a file a handler returned), which
/// lets every replica sharing the backend accept and serve it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRecord {
    /// The name to show for it (the uploaded file's name).
    pub orig_name: String,
    /// Whether the service wrote it (and deletes it at expiry), rather than a handler's own
    /// file elsewhere.
    pub owned: bool,
}

/// A process that runs jobs (a replica), as [`Backend::attach`] registered it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RunnerId(pub u64);

/// The shared state of a service: jobs and their results, their messages, queue sessions,
/// cancellation, leases and the limits, behind one async interface.
///
/// The default is the in-memory [`MemoryBackend`](crate::backend::MemoryBackend); a backend
/// that several replicas share (Redis, for example) makes a call on one replica pollable,
/// streamable and cancellable from any other. Methods answer with a [`Reply`]: an in-memory
/// backend answers at once with [`Reply::ready`], a networked one with [`Reply::pending`].
///
/// ## The life of a job
/// 1. [`begin`](Self::begin) records it as unfinished, counted against the unfinished limit
///    (one count for `/call` and queue jobs together), for an endpoint and a runner, and, for
///    queue jobs, in a session.
/// 2. The runner [`publish`](Self::publish)es its messages: partial results, progress, log
///    and queue-place (estimation) messages, already framed for the route that reads them.
///    Messages of a job are delivered in the order they were published.
/// 3. The runner [`finish`](Self::finish)es it. A job outside a session keeps its outcome
///    for its poll ([`watch`](Self::watch) then [`consume`](Self::consume) once delivered)
///    under a capacity and a time to live; a session job appends its last message to the
///    session and counts as done there.
/// 4. Meanwhile [`cancel`](Self::cancel) from any replica reaches the [`CancelHandler`] of the
///    runner that [`attach`](Self::attach)ed with the job's runner id.
/// 5. A runner [`renew`](Self::renew)s its lease. When it stops for longer than
///    [`lease`](Self::lease) (it crashed), [`sweep`](Self::sweep) ends its unfinished jobs
///    with an error, so that their pollers never hang.
///
/// Implementations bound their memory: a result capacity, a time to live, an unfinished
/// limit, session limits, and a bounded buffer of unread messages per job and per session
/// (past it, droppable messages are dropped; others never are). They never drop an
/// unfinished job except through its lease.
///
/// The `testing` feature's [`backend_suite`](crate::backend::testing::backend_suite) checks all
/// of this for any implementation.
pub trait Backend: Send + Sync + 'static {
    /// Registers a runner: cancel requests for the jobs begun with the returned id go to
    /// `on_cancel`, on the process that called this. Its lease starts now.
    fn attach(&self, on_cancel: CancelHandler) -> RunnerId;

    /// Renews `runner`'s lease. The service calls it every third of [`lease`](Self::lease).
    fn renew(&self, runner: RunnerId) -> Reply<Result<(), BackendError>>;

    /// How long a runner's jobs outlive its last renewal. Default 30 s.
    fn lease(&self) -> Duration {
        Duration::from_secs(30)
    }

    /// Records a new, unfinished job `id` of endpoint `api`, run by `runner`, in queue
    /// `session` when given. Checks the unfinished limit and the session limits.
    fn begin(
        &self,
        id: EventId,
        api: &str,
        runner: RunnerId,
        session: Option<&str>,
    ) -> Reply<Result<(), BeginError>>;

    /// Appends a message of unfinished job `id`: to its own feed, or to its session's feed.
    /// A `droppable` message may be dropped when the reader is behind (a partial result that
    /// a later one supersedes, progress, log); others never are. Messages of unknown or
    /// finished jobs are ignored.
    fn publish(&self, id: EventId, message: Bytes, droppable: bool) -> Reply<()>;

    /// Records how job `id` ended and wakes its readers. For a session job,
    /// `session_message` is appended to the session's feed and the job is done there; its
    /// outcome is not kept. A job finishes once: later calls change nothing.
    fn finish(&self, id: EventId, outcome: Outcome, session_message: Option<Bytes>) -> Reply<()>;

    /// Opens the feed of job `id` for endpoint `api`, atomically checking the endpoint: a
    /// mismatch changes and consumes nothing. Unread messages are handed to one reader each,
    /// and so is the outcome: a feed consumes the finished job (removes it, atomically) before
    /// it yields [`JobItem::Outcome`], and a feed that finds it already consumed by another
    /// reader ends with [`Gone::Delivered`]. With several polls open on one job, exactly one
    /// gets its result; a poll that comes after gets [`LookupError::NotFound`].
    fn watch(&self, id: EventId, api: &str) -> Reply<Result<JobFeed, LookupError>>;

    /// Removes finished job `id` (a feed does it itself before it yields the outcome; this is
    /// for a reader that got the outcome another way). Unfinished jobs are left alone.
    fn consume(&self, id: EventId) -> Reply<()>;

    /// Whether a `/call` whose handler is done at once should be recorded already finished,
    /// with [`begin_finished`](Self::begin_finished), and polled with [`take`](Self::take):
    /// worth it when each step is a round trip to a network store, and in memory, where it
    /// saves the job's task. The service then runs such a handler's first step before it
    /// answers the `POST` (endpoints without a concurrency limit or file outputs). Default
    /// `false`, for a backend whose `begin` answers later and that does not implement
    /// `begin_finished` itself.
    fn prefers_fused_calls(&self) -> bool {
        false
    }

    /// Records `/call` job `id` of `api`, run by `runner`, as already finished with `outcome`:
    /// [`begin`](Self::begin) and [`finish`](Self::finish) in one step. It never counts as
    /// unfinished; it is kept like any result (capacity, time to live). Fails only when the
    /// backend is unavailable (or the id is taken). The default does both steps, which needs
    /// `begin` to answer at once ([`Reply::ready`]); a backend that answers later and prefers
    /// fused calls implements this itself.
    fn begin_finished(
        &self,
        id: EventId,
        api: &str,
        runner: RunnerId,
        outcome: Outcome,
    ) -> Reply<Result<(), BeginError>> {
        match self.begin(id, api, runner, None).now() {
            Ok(Ok(())) => match self.finish(id, outcome, None).now() {
                Ok(()) => Reply::ready(Ok(())),
                Err(finishing) => Reply::pending(async move {
                    finishing.await;
                    Ok(())
                }),
            },
            Ok(Err(e)) => Reply::ready(Err(e)),
            Err(_) => Reply::ready(Err(BeginError::Unavailable(BackendError::new(
                "this backend answers later, so it must implement begin_finished itself",
            )))),
        }
    }

    /// Opens the feed of job `id` like [`watch`](Self::watch), and may take the job at once
    /// when its outcome is all there is left to read: then `true` comes back, the job is gone
    /// for every other reader (no [`consume`](Self::consume) follows), and a reader that does
    /// not deliver it gives it back with [`restore`](Self::restore). The default never takes.
    fn take(&self, id: EventId, api: &str) -> Reply<Result<(JobFeed, bool), LookupError>> {
        match self.watch(id, api).now() {
            Ok(watched) => Reply::ready(watched.map(|feed| (feed, false))),
            Err(watching) => {
                Reply::pending(async move { watching.await.map(|feed| (feed, false)) })
            }
        }
    }

    /// Puts back a finished `/call` job that [`take`](Self::take) took but could not
    /// deliver (its client left first), with its outcome; unless the id exists again. The
    /// default does nothing (it never takes).
    fn restore(&self, id: EventId, api: &str, outcome: Outcome) -> Reply<()> {
        let _ = (id, api, outcome);
        Reply::ready(())
    }

    /// Opens the feed of queue session `session`: `None` when it does not exist. A new reader
    /// takes over from an older one, whose feed ends.
    fn watch_session(&self, session: &str) -> Reply<Result<Option<SessionFeed>, BackendError>>;

    /// Asks the runner of unfinished job `id` to cancel it. False when no such job runs.
    fn cancel(&self, id: EventId) -> Reply<bool>;

    /// Drops results and sessions past their time to live, and ends the jobs of runners
    /// whose lease ran out. Returns how many entries were dropped or ended.
    fn sweep(&self, now: Instant) -> Reply<usize>;

    /// How often the service should call [`sweep`](Self::sweep). Default 1 s.
    fn sweep_interval(&self) -> Duration {
        Duration::from_secs(1)
    }

    /// Whether every poll of this backend's jobs reaches this process (no other replica shares
    /// it). The service then serves calls that follow a [`Fanout`](crate::Fanout) straight
    /// from the fan-out's shared buffer, with no job in the backend; otherwise each such call
    /// runs as a streaming job, which any replica can poll. Default `false`.
    fn is_local(&self) -> bool {
        false
    }

    /// Whether other processes share this backend's file records: a service then leaves its
    /// files to their records' expiry when it stops, and looks up files it does not know.
    /// Default `false`.
    fn shares_files(&self) -> bool {
        false
    }

    /// Records a file the service created under `path` (on a volume the replicas share), kept
    /// for `ttl` after its last use. The default records nothing: files then stay with the
    /// replica that created them.
    fn record_file(
        &self,
        path: &str,
        record: FileRecord,
        ttl: Duration,
    ) -> Reply<Result<(), BackendError>> {
        let _ = (path, record, ttl);
        Reply::ready(Ok(()))
    }

    /// The record of the file under `path`, when one is kept; with `touch` its time to live
    /// starts again (a call used it). The default knows none.
    fn file_record(&self, path: &str, touch: Option<Duration>) -> Reply<Option<FileRecord>> {
        let _ = (path, touch);
        Reply::ready(None)
    }
}

/// How long a queue session must stay idle (nothing pending or unread) before its feed
/// closes it. A client that joins a job while the previous one completes may read the join's
/// answer before the `close_stream` that a quicker close would send; it would then never open
/// a new stream for that job (the JS client does this). Joins already on their way land
/// within the grace and keep the stream open.
pub const CLOSE_GRACE: Duration = Duration::from_millis(250);

/// The message a lost job's pollers get.
pub(crate) fn lost_message(lease: Duration) -> String {
    format!(
        "the server running this call stopped answering for {} s (its lease ran out); it may \
         have crashed. Start the call again",
        lease.as_secs_f64()
    )
}

/// The error outcome of a job whose runner's lease (`lease`) ran out: what a backend hands
/// its readers when it ends such a job.
pub fn lost_outcome(lease: Duration) -> Outcome {
    Outcome::error(&lost_message(lease))
}
