//! `GET|HEAD {prefix}/file={path}`: serves files this server created, and files in allowed
//! directories, whole or by byte range (`range.rs`). Everything else is 403, as in Gradio.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use http::{header, HeaderValue, Response, StatusCode};
use percent_encoding::percent_decode_str;

use crate::body::{empty, ResponseBody};
use crate::error::ApiError;
use crate::files::body::FileBody;
use crate::files::range::{part, Part};
use crate::files::store::FileStore;

/// Types that are safe to show inline in a browser; everything else is an attachment.
pub(crate) fn inline_type(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "txt" | "log" | "md" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        _ => return None,
    })
}

fn forbidden(path: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        format!(
            "File not allowed: {path}. Only files uploaded with POST /upload (or in a directory \
             the server allows) can be fetched."
        ),
    )
}

pub(crate) async fn serve(
    files: &Arc<FileStore>,
    raw_path: &str,
    head: bool,
    request: &http::HeaderMap,
) -> Result<Response<ResponseBody>, ApiError> {
    let decoded = percent_decode_str(raw_path)
        .decode_utf8_lossy()
        .into_owned();
    // The same check a call's FileData arguments go through, off the async threads.
    let (path, name): (PathBuf, String) = files
        .resolve(decoded.clone())
        .await
        .ok_or_else(|| forbidden(&decoded))?;
    let mut file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| forbidden(&decoded))?;
    let meta = file.metadata().await.map_err(|_| forbidden(&decoded))?;
    if !meta.is_file() {
        return Err(forbidden(&decoded));
    }
    let name = if name.is_empty() {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".to_owned())
    } else {
        crate::files::sanitize_file_name(&name)
    };
    let (content_type, disposition) = match inline_type(&path) {
        Some(t) => (t, "inline"),
        None => ("application/octet-stream", "attachment"),
    };
    let quoted: String = name.chars().filter(|c| *c != '"' && *c != '\\').collect();
    let len = meta.len();
    let (start, count, status) = match part(
        request.get(header::RANGE),
        request.contains_key(header::IF_RANGE),
        len,
    ) {
        Part::Whole => (0, len, StatusCode::OK),
        Part::Range { start, end } => (start, end - start + 1, StatusCode::PARTIAL_CONTENT),
        Part::Unsatisfiable => {
            let mut response = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                format!(
                    "the Range {:?} lies outside {decoded} ({len} bytes); ask for bytes=0-{} or less",
                    request
                        .get(header::RANGE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default(),
                    len.saturating_sub(1)
                ),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(response);
        }
    };
    if start > 0 && !head {
        use tokio::io::AsyncSeekExt as _;
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|_| forbidden(&decoded))?;
    }
    let body = if head {
        empty()
    } else {
        ResponseBody::new(FileBody::new(file, count))
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{len}", start + count - 1))
        {
            headers.insert(header::CONTENT_RANGE, v);
        }
    }
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("{disposition}; filename=\"{quoted}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    } else {
        headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
    Ok(response)
}
