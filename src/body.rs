//! The response body type and small response constructors.

use std::convert::Infallible;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};

/// The body of every response the service produces: boxed, `Send + Sync`, never failing, so
/// that hyper, axum and any tower stack accept it.
pub type ResponseBody = BoxBody<Bytes, Infallible>;

pub(crate) fn full(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into()).boxed()
}

pub(crate) fn empty() -> ResponseBody {
    Empty::new().boxed()
}

pub(crate) const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");
pub(crate) const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

pub(crate) fn json_response(status: StatusCode, body: impl Into<Bytes>) -> Response<ResponseBody> {
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, APPLICATION_JSON);
    response
}

/// Drops the body of a response, for HEAD requests, keeping its headers and stating the
/// length the body would have had, when it is known (streams have none).
pub(crate) fn without_body(response: Response<ResponseBody>) -> Response<ResponseBody> {
    use http_body::Body as _;
    let (mut parts, body) = response.into_parts();
    if let Some(len) = body.size_hint().exact().filter(|len| *len > 0) {
        parts
            .headers
            .entry(header::CONTENT_LENGTH)
            .or_insert_with(|| HeaderValue::from(len));
    }
    Response::from_parts(parts, empty())
}

/// `{"event_id":"<32 hex>"}`.
pub(crate) fn event_id_response(id: crate::event_id::EventId) -> Response<ResponseBody> {
    let mut body = Vec::with_capacity(47);
    body.extend_from_slice(b"{\"event_id\":\"");
    body.extend_from_slice(id.to_hex().as_str().as_bytes());
    body.extend_from_slice(b"\"}");
    json_response(StatusCode::OK, body)
}
