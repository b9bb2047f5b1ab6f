//! What a handler learns about the call besides its arguments.

use std::sync::Arc;

use bytes::BytesMut;
use http::{HeaderMap, HeaderValue};

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

/// The request's headers with their values copied into one buffer of their own. Values parsed
/// by hyper are slices of the connection's read buffer (8 KiB), which a call that outlives its
/// request (a queue job, a stream, a slow handler) would otherwise keep alive, while the
/// connection reads its next request into a new one.
pub(crate) fn detached_headers(mut headers: HeaderMap) -> HeaderMap {
    let total: usize = headers.values_mut().map(|v| v.len()).sum();
    if total == 0 {
        return headers;
    }
    let mut buf = BytesMut::with_capacity(total);
    for value in headers.values_mut() {
        buf.extend_from_slice(value.as_bytes());
    }
    let buf = buf.freeze();
    let mut at = 0;
    for value in headers.values_mut() {
        let end = at + value.len();
        // The same bytes, so always valid; a value that somehow is not stays as it was.
        if let Ok(mut copied) = HeaderValue::from_maybe_shared(buf.slice(at..end)) {
            copied.set_sensitive(value.is_sensitive());
            *value = copied;
        }
        at = end;
    }
    headers
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

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn detached_headers_keep_every_value_but_not_the_read_buffer() {
        // Values sliced from one buffer, as hyper parses them.
        let read = Bytes::from_static(b"example.org text/plain a b secret");
        let slice =
            |from: usize, to: usize| HeaderValue::from_maybe_shared(read.slice(from..to)).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", slice(0, 11));
        headers.insert("accept", slice(12, 22));
        headers.append("x-many", slice(23, 24));
        headers.append("x-many", slice(25, 26));
        let mut secret = slice(27, 33);
        secret.set_sensitive(true);
        headers.insert("authorization", secret);
        headers.insert("x-empty", HeaderValue::from_static(""));
        let before = headers.clone();

        let detached = detached_headers(headers);
        assert_eq!(detached, before);
        let many: Vec<_> = detached.get_all("x-many").iter().collect();
        assert_eq!(many, ["a", "b"]);
        assert!(detached["authorization"].is_sensitive());
        let range = read.as_ptr() as usize..read.as_ptr() as usize + read.len();
        for value in detached.values().filter(|v| !v.is_empty()) {
            assert!(
                !range.contains(&(value.as_bytes().as_ptr() as usize)),
                "{value:?}"
            );
        }
    }
}
