//! Open streams at scale: 10,000 live streams of one source held open at once, then items
//! pushed to all of them, against a floor server in the same rounds.
//!
//! `cargo bench --bench streams`. Options:
//! - `GC_STREAMS`: stream counts, default `10000,50000` (the open-file limit is raised for
//!   the server when the process may; otherwise a count above it is reported MISSED);
//! - `GC_STREAMS_ROUNDS` (default 3), `GC_STREAM_ITEMS` (default 20, 100 ms apart);
//! - `GC_STREAMS_SCENARIOS`: any of `call` (`/call` polls of a follow endpoint),
//!   `follow_metric` (the tracking server's), `queue` (queue sessions of a follow endpoint);
//! - `GC_STREAMS_WORKERS`, `GC_STREAMS_CLIENT_WORKERS`: runtime threads (default 2 each);
//! - `GC_STREAMS_FLOOR_THREADS`: threads the floor writes a frame with (default: as many as
//!   `GC_STREAMS_WORKERS`);
//! - `GC_STREAMS_PER_ITEM=1`: the delay's p50 and max for each item in turn;
//! - `GC_STREAMS_PERF=<file>`: `perf record` of the server while items are pushed;
//! - `GC_STREAMS_MASSIF=<file>`: run the server under valgrind's massif (a heap profile by
//!   allocation site; slow, so use a few thousand streams).
//!
//! The server runs in its own process (this binary, started again with
//! `GC_STREAMS_SERVER=1`), so that its resident memory is its own; the load generator here
//! opens every stream on its own keep-alive connection. It reports:
//! - the server's resident memory per open stream beyond an idle keep-alive connection: (RSS
//!   with every stream open − RSS before any) / streams, read from `/proc/<pid>/status`, minus
//!   the same for idle connections to a fresh server;
//! - the delay from an item being produced (the server's clock, in the item) to its frame
//!   reaching each client: p50, p99 and max over every item and client;
//! - the server's CPU time per delivered frame.
//!
//! Goals: at most 2 KiB per open stream beyond an idle connection, a p99 of at most 50 ms
//! and a max of at most 100 ms.

#[path = "support/process.rs"]
mod process;
#[path = "support/stats.rs"]
mod stats;

#[allow(dead_code)]
#[path = "../examples/tracking_server/app.rs"]
mod app;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gradio_compat::{CallContext, Fanout, GradioCompat, NoArgs, Registry};
use schemars::JsonSchema;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

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

fn registry(ticks: Fanout<u64>) -> Registry {
    let source = ticks.clone();
    Registry::new()
        // Every call follows the one source: each published timestamp is encoded once and its
        // frame shared by all open polls.
        .follow("ticks", move |_: NoArgs, _: CallContext| {
            Ok::<_, String>(source.clone())
        })
        .typed("emit", move |a: EmitArgs, _: CallContext| {
            let sent = if a.stop {
                ticks.finish();
                Ok(0)
            } else {
                ticks.publish(&now_nanos()).map(|()| 1)
            };
            std::future::ready(sent)
        })
}

/// Listening ports: one port takes at most about 28,000 connections from one client address
/// (the ephemeral port range), so larger runs spread over several.
const PORTS: usize = 4;

/// Serves `service` on `PORTS` loopback ports (printed first, on one line) until the load
/// generator closes this process's stdin.
async fn serve_ports<S, B>(service: S)
where
    S: tower_service::Service<
            http::Request<hyper::body::Incoming>,
            Response = http::Response<B>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut listeners = Vec::new();
    let mut ports = Vec::new();
    for _ in 0..PORTS {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        ports.push(listener.local_addr().expect("addr").port().to_string());
        listeners.push(listener);
    }
    println!("{}", ports.join(" "));
    let (closed, stop) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1];
        let _ = std::io::Read::read(&mut std::io::stdin(), &mut buf);
        let _ = closed.send(());
    });
    let stop = futures_util::FutureExt::shared(async move {
        let _ = stop.await;
    });
    let serving = listeners
        .into_iter()
        .map(|listener| gradio_compat::server::serve(listener, service.clone(), stop.clone()));
    for served in futures_util::future::join_all(serving).await {
        served.expect("serve");
    }
}

/// The server processes' runtime: `GC_STREAMS_WORKERS` worker threads (default 2, as a
/// `#[tokio::main]` server has on this machine).
fn server_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(env_or("GC_STREAMS_WORKERS", 2))
        .enable_all()
        .build()
        .expect("runtime")
}

fn run_server() {
    server_runtime().block_on(async {
        let gradio = GradioCompat::builder(registry(Fanout::new()))
            .max_unfinished(100_000)
            .result_capacity(100_000)
            .build()
            .expect("builds");
        serve_ports(gradio).await;
    });
}

/// The tracking server, as its binary serves it (on the same runtime settings as the crate's
/// server here), on `PORTS` ports.
fn run_tracking() {
    server_runtime().block_on(async {
        let tracker = Arc::new(app::Tracker::temporary());
        let gradio = app::builder(&tracker, app::registry(tracker.clone()), None)
            .max_unfinished(100_000)
            .result_capacity(100_000)
            .build()
            .expect("builds");
        serve_ports(app::router(gradio, tracker)).await;
    });
}

// ---------------------------------------------------------------------------------------
// The floor: the least a server can do to deliver the same bytes. It speaks just enough
// HTTP/1.1 for the load generator; each emitted item is one chunk written to every open
// poll's socket by a plain loop split across as many threads as the server has workers (one
// `write` each, no wake-ups, no HTTP machinery).
// It exists only here.

/// The floor's open polls, and how many threads write a frame to them (read once, at start).
struct Floor {
    polls: std::sync::Mutex<Vec<TcpStream>>,
    threads: usize,
}

type Polls = Arc<Floor>;

/// Writes `frame` as one chunk to every socket; returns how many took it whole.
fn write_all_polls(polls: &Polls, frame: &[u8], last: bool) -> usize {
    let mut chunk = format!("{:x}\r\n", frame.len()).into_bytes();
    chunk.extend_from_slice(frame);
    chunk.extend_from_slice(b"\r\n");
    if last {
        chunk.extend_from_slice(b"0\r\n\r\n");
    }
    let threads = polls.threads;
    let polls = polls.polls.lock().unwrap_or_else(|e| e.into_inner());
    let per = polls.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = polls
            .chunks(per)
            .map(|part| {
                let chunk = &chunk;
                s.spawn(move || {
                    part.iter()
                        .filter(|sock| sock.try_write(chunk).is_ok_and(|n| n == chunk.len()))
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    })
}

async fn floor_connection(mut sock: TcpStream, polls: Polls) {
    let _ = sock.set_nodelay(true);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        // One request: its head and its content-length body.
        let (head, body) = loop {
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                let len: usize = head
                    .to_ascii_lowercase()
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: ").map(str::to_owned))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    let body = buf[end + 4..end + 4 + len].to_vec();
                    buf.drain(..end + 4 + len);
                    break (head, body);
                }
            }
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let line = head.lines().next().unwrap_or_default().to_owned();
        let reply = |body: &str| {
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        let id = format!("{:032x}", now_nanos());
        let answer = if line.starts_with("POST /gradio_api/call/emit ") {
            let stop = body.windows(4).any(|w| w == b"true");
            if stop {
                write_all_polls(&polls, b"event: complete\ndata: [0]\n\n", true);
            } else {
                let frame = format!("event: generating\ndata: [{}]\n\n", now_nanos());
                write_all_polls(&polls, frame.as_bytes(), false);
            }
            reply(&format!("{{\"event_id\":\"{id}\"}}"))
        } else if line.starts_with("POST ") {
            reply(&format!("{{\"event_id\":\"{id}\"}}"))
        } else if line.starts_with("GET /gradio_api/call/ticks/") {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                        transfer-encoding: chunked\r\n\r\n";
            if sock.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            polls
                .polls
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(sock);
            return;
        } else if line.starts_with("GET /gradio_api/call/emit/") {
            let body = "event: complete\ndata: [1]\n\n";
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
        } else {
            reply("{}")
        };
        if sock.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn run_floor() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let polls: Polls = Arc::new(Floor {
            polls: std::sync::Mutex::default(),
            // As many threads as the crate's server has runtime workers: the same cores.
            threads: env_or("GC_STREAMS_FLOOR_THREADS", env_or("GC_STREAMS_WORKERS", 2)).max(1),
        });
        let mut ports = Vec::new();
        for _ in 0..PORTS {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            ports.push(listener.local_addr().expect("addr").port().to_string());
            let polls = polls.clone();
            tokio::spawn(async move {
                while let Ok((sock, _)) = listener.accept().await {
                    tokio::spawn(floor_connection(sock, polls.clone()));
                }
            });
        }
        println!("{}", ports.join(" "));
        let _ = tokio::task::spawn_blocking(|| {
            let mut buf = [0u8; 1];
            let _ = std::io::Read::read(&mut std::io::stdin(), &mut buf);
        })
        .await;
    });
}

// ---------------------------------------------------------------------------------------
// The load generator: a minimal HTTP/1.1 client on raw sockets, one task per stream, so
// that the client's own cost stays small beside the server's on the same two cores.

/// Raises a process's open-file limit to `want` with `prlimit` (util-linux); says why not
/// when it cannot (raising the hard limit needs CAP_SYS_RESOURCE).
fn raise_open_files(pid: u32, want: u64) -> Result<(), String> {
    if process::open_files(pid).0 >= want {
        return Ok(());
    }
    let out = std::process::Command::new("prlimit")
        .args([
            "--pid",
            &pid.to_string(),
            &format!("--nofile={want}:{want}"),
        ])
        .output()
        .map_err(|e| format!("prlimit cannot run: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    // The hard limit may not rise: take as much as it allows.
    let hard = process::open_files(pid).1;
    let _ = std::process::Command::new("prlimit")
        .args([
            "--pid",
            &pid.to_string(),
            &format!("--nofile={hard}:{hard}"),
        ])
        .output();
    Err(format!(
        "the open-file limit cannot be raised to {want} ({}); it stays at {}",
        String::from_utf8_lossy(&out.stderr).trim(),
        process::open_files(pid).0
    ))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// Sends one request and reads its whole (`content-length`) response; its body.
async fn exchange(sock: &mut TcpStream, method: &str, path: &str, body: &str) -> Vec<u8> {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(head.as_bytes()).await.expect("write");
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        let n = sock.read(&mut chunk).await.expect("read");
        assert!(n > 0, "the server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            assert!(head.starts_with("http/1.1 200"), "{head}");
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse::<usize>().ok());
            match len {
                Some(len) if buf.len() >= end + 4 + len => {
                    return buf[end + 4..end + 4 + len].to_vec();
                }
                Some(_) => {}
                // A chunked stream (a poll that waited): its raw chunks, to the last.
                None if buf.ends_with(b"0\r\n\r\n") => return buf[end + 4..].to_vec(),
                None => {}
            }
        }
    }
}

/// One call's event id.
async fn start_call(sock: &mut TcpStream, api: &str, body: &str) -> String {
    let reply = exchange(sock, "POST", &format!("/gradio_api/call/{api}"), body).await;
    String::from_utf8_lossy(&reply[13..45]).into_owned()
}

/// What the streams follow.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scenario {
    /// `/call` polls of the crate's follow endpoint `ticks` (the floor speaks this flow too).
    Call,
    /// The tracking server's `follow_metric` of one line, as a dashboard per viewer reads it.
    FollowMetric,
    /// Queue sessions (`queue/join` of `ticks`, then `queue/data`), as Gradio's clients read.
    Queue,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Call => "/call polls of a follow endpoint",
            Scenario::FollowMetric => "tracking server follow_metric polls of one line",
            Scenario::Queue => "queue sessions (queue/data) of a follow endpoint",
        }
    }

    /// The server process that serves it.
    fn server(self) -> &'static str {
        match self {
            Scenario::FollowMetric => "tracking",
            Scenario::Call | Scenario::Queue => "crate",
        }
    }
}

/// The number an item carries: the last number of its payload (`[t]`, or a queue diff ending
/// in `t`).
fn stamp_of(payload: &[u8]) -> u64 {
    let text = std::str::from_utf8(payload).expect("utf-8");
    let end = text
        .rfind(|c: char| c.is_ascii_digit())
        .expect("a number in the item");
    let start = text[..=end]
        .rfind(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-')))
        .map_or(0, |i| i + 1);
    text[start..=end]
        .parse::<f64>()
        .unwrap_or_else(|e| panic!("a timestamp in {text:?}: {e}")) as u64
}

/// Unix nanoseconds of an ISO 8601 UTC time as the tracking server writes it
/// (`YYYY-MM-DDTHH:MM:SS.ffffff+00:00`).
fn iso_nanos(text: &str) -> u64 {
    let num = |range: std::ops::Range<usize>| -> i64 {
        text.get(range)
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("an ISO time: {text:?}"))
    };
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    // Days since 1970-01-01 of a civil date (March-based years, as the proleptic Gregorian
    // calendar counts leap days).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + num(11..13) * 3600 + num(14..16) * 60 + num(17..19);
    secs as u64 * 1_000_000_000 + num(20..26) as u64 * 1_000
}

/// Opens one stream on its own connection: the call (or queue join), then its poll, read to
/// its end. The permit (a place among the connections being opened) is released once the
/// poll is sent. Returns the delays (ns) from each item's production to its arrival, and the
/// connection: the caller keeps it open until every stream has ended, as a keep-alive client
/// does. (Closing each one at its stream's end would make the server and the kernel handle
/// thousands of closes while the last item is still on its way to the others: where calls
/// end with their last value, as `follow_metric`'s do, that measured the closes.)
async fn open_stream(
    scenario: Scenario,
    port: u16,
    index: usize,
    queue_fn: usize,
    items: usize,
    opened: Arc<AtomicUsize>,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> (Vec<u64>, TcpStream) {
    let mut sock = connect(port).await;
    let poll = match scenario {
        Scenario::Call => {
            let id = start_call(&mut sock, "ticks", r#"{"data": []}"#).await;
            format!("GET /gradio_api/call/ticks/{id} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        }
        Scenario::FollowMetric => {
            let body = format!(r#"{{"data": ["bench", "r", "loss", {items}, 3600]}}"#);
            let id = start_call(&mut sock, "follow_metric", &body).await;
            format!("GET /gradio_api/call/follow_metric/{id} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        }
        Scenario::Queue => {
            let join =
                format!(r#"{{"data": [], "fn_index": {queue_fn}, "session_hash": "s{index}"}}"#);
            exchange(&mut sock, "POST", "/gradio_api/queue/join", &join).await;
            format!(
                "GET /gradio_api/queue/data?session_hash=s{index} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"
            )
        }
    };
    sock.write_all(poll.as_bytes()).await.expect("poll");
    opened.fetch_add(1, Ordering::SeqCst);
    drop(permit);
    // Where an item's payload starts and ends, and what marks the stream's end.
    let (item, item_end, last): (&[u8], &[u8], &[u8]) = match scenario {
        Scenario::Call | Scenario::FollowMetric => {
            (b"event: generating\ndata: ", b"\n\n", b"event: complete")
        }
        Scenario::Queue => (
            b"\"msg\":\"process_generating\"",
            b",\"is_generating\"",
            b"\"msg\":\"process_completed\"",
        ),
    };
    let mut delays = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = sock.read(&mut chunk).await.expect("read");
        let arrived = now_nanos();
        if n == 0 {
            panic!("the stream ended before its last frame");
        }
        buf.extend_from_slice(&chunk[..n]);
        while let Some(at) = find(&buf, item) {
            let rest = &buf[at + item.len()..];
            let Some(close) = find(rest, item_end) else {
                break;
            };
            let payload = &rest[..close];
            // follow_metric: from when the value was stored (its timestamp); the others: from
            // when the item was published (the number it carries).
            let stamp = match scenario {
                Scenario::FollowMetric => {
                    let text = std::str::from_utf8(payload).expect("utf-8");
                    let at = text.find("\"timestamp\":\"").expect("a timestamp") + 13;
                    iso_nanos(&text[at..])
                }
                _ => stamp_of(payload),
            };
            delays.push(arrived.saturating_sub(stamp));
            buf.drain(..at + item.len() + close);
        }
        if find(&buf, last).is_some() {
            return (delays, sock);
        }
        // Keep only a tail that may hold the start of a frame.
        if buf.len() > 4096 {
            buf.drain(..buf.len() - 512);
        }
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Starts a server process able to hold `streams` connections; returns it, its pid and its
/// ports.
fn start_server(kind: &str, streams: usize) -> (std::process::Child, u32, Vec<u16>) {
    let exe = std::env::current_exe().expect("exe");
    let mut server = match std::env::var("GC_STREAMS_MASSIF") {
        Ok(out) if kind != "floor" => {
            let mut c = std::process::Command::new("valgrind");
            c.args([
                "--tool=massif",
                "--threshold=0.5",
                &format!("--massif-out-file={out}"),
            ])
            .arg(&exe);
            c
        }
        _ => std::process::Command::new(&exe),
    };
    let mut server = server
        .env("GC_STREAMS_SERVER", kind)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the server process");
    let pid = server.id();
    if let Err(e) = raise_open_files(pid, streams as u64 + 1024) {
        println!("server: {e}");
    }
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("ports");
    let ports = line
        .split_whitespace()
        .map(|p| p.parse().expect("a port number"))
        .collect();
    (server, pid, ports)
}

/// The baseline: the same number of idle keep-alive connections to a fresh server process,
/// each after one small request. Returns the server's RSS growth per connection, in KiB.
async fn idle_connection_kib(connections: usize) -> f64 {
    let (mut server, pid, ports) = start_server("crate", connections);
    let mut warm = connect(ports[0]).await;
    exchange(&mut warm, "GET", "/gradio_api/info", "").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = process::rss_kib(pid);
    let mut kept = Vec::with_capacity(connections);
    for i in 0..connections {
        let mut sock = connect(ports[i % ports.len()]).await;
        exchange(&mut sock, "GET", "/gradio_api/info", "").await;
        kept.push(sock);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = process::rss_kib(pid);
    drop(kept);
    drop(server.stdin.take());
    let _ = server.wait();
    after.saturating_sub(before) as f64 / connections as f64
}

/// What one run measured.
struct Run {
    per_stream_kib: f64,
    idle_kib: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    cpu_us_per_frame: f64,
}

fn run_load(scenario: Option<Scenario>, streams: usize, items: usize) -> Run {
    // `None`: the floor, in the `/call` flow.
    let kind = scenario.map_or("floor", Scenario::server);
    let scenario = scenario.unwrap_or(Scenario::Call);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(env_or("GC_STREAMS_CLIENT_WORKERS", 2))
        .enable_all()
        .build()
        .expect("runtime");
    let idle_kib = if kind == "floor" {
        0.0
    } else {
        runtime.block_on(idle_connection_kib(streams))
    };
    let (mut server, pid, ports) = start_server(kind, streams);
    let run = runtime.block_on(async move {
        // Warm up, then the baseline memory.
        let mut control = connect(ports[0]).await;
        exchange(&mut control, "GET", "/gradio_api/info", "").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = process::rss_kib(pid);

        // Queue joins name the endpoint by its place in /config.
        let queue_fn = if scenario == Scenario::Queue {
            let config: serde_json::Value =
                serde_json::from_slice(&exchange(&mut control, "GET", "/config", "").await)
                    .expect("config");
            config["dependencies"]
                .as_array()
                .and_then(|d| d.iter().position(|d| d["api_name"] == "ticks"))
                .expect("ticks in /config")
        } else {
            0
        };
        // Open every stream, a few hundred connections at a time (the listen backlog).
        let started = std::time::Instant::now();
        let opened = Arc::new(AtomicUsize::new(0));
        let limit = Arc::new(tokio::sync::Semaphore::new(256));
        let mut tasks = Vec::with_capacity(streams);
        for i in 0..streams {
            let permit = limit.clone().acquire_owned().await.expect("permit");
            let port = ports[i % ports.len()];
            tasks.push(tokio::spawn(open_stream(
                scenario,
                port,
                i,
                queue_fn,
                items,
                opened.clone(),
                permit,
            )));
        }
        while opened.load(Ordering::SeqCst) < streams {
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "streams never all opened"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let open_secs = started.elapsed().as_secs_f64();
        // Every poll has reached the server and sits waiting.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let after = process::rss_kib(pid);

        // Push the items, then end every stream. With `GC_STREAMS_PERF=<file>`, `perf`
        // records the server meanwhile.
        let perf = std::env::var("GC_STREAMS_PERF").ok().map(|out| {
            std::process::Command::new("perf")
                .args([
                    "record",
                    "-g",
                    "-o",
                    &out,
                    "-p",
                    &pid.to_string(),
                    "--",
                    "sleep",
                    "2",
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("perf")
        });
        let cpu_before = process::cpu_secs(pid);
        for _ in 0..items {
            if scenario == Scenario::FollowMetric {
                // One logged value, read by every follower.
                let body = r#"{"data": ["bench", "r", {"loss": 0.5}]}"#;
                let id = start_call(&mut control, "log", body).await;
                exchange(
                    &mut control,
                    "GET",
                    &format!("/gradio_api/call/log/{id}"),
                    "",
                )
                .await;
            } else {
                let id = start_call(&mut control, "emit", r#"{"data": [false]}"#).await;
                exchange(
                    &mut control,
                    "GET",
                    &format!("/gradio_api/call/emit/{id}"),
                    "",
                )
                .await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // follow_metric calls end after `items` values; the others when the source ends.
        if scenario != Scenario::FollowMetric {
            let id = start_call(&mut control, "emit", r#"{"data": [true]}"#).await;
            exchange(
                &mut control,
                "GET",
                &format!("/gradio_api/call/emit/{id}"),
                "",
            )
            .await;
        }
        let mut delays = Vec::with_capacity(streams * items);
        let mut incomplete = 0;
        let mut per_item: Vec<Vec<u64>> = vec![Vec::new(); items];
        let mut ended = Vec::with_capacity(streams);
        for task in tasks {
            let (got, sock) = task.await.expect("stream task");
            ended.push(sock);
            if got.len() != items {
                incomplete += 1;
            }
            for (at, d) in per_item.iter_mut().zip(&got) {
                at.push(*d);
            }
            delays.extend(got);
        }
        drop(ended);
        if std::env::var_os("GC_STREAMS_PER_ITEM").is_some() {
            for (i, mut v) in per_item.into_iter().enumerate() {
                v.sort_unstable();
                let ms = |ns: u64| ns as f64 / 1e6;
                println!(
                    "  item {i}: p50 {:.1} ms, max {:.1} ms",
                    ms(percentile(&v, 50.0)),
                    ms(v.last().copied().unwrap_or(0))
                );
            }
        }
        let cpu = process::cpu_secs(pid) - cpu_before;
        if let Some(mut perf) = perf {
            let _ = perf.wait();
        }
        delays.sort_unstable();
        let ms = |ns: u64| ns as f64 / 1e6;
        println!(
            "{streams} streams opened in {open_secs:.1} s; server RSS {before} KiB -> {after} KiB"
        );
        assert_eq!(incomplete, 0, "{incomplete} streams missed items");
        Run {
            per_stream_kib: after.saturating_sub(before) as f64 / streams as f64,
            idle_kib,
            p50_ms: ms(percentile(&delays, 50.0)),
            p99_ms: ms(percentile(&delays, 99.0)),
            max_ms: ms(*delays.last().unwrap_or(&0)),
            cpu_us_per_frame: cpu * 1e6 / (streams * (items + 1)) as f64,
        }
    });
    drop(server.stdin.take());
    let _ = server.wait();
    run
}

fn median_range(v: Vec<f64>) -> String {
    let (lo, hi) = stats::range(&v);
    format!("{:.2} ({lo:.2}–{hi:.2})", stats::median(&v))
}

/// Median of one figure over runs.
fn median(runs: &[Run], f: fn(&Run) -> f64) -> f64 {
    stats::median(&runs.iter().map(f).collect::<Vec<_>>())
}

/// Runs each scenario and the floor in rounds at one size (the floor first in even rounds,
/// last in odd ones) and prints medians, ranges and ratios to the floor.
fn compare(streams: usize, items: usize, rounds: usize, scenarios: &[Scenario]) {
    let mut floor = Vec::new();
    let mut ours: Vec<Vec<Run>> = scenarios.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        if round % 2 == 0 {
            floor.push(run_load(None, streams, items));
        }
        for (runs, scenario) in ours.iter_mut().zip(scenarios) {
            runs.push(run_load(Some(*scenario), streams, items));
        }
        if round % 2 == 1 {
            floor.push(run_load(None, streams, items));
        }
    }
    let pick = |runs: &[Run], f: fn(&Run) -> f64| runs.iter().map(f).collect::<Vec<f64>>();
    println!(
        "streams bench: {streams} open streams following one source, {items} items 100 ms \
         apart, {rounds} rounds; the floor writes each item to every poll's socket from one \
         loop. Floor: p50 {} ms, p99 {} ms, max {} ms, server CPU per frame {} µs",
        median_range(pick(&floor, |r| r.p50_ms)),
        median_range(pick(&floor, |r| r.p99_ms)),
        median_range(pick(&floor, |r| r.max_ms)),
        median_range(pick(&floor, |r| r.cpu_us_per_frame)),
    );
    for (runs, scenario) in ours.iter().zip(scenarios) {
        let mem = median(runs, |r| r.per_stream_kib - r.idle_kib);
        let (p99, max) = (median(runs, |r| r.p99_ms), median(runs, |r| r.max_ms));
        let ratio = |f: fn(&Run) -> f64| {
            median_range(runs.iter().zip(&floor).map(|(o, b)| f(o) / f(b)).collect())
        };
        println!("  {}:", scenario.name());
        println!(
            "    memory per open stream beyond an idle keep-alive connection ({} KiB): {} KiB \
             (goal <= 2 KiB){}",
            median_range(pick(runs, |r| r.idle_kib)),
            median_range(pick(runs, |r| r.per_stream_kib - r.idle_kib)),
            if mem <= 2.0 { "" } else { "  MISSED" }
        );
        println!(
            "    delay produced -> received: p50 {} ms, p99 {} ms, max {} ms (goal p99 <= 50 \
             ms, max <= 100 ms){}",
            median_range(pick(runs, |r| r.p50_ms)),
            median_range(pick(runs, |r| r.p99_ms)),
            median_range(pick(runs, |r| r.max_ms)),
            if p99 <= 50.0 && max <= 100.0 {
                ""
            } else {
                "  MISSED"
            }
        );
        println!(
            "    server CPU per delivered frame {} µs; to the floor: p99 {}×, CPU per frame {}×",
            median_range(pick(runs, |r| r.cpu_us_per_frame)),
            ratio(|r| r.p99_ms),
            ratio(|r| r.cpu_us_per_frame),
        );
    }
}

fn main() {
    match std::env::var("GC_STREAMS_SERVER").as_deref() {
        Ok("floor") => return run_floor(),
        Ok("tracking") => return run_tracking(),
        Ok(_) => return run_server(),
        Err(_) => {}
    }
    let scenarios: Vec<Scenario> = std::env::var("GC_STREAMS_SCENARIOS")
        .unwrap_or_else(|_| "call,follow_metric,queue".to_owned())
        .split(',')
        .filter_map(|name| match name.trim() {
            "call" => Some(Scenario::Call),
            "follow_metric" => Some(Scenario::FollowMetric),
            "queue" => Some(Scenario::Queue),
            _ => None,
        })
        .collect();
    // `cargo bench` passes `--bench`; anything else (`cargo test --benches`) runs small.
    let items = env_or("GC_STREAM_ITEMS", 20);
    if !std::env::args().any(|a| a == "--bench") {
        compare(200, 3, 1, &scenarios);
        return;
    }
    let rounds = env_or("GC_STREAMS_ROUNDS", 3);
    let sizes: Vec<usize> = std::env::var("GC_STREAMS")
        .unwrap_or_else(|_| "10000,50000".to_owned())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    for streams in sizes {
        // This process holds one socket per stream too.
        if let Err(e) = raise_open_files(std::process::id(), streams as u64 + 1024) {
            let fit = process::open_files(std::process::id())
                .0
                .saturating_sub(1024) as usize;
            println!(
                "{streams} streams: {e}; this machine allows {fit} streams per process, so this \
                 size is not measured (MISSED)"
            );
            continue;
        }
        compare(streams, items, rounds, &scenarios);
    }
}
