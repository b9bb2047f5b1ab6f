//! The tracking server's most frequent read against the floor: call+poll of
//! `get_all_projects`, side by side with a raw-hyper server that answers the same bytes.
//!
//! `cargo bench --bench reads` (options: `GC_READS_SECS`, default 3 s per round and server;
//! `GC_READS_ROUNDS`, default 6; `GC_READS_CONCURRENCY`, default 16).
//!
//! Each server runs in a process of its own (this binary started again with
//! `GC_READS_SERVER=tracking|floor`) on one tokio worker pinned to core 0, so that its CPU time
//! (`/proc/<pid>/stat`, every thread of it, the blocking pool included) is its own. The load
//! generator runs on core 1 with kept-alive connections and checks every answer byte for byte.
//! The tracking server holds 20 projects of 5 runs each; the floor is given the exact poll
//! body the tracking server answers. Rounds alternate between the two; the bench prints each
//! server's call+poll cycles per second, its CPU per cycle, and the median (and range) of the
//! per-round ratios.
//!
//! The floor: `POST /gradio_api/call/get_all_projects` stores a random id in a `DashMap` and
//! answers `{"event_id": …}`; `GET …/{id}` removes it and answers the fixed body. It exists
//! only here.

#[allow(dead_code)]
#[path = "../examples/tracking_server/app.rs"]
mod app;

#[path = "support/client.rs"]
mod client;
#[path = "support/process.rs"]
mod process;
#[path = "support/stats.rs"]
mod stats;

use client::{connect, Sender};

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dashmap::DashMap;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pin(core: usize) {
    if let Some(id) = core_affinity::get_core_ids().and_then(|ids| ids.into_iter().nth(core)) {
        core_affinity::set_for_current(id);
    }
}

const PATH: &str = "/gradio_api/call/get_all_projects";

// ---------------------------------------------------------------------------------------
// The server processes.

#[derive(Clone)]
struct Floor {
    pending: Arc<DashMap<uuid::Uuid, ()>>,
    body: Bytes,
}

impl Floor {
    async fn handle(self, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        let (parts, body) = req.into_parts();
        let _ = body.collect().await;
        let path = parts.uri.path();
        if parts.method == Method::POST && path == PATH {
            let id = uuid::Uuid::new_v4();
            self.pending.insert(id, ());
            let reply = format!("{{\"event_id\":\"{}\"}}", id.simple());
            return Ok(Response::builder()
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(reply)))
                .expect("response"));
        }
        let found = path
            .strip_prefix(PATH)
            .and_then(|rest| rest.strip_prefix('/'))
            .and_then(|id| uuid::Uuid::parse_str(id).ok())
            .and_then(|id| self.pending.remove(&id));
        Ok(match found {
            Some(_) => Response::builder()
                .header("content-type", "text/event-stream; charset=utf-8")
                .body(Full::new(self.body.clone()))
                .expect("response"),
            None => Response::builder()
                .status(StatusCode::NOT_FOUND)
                .body(Full::new(Bytes::from_static(
                    b"{\"error\":\"no such event\"}",
                )))
                .expect("response"),
        })
    }
}

/// Serves until stdin closes. Prints its port first.
fn run_server(kind: &str) {
    pin(0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let kind = kind.to_owned();
    runtime.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("{}", listener.local_addr().expect("addr").port());
        let _ = std::io::stdout().flush();
        let floor = (kind == "floor").then(|| {
            let mut body = String::new();
            std::io::stdin().read_line(&mut body).expect("the floor's body");
            let body: String = serde_json::from_str(&body).expect("a JSON string");
            Floor {
                pending: Arc::new(DashMap::new()),
                body: Bytes::from(body),
            }
        });
        // Serve until the load generator closes our stdin.
        let (closed, stop) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let mut buf = String::new();
            while std::io::stdin().read_line(&mut buf).is_ok_and(|n| n > 0) {}
            let _ = closed.send(());
        });
        let stop = async move {
            let _ = stop.await;
        };
        if let Some(floor) = floor {
            tokio::pin!(stop);
            loop {
                let stream = tokio::select! {
                    accepted = listener.accept() => match accepted { Ok((s, _)) => s, Err(_) => continue },
                    _ = &mut stop => return,
                };
                let _ = stream.set_nodelay(true);
                let floor = floor.clone();
                let svc = hyper::service::service_fn(move |req| floor.clone().handle(req));
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc),
                );
            }
        }
        // The tracking server as its binary serves it, with 20 projects of 5 runs.
        let tracker = Arc::new(app::Tracker::temporary());
        for p in 0..20 {
            for r in 0..5 {
                let entry = app::Entry {
                    project: format!("project-{p:02}"),
                    run: format!("run-{r}"),
                    run_id: None,
                    step: None,
                    timestamp: None,
                    metrics: serde_json::from_str(r#"{"loss": 0.5}"#).expect("metrics"),
                    config: None,
                    log_id: None,
                };
                tracker.log(vec![entry]).await.expect("logs");
            }
        }
        let gradio = app::service(tracker.clone(), None).expect("builds");
        gradio_compat::server::serve(listener, app::router(gradio, tracker), stop)
            .await
            .expect("serve");
    });
}

// ---------------------------------------------------------------------------------------
// The load generator.

struct Server {
    child: std::process::Child,
    pid: u32,
    addr: SocketAddr,
}

impl Server {
    fn start(kind: &str, floor_body: Option<&str>) -> Server {
        let mut child = std::process::Command::new(std::env::current_exe().expect("exe"))
            .env("GC_READS_SERVER", kind)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start a server process");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("port");
        let port: u16 = line.trim().parse().expect("a port");
        if let Some(body) = floor_body {
            let stdin = child.stdin.as_mut().expect("stdin");
            writeln!(stdin, "{}", serde_json::to_string(body).expect("json")).expect("body");
        }
        Server {
            pid: child.id(),
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    /// CPU time used so far (user + system, every thread), in seconds.
    fn cpu_secs(&self) -> f64 {
        process::cpu_secs(self.pid)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

async fn send(sender: &mut Sender, method: Method, path: &str, body: &'static str) -> Bytes {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("request");
    sender.ready().await.expect("connection ready");
    let res = sender.send_request(req).await.expect("response");
    assert_eq!(res.status(), StatusCode::OK);
    res.into_body().collect().await.expect("body").to_bytes()
}

/// One call+poll; the poll's body.
async fn cycle(sender: &mut Sender) -> Bytes {
    let reply = send(sender, Method::POST, PATH, r#"{"data": []}"#).await;
    let text = std::str::from_utf8(&reply).expect("utf-8");
    let id = text.split('"').nth(3).expect("an event id").to_owned();
    send(sender, Method::GET, &format!("{PATH}/{id}"), "").await
}

/// Call+poll cycles for `secs` from `concurrency` connections, every body checked; returns
/// cycles per second and CPU seconds of the server per cycle.
fn measure(server: &Server, expected: &Bytes, secs: f64, concurrency: usize) -> (f64, f64) {
    let addr = server.addr;
    let expected = expected.clone();
    let cpu_before = server.cpu_secs();
    let (cycles, elapsed) = std::thread::spawn(move || {
        pin(1);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let started = Instant::now();
            let deadline = started + Duration::from_secs_f64(secs);
            let counts = futures_util::future::join_all((0..concurrency).map(|_| {
                let expected = expected.clone();
                async move {
                    let mut sender = connect(addr).await;
                    let mut n = 0usize;
                    while Instant::now() < deadline {
                        assert_eq!(cycle(&mut sender).await, expected);
                        n += 1;
                    }
                    n
                }
            }))
            .await;
            (
                counts.iter().sum::<usize>(),
                started.elapsed().as_secs_f64(),
            )
        })
    })
    .join()
    .expect("load thread");
    let cpu = server.cpu_secs() - cpu_before;
    (cycles as f64 / elapsed, cpu / cycles.max(1) as f64)
}

/// Median, smallest and largest.
fn median(v: Vec<f64>) -> (f64, f64, f64) {
    let (lo, hi) = stats::range(&v);
    (stats::median(&v), lo, hi)
}

fn main() {
    if let Ok(kind) = std::env::var("GC_READS_SERVER") {
        run_server(&kind);
        return;
    }
    let full = std::env::args().any(|a| a == "--bench");
    let secs = if full {
        env_or("GC_READS_SECS", 3) as f64
    } else {
        0.3
    };
    let rounds = if full {
        env_or("GC_READS_ROUNDS", 6)
    } else {
        2
    };
    let concurrency = env_or("GC_READS_CONCURRENCY", 16);

    let tracking = Server::start("tracking", None);
    // The tracking server's exact answer, which the floor then gives.
    let expected = {
        let addr = tracking.addr;
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async move { cycle(&mut connect(addr).await).await })
    };
    let text = std::str::from_utf8(&expected).expect("utf-8").to_owned();
    assert!(
        text.starts_with("event: complete\ndata: [[\"project-00\""),
        "{text}"
    );
    let floor = Server::start("floor", Some(&text));

    let mut rates = Vec::new();
    let mut cpus = Vec::new();
    let (mut ours_all, mut floor_all) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which goes first.
        let (ours, base) = if round % 2 == 0 {
            let o = measure(&tracking, &expected, secs, concurrency);
            (o, measure(&floor, &expected, secs, concurrency))
        } else {
            let b = measure(&floor, &expected, secs, concurrency);
            (measure(&tracking, &expected, secs, concurrency), b)
        };
        rates.push(ours.0 / base.0);
        cpus.push(ours.1 / base.1);
        ours_all.push(ours);
        floor_all.push(base);
    }
    let (rate, rate_lo, rate_hi) = median(rates);
    let (cpu, cpu_lo, cpu_hi) = median(cpus);
    let (ours_rate, _, _) = median(ours_all.iter().map(|o| o.0).collect());
    let (base_rate, _, _) = median(floor_all.iter().map(|o| o.0).collect());
    let (ours_cpu, _, _) = median(ours_all.iter().map(|o| o.1 * 1e6).collect());
    let (base_cpu, _, _) = median(floor_all.iter().map(|o| o.1 * 1e6).collect());
    println!(
        "reads bench: call+poll of get_all_projects (20 projects), {rounds} rounds of {secs} s, \
         {concurrency} connections"
    );
    println!(
        "tracking server {ours_rate:.0}/s, {ours_cpu:.1} µs CPU per cycle; raw-hyper floor \
         {base_rate:.0}/s, {base_cpu:.1} µs CPU per cycle"
    );
    println!(
        "throughput ratio {rate:.2} (rounds {rate_lo:.2}–{rate_hi:.2}, goal >= 0.8){}; CPU per \
         cycle ratio {cpu:.2} (rounds {cpu_lo:.2}–{cpu_hi:.2}, goal <= 1.3){}",
        if rate >= 0.8 { "" } else { "  MISSED" },
        if cpu <= 1.3 { "" } else { "  MISSED" },
    );
}
