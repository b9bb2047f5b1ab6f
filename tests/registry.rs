//! Registration: a server's own registry adapted in a few lines, and build errors.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use common::{call_in_process, parse_frames, request};
use gradio_compat::{BuildError, CallContext, Endpoint, GradioCompat, NoArgs, ParamSpec, Registry};
use http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

/// A server's existing registry: plain boxed closures over JSON, keyed by name.
type Tool = Box<dyn Fn(&Value) -> Result<Value, String> + Send + Sync>;

/// A parameter in that registry: name, JSON Schema, default.
type Param = (&'static str, Value, Option<Value>);

/// That registry: tools by name, with their parameters.
type Tools = HashMap<&'static str, (Vec<Param>, Tool)>;

fn existing_registry() -> Tools {
    let mut tools = Tools::new();
    tools.insert(
        "concat",
        (
            vec![
                ("a", json!({"type": "string"}), None),
                ("sep", json!({"type": "string"}), Some(json!("-"))),
                ("b", json!({"type": "string"}), None),
            ],
            Box::new(|args| {
                Ok(json!(format!(
                    "{}{}{}",
                    args["a"].as_str().unwrap_or_default(),
                    args["sep"].as_str().unwrap_or_default(),
                    args["b"].as_str().unwrap_or_default()
                )))
            }),
        ),
    );
    tools.insert(
        "refuse",
        (
            vec![],
            Box::new(|_| Err("this tool always refuses".to_owned())),
        ),
    );
    tools
}

#[tokio::test]
async fn a_hashmap_of_boxed_closures_adapts_in_a_few_lines() {
    // The adaptation a server author writes: one loop.
    let mut registry = Registry::new();
    for (name, (params, tool)) in existing_registry() {
        let tool = Arc::new(tool);
        let specs = params
            .into_iter()
            .map(|(p, schema, default)| match default {
                Some(d) => ParamSpec::new(p, schema).default(d),
                None => ParamSpec::new(p, schema),
            })
            .collect();
        registry = registry.raw(name, specs, json!({"type": "string"}), move |args, _ctx| {
            let tool = tool.clone();
            async move { tool(&Value::Object(args)) }
        });
    }
    let svc = GradioCompat::builder(registry).build().unwrap();

    let info = call_in_process(
        &svc,
        request(Method::GET, "/gradio_api/info", &[], Bytes::new()),
    )
    .await
    .json();
    let params = &info["named_endpoints"]["/concat"]["parameters"];
    assert_eq!(params[1]["parameter_name"], "sep");
    assert_eq!(params[1]["parameter_has_default"], true);
    assert_eq!(params[1]["parameter_default"], "-");

    let post = |body: &'static str| {
        request(
            Method::POST,
            "/gradio_api/call/concat",
            &[],
            Bytes::from_static(body.as_bytes()),
        )
    };
    let id = call_in_process(&svc, post(r#"{"data": {"a": "x", "b": "y"}}"#))
        .await
        .event_id();
    let poll = call_in_process(
        &svc,
        request(
            Method::GET,
            &format!("/gradio_api/call/concat/{id}"),
            &[],
            Bytes::new(),
        ),
    )
    .await;
    assert_eq!(poll.text(), "event: complete\ndata: [\"x-y\"]\n\n");

    let r = call_in_process(&svc, post(r#"{"data": ["x", 1, "y"]}"#)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("\\\"sep\\\""), "{}", r.text());

    let id = call_in_process(
        &svc,
        request(
            Method::POST,
            "/gradio_api/call/refuse",
            &[],
            Bytes::from_static(b"{\"data\": []}"),
        ),
    )
    .await
    .event_id();
    let poll = call_in_process(
        &svc,
        request(
            Method::GET,
            &format!("/gradio_api/call/refuse/{id}"),
            &[],
            Bytes::new(),
        ),
    )
    .await;
    let frame = &parse_frames(poll.text())[0];
    assert_eq!(frame.event.as_deref(), Some("error"));
    assert!(frame.data.contains("this tool always refuses"));
}

#[test]
fn duplicate_names_are_a_build_error() {
    let registry = Registry::new()
        .typed("x", |_: NoArgs, _: CallContext| async {
            Ok::<_, String>(1)
        })
        .typed("x", |_: NoArgs, _: CallContext| async {
            Ok::<_, String>(2)
        });
    match GradioCompat::builder(registry).build() {
        Err(BuildError::DuplicateEndpoint { name }) => assert_eq!(name, "x"),
        other => panic!("expected DuplicateEndpoint, got {other:?}"),
    }
}

#[test]
fn non_object_args_are_a_build_error() {
    #[derive(Deserialize, JsonSchema)]
    struct Newtype(#[allow(dead_code)] i64);
    let registry = Registry::new().typed("n", |_: Newtype, _: CallContext| async {
        Ok::<_, String>(1)
    });
    let err = GradioCompat::builder(registry).build().unwrap_err();
    assert!(
        matches!(err, BuildError::ArgsNotObject { ref endpoint, .. } if endpoint == "n"),
        "{err:?}"
    );
    assert!(err.to_string().contains("struct with named fields"));
    let registry = Registry::new().typed("s", |_: String, _: CallContext| async {
        Ok::<_, String>(1)
    });
    assert!(matches!(
        GradioCompat::builder(registry).build(),
        Err(BuildError::ArgsNotObject { .. })
    ));
}

#[test]
fn bad_names_and_settings_are_build_errors() {
    let registry = Registry::new().endpoint(Endpoint::raw(
        "a/b",
        vec![],
        json!({"type": "null"}),
        |_, _| async { Ok::<_, String>(Value::Null) },
    ));
    assert!(matches!(
        GradioCompat::builder(registry).build(),
        Err(BuildError::InvalidEndpointName { .. })
    ));
    let registry = Registry::new().endpoint(Endpoint::raw(
        "dup",
        vec![
            ParamSpec::new("a", json!({})),
            ParamSpec::new("a", json!({})),
        ],
        json!({}),
        |_, _| async { Ok::<_, String>(Value::Null) },
    ));
    assert!(matches!(
        GradioCompat::builder(registry).build(),
        Err(BuildError::DuplicateParameter { .. })
    ));
    assert!(matches!(
        GradioCompat::builder(Registry::new()).prefix("api").build(),
        Err(BuildError::InvalidConfig {
            setting: "prefix",
            ..
        })
    ));
    assert!(matches!(
        GradioCompat::builder(Registry::new())
            .heartbeat_interval(std::time::Duration::ZERO)
            .build(),
        Err(BuildError::InvalidConfig { .. })
    ));
}

/// A setting that sizes the default in-memory backend is refused beside a backend of one's
/// own, instead of being silently ignored.
#[test]
fn backend_settings_beside_a_custom_backend_are_refused() {
    use gradio_compat::backend::MemoryBackend;
    let backend = std::sync::Arc::new(MemoryBackend::default());
    let refused = GradioCompat::builder(Registry::new())
        .max_unfinished(5)
        .backend(backend.clone())
        .build();
    match refused {
        Err(
            e @ BuildError::InvalidConfig {
                setting: "max_unfinished",
                ..
            },
        ) => assert!(e.to_string().contains("backend"), "{e}"),
        other => panic!("expected max_unfinished to be refused, got {other:?}"),
    }
    assert!(GradioCompat::builder(Registry::new())
        .backend(backend)
        .build()
        .is_ok());
}
