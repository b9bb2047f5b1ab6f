//! A finished job as an MCP tool result: each output value becomes content, as Gradio's MCP
//! server shapes it. Files become their URL (images also an image content); text stays text;
//! anything else is its JSON. A failed job is an `isError` result carrying its message.

use base64::Engine as _;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::Value;

use std::path::Path;

use crate::backend::Outcome;
use crate::files::outputs;
use crate::files::serving::inline_type;
use crate::state::Inner;

/// Images larger than this are given by URL only.
const MAX_INLINE_IMAGE: u64 = 5 * 1024 * 1024;

/// The result of a finished job.
pub(crate) async fn tool_result(inner: &Inner, outcome: Outcome) -> CallToolResult {
    match outcome {
        Outcome::Error(message) => {
            let text = serde_json::from_slice::<String>(&message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&message).into_owned());
            CallToolResult::error(vec![ContentBlock::text(text)])
        }
        Outcome::Complete(data) => {
            let values = match serde_json::from_slice::<Value>(&data) {
                Ok(Value::Array(values)) => values,
                Ok(other) => vec![other],
                Err(_) => vec![Value::String(String::from_utf8_lossy(&data).into_owned())],
            };
            let mut content = Vec::new();
            for value in values {
                push_value(inner, value, &mut content).await;
            }
            CallToolResult::success(content)
        }
    }
}

fn is_file_data(value: &Value) -> bool {
    value.as_object().is_some_and(outputs::is_file_data)
}

async fn push_value(inner: &Inner, value: Value, content: &mut Vec<ContentBlock>) {
    match value {
        Value::String(text) => content.push(ContentBlock::text(text)),
        ref file if is_file_data(file) => push_file(inner, file, content).await,
        Value::Array(items) if !items.is_empty() && items.iter().all(is_file_data) => {
            for item in &items {
                push_file(inner, item, content).await;
            }
        }
        other => content.push(ContentBlock::text(other.to_string())),
    }
}

async fn push_file(inner: &Inner, file: &Value, content: &mut Vec<ContentBlock>) {
    let path = file.get("path").and_then(Value::as_str).unwrap_or_default();
    let url = file
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or(path)
        .to_owned();
    let mime = file
        .get("mime_type")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| image_mime(path).map(str::to_owned));
    if let Some(mime) = mime.filter(|m| m.starts_with("image/")) {
        if let Some(bytes) = read_small(inner, path).await {
            let data = base64::engine::general_purpose::STANDARD.encode(bytes);
            content.push(ContentBlock::image(data, mime));
            content.push(ContentBlock::text(format!("Image URL: {url}")));
            return;
        }
    }
    content.push(ContentBlock::text(url));
}

/// The file's bytes when the service may hand it out and it is small enough to inline.
async fn read_small(inner: &Inner, path: &str) -> Option<Vec<u8>> {
    let (real, _) = inner.files.resolve(path.to_owned()).await?;
    let meta = tokio::fs::metadata(&real).await.ok()?;
    if meta.len() > MAX_INLINE_IMAGE {
        return None;
    }
    tokio::fs::read(&real).await.ok()
}

fn image_mime(path: &str) -> Option<&'static str> {
    inline_type(Path::new(path)).filter(|m| m.starts_with("image/"))
}
