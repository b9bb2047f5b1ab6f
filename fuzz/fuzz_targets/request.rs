//! Fuzzes request routing and body decoding: any method, path, headers and body go through
//! the real service, in process. A panic anywhere is a crash; every answer must be a complete
//! response.
#![no_main]

use std::sync::OnceLock;

use bytes::Bytes;
use gradio_compat::{CallContext, FileData, GradioCompat, NoArgs, Registry};
use http_body_util::{BodyExt, Full};
use libfuzzer_sys::fuzz_target;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)] // the fields are for decoding, not all for the handler
struct AddArgs {
    a: f64,
    b: Option<i64>,
    tags: Vec<String>,
    file: Option<FileData>,
    hf_token: Option<String>,
}

struct World {
    runtime: tokio::runtime::Runtime,
    service: GradioCompat,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let service = runtime.block_on(async {
            let registry = Registry::new()
                .typed("add", |a: AddArgs, _: CallContext| async move {
                    Ok::<_, String>(a.a + a.b.unwrap_or(0) as f64 + a.tags.len() as f64)
                })
                .typed("nothing", |_: NoArgs, _: CallContext| async move { Ok::<(), String>(()) });
            GradioCompat::builder(registry)
                .max_body_bytes(64 * 1024)
                .max_upload_bytes(64 * 1024)
                .cors_allow_origins(["https://example.org"])
                .build()
                .unwrap()
        });
        World { runtime, service }
    })
}

const METHODS: [&str; 5] = ["GET", "POST", "HEAD", "OPTIONS", "DELETE"];
const PREFIXES: [&str; 8] = [
    "/gradio_api/call/add",
    "/gradio_api/call/add/",
    "/gradio_api/upload",
    "/gradio_api/file=",
    "/gradio_api/queue/join",
    "/gradio_api/queue/data?session_hash=",
    "/config",
    "/gradio_api/info",
];

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let w = world();
    let method = METHODS[data[0] as usize % METHODS.len()];
    let prefix = PREFIXES[data[1] as usize % PREFIXES.len()];
    let split = (data[2] as usize).min(data.len() - 3);
    let rest = &data[3..];
    let (tail, body) = rest.split_at(split.min(rest.len()));
    let tail: String = String::from_utf8_lossy(tail)
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '%' })
        .collect();
    let uri = format!("{prefix}{tail}");
    let Ok(request) = http::Request::builder()
        .method(method)
        .uri(uri.as_str())
        .header("content-type", if body.first() == Some(&b'-') { "multipart/form-data; boundary=-" } else { "application/json" })
        .header("origin", "https://example.org")
        .header("access-control-request-method", "POST")
        .header("authorization", "Bearer fuzz")
        .body(Full::new(Bytes::copy_from_slice(body)))
    else {
        return;
    };
    w.runtime.block_on(async {
        let response = w.service.handle(request).await;
        let _ = tokio::time::timeout(std::time::Duration::from_millis(50), response.into_body().collect()).await;
    });
});
