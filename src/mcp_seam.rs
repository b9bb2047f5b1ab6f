//! What the routes need from the MCP server (feature `mcp`), as a trait. The state holds the
//! server through it, so that the state does not import the MCP module, which calls the
//! service back through the state.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::combinators::UnsyncBoxBody;

use crate::body::ResponseBody;

/// A request body of any type, as the MCP transport takes it.
pub(crate) type McpRequestBody = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// The future of one MCP response.
pub(crate) type McpResponse = Pin<Box<dyn Future<Output = Response<ResponseBody>> + Send>>;

/// The MCP server of a built service.
pub(crate) trait McpServe: Send + Sync {
    /// How many tools it serves.
    fn tool_count(&self) -> usize;
    /// `GET {prefix}/mcp/schema` for this query string.
    fn schema_document(&self, query: Option<&str>) -> Bytes;
    /// Answers one request to the streamable HTTP transport.
    fn serve(&self, request: Request<McpRequestBody>) -> McpResponse;
}
