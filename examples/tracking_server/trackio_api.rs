//! Trackio's own HTTP API (what `trackio.remote_client` speaks when `GET /version` says
//! `api_version: 1`), as a thin translation onto the Gradio routes of the same service:
//!
//! - `GET /version`: `{"api_version": 1}`;
//! - `POST /api/upload`: the multipart upload of `/gradio_api/upload`, answered as
//!   `{"paths": [...]}`;
//! - `POST /api/{name}` with `{"args": [...], "kwargs": {...}}` (or `{"data": [...]}`, or an
//!   object of parameters): the call and poll of `/gradio_api/call/{name}`, answered as
//!   `{"data": <value>}`, or `{"error": "..."}`. An unknown endpoint is a 404 (the client then
//!   says the server "does not support" it); every other failure (arguments, write token,
//!   the handler's own error) is `{"error": …}` with status 200, because Trackio's client
//!   drops the body of any other 4xx or 5xx and would hide the message, while it raises an
//!   `error` field as it is;
//! - `GET /file?path=…`: `/gradio_api/file=…`, byte ranges included.
//!
//! Trackio's client prefers this API over the Gradio client when it is there. It matters for
//! artifacts: the Gradio Python client downloads every object with a `path` key in a result
//! (it takes them for files), and an artifact's manifest is a list of `{path, digest, size}`.
//! Everything else works on both; the tests run Trackio's client both ways.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path as UrlPath, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use gradio_compat::GradioCompat;
use http::{header, HeaderMap, Method, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use tokio::sync::OnceCell;
use tower::ServiceExt as _;

/// The most bytes of a call body this translation reads: the Gradio route's default limit
/// (16 MiB), which then applies again to the translated body.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The routes' state: the Gradio service and, once read from its `/info`, each endpoint's
/// parameter names in order.
pub struct TrackioApi {
    gradio: GradioCompat,
    names: OnceCell<HashMap<String, Vec<String>>>,
}

/// The routes of Trackio's API over `gradio`.
pub fn routes(gradio: GradioCompat) -> Router {
    let state = Arc::new(TrackioApi {
        gradio,
        names: OnceCell::new(),
    });
    Router::new()
        .route("/version", get(version))
        .route("/api/upload", post(upload))
        .route("/api/{name}", post(call))
        .route("/file", get(file))
        .with_state(state)
}

/// A JSON answer.
fn answer(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// A failure as Trackio's client shows it: a 404 as is, anything else as `{"error"}` with 200
/// (the status it would have had is in `x-status`).
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let shown = if status == StatusCode::NOT_FOUND {
        status
    } else {
        StatusCode::OK
    };
    let mut response = answer(shown, &json!({"error": message.into()}));
    response
        .headers_mut()
        .insert("x-status", header::HeaderValue::from(status.as_u16()));
    response
}

async fn version() -> Response {
    answer(
        StatusCode::OK,
        &json!({"api_version": 1, "server": "gradio-compat tracking_server"}),
    )
}

/// Sends a request to the Gradio service and reads its whole answer.
async fn send(
    api: &TrackioApi,
    request: http::Request<Body>,
) -> (StatusCode, HeaderMap, bytes::Bytes) {
    let response = match api.gradio.clone().oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    (parts.status, parts.headers, bytes)
}

/// A request to the Gradio service with the caller's headers (tokens, host).
fn inner(method: Method, uri: &str, headers: &HeaderMap, body: Body) -> http::Request<Body> {
    let mut request = http::Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri.parse().unwrap_or_default();
    for (name, value) in headers {
        if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
            request.headers_mut().append(name, value.clone());
        }
    }
    request
}

/// The message of a Gradio JSON error body.
fn message_of(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
}

async fn upload(State(api): State<Arc<TrackioApi>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let (status, _, bytes) = send(
        &api,
        inner(Method::POST, "/gradio_api/upload", &parts.headers, body),
    )
    .await;
    if !status.is_success() {
        return error(status, message_of(&bytes));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(paths) => answer(StatusCode::OK, &json!({"paths": paths})),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the upload answered no paths: {e}"),
        ),
    }
}

async fn file(State(api): State<Arc<TrackioApi>>, request: Request) -> Response {
    let path = request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("path="))
        .unwrap_or_default()
        .to_owned();
    if path.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "GET /file needs ?path=<a file path>",
        );
    }
    let (parts, _) = request.into_parts();
    // Streamed through as the Gradio route answers it (status, ranges, type).
    let request = inner(
        parts.method,
        &format!("/gradio_api/file={path}"),
        &parts.headers,
        Body::empty(),
    );
    match api.gradio.clone().oneshot(request).await {
        Ok(r) => r.map(Body::new),
        Err(never) => match never {},
    }
}

impl TrackioApi {
    /// Each endpoint's parameter names, read once from the service's `/info`.
    async fn names(&self) -> &HashMap<String, Vec<String>> {
        self.names
            .get_or_init(|| async {
                let request = inner(
                    Method::GET,
                    "/gradio_api/info?all_endpoints=true",
                    &HeaderMap::new(),
                    Body::empty(),
                );
                let (_, _, bytes) = send(self, request).await;
                let info: Value = serde_json::from_slice(&bytes).unwrap_or_default();
                let mut names = HashMap::new();
                if let Some(endpoints) = info["named_endpoints"].as_object() {
                    for (route, e) in endpoints {
                        let params = e["parameters"]
                            .as_array()
                            .map(|ps| {
                                ps.iter()
                                    .filter_map(|p| p["parameter_name"].as_str().map(str::to_owned))
                                    .collect()
                            })
                            .unwrap_or_default();
                        names.insert(route.trim_start_matches('/').to_owned(), params);
                    }
                }
                names
            })
            .await
    }
}

/// The call's `data` as JSON text, built from the body's own text (every value passes through
/// as sent, so no number is reparsed): positional arguments take the parameters in order,
/// then keyword ones theirs. A positional array when the given parameters are a leading run
/// (the rest take their defaults), else an object keyed by parameter name (which the Gradio
/// route checks, naming an unknown one).
fn data_text(names: &[String], body: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("the body is not UTF-8: {e}"))?;
    let (args, kwargs) = arguments(text).map_err(|e| format!("the body is not JSON: {e}"))?;
    if args.len() > names.len() {
        return Err(format!(
            "{} positional arguments given, but the endpoint takes {} ({})",
            args.len(),
            names.len(),
            names.join(", ")
        ));
    }
    let mut slots: Vec<Option<&RawValue>> = vec![None; names.len()];
    for (slot, arg) in slots.iter_mut().zip(&args) {
        *slot = Some(arg);
    }
    let mut unknown = false;
    for (name, value) in &kwargs {
        match names.iter().position(|n| n == name) {
            Some(i) => slots[i] = Some(value),
            None => unknown = true,
        }
    }
    let given = slots.iter().rposition(Option::is_some).map_or(0, |i| i + 1);
    if !unknown && slots[..given].iter().all(Option::is_some) {
        let items: Vec<&str> = slots[..given].iter().flatten().map(|v| v.get()).collect();
        return Ok(format!("[{}]", items.join(",")));
    }
    let mut keyed: Vec<String> = Vec::new();
    for (name, value) in names.iter().zip(&slots) {
        if let Some(value) = value {
            keyed.push(format!("{}:{}", Value::from(name.as_str()), value.get()));
        }
    }
    for (name, value) in &kwargs {
        if !names.contains(name) {
            keyed.push(format!("{}:{}", Value::from(name.as_str()), value.get()));
        }
    }
    Ok(format!("{{{}}}", keyed.join(",")))
}

/// Positional and keyword arguments, as the body gives them: `{"args": [...], "kwargs":
/// {...}}`, `{"data": [...]}`, an object of parameters, an array, or a lone value.
type Arguments<'t> = (Vec<&'t RawValue>, BTreeMap<String, &'t RawValue>);

fn arguments(text: &str) -> Result<Arguments<'_>, serde_json::Error> {
    let text = text.trim();
    if text.is_empty() || text == "null" {
        return Ok((Vec::new(), BTreeMap::new()));
    }
    if text.starts_with('[') {
        return Ok((serde_json::from_str(text)?, BTreeMap::new()));
    }
    if !text.starts_with('{') {
        return Ok((vec![serde_json::from_str(text)?], BTreeMap::new()));
    }
    let object: BTreeMap<String, &RawValue> = serde_json::from_str(text)?;
    if object.contains_key("args") || object.contains_key("kwargs") {
        let args = match object.get("args").map(|a| a.get().trim()) {
            None | Some("null") => Vec::new(),
            Some(a) if a.starts_with('[') => serde_json::from_str(a)?,
            Some(_) => vec![object["args"]],
        };
        let kwargs = match object.get("kwargs") {
            Some(k) if k.get().trim_start().starts_with('{') => serde_json::from_str(k.get())?,
            _ => BTreeMap::new(),
        };
        return Ok((args, kwargs));
    }
    if let Some(data) = object
        .get("data")
        .filter(|d| d.get().trim_start().starts_with('['))
    {
        return Ok((serde_json::from_str(data.get())?, BTreeMap::new()));
    }
    Ok((Vec::new(), object))
}

async fn call(
    State(api): State<Arc<TrackioApi>>,
    UrlPath(name): UrlPath<String>,
    request: Request,
) -> Response {
    let Some(params) = api.names().await.get(&name).cloned() else {
        let mut known: Vec<&String> = api.names().await.keys().collect();
        known.sort();
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "no endpoint {name:?}; this server has {}",
                known
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    };
    let (parts, body) = request.into_parts();
    let body = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body could not be read (at most {MAX_BODY} bytes): {e}"),
            )
        }
    };
    let data = match data_text(&params, &body) {
        Ok(d) => d,
        Err(e) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("/api/{name}: {e}"),
            )
        }
    };
    let mut headers = parts.headers.clone();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    let started = inner(
        Method::POST,
        &format!("/gradio_api/call/{name}"),
        &headers,
        Body::from(format!("{{\"data\":{data}}}")),
    );
    let (status, _, bytes) = send(&api, started).await;
    if !status.is_success() {
        return error(status, message_of(&bytes));
    }
    let Some(event) = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v["event_id"].as_str().map(str::to_owned))
    else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the call answered no event id",
        );
    };
    let poll = inner(
        Method::GET,
        &format!("/gradio_api/call/{name}/{event}"),
        &parts.headers,
        Body::empty(),
    );
    let (status, _, stream) = send(&api, poll).await;
    if !status.is_success() {
        return error(status, message_of(&stream));
    }
    // The terminal frame is the last one of the stream.
    let text = String::from_utf8_lossy(&stream);
    let last = text
        .split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .last()
        .unwrap_or_default();
    let (mut event_name, mut data) = ("", "");
    for line in last.lines() {
        if let Some(e) = line.strip_prefix("event: ") {
            event_name = e;
        } else if let Some(d) = line.strip_prefix("data: ") {
            data = d;
        }
    }
    match event_name {
        // The result's own text, so that no number is reparsed.
        "complete" => {
            let value = match serde_json::from_str::<Vec<&RawValue>>(data) {
                Ok(items) if items.len() == 1 => items[0].get(),
                _ if data.trim().is_empty() => "null",
                _ => data,
            };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                format!("{{\"data\":{value}}}"),
            )
                .into_response()
        }
        "error" => error(
            StatusCode::BAD_REQUEST,
            serde_json::from_str::<Value>(data).unwrap_or(Value::Null)["error"]
                .as_str()
                .unwrap_or("the call failed")
                .to_owned(),
        ),
        _ => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the call of {name} ended without a result"),
        ),
    }
}

#[cfg(test)]
mod tests {
    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arguments_become_the_data_text_unchanged() {
        use super::data_text;
        let n = names(&["logs", "hf_token"]);
        // Keyword arguments in parameter order; numbers kept exactly as sent.
        let body = br#"{"args": [], "kwargs": {"hf_token": null, "logs": [{"m": -1.5e-300, "b": 123456789012345678901234567890}]}}"#;
        assert_eq!(
            data_text(&n, body).unwrap(),
            r#"[[{"m": -1.5e-300, "b": 123456789012345678901234567890}],null]"#
        );
        // Positional, then keyword; a leading run stays positional (the rest default).
        assert_eq!(data_text(&n, br#"{"args": [1]}"#).unwrap(), "[1]");
        assert_eq!(data_text(&n, br#"{"data": [1, 2]}"#).unwrap(), "[1,2]");
        assert_eq!(data_text(&n, br#"[1]"#).unwrap(), "[1]");
        assert_eq!(data_text(&n, b"").unwrap(), "[]");
        assert_eq!(data_text(&n, b"7").unwrap(), "[7]");
        // A gap, or a name the endpoint does not have: keyed by name, for the route to check.
        assert_eq!(
            data_text(&n, br#"{"hf_token": "t"}"#).unwrap(),
            r#"{"hf_token":"t"}"#
        );
        assert_eq!(
            data_text(&n, br#"{"logs": [], "nope": 1}"#).unwrap(),
            r#"{"logs":[],"nope":1}"#
        );
        // Too many, or not JSON: a message that says so.
        let e = data_text(&n, b"[1, 2, 3]").unwrap_err();
        assert!(
            e.contains("3 positional arguments given") && e.contains("logs, hf_token"),
            "{e}"
        );
        assert!(data_text(&n, b"{").unwrap_err().contains("not JSON"));
    }
}
