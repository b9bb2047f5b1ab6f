//! `POST {prefix}/queue/join` and `GET {prefix}/queue/data?session_hash=`: the `sse_v3`
//! queue protocol of the official clients.
//!
//! The clients hide HTTP error bodies, so argument, auth and lookup failures of a join are
//! delivered the way they show them: as a failed `process_completed` on the session's stream.

use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::Response;
use percent_encoding::percent_decode_str;
use serde_json::Value;

use crate::backend::Outcome;
use crate::body::event_id_response;
use crate::body::{full, ResponseBody};
use crate::call::{admit, launch, prepare, unavailable, CallData, Delivery};
use crate::error::ApiError;
use crate::event_id::EventId;
use crate::frames::queue::{estimation, process_completed, session_not_found};
use crate::request_body::{parse_strict, read_body, BodyProblem, UniqueObject};
use crate::sse::{event_stream, QueueStream};
use crate::state::Inner;

const MAX_SESSION_HASH: usize = 256;

fn valid_hash(hash: &str) -> bool {
    (1..=MAX_SESSION_HASH).contains(&hash.len()) && !hash.chars().any(char::is_control)
}

pub(crate) async fn join<B>(
    inner: &Arc<Inner>,
    parts: Parts,
    body: B,
) -> Result<Response<ResponseBody>, ApiError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let prefix = &inner.config.prefix;
    let route = format!("POST {prefix}/queue/join");
    let bytes = read_body(inner.config.max_body_bytes, &parts, body, &route).await?;
    let shape = |extra: &str| {
        ApiError::bad_request(format!(
            "{route}: the body must be a JSON object {{\"data\": [...], \"fn_index\": N, \"session_hash\": \"...\"}}{extra}"
        ))
    };
    let mut body = match parse_strict::<UniqueObject>(&bytes) {
        Ok(UniqueObject {
            repeated: Some(key),
            ..
        }) => return Err(shape(&format!(" (this one has {key:?} twice)"))),
        Ok(UniqueObject { map, .. }) => map,
        Err(BodyProblem::NotObject) => return Err(shape("")),
        Err(BodyProblem::Syntax(e)) => {
            return Err(ApiError::unprocessable(format!(
                "{route}: the body is not valid JSON ({e})"
            )))
        }
    };
    let hash = match body.get("session_hash").and_then(Value::as_str) {
        Some(h) if valid_hash(h) => h.to_owned(),
        _ => {
            return Err(ApiError::bad_request(format!(
                "{route}: \"session_hash\" is required: a string of 1-{MAX_SESSION_HASH} characters naming your session"
            )))
        }
    };
    let Some(fn_index) = body.get("fn_index").and_then(Value::as_i64) else {
        return Err(ApiError::bad_request(format!(
            "{route}: \"fn_index\" is required: the index of the endpoint in GET /config's dependencies"
        )));
    };
    let id = EventId::new_random();
    let endpoint = usize::try_from(fn_index)
        .ok()
        .and_then(|i| inner.dependencies.get(i))
        .and_then(|name| inner.endpoints.get(name));
    if let Some(endpoint) = endpoint {
        // The request span learns which endpoint the fn_index named.
        tracing::Span::current().record("endpoint", &*endpoint.sig.name);
    }
    let prepared = match endpoint {
        None => Err(format!(
            "unknown fn_index {fn_index}: this app's endpoints are {} (indexes as in GET /config)",
            inner
                .dependencies
                .iter()
                .enumerate()
                .map(|(i, n)| format!("{i}: /{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Some(endpoint) => match body.remove("data") {
            None => Err(format!(
                "/{}: the body has no \"data\" field",
                endpoint.sig.name
            )),
            Some(data) => prepare(inner, endpoint, &parts, CallData::Parsed(data))
                .await
                .map(|prepared| (endpoint, prepared))
                .map_err(|e| e.message),
        },
    };
    match prepared {
        Ok((endpoint, prepared)) => {
            let admitted = admit(inner, endpoint, id, &route, Some(&hash)).await?;
            let (rank, size) = admitted.place();
            inner
                .backend
                .publish(id, estimation(id, rank, size), false)
                .await;
            launch(
                inner,
                endpoint,
                id,
                parts,
                prepared,
                Delivery::Queue,
                admitted,
            );
        }
        Err(message) => {
            // A job that fails at once: the client reads why on the session's stream.
            let api = endpoint.map_or("", |e| &*e.sig.name);
            inner
                .backend
                .begin(id, api, inner.runner, Some(&hash))
                .await
                .map_err(|e| unavailable(&route, &e.to_string()))?;
            inner.backend.publish(id, estimation(id, 0, 1), false).await;
            let outcome = Outcome::error(&message);
            let failed = process_completed(id, &outcome, false, 0.0);
            inner.backend.finish(id, outcome, Some(failed)).await;
        }
    }
    Ok(event_id_response(id))
}

/// The value of one query parameter, percent-decoded (`+` as space).
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| {
            percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

pub(crate) async fn data(
    inner: &Arc<Inner>,
    query: Option<&str>,
) -> Result<Response<ResponseBody>, ApiError> {
    let prefix = &inner.config.prefix;
    let hash = query_param(query, "session_hash")
        .filter(|h| valid_hash(h))
        .ok_or_else(|| {
            ApiError::unprocessable(format!(
                "GET {prefix}/queue/data needs ?session_hash=<the session_hash of your queue/join>"
            ))
        })?;
    let feed = inner.backend.watch_session(&hash).await.map_err(|e| {
        unavailable(
            &format!("GET {prefix}/queue/data"),
            &format!("the shared store is unavailable: {e}"),
        )
    })?;
    let body = match feed {
        Some(feed) => ResponseBody::new(QueueStream::new(
            feed,
            inner.config.heartbeat_interval,
            inner.backend.lease(),
        )),
        None => full(session_not_found(&hash)),
    };
    Ok(event_stream(body))
}
