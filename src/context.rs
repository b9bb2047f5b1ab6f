//! What a handler learns about the call besides its arguments.

use std::sync::Arc;

use http::HeaderMap;

use crate::backend::Backend;
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

/// What a context holds; built by the call routes.
pub(crate) struct ContextInner {
    pub(crate) endpoint: Arc<str>,
    pub(crate) event_id: EventId,
    pub(crate) headers: HeaderMap,
    pub(crate) bearer: Option<String>,
    pub(crate) token: Option<String>,
    pub(crate) cancel: CancelToken,
    pub(crate) files: Arc<FileStore>,
    /// Where progress and log messages go: the backend, when the call came through the
    /// queue (they reach its session). On the `/call` route they are dropped, as in Gradio.
    pub(crate) updates: Option<Arc<dyn Backend>>,
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
    pub(crate) fn new(inner: ContextInner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// A fresh path for a file this call returns, inside the service's upload directory:
    /// `<upload dir>/<32 hex>/<file_name, sanitised>`. The directory is created; write the
    /// file, then return it as [`FileData`](crate::FileData). Like uploads, it is deleted after
    /// the upload TTL.
    pub fn output_path(&self, file_name: &str) -> std::io::Result<std::path::PathBuf> {
        self.inner.files.new_path_blocking(file_name)
    }

    /// Says that this call is done with an uploaded file it was given: the file is deleted
    /// now and its room in the upload store (see
    /// [`Builder::max_uploaded_files`](crate::Builder::max_uploaded_files)) freed, instead of
    /// when the upload TTL runs out. For a handler that keeps what it needs (it copied or
    /// linked the file elsewhere) and receives many files. Files the service did not create
    /// are left alone; with a backend that shares files between replicas nothing is deleted
    /// (another replica may use it; it expires by its TTL). Returns whether it was deleted.
    pub async fn discard_upload(&self, file: &crate::FileData) -> bool {
        let Some(path) = self.inner.files.discard(&file.path) else {
            return false;
        };
        tokio::task::spawn_blocking(move || {
            crate::files::delete_files(std::slice::from_ref(&path));
            !path.exists()
        })
        .await
        .unwrap_or(false)
    }

    /// Reports progress: step `index` of `length` (when known) in `unit`s, with an optional
    /// description. Queue callers get a `progress` message (the Python client's
    /// `job.status()`, the JS client's status events); on the `/call` route it is dropped, as
    /// in Gradio.
    pub fn progress(&self, index: u64, length: Option<u64>, unit: &str, desc: Option<&str>) {
        self.send(|id| crate::frames::queue::progress(id, index, length, unit, desc));
    }

    /// Sends an info message to queue callers (Gradio's `gr.Info`).
    pub fn info(&self, message: &str) {
        self.send(|id| crate::frames::queue::log(id, "info", message));
    }

    /// Sends a warning to queue callers (Gradio's `gr.Warning`).
    pub fn warning(&self, message: &str) {
        self.send(|id| crate::frames::queue::log(id, "warning", message));
    }

    fn send(&self, message: impl FnOnce(EventId) -> bytes::Bytes) {
        if let Some(backend) = &self.inner.updates {
            let id = self.inner.event_id;
            backend.publish(id, message(id), true).detach();
        }
    }

    /// Whether the caller cancelled the call (`POST {prefix}/cancel` or `/reset`).
    ///
    /// After a cancel the handler's future is dropped at its next `.await` once the cancel
    /// grace period (default 1 s) has passed, and a streaming handler's stream is dropped
    /// before its next item; a handler that checks this flag, or awaits
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
