//! Bearer tokens, token injection and the authorize hook.

mod common;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::fixtures::{registry, Probe};
use common::{call_in_process, parse_frames, request, TestServer};
use gradio_compat::{AuthRejection, AuthTarget, GradioCompat};
use http::{Method, StatusCode};
use serde_json::{json, Value};

async fn call_token(svc: &GradioCompat, body: &str, headers: &[(&str, &str)]) -> Value {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    let r = call_in_process(
        svc,
        request(
            Method::POST,
            "/gradio_api/call/token",
            &all,
            Bytes::from(body.to_owned()),
        ),
    )
    .await;
    let id = r.event_id();
    let poll = call_in_process(
        svc,
        request(
            Method::GET,
            &format!("/gradio_api/call/token/{id}"),
            &[],
            Bytes::new(),
        ),
    )
    .await;
    let frames = parse_frames(poll.text());
    assert_eq!(
        frames[0].event.as_deref(),
        Some("complete"),
        "{}",
        poll.text()
    );
    serde_json::from_str::<Value>(&frames[0].data).unwrap()[0].clone()
}

#[tokio::test]
async fn bearer_is_injected_for_absent_empty_and_blank_tokens() {
    let svc = GradioCompat::builder(registry(Probe::new()))
        .build()
        .unwrap();
    let bearer = [("authorization", "Bearer hf_secret")];
    for body in [
        r#"{"data": [1]}"#,
        r#"{"data": [1, null]}"#,
        r#"{"data": [1, ""]}"#,
        r#"{"data": [1, "  "]}"#,
        r#"{"data": {"x": 1, "hf_token": "   "}}"#,
    ] {
        let seen = call_token(&svc, body, &bearer).await;
        assert_eq!(
            seen,
            json!({"arg": "hf_secret", "token": "hf_secret", "bearer": "hf_secret"}),
            "{body}"
        );
    }
}

#[tokio::test]
async fn the_python_clients_header_works_too() {
    let svc = GradioCompat::builder(registry(Probe::new()))
        .build()
        .unwrap();
    let seen = call_token(
        &svc,
        r#"{"data": [1]}"#,
        &[("x-hf-authorization", "Bearer hf_py")],
    )
    .await;
    assert_eq!(seen["arg"], "hf_py");
    assert_eq!(seen["token"], "hf_py");
}

#[tokio::test]
async fn a_callers_own_token_wins() {
    let svc = GradioCompat::builder(registry(Probe::new()))
        .build()
        .unwrap();
    let seen = call_token(
        &svc,
        r#"{"data": [1, "mine"]}"#,
        &[("authorization", "Bearer theirs")],
    )
    .await;
    assert_eq!(
        seen,
        json!({"arg": "mine", "token": "mine", "bearer": "theirs"})
    );
    // Without any token there is nothing to inject.
    let seen = call_token(&svc, r#"{"data": [1]}"#, &[]).await;
    assert_eq!(seen, json!({"arg": null, "token": null, "bearer": null}));
}

#[tokio::test]
async fn token_param_name_is_configurable() {
    let svc = GradioCompat::builder(registry(Probe::new()))
        .token_param("x")
        .build()
        .unwrap();
    // "x" is an integer parameter here, so an injected string is refused with 422: the
    // point is that the setting moved injection off `hf_token`.
    let r = call_in_process(
        &svc,
        request(
            Method::POST,
            "/gradio_api/call/token",
            &[("authorization", "Bearer t")],
            Bytes::from_static(b"{\"data\": []}"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("\\\"x\\\""), "{}", r.text());
}

/// What the hook was shown: the target and the token.
type Judged = (String, Option<String>);

/// The hook sees the effective token and can refuse with 401 or 403; no job starts then.
#[tokio::test]
async fn authorize_hook_refuses_before_any_job_exists() {
    let probe = Probe::new();
    let seen: Arc<Mutex<Vec<Judged>>> = Arc::default();
    let log = seen.clone();
    let svc = GradioCompat::builder(registry(probe.clone()))
        .authorize(move |req| {
            let target = match req.target {
                AuthTarget::Call(name) => name.to_owned(),
                AuthTarget::Upload => "upload".to_owned(),
                _ => "other".to_owned(),
            };
            log.lock()
                .unwrap()
                .push((target, req.token.map(str::to_owned)));
            match req.token {
                None => Err(AuthRejection::Unauthorized("send a bearer token".into())),
                Some("good") => Ok(()),
                Some(_) => Err(AuthRejection::Forbidden(
                    "that token may not call this".into(),
                )),
            }
        })
        .build()
        .unwrap();
    let server = TestServer::start(svc).await;
    let post = |body: &'static str, auth: Option<&'static str>| {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(a) = auth {
            headers.push(("authorization", a));
        }
        request(
            Method::POST,
            "/gradio_api/call/token",
            &headers,
            Bytes::from_static(body.as_bytes()),
        )
    };
    let r = server.send(post(r#"{"data": [1]}"#, None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"], "send a bearer token");
    let r = server
        .send(post(r#"{"data": [1]}"#, Some("Bearer bad")))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The caller's own non-blank hf_token is what gets judged, not the bearer.
    let r = server
        .send(post(r#"{"data": [1, "bad"]}"#, Some("Bearer good")))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(probe.started(), 0, "refused calls start no job");
    let r = server
        .send(post(r#"{"data": [1, "good"]}"#, Some("Bearer bad")))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Uploads go through the hook too, judged on the bearer token.
    let upload = request(
        Method::POST,
        "/gradio_api/upload",
        &[("content-type", "multipart/form-data; boundary=XyZ")],
        Bytes::from_static(b"--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n\r\nhi\r\n--XyZ--\r\n"),
    );
    assert_eq!(server.send(upload).await.status, StatusCode::UNAUTHORIZED);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            ("token".to_owned(), None),
            ("token".to_owned(), Some("bad".to_owned())),
            ("token".to_owned(), Some("bad".to_owned())),
            ("token".to_owned(), Some("good".to_owned())),
            ("upload".to_owned(), None),
        ]
    );
}
