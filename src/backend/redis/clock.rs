//! The Redis server's clock as this replica reads it, so that a request that takes a result
//! (or a queue session's items) can carry a deadline in that clock. A request that waited in a
//! stalled link until after its caller gave up (the route answered 503, or the reader timed
//! out and read again) reaches Redis late; with a deadline, it is refused there, and what it
//! would have taken stays for the next poll or read, instead of going to a caller that no
//! longer waits for it.
//!
//! The clock is read from replies that carry the server's time (each lease renewal's, and a
//! refused request's), dated at the middle of their round trip; a reading whose round trip was
//! longer than the clock's precision is not used, so a reading is off by at most half of
//! that. Deadlines are set that much (twice) earlier than the caller's own timeout, so that a
//! request the caller still waits for is never refused for a wrong reading, only retried.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The server's clock, as last read.
pub(super) struct ServerClock {
    /// When (this process's monotonic clock) the server's clock read how many ms.
    reading: Mutex<Option<(Instant, u64)>>,
    precision: Duration,
}

impl ServerClock {
    /// A clock not read yet; readings must be dated within `precision`.
    pub(super) fn new(precision: Duration) -> Self {
        Self {
            reading: Mutex::new(None),
            precision,
        }
    }

    /// Notes the server's time `server_ms`, from the reply to a request sent at `sent` that
    /// arrived now. Returns whether the reading was used.
    pub(super) fn note(&self, server_ms: u64, sent: Instant) -> bool {
        let arrived = Instant::now();
        let trip = arrived.saturating_duration_since(sent);
        if trip > self.precision {
            return false;
        }
        let at = sent + trip / 2;
        *self.reading.lock().unwrap_or_else(|e| e.into_inner()) = Some((at, server_ms));
        true
    }

    /// The server's time (ms) when a request sent now and answered within `timeout` must have
    /// run by, or 0 (no deadline) before the first reading.
    pub(super) fn deadline(&self, timeout: Duration) -> u64 {
        let Some((at, server_ms)) = *self.reading.lock().unwrap_or_else(|e| e.into_inner()) else {
            return 0;
        };
        // Earlier than the caller's timeout by twice the reading's possible error, and never
        // less than half of it.
        let within = timeout.saturating_sub(self.precision * 2).max(timeout / 2);
        let now = server_ms + Instant::now().saturating_duration_since(at).as_millis() as u64;
        now + within.as_millis() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_follows_the_server_clock_and_ignores_slow_readings() {
        let clock = ServerClock::new(Duration::from_millis(50));
        assert_eq!(
            clock.deadline(Duration::from_secs(2)),
            0,
            "no reading, no deadline"
        );
        assert!(clock.note(1_000_000, Instant::now()));
        let deadline = clock.deadline(Duration::from_secs(2));
        // 2 s less twice the precision, from about the reading.
        assert!((1_001_900..=1_001_950).contains(&deadline), "{deadline}");
        // A reply that took longer than the precision does not date a reading.
        let slow = Instant::now() - Duration::from_millis(200);
        assert!(!clock.note(5_000_000, slow));
        assert!(clock.deadline(Duration::from_secs(2)) < 1_002_000);
        // A short timeout keeps at least half of it.
        assert!(clock.deadline(Duration::from_millis(60)) >= 1_000_030);
    }
}
