#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod args;
mod auth;
mod body;
mod builder;
mod call;
mod call_log;
mod cancel;
mod concurrency;
mod config;
mod context;
mod cors;
mod documents;
mod error;
mod event_id;
mod files;
mod frames;
mod housekeeping;
mod live;
mod memory_store;
mod queue;
mod registry;
mod request_body;
mod root_url;
mod route_path;
mod router;
mod routes;
mod schema;
#[cfg(feature = "server")]
mod server;
mod service;
mod sse;
mod state;
mod store;
mod typed;
mod validate;

pub use auth::{AuthRejection, AuthRequest, AuthTarget};
pub use body::ResponseBody;
pub use builder::Builder;
pub use config::Config;
pub use context::CallContext;
pub use error::BuildError;
pub use event_id::{EventId, EventIdHex};
pub use files::data::{FileData, FileMeta, FILE_DATA_TYPE};
pub use memory_store::{MemoryStore, StoreLimits};
pub use registry::{Endpoint, ParamSpec, Registry, Visibility};
#[cfg(feature = "server")]
pub use server::{serve, serve_with, shutdown_signal, ServeOptions};
pub use service::{GradioCompat, ResponseFuture};
pub use store::{BeginError, EventStore, LookupError, Outcome, Subscription};
pub use typed::NoArgs;

/// Whether the process runs on Hugging Face Spaces (the `SYSTEM` environment variable is
/// `spaces`). Servers use it to bind `0.0.0.0` there and loopback elsewhere.
pub fn on_spaces() -> bool {
    std::env::var("SYSTEM").is_ok_and(|v| v == "spaces")
}
