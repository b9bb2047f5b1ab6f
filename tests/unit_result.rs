//! A function without a result (`()`, or a raw endpoint whose return schema is null) has one
//! return in `/info` and answers `[null]` on every route, as Gradio and Trackio do.

mod common;

use bytes::Bytes;
use common::{request, Frame, TestServer};
use gradio_compat::{CallContext, Endpoint, GradioCompat, NoArgs, Registry};
use http::{Method, StatusCode};
use serde_json::{json, Value};

/// Trackio's descriptor of a `-> None` function.
fn trackio_return() -> Value {
    json!({
        "label": "result",
        "type": {"type": "object"},
        "python_type": {"type": "Any", "description": ""},
        "component": "Api",
    })
}

async fn server() -> TestServer {
    let registry = Registry::new()
        .typed("nothing", |_: NoArgs, _: CallContext| async move {
            Ok::<(), String>(())
        })
        .endpoint(Endpoint::raw(
            "raw_nothing",
            vec![],
            json!({"type": "null"}),
            // A handler that returns something anyway: the schema says null, so null it is.
            |_args, _ctx| async move { Ok::<_, String>(json!("ignored")) },
        ));
    TestServer::start(GradioCompat::builder(registry).build().unwrap()).await
}

#[tokio::test]
async fn info_lists_one_api_return() {
    let server = server().await;
    let info = server.get("/gradio_api/info").await.json();
    for api in ["/nothing", "/raw_nothing"] {
        assert_eq!(
            info["named_endpoints"][api]["returns"],
            json!([trackio_return()]),
            "{api}"
        );
    }
    // /config has the output component the dependency names.
    let config = server.get("/config").await.json();
    for dep in config["dependencies"].as_array().unwrap() {
        let outputs = dep["outputs"].as_array().unwrap();
        assert_eq!(outputs.len(), 1, "{dep}");
        let component = config["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == outputs[0])
            .expect("the output component exists");
        assert_eq!(component["type"], "api");
    }
}

#[tokio::test]
async fn call_and_poll_answer_null() {
    let server = server().await;
    for api in ["nothing", "raw_nothing"] {
        for path in [
            format!("/gradio_api/call/{api}"),
            format!("/gradio_api/call/v2/{api}"),
        ] {
            let body = if path.contains("/v2/") {
                "{}"
            } else {
                r#"{"data": []}"#
            };
            let id = server.post_json(&path, body).await.event_id();
            let poll = server.get(&format!("/gradio_api/call/{api}/{id}")).await;
            assert_eq!(poll.text(), "event: complete\ndata: [null]\n\n", "{path}");
        }
    }
}

#[tokio::test]
async fn the_queue_completes_with_null() {
    let server = server().await;
    let config = server.get("/config").await.json();
    for (fn_index, dep) in config["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let hash = format!("unit-{fn_index}");
        let joined = server
            .send(request(
                Method::POST,
                "/gradio_api/queue/join",
                &[("content-type", "application/json")],
                Bytes::from(
                    json!({"data": [], "fn_index": fn_index, "session_hash": hash}).to_string(),
                ),
            ))
            .await;
        assert_eq!(joined.status, StatusCode::OK);
        let mut sse = server
            .sse(&format!("/gradio_api/queue/data?session_hash={hash}"))
            .await;
        let mut completed = None;
        while let Some(Frame { data, .. }) = sse.next().await {
            let message: Value = serde_json::from_str(&data).unwrap();
            if message["msg"] == "process_completed" {
                completed = Some(message);
            }
        }
        let completed = completed.expect("a process_completed message");
        assert_eq!(completed["success"], true, "{}", dep["api_name"]);
        assert_eq!(completed["output"]["data"], json!([null]));
    }
}
