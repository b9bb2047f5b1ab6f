//! Bearer tokens and the authorize hook.

use std::fmt;
use std::sync::Arc;

use http::request::Parts;
use http::{HeaderMap, StatusCode};

use crate::error::ApiError;

/// Reads a bearer token from `Authorization` or, failing that, `x-hf-authorization`
/// (which the Python client sends). The scheme is matched without regard to case.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<String> {
    ["authorization", "x-hf-authorization"]
        .into_iter()
        .flat_map(|name| headers.get_all(name))
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| {
            let (scheme, rest) = value.trim().split_once(' ')?;
            let token = rest.trim();
            (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
        })
}

/// What a request wants to do, as shown to the authorize hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthTarget<'a> {
    /// Start a call of this endpoint (name without slash).
    Call(&'a str),
    /// Upload files with `POST {prefix}/upload`.
    Upload,
}

/// The facts an authorize hook judges. Its `Debug` output leaves the token out.
#[non_exhaustive]
pub struct AuthRequest<'a> {
    /// The request's method, URI, version and headers.
    pub parts: &'a Parts,
    /// What the request wants to do.
    pub target: AuthTarget<'a>,
    /// The effective token: the caller's non-blank token parameter if given, else the bearer
    /// token. For uploads, the bearer token.
    pub token: Option<&'a str>,
}

impl std::fmt::Debug for AuthRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRequest")
            .field("method", &self.parts.method)
            .field("uri", &self.parts.uri)
            .field("target", &self.target)
            .field("token", &self.token.map(|_| "<redacted>"))
            .finish()
    }
}

/// A refusal from the authorize hook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthRejection {
    /// 401: no credentials, or unusable ones. The message says how to authenticate.
    Unauthorized(String),
    /// 403: valid credentials that are not allowed to do this.
    Forbidden(String),
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthRejection::Unauthorized(m) | AuthRejection::Forbidden(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for AuthRejection {}

impl From<AuthRejection> for ApiError {
    fn from(rejection: AuthRejection) -> Self {
        match rejection {
            AuthRejection::Unauthorized(m) => ApiError::new(StatusCode::UNAUTHORIZED, m),
            AuthRejection::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
        }
    }
}

/// The authorize hook, run before any job exists.
pub(crate) type AuthorizeFn =
    Arc<dyn Fn(&AuthRequest<'_>) -> Result<(), AuthRejection> + Send + Sync + 'static>;

/// Is this token value absent in the sense of injection: missing, null, empty or blank?
pub(crate) fn is_blank_token(value: Option<&serde_json::Value>) -> bool {
    match value {
        None | Some(serde_json::Value::Null) => true,
        Some(serde_json::Value::String(s)) => s.trim().is_empty(),
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_headers_and_ignores_other_schemes() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), None);
        h.insert("x-hf-authorization", "Bearer hf_abc".parse().unwrap());
        assert_eq!(bearer_token(&h).as_deref(), Some("hf_abc"));
        h.insert("authorization", "bearer  tok ".parse().unwrap());
        assert_eq!(bearer_token(&h).as_deref(), Some("tok"));
        h.insert("authorization", "Basic dXNlcg==".parse().unwrap());
        assert_eq!(bearer_token(&h).as_deref(), Some("hf_abc"));
        h.insert("authorization", "Bearer ".parse().unwrap());
        assert_eq!(bearer_token(&h).as_deref(), Some("hf_abc"));
    }
}
