#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod args;
mod auth;
pub mod backend;
mod body;
mod builder;
mod call;
mod call_log;
mod cancel;
mod concurrency;
mod config;
mod context;
mod cors;
mod direct;
mod documents;
mod error;
mod event_id;
mod fanout;
pub mod files;
mod follows;
mod frames;
mod housekeeping;
#[cfg(feature = "mcp")]
mod mcp;
mod mcp_seam;
mod output;
mod positional;
mod registry;
mod request_body;
mod root_url;
mod route_path;
mod router;
mod routes;
mod schema;
#[cfg(feature = "server")]
pub mod server;
mod service;
mod sse;
mod state;
mod typed;
mod validate;

// What a server author needs first. The store interface is in [`backend`], the hyper-util
// helpers in [`server`], the file types in [`files`] (`FileData` is here too: handlers use
// it).
pub use auth::{AuthRejection, AuthRequest, AuthTarget};
pub use body::ResponseBody;
pub use builder::Builder;
pub use config::Config;
pub use context::CallContext;
pub use error::BuildError;
pub use event_id::EventId;
pub use fanout::{Fanout, Follow, DEFAULT_FANOUT_BACKLOG, DEFAULT_FANOUT_HEARTBEAT};
pub use files::FileData;
pub use registry::{Endpoint, ParamSpec, Registry, Visibility};
pub use service::{GradioCompat, ResponseFuture};
pub use typed::NoArgs;
