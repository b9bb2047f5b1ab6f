//! Open streams at scale: 10,000 `/call` polls of one streaming endpoint held open at once,
//! then items pushed to all of them.
//!
//! `cargo bench --bench streams` (options: `GC_STREAMS`, default 10,000 streams;
//! `GC_STREAM_ITEMS`, default 20 items, 100 ms apart).
//!
//! The server runs in its own process (this binary, started again with
//! `GC_STREAMS_SERVER=1`), so that its resident memory is its own; the load generator here
//! opens every stream on its own keep-alive connection. It reports:
//! - the server's resident memory per open stream: (RSS with every stream open − RSS before
//!   any) / streams, read from `/proc/<pid>/status`;
//! - the delay from an item being produced (the server's clock, in the item) to its
//!   `event: generating` frame reaching each client: p50, p99 and max over every item and
//!   client.
//!
//! Goals (issue "one async seam"): at most 8 KiB per open stream and a p99 under 50 ms.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use gradio_compat::{CallContext, GradioCompat, NoArgs, Registry};
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use schemars::JsonSchema;
use serde::Deserialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// The server process.

/// Sends one item to every open stream, or ends them all.
#[derive(Deserialize, JsonSchema)]
struct EmitArgs {
    stop: bool,
}

fn registry(items: broadcast::Sender<u64>) -> Registry {
    let emit = items.clone();
    let count = items.clone();
    Registry::new()
        // Each call follows the broadcast: an item per emitted timestamp, until a 0.
        .typed_stream("ticks", move |_: NoArgs, _: CallContext| {
            let rx = items.subscribe();
            futures_util::stream::unfold(rx, |mut rx| async move {
                match rx.recv().await {
                    Ok(0) | Err(broadcast::error::RecvError::Closed) => None,
                    Ok(t) => Some((Ok::<u64, String>(t), rx)),
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        Some((Err("lagged".to_owned()), rx))
                    }
                }
            })
        })
        .typed("emit", move |a: EmitArgs, _: CallContext| {
            let stamp = if a.stop { 0 } else { now_nanos() };
            let sent = emit.send(stamp).unwrap_or(0);
            async move { Ok::<_, String>(sent) }
        })
        .typed("subscribers", move |_: NoArgs, _: CallContext| {
            let n = count.receiver_count();
            async move { Ok::<_, String>(n) }
        })
}

fn run_server() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (items, _) = broadcast::channel(64);
        let gradio = GradioCompat::builder(registry(items))
            .max_unfinished(100_000)
            .result_capacity(100_000)
            .build()
            .expect("builds");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("{}", listener.local_addr().expect("addr").port());
        // Serve until the load generator closes our stdin.
        let (closed, stop) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1];
            let _ = std::io::Read::read(&mut std::io::stdin(), &mut buf);
            let _ = closed.send(());
        });
        let stop = async move {
            let _ = stop.await;
        };
        gradio_compat::server::serve(listener, gradio, stop)
            .await
            .expect("serve");
    });
}

// ---------------------------------------------------------------------------------------
// The load generator.

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .expect("VmRSS of the server")
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(port: u16) -> Sender {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    sender
}

fn request(method: Method, path: &str, body: &'static str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("request")
}

/// Starts a call of `api` on a fresh connection and opens its poll: the poll's response,
/// whose body is left to the caller.
async fn call_and_open(port: u16, api: &str, body: &'static str) -> hyper::Response<Incoming> {
    let mut sender = connect(port).await;
    let reply = sender
        .send_request(request(
            Method::POST,
            &format!("/gradio_api/call/{api}"),
            body,
        ))
        .await
        .expect("call");
    let bytes = reply.into_body().collect().await.expect("body").to_bytes();
    let id = String::from_utf8_lossy(&bytes[13..45]).into_owned();
    sender.ready().await.expect("the connection is ready again");
    let poll = sender
        .send_request(request(
            Method::GET,
            &format!("/gradio_api/call/{api}/{id}"),
            "",
        ))
        .await
        .expect("poll");
    // The connection task keeps running while the body is read.
    drop(sender);
    poll
}

/// One call+poll; the poll's whole body.
async fn call(port: u16, api: &str, body: &'static str) -> String {
    let poll = call_and_open(port, api, body).await;
    let bytes = poll.into_body().collect().await.expect("body").to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The value of the `complete` frame of a poll body, as a number.
fn completed(body: &str) -> u64 {
    body.split("event: complete\ndata: [")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no complete frame in {body:?}"))
}

/// Opens one stream: the call, then its poll, whose frames are read until the end. The permit
/// (a place among the connections being opened) is released once the poll's head arrived.
/// Returns the delays (ns) from each item's production to its arrival.
async fn open_stream(
    port: u16,
    opened: Arc<AtomicUsize>,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Vec<u64> {
    let poll = call_and_open(port, "ticks", r#"{"data": []}"#).await;
    opened.fetch_add(1, Ordering::SeqCst);
    drop(permit);
    let mut body = poll.into_body();
    let mut buf = Vec::new();
    let mut delays = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.expect("frame").into_data() else {
            continue;
        };
        let arrived = now_nanos();
        buf.extend_from_slice(&data);
        while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let block: Vec<u8> = buf.drain(..end + 2).collect();
            let text = String::from_utf8_lossy(&block);
            if let Some(rest) = text.strip_prefix("event: generating\ndata: [") {
                let stamp: u64 = rest
                    .split(']')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("a timestamp");
                delays.push(arrived.saturating_sub(stamp));
            }
        }
    }
    delays
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Starts a server process; returns it, its pid and its port.
fn start_server() -> (std::process::Child, u32, u16) {
    let mut server = std::process::Command::new(std::env::current_exe().expect("exe"))
        .env("GC_STREAMS_SERVER", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the server process");
    let pid = server.id();
    let mut port_line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().expect("stdout")),
        &mut port_line,
    )
    .expect("port");
    let port: u16 = port_line.trim().parse().expect("a port number");
    (server, pid, port)
}

/// The baseline: the same number of idle keep-alive connections to a fresh server process,
/// each after one small request. Returns the server's RSS growth per connection, in KiB.
async fn idle_connection_kib(connections: usize) -> f64 {
    let (mut server, pid, port) = start_server();
    call(port, "subscribers", r#"{"data": []}"#).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_kib(pid);
    let mut kept = Vec::with_capacity(connections);
    for _ in 0..connections {
        let mut sender = connect(port).await;
        let reply = sender
            .send_request(request(Method::GET, "/gradio_api/nothing", ""))
            .await
            .expect("request");
        reply.into_body().collect().await.expect("body");
        kept.push(sender);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(pid);
    drop(kept);
    drop(server.stdin.take());
    let _ = server.wait();
    after.saturating_sub(before) as f64 / connections as f64
}

fn run_load(streams: usize, items: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let idle_kib = runtime.block_on(idle_connection_kib(streams));
    let (mut server, pid, port) = start_server();
    runtime.block_on(async move {
        // Warm up, then the baseline memory.
        assert_eq!(completed(&call(port, "subscribers", r#"{"data": []}"#).await), 0);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = rss_kib(pid);

        // Open every stream, a few hundred connections at a time (the listen backlog).
        let started = std::time::Instant::now();
        let opened = Arc::new(AtomicUsize::new(0));
        let limit = Arc::new(tokio::sync::Semaphore::new(256));
        let mut tasks = Vec::with_capacity(streams);
        for _ in 0..streams {
            let permit = limit.clone().acquire_owned().await.expect("permit");
            tasks.push(tokio::spawn(open_stream(port, opened.clone(), permit)));
        }
        loop {
            let subscribed = completed(&call(port, "subscribers", r#"{"data": []}"#).await);
            if subscribed as usize >= streams && opened.load(Ordering::SeqCst) >= streams {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(300), "streams never all opened");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let open_secs = started.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = rss_kib(pid);

        // Push the items, then end every stream.
        for _ in 0..items {
            let sent = completed(&call(port, "emit", r#"{"data": [false]}"#).await);
            assert!(sent as usize >= streams, "{sent} receivers");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        call(port, "emit", r#"{"data": [true]}"#).await;
        let mut delays = Vec::with_capacity(streams * items);
        let mut incomplete = 0;
        for task in tasks {
            let got = task.await.expect("stream task");
            if got.len() != items {
                incomplete += 1;
            }
            delays.extend(got);
        }
        delays.sort_unstable();
        let per_stream = (after.saturating_sub(before)) as f64 / streams as f64;
        let ms = |ns: u64| ns as f64 / 1e6;
        println!(
            "streams bench: {streams} open /call streams of one streaming endpoint, {items} items"
        );
        println!("opened in {open_secs:.1} s; server RSS {before} KiB -> {after} KiB");
        println!(
            "memory per open stream: {per_stream:.2} KiB (goal <= 8 KiB){}; an idle keep-alive \
             connection alone: {idle_kib:.2} KiB",
            if per_stream <= 8.0 { "" } else { "  MISSED" }
        );
        println!(
            "delay produced -> received over {} frames: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (goal p99 < 50 ms){}",
            delays.len(),
            ms(percentile(&delays, 50.0)),
            ms(percentile(&delays, 99.0)),
            ms(*delays.last().unwrap_or(&0)),
            if ms(percentile(&delays, 99.0)) < 50.0 { "" } else { "  MISSED" }
        );
        assert_eq!(incomplete, 0, "{incomplete} streams missed items");
    });
    drop(server.stdin.take());
    let _ = server.wait();
}

fn main() {
    if std::env::var_os("GC_STREAMS_SERVER").is_some() {
        run_server();
        return;
    }
    // `cargo bench` passes `--bench`; anything else (`cargo test --benches`) runs small.
    if std::env::args().any(|a| a == "--bench") {
        run_load(env_or("GC_STREAMS", 10_000), env_or("GC_STREAM_ITEMS", 20));
    } else {
        run_load(200, 3);
    }
}
