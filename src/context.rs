//! What a handler learns about the call besides its arguments.

use std::sync::Arc;

use http::HeaderMap;

use crate::cancel::CancelToken;
use crate::event_id::EventId;
use crate::files::FileStore;

/// The context of one call, handed to every handler.
///
/// It is cheap to clone.
#[derive(Clone)]
pub struct CallContext {
    inner: Arc<ContextInner>,
}

struct ContextInner {
    endpoint: Arc<str>,
    event_id: EventId,
    headers: HeaderMap,
    bearer: Option<String>,
    token: Option<String>,
    cancel: CancelToken,
    files: Arc<FileStore>,
}

impl std::fmt::Debug for CallContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens are left out on purpose: contexts end up in logs.
        f.debug_struct("CallContext")
            .field("endpoint", &self.inner.endpoint)
            .field("event_id", &self.inner.event_id)
            .field("cancelled", &self.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl CallContext {
    pub(crate) fn new(
        endpoint: Arc<str>,
        event_id: EventId,
        headers: HeaderMap,
        bearer: Option<String>,
        token: Option<String>,
        cancel: CancelToken,
        files: Arc<FileStore>,
    ) -> Self {
        Self {
            inner: Arc::new(ContextInner {
                endpoint,
                event_id,
                headers,
                bearer,
                token,
                cancel,
                files,
            }),
        }
    }

    /// A fresh path for a file this call returns, inside the service's upload directory:
    /// `<upload dir>/<32 hex>/<file_name, sanitised>`. The directory is created; write the
    /// file, then return it as [`FileData`](crate::FileData). Like uploads, it is deleted after
    /// the upload TTL.
    pub fn output_path(&self, file_name: &str) -> std::io::Result<std::path::PathBuf> {
        self.inner.files.new_path_blocking(file_name)
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
