//! In-process benchmarks (criterion): the service called directly, without a socket.
//!
//! `cargo bench --bench service`. Before the criterion groups it prints a report measured with
//! a counting global allocator: allocations per call+poll, bytes kept per unpolled result
//! (100,000 of them), and how costs grow with the number of endpoints and the size of
//! arguments and results.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use criterion::{criterion_group, BenchmarkId, Criterion};
use gradio_compat::backend::{BackendLimits, MemoryBackend};
use gradio_compat::{CallContext, GradioCompat, ParamSpec, Registry};
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

/// Counts allocations and live bytes.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Add two numbers.
#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    a: f64,
    b: f64,
}

/// Ten parameters of assorted types.
#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct TenArgs {
    project: String,
    run: String,
    step: Option<u64>,
    lr: f64,
    epochs: u32,
    tags: Vec<String>,
    metrics: std::collections::BTreeMap<String, f64>,
    note: Option<String>,
    enabled: bool,
    seed: i64,
}

fn add_registry(registry: Registry) -> Registry {
    registry
        .typed("add", |a: AddArgs, _: CallContext| async move {
            Ok::<_, String>(a.a + a.b)
        })
        .typed("ten", |a: TenArgs, _: CallContext| async move {
            Ok::<_, String>(a.epochs)
        })
        .raw(
            "echo",
            vec![ParamSpec::new("v", json!(true))],
            json!(true),
            |args, _| async move { Ok::<_, String>(args["v"].clone()) },
        )
}

fn req(method: Method, path: &str, body: Bytes) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(path)
        .body(Full::new(body))
        .expect("request")
}

async fn read(svc: &GradioCompat, request: Request<Full<Bytes>>) -> Bytes {
    svc.handle(request)
        .await
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
}

async fn call_poll(svc: &GradioCompat, api: &str, body: Bytes) -> Bytes {
    let call = read(
        svc,
        req(Method::POST, &format!("/gradio_api/call/{api}"), body),
    )
    .await;
    let id = std::str::from_utf8(&call[13..45]).expect("hex");
    read(
        svc,
        req(
            Method::GET,
            &format!("/gradio_api/call/{api}/{id}"),
            Bytes::new(),
        ),
    )
    .await
}

const TEN: &str = r#"{"data": ["demo", "run-1", 3, 0.001, 10, ["a", "b"], {"loss": 0.5, "acc": 0.9}, null, true, 42]}"#;

fn report(rt: &tokio::runtime::Runtime) {
    rt.block_on(async {
        let svc = GradioCompat::builder(add_registry(Registry::new()))
            .build()
            .expect("builds");
        // Allocations per call+poll, after a warm-up.
        for _ in 0..1_000 {
            call_poll(&svc, "add", Bytes::from_static(b"{\"data\":[1,2]}")).await;
        }
        let n = 10_000;
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..n {
            call_poll(&svc, "add", Bytes::from_static(b"{\"data\":[1,2]}")).await;
        }
        let per = (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / n as f64;
        println!("allocations per call+poll of add: {per:.1}");
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..n {
            read(&svc, req(Method::GET, "/gradio_api/info", Bytes::new())).await;
        }
        let per = (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / n as f64;
        println!("allocations per GET info: {per:.1}");

        // Memory per stored, unpolled result.
        let store = std::sync::Arc::new(MemoryBackend::new({
            let mut l = BackendLimits::default();
            l.result_capacity = 200_000;
            l.max_unfinished = 200_000;
            l
        }));
        let svc = GradioCompat::builder(add_registry(Registry::new()))
            .backend(store.clone())
            .build()
            .expect("builds");
        let before = LIVE_BYTES.load(Ordering::Relaxed);
        let count = 100_000;
        for i in 0..count {
            read(
                &svc,
                req(
                    Method::POST,
                    "/gradio_api/call/add",
                    Bytes::from(format!("{{\"data\":[{i},2]}}")),
                ),
            )
            .await;
        }
        while store.unfinished() > 0 {
            tokio::task::yield_now().await;
        }
        let bytes = LIVE_BYTES.load(Ordering::Relaxed) - before;
        println!(
            "memory per stored unpolled result: {:.0} bytes ({} results, {} bytes in all)",
            bytes as f64 / count as f64,
            store.finished(),
            bytes
        );
    });

    // Growth with the number of endpoints.
    for endpoints in [10, 100, 1_000] {
        let mut registry = Registry::new();
        for i in 0..endpoints - 1 {
            registry = registry.typed(format!("add{i}"), |a: AddArgs, _: CallContext| async move {
                Ok::<_, String>(a.a + a.b)
            });
        }
        let registry = registry.typed("add", |a: AddArgs, _: CallContext| async move {
            Ok::<_, String>(a.a + a.b)
        });
        let started = Instant::now();
        let svc = GradioCompat::builder(registry).build().expect("builds");
        let build = started.elapsed();
        let (info_len, per_call) = rt.block_on(async {
            let info = read(&svc, req(Method::GET, "/gradio_api/info", Bytes::new())).await;
            let n = 20_000;
            let started = Instant::now();
            for _ in 0..n {
                call_poll(&svc, "add", Bytes::from_static(b"{\"data\":[1,2]}")).await;
            }
            (info.len(), started.elapsed() / n)
        });
        println!("{endpoints:>5} endpoints: build {build:?}, info {info_len} bytes, call+poll {per_call:?}");
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    report(&rt);
    let svc = rt.block_on(async {
        GradioCompat::builder(add_registry(Registry::new()))
            .build()
            .expect("builds")
    });

    c.bench_function("info", |b| {
        b.to_async(&rt)
            .iter(|| async { read(&svc, req(Method::GET, "/gradio_api/info", Bytes::new())).await })
    });
    c.bench_function("call_and_poll", |b| {
        b.to_async(&rt).iter(|| async {
            let poll = call_poll(&svc, "add", Bytes::from_static(b"{\"data\":[1,2]}")).await;
            assert_eq!(&poll[..], b"event: complete\ndata: [3.0]\n\n");
        })
    });
    c.bench_function("call_and_poll_ten_typed_args", |b| {
        b.to_async(&rt).iter(|| async {
            let poll = call_poll(&svc, "ten", Bytes::from_static(TEN.as_bytes())).await;
            assert_eq!(&poll[..], b"event: complete\ndata: [10]\n\n");
        })
    });
    let mut group = c.benchmark_group("echo_payload_bytes");
    for size in [100usize, 10_000, 1_000_000] {
        let body = Bytes::from(json!({"data": ["x".repeat(size)]}).to_string());
        group.throughput(criterion::Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &body, |b, body| {
            b.to_async(&rt)
                .iter(|| async { call_poll(&svc, "echo", body.clone()).await.len() })
        });
    }
    group.finish();
}

criterion_group!(service_benches, benches);

fn main() {
    service_benches();
    Criterion::default().configure_from_args().final_summary();
}
