//! What a handler learns about the call besides its arguments.

use std::sync::Arc;

use http::HeaderMap;

use crate::cancel::CancelToken;
use crate::event_id::EventId;

/// The context of one call, handed to every handler.
///
/// It is cheap to clone.
#[derive(Clone, Debug)]
pub struct CallContext {
    inner: Arc<ContextInner>,
}

#[derive(Debug)]
struct ContextInner {
    endpoint: Arc<str>,
    event_id: EventId,
    headers: HeaderMap,
    bearer: Option<String>,
    token: Option<String>,
    cancel: CancelToken,
}

impl CallContext {
    pub(crate) fn new(
        endpoint: Arc<str>,
        event_id: EventId,
        headers: HeaderMap,
        bearer: Option<String>,
        token: Option<String>,
        cancel: CancelToken,
    ) -> Self {
        Self {
            inner: Arc::new(ContextInner {
                endpoint,
                event_id,
                headers,
                bearer,
                token,
                cancel,
            }),
        }
    }

    /// Whether the caller cancelled the call (`POST {prefix}/cancel` or `/reset`).
    ///
    /// After a cancel the handler's future is dropped at its next `.await` once the cancel
    /// grace period (default 1 s) has passed; a handler that checks this flag, or awaits
    /// [`cancelled`](Self::cancelled), can stop early and clean up first.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel.is_cancelled()
    }

    /// Resolves when the caller cancels the call.
    pub async fn cancelled(&self) {
        self.inner.cancel.cancelled().await
    }

    /// The endpoint's name, without the leading slash.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// The id of this call, as the caller saw it.
    pub fn event_id(&self) -> EventId {
        self.inner.event_id
    }

    /// The headers of the request that started the call.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// The bearer token from `Authorization: Bearer …` or `x-hf-authorization: Bearer …`.
    pub fn bearer_token(&self) -> Option<&str> {
        self.inner.bearer.as_deref()
    }

    /// The effective token: the caller's non-blank token parameter (`hf_token` by default)
    /// when given, else the bearer token.
    pub fn token(&self) -> Option<&str> {
        self.inner.token.as_deref()
    }
}
