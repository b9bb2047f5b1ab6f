//! `POST {prefix}/call/{api}` (and `/call/v2/{api}`), and
//! `GET|HEAD {prefix}/call/{api}/{event_id}`: HTTP in and out; the call's life is in `call`.

use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::Response;
use serde_json::Value;

use crate::backend::LookupError;
use crate::body::{empty, event_id_response, ResponseBody};
use crate::call;
use crate::call::{unavailable, CallData};
use crate::error::{ApiError, RouteName};
use crate::event_id::EventId;
use crate::request_body::{
    not_json, parse_strict, read_body, BodyForm, BodyProblem, CallBody, UniqueObject,
};
use crate::sse::{event_stream, CallStream, FollowStream};
use crate::state::Inner;

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
    let bytes = read_body(inner.config.max_body_bytes, &parts, body, &route).await?;
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
            // Endpoints with a direct way in get the text of `data`; the others its parsed
            // value, so that the body is read once.
            if endpoint.sig.direct.is_some() {
                CallData::Text(data_field(parse_strict(&bytes), &route, shape)?)
            } else {
                CallData::Parsed(data_field(parse_strict(&bytes), &route, shape)?)
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
                Ok(UniqueObject { map, .. }) => CallData::Parsed(Value::Object(map)),
                Err(BodyProblem::NotObject) => return Err(shape("")),
                Err(BodyProblem::Syntax(e)) => return Err(not_json(&route, &e)),
            }
        }
    };
    if endpoint.follow && inner.backend.is_local() {
        return call::start_follow(inner, endpoint, parts, data, &route)
            .await
            .map(event_id_response);
    }
    call::start(inner, endpoint, parts, data, &route, call::Delivery::Call)
        .await
        .map(event_id_response)
}

/// The `data` field of a parsed call body, or the error that names what is wrong with it.
fn data_field<D>(
    parsed: Result<CallBody<D>, BodyProblem>,
    route: &RouteName<'_>,
    shape: impl Fn(&str) -> ApiError,
) -> Result<D, ApiError> {
    match parsed {
        Ok(CallBody {
            data: Some(_),
            repeated: true,
        }) => Err(shape(" (this one has \"data\" twice)")),
        Ok(CallBody {
            data: Some(data), ..
        }) => Ok(data),
        Ok(CallBody { data: None, .. }) | Err(BodyProblem::NotObject) => Err(shape("")),
        Err(BodyProblem::Syntax(e)) => Err(not_json(route, &e)),
    }
}

pub(crate) async fn poll(
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
    let wrong_endpoint = |actual: &str| {
        ApiError::not_found(format!(
            "event {event_id} belongs to /{actual}, not /{api}; poll GET \
             {prefix}/call/{actual}/{event_id}"
        ))
    };
    // A follow call waiting for this poll: its stream reads the fan-out's buffer.
    match inner.follows.check(id, api) {
        Some(Err(LookupError::WrongEndpoint { actual })) => return Err(wrong_endpoint(&actual)),
        Some(_) if head => return Ok(event_stream(empty())),
        Some(_) => {
            if let Some(follower) = inner.follows.take(id, api) {
                let closing = inner.follows.closing.clone();
                let body = FollowStream::new(follower, closing);
                return Ok(event_stream(ResponseBody::new(body)));
            }
        }
        None => {}
    }
    // GET takes a finished result at once where the backend can (one round trip instead of
    // two); HEAD only looks.
    let opened = if head {
        inner.backend.watch(id, api).await.map(|feed| (feed, false))
    } else {
        inner.backend.take(id, api).await
    };
    let (feed, _taken) = opened.map_err(|e| match e {
        LookupError::WrongEndpoint { actual } => wrong_endpoint(&actual),
        LookupError::Unavailable(e) => unavailable(
            &format!("GET {prefix}/call/{api}/{event_id}"),
            &format!("the shared store is unavailable: {e}"),
        ),
        _ => not_found(),
    })?;
    let body = if head {
        empty()
    } else {
        let every = inner.config.heartbeat_interval;
        ResponseBody::new(CallStream::new(feed, inner.backend.clone(), id, every, api))
    };
    Ok(event_stream(body))
}
