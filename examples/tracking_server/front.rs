//! The server's front door: the Gradio API's paths (`/gradio_api/…` and `/config`) go
//! straight to the Gradio service, everything else (the dashboard, Trackio's own HTTP API,
//! artifact blobs) through the axum router. Gradio's paths are nearly all of the traffic
//! (every log, every read, every live line), and an axum route for them matched the path and
//! stored its wildcard in the request on each request for nothing: `perf` put that at about
//! 4% of the server's time per read.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::routing::future::RouteFuture;
use axum::Router;
use futures_util::future::{Either, FutureExt, Map};
use gradio_compat::{GradioCompat, ResponseBody, ResponseFuture};
use http::{Request, Response};

/// Whether a path belongs to the Gradio service.
fn is_gradio_path(path: &str) -> bool {
    path == "/config" || path.starts_with("/gradio_api/")
}

/// A response from either side.
pub type FrontBody = http_body_util::Either<ResponseBody, axum::body::Body>;

type FromGradio = Map<
    ResponseFuture,
    fn(Result<Response<ResponseBody>, Infallible>) -> Result<Response<FrontBody>, Infallible>,
>;
type FromRouter = Map<
    RouteFuture<Infallible>,
    fn(Result<Response<axum::body::Body>, Infallible>) -> Result<Response<FrontBody>, Infallible>,
>;

fn from_gradio(
    response: Result<Response<ResponseBody>, Infallible>,
) -> Result<Response<FrontBody>, Infallible> {
    response.map(|r| r.map(http_body_util::Either::Left))
}

fn from_router(
    response: Result<Response<axum::body::Body>, Infallible>,
) -> Result<Response<FrontBody>, Infallible> {
    response.map(|r| r.map(http_body_util::Either::Right))
}

/// The Gradio service and the router beside it; see the module's text.
#[derive(Clone)]
pub struct Front {
    gradio: GradioCompat,
    rest: Router,
}

impl Front {
    /// `rest` serves every path that [`is_gradio_path`] does not claim.
    pub fn new(gradio: GradioCompat, rest: Router) -> Self {
        Self { gradio, rest }
    }
}

impl<B> tower::Service<Request<B>> for Front
where
    B: hyper::body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<FrontBody>;
    type Error = Infallible;
    type Future = Either<FromGradio, FromRouter>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if is_gradio_path(request.uri().path()) {
            let future = tower::Service::call(&mut self.gradio, request);
            Either::Left(future.map(from_gradio as _))
        } else {
            let future = tower::Service::call(&mut self.rest, request);
            Either::Right(future.map(from_router as _))
        }
    }
}
