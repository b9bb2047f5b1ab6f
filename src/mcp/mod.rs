//! The MCP server (feature `mcp`): every public endpoint as a tool, over the official `rmcp`
//! SDK's streamable HTTP transport, stateless (no `Mcp-Session-Id`, each POST answered with
//! an SSE stream), so any replica can answer any request.
//!
//! - `catalog`: tool names and input schemas, built once; `GET {p}/mcp/schema`.
//! - `handler`: `tools/list` and `tools/call` (through `call`, like `/call`).
//! - `inputs` and `fetch`: file inputs given as URLs or `data:` URIs.
//! - `progress`: a job's messages as progress notifications.
//! - `content`: a job's outcome as a tool result.

pub(crate) mod catalog;
mod content;
mod fetch;
mod handler;
mod inputs;
mod progress;

use std::sync::{Arc, Weak};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::body::ResponseBody;
use crate::config::Config;
use crate::state::Inner;

pub(crate) use catalog::Catalog;
use handler::Handler;

type Transport = StreamableHttpService<Handler, NeverSessionManager>;

/// The MCP part of a built service.
pub(crate) struct McpServer {
    pub(crate) catalog: Catalog,
    transport: Option<Transport>,
}

impl McpServer {
    /// The server for these tools; [`bind`](Self::bind) connects it to the service.
    pub(crate) fn new(catalog: Catalog) -> Self {
        Self {
            catalog,
            transport: None,
        }
    }

    /// Connects the transport to the service it calls (which owns this server, hence the weak
    /// reference).
    pub(crate) fn bind(&mut self, inner: Weak<Inner>, config: &Config) {
        let mut settings = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(false)
            .with_sse_keep_alive(Some(config.heartbeat_interval))
            .with_max_request_body_bytes(config.max_body_bytes);
        settings = if config.mcp_allowed_hosts.is_empty() {
            settings.disable_allowed_hosts()
        } else {
            settings.with_allowed_hosts(config.mcp_allowed_hosts.iter().cloned())
        };
        let handler = Handler { inner };
        self.transport = Some(StreamableHttpService::new(
            move || Ok(handler.clone()),
            Arc::new(NeverSessionManager::default()),
            settings,
        ));
    }

    /// Answers one request to `{prefix}/mcp`.
    pub(crate) async fn handle<B>(&self, request: Request<B>) -> Option<Response<ResponseBody>>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let transport = self.transport.as_ref()?;
        let request = request.map(|body| body.map_err(Into::<BoxError>::into));
        Some(transport.handle(request).await)
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
