//! Errors: build-time errors for the server author, and HTTP error responses for callers.

use std::fmt;

use http::{HeaderValue, StatusCode};
use serde::Serialize;

use crate::body::{json_response, ResponseBody};

/// Why [`Builder::build`](crate::Builder::build) refused a registry or configuration.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// Two endpoints share a name.
    DuplicateEndpoint {
        /// The repeated name.
        name: String,
    },
    /// An endpoint name is empty or has characters that cannot appear in a URL path segment.
    InvalidEndpointName {
        /// The offending name.
        name: String,
    },
    /// A typed endpoint's argument type does not describe a JSON object (a struct with named
    /// fields), so its fields cannot be parameters.
    ArgsNotObject {
        /// The endpoint.
        endpoint: String,
        /// What the schema was instead.
        found: String,
    },
    /// Two parameters of one endpoint share a name.
    DuplicateParameter {
        /// The endpoint.
        endpoint: String,
        /// The repeated parameter name.
        parameter: String,
    },
    /// A configuration value is unusable.
    InvalidConfig {
        /// Which setting.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The upload directory could not be created.
    UploadDir(std::io::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::DuplicateEndpoint { name } => {
                write!(f, "endpoint {name:?} is registered twice")
            }
            BuildError::InvalidEndpointName { name } => write!(
                f,
                "endpoint name {name:?} is not usable: use 1-128 characters from A-Z a-z 0-9 _ - ."
            ),
            BuildError::ArgsNotObject { endpoint, found } => write!(
                f,
                "endpoint {endpoint:?}: the argument type must be a struct with named fields \
                 (a JSON object schema), found {found}"
            ),
            BuildError::DuplicateParameter {
                endpoint,
                parameter,
            } => write!(
                f,
                "endpoint {endpoint:?} has two parameters named {parameter:?}"
            ),
            BuildError::InvalidConfig { setting, reason } => {
                write!(f, "invalid setting {setting}: {reason}")
            }
            BuildError::UploadDir(e) => write!(f, "cannot create the upload directory: {e}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::UploadDir(e) => Some(e),
            _ => None,
        }
    }
}

/// A route as error messages name it, e.g. `POST /gradio_api/call/add`; formatted only when
/// an error needs it.
#[derive(Clone, Copy)]
pub(crate) struct RouteName<'a> {
    pub(crate) method: &'static str,
    pub(crate) prefix: &'a str,
    pub(crate) path: &'a str,
    pub(crate) name: &'a str,
}

impl fmt::Display for RouteName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}{}{}",
            self.method, self.prefix, self.path, self.name
        )
    }
}

/// One argument problem, as listed in a 422 body's `detail`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub(crate) struct ArgProblem {
    pub(crate) parameter: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) index: Option<usize>,
    pub(crate) msg: String,
}

/// An HTTP failure: a status and a JSON body `{"error": ..., "detail"?: [...]}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    pub(crate) detail: Vec<ArgProblem>,
    pub(crate) allow: Option<&'static str>,
    pub(crate) retry_after: Option<u64>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    detail: &'a [ArgProblem],
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            detail: Vec::new(),
            allow: None,
            retry_after: None,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    pub(crate) fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// A 422 that lists argument problems; the message repeats the first one.
    pub(crate) fn invalid_arguments(endpoint: &str, problems: Vec<ArgProblem>) -> Self {
        let first = problems
            .first()
            .map(|p| p.msg.clone())
            .unwrap_or_else(|| "invalid arguments".to_owned());
        let mut err = Self::unprocessable(format!("/{endpoint}: {first}"));
        err.detail = problems;
        err
    }

    pub(crate) fn method_not_allowed(route: &str, allow: &'static str) -> Self {
        let mut err = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{route} accepts only {allow}"),
        );
        err.allow = Some(allow);
        err
    }

    pub(crate) fn into_response(self) -> http::Response<ResponseBody> {
        let body = serde_json::to_vec(&ErrorBody {
            error: &self.message,
            detail: &self.detail,
        })
        .unwrap_or_else(|_| br#"{"error":"internal error"}"#.to_vec());
        let mut response = json_response(self.status, body);
        let headers = response.headers_mut();
        if let Some(allow) = self.allow {
            headers.insert(http::header::ALLOW, HeaderValue::from_static(allow));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
