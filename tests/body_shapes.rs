//! Call bodies of the wrong shape are refused before any job exists: a JSON value that is not
//! an object (serde's derive would take an array for a struct), and a key given twice.

mod common;

use bytes::Bytes;
use common::fixtures::{registry, Probe};
use common::{request, TestServer};
use gradio_compat::GradioCompat;
use http::{Method, StatusCode};

async fn server() -> TestServer {
    TestServer::start(
        GradioCompat::builder(registry(Probe::new()))
            .build()
            .unwrap(),
    )
    .await
}

fn error(reply: &common::Reply) -> String {
    reply.json()["error"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_wrong_shape_gets_the_same_422() {
    let server = server().await;
    for route in [
        "/gradio_api/call/get_runs_for_project_like",
        "/gradio_api/call/add",
    ] {
        let mut messages = Vec::new();
        for body in [
            r#"[["x"]]"#,
            "[]",
            r#"[1, 2]"#,
            r#""data""#,
            "3",
            "null",
            "true",
            "{}",
            r#"{"date": [1, 2]}"#,
        ] {
            let reply = server.post_json(route, body).await;
            if route.ends_with("_like") {
                // An unknown endpoint is a 404 whatever the body.
                assert_eq!(reply.status, StatusCode::NOT_FOUND, "{body}");
                continue;
            }
            assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            messages.push(error(&reply));
        }
        if let Some(first) = messages.first() {
            assert!(messages.iter().all(|m| m == first), "{messages:#?}");
            assert!(first.contains("POST /gradio_api/call/add"), "{first}");
            assert!(first.contains(r#"{"data": [...]}"#), "{first}");
            assert!(first.contains("a, b"), "{first}");
        }
    }
}

#[tokio::test]
async fn keyword_bodies_must_be_objects() {
    let server = server().await;
    let mut messages = Vec::new();
    for body in [r#"[1, 2]"#, "[]", r#""a""#, "7", "null"] {
        let reply = server.post_json("/gradio_api/call/v2/add", body).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        messages.push(error(&reply));
    }
    assert!(messages.iter().all(|m| m == &messages[0]), "{messages:#?}");
    assert!(
        messages[0].contains("keyed by parameter name (a, b)"),
        "{}",
        messages[0]
    );
}

#[tokio::test]
async fn a_key_given_twice_is_refused() {
    let server = server().await;
    let reply = server
        .post_json(
            "/gradio_api/call/add",
            r#"{"data": [1, 2], "data": [3, 4]}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error(&reply).contains(r#"has "data" twice"#),
        "{}",
        error(&reply)
    );

    let reply = server
        .post_json("/gradio_api/call/v2/add", r#"{"a": 1, "b": 2, "a": 3}"#)
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error(&reply).contains(r#"has "a" twice"#),
        "{}",
        error(&reply)
    );

    let join = |body: &'static str| {
        request(
            Method::POST,
            "/gradio_api/queue/join",
            &[("content-type", "application/json")],
            Bytes::from(body),
        )
    };
    let reply = server
        .send(join(
            r#"{"data": [1, 2], "fn_index": 0, "session_hash": "s", "data": [3, 4]}"#,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        error(&reply).contains(r#"has "data" twice"#),
        "{}",
        error(&reply)
    );
    let reply = server.send(join(r#"[[1, 2], 0, "s"]"#)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        error(&reply).contains("must be a JSON object"),
        "{}",
        error(&reply)
    );
}

#[tokio::test]
async fn broken_json_still_says_where() {
    let server = server().await;
    for route in ["/gradio_api/call/add", "/gradio_api/call/v2/add"] {
        let reply = server.post_json(route, r#"{"data": [1, "#).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            error(&reply).contains("not valid JSON"),
            "{}",
            error(&reply)
        );
    }
    // A good body still works.
    let id = server
        .post_json("/gradio_api/call/add", r#"{"extra": 1, "data": [1, 2]}"#)
        .await
        .event_id();
    let poll = server.get(&format!("/gradio_api/call/add/{id}")).await;
    assert_eq!(poll.text(), "event: complete\ndata: [3.0]\n\n");
}
