//! The shared state of a service behind one async interface, [`Backend`]: jobs and their
//! one-shot results, the messages of running jobs (partial results, progress, log, queue
//! places), queue sessions, cancellation, leases and the limits. The default,
//! [`MemoryBackend`], keeps it in this process; a backend that several replicas share makes
//! every route work on any replica.
//!
//! ```
//! use std::sync::Arc;
//! use gradio_compat::backend::{BackendLimits, MemoryBackend};
//! use gradio_compat::{GradioCompat, Registry};
//!
//! let mut limits = BackendLimits::default();
//! limits.result_capacity = 1_000;
//! let service = GradioCompat::builder(Registry::new())
//!     .backend(Arc::new(MemoryBackend::new(limits)))
//!     .build();
//! # drop(service);
//! ```

mod interface;
mod limits;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod reply;
#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "redis")]
pub use self::redis::{RedisBackend, RedisOptions};
pub use crate::event_id::{EventId, EventIdHex, ParseEventIdError};
pub use interface::{
    lost_outcome, Backend, BackendError, BeginError, CancelHandler, FileRecord, Gone, JobFeed,
    JobItem, LookupError, Outcome, RunnerId, SessionFeed, SessionItem, CLOSE_GRACE,
};
pub use limits::BackendLimits;
pub use memory::MemoryBackend;
pub use reply::Reply;
