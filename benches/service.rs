//! In-process benchmarks: the service called directly, without a socket.
//!
//! `cargo bench --bench service`. These measure the crate's own work per request; the
//! loopback comparison against a raw-hyper baseline is a separate benchmark.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use gradio_compat::{CallContext, GradioCompat, Registry};
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use schemars::JsonSchema;
use serde::Deserialize;

/// Add two numbers.
#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    a: f64,
    b: f64,
}

fn service() -> GradioCompat {
    let registry = Registry::new().typed("add", |a: AddArgs, _: CallContext| async move {
        Ok::<_, String>(a.a + a.b)
    });
    GradioCompat::builder(registry).build().expect("builds")
}

fn req(method: Method, path: &str, body: &'static [u8]) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(path)
        .body(Full::new(Bytes::from_static(body)))
        .expect("request")
}

async fn read(svc: &GradioCompat, request: Request<Full<Bytes>>) -> Bytes {
    let response = svc.handle(request).await;
    response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let svc = runtime.block_on(async { service() });

    c.bench_function("info", |b| {
        b.to_async(&runtime)
            .iter(|| async { read(&svc, req(Method::GET, "/gradio_api/info", b"")).await })
    });

    c.bench_function("call_and_poll", |b| {
        b.to_async(&runtime).iter(|| async {
            let call = read(
                &svc,
                req(Method::POST, "/gradio_api/call/add", b"{\"data\":[1,2]}"),
            )
            .await;
            let id = &call[13..45];
            let path = format!(
                "/gradio_api/call/add/{}",
                std::str::from_utf8(id).expect("hex")
            );
            let poll = read(&svc, req(Method::GET, &path, b"")).await;
            assert_eq!(&poll[..], b"event: complete\ndata: [3.0]\n\n");
        })
    });
}

criterion_group!(service_benches, benches);
criterion_main!(service_benches);
