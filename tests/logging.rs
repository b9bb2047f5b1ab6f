//! What the service logs through `tracing`: a line per call with its endpoint and outcome,
//! warnings and errors for failures and panics, and never a token, an argument value or an
//! uploaded file's contents, at any level.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use common::{request, TestServer};
use gradio_compat::{CallContext, GradioCompat, Registry};
use http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

const TOKEN: &str = "hf_TOKENsecret0123456789";
const ARG: &str = "sk-live-ARGsecret9876543210";
const FILE_CONTENT: &str = "FILEsecret-contents-5555";

/// Everything every subscriber line wrote, for the whole test binary.
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || Capture(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        log
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Says something back.
#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    text: String,
    count: Option<i64>,
    hf_token: Option<String>,
}

fn registry() -> Registry {
    Registry::new()
        .typed("echo", |a: EchoArgs, _: CallContext| async move {
            Ok::<_, String>(a.text.len())
        })
        .typed("refuse", |a: EchoArgs, _: CallContext| async move {
            // A careless handler that puts the token in its message: the log scrubs it.
            Err::<String, _>(format!(
                "refused: token {} is not allowed",
                a.hf_token.unwrap_or_default()
            ))
        })
        .typed("explode", |a: EchoArgs, _: CallContext| async move {
            if a.count.is_none() {
                panic!("exploded with token {}", a.hf_token.unwrap_or_default());
            }
            Ok::<String, String>(String::new())
        })
}

async fn poll(server: &TestServer, api: &str, id: &str) -> common::Frame {
    server
        .sse(&format!("/gradio_api/call/{api}/{id}"))
        .await
        .terminal()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_calls_and_failures_but_no_secrets() {
    let log = captured();
    let gradio = GradioCompat::builder(registry()).build().unwrap();
    let server = TestServer::start(gradio).await;
    let bearer = format!("Bearer {TOKEN}");
    let headers = [
        ("content-type", "application/json"),
        ("authorization", bearer.as_str()),
    ];
    let post = |path: &str, body: serde_json::Value| {
        request(Method::POST, path, &headers, Bytes::from(body.to_string()))
    };

    // A call that completes, with the token injected from the header.
    let id = server
        .send(post("/gradio_api/call/echo", json!({"data": [ARG]})))
        .await
        .event_id();
    assert_eq!(
        poll(&server, "echo", &id).await.event.as_deref(),
        Some("complete")
    );
    // A call whose handler fails, quoting the token.
    let id = server
        .send(post("/gradio_api/call/refuse", json!({"data": [ARG]})))
        .await
        .event_id();
    assert_eq!(
        poll(&server, "refuse", &id).await.event.as_deref(),
        Some("error")
    );
    // A handler that panics, quoting the token.
    let id = server
        .send(post("/gradio_api/call/explode", json!({"data": [ARG]})))
        .await
        .event_id();
    assert_eq!(
        poll(&server, "explode", &id).await.event.as_deref(),
        Some("error")
    );
    // Arguments that fail validation, with the secret in the wrong place; the 422 body may
    // quote it back to the caller, the log must not.
    let reply = server
        .send(post("/gradio_api/call/echo", json!({"data": ["x", ARG]})))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reply = server
        .send(post(
            "/gradio_api/call/v2/echo",
            json!({"text": 5, "hf_token": ARG}),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The queue, with the Python client's header.
    let reply = server
        .send(request(
            Method::POST,
            "/gradio_api/queue/join",
            &[
                ("content-type", "application/json"),
                ("x-hf-authorization", bearer.as_str()),
            ],
            Bytes::from(json!({"data": [ARG], "fn_index": 0, "session_hash": ARG}).to_string()),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let mut sse = server
        .sse(&format!("/gradio_api/queue/data?session_hash={ARG}"))
        .await;
    while sse.next().await.is_some() {}
    // An upload.
    let boundary = "logBoundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{ARG}.txt\"\r\n\
         Content-Type: text/plain\r\n\r\n{FILE_CONTENT}\r\n--{boundary}--\r\n"
    );
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let reply = server
        .send(request(
            Method::POST,
            "/gradio_api/upload",
            &[
                ("content-type", content_type.as_str()),
                ("authorization", bearer.as_str()),
            ],
            Bytes::from(body),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let path = reply.json()[0].as_str().unwrap().to_owned();
    let reply = server.get(&format!("/gradio_api/file={path}")).await;
    assert_eq!(reply.text(), FILE_CONTENT);

    let text = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    println!("{text}");
    for secret in [TOKEN, ARG, FILE_CONTENT] {
        assert!(!text.contains(secret), "{secret} appears in the log");
    }
    // What should be there: one line per finished call, with endpoint and outcome.
    let lines = |needle: &str| text.lines().filter(|l| l.contains(needle)).count();
    assert!(
        text.lines().any(|l| l.contains(" INFO ")
            && l.contains("endpoint=\"echo\"")
            && l.contains("outcome=\"complete\"")),
        "no finished-call line for echo"
    );
    assert_eq!(lines("call finished"), 2, "echo over /call and the queue");
    assert!(text.lines().any(|l| l.contains(" WARN ")
        && l.contains("endpoint=\"refuse\"")
        && l.contains("call failed")
        && l.contains("[redacted]")));
    assert!(text.lines().any(|l| l.contains("ERROR")
        && l.contains("endpoint=\"explode\"")
        && l.contains("call panicked")
        && l.contains("exploded with token [redacted]")));
    // Requests: route family, endpoint and status.
    assert!(text.lines().any(|l| l.contains("DEBUG")
        && l.contains("route=\"call\"")
        && l.contains("endpoint=\"echo\"")
        && l.contains("status=422")));
    assert!(text
        .lines()
        .any(|l| l.contains("route=\"poll\"") && l.contains("status=200")));
    assert!(text.lines().any(|l| l.contains("route=\"upload\"")));
    assert!(text
        .lines()
        .any(|l| l.contains("route=\"queue_join\"") && l.contains("endpoint=\"echo\"")));
}
