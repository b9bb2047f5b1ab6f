//! `POST {prefix}/cancel` and `POST {prefix}/reset`: cancel a running call by event id.
//! Both always answer `{"success": true}`, as Gradio does, also for unknown ids.

use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{Response, StatusCode};
use serde_json::Value;

use crate::body::{json_response, ResponseBody};
use crate::error::ApiError;
use crate::event_id::EventId;
use crate::request_body::read_json;
use crate::state::Inner;

pub(crate) async fn cancel<B>(
    inner: &Arc<Inner>,
    parts: Parts,
    body: B,
    route: &str,
) -> Result<Response<ResponseBody>, ApiError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let route = format!("POST {}/{route}", inner.config.prefix);
    let body = read_json(inner.config.max_body_bytes, &parts, body, &route).await?;
    if let Some(id) = body
        .get("event_id")
        .and_then(Value::as_str)
        .and_then(EventId::parse)
    {
        // A follow call still waiting for its poll is dropped here; a running call is
        // reached on the replica that runs it, through the backend.
        if !inner.follows.cancel(id) {
            let _ = inner.backend.cancel(id).await;
        }
    }
    Ok(json_response(
        StatusCode::OK,
        Bytes::from_static(b"{\"success\":true}"),
    ))
}
