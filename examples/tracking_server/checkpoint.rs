//! Moves the write-ahead log into the database file on a thread of its own.
//!
//! In WAL mode SQLite copies the log back into the database ("checkpoints") once the log
//! passes a size, on the connection that commits, with an `fsync`. Left there, every few
//! dozen batches one `log` call would pay for it. Instead, writes commit with SQLite's
//! automatic checkpoint set high (a backstop), and this thread checkpoints every
//! [`EVERY`] on its own connection, without blocking writers (`PASSIVE`). Durability is the
//! same: a commit is in the log before the call completes either way.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;

/// How often the log is checkpointed.
pub const EVERY: Duration = Duration::from_millis(500);

/// Pages the log may hold before a commit checkpoints it itself (about 64 MiB): reached only
/// when this thread falls behind.
pub const BACKSTOP_PAGES: u32 = 16_384;

/// The checkpointing thread; it stops when this is dropped.
pub struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path` (already open in WAL mode).
    pub fn start(path: &Path) -> Result<Checkpointer, String> {
        let conn = Connection::open(path).map_err(|e| {
            format!(
                "the database {} cannot be opened for checkpoints: {e}",
                path.display()
            )
        })?;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("tracking-checkpoint".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "checkpoint failed; the next one retries");
                    }
                }
                // A last full checkpoint, so a stopped server leaves a short log.
                let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            })
            .map_err(|e| format!("the checkpoint thread cannot start: {e}"))?;
        Ok(Checkpointer { _stop: stop })
    }
}
