//! The MCP server handler: `tools/list` from the catalog, and `tools/call` through the one
//! module that owns a call's life (`call`), read from the job's own feed. Its messages become
//! progress notifications when the request asked for them; a cancelled request cancels its
//! job, on whichever replica runs it.

use std::sync::{Arc, Weak};

use futures_util::StreamExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::Value;

use crate::backend::JobItem;
use crate::call::{self, Delivery, Started};
use crate::event_id::EventId;
use crate::mcp::catalog::Catalog;
use crate::mcp::content::tool_result;
use crate::mcp::inputs::resolve_files;
use crate::mcp::progress::Progress;
use crate::state::Inner;

/// One handler per request (the transport is stateless); it only points at the service.
#[derive(Clone)]
pub(crate) struct Handler {
    pub(crate) inner: Weak<Inner>,
    pub(crate) catalog: Arc<Catalog>,
}

fn gone() -> McpError {
    McpError::internal_error("the service is shutting down", None)
}

fn tool_error(message: impl Into<String>) -> CallToolResponse {
    CallToolResult::error(vec![ContentBlock::text(message.into())]).into()
}

impl ServerHandler for Handler {
    fn get_info(&self) -> ServerConfig {
        let (name, instructions) = match self.inner.upgrade() {
            Some(inner) => (
                inner.config.title.clone(),
                format!(
                    "Each tool calls one endpoint of this Gradio-compatible server (see GET {}/info).",
                    inner.config.prefix
                ),
            ),
            None => ("gradio-compat".to_owned(), String::new()),
        };
        let mut config = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        config.server_info = Implementation::new(name, env!("CARGO_PKG_VERSION"));
        config.instructions = Some(instructions);
        config
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(
            self.catalog.tools.iter().map(|t| t.tool.clone()).collect(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        mut context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let inner = self.inner.upgrade().ok_or_else(gone)?;
        let catalog = &self.catalog;
        let Some(entry) = catalog.get(&request.name) else {
            return Err(McpError::invalid_params(
                format!(
                    "unknown tool {:?}; this server's tools are: {}",
                    &*request.name,
                    catalog.names()
                ),
                None,
            ));
        };
        let endpoint = match inner.endpoint(&entry.endpoint) {
            Ok(endpoint) => endpoint,
            Err(e) => return Ok(tool_error(e.message)),
        };
        // The HTTP request's parts, which the transport puts in the extensions (taken, not
        // copied: nothing else reads them): the authorize hook and the handler see its
        // headers, as on `/call`.
        let parts = context
            .extensions
            .remove::<http::request::Parts>()
            .unwrap_or_else(|| http::Request::new(()).into_parts().0);
        let mut args = request.arguments.unwrap_or_default();
        if entry.takes_files {
            if let Err(message) = resolve_files(&inner, endpoint, &parts, &mut args).await {
                return Ok(tool_error(format!("tool {}: {message}", &*request.name)));
            }
        }
        let route = format!("MCP tool {}", &*request.name);
        let token = context.meta.get_progress_token();
        // Without a progress token nothing but the result is sent: a handler done at once
        // answers with no job and no backend record.
        let started = call::start_waited(
            &inner,
            endpoint,
            parts,
            call::CallData::Parsed(Value::Object(args)),
            &route,
            Delivery::Mcp,
            token.is_none(),
        )
        .await;
        let id = match started {
            Ok(Started::Job(id)) => id,
            Ok(Started::Done(outcome)) => return Ok(tool_result(&inner, outcome).await.into()),
            Err(e) => return Ok(tool_error(e.message)),
        };
        let mut feed = match inner.backend.watch(id, &entry.endpoint).await {
            Ok(feed) => feed,
            Err(e) => {
                return Ok(tool_error(format!(
                    "{route}: the call's result is not available: {e}"
                )))
            }
        };
        let mut progress = Progress::default();
        loop {
            let item = tokio::select! {
                item = feed.next() => item,
                () = context.ct.cancelled() => {
                    cancel(&inner, id, feed);
                    return Ok(tool_error(format!("{route}: the call was cancelled")));
                }
            };
            match item {
                Some(JobItem::Message(message)) => {
                    let (Some(token), Some(update)) = (&token, progress.update(&message)) else {
                        continue;
                    };
                    let mut note = ProgressNotificationParam::new(token.clone(), update.progress)
                        .with_message(update.message);
                    if let Some(total) = update.total {
                        note = note.with_total(total);
                    }
                    // A client that went away is noticed by the cancellation above.
                    let _ = context.peer.notify_progress(note).await;
                }
                // The feed consumed the job when it handed out the outcome.
                Some(JobItem::Outcome(outcome)) => {
                    return Ok(tool_result(&inner, outcome).await.into());
                }
                Some(JobItem::Gone(gone)) => {
                    return Ok(tool_error(format!(
                        "{route}: the call's result is not available: {gone}"
                    )))
                }
                None => {
                    return Ok(tool_error(format!(
                        "{route}: the call's result was lost (it expired or was read elsewhere)"
                    )))
                }
            }
        }
    }
}

/// Cancels a job whose request went away, on whichever replica runs it, and reads its feed
/// to the end in the background (which consumes its result) so that the result does not wait
/// for the TTL.
fn cancel(inner: &Arc<Inner>, id: EventId, mut feed: crate::backend::JobFeed) {
    let inner = inner.clone();
    tokio::spawn(async move {
        inner.backend.cancel(id).await;
        let bound = inner.config.cancel_grace + std::time::Duration::from_secs(5);
        let _ = tokio::time::timeout(bound, async { while feed.next().await.is_some() {} }).await;
    });
}
