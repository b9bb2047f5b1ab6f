//! The event store: where calls wait and results sit until they are polled.
//!
//! [`EventStore`] is the seam for a shared store (several replicas behind one URL); the
//! default is [`MemoryStore`](crate::backend::MemoryStore).

use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;

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

/// Why a new call could not be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BeginError {
    /// Too many calls are unfinished; the caller should retry later.
    Full {
        /// The limit that was reached.
        limit: usize,
    },
}

impl fmt::Display for BeginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BeginError::Full { limit } => write!(
                f,
                "the server already has {limit} unfinished calls, its limit; retry later"
            ),
        }
    }
}

/// Why a poll found nothing to stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupError {
    /// No such event: never created, already delivered, or expired.
    NotFound,
    /// The event exists but belongs to another endpoint (named here).
    WrongEndpoint {
        /// The endpoint the event belongs to.
        actual: String,
    },
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
        }
    }
}

impl std::error::Error for LookupError {}

impl std::error::Error for BeginError {}

/// What a poll gets: the outcome now, or a channel that yields it when the call ends.
#[derive(Debug)]
pub enum Subscription {
    /// The call has already ended.
    Ready(Outcome),
    /// The call is still running; the receiver yields its outcome. If the sender is dropped
    /// without a value, the event was removed meanwhile.
    Waiting(oneshot::Receiver<Outcome>),
}

/// Storage for calls and their results.
///
/// The service calls these methods from request handlers and job tasks, so they must not
/// block for long. Every method is keyed by [`EventId`]; the endpoint name given to
/// [`begin`](EventStore::begin) is checked by [`subscribe`](EventStore::subscribe) so that a
/// poll under the wrong endpoint finds nothing and consumes nothing.
///
/// Implementations must bound their memory: a capacity for finished results, a time to live,
/// and a limit on unfinished calls. They must never drop an unfinished call.
pub trait EventStore: Send + Sync + 'static {
    /// Records a new, unfinished call of endpoint `api`.
    fn begin(&self, id: EventId, api: &str) -> Result<(), BeginError>;

    /// Records how call `id` ended and wakes its waiting subscribers.
    fn finish(&self, id: EventId, outcome: Outcome);

    /// Looks call `id` up for endpoint `api`, atomically: a mismatch changes nothing.
    fn subscribe(&self, id: EventId, api: &str) -> Result<Subscription, LookupError>;

    /// Removes call `id` once its result has been handed to a connection. Unfinished calls
    /// are left alone.
    fn consume(&self, id: EventId);

    /// Drops results older than the time to live. Returns how many were dropped.
    fn sweep(&self, now: Instant) -> usize;

    /// How often the service should call [`sweep`](EventStore::sweep). Default 1 s.
    fn sweep_interval(&self) -> Duration {
        Duration::from_secs(1)
    }
}
