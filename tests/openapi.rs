//! `GET {p}/openapi.json`: OpenAPI 3.1, built once from the registry.

mod common;

use bytes::Bytes;
use common::fixtures::{registry, Probe};
use common::{call_in_process, request};
use gradio_compat::GradioCompat;
use http::{Method, StatusCode};
use serde_json::Value;

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_describes_the_public_call_routes() {
    let svc = GradioCompat::builder(registry(Probe::new()))
        .build()
        .unwrap();
    let r = call_in_process(
        &svc,
        request(
            Method::GET,
            "/gradio_api/openapi.json",
            &[("host", "example.org")],
            Bytes::new(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], "http://example.org");
    let paths = doc["paths"].as_object().unwrap();
    let add = &paths["/gradio_api/call/v2/add"]["post"];
    let body = &add["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(body["required"], serde_json::json!(["a", "b"]));
    assert!(body["properties"]["a"].is_object());
    for code in ["200", "404", "413", "422", "503"] {
        assert!(add["responses"][code].is_object(), "{code}");
    }
    assert!(add.get("security").is_none(), "add takes no token");
    assert!(paths["/gradio_api/call/add/{event_id}"]["get"].is_object());
    // An endpoint with a token parameter: the bearer scheme and 401/403.
    let token = &paths["/gradio_api/call/v2/token"]["post"];
    assert_eq!(token["security"][0], serde_json::json!({"bearer": []}));
    assert!(token["responses"]["401"].is_object() && token["responses"]["403"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(paths.contains_key("/gradio_api/upload"));
    // Private and undocumented endpoints are not in it.
    assert!(!paths
        .keys()
        .any(|p| p.contains("hidden") || p.contains("undoc")));
    // With an authorize hook, any call may be refused: every call documents 401 and 403.
    let hooked = GradioCompat::builder(registry(Probe::new()))
        .authorize(|_| Ok(()))
        .build()
        .unwrap();
    let r = call_in_process(
        &hooked,
        request(Method::GET, "/gradio_api/openapi.json", &[], Bytes::new()),
    )
    .await;
    let add = &r.json()["paths"]["/gradio_api/call/v2/add"]["post"];
    assert!(add["responses"]["401"].is_object() && add["responses"]["403"].is_object());
    assert_eq!(add["security"][0], serde_json::json!({"bearer": []}));
    // Every reference resolves.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} resolves"
        );
    }
}

#[tokio::test]
async fn another_method_on_the_v2_call_route_is_405_with_allow_post() {
    let svc = GradioCompat::builder(registry(Probe::new()))
        .build()
        .unwrap();
    for method in [Method::GET, Method::OPTIONS, Method::PUT] {
        let r = call_in_process(
            &svc,
            request(method.clone(), "/gradio_api/call/v2/add", &[], Bytes::new()),
        )
        .await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(r.header("allow"), Some("POST"), "{method}");
    }
}
