//! The state of a built service: its endpoints, documents, backend, files and settings,
//! immutable after build except what the backend and the file store hold. Every route reads it.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use http::Method;

use crate::args::Signature;
use crate::auth::AuthorizeFn;
use crate::backend::{Backend, RunnerId};
use crate::cancel::Running;
use crate::concurrency::Limiter;
use crate::config::Config;
use crate::cors::Cors;
use crate::documents::template::Template;
use crate::error::ApiError;
use crate::files::FileStore;
use crate::mcp_seam::McpServe;
use crate::route_path::{parse as parse_route, Route};

/// A built, callable endpoint (private ones are not kept).
pub(crate) struct CompiledEndpoint {
    pub(crate) sig: Signature,
    /// Whether results may hold files whose URLs must be filled in.
    pub(crate) has_file_output: bool,
    /// Its handler yields a stream of values.
    pub(crate) streaming: bool,
    /// Its calls follow a [`Fanout`](crate::Fanout).
    pub(crate) follow: bool,
    pub(crate) limiter: Option<Arc<Limiter>>,
}

/// Everything the routes share; immutable after build except the stores.
pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) endpoints: HashMap<Arc<str>, CompiledEndpoint>,
    /// Endpoint names by `fn_index`, as `/config` lists them.
    pub(crate) dependencies: Vec<Arc<str>>,
    pub(crate) endpoint_list: String,
    pub(crate) info: Template,
    pub(crate) info_all: Template,
    pub(crate) app_config: Template,
    pub(crate) openapi: Template,
    /// Jobs, results, messages, sessions, cancellation and limits: shared with other
    /// replicas when the backend is.
    pub(crate) backend: Arc<dyn Backend>,
    /// This replica, as the backend knows it.
    pub(crate) runner: RunnerId,
    pub(crate) files: Arc<FileStore>,
    /// The calls this replica runs.
    pub(crate) running: Arc<Running>,
    /// Follow calls waiting for their poll, when the backend is this process's own.
    pub(crate) follows: Arc<crate::follows::FollowCalls>,
    /// Set by [`GradioCompat::shutdown`](crate::GradioCompat::shutdown): new calls are refused.
    pub(crate) closing: AtomicBool,
    pub(crate) cors: Cors,
    pub(crate) authorize: Option<AuthorizeFn>,
    /// The MCP server, when it is on (set once the state is shared: it calls back into it).
    pub(crate) mcp: Option<Box<dyn McpServe>>,
}

impl Inner {
    /// `api` when it names a callable endpoint (for logs: unknown path text is not logged).
    pub(crate) fn known<'a>(&self, api: &'a str) -> Option<&'a str> {
        self.endpoints.contains_key(api).then_some(api)
    }

    /// `path` without the mount path (`root_path`), when it starts with it: a framework or
    /// proxy in front did not strip it.
    pub(crate) fn unmounted<'a>(&self, path: &'a str) -> Option<&'a str> {
        let root = self.config.root_path.as_str();
        if root.is_empty() {
            return None;
        }
        path.strip_prefix(root).filter(|rest| rest.starts_with('/'))
    }

    /// The route `path` names: as it is, else without the mount path.
    pub(crate) fn route_of<'a>(&self, path: &'a str, method: &Method) -> Route<'a> {
        let prefix = self.config.prefix.as_str();
        match parse_route(path, prefix, method) {
            Route::Unknown => self
                .unmounted(path)
                .map_or(Route::Unknown, |rest| parse_route(rest, prefix, method)),
            route => route,
        }
    }

    pub(crate) fn endpoint(&self, api: &str) -> Result<&CompiledEndpoint, ApiError> {
        self.endpoints.get(api).ok_or_else(|| {
            ApiError::not_found(format!(
                "unknown endpoint \"/{api}\"; available endpoints: {} (see GET {}/info)",
                self.endpoint_list, self.config.prefix
            ))
        })
    }
}
