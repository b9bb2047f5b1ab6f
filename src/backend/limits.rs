//! [`BackendLimits`]: the bounds every backend keeps.

use std::time::Duration;

/// The bounds of a backend: results, unfinished jobs, sessions, unread messages and the lease.
/// [`MemoryBackend`](crate::backend::MemoryBackend) enforces them; a backend of your own takes
/// the same values so that the [test suite](crate::backend::testing) can check them.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BackendLimits {
    /// Finished results kept until polled; past this the oldest are evicted. Default 10,000.
    pub result_capacity: usize,
    /// How long a finished result waits for its poll, and how long an unread, idle queue
    /// session is kept. Default 10 minutes.
    pub result_ttl: Duration,
    /// Jobs that may be unfinished at once, over `/call` and the queue together; past this,
    /// new calls get 503. Default 10,000.
    pub max_unfinished: usize,
    /// Queue sessions open at once. Default 10,000.
    pub max_sessions: usize,
    /// Pending jobs per queue session. Default 1,000.
    pub max_session_jobs: usize,
    /// Unread messages kept per job (oldest dropped first) and droppable messages per
    /// session (newest dropped). Default 1,000 per job, four times that per session.
    pub max_unread: usize,
    /// How long a runner's jobs outlive its last lease renewal. Default 30 s.
    pub lease: Duration,
}

impl Default for BackendLimits {
    fn default() -> Self {
        Self {
            result_capacity: 10_000,
            result_ttl: Duration::from_secs(600),
            max_unfinished: 10_000,
            max_sessions: 10_000,
            max_session_jobs: 1_000,
            max_unread: 1_000,
            lease: Duration::from_secs(30),
        }
    }
}
