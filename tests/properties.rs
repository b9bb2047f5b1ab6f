//! Property tests over hostile input: any `data`, any returned value through both SSE
//! framings, any path segment.

mod common;

use bytes::Bytes;
use common::fixtures::{registry, Probe};
use common::{call_in_process, parse_frames, request};
use gradio_compat::{GradioCompat, ParamSpec};
use http::Method;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The fixture registry plus `echo`, which returns its argument unchanged.
fn service() -> GradioCompat {
    let registry = registry(Probe::new()).raw(
        "echo",
        vec![ParamSpec::new("v", json!(true))],
        json!(true),
        |args, _ctx| async move { Ok::<_, String>(args["v"].clone()) },
    );
    GradioCompat::builder(registry).build().unwrap()
}

/// Strings that SSE framing could trip on.
fn tricky_string() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("\n".to_owned()),
            Just("\r".to_owned()),
            Just("\r\n".to_owned()),
            Just("\n\n".to_owned()),
            Just("data: ".to_owned()),
            Just("event: complete".to_owned()),
            Just("\u{2028}".to_owned()),
            Just("\"".to_owned()),
            Just("\\".to_owned()),
            Just("\u{0}".to_owned()),
            any::<String>(),
        ],
        0..6,
    )
    .prop_map(|parts| parts.concat())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1.0e300f64..1.0e300).prop_map(Value::from),
        tricky_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((tricky_string(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Any JSON as `data`, to any endpoint: 200 or a 4xx, never a 5xx, never a panic.
    #[test]
    fn any_data_gives_200_or_4xx(data in json_value(), api in prop::sample::select(vec!["add", "shapes", "token", "file_size", "echo", "count", "nothing"])) {
        let rt = runtime();
        let svc = service();
        let body = json!({ "data": data }).to_string();
        let r = rt.block_on(call_in_process(&svc, request(Method::POST, &format!("/gradio_api/call/{api}"), &[], Bytes::from(body))));
        prop_assert!(r.status.as_u16() == 200 || r.status.is_client_error(), "{} {}", r.status, r.text());
        if r.status.is_client_error() {
            prop_assert!(r.json()["error"].is_string());
        }
    }

    /// Any value a handler returns comes back identical through the `/call` stream and the
    /// queue stream.
    #[test]
    fn any_result_round_trips_through_both_framings(value in json_value()) {
        let rt = runtime();
        let svc = service();
        rt.block_on(async {
            let body = json!({ "data": [value.clone()] }).to_string();
            let id = call_in_process(&svc, request(Method::POST, "/gradio_api/call/echo", &[], Bytes::from(body))).await.event_id();
            let poll = call_in_process(&svc, request(Method::GET, &format!("/gradio_api/call/echo/{id}"), &[], Bytes::new())).await;
            let frames = parse_frames(poll.text());
            prop_assert_eq!(frames.len(), 1);
            prop_assert_eq!(frames[0].event.as_deref(), Some("complete"));
            let back: Value = serde_json::from_str(&frames[0].data).unwrap();
            prop_assert_eq!(&back, &json!([value.clone()]));

            let config = call_in_process(&svc, request(Method::GET, "/config", &[], Bytes::new())).await.json();
            let echo = config["dependencies"].as_array().unwrap().iter().position(|d| d["api_name"] == "echo").unwrap();
            let join = json!({"data": [value.clone()], "fn_index": echo, "session_hash": "prop"}).to_string();
            call_in_process(&svc, request(Method::POST, "/gradio_api/queue/join", &[], Bytes::from(join))).await.event_id();
            let stream = call_in_process(&svc, request(Method::GET, "/gradio_api/queue/data?session_hash=prop", &[], Bytes::new())).await;
            let mut completed = None;
            for frame in parse_frames(stream.text()) {
                prop_assert_eq!(frame.event, None);
                let m: Value = serde_json::from_str(&frame.data).unwrap();
                if m["msg"] == "process_completed" {
                    completed = Some(m["output"]["data"].clone());
                }
            }
            prop_assert_eq!(completed, Some(json!([value])));
            Ok(())
        })?;
    }

    /// Any path segment in `call/{api}/{event_id}` and `file=` gives a clean 4xx.
    #[test]
    fn any_path_segment_gives_a_clean_4xx(a in tricky_string(), b in tricky_string(), long in 0usize..3) {
        let rt = runtime();
        let svc = service();
        let encode = |s: &str| -> String {
            s.bytes().map(|c| if c.is_ascii_alphanumeric() || c == b'.' { (c as char).to_string() } else { format!("%{c:02X}") }).collect()
        };
        // A very long segment (but a valid URI: under http's 64 KiB limit).
        let b = if long > 1 { b.chars().take(8).collect::<String>().repeat(200) } else { b };
        for path in [
            format!("/gradio_api/call/{}/{}", encode(&a), encode(&b)),
            format!("/gradio_api/call/add/{}", encode(&b)),
            format!("/gradio_api/call/v2/{}/{}", encode(&a), encode(&b)),
            format!("/gradio_api/file={}", encode(&a)),
            format!("/gradio_api/file=/tmp/../{}/..%2F{}", encode(&a), encode(&b)),
            format!("/gradio_api/{}", encode(&a)),
        ] {
            let r = rt.block_on(call_in_process(&svc, request(Method::GET, &path, &[], Bytes::new())));
            prop_assert!(r.status.is_client_error(), "{path}: {}", r.status);
            prop_assert!(r.json()["error"].is_string());
        }
    }
}
