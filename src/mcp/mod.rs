//! The MCP server (feature `mcp`): every public endpoint as a tool, over the official `rmcp`
//! SDK's streamable HTTP transport, stateless (no `Mcp-Session-Id`), so any replica can answer
//! any request. A reply with nothing before it is one JSON response; a call that sends
//! progress notifications first is answered with an SSE stream.
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
use std::time::Duration;

use http::Request;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::config::Config;
use crate::mcp_seam::{McpRequestBody, McpResponse, McpServe};
use crate::state::Inner;

pub(crate) use catalog::Catalog;
use handler::Handler;

/// The MCP server of a built service: its tools, and the transport that serves them.
pub(crate) struct McpServer {
    catalog: Arc<Catalog>,
    /// Shared by the requests in flight (cloning the transport would copy its settings).
    transport: Arc<StreamableHttpService<Handler, NeverSessionManager>>,
}

impl McpServer {
    /// The server for these tools, calling the service `inner` (which owns this server, hence
    /// the weak reference).
    pub(crate) fn new(inner: Weak<Inner>, catalog: Catalog, config: &Config) -> Self {
        let mut settings = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            // A client that goes away is noticed at the next write: soon, so that its call
            // is cancelled soon.
            .with_sse_keep_alive(Some(config.heartbeat_interval.min(KEEP_ALIVE)))
            .with_max_request_body_bytes(config.max_body_bytes);
        settings = if config.mcp_allowed_hosts.is_empty() {
            settings.disable_allowed_hosts()
        } else {
            settings.with_allowed_hosts(config.mcp_allowed_hosts.iter().cloned())
        };
        let catalog = Arc::new(catalog);
        let handler = Handler {
            inner,
            catalog: catalog.clone(),
        };
        let transport = Arc::new(StreamableHttpService::new(
            move || Ok(handler.clone()),
            Arc::new(NeverSessionManager::default()),
            settings,
        ));
        Self { catalog, transport }
    }
}

/// The longest gap between two writes on an MCP response stream.
const KEEP_ALIVE: Duration = Duration::from_secs(2);

impl McpServe for McpServer {
    fn tool_count(&self) -> usize {
        self.catalog.tools.len()
    }

    fn schema_document(&self, query: Option<&str>) -> bytes::Bytes {
        self.catalog.schema_document(query)
    }

    fn serve(&self, request: Request<McpRequestBody>) -> McpResponse {
        let transport = self.transport.clone();
        Box::pin(async move { transport.handle(request).await })
    }
}
