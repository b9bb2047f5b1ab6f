//! A chaos run, bounded to about a minute: three replicas of the `scale_out` example (real
//! processes) behind a round-robin balancer, sharing a Redis primary that a replica and three
//! sentinels watch, all on loopback. Steady traffic runs throughout: raw HTTP call+poll (some
//! calls polled twice at once), streaming calls read to their end, and the official Python
//! client's queue traffic. Meanwhile the run SIGKILLs a replica and starts it again, stalls one
//! replica's link to Redis for longer than the lease, and kills the Redis primary so that
//! Sentinel fails over. At the end it prints what it counted and checks the rules: no wrong
//! result, no result delivered twice, none lost unless its runner died or was cut off (the
//! replicas wait for the Redis replica before they acknowledge a call or finish it, so the
//! failover loses nothing), and no poll that waited long past its result.
//!
//! Replicas A and B find the primary through Sentinel; C reaches it through a TCP proxy (as
//! behind a virtual address), which the run stalls, and points at the new primary after the
//! failover.
#![cfg(feature = "redis")]

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::sentinel::SentinelSet;
use common::stall_proxy::StallProxy;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

/// Leases of the replicas: a replica silent for longer is taken for dead.
const LEASE_SECS: u64 = 3;
/// How long the traffic runs.
const TRAFFIC: Duration = Duration::from_secs(36);

/// One replica process.
struct Replica {
    port: u16,
    redis: String,
    uploads: PathBuf,
    child: Option<Child>,
}

impl Replica {
    fn start(redis: &str, uploads: &Path) -> Self {
        let mut replica = Self {
            port: common::free_port(),
            redis: redis.to_owned(),
            uploads: uploads.to_owned(),
            child: None,
        };
        replica.spawn();
        replica
    }

    fn spawn(&mut self) {
        let child = Command::new(common::example_binary("scale_out"))
            .args(["--port", &self.port.to_string(), "--redis", &self.redis])
            .arg("--upload-dir")
            .arg(&self.uploads)
            .args([
                "--lease-secs",
                &LEASE_SECS.to_string(),
                "--prefix",
                "chaos:",
            ])
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the scale_out example starts");
        self.child = Some(child);
        let deadline = Instant::now() + common::WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "the replica never listened");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: gone without any cleanup.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A balancer that sends each request to the next replica in turn, and to the one after when
/// a replica refuses the connection (as a balancer's retry of a connect failure does). Each
/// answer names the replica that gave it (`x-upstream`, its index).
async fn balancer(ports: Vec<u16>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let next = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (ports, next) = (ports.clone(), next.clone());
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let (ports, first) = (ports.clone(), next.fetch_add(1, Ordering::Relaxed));
                async move {
                    let (parts, body) = request.into_parts();
                    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
                    for k in 0..ports.len() {
                        let at = (first + k) % ports.len();
                        let request = Request::from_parts(parts.clone(), Full::new(body.clone()));
                        let stream = TcpStream::connect(("127.0.0.1", ports[at])).await;
                        let Ok(stream) = stream else { continue };
                        let (mut sender, connection) =
                            hyper::client::conn::http1::handshake(TokioIo::new(stream))
                                .await
                                .map_err(|e| e.to_string())?;
                        tokio::spawn(connection);
                        let mut response = sender
                            .send_request(request)
                            .await
                            .map_err(|e| e.to_string())?;
                        response
                            .headers_mut()
                            .insert("x-upstream", at.to_string().parse().expect("a header"));
                        return Ok::<_, String>(response);
                    }
                    Err("no replica accepts connections".to_owned())
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    addr
}

/// One request through the balancer; the whole answer, or why there is none.
async fn http(
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: &str,
) -> Result<(StatusCode, Option<usize>, String), String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .map_err(|e| e.to_string())?;
    let answer = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let upstream = response
            .headers()
            .get("x-upstream")
            .and_then(|v| v.to_str().ok()?.parse().ok());
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((
            status,
            upstream,
            String::from_utf8_lossy(&bytes).into_owned(),
        ))
    };
    tokio::time::timeout(common::WAIT, answer)
        .await
        .map_err(|_| "no answer within 30 s".to_owned())?
}

/// What happened to the calls, counted by the traffic.
#[derive(Default, Debug)]
struct Tally {
    /// Calls whose POST was answered with an event id.
    acknowledged: usize,
    /// Calls refused (503, or no replica), not acknowledged.
    refused: usize,
    /// Results delivered right.
    delivered: usize,
    /// Results delivered wrong (a value or a stream that is not the call's).
    wrong: Vec<String>,
    /// Calls whose result reached two polls.
    duplicates: usize,
    /// Acknowledged calls whose result never came, by reason, with when they were
    /// acknowledged and the replica that took the call.
    lost: Vec<(String, Instant, Option<usize>)>,
    /// The longest a poll waited past the moment its result could have been there.
    longest_wait_past: Duration,
}

/// The reason an error frame or answer gives, in short.
fn reason(text: &str) -> String {
    for (needle, short) in [
        ("lease ran out", "its runner's lease ran out"),
        ("lost it", "the store lost it"),
        ("stopped answering", "the store stopped answering"),
        ("delivered to another poll", "delivered to another poll"),
        ("no such event", "no such event"),
        ("never existed", "no such event"),
        ("no longer available", "no longer available"),
    ] {
        if text.contains(needle) {
            return short.to_owned();
        }
    }
    text.chars().take(120).collect()
}

/// The frames of an SSE body: (event, data).
fn frames(body: &str) -> Vec<(String, String)> {
    body.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            let (mut event, mut data) = (String::new(), String::new());
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event: ") {
                    event = e.to_owned();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = d.to_owned();
                }
            }
            (event, data)
        })
        .filter(|(event, _)| event != "heartbeat")
        .collect()
}

/// The replica whose Redis link the run stalls (C).
const STALLED: usize = 2;
/// What a lost call's reason says when one of its polls was on its way to the stalled replica
/// when the link stalled, and timed out there.
const TIMED_OUT_ON_STALLED: &str = "after a poll in flight when the link stalled timed out";
/// When the run stalled C's Redis link (read just after the stall began).
static C_STALLED_AT: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
/// What a lost call's reason says when one of its polls was cut off (its replica died).
const CUT_OFF: &str = "after a poll was cut off";

/// Polls a call until it ends, as a careful client does: a poll cut off (its replica died) or
/// answered 503 (the store is away for a moment) is tried again, for up to 15 s.
/// `Ok(frames)` or `Err(reason)`; the reason says when a poll timed out on the stalled replica.
async fn poll(addr: SocketAddr, api: &str, id: &str) -> Result<Vec<(String, String)>, String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    let (mut on_stalled, mut cut_off) = (false, false);
    let mut last;
    let why = |reason: String, on_stalled: bool, cut_off: bool| {
        let mut reason = reason;
        if on_stalled {
            reason.push_str(&format!(" ({TIMED_OUT_ON_STALLED})"));
        }
        if cut_off {
            reason.push_str(&format!(" ({CUT_OFF})"));
        }
        reason
    };
    loop {
        let sent = Instant::now();
        match http(
            addr,
            Method::GET,
            &format!("/gradio_api/call/{api}/{id}"),
            "",
        )
        .await
        {
            Ok((StatusCode::OK, _, body)) => {
                let frames = frames(&body);
                match frames.last() {
                    Some((event, _)) if event == "complete" => return Ok(frames),
                    Some((event, data)) if event == "error" => {
                        return Err(why(reason(data), on_stalled, cut_off))
                    }
                    _ => last = format!("the stream ended without an end: {body:?}"),
                }
            }
            Ok((StatusCode::SERVICE_UNAVAILABLE, upstream, body)) => {
                // Only a poll sent before the stall: a request sent after it waits in the link,
                // reaches Redis past its deadline and takes nothing.
                on_stalled |=
                    upstream == Some(STALLED) && C_STALLED_AT.get().is_none_or(|at| sent <= *at);
                last = reason(&body);
            }
            Ok((status, _, body)) => {
                return Err(why(
                    reason(&format!("{status}: {body}")),
                    on_stalled,
                    cut_off,
                ))
            }
            Err(e) => {
                cut_off = true;
                last = format!("the poll was cut off: {e}");
            }
        }
        if Instant::now() >= deadline {
            return Err(why(last, on_stalled, cut_off));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Starts a call of `api`: its id, the replica that took it and when, once acknowledged;
/// `None` (counted as refused, after a pause) when it was not.
async fn start_call(
    addr: SocketAddr,
    api: &str,
    body: &str,
    tally: &Mutex<Tally>,
) -> Option<(String, Option<usize>, Instant)> {
    let path = format!("/gradio_api/call/{api}");
    let started = match http(addr, Method::POST, &path, body).await {
        Ok((StatusCode::OK, upstream, text)) => {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            v["event_id"].as_str().map(|id| (id.to_owned(), upstream))
        }
        _ => None,
    };
    let Some((id, upstream)) = started else {
        tally.lock().unwrap().refused += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
        return None;
    };
    tally.lock().unwrap().acknowledged += 1;
    Some((id, upstream, Instant::now()))
}

/// Call+poll of `add` with inputs of its own, every seventh polled twice at once.
async fn adder(addr: SocketAddr, worker: usize, stop: Arc<AtomicBool>, tally: Arc<Mutex<Tally>>) {
    let mut n = 0usize;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let a = (worker * 1_000_000 + n) as f64;
        let body = format!(r#"{{"data": [{a}, 0.25]}}"#);
        let Some((id, upstream, acked)) = start_call(addr, "add", &body, &tally).await else {
            continue;
        };
        let want = format!("[{}]", serde_json::to_string(&(a + 0.25)).unwrap());
        let outcomes = if n % 7 == 0 {
            let (x, y) = tokio::join!(poll(addr, "add", &id), poll(addr, "add", &id));
            vec![x, y]
        } else {
            vec![poll(addr, "add", &id).await]
        };
        let waited = acked.elapsed();
        let mut t = tally.lock().unwrap();
        let got: Vec<&Vec<(String, String)>> =
            outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
        for frames in &got {
            let data = &frames.last().expect("an end").1;
            if *data != want {
                t.wrong.push(format!("add {id}: {data} instead of {want}"));
            }
        }
        match got.len() {
            0 => {
                let errors: Vec<&String> =
                    outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
                let mut why = errors
                    .iter()
                    .find(|r| **r != "delivered to another poll")
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "delivered to another poll".to_owned());
                // A call polled twice: the fault one poll met explains the other's loss too
                // (a poll cut off when A died took the result; the other found no such event).
                for marker in [TIMED_OUT_ON_STALLED, CUT_OFF] {
                    if !why.contains(marker) && errors.iter().any(|r| r.contains(marker)) {
                        why.push_str(&format!(" ({marker})"));
                    }
                }
                t.lost.push((format!("add: {why}"), acked, upstream));
            }
            1 => t.delivered += 1,
            _ => t.duplicates += 1,
        }
        t.longest_wait_past = t.longest_wait_past.max(waited);
    }
}

/// Streaming calls of `count` (5 values, 40 ms apart), read to their end.
async fn counter(addr: SocketAddr, stop: Arc<AtomicBool>, tally: Arc<Mutex<Tally>>) {
    while !stop.load(Ordering::SeqCst) {
        let body = r#"{"data": [5, 40]}"#;
        let Some((id, upstream, acked)) = start_call(addr, "count", body, &tally).await else {
            continue;
        };
        let outcome = poll(addr, "count", &id).await;
        let past = acked
            .elapsed()
            .saturating_sub(Duration::from_millis(4 * 40));
        let mut t = tally.lock().unwrap();
        match outcome {
            Ok(frames) => {
                // Partial results may be dropped when a reader is behind, never reordered or
                // invented; the end is the last value.
                let values: Vec<&str> = frames.iter().map(|(_, d)| d.as_str()).collect();
                let mut seen = -1i64;
                let ordered = values[..values.len() - 1].iter().all(|d| {
                    let v: i64 = d
                        .trim_matches(|c| c == '[' || c == ']')
                        .parse()
                        .unwrap_or(-9);
                    let ok = v > seen && v <= 4;
                    seen = v;
                    ok
                });
                if ordered && values.last() == Some(&"[4]") {
                    t.delivered += 1;
                } else {
                    t.wrong.push(format!("count {id}: {values:?}"));
                }
            }
            Err(why) => t.lost.push((format!("count: {why}"), acked, upstream)),
        }
        t.longest_wait_past = t.longest_wait_past.max(past);
    }
}

/// The official Python client's traffic, for `seconds`: its closing JSON line.
async fn python_client(url: String, seconds: u64) -> serde_json::Value {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = repo.join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test.sh, which installs gradio_client into .venv",
        python.display()
    );
    let output = tokio::process::Command::new(&python)
        .arg(repo.join("interop/python/chaos_client.py"))
        .args([url.as_str(), &seconds.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .expect("the Python client runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| {
        panic!(
            "the Python client's summary is not JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// What the store holds of unfinished jobs, sessions and runners (for a failure's message).
fn store_state(port: u16) -> String {
    let Ok(mut conn) = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
    else {
        return "(unreachable)".into();
    };
    let mut out = Vec::new();
    let unfinished: Option<String> = redis::cmd("GET").arg("chaos:u").query(&mut conn).ok();
    out.push(format!("unfinished {unfinished:?}"));
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("chaos:[rs]*")
        .query(&mut conn)
        .unwrap_or_default();
    for key in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query(&mut conn)
            .unwrap_or_default();
        let value = match kind.as_str() {
            "hash" => format!(
                "{:?}",
                redis::cmd("HGETALL")
                    .arg(&key)
                    .query::<Vec<String>>(&mut conn)
            ),
            "set" => format!(
                "{:?}",
                redis::cmd("SMEMBERS")
                    .arg(&key)
                    .query::<Vec<String>>(&mut conn)
            ),
            "string" => format!(
                "{:?} ttl {:?}",
                redis::cmd("GET").arg(&key).query::<String>(&mut conn),
                redis::cmd("PTTL").arg(&key).query::<i64>(&mut conn)
            ),
            "stream" => format!(
                "{:?} entries",
                redis::cmd("XLEN").arg(&key).query::<i64>(&mut conn)
            ),
            other => other.to_owned(),
        };
        out.push(format!("{key}: {value}"));
    }
    let jobs: Vec<String> = redis::cmd("KEYS")
        .arg("chaos:j:*")
        .query(&mut conn)
        .unwrap_or_default();
    for key in jobs {
        let fields: Vec<String> = redis::cmd("HGETALL")
            .arg(&key)
            .query(&mut conn)
            .unwrap_or_default();
        if fields.iter().any(|f| f == "r") {
            out.push(format!("{key}: {fields:?}"));
        }
    }
    out.join("; ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_survive_kills_a_stalled_link_and_a_redis_failover() {
    let mut set = SentinelSet::start("chaosprimary", 1000);
    let proxy = StallProxy::start(set.primary.port).await;
    let uploads = std::env::temp_dir().join(format!("gc-chaos-{}", std::process::id()));
    std::fs::create_dir_all(&uploads).expect("an upload directory");
    let mut a = Replica::start(&set.url(), &uploads);
    let b = Replica::start(&set.url(), &uploads);
    let c = Replica::start(&proxy.url(), &uploads);
    let addr = balancer(vec![a.port, b.port, c.port]).await;

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut workers = Vec::new();
    for w in 0..3 {
        workers.push(tokio::spawn(adder(addr, w, stop.clone(), tally.clone())));
    }
    workers.push(tokio::spawn(counter(addr, stop.clone(), tally.clone())));
    let python = tokio::spawn(python_client(format!("http://{addr}/"), TRAFFIC.as_secs()));
    let start = Instant::now();
    let at = |secs: u64| tokio::time::sleep_until((start + Duration::from_secs(secs)).into());

    at(4).await;
    a.kill();
    let a_killed = Instant::now();
    at(7).await;
    a.spawn();
    at(11).await;
    proxy.stall(true);
    let c_stalled = Instant::now();
    let _ = C_STALLED_AT.set(c_stalled);
    at(17).await;
    proxy.stall(false);
    let c_resumed = Instant::now();
    at(21).await;
    set.primary.stop();
    let primary_killed = Instant::now();
    let new_primary = set.replica.port;
    while set.primary_port() != Some(new_primary) {
        assert!(
            primary_killed.elapsed() < Duration::from_secs(30),
            "Sentinel never promoted the replica"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let promoted = Instant::now();
    proxy.retarget(new_primary);
    tokio::time::sleep_until((start + TRAFFIC).into()).await;
    stop.store(true, Ordering::SeqCst);
    // Nothing waits forever: every client is done within a minute of the traffic's end.
    let bound = Duration::from_secs(60);
    for worker in workers {
        tokio::time::timeout(bound, worker)
            .await
            .expect("a Rust client still waits a minute after the traffic ended")
            .expect("a traffic worker");
    }
    let python = match tokio::time::timeout(bound, python).await {
        Ok(done) => done.expect("the Python client"),
        Err(_) => panic!(
            "the Python client still waits a minute after the traffic ended (a call never \
             ended); Redis holds: {}",
            store_state(set.primary_port().unwrap_or(new_primary))
        ),
    };
    let t = tally.lock().unwrap();

    // Which losses the faults explain:
    // - a call whose runner was A when it was killed (its lease then ends it);
    // - a result that A was sending when it was killed: a poll takes a result from the store
    //   just before its frame goes out (so that one poll gets it), and a replica killed in
    //   between takes it along (the poll is cut off, and the next finds nothing);
    // - a call on C while its link was stalled past the lease (the others take C for dead);
    // - a result whose poll was on its way to C when the link stalled: its request reached
    //   Redis and took the result, and the reply was held until the poll had given up. (A
    //   request sent after the stall began reaches Redis past its deadline and takes nothing,
    //   so the result waits for the next poll.)
    // The failover explains none: the replicas wait for the Redis replica (`--wait-replicas
    // 1`) before a call is acknowledged or counts as finished, and do not take lapsed leases
    // for dead runners within a lease of their own outage.
    let explained = |(why, acked, upstream): &&(String, Instant, Option<usize>)| {
        let near = |t: Instant, before: Duration, until: Instant| {
            *acked + before >= t && *acked <= until + Duration::from_secs(1)
        };
        (upstream == &Some(0)
            && near(a_killed, Duration::from_secs(1), a_killed)
            && why.contains("lease"))
            || (why.contains(CUT_OFF) && near(a_killed, Duration::from_secs(1), a_killed))
            || (upstream == &Some(STALLED) && near(c_stalled, Duration::from_secs(1), c_resumed))
            || why.contains(TIMED_OUT_ON_STALLED)
    };
    let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
    for (why, _, _) in &t.lost {
        *by_reason.entry(why.as_str()).or_default() += 1;
    }
    let unexplained: Vec<_> = t.lost.iter().filter(|l| !explained(l)).collect();
    println!(
        "chaos run ({:?} of traffic): Rust clients: {} calls acknowledged, {} refused (503 or no \
         replica), {} results delivered, {} lost ({:?}; {} not explained by a fault), {} wrong, \
         {} delivered twice, longest wait past a result {:?}. Python client: {python}. \
         Failover: the primary was promoted {:?} after the kill.",
        TRAFFIC,
        t.acknowledged,
        t.refused,
        t.delivered,
        t.lost.len(),
        by_reason,
        unexplained.len(),
        t.wrong.len(),
        t.duplicates,
        t.longest_wait_past,
        promoted - primary_killed
    );
    assert!(t.wrong.is_empty(), "wrong results: {:?}", t.wrong);
    assert_eq!(t.duplicates, 0, "a result reached two polls");
    let since = |t: Instant| -> String {
        let (d, sign) = match t.checked_duration_since(start) {
            Some(d) => (d, ""),
            None => (start - t, "-"),
        };
        format!("{sign}{:.2}s", d.as_secs_f64())
    };
    let shown: Vec<String> = unexplained
        .iter()
        .map(|(why, acked, upstream)| {
            format!(
                "{why} (acknowledged at {} by replica {upstream:?})",
                since(*acked)
            )
        })
        .collect();
    assert!(
        unexplained.is_empty(),
        "results lost that no fault explains: {shown:?}; A killed at {}, C stalled {} to {}, \
         primary killed at {}, promoted at {}",
        since(a_killed),
        since(c_stalled),
        since(c_resumed),
        since(primary_killed),
        since(promoted)
    );
    assert_eq!(
        python["wrong"], 0,
        "the Python client got a wrong answer: {python}"
    );
    assert!(
        python["right"].as_u64().unwrap_or(0) > 0,
        "the Python client got no answer: {python}"
    );
    assert!(t.delivered > 100, "too little traffic went through: {t:?}");
    assert!(
        t.longest_wait_past < Duration::from_secs(20),
        "a poll waited {:?} past its result",
        t.longest_wait_past
    );
    drop(t);
    let _ = std::fs::remove_dir_all(&uploads);
}
