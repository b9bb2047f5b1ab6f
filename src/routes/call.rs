//! `POST {prefix}/call/{api}` (and `/call/v2/{api}`), and
//! `GET|HEAD {prefix}/call/{api}/{event_id}`.

use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;

use crate::auth::{bearer_token, AuthRequest, AuthTarget};
use crate::body::{empty, json_response, ResponseBody, NO_STORE};
use crate::concurrency::Ticket;
use crate::context::{CallContext, ContextInner};
use crate::error::{ApiError, ArgProblem, RouteName};
use crate::event_id::EventId;
use crate::registry::BoundCall;
use crate::request_json::{parse_strict, BodyProblem, CallBody, UniqueObject};
use crate::root_url::request_root;
use crate::runner::{spawn_job, Delivery, Job};
use crate::sse::CallStream;
use crate::state::{CompiledEndpoint, Inner};
use crate::store::{BeginError, LookupError, Subscription};

/// How the call body carries its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyForm {
    /// `{"data": [...]}` or `{"data": {...}}`.
    Data,
    /// `call/v2`: the whole body is an object keyed by parameter name.
    Keywords,
}

/// Reads a request body within the size limit.
pub(crate) async fn read_body<B>(
    inner: &Inner,
    parts: &Parts,
    body: B,
    route: &(dyn std::fmt::Display + Sync),
) -> Result<Bytes, ApiError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let limit = inner.config.max_body_bytes;
    let too_large = || {
        ApiError::too_large(format!(
            "{route}: the request body is larger than the limit of {limit} bytes"
        ))
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let collected = http_body_util::Limited::new(body, limit)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                too_large()
            } else {
                ApiError::bad_request(format!("{route}: the request body could not be read: {e}"))
            }
        })?;
    Ok(collected.to_bytes())
}

/// The error for a body that is not JSON at all.
fn not_json(route: &(dyn std::fmt::Display + Sync), problem: &dyn std::fmt::Display) -> ApiError {
    ApiError::unprocessable(format!(
        "{route}: the body is not valid JSON ({problem}); send {{\"data\": [...]}} with \
         content-type application/json"
    ))
}

/// Parses a JSON body, naming the route in the error.
pub(crate) fn parse_json(
    bytes: &[u8],
    route: &(dyn std::fmt::Display + Sync),
) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| not_json(route, &e))
}

/// Reads a JSON body within the size limit and parses it.
pub(crate) async fn read_json<B>(
    inner: &Inner,
    parts: &Parts,
    body: B,
    route: &(dyn std::fmt::Display + Sync),
) -> Result<Value, ApiError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let bytes = read_body(inner, parts, body, route).await?;
    parse_json(&bytes, route)
}

/// A call whose arguments were bound and authorized: everything but the job itself.
pub(crate) struct Prepared {
    pub(crate) call: BoundCall,
    pub(crate) bearer: Option<String>,
    pub(crate) token: Option<String>,
}

/// Binds `data`, checks the files it names (off the async threads), then runs the authorize
/// hook: all before any job exists.
pub(crate) async fn prepare(
    inner: &Inner,
    endpoint: &CompiledEndpoint,
    parts: &Parts,
    data: Value,
) -> Result<Prepared, ApiError> {
    let bearer = bearer_token(&parts.headers);
    let sig = &endpoint.sig;
    let bound = sig.bind(data, bearer.as_deref())?;
    if !bound.files.is_empty() {
        for (_, path) in &bound.files {
            inner.files.mark_used(path);
        }
        if let Some((index, path)) = inner.files.first_refused(bound.files).await {
            let name = &*sig.params[index].name;
            return Err(ApiError::invalid_arguments(
                &sig.name,
                vec![ArgProblem {
                    parameter: name.to_owned(),
                    index: Some(index),
                    msg: format!(
                        "parameter {name:?} (index {index}): file {path:?} was not uploaded to \
                         this server; upload it first with POST {}/upload and pass the path \
                         that returns",
                        inner.config.prefix
                    ),
                }],
            ));
        }
    }
    if let Some(authorize) = &inner.authorize {
        authorize(&AuthRequest {
            parts,
            target: AuthTarget::Call(&endpoint.sig.name),
            token: bound.token.as_deref(),
        })?;
    }
    Ok(Prepared {
        call: bound.call,
        bearer,
        token: bound.token,
    })
}

/// Takes a place in the endpoint's line, if it has a concurrency limit; 503 when the line is
/// full (Gradio's "Queue is full") or the service is shutting down.
pub(crate) fn admit(
    inner: &Inner,
    endpoint: &CompiledEndpoint,
    route: &(dyn std::fmt::Display + Sync),
) -> Result<Option<Ticket>, ApiError> {
    let unavailable = |message: String| {
        let mut err = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{route}: {message}"),
        );
        err.retry_after = Some(1);
        err
    };
    if inner.closing.load(std::sync::atomic::Ordering::Acquire) {
        return Err(unavailable(
            "the server is shutting down; retry shortly".to_owned(),
        ));
    }
    match &endpoint.limiter {
        None => Ok(None),
        Some(limiter) => limiter.admit().map(Some).map_err(|waiting| {
            unavailable(format!(
                "the queue of /{} is full: {waiting} calls already wait, its limit; retry later",
                endpoint.sig.name
            ))
        }),
    }
}

/// Starts the job of a prepared call.
pub(crate) fn launch(
    inner: &Arc<Inner>,
    endpoint: &CompiledEndpoint,
    id: EventId,
    parts: Parts,
    prepared: Prepared,
    delivery: Delivery,
    ticket: Option<Ticket>,
) {
    let file_root = endpoint.has_file_output.then(|| {
        request_root(
            &parts.headers,
            inner.config.public_url.as_deref(),
            &inner.config.root_path,
        )
    });
    let cancel = inner.running.start(id);
    let updates = match &delivery {
        Delivery::Queue(hash) => Some((inner.sessions.clone(), hash.clone())),
        Delivery::Call => {
            if endpoint.streaming {
                inner.live.open(id);
            }
            None
        }
    };
    let ctx = CallContext::new(ContextInner {
        endpoint: endpoint.sig.name.clone(),
        event_id: id,
        headers: parts.headers,
        bearer: prepared.bearer,
        token: prepared.token,
        cancel: cancel.clone(),
        files: inner.files.clone(),
        updates,
    });
    spawn_job(
        inner.clone(),
        Job {
            id,
            call: prepared.call,
            ctx,
            cancel,
            delivery,
            file_root,
            ticket,
        },
    );
}

/// `{"event_id":"<32 hex>"}`.
pub(crate) fn event_id_response(id: EventId) -> Response<ResponseBody> {
    let mut body = Vec::with_capacity(47);
    body.extend_from_slice(b"{\"event_id\":\"");
    body.extend_from_slice(id.to_hex().as_str().as_bytes());
    body.extend_from_slice(b"\"}");
    json_response(StatusCode::OK, body)
}

pub(crate) async fn start<B>(
    inner: &Arc<Inner>,
    parts: Parts,
    body: B,
    api: &str,
    form: BodyForm,
) -> Result<Response<ResponseBody>, ApiError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let endpoint = inner.endpoint(api)?;
    let route = RouteName {
        method: "POST",
        prefix: &inner.config.prefix,
        path: "/call/",
        name: api,
    };
    let bytes = read_body(inner, &parts, body, &route).await?;
    let params = || {
        endpoint
            .sig
            .params
            .iter()
            .map(|p| &*p.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let data = match form {
        BodyForm::Data => {
            let shape = |extra: &str| {
                ApiError::unprocessable(format!(
                    "{route}: the body must be a JSON object with one \"data\" field: \
                     {{\"data\": [...]}} with the values of {} in order, or \
                     {{\"data\": {{...}}}} keyed by parameter name{extra}",
                    params()
                ))
            };
            match parse_strict::<CallBody>(&bytes) {
                Ok(CallBody {
                    data: Some(_),
                    repeated: true,
                }) => return Err(shape(" (this one has \"data\" twice)")),
                Ok(CallBody {
                    data: Some(data), ..
                }) => data,
                Ok(CallBody { data: None, .. }) | Err(BodyProblem::NotObject) => {
                    return Err(shape(""))
                }
                Err(BodyProblem::Syntax(e)) => return Err(not_json(&route, &e)),
            }
        }
        BodyForm::Keywords => {
            let shape = |extra: &str| {
                ApiError::unprocessable(format!(
                    "{route}: the body must be a JSON object keyed by parameter name ({}){extra}",
                    params()
                ))
            };
            match parse_strict::<UniqueObject>(&bytes) {
                Ok(UniqueObject {
                    repeated: Some(key),
                    ..
                }) => return Err(shape(&format!(" (this one has {key:?} twice)"))),
                Ok(UniqueObject { map, .. }) => Value::Object(map),
                Err(BodyProblem::NotObject) => return Err(shape("")),
                Err(BodyProblem::Syntax(e)) => return Err(not_json(&route, &e)),
            }
        }
    };
    finish_start(inner, endpoint, parts, data, &route, api).await
}

async fn finish_start(
    inner: &Arc<Inner>,
    endpoint: &CompiledEndpoint,
    parts: Parts,
    data: Value,
    route: &RouteName<'_>,
    api: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let prepared = prepare(inner, endpoint, &parts, data).await?;
    let ticket = admit(inner, endpoint, route)?;
    let id = EventId::new_random();
    inner.store.begin(id, api).map_err(|e| match e {
        BeginError::Full { .. } => {
            let mut err = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("{route}: {e}"));
            err.retry_after = Some(1);
            err
        }
    })?;
    launch(inner, endpoint, id, parts, prepared, Delivery::Call, ticket);
    Ok(event_id_response(id))
}

pub(crate) fn poll(
    inner: &Arc<Inner>,
    api: &str,
    event_id: &str,
    head: bool,
) -> Result<Response<ResponseBody>, ApiError> {
    inner.endpoint(api)?;
    let prefix = &inner.config.prefix;
    let not_found = || {
        ApiError::not_found(format!(
            "no event {event_id:?} for /{api}: it never existed, was already delivered, or \
             expired (results wait {} s for their poll); start a call with POST \
             {prefix}/call/{api}",
            inner.config.result_ttl.as_secs()
        ))
    };
    let id = EventId::parse(event_id).ok_or_else(not_found)?;
    let subscription = inner.store.subscribe(id, api).map_err(|e| match e {
        LookupError::NotFound => not_found(),
        LookupError::WrongEndpoint { actual } => ApiError::not_found(format!(
            "event {event_id} belongs to /{actual}, not /{api}; poll GET \
             {prefix}/call/{actual}/{event_id}"
        )),
    })?;
    let body = if head {
        empty()
    } else {
        let every = inner.config.heartbeat_interval;
        let store = inner.store.clone();
        let live = inner.live.clone();
        let stream = match subscription {
            Subscription::Ready(outcome) => CallStream::ready(outcome, store, live, id, every),
            Subscription::Waiting(rx) => CallStream::waiting(rx, store, live, id, every),
        };
        ResponseBody::new(stream)
    };
    Ok(event_stream(body))
}

/// A `text/event-stream` response with the cache headers both streams use.
pub(crate) fn event_stream(body: ResponseBody) -> Response<ResponseBody> {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, NO_STORE);
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}
