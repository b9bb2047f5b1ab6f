//! `{prefix}/mcp` (and `/mcp/http`, with or without a trailing slash): the MCP transport, or
//! for a browser (a GET that does not accept `text/event-stream`) a page saying how to
//! connect; `GET {prefix}/mcp/schema`: the tools as JSON. Any other path under `/mcp` is 404
//! pointing at `/mcp`, and all of them are 404 saying how to turn MCP on when it is off.

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};

use http::{header, HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;

use crate::body::{full, ResponseBody};
use crate::error::ApiError;
use crate::root_url::request_root;
use crate::route_path::McpRoute;
use crate::state::Inner;

pub(crate) async fn respond<B>(
    inner: &Arc<Inner>,
    request: Request<B>,
    which: McpRoute,
) -> Result<Response<ResponseBody>, ApiError>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let prefix = &inner.config.prefix;
    if let Some(mcp) = &inner.mcp {
        let method = request.method();
        let reads = method == Method::GET || method == Method::HEAD;
        return match which {
            McpRoute::Other => Err(ApiError::not_found(format!(
                "no MCP route {:?}; the MCP server is at {prefix}/mcp (streamable HTTP), and its \
                 tool list at GET {prefix}/mcp/schema",
                request.uri().path()
            ))),
            McpRoute::Schema if !reads => Err(ApiError::method_not_allowed(
                &format!("{prefix}/mcp/schema"),
                "GET, HEAD",
            )),
            McpRoute::Schema => Ok(crate::body::json_response(
                StatusCode::OK,
                mcp.schema_document(request.uri().query()),
            )),
            McpRoute::Transport if reads && !wants_event_stream(request.headers()) => {
                Ok(landing_page(inner, request.headers(), mcp.tool_count()))
            }
            McpRoute::Transport => {
                let request = request.map(|body| body.map_err(Into::into).boxed_unsync());
                Ok(mcp.serve(request).await)
            }
        };
    }
    Err(ApiError::not_found(format!(
        "this server has no MCP server: {prefix}/mcp is served when the service is built with \
         the `mcp` feature of gradio-compat and Builder::mcp(true); its Gradio API is at \
         {prefix}/info"
    )))
}

fn wants_event_stream(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"))
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn landing_page(inner: &Inner, headers: &http::HeaderMap, tools: usize) -> Response<ResponseBody> {
    let root = request_root(
        headers,
        inner.config.public_url.as_deref(),
        &inner.config.root_path,
    );
    let prefix = &inner.config.prefix;
    let name: String = inner
        .config
        .title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let page = include_str!("mcp_landing.html")
        .replace("__TITLE__", &escape(&inner.config.title))
        .replace("__COUNT__", &tools.to_string())
        .replace("__NAME__", &escape(&name))
        .replace("__URL__", &escape(&format!("{root}{prefix}/mcp")))
        .replace("__SCHEMA__", &escape(&format!("{root}{prefix}/mcp/schema")))
        .replace("__INFO__", &escape(&format!("{root}{prefix}/info")));
    let mut response = Response::new(full(page));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, crate::body::NO_STORE);
    response
}
