//! `GET|HEAD {p}/info`: the endpoint descriptors as the official clients read them.

mod common;

use bytes::Bytes;
use common::fixtures::{registry, Probe};
use common::{call_in_process, request, TestServer};
use gradio_compat::GradioCompat;
use http::{Method, StatusCode};
use serde_json::{json, Value};

fn service() -> GradioCompat {
    GradioCompat::builder(registry(Probe::new()))
        .build()
        .unwrap()
}

async fn info(svc: &GradioCompat) -> Value {
    let r = call_in_process(
        svc,
        request(Method::GET, "/gradio_api/info", &[], Bytes::new()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    r.json()
}

fn param<'a>(info: &'a Value, endpoint: &str, name: &str) -> &'a Value {
    info["named_endpoints"][endpoint]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["parameter_name"] == name)
        .unwrap_or_else(|| panic!("{endpoint} has no parameter {name}"))
}

#[tokio::test]
async fn info_lists_the_endpoints_with_empty_unnamed_endpoints() {
    let server = TestServer::start(service()).await;
    let r = server.get("/gradio_api/info").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let doc = r.json();
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["named_endpoints", "unnamed_endpoints"]);
    assert_eq!(doc["unnamed_endpoints"], json!({}));
    let named: Vec<&String> = doc["named_endpoints"].as_object().unwrap().keys().collect();
    assert_eq!(
        named,
        [
            "/add",
            "/fail",
            "/boom",
            "/wait",
            "/shapes",
            "/token",
            "/file_size",
            "/nothing",
            "/count",
            "/ticker",
            "/serial",
            "/make_file"
        ]
    );
    // Served from precomputed bytes: identical every time, also with a trailing slash and
    // with the query strings the clients send.
    for path in ["/gradio_api/info/", "/gradio_api/info?serialize=False"] {
        assert_eq!(server.get(path).await.body, r.body, "{path}");
    }
}

#[tokio::test]
async fn head_and_other_methods() {
    let svc = service();
    let get = call_in_process(
        &svc,
        request(Method::GET, "/gradio_api/info", &[], Bytes::new()),
    )
    .await;
    let head = call_in_process(
        &svc,
        request(Method::HEAD, "/gradio_api/info", &[], Bytes::new()),
    )
    .await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length"),
        Some(get.body.len().to_string().as_str())
    );
    let post = call_in_process(
        &svc,
        request(Method::POST, "/gradio_api/info", &[], Bytes::new()),
    )
    .await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    assert!(post.json()["error"]
        .as_str()
        .unwrap()
        .contains("/gradio_api/info"));
}

#[tokio::test]
async fn descriptors_have_what_every_client_needs() {
    let doc = info(&service()).await;
    for (name, endpoint) in doc["named_endpoints"].as_object().unwrap() {
        assert!(
            endpoint["description"].is_string(),
            "{name} lacks description"
        );
        assert_eq!(endpoint["api_visibility"], "public");
        for p in endpoint["parameters"].as_array().unwrap() {
            for key in [
                "label",
                "parameter_name",
                "parameter_has_default",
                "parameter_default",
                "type",
                "python_type",
                "component",
                "example_input",
            ] {
                assert!(p.get(key).is_some(), "{name}: parameter lacks {key}: {p}");
            }
            assert!(
                p["type"]["type"].is_string(),
                "{name}: type.type must be one string: {p}"
            );
            assert!(p["python_type"]["type"].is_string());
            assert!(p["python_type"]["description"].is_string());
            assert!(p["component"].is_string());
        }
        for r in endpoint["returns"].as_array().unwrap() {
            for key in ["label", "type", "python_type", "component"] {
                assert!(r.get(key).is_some(), "{name}: return lacks {key}");
            }
            assert!(
                r["type"]["type"].is_string(),
                "{name}: return type.type: {r}"
            );
        }
    }
}

#[tokio::test]
async fn doc_comments_become_descriptions() {
    let doc = info(&service()).await;
    let add = &doc["named_endpoints"]["/add"];
    assert_eq!(add["description"], "Add two numbers.");
    let a = param(&doc, "/add", "a");
    assert_eq!(
        a["python_type"],
        json!({"type": "float", "description": "The first number."})
    );
    assert_eq!(a["component"], "Number");
    assert_eq!(a["parameter_has_default"], false);
    assert_eq!(add["returns"][0]["python_type"]["type"], "float");
}

#[tokio::test]
async fn option_value_enum_and_containers_map_as_designed() {
    let doc = info(&service()).await;
    let step = param(&doc, "/shapes", "step");
    assert_eq!(step["parameter_has_default"], true);
    assert_eq!(step["parameter_default"], Value::Null);
    assert_eq!(step["python_type"]["type"], "int | None");
    assert_eq!(step["type"]["type"], "integer");

    let anything = param(&doc, "/shapes", "anything");
    assert!(
        anything["type"].is_object(),
        "never a bare true: {anything}"
    );
    assert_eq!(anything["type"]["type"], "object");
    assert_eq!(anything["python_type"]["type"], "Any");
    assert_eq!(anything["component"], "Json");

    let mode = param(&doc, "/shapes", "mode");
    assert_eq!(mode["type"]["type"], "string");
    assert_eq!(mode["type"]["enum"], json!(["fast", "slow"]));
    assert_eq!(mode["component"], "Dropdown");

    assert_eq!(
        param(&doc, "/shapes", "tags")["python_type"]["type"],
        "list[str]"
    );
    assert_eq!(
        param(&doc, "/shapes", "metrics")["python_type"]["type"],
        "dict[str, float]"
    );
    assert_eq!(
        param(&doc, "/shapes", "count")["python_type"]["type"],
        "int"
    );

    let f = param(&doc, "/file_size", "f");
    assert_eq!(f["component"], "File");
    assert_eq!(f["python_type"]["type"], "filepath");
    assert_eq!(f["type"]["title"], "FileData");
    assert_eq!(f["type"]["type"], "object");

    // No result: one return, as Gradio's gr.api and Trackio list it.
    assert_eq!(
        doc["named_endpoints"]["/nothing"]["returns"],
        json!([{"label": "result", "type": {"type": "object"}, "python_type": {"type": "Any", "description": ""}, "component": "Api"}])
    );
    // NoArgs: no parameters.
    assert_eq!(doc["named_endpoints"]["/nothing"]["parameters"], json!([]));
}
