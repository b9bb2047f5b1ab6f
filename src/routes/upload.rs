//! `POST {prefix}/upload`: multipart parts named `files`, stored under the upload directory.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use http::request::Parts;
use http::{header, Response, StatusCode};
use http_body_util::BodyStream;
use tokio::io::AsyncWriteExt;

use crate::auth::{bearer_token, AuthRequest, AuthTarget};
use crate::body::{json_response, ResponseBody};
use crate::error::ApiError;
use crate::state::Inner;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Files written so far by one request; removed again unless the request succeeds.
struct Written {
    paths: Vec<(PathBuf, String)>,
    reserved: usize,
}

impl Written {
    async fn discard(self, inner: &Inner) {
        for (path, _) in &self.paths {
            let _ = tokio::fs::remove_file(path).await;
            if let Some(dir) = path.parent() {
                let _ = tokio::fs::remove_dir(dir).await;
            }
        }
        inner.files.release(self.reserved);
    }
}

fn multer_error(route: &str, e: multer::Error, inner: &Inner) -> ApiError {
    match e {
        multer::Error::FieldSizeExceeded { .. } => ApiError::too_large(format!(
            "{route}: a file is larger than the limit of {} bytes",
            inner.config.max_file_bytes
        )),
        multer::Error::StreamSizeExceeded { .. } => ApiError::too_large(format!(
            "{route}: the upload is larger than the limit of {} bytes",
            inner.config.max_upload_bytes
        )),
        other => {
            ApiError::bad_request(format!("{route}: the multipart body is malformed: {other}"))
        }
    }
}

pub(crate) async fn upload<B>(
    inner: &Arc<Inner>,
    parts: Parts,
    body: B,
) -> Result<Response<ResponseBody>, ApiError>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let route = format!("POST {}/upload", inner.config.prefix);
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        ApiError::bad_request(format!(
            "{route}: expected a multipart/form-data body with one part named \"files\" per \
             file (curl -F files=@path), got content-type {content_type:?}"
        ))
    })?;
    if let Some(authorize) = &inner.authorize {
        let token = bearer_token(&parts.headers);
        authorize(&AuthRequest {
            parts: &parts,
            target: AuthTarget::Upload,
            token: token.as_deref(),
        })?;
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > inner.config.max_upload_bytes) {
        return Err(ApiError::too_large(format!(
            "{route}: the upload is larger than the limit of {} bytes",
            inner.config.max_upload_bytes
        )));
    }

    let stream = BodyStream::new(body).filter_map(|frame| {
        std::future::ready(match frame {
            Ok(frame) => frame.into_data().ok().map(Ok),
            Err(e) => Some(Err::<Bytes, BoxError>(e.into())),
        })
    });
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(inner.config.max_upload_bytes)
            .per_field(inner.config.max_file_bytes),
    );
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut written = Written {
        paths: Vec::new(),
        reserved: 0,
    };
    let result = receive(inner, &route, &mut multipart, &mut written).await;
    match result {
        Ok(()) => {
            let paths: Vec<String> = written
                .paths
                .iter()
                .map(|(path, orig)| inner.files.register(path, orig.clone()))
                .collect();
            // Replicas sharing the upload directory learn of them before the client does.
            for path in &paths {
                inner.files.share(path).await.map_err(|e| {
                    crate::call::unavailable(
                        &route,
                        &format!("the upload could not be recorded in the shared store: {e}"),
                    )
                })?;
            }
            let body = serde_json::to_vec(&paths).unwrap_or_default();
            Ok(json_response(StatusCode::OK, body))
        }
        Err(e) => {
            written.discard(inner).await;
            Err(e)
        }
    }
}

async fn receive(
    inner: &Inner,
    route: &str,
    multipart: &mut multer::Multipart<'_>,
    written: &mut Written,
) -> Result<(), ApiError> {
    let mut parts_seen = 0usize;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| multer_error(route, e, inner))?
    {
        parts_seen += 1;
        if parts_seen > inner.config.max_upload_parts {
            return Err(ApiError::too_large(format!(
                "{route}: more than {} parts in one upload",
                inner.config.max_upload_parts
            )));
        }
        if field.name() != Some("files") {
            // Gradio ignores other fields; drain them within the size limits.
            while field
                .chunk()
                .await
                .map_err(|e| multer_error(route, e, inner))?
                .is_some()
            {}
            continue;
        }
        if !inner.files.reserve(1) {
            return Err(ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                format!(
                    "{route}: the server already keeps {} uploaded files, its limit",
                    inner.files.max_files()
                ),
            ));
        }
        written.reserved += 1;
        let orig_name = field.file_name().unwrap_or_default().to_owned();
        let io_error = |e: std::io::Error| {
            ApiError::internal(format!("{route}: could not store the file: {e}"))
        };
        let path = inner.files.new_path(&orig_name).await.map_err(io_error)?;
        let mut file = tokio::fs::File::create(&path).await.map_err(io_error)?;
        written.paths.push((path, orig_name));
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| multer_error(route, e, inner))?
        {
            file.write_all(&chunk).await.map_err(io_error)?;
        }
        file.flush().await.map_err(io_error)?;
    }
    inner.files.release(written.reserved - written.paths.len());
    written.reserved = written.paths.len();
    if written.paths.is_empty() {
        return Err(ApiError::bad_request(format!(
            "{route}: the body has no part named \"files\"; send each file as a part named \
             files (curl -F files=@path)"
        )));
    }
    Ok(())
}
