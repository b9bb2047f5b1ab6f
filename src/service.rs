//! The service handle, [`GradioCompat`]: what `build` returns, what a server mounts, and its
//! hyper and tower `Service` implementations.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response};
use tracing::Instrument;

use crate::body::{without_body, ResponseBody};
use crate::builder::Builder;
use crate::call_log::{request_done, request_span, request_started};
use crate::config::Config;
use crate::error::BuildError;
use crate::registry::Registry;
use crate::route_path::strip_prefix;
use crate::router::route;
use crate::state::Inner;

/// Speaks the Gradio HTTP API for a [`Registry`].
///
/// It is a `hyper` service and a `tower` service (`Error = Infallible`: every failure is a
/// JSON response), cheap to clone, and can be mounted under any path. See the crate docs for
/// the routes.
#[derive(Clone)]
#[must_use = "a service answers nothing until it is mounted or served"]
pub struct GradioCompat {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for GradioCompat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GradioCompat")
            .field("prefix", &self.inner.config.prefix)
            .field("endpoints", &self.inner.endpoint_list)
            .finish_non_exhaustive()
    }
}

impl GradioCompat {
    /// Starts building a service for this registry.
    pub fn builder(registry: Registry) -> Builder {
        Builder::new(registry)
    }

    /// The settings in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The directory uploads are stored in.
    pub fn upload_dir(&self) -> &std::path::Path {
        self.inner.files.dir()
    }

    /// Whether this service answers `path` (its API prefix); a server that routes by hand
    /// can send only those requests here.
    pub fn owns_path(&self, path: &str) -> bool {
        let prefix = self.inner.config.prefix.as_str();
        let answers =
            |p: &str| p == "/config" || p == "/config/" || strip_prefix(p, prefix).is_some();
        answers(path) || self.inner.unmounted(path).is_some_and(answers)
    }

    /// Drains the service for a graceful shutdown: new calls get 503 at once, running calls
    /// get up to `bound` to finish, and whatever still runs then is cancelled (its handler
    /// gets the cancel grace period). Every open `/call` or queue stream thus ends with a
    /// terminal frame instead of hanging. Returns how many calls had to be cancelled.
    ///
    /// Call it from the `shutdown` future given to [`serve`](crate::server::serve), so that the
    /// connections still carry the terminal frames while it runs.
    pub async fn shutdown(&self, bound: Duration) -> usize {
        let inner = &self.inner;
        inner.closing.store(true, Ordering::Release);
        // Woken by the last call's end, not by polling.
        let now = tokio::time::Instant::now();
        if inner.running.idle_by(now + bound).await {
            // Follow streams never end by themselves: end them as cancelled calls.
            inner.follows.closing.close();
            return 0;
        }
        inner.follows.closing.close();
        let cancelled = inner.running.cancel_all();
        let grace = inner.config.cancel_grace + Duration::from_millis(100);
        inner
            .running
            .idle_by(tokio::time::Instant::now() + grace)
            .await;
        cancelled
    }

    /// Answers one request. Never fails: errors are JSON responses.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<ResponseBody>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let head = request.method() == Method::HEAD;
        let cors = &self.inner.cors;
        if let Some(preflight) = cors.preflight(request.method(), request.headers()) {
            return preflight;
        }
        let span = request_span(request.method());
        let started = request_started(&span);
        let request_headers = cors.enabled().then(|| request.headers().clone());
        // Without a subscriber that wants the span, the route's future is not wrapped (and
        // not moved into a wrapper).
        let routed = if span.is_disabled() {
            route(&self.inner, request, &span).await
        } else {
            route(&self.inner, request, &span)
                .instrument(span.clone())
                .await
        };
        let mut response = match routed {
            Ok(response) => response,
            Err(error) => error.into_response(),
        };
        request_done(&span, response.status(), started);
        if let Some(headers) = &request_headers {
            cors.decorate(headers, &mut response);
        }
        response.headers_mut().insert(
            "x-content-type-options",
            http::HeaderValue::from_static("nosniff"),
        );
        if head {
            without_body(response)
        } else {
            response
        }
    }
}

impl Builder {
    /// Checks the registry and settings and computes everything derivable (the info JSON,
    /// parameter tables). Must be called inside a tokio runtime for results to be swept on
    /// a timer; outside one, they are swept as new results arrive.
    pub fn build(self) -> Result<GradioCompat, BuildError> {
        let built = self.into_state()?;
        #[cfg(not(feature = "mcp"))]
        let inner = Arc::new(built.inner);
        #[cfg(feature = "mcp")]
        let inner = {
            let mut state = built.inner;
            let tools = built.mcp_tools;
            // The MCP server calls back into the service: it holds a weak reference.
            Arc::new_cyclic(|weak| {
                state.mcp = tools.map(|tools| {
                    Box::new(crate::mcp::McpServer::new(
                        weak.clone(),
                        tools,
                        &state.config,
                    )) as Box<dyn crate::mcp_seam::McpServe>
                });
                state
            })
        };
        Ok(GradioCompat { inner })
    }
}

/// The future of one request.
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, Infallible>> + Send>>;

impl<B> hyper::service::Service<Request<B>> for GradioCompat
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(request).await) })
    }
}

impl<B> tower_service::Service<Request<B>> for GradioCompat
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        hyper::service::Service::call(&*self, request)
    }
}
