//! CORS, off by default. With allowed origins configured, preflights and actual requests are
//! answered as the Fetch standard describes: the origin is echoed (or `*` for any origin), no
//! credentials mode (bearer tokens travel in headers, not cookies), `Vary: Origin`.

use http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};

use crate::body::{empty, ResponseBody};
use crate::error::ApiError;

const METHODS: HeaderValue = HeaderValue::from_static("GET, HEAD, POST, OPTIONS");
const MAX_AGE: HeaderValue = HeaderValue::from_static("600");

/// Which origins may call the API from a browser.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cors {
    any: bool,
    origins: Vec<String>,
}

impl Cors {
    pub(crate) fn new(origins: &[String]) -> Self {
        Self {
            any: origins.iter().any(|o| o == "*"),
            origins: origins
                .iter()
                .filter(|o| *o != "*")
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.any || !self.origins.is_empty()
    }

    /// The `Access-Control-Allow-Origin` value for a request's `Origin`, if allowed.
    fn allow(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let origin = headers.get(header::ORIGIN)?;
        if self.any {
            return Some(HeaderValue::from_static("*"));
        }
        let text = origin.to_str().ok()?.to_ascii_lowercase();
        self.origins.contains(&text).then(|| origin.clone())
    }

    /// Answers a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`), or
    /// `None` when the request is not one.
    pub(crate) fn preflight(
        &self,
        method: &Method,
        headers: &HeaderMap,
    ) -> Option<Response<ResponseBody>> {
        if !self.enabled()
            || method != Method::OPTIONS
            || !headers.contains_key(header::ORIGIN)
            || !headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return None;
        }
        let Some(allow) = self.allow(headers) else {
            let origin = headers
                .get(header::ORIGIN)
                .and_then(|o| o.to_str().ok())
                .unwrap_or("?");
            let mut refused = ApiError::new(
                StatusCode::FORBIDDEN,
                format!("origin {origin:?} may not call this API from a browser (CORS)"),
            )
            .into_response();
            refused
                .headers_mut()
                .insert(header::VARY, HeaderValue::from_static("Origin"));
            return Some(refused);
        };
        let mut response = Response::new(empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let out = response.headers_mut();
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, METHODS);
        if let Some(requested) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
        }
        out.insert(header::ACCESS_CONTROL_MAX_AGE, MAX_AGE);
        out.insert(
            header::VARY,
            HeaderValue::from_static(
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            ),
        );
        Some(response)
    }

    /// Adds the CORS headers of an actual request's response.
    pub(crate) fn decorate(&self, request: &HeaderMap, response: &mut Response<ResponseBody>) {
        if !self.enabled() {
            return;
        }
        let out = response.headers_mut();
        out.append(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(allow) = self.allow(request) {
            out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        }
    }
}
