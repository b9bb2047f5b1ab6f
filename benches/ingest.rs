//! Ingestion benchmark: metric points per second through `bulk_log` over loopback into SQLite,
//! in batches of 1,000 points, for the tracking server example and for Trackio 0.43's own
//! server (the `trackio` package from `.venv`, installed by `scripts/test.sh`), on the same
//! workload in the same run.
//!
//! `cargo bench --bench ingest` (options: `GC_INGEST_BATCHES`, batches per round, default 40;
//! `GC_INGEST_ROUNDS`, default 4; `GC_INGEST_WRITERS`, default 4). It measures twice: from one
//! writer, as one training script logs, then from several writers at once, as several scripts
//! log to one server. Each writer has its own run and kept-alive connection and sends its
//! batches one at a time, each answered before the next is sent. Each round sends the batches
//! to one server, then to the other (the order alternates); the ratio printed is the median
//! of the per-round ratios. After each round every point of every run is read back.
//!
//! A batch is 100 entries of 10 metrics (1,000 points) for one run, with steps and `log_id`s,
//! as Trackio's client sends them.
//!
//! Then media: `GC_INGEST_IMAGES` (default 1,000) small PNG files (`GC_INGEST_IMAGE_BYTES`,
//! default 4,096 bytes each) per round, as Trackio's client sends logged images: each file
//! uploaded on its own (`POST /gradio_api/upload`, or Trackio's `POST /api/upload`), then one
//! `bulk_upload_media` call per 100 files naming where each goes. The last file of each round
//! is read back over HTTP and compared byte for byte.
//!
//! Each round the tracking server takes the points twice, into runs of their own: as a Gradio call
//! (`POST /gradio_api/call/bulk_log`, then the poll until `complete`), and through Trackio's
//! HTTP API (`POST /api/bulk_log`, the request Trackio's client sends when a server offers that
//! API). Trackio's server gets the same `POST /api/bulk_log`, which answers once the batch is
//! written. Both ratios are printed; medians of an even count of rounds are the mean of the two
//! middle ones.

#[allow(dead_code)]
#[path = "../examples/tracking_server/app.rs"]
mod app;

#[path = "support/client.rs"]
mod client;
#[path = "support/stats.rs"]
mod stats;
use client::{connect, Sender};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

const TOKEN: &str = "bench-token";
const ENTRIES: usize = 100;
const METRICS: usize = 10;

async fn send(sender: &mut Sender, method: Method, path: &str, body: Bytes) -> (StatusCode, Bytes) {
    send_typed(sender, method, path, "application/json", body).await
}

async fn send_typed(
    sender: &mut Sender,
    method: Method,
    path: &str,
    content_type: &str,
    body: Bytes,
) -> (StatusCode, Bytes) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1")
        .header("content-type", content_type)
        .header("x-trackio-write-token", TOKEN)
        .body(Full::new(body))
        .expect("request");
    sender.ready().await.expect("ready");
    let res = sender.send_request(req).await.expect("response");
    let status = res.status();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (status, body)
}

/// The entries of batch `n` of the run `run`.
fn batch(run: &str, n: usize) -> Value {
    let logs: Vec<Value> = (0..ENTRIES)
        .map(|i| {
            let step = n * ENTRIES + i;
            let metrics: serde_json::Map<String, Value> = (0..METRICS)
                .map(|m| (format!("metric_{m}"), json!(step as f64 * 0.001 + m as f64)))
                .collect();
            json!({
                "project": "ingest",
                "run": run,
                "run_id": run,
                "metrics": metrics,
                "step": step,
                "config": null,
                "log_id": format!("{run}-{step}"),
            })
        })
        .collect();
    Value::Array(logs)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// The tracking server, through Gradio's call and poll.
    Ours,
    /// The tracking server, through Trackio's HTTP API (`POST /api/bulk_log`, what Trackio's
    /// client sends when a server offers it), the same request Trackio's server gets.
    OursTrackioApi,
    Trackio,
}

/// Sends `batches` batches to a server from `writers` clients at once (each its own run and
/// connection, one batch at a time, each answered before its next is sent); returns the
/// points per second and the runs written.
async fn ingest(
    kind: Kind,
    addr: SocketAddr,
    round: usize,
    batches: usize,
    writers: usize,
) -> (f64, Vec<String>) {
    let name = match kind {
        Kind::Ours => "ours",
        Kind::OursTrackioApi => "ours-api",
        Kind::Trackio => "trackio",
    };
    let runs: Vec<String> = (0..writers)
        .map(|w| format!("{name}-{round}-{writers}w{w}"))
        .collect();
    // The bodies are built before the clock starts.
    let mut work = Vec::new();
    for run in &runs {
        let bodies: Vec<Bytes> = (0..batches / writers)
            .map(|n| {
                let logs = batch(run, n);
                let body = match kind {
                    Kind::Ours => json!({"data": [logs, null]}),
                    Kind::Trackio | Kind::OursTrackioApi => {
                        json!({"args": [], "kwargs": {"logs": logs, "hf_token": null}})
                    }
                };
                Bytes::from(body.to_string())
            })
            .collect();
        work.push((connect(addr).await, bodies));
    }
    let started = Instant::now();
    let tasks: Vec<_> = work
        .into_iter()
        .map(|(sender, bodies)| tokio::spawn(write_batches(kind, sender, bodies)))
        .collect();
    for task in tasks {
        task.await.expect("writer");
    }
    let points = (batches / writers * writers * ENTRIES * METRICS) as f64;
    (points / started.elapsed().as_secs_f64(), runs)
}

/// One writer: its batches, one at a time.
async fn write_batches(kind: Kind, mut sender: Sender, bodies: Vec<Bytes>) {
    for body in bodies {
        match kind {
            Kind::Ours => {
                let (status, reply) =
                    send(&mut sender, Method::POST, "/gradio_api/call/bulk_log", body).await;
                assert_eq!(status, StatusCode::OK, "{reply:?}");
                let id: Value = serde_json::from_slice(&reply).expect("json");
                let id = id["event_id"].as_str().expect("event id").to_owned();
                let (status, done) = send(
                    &mut sender,
                    Method::GET,
                    &format!("/gradio_api/call/bulk_log/{id}"),
                    Bytes::new(),
                )
                .await;
                assert_eq!(status, StatusCode::OK);
                let text = String::from_utf8_lossy(&done);
                assert!(text.contains("event: complete"), "{text}");
            }
            Kind::Trackio | Kind::OursTrackioApi => {
                let (status, reply) = send(&mut sender, Method::POST, "/api/bulk_log", body).await;
                assert_eq!(status, StatusCode::OK, "{reply:?}");
                let reply: Value = serde_json::from_slice(&reply).expect("json");
                assert!(reply.get("error").is_none_or(Value::is_null), "{reply}");
            }
        }
    }
}

/// Points stored for one run, read back through each server's own API (the check that the
/// work was done).
async fn stored_points(kind: Kind, addr: SocketAddr, run: &str) -> usize {
    let mut sender = connect(addr).await;
    match kind {
        Kind::Ours | Kind::OursTrackioApi => {
            let body = json!({"data": ["ingest", run, "metric_0"]}).to_string();
            let (_, reply) = send(
                &mut sender,
                Method::POST,
                "/gradio_api/call/get_metric_values",
                body.into(),
            )
            .await;
            let id: Value = serde_json::from_slice(&reply).expect("json");
            let (_, done) = send(
                &mut sender,
                Method::GET,
                &format!(
                    "/gradio_api/call/get_metric_values/{}",
                    id["event_id"].as_str().unwrap()
                ),
                Bytes::new(),
            )
            .await;
            let text = String::from_utf8_lossy(&done);
            let data = text
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap_or("[[]]");
            let v: Value = serde_json::from_str(data).unwrap_or(Value::Null);
            v[0].as_array().map_or(0, Vec::len) * METRICS
        }
        Kind::Trackio => {
            let body = json!({"args": ["ingest", run, "metric_0"], "kwargs": {}}).to_string();
            let (_, reply) = send(
                &mut sender,
                Method::POST,
                "/api/get_metric_values",
                body.into(),
            )
            .await;
            let v: Value = serde_json::from_slice(&reply).unwrap_or(Value::Null);
            v["data"].as_array().map_or(0, Vec::len) * METRICS
        }
    }
}

const BOUNDARY: &str = "ingestBenchBoundary";
/// Images per `bulk_upload_media` call.
const MEDIA_BATCH: usize = 100;

/// The bytes of image `i`: a PNG signature, then bytes that differ per image.
fn image(i: usize, size: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..size.saturating_sub(8)).map(|j| ((i * 31 + j * 7) % 251) as u8));
    bytes
}

/// Uploads one file as the clients do (one multipart request per file); its server path.
async fn upload(kind: Kind, sender: &mut Sender, name: &str, content: &[u8]) -> String {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let path = if kind == Kind::Ours {
        "/gradio_api/upload"
    } else {
        "/api/upload"
    };
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let (status, reply) = send_typed(sender, Method::POST, path, &content_type, body.into()).await;
    assert_eq!(status, StatusCode::OK, "{reply:?}");
    let v: Value = serde_json::from_slice(&reply).expect("json");
    let paths = if kind == Kind::Ours { &v } else { &v["paths"] };
    paths[0].as_str().expect("a path").to_owned()
}

/// Calls an endpoint with named arguments and waits until it is done.
async fn call_named(kind: Kind, sender: &mut Sender, api: &str, args: Value) {
    match kind {
        Kind::Ours => {
            let body = json!({ "data": args }).to_string();
            let (status, reply) = send(
                sender,
                Method::POST,
                &format!("/gradio_api/call/{api}"),
                body.into(),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{reply:?}");
            let id: Value = serde_json::from_slice(&reply).expect("json");
            let (_, done) = send(
                sender,
                Method::GET,
                &format!(
                    "/gradio_api/call/{api}/{}",
                    id["event_id"].as_str().unwrap()
                ),
                Bytes::new(),
            )
            .await;
            let text = String::from_utf8_lossy(&done);
            assert!(text.contains("event: complete"), "{text}");
        }
        Kind::Trackio | Kind::OursTrackioApi => {
            let body = json!({"args": [], "kwargs": args}).to_string();
            let (status, reply) =
                send(sender, Method::POST, &format!("/api/{api}"), body.into()).await;
            assert_eq!(status, StatusCode::OK, "{reply:?}");
            let reply: Value = serde_json::from_slice(&reply).expect("json");
            assert!(reply.get("error").is_none_or(Value::is_null), "{reply}");
        }
    }
}

/// One round of media: `images` files of `size` bytes for run `media-<round>`, uploaded and
/// placed; images per second. Returns the last image's place (run, step, name) too.
async fn media_round(
    kind: Kind,
    addr: SocketAddr,
    round: usize,
    images: usize,
    size: usize,
) -> (f64, String, usize, String) {
    let run = format!("media-{round}");
    let files: Vec<Vec<u8>> = (0..images).map(|i| image(i, size)).collect();
    let mut sender = connect(addr).await;
    let started = Instant::now();
    for (chunk_no, chunk) in files.chunks(MEDIA_BATCH).enumerate() {
        let mut uploads = Vec::with_capacity(chunk.len());
        for (k, content) in chunk.iter().enumerate() {
            let i = chunk_no * MEDIA_BATCH + k;
            let name = format!("img-{i}.png");
            let path = upload(kind, &mut sender, &name, content).await;
            uploads.push(json!({
                "project": "media",
                "run": run,
                "run_id": run,
                "step": i,
                "relative_path": null,
                "uploaded_file": {"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}},
            }));
        }
        call_named(
            kind,
            &mut sender,
            "bulk_upload_media",
            json!({"uploads": uploads, "hf_token": null}),
        )
        .await;
    }
    let rate = images as f64 / started.elapsed().as_secs_f64();
    (rate, run, images - 1, format!("img-{}.png", images - 1))
}

/// The bytes of a placed media file, read back over HTTP.
async fn media_bytes(
    kind: Kind,
    addr: SocketAddr,
    media_dir: &std::path::Path,
    run: &str,
    step: usize,
    name: &str,
) -> Bytes {
    let file = media_dir
        .join("media")
        .join(run)
        .join(step.to_string())
        .join(name);
    let path = match kind {
        Kind::Ours => format!("/gradio_api/file={}", file.display()),
        Kind::Trackio | Kind::OursTrackioApi => format!("/file?path={}", file.display()),
    };
    let mut sender = connect(addr).await;
    let (status, body) = send(&mut sender, Method::GET, &path, Bytes::new()).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body:?}");
    body
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Trackio's server (its dashboard process, which serves the API) on `port`, with its data in
/// `dir`.
fn start_trackio(port: u16, dir: &std::path::Path) -> std::process::Child {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test.sh, which installs trackio into .venv",
        python.display()
    );
    let script = format!(
        "import trackio; trackio.show(open_browser=False, block_thread=True, server_port={port}, host='127.0.0.1')"
    );
    std::process::Command::new(python)
        .args(["-c", &script])
        .env("TRACKIO_DIR", dir)
        .env("HF_HOME", dir.join("hf"))
        .env("TRACKIO_WRITE_TOKEN", TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("trackio starts")
}

async fn wait_ready(addr: SocketAddr, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(stream) = tokio::net::TcpStream::connect(addr).await {
            drop(stream);
            let mut sender = connect(addr).await;
            let (status, _) = send(&mut sender, Method::GET, path, Bytes::new()).await;
            if status.is_success() {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the server on {addr} did not start within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn main() {
    let batches: usize = std::env::var("GC_INGEST_BATCHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let rounds: usize = std::env::var("GC_INGEST_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4)
        .max(1);
    let writers: usize = std::env::var("GC_INGEST_WRITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4)
        .clamp(1, batches.max(1));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let base = std::env::temp_dir().join(format!("ingest-bench-{}", std::process::id()));
        // Ours, in process (its own threads), with a write token like Trackio's.
        let tracker = Arc::new(app::Tracker::open(&base.join("ours")).expect("tracker"));
        // Where each side keeps the media of project "media": `<media dir>/media/<run>/…`.
        let our_media = std::path::absolute(tracker.media_dir()).expect("absolute");
        let their_media = std::path::absolute(base.join("trackio/media")).expect("absolute");
        let service = app::builder(&tracker, app::registry(tracker.clone()), Some(TOKEN.to_owned()))
            .build()
            .expect("service");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let ours = listener.local_addr().expect("addr");
        tokio::spawn(gradio_compat::server::serve(
            listener,
            app::router(service, tracker),
            std::future::pending::<()>(),
        ));
        let port = free_port();
        let trackio: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut child = start_trackio(port, &base.join("trackio"));
        wait_ready(trackio, "/version").await;
        wait_ready(ours, "/gradio_api/info").await;
        println!(
            "ingest bench: {rounds} rounds of {batches} batches of {} points ({ENTRIES} entries x {METRICS} metrics) from 1 writer, then from {writers} writers at once",
            ENTRIES * METRICS
        );
        for writers in [1, writers] {
            // Per round: ours through Gradio's call and poll, ours through Trackio's API, and
            // Trackio's server (the order reverses every other round).
            let mut rates: [Vec<f64>; 3] = Default::default();
            let mut ratios: [Vec<f64>; 2] = Default::default();
            for round in 0..rounds {
                let round = round + 100 * writers;
                let mut order = [Kind::Ours, Kind::OursTrackioApi, Kind::Trackio];
                if round % 2 == 1 {
                    order.reverse();
                }
                let mut got = [0.0; 3];
                for kind in order {
                    let addr = if kind == Kind::Trackio { trackio } else { ours };
                    let (rate, runs) = ingest(kind, addr, round, batches, writers).await;
                    // The check that the work was done: every point of every run reads back.
                    let expected = batches / writers * ENTRIES * METRICS;
                    let reader = if kind == Kind::Trackio { Kind::Trackio } else { Kind::Ours };
                    for run in &runs {
                        assert_eq!(stored_points(reader, addr, run).await, expected, "{run}");
                    }
                    got[kind as usize] = rate;
                }
                let [call, api, theirs] = got;
                println!(
                    "{writers} writer(s), round {}: tracking server {call:.0} points/s by call and poll, {api:.0} by Trackio's API; Trackio {theirs:.0} points/s; ratios {:.1}, {:.1}",
                    round % 100,
                    call / theirs,
                    api / theirs
                );
                for (all, rate) in rates.iter_mut().zip(got) {
                    all.push(rate);
                }
                ratios[0].push(call / theirs);
                ratios[1].push(api / theirs);
            }
            let [call, api, theirs] = rates.map(|v| stats::median(&v));
            let [by_call, by_api] = ratios.map(|v| stats::median(&v));
            println!(
                "ingest, {writers} writer(s): tracking server median {call:.0} points/s by Gradio call and poll (median ratio {by_call:.1}), {api:.0} points/s by Trackio's API /api/bulk_log (median ratio {by_api:.1}); Trackio 0.43 median {theirs:.0} points/s (goal >= 10)"
            );
        }
        let images: usize = std::env::var("GC_INGEST_IMAGES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000)
            .max(1);
        let size: usize = std::env::var("GC_INGEST_IMAGE_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(4096)
            .max(8);
        println!("media bench: {rounds} rounds of {images} images of {size} bytes, uploaded one by one, placed by bulk_upload_media in calls of {MEDIA_BATCH}");
        let (mut ratios, mut our_rates, mut their_rates) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let order = if round % 2 == 0 { [Kind::Ours, Kind::Trackio] } else { [Kind::Trackio, Kind::Ours] };
            let mut rates = [0.0; 2];
            for kind in order {
                let (addr, dir) = if kind == Kind::Ours { (ours, &our_media) } else { (trackio, &their_media) };
                let (rate, run, step, name) = media_round(kind, addr, round, images, size).await;
                // The check that the work was done: the last image reads back unchanged.
                let got = media_bytes(kind, addr, dir, &run, step, &name).await;
                assert!(got == image(step, size), "{kind:?}: {name} came back changed");
                rates[usize::from(kind == Kind::Trackio)] = rate;
            }
            println!(
                "media, round {round}: tracking server {:.0} images/s, Trackio {:.0} images/s, ratio {:.1}",
                rates[0],
                rates[1],
                rates[0] / rates[1]
            );
            ratios.push(rates[0] / rates[1]);
            our_rates.push(rates[0]);
            their_rates.push(rates[1]);
        }
        println!(
            "media: tracking server median {:.0} images/s, Trackio 0.43 median {:.0} images/s, median ratio {:.1}",
            stats::median(&our_rates),
            stats::median(&their_rates),
            stats::median(&ratios)
        );
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&base);
    });
}
