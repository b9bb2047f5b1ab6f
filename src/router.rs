//! Routing: a request goes to the route its path names (see `route_path`), after the method
//! is checked; each route family's handler is in `routes/`.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response};

use crate::body::ResponseBody;
use crate::call_log::record_route;
use crate::error::ApiError;
use crate::files::serving;
use crate::root_url::{forwarded_prefix, request_root};
use crate::route_path::Route;
use crate::routes::{call, cancel, documents, mcp, queue, upload};
use crate::state::Inner;

/// Answers one request, or says why not.
pub(crate) async fn route<B>(
    inner: &Arc<Inner>,
    request: Request<B>,
    span: &tracing::Span,
) -> Result<Response<ResponseBody>, ApiError>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let prefix = inner.config.prefix.as_str();
    // A `Uri` clone shares its bytes: no allocation.
    let uri = request.uri().clone();
    let path = uri.path();
    let method = request.method().clone();
    let root = || {
        request_root(
            request.headers(),
            inner.config.public_url.as_deref(),
            &inner.config.root_path,
        )
    };
    let mut route = inner.route_of(path, &method);
    if route == Route::Unknown {
        // A proxy that sets `X-Forwarded-Prefix` but forwards the full path.
        if let Some(rest) = forwarded_prefix(request.headers())
            .filter(|p| !p.is_empty())
            .and_then(|p| path.strip_prefix(p))
            .filter(|rest| rest.starts_with('/'))
        {
            route = inner.route_of(rest, &method);
        }
    }
    if !span.is_disabled() {
        record_route(
            span,
            route.family(),
            route.api().and_then(|a| inner.known(a)),
        );
    }
    if route == Route::Unknown {
        return Err(no_route(path, prefix));
    }
    if let Route::Mcp(which) = route {
        return mcp::respond(inner, request, which).await;
    }
    let allowed = if route.reads() {
        method == Method::GET || method == Method::HEAD
    } else {
        method == Method::POST
    };
    if !allowed {
        let methods = if route.reads() { "GET, HEAD" } else { "POST" };
        return Err(ApiError::method_not_allowed(&route.shown(prefix), methods));
    }
    let head = method == Method::HEAD;
    match route {
        Route::Config => Ok(documents::respond(&inner.app_config, &root())),
        Route::OpenApi => Ok(documents::respond(&inner.openapi, &root())),
        Route::File(file_path) => {
            serving::serve(&inner.files, file_path, head, request.headers()).await
        }
        Route::Info => {
            let doc = if documents::wants_all(request.uri().query()) {
                &inner.info_all
            } else {
                &inner.info
            };
            Ok(documents::respond(doc, &root()))
        }
        Route::QueueJoin => {
            let (parts, body) = request.into_parts();
            queue::join(inner, parts, body).await
        }
        Route::QueueData if head => Ok(crate::sse::event_stream(crate::body::empty())),
        Route::QueueData => queue::data(inner, request.uri().query()).await,
        Route::Cancel(name) => {
            let (parts, body) = request.into_parts();
            cancel::cancel(inner, parts, body, name).await
        }
        Route::Upload => {
            let (parts, body) = request.into_parts();
            upload::upload(inner, parts, body).await
        }
        Route::Call { api, form } => {
            let (parts, body) = request.into_parts();
            call::start(inner, parts, body, api, form).await
        }
        Route::Poll { api, event_id } => call::poll(inner, api, event_id, head).await,
        Route::Mcp(_) | Route::Unknown => Err(no_route(path, prefix)),
    }
}

fn no_route(path: &str, prefix: &str) -> ApiError {
    let shown: String = path.chars().take(200).collect();
    ApiError::not_found(format!(
        "no route {shown:?}; this server answers GET /config, GET {prefix}/info, GET {prefix}/openapi.json, \
         POST {prefix}/call/{{api}}, GET {prefix}/call/{{api}}/{{event_id}}, POST {prefix}/upload, \
         GET {prefix}/file={{path}}, POST {prefix}/queue/join, GET {prefix}/queue/data and \
         POST {prefix}/cancel"
    ))
}
