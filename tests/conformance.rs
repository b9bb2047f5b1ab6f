//! Conformance with the golden captures of a real Gradio 6.31 server in
//! `tests/fixtures/transcripts/`. Where this crate deliberately differs (404 JSON instead
//! of Gradio's 500 or 200-with-an-error-frame, 422 at POST time instead of an error frame
//! later), the test says so and checks our side.

mod common;

use std::path::PathBuf;

use bytes::Bytes;
use common::{parse_frames, request, TestServer};
use gradio_compat::{CallContext, FileData, GradioCompat, Registry};
use http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// One request/response pair of a transcript.
#[derive(Debug)]
struct Exchange {
    method: String,
    path: String,
    body: Option<String>,
    status: u16,
    headers: Vec<(String, String)>,
    response: String,
}

impl Exchange {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn transcript(name: &str) -> Vec<Exchange> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/transcripts")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. The golden transcripts are part of the repository (tests/fixtures/transcripts)",
            path.display()
        )
    });
    let text = text.replace("\r\n", "\n");
    let mut exchanges = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(request_line) = line.strip_prefix(">>> ") else {
            continue;
        };
        let Some((method, path)) = request_line.split_once(' ') else {
            continue;
        };
        if method.starts_with("body") {
            continue;
        }
        let mut body = None;
        let mut status = None;
        let mut headers = Vec::new();
        while let Some(line) = lines.next() {
            if let Some(b) = line.strip_prefix(">>> body: ") {
                body = Some(b.to_owned());
            } else if let Some(rest) = line.strip_prefix("HTTP/1.1 ") {
                status = rest.split(' ').next().and_then(|s| s.parse().ok());
                for h in lines.by_ref() {
                    if h.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(": ") {
                        headers.push((k.to_owned(), v.to_owned()));
                    }
                }
                break;
            }
        }
        let mut response = String::new();
        while let Some(next) = lines.peek() {
            if next.starts_with(">>> ")
                || next.starts_with("(a second")
                || next.starts_with("curl:")
                || next.starts_with("###")
            {
                break;
            }
            response.push_str(lines.next().unwrap());
            response.push('\n');
        }
        exchanges.push(Exchange {
            method: method.to_owned(),
            path: path.to_owned(),
            body,
            status: status.unwrap_or(0),
            headers,
            response,
        });
    }
    exchanges
}

/// Add two numbers.
#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    a: f64,
    b: f64,
}

#[derive(Deserialize, JsonSchema)]
struct FailArgs {
    x: String,
}

#[derive(Deserialize, JsonSchema)]
struct FileArgs {
    f: FileData,
}

/// The reference app's endpoints, as a Rust server would write them.
fn reference_app() -> GradioCompat {
    let registry = Registry::new()
        .typed("add", |a: AddArgs, _: CallContext| async move {
            Ok::<_, String>(a.a + a.b)
        })
        .typed("fail", |a: FailArgs, _: CallContext| async move {
            Err::<String, _>(format!("deliberate failure: {}", a.x))
        })
        .typed("file_size", |a: FileArgs, _: CallContext| async move {
            let len = tokio::fs::metadata(&a.f.path)
                .await
                .map_err(|e| e.to_string())?
                .len();
            Ok::<_, String>(len as f64)
        });
    GradioCompat::builder(registry).build().unwrap()
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

/// JSON equality where 3 and 3.0 are the same number.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

#[tokio::test]
async fn info_descriptors_have_gradios_shape() {
    let golden: Value = {
        let ex = transcript("01_info.txt");
        serde_json::from_str(ex[0].response.trim()).unwrap()
    };
    let server = TestServer::start(reference_app()).await;
    let ours = server.get("/gradio_api/info").await;
    assert_eq!(ours.header("content-type"), Some("application/json"));
    let ours = ours.json();
    assert_eq!(keys(&ours), keys(&golden));
    assert_eq!(ours["unnamed_endpoints"], golden["unnamed_endpoints"]);
    for api in ["/add", "/fail", "/file_size"] {
        let g = &golden["named_endpoints"][api];
        let o = &ours["named_endpoints"][api];
        assert_eq!(keys(o), keys(g), "{api}");
        assert_eq!(
            keys(&o["code_snippets"]).len(),
            3,
            "{api}: python, javascript, bash"
        );
        assert_eq!(o["api_visibility"], g["api_visibility"]);
        let (gp, op) = (
            g["parameters"].as_array().unwrap(),
            o["parameters"].as_array().unwrap(),
        );
        assert_eq!(gp.len(), op.len(), "{api}");
        for (gp, op) in gp.iter().zip(op) {
            assert_eq!(keys(op), keys(gp), "{api}");
            for key in [
                "parameter_name",
                "parameter_has_default",
                "parameter_default",
                "component",
            ] {
                assert_eq!(op[key], gp[key], "{api} {key}");
            }
            assert_eq!(
                op["python_type"]["type"], gp["python_type"]["type"],
                "{api}"
            );
            assert_eq!(op["type"]["type"], gp["type"]["type"], "{api}");
            assert_eq!(keys(&op["python_type"]), keys(&gp["python_type"]), "{api}");
        }
        let (gr, or) = (
            g["returns"].as_array().unwrap(),
            o["returns"].as_array().unwrap(),
        );
        assert_eq!(gr.len(), or.len(), "{api}");
        for (gr, or) in gr.iter().zip(or) {
            assert_eq!(keys(or), keys(gr), "{api}");
            assert_eq!(or["component"], gr["component"], "{api}");
            assert_eq!(
                or["python_type"]["type"], gr["python_type"]["type"],
                "{api}"
            );
        }
    }
    assert_eq!(
        ours["named_endpoints"]["/add"]["description"],
        golden["named_endpoints"]["/add"]["description"]
    );
    // The file parameter's schema is Gradio's FileData.
    let (gf, of) = (
        &golden["named_endpoints"]["/file_size"]["parameters"][0]["type"],
        &ours["named_endpoints"]["/file_size"]["parameters"][0]["type"],
    );
    assert_eq!(of["title"], gf["title"]);
    assert_eq!(of["required"], gf["required"]);
    assert_eq!(keys(&of["properties"]), keys(&gf["properties"]));
}

/// Replays a transcript's call: same POST body, then compares the poll's frames.
async fn replay_call(server: &TestServer, file: &str) -> (Vec<common::Frame>, Vec<common::Frame>) {
    let ex = transcript(file);
    let post = &ex[0];
    let get = &ex[1];
    assert_eq!((post.method.as_str(), get.method.as_str()), ("POST", "GET"));
    let ours = server
        .post_json(&post.path, post.body.as_deref().unwrap())
        .await;
    assert_eq!(ours.status.as_u16(), post.status, "{file}");
    assert_eq!(ours.header("content-type"), post.header("content-type"));
    // `{"event_id":"<32 hex>"}`, exactly as Gradio writes it.
    let golden_id: Value = serde_json::from_str(post.response.trim()).unwrap();
    assert_eq!(keys(&ours.json()), keys(&golden_id));
    assert_eq!(
        ours.text().len(),
        post.response.trim().len(),
        "{file}: {}",
        ours.text()
    );
    let id = ours.event_id();
    let api_path = get.path.rsplit_once('/').unwrap().0;
    let poll = server.get(&format!("{api_path}/{id}")).await;
    assert_eq!(poll.status.as_u16(), get.status);
    assert_eq!(
        poll.header("content-type"),
        get.header("content-type"),
        "{file}"
    );
    (
        parse_frames(
            &get.response
                .trim_end_matches('\n')
                .to_owned()
                .add_frame_end(),
        ),
        parse_frames(poll.text()),
    )
}

trait FrameEnd {
    fn add_frame_end(self) -> String;
}

impl FrameEnd for String {
    fn add_frame_end(self) -> String {
        format!("{}\n\n", self.trim_end_matches('\n'))
    }
}

#[tokio::test]
async fn call_and_poll_frames_match_gradio() {
    let server = TestServer::start(reference_app()).await;
    let (golden, ours) = replay_call(&server, "03_call_add.txt").await;
    assert_eq!(golden.len(), ours.len());
    for (g, o) in golden.iter().zip(&ours) {
        assert_eq!(o.event, g.event);
        let (gv, ov): (Value, Value) = (
            serde_json::from_str(&g.data).unwrap(),
            serde_json::from_str(&o.data).unwrap(),
        );
        assert!(same_json(&gv, &ov), "{gv} vs {ov}");
    }

    let (golden, ours) = replay_call(&server, "05_call_fail_gr_error.txt").await;
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].event, golden[0].event);
    let (gv, ov): (Value, Value) = (
        serde_json::from_str(&golden[0].data).unwrap(),
        serde_json::from_str(&ours[0].data).unwrap(),
    );
    assert_eq!(keys(&ov), keys(&gv));
    for key in ["error", "title", "visible"] {
        assert_eq!(ov[key], gv[key], "{key}");
    }
}

#[tokio::test]
async fn uploads_and_files_match_gradio() {
    let server = TestServer::start(reference_app()).await;
    let golden = transcript("10_upload_with_upload_id.txt");
    let golden_paths: Vec<String> = serde_json::from_str(golden[0].response.trim()).unwrap();
    let names: Vec<&str> = golden_paths
        .iter()
        .map(|p| p.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(names, ["gradio_upload_sample.txt", "second copy.txt"]);
    let mut body = Vec::new();
    for name in &names {
        body.extend_from_slice(
            format!("--B\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n\r\nhello gradio\n\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(b"--B--\r\n");
    let r = server
        .send(request(
            Method::POST,
            &golden[0].path,
            &[("content-type", "multipart/form-data; boundary=B")],
            Bytes::from(body),
        ))
        .await;
    assert_eq!(r.status.as_u16(), golden[0].status);
    assert_eq!(r.header("content-type"), golden[0].header("content-type"));
    let ours: Vec<String> = serde_json::from_slice(&r.body).unwrap();
    let our_names: Vec<&str> = ours.iter().map(|p| p.rsplit('/').next().unwrap()).collect();
    assert_eq!(our_names, names);

    // A file argument, as the transcript passes it.
    let call = transcript("07_call_file_size.txt");
    let body = call[0]
        .body
        .as_deref()
        .unwrap()
        .replace(&golden_paths[0], &ours[0]);
    let id = server.post_json(&call[0].path, &body).await.event_id();
    let poll = server
        .get(&format!("/gradio_api/call/file_size/{id}"))
        .await;
    let (g, o) = (
        parse_frames(&call[1].response.clone().add_frame_end()),
        parse_frames(poll.text()),
    );
    assert_eq!(o[0].event, g[0].event);
    assert!(same_json(
        &serde_json::from_str(&g[0].data).unwrap(),
        &serde_json::from_str(&o[0].data).unwrap()
    ));

    // Serving: the uploaded file, then the two refusals.
    let files = transcript("09_file_get.txt");
    let served = server.get(&format!("/gradio_api/file={}", ours[0])).await;
    assert_eq!(served.status.as_u16(), files[0].status);
    assert_eq!(
        served.header("content-type"),
        files[0].header("content-type")
    );
    assert_eq!(
        served.header("content-disposition"),
        files[0].header("content-disposition")
    );
    let len: usize = files[0].header("content-length").unwrap().parse().unwrap();
    assert_eq!(served.text(), &files[0].response[..len]);
    for refused in &files[1..] {
        let r = server.get(&refused.path).await;
        assert_eq!(r.status.as_u16(), refused.status, "{}", refused.path);
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(r.header("content-type"), refused.header("content-type"));
        let golden_message: Value = serde_json::from_str(refused.response.trim()).unwrap();
        let prefix = golden_message["detail"]
            .as_str()
            .unwrap()
            .trim_end_matches('.');
        assert!(
            r.json()["error"].as_str().unwrap().starts_with(prefix),
            "{}",
            r.text()
        );
    }

    // Non-multipart uploads are 400 in both.
    let bad = golden
        .iter()
        .find(|e| e.path == "/gradio_api/upload")
        .unwrap();
    let r = server.post_json("/gradio_api/upload", "{}").await;
    assert_eq!(r.status.as_u16(), bad.status);
}

#[tokio::test]
async fn malformed_bodies_are_422_like_gradio() {
    let server = TestServer::start(reference_app()).await;
    for exchange in transcript("12_malformed_json.txt") {
        if exchange.status != 422 {
            // `{"data":[1]}`: Gradio accepts it and fails later on the stream; we refuse the
            // missing parameter at once (see `deliberate_differences`).
            continue;
        }
        let r = server
            .post_json(&exchange.path, exchange.body.as_deref().unwrap())
            .await;
        assert_eq!(r.status.as_u16(), exchange.status, "{:?}", exchange.body);
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
}

/// Where we answer differently from Gradio on purpose, so that agents get an actionable
/// status instead of a 500 or a stream that never ends.
#[tokio::test]
async fn deliberate_differences() {
    let server = TestServer::start(reference_app()).await;
    // Unknown api: Gradio 500 text/plain; we 404 JSON listing the endpoints.
    let gradio = &transcript("11_unknown_api_name.txt")[0];
    assert_eq!(gradio.status, 500);
    let r = server
        .post_json(&gradio.path, gradio.body.as_deref().unwrap())
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.json()["error"].as_str().unwrap().contains("/add"));
    // Unknown event id: Gradio 200 + an error frame + an aborted body; we 404 JSON.
    let gradio = &transcript("13_unknown_event_id.txt")[0];
    assert_eq!(gradio.status, 200);
    assert_eq!(server.get(&gradio.path).await.status, StatusCode::NOT_FOUND);
    // Wrong arity and wrong type: Gradio 200 then `{"error": null}`; we 422 naming the parameter.
    for file in ["16_call_add_wrong_arity.txt", "17_call_add_bad_type.txt"] {
        let gradio = &transcript(file)[0];
        assert_eq!(gradio.status, 200);
        let r = server
            .post_json(&gradio.path, gradio.body.as_deref().unwrap())
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{file}");
        assert!(r.json()["detail"][0]["parameter"].is_string(), "{file}");
    }
    // Polling a delivered event again: Gradio keeps the stream open forever with heartbeats;
    // we answer 404 at once.
    let id = server
        .post_json("/gradio_api/call/add", r#"{"data":[1,2]}"#)
        .await
        .event_id();
    assert_eq!(
        server
            .get(&format!("/gradio_api/call/add/{id}"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        server
            .get(&format!("/gradio_api/call/add/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
