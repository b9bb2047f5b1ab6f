//! Where calls wait and results sit until they are polled: the [`EventStore`] interface that
//! a store shared by several replicas implements, and the default, bounded in-memory
//! [`MemoryStore`].
//!
//! ```
//! use std::sync::Arc;
//! use gradio_compat::backend::{MemoryStore, StoreLimits};
//! use gradio_compat::{GradioCompat, Registry};
//!
//! let mut limits = StoreLimits::default();
//! limits.result_capacity = 1_000;
//! let service = GradioCompat::builder(Registry::new())
//!     .store(Arc::new(MemoryStore::new(limits)))
//!     .build();
//! # drop(service);
//! ```

mod memory;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use crate::event_id::{EventId, EventIdHex, ParseEventIdError};
pub use memory::{MemoryStore, StoreLimits};
pub use store::{BeginError, EventStore, LookupError, Outcome, Subscription};
