//! What the official clients use: `/config`, the `sse_v3` queue, cancel/reset, visibility,
//! file outputs and the code snippets of `/info`. Tested over loopback with a real server.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use common::fixtures::{registry, Probe};
use common::{parse_frames, request, Frame, SseReader, TestServer};
use gradio_compat::{AuthRejection, AuthTarget, GradioCompat};
use http::{Method, StatusCode};
use serde_json::{json, Value};

async fn server(probe: &Arc<Probe>) -> TestServer {
    TestServer::start(
        GradioCompat::builder(registry(probe.clone()))
            .build()
            .unwrap(),
    )
    .await
}

/// Reads every frame of a queue stream until it ends; checks the framing on the way.
async fn queue_frames(server: &TestServer, hash: &str) -> Vec<Value> {
    let response = server
        .open(request(
            Method::GET,
            &format!("/gradio_api/queue/data?session_hash={hash}"),
            &[],
            Bytes::new(),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream; charset=utf-8"
    );
    let mut sse = SseReader::new(response.into_body());
    let mut messages = Vec::new();
    while let Some(Frame { event, data }) = sse.next().await {
        assert_eq!(event, None, "queue frames carry no event: line");
        let message: Value = serde_json::from_str(&data).unwrap();
        if message["msg"] != "heartbeat" {
            messages.push(message);
        }
    }
    messages
}

async fn join(server: &TestServer, body: Value, headers: &[(&str, &str)]) -> common::Reply {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    server
        .send(request(
            Method::POST,
            "/gradio_api/queue/join",
            &all,
            Bytes::from(body.to_string()),
        ))
        .await
}

async fn config(server: &TestServer) -> Value {
    let r = server.get("/config").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/json"));
    r.json()
}

fn fn_index(config: &Value, api: &str) -> usize {
    config["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .position(|d| d["api_name"] == api)
        .unwrap_or_else(|| panic!("no dependency {api}"))
}

#[tokio::test]
async fn config_has_what_all_three_clients_need() {
    let server = server(&Probe::new()).await;
    let config = config(&server).await;
    assert_eq!(config["version"], "6.31.0");
    assert_eq!(config["protocol"], "sse_v3");
    assert_eq!(config["api_prefix"], "/gradio_api");
    assert_eq!(config["mode"], "blocks");
    assert_eq!(config["root"], format!("http://{}", server.addr));
    assert!(config["title"].is_string() && config["theme"].is_string());
    assert!(config["layout"].is_object());
    assert_eq!(config["stylesheets"], json!([]));
    assert_eq!(config["connect_heartbeat"], false);
    assert_eq!(config["enable_queue"], true);
    let ids: Vec<u64> = config["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    for c in config["components"].as_array().unwrap() {
        let kind = c["type"].as_str().unwrap();
        assert_eq!(kind, kind.to_lowercase());
    }
    let deps = config["dependencies"].as_array().unwrap();
    let names: Vec<&str> = deps
        .iter()
        .map(|d| d["api_name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"add") && names.contains(&"undoc"),
        "{names:?}"
    );
    assert!(
        !names.contains(&"hidden"),
        "private endpoints are not in /config"
    );
    for (i, d) in deps.iter().enumerate() {
        assert_eq!(d["id"], i);
        assert_eq!(d["queue"], true);
        assert!(d["types"].is_object());
        assert!(!d["api_name"].as_str().unwrap().starts_with('/'));
        for id in d["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .chain(d["outputs"].as_array().unwrap())
        {
            assert!(
                ids.contains(&id.as_u64().unwrap()),
                "component {id} is missing"
            );
        }
    }
    let add = &deps[fn_index(&config, "add")];
    assert_eq!(add["inputs"].as_array().unwrap().len(), 2);
    assert_eq!(add["outputs"].as_array().unwrap().len(), 1);
    assert_eq!(add["api_visibility"], "public");
    assert_eq!(
        deps[fn_index(&config, "undoc")]["api_visibility"],
        "undocumented"
    );
    // Not under the prefix, as in Gradio; a trailing slash works.
    assert_eq!(
        server.get("/gradio_api/config").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(server.get("/config/").await.status, StatusCode::OK);
    // The root follows the forwarded host and scheme of a proxy.
    let proxied = server
        .send(request(
            Method::GET,
            "/config",
            &[
                ("x-forwarded-host", "me-app.hf.space"),
                ("x-forwarded-proto", "https"),
            ],
            Bytes::new(),
        ))
        .await;
    assert_eq!(proxied.json()["root"], "https://me-app.hf.space");
}

#[tokio::test]
async fn visibility_public_undocumented_private() {
    let server = server(&Probe::new()).await;
    let plain = server.get("/gradio_api/info").await.json();
    let all = server
        .get("/gradio_api/info?all_endpoints=true")
        .await
        .json();
    assert!(plain["named_endpoints"].get("/undoc").is_none());
    assert_eq!(
        all["named_endpoints"]["/undoc"]["api_visibility"],
        "undocumented"
    );
    assert!(plain["named_endpoints"].get("/hidden").is_none());
    assert!(all["named_endpoints"].get("/hidden").is_none());
    // Undocumented endpoints run; private ones do not exist on any route.
    let id = server
        .post_json("/gradio_api/call/undoc", r#"{"data": []}"#)
        .await
        .event_id();
    assert_eq!(
        parse_frames(
            server
                .get(&format!("/gradio_api/call/undoc/{id}"))
                .await
                .text()
        )[0]
        .data,
        "[2]"
    );
    let r = server
        .post_json("/gradio_api/call/hidden", r#"{"data": []}"#)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!r.json()["error"].as_str().unwrap().contains("/hidden,"));
}

#[tokio::test]
async fn queue_delivers_estimation_start_completion_then_close() {
    let server = server(&Probe::new()).await;
    let config = config(&server).await;
    let r = join(&server, json!({"data": [1, 2], "fn_index": fn_index(&config, "add"), "session_hash": "s-ok", "event_data": null, "trigger_id": null}), &[("x-gradio-user", "api")]).await;
    let id = r.event_id();
    let messages = queue_frames(&server, "s-ok").await;
    let kinds: Vec<&str> = messages
        .iter()
        .map(|m| m["msg"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "estimation",
            "process_starts",
            "process_completed",
            "close_stream"
        ]
    );
    assert_eq!(messages[0]["event_id"], id.as_str());
    assert_eq!(messages[0]["rank"], 0);
    let done = &messages[2];
    assert_eq!(done["success"], true);
    assert_eq!(done["output"]["data"], json!([3.0]));
    assert!(
        done["output"].get("error").is_none(),
        "success output must have no error key"
    );
    assert_eq!(messages[3]["event_id"], Value::Null);
    // The session is gone once closed.
    let again = queue_frames(&server, "s-ok").await;
    assert_eq!(again[0]["msg"], "unexpected_error");
    assert_eq!(again[0]["session_not_found"], true);
}

#[tokio::test]
async fn one_stream_carries_every_job_of_its_session() {
    let probe = Probe::new();
    let server = server(&probe).await;
    let config = config(&server).await;
    let (add, wait) = (fn_index(&config, "add"), fn_index(&config, "wait"));
    let waiting = join(
        &server,
        json!({"data": [], "fn_index": wait, "session_hash": "s-two"}),
        &[],
    )
    .await
    .event_id();
    let adding = join(
        &server,
        json!({"data": [2, 2], "fn_index": add, "session_hash": "s-two"}),
        &[],
    )
    .await
    .event_id();
    let response = server
        .open(request(
            Method::GET,
            "/gradio_api/queue/data?session_hash=s-two",
            &[],
            Bytes::new(),
        ))
        .await;
    let mut sse = SseReader::new(response.into_body());
    let mut completed = Vec::new();
    let mut released = false;
    while let Some(frame) = sse.next().await {
        let m: Value = serde_json::from_str(&frame.data).unwrap();
        match m["msg"].as_str().unwrap() {
            "process_completed" => {
                completed.push(m["event_id"].as_str().unwrap().to_owned());
                // The `add` job finished; the stream must stay open for `wait`.
                if !released {
                    released = true;
                    probe.release();
                }
            }
            "close_stream" => {
                assert_eq!(
                    completed.len(),
                    2,
                    "close_stream only when nothing is pending"
                );
                break;
            }
            _ => {}
        }
    }
    assert_eq!(completed, [adding, waiting]);
    assert_eq!(sse.next().await, None);
}

#[tokio::test]
async fn queue_failures_arrive_as_failed_completions() {
    let probe = Probe::new();
    let svc = GradioCompat::builder(registry(probe.clone()))
        .authorize(|req| match (req.target, req.token) {
            (AuthTarget::Call("token"), Some("good")) | (AuthTarget::Call("token"), None) => Ok(()),
            (AuthTarget::Call("token"), Some(_)) => Err(AuthRejection::Forbidden(
                "that token may not call /token".into(),
            )),
            _ => Ok(()),
        })
        .build()
        .unwrap();
    let server = TestServer::start(svc).await;
    let config = config(&server).await;
    let cases = [
        (
            json!({"data": ["deliberate failure: boom"], "fn_index": fn_index(&config, "fail")}),
            "deliberate failure: boom",
        ),
        (
            json!({"data": ["x", 2], "fn_index": fn_index(&config, "add")}),
            "parameter \"a\"",
        ),
        (
            json!({"data": [1], "fn_index": fn_index(&config, "add")}),
            "missing required parameter \"b\"",
        ),
        (
            json!({"data": [1, "bad"], "fn_index": fn_index(&config, "token")}),
            "that token may not call /token",
        ),
        (json!({"data": [], "fn_index": 999}), "unknown fn_index 999"),
        (json!({"fn_index": fn_index(&config, "add")}), "no \"data\""),
    ];
    for (i, (mut body, needle)) in cases.into_iter().enumerate() {
        let hash = format!("s-fail-{i}");
        body["session_hash"] = json!(hash);
        let id = join(&server, body, &[]).await.event_id();
        let messages = queue_frames(&server, &hash).await;
        let done = messages
            .iter()
            .find(|m| m["msg"] == "process_completed")
            .expect("a completion");
        assert_eq!(done["event_id"], id.as_str());
        assert_eq!(done["success"], false, "{needle}");
        assert_eq!(done["title"], "Error");
        let message = done["output"]["error"].as_str().unwrap();
        assert!(message.contains(needle), "{message:?} lacks {needle:?}");
        assert_eq!(messages.last().unwrap()["msg"], "close_stream");
    }
    assert_eq!(probe.started(), 0, "no refused job ran");
    // Requests that cannot name a session get plain HTTP errors.
    let r = join(&server, json!({"data": [1, 2], "fn_index": 0}), &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"].as_str().unwrap().contains("session_hash"));
    let r = join(&server, json!({"data": [1, 2], "session_hash": "zz"}), &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"].as_str().unwrap().contains("fn_index"));
    assert_eq!(
        server.get("/gradio_api/queue/data").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn queue_injects_the_python_clients_token_header() {
    let server = server(&Probe::new()).await;
    let config = config(&server).await;
    join(
        &server,
        json!({"data": [1], "fn_index": fn_index(&config, "token"), "session_hash": "s-tok"}),
        &[("x-hf-authorization", "Bearer hf_py")],
    )
    .await;
    let messages = queue_frames(&server, "s-tok").await;
    let done = messages
        .iter()
        .find(|m| m["msg"] == "process_completed")
        .unwrap();
    assert_eq!(done["output"]["data"][0]["arg"], "hf_py");
}

#[tokio::test]
async fn cancel_stops_queue_and_call_jobs() {
    let probe = Probe::new();
    let server = server(&probe).await;
    let config = config(&server).await;
    let wait = fn_index(&config, "wait");
    let id = join(
        &server,
        json!({"data": [], "fn_index": wait, "session_hash": "s-cancel"}),
        &[],
    )
    .await
    .event_id();
    let response = server
        .open(request(
            Method::GET,
            "/gradio_api/queue/data?session_hash=s-cancel",
            &[],
            Bytes::new(),
        ))
        .await;
    let mut sse = SseReader::new(response.into_body());
    // Cancel once the job has started.
    loop {
        let m: Value = serde_json::from_str(&sse.next().await.unwrap().data).unwrap();
        if m["msg"] == "process_starts" {
            break;
        }
    }
    while probe.started() == 0 {
        tokio::task::yield_now().await;
    }
    let body = json!({"fn_index": wait, "session_hash": "s-cancel", "event_id": id}).to_string();
    let r = server.post_json("/gradio_api/cancel", &body).await;
    assert_eq!(r.text(), r#"{"success":true}"#);
    let r = server
        .post_json("/gradio_api/reset", &json!({"event_id": id}).to_string())
        .await;
    assert_eq!(r.text(), r#"{"success":true}"#);
    let mut rest = Vec::new();
    while let Some(frame) = sse.next().await {
        rest.push(serde_json::from_str::<Value>(&frame.data).unwrap());
    }
    let done = rest
        .iter()
        .find(|m| m["msg"] == "process_completed")
        .expect("a completion after the cancel");
    assert_eq!(done["output"], json!({}));
    assert_eq!(rest.last().unwrap()["msg"], "close_stream");
    assert_eq!(
        probe.cancelled.load(Ordering::SeqCst),
        1,
        "the handler observed the cancel"
    );

    // A /call job: its poll ends with an error event.
    let id = server
        .post_json("/gradio_api/call/wait", r#"{"data": []}"#)
        .await
        .event_id();
    while probe.started() < 2 {
        tokio::task::yield_now().await;
    }
    server
        .post_json("/gradio_api/cancel", &json!({"event_id": id}).to_string())
        .await;
    let poll = server.get(&format!("/gradio_api/call/wait/{id}")).await;
    let frames = parse_frames(poll.text());
    let last = frames.last().unwrap();
    assert_eq!(last.event.as_deref(), Some("error"));
    assert!(
        last.data.contains("stopped after a cancel"),
        "{}",
        last.data
    );
    // Unknown ids are fine too.
    let r = server
        .post_json("/gradio_api/cancel", r#"{"event_id": "nope"}"#)
        .await;
    assert_eq!(r.text(), r#"{"success":true}"#);
}

#[tokio::test]
async fn file_outputs_come_back_as_full_file_data() {
    let server = server(&Probe::new()).await;
    let id = server
        .post_json("/gradio_api/call/make_file", r#"{"data": ["file body"]}"#)
        .await
        .event_id();
    let poll = server
        .get(&format!("/gradio_api/call/make_file/{id}"))
        .await;
    let data: Value = serde_json::from_str(&parse_frames(poll.text())[0].data).unwrap();
    let file = &data[0];
    assert_eq!(file["orig_name"], "report.txt");
    assert_eq!(file["size"], 9);
    assert_eq!(file["meta"]["_type"], "gradio.FileData");
    assert_eq!(file["is_stream"], false);
    let url = file["url"].as_str().unwrap();
    let prefix = format!("http://{}/gradio_api/file=", server.addr);
    assert!(url.starts_with(&prefix), "{url}");
    // Both ways of fetching it work: the url, and `file=` + path as the Python client does.
    assert_eq!(
        server
            .get(&url[format!("http://{}", server.addr).len()..])
            .await
            .text(),
        "file body"
    );
    assert_eq!(
        server
            .get(&format!(
                "/gradio_api/file={}",
                file["path"].as_str().unwrap()
            ))
            .await
            .text(),
        "file body"
    );
}

/// The bash snippet of `/info` runs as printed, against the server that served it.
#[tokio::test]
async fn bash_snippets_run_as_printed() {
    let server = server(&Probe::new()).await;
    let info = server.get("/gradio_api/info").await.json();
    for (api, needle) in [("add", "data: [6.0]"), ("token", "\"arg\":\"hf_from_env\"")] {
        let snippet = info["named_endpoints"][format!("/{api}")]["code_snippets"]["bash"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            snippet.contains(&format!("http://{}/gradio_api/call/{api}", server.addr)),
            "{snippet}"
        );
        let output = tokio::process::Command::new("bash")
            .arg("-c")
            .arg(&snippet)
            .env("HF_TOKEN", "hf_from_env")
            .output()
            .await
            .expect("bash runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{api}: {snippet}\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("event: complete"), "{api}: {stdout}");
        if api == "add" {
            // The example inputs are 3 and 3.
            assert!(stdout.contains("data: [6.0]"), "{stdout}");
        } else {
            assert!(stdout.contains(needle), "{api}: {stdout}");
        }
    }
    let python = info["named_endpoints"]["/add"]["code_snippets"]["python"]
        .as_str()
        .unwrap();
    assert!(
        python.contains(&format!("Client(\"http://{}\")", server.addr)),
        "{python}"
    );
    assert!(python.contains("api_name=\"/add\""));
    let js = info["named_endpoints"]["/token"]["code_snippets"]["javascript"]
        .as_str()
        .unwrap();
    assert!(js.contains("token: process.env.HF_TOKEN"), "{js}");
}
