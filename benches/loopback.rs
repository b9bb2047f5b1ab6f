//! Loopback benchmark: the crate's service against a minimal raw-hyper baseline, in one run.
//!
//! `cargo bench --bench loopback` (options: `GC_BENCH_SECS`, default 5 s per flow and server;
//! `GC_BENCH_CONCURRENCY`, default 16; `GC_BENCH_ONLY=mcp` or `=redis`, one scenario alone;
//! `GC_BENCH_RUNTIME=current`, the servers on tokio's current-thread scheduler).
//!
//! Each server runs on one tokio worker thread pinned to core 0 (a multi-thread runtime of one
//! worker, as `#[tokio::main]` builds it); the load generator runs on
//! core 1, keeps its connections alive, and checks every result. Flows: call+poll of `add`,
//! `GET /gradio_api/info`, and (crate only) queue join+data (the data stream on its own
//! connection, read until the job's `process_completed`). It prints operations per
//! second, p50 and p99 latency, and the crate/baseline ratios.
//!
//! The MCP scenario runs an MCP `tools/call` of `add` against a `/call`+poll cycle of `add` on
//! the same server in interleaved rounds, and prints the median ratio.
//!
//! With `--features redis` it adds the Redis scenario: a real `redis-server` on a free port,
//! pinned alone to core 1 (the servers and the load generator share core 0 in this scenario,
//! for the in-memory baseline as for Redis); call+poll on one replica on the Redis backend,
//! and on two and three replicas round-robin (each POST on one, its poll on the next), each as
//! a ratio to the in-memory backend in the same run (interleaved rounds), at the bench's
//! concurrency and at 4 times it; then the Redis round trips per call+poll (the script calls
//! Redis counted, from `INFO commandstats`, over a run of call+polls), Redis CPU per script
//! and Redis memory per stored result.
//!
//! The baseline is the cheapest correct server hyper allows for the same wire behaviour: a
//! `DashMap` of results, `POST /gradio_api/call/add` storing a+b under a random id, `GET`
//! removing it and answering one `event: complete` frame, and fixed info bytes. It exists only
//! here and never ships in the library.

#[path = "support/client.rs"]
mod client;
#[path = "support/stats.rs"]
mod stats;
use client::{connect, Sender};

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dashmap::DashMap;
use gradio_compat::{CallContext, GradioCompat, Registry};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use schemars::JsonSchema;
use serde::Deserialize;
use tokio::net::TcpListener;

/// Add two numbers.
#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    /// The first number.
    a: f64,
    /// The second number.
    b: f64,
}

#[cfg(feature = "redis")]
#[allow(dead_code)]
#[path = "../tests/common/redis_server.rs"]
mod redis_server;

fn gradio_service(backend: Option<Arc<dyn gradio_compat::backend::Backend>>) -> GradioCompat {
    let registry = Registry::new().typed("add", |a: AddArgs, _: CallContext| async move {
        Ok::<_, String>(a.a + a.b)
    });
    let builder = GradioCompat::builder(registry).mcp(true);
    match backend {
        Some(backend) => builder.backend(backend),
        None => builder,
    }
    .build()
    .expect("builds")
}

// ---------------------------------------------------------------------------------------
// The baseline.

#[derive(Deserialize)]
struct Call {
    data: (f64, f64),
}

#[derive(Clone)]
struct Baseline {
    results: Arc<DashMap<uuid::Uuid, f64>>,
    info: Bytes,
}

impl Baseline {
    async fn handle(self, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        let path = req.uri().path().to_owned();
        let reply = |status: StatusCode, ct: &'static str, body: Bytes| {
            let mut r = Response::new(Full::new(body));
            *r.status_mut() = status;
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(ct),
            );
            Ok(r)
        };
        match (req.method().clone(), path.as_str()) {
            (Method::GET, "/gradio_api/info") => {
                reply(StatusCode::OK, "application/json", self.info.clone())
            }
            (Method::POST, "/gradio_api/call/add") => {
                let body = req
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let Ok(call) = serde_json::from_slice::<Call>(&body) else {
                    return reply(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "application/json",
                        Bytes::from_static(b"{}"),
                    );
                };
                let id = uuid::Uuid::new_v4();
                self.results.insert(id, call.data.0 + call.data.1);
                let mut buf = [0u8; 32];
                let hex = id.simple().encode_lower(&mut buf);
                reply(
                    StatusCode::OK,
                    "application/json",
                    Bytes::from(format!("{{\"event_id\":\"{hex}\"}}")),
                )
            }
            (Method::GET, p) if p.starts_with("/gradio_api/call/add/") => {
                let id = uuid::Uuid::try_parse(&p["/gradio_api/call/add/".len()..]).ok();
                match id.and_then(|id| self.results.remove(&id)) {
                    Some((_, v)) => reply(
                        StatusCode::OK,
                        "text/event-stream; charset=utf-8",
                        Bytes::from(format!(
                            "event: complete\ndata: [{}]\n\n",
                            serde_json::to_string(&v).unwrap_or_default()
                        )),
                    ),
                    None => reply(
                        StatusCode::NOT_FOUND,
                        "application/json",
                        Bytes::from_static(b"{}"),
                    ),
                }
            }
            _ => reply(
                StatusCode::NOT_FOUND,
                "application/json",
                Bytes::from_static(b"{}"),
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Servers: one current-thread runtime on a pinned core.

enum Kind {
    Baseline(Bytes),
    Crate,
    /// The crate on the Redis backend at this URL.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Redis(String),
}

fn pin(core: usize) {
    if let Some(id) = core_affinity::get_core_ids().and_then(|ids| ids.into_iter().nth(core)) {
        core_affinity::set_for_current(id);
    }
}

/// A server's runtime: tokio's multi-thread scheduler with one worker (what `#[tokio::main]`
/// builds, as this crate's examples do, with one worker), which runs a task woken by the
/// running one next (its LIFO slot); or with `GC_BENCH_RUNTIME=current` the current-thread
/// scheduler, which queues it behind every task already woken.
fn server_runtime() -> tokio::runtime::Runtime {
    if std::env::var("GC_BENCH_RUNTIME").as_deref() != Ok("current") {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .on_thread_start(|| pin(0))
            .enable_all()
            .build()
            .expect("runtime")
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }
}

/// Starts a server thread; returns its address and a handle that stops it when dropped.
fn start_server(kind: Kind) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        pin(0);
        let rt = server_runtime();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            addr_tx.send(listener.local_addr().expect("addr")).expect("send addr");
            let baseline = match &kind {
                Kind::Baseline(info) => Some(Baseline { results: Arc::new(DashMap::new()), info: info.clone() }),
                Kind::Crate | Kind::Redis(_) => None,
            };
            let gradio = match &kind {
                Kind::Baseline(_) => None,
                Kind::Crate => Some(gradio_service(None)),
                #[cfg(feature = "redis")]
                Kind::Redis(url) => {
                    let backend = gradio_compat::backend::RedisBackend::connect(
                        url,
                        "bench:",
                        gradio_compat::backend::BackendLimits::default(),
                    )
                    .await
                    .expect("the bench's redis-server answers");
                    Some(gradio_service(Some(Arc::new(backend))))
                }
                #[cfg(not(feature = "redis"))]
                Kind::Redis(_) => None,
            };
            tokio::pin!(stop_rx);
            loop {
                let stream = tokio::select! {
                    accepted = listener.accept() => match accepted { Ok((s, _)) => s, Err(_) => continue },
                    _ = &mut stop_rx => return,
                };
                let _ = stream.set_nodelay(true);
                let io = TokioIo::new(stream);
                if let Some(b) = &baseline {
                    let b = b.clone();
                    let svc = hyper::service::service_fn(move |req| b.clone().handle(req));
                    tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(io, svc));
                } else if let Some(g) = &gradio {
                    tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(io, g.clone()));
                }
            }
        });
    });
    (addr_rx.recv().expect("server address"), stop_tx)
}

// ---------------------------------------------------------------------------------------
// The load generator.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Flow {
    CallPoll,
    Info,
    Queue,
    /// One MCP `tools/call` of `add` (a POST answered with an SSE stream).
    Mcp,
}

struct Stats {
    ops: usize,
    secs: f64,
    latencies: Vec<Duration>,
    /// Operations of the warm-up before the measured part.
    warm_ops: usize,
}

impl Stats {
    fn rate(&self) -> f64 {
        self.ops as f64 / self.secs
    }
    fn pct(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i]
    }
}

async fn send(sender: &mut Sender, method: Method, path: &str, body: Bytes) -> (StatusCode, Bytes) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .body(Full::new(body))
        .expect("request");
    sender.ready().await.expect("connection ready");
    let res = sender.send_request(req).await.expect("response");
    let status = res.status();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (status, body)
}

fn event_id(body: &[u8]) -> String {
    let text = std::str::from_utf8(body).expect("utf-8");
    text.split('"').nth(3).expect("event id").to_owned()
}

/// One kept-alive client: calls go to `addrs[0]`, polls to the last of `addrs` (another
/// replica when there are two).
async fn worker(
    addrs: Vec<SocketAddr>,
    flow: Flow,
    deadline: Instant,
    worker: usize,
    info_len: usize,
) -> (usize, Vec<Duration>) {
    let mut sender = connect(addrs[0]).await;
    let mut poller = match addrs.last() {
        Some(other) if *other != addrs[0] => Some(connect(*other).await),
        _ => None,
    };
    let mut latencies = Vec::with_capacity(1 << 16);
    let mut n: u64 = 0;
    while Instant::now() < deadline {
        n += 1;
        let started = Instant::now();
        match flow {
            Flow::CallPoll => {
                let a = (worker as u64 * 1_000_000 + n) as f64;
                let body = Bytes::from(format!("{{\"data\":[{a},1]}}"));
                let (status, body) =
                    send(&mut sender, Method::POST, "/gradio_api/call/add", body).await;
                assert_eq!(status, StatusCode::OK, "{body:?}");
                let id = event_id(&body);
                let (status, body) = send(
                    poller.as_mut().unwrap_or(&mut sender),
                    Method::GET,
                    &format!("/gradio_api/call/add/{id}"),
                    Bytes::new(),
                )
                .await;
                assert_eq!(status, StatusCode::OK);
                let expected = format!(
                    "event: complete\ndata: [{}]\n\n",
                    serde_json::to_string(&(a + 1.0)).unwrap()
                );
                assert_eq!(std::str::from_utf8(&body).unwrap(), expected);
            }
            Flow::Mcp => {
                let a = (worker as u64 * 1_000_000 + n) as f64;
                let body = format!(
                    "{{\"jsonrpc\":\"2.0\",\"id\":{n},\"method\":\"tools/call\",\
                     \"params\":{{\"name\":\"add\",\"arguments\":{{\"a\":{a},\"b\":1}}}}}}"
                );
                let req = Request::builder()
                    .method(Method::POST)
                    .uri("/gradio_api/mcp")
                    .header("host", "127.0.0.1")
                    .header("content-type", "application/json")
                    .header("accept", "application/json, text/event-stream")
                    .header("mcp-protocol-version", "2025-06-18")
                    .body(Full::new(Bytes::from(body)))
                    .expect("request");
                sender.ready().await.expect("connection ready");
                let res = sender.send_request(req).await.expect("response");
                assert_eq!(res.status(), StatusCode::OK);
                let body = res.into_body().collect().await.expect("body").to_bytes();
                let text = std::str::from_utf8(&body).expect("utf-8");
                let expected = format!(
                    "\"text\":\"{}\"",
                    serde_json::to_string(&(a + 1.0)).unwrap()
                );
                assert!(text.contains(&expected), "{text}");
            }
            Flow::Info => {
                let (status, body) =
                    send(&mut sender, Method::GET, "/gradio_api/info", Bytes::new()).await;
                assert_eq!(status, StatusCode::OK);
                assert_eq!(body.len(), info_len);
            }
            Flow::Queue => {
                let hash = format!("w{worker}-{n}");
                let a = n as f64;
                let body = Bytes::from(format!(
                    "{{\"data\":[{a},1],\"fn_index\":0,\"session_hash\":\"{hash}\"}}"
                ));
                let (status, _) =
                    send(&mut sender, Method::POST, "/gradio_api/queue/join", body).await;
                assert_eq!(status, StatusCode::OK);
                // The data stream on its own connection, read until the job's
                // `process_completed` (as clients do: the session closes a little later).
                let mut data_conn = connect(addrs[0]).await;
                let req = Request::builder()
                    .uri(format!("/gradio_api/queue/data?session_hash={hash}"))
                    .header("host", "127.0.0.1")
                    .body(Full::new(Bytes::new()))
                    .expect("request");
                let res = data_conn.send_request(req).await.expect("response");
                assert_eq!(res.status(), StatusCode::OK);
                let mut body = res.into_body();
                let mut text = String::new();
                while !text.contains("\"process_completed\"") {
                    let frame = body
                        .frame()
                        .await
                        .expect("the stream goes on until process_completed")
                        .expect("frame");
                    if let Ok(data) = frame.into_data() {
                        text.push_str(std::str::from_utf8(&data).expect("utf-8"));
                    }
                }
                let needle = format!(
                    "\"output\":{{\"data\":[{}]",
                    serde_json::to_string(&(a + 1.0)).unwrap()
                );
                assert!(text.contains(&needle), "{text}");
            }
        }
        latencies.push(started.elapsed());
    }
    (latencies.len(), latencies)
}

fn load(addr: SocketAddr, flow: Flow, secs: f64, concurrency: usize, info_len: usize) -> Stats {
    load_on(vec![addr], flow, secs, concurrency, info_len, 1)
}

fn load_on(
    addrs: Vec<SocketAddr>,
    flow: Flow,
    secs: f64,
    concurrency: usize,
    info_len: usize,
    load_core: usize,
) -> Stats {
    std::thread::spawn(move || {
        pin(load_core);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            // Warm up briefly, then measure.
            let warm = Instant::now() + Duration::from_millis(300);
            let warm_ops: usize = futures_util::future::join_all(
                (0..concurrency).map(|w| worker(addrs.clone(), flow, warm, w, info_len)),
            )
            .await
            .iter()
            .map(|(n, _)| n)
            .sum();
            let started = Instant::now();
            let deadline = started + Duration::from_secs_f64(secs);
            let results = futures_util::future::join_all(
                (0..concurrency).map(|w| worker(addrs.clone(), flow, deadline, 1000 + w, info_len)),
            )
            .await;
            let secs = started.elapsed().as_secs_f64();
            let mut latencies: Vec<Duration> = results
                .iter()
                .flat_map(|(_, l)| l.iter().copied())
                .collect();
            latencies.sort_unstable();
            Stats {
                ops: latencies.len(),
                secs,
                latencies,
                warm_ops,
            }
        })
    })
    .join()
    .expect("load thread")
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing useful either.
    let secs: f64 = std::env::var("GC_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5.0);
    let concurrency: usize = std::env::var("GC_BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let info = {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let svc = gradio_service(None);
            let req = Request::builder()
                .uri("/gradio_api/info")
                .header("host", "127.0.0.1")
                .body(Full::new(Bytes::new()))
                .unwrap();
            svc.handle(req)
                .await
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
        })
    };
    let rounds: usize = std::env::var("GC_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6)
        .max(1);
    let per_round = secs / rounds as f64;
    println!(
        "loopback bench: {secs} s per flow and server in {rounds} interleaved rounds, \
         concurrency {concurrency}, servers on core 0, load on core 1"
    );
    println!(
        "{:<10} {:<14} {:>12} {:>10} {:>10}",
        "flow", "server", "ops/s", "p50 µs", "p99 µs"
    );
    let print = |flow: Flow, name: &str, stats: &Stats| {
        println!(
            "{:<10} {:<14} {:>12.0} {:>10} {:>10}",
            format!("{flow:?}"),
            name,
            stats.rate(),
            stats.pct(0.50).as_micros(),
            stats.pct(0.99).as_micros()
        );
    };
    let merge = |parts: &[Stats]| Stats {
        warm_ops: parts.iter().map(|s| s.warm_ops).sum(),
        ops: parts.iter().map(|s| s.ops).sum(),
        secs: parts.iter().map(|s| s.secs).sum(),
        latencies: {
            let mut all: Vec<Duration> = parts.iter().flat_map(|s| s.latencies.clone()).collect();
            all.sort_unstable();
            all
        },
    };
    // `GC_BENCH_ONLY=mcp|redis` runs one scenario alone.
    let only = std::env::var("GC_BENCH_ONLY").unwrap_or_default();
    if only == "mcp" {
        return mcp_scenario(per_round, rounds, concurrency, info.len());
    }
    #[cfg(feature = "redis")]
    if only == "redis" {
        return redis_scenario(per_round, rounds, concurrency, info.len());
    }
    let mut summary = Vec::new();
    for flow in [Flow::CallPoll, Flow::Info] {
        // Both servers stay up; the rounds alternate which one goes first, so that drift in
        // the machine's speed (it is shared) hits both alike. The ratio reported is the
        // median of the per-round ratios.
        let (base_addr, base_stop) = start_server(Kind::Baseline(info.clone()));
        let (crate_addr, crate_stop) = start_server(Kind::Crate);
        let (mut base, mut ours, mut ratios, mut p99s) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let run = |addr| load(addr, flow, per_round, concurrency, info.len());
            let (b, c) = if round % 2 == 0 {
                let b = run(base_addr);
                (b, run(crate_addr))
            } else {
                let c = run(crate_addr);
                (run(base_addr), c)
            };
            ratios.push(c.rate() / b.rate());
            p99s.push(c.pct(0.99).as_secs_f64() / b.pct(0.99).as_secs_f64().max(1e-9));
            base.push(b);
            ours.push(c);
        }
        drop((base_stop, crate_stop));
        print(flow, "baseline", &merge(&base));
        print(flow, "gradio-compat", &merge(&ours));
        summary.push((flow, stats::median(&ratios), stats::median(&p99s), ratios));
    }
    let (addr, stop) = start_server(Kind::Crate);
    print(
        Flow::Queue,
        "gradio-compat",
        &load(addr, Flow::Queue, secs, concurrency, info.len()),
    );
    drop(stop);
    mcp_scenario(per_round, rounds, concurrency, info.len());
    for (flow, ratio, p99, ratios) in summary {
        let target = if flow == Flow::Info { 0.95 } else { 0.9 };
        let rounds: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        println!(
            "ratio {flow:?}: throughput crate/baseline median {ratio:.2} (target >= {target}; rounds {}), p99 crate/baseline median {p99:.2} (target <= 1.5)",
            rounds.join(" ")
        );
    }
    #[cfg(feature = "redis")]
    redis_scenario(per_round, rounds, concurrency, info.len());
    #[cfg(not(feature = "redis"))]
    println!("(the Redis scenario runs with --features redis)");
}

/// MCP `tools/call` against a `/call`+poll cycle of the same endpoint on the same server, in
/// interleaved rounds: what speaking MCP costs over the Gradio routes.
fn mcp_scenario(per_round: f64, rounds: usize, concurrency: usize, info_len: usize) {
    let (addr, stop) = start_server(Kind::Crate);
    let (mut calls, mut tools, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let run = |flow| load(addr, flow, per_round, concurrency, info_len);
        let (c, m) = if round % 2 == 0 {
            let c = run(Flow::CallPoll);
            (c, run(Flow::Mcp))
        } else {
            let m = run(Flow::Mcp);
            (run(Flow::CallPoll), m)
        };
        ratios.push(m.rate() / c.rate());
        calls.push(c.rate());
        tools.push(m.rate());
    }
    drop(stop);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "{:<10} {:<14} {:>12.0}\n{:<10} {:<14} {:>12.0}",
        "CallPoll",
        "gradio-compat",
        mean(&calls),
        "Mcp",
        "gradio-compat",
        mean(&tools)
    );
    ratios.sort_by(|a, b| a.total_cmp(b));
    let rounds: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    println!(
        "ratio Mcp: MCP tools/call per second / call+poll cycles per second, same server, median {:.2} (rounds {})",
        stats::median(&ratios),
        rounds.join(" ")
    );
}

/// The load generator's core in the Redis scenario: Redis has core 1 to itself.
#[cfg(feature = "redis")]
const LOAD_CORE_BESIDE_REDIS: usize = 0;

/// Call+poll on the Redis backend, one replica and two and three round-robin, against the
/// in-memory backend in interleaved rounds; then the Redis round trips per call+poll.
#[cfg(feature = "redis")]
fn redis_scenario(per_round: f64, rounds: usize, concurrency: usize, info_len: usize) {
    let redis = redis_server::RedisServer::start();
    // Redis alone on core 1; the servers and, in this scenario, the load generator share core 0
    // (this machine has two cores), for the in-memory baseline as for Redis.
    if let Some(pid) = redis.pid() {
        let pinned = std::process::Command::new("taskset")
            .args(["-a", "-p", "-c", "1", &pid.to_string()])
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        println!(
            "redis-server {}",
            if pinned {
                "pinned to core 1 alone (the servers and the load generator are on core 0)"
            } else {
                "NOT pinned (taskset failed)"
            }
        );
    }
    let (memory, memory_stop) = start_server(Kind::Crate);
    let (a, a_stop) = start_server(Kind::Redis(redis.url()));
    let (b, b_stop) = start_server(Kind::Redis(redis.url()));
    let (c, c_stop) = start_server(Kind::Redis(redis.url()));
    let setups: [(&str, Vec<SocketAddr>); 4] = [
        ("memory", vec![memory]),
        ("redis, 1 replica", vec![a]),
        ("redis, 2 round-robin", vec![a, b]),
        ("redis, 3 round-robin", vec![a, b, c]),
    ];
    // At the bench's concurrency, and at 4 times it: with Redis a call+poll waits on four
    // round trips (two HTTP, two Redis), so a few clients leave the cores idle between them;
    // a busy server has many clients.
    for concurrency in [concurrency, concurrency * 4] {
        redis_rounds(&setups, per_round, rounds, concurrency, info_len);
    }
    // Round trips: script calls (and any other command a replica sends) over a counted run.
    let before = redis_calls(&redis.url());
    let counted = load_on(
        vec![a, b],
        Flow::CallPoll,
        1.0,
        concurrency,
        info_len,
        LOAD_CORE_BESIDE_REDIS,
    );
    let after = redis_calls(&redis.url());
    println!(
        "redis round trips per call+poll: {:.2} ({} commands over {} call+polls, two replicas; goal <= 2)",
        (after - before) as f64 / (counted.ops + counted.warm_ops).max(1) as f64,
        after - before,
        counted.ops + counted.warm_ops
    );
    println!(
        "redis CPU per script call: {:.1} µs (usec_per_call of evalsha)",
        redis_usec_per_script(&redis.url())
    );
    redis_memory_per_result(&redis.url(), a);
    drop((memory_stop, a_stop, b_stop, c_stop));
}

/// Call+poll on each setup in interleaved rounds at one concurrency, printed as ratios to the
/// first (the in-memory backend).
#[cfg(feature = "redis")]
fn redis_rounds(
    setups: &[(&str, Vec<SocketAddr>)],
    per_round: f64,
    rounds: usize,
    concurrency: usize,
    info_len: usize,
) {
    let mut runs: Vec<Vec<Stats>> = setups.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        for k in 0..setups.len() {
            // Rotate who goes first, so that drift hits each alike.
            let i = (k + round) % setups.len();
            let stats = load_on(
                setups[i].1.clone(),
                Flow::CallPoll,
                per_round,
                concurrency,
                info_len,
                LOAD_CORE_BESIDE_REDIS,
            );
            runs[i].push(stats);
        }
    }
    println!(
        "{:<22} {:>10} {:>10} {:>10}  median ratio to memory (rounds), concurrency {concurrency}",
        "call+poll on", "ops/s", "p50 µs", "p99 µs"
    );
    for (i, (name, _)) in setups.iter().enumerate() {
        let ops: usize = runs[i].iter().map(|s| s.ops).sum();
        let secs: f64 = runs[i].iter().map(|s| s.secs).sum();
        let mut all: Vec<Duration> = runs[i].iter().flat_map(|s| s.latencies.clone()).collect();
        all.sort_unstable();
        let pct = |p: f64| {
            all.get(((all.len().max(1) - 1) as f64 * p).round() as usize)
                .copied()
                .unwrap_or_default()
        };
        let ratios: Vec<f64> = runs[i]
            .iter()
            .zip(&runs[0])
            .map(|(s, m)| s.rate() / m.rate())
            .collect();
        let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        println!(
            "{:<22} {:>10.0} {:>10} {:>10}  {:.2} ({})",
            name,
            ops as f64 / secs,
            pct(0.5).as_micros(),
            pct(0.99).as_micros(),
            stats::median(&ratios),
            shown.join(" ")
        );
    }
}

/// Redis's memory per stored, unpolled result: `used_memory` before and after 10,000 calls of
/// `add` that nobody polls (each result `[n]`, a few bytes).
#[cfg(feature = "redis")]
fn redis_memory_per_result(url: &str, replica: SocketAddr) {
    let used = || -> u64 {
        redis_info(url, "memory")
            .lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("used_memory")
    };
    let count = 10_000usize;
    let before = used();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let mut sender = connect(replica).await;
            for i in 0..count {
                let body = Bytes::from(format!("{{\"data\":[{i},1]}}"));
                let (status, _) =
                    send(&mut sender, Method::POST, "/gradio_api/call/add", body).await;
                assert_eq!(status, StatusCode::OK);
            }
        })
    })
    .join()
    .expect("calls");
    let after = used();
    println!(
        "redis memory per stored unpolled result: {:.0} bytes ({count} results, used_memory \
         {before} -> {after})",
        after.saturating_sub(before) as f64 / count as f64
    );
}

/// One section of Redis's `INFO`.
#[cfg(feature = "redis")]
fn redis_info(url: &str, section: &str) -> String {
    let client = redis::Client::open(url).expect("url");
    let mut conn = client.get_connection().expect("connect");
    redis::cmd("INFO")
        .arg(section)
        .query(&mut conn)
        .expect("INFO")
}

/// Redis's own time per `evalsha`, in µs, from `INFO commandstats`.
#[cfg(feature = "redis")]
fn redis_usec_per_script(url: &str) -> f64 {
    let info = redis_info(url, "commandstats");
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_evalsha:"))
        .and_then(|rest| {
            rest.split(',')
                .find_map(|kv| kv.strip_prefix("usec_per_call="))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0.0)
}

/// Commands clients sent to the server so far (script calls count once; the commands a
/// script runs are not round trips).
#[cfg(feature = "redis")]
fn redis_calls(url: &str) -> u64 {
    let info = redis_info(url, "commandstats");
    info.lines()
        .filter_map(|line| {
            let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            // Commands only scripts run (and this INFO itself) are not the replicas' round trips.
            let by_clients = ["evalsha", "eval", "script|load", "ping", "psubscribe"];
            if !by_clients.contains(&name) {
                return None;
            }
            rest.split(',')
                .find_map(|kv| kv.strip_prefix("calls="))
                .and_then(|n| n.parse::<u64>().ok())
        })
        .sum()
}
