//! Several replicas (the `scale_out` example, one process each) share a real `redis-server`
//! and an upload directory: every route family works with its steps on different replicas,
//! and the faults end in errors, never hangs: a replica killed mid-job, Redis stopped mid-run
//! (and back), Redis unreachable at start.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::redis_server::RedisServer;
use common::{parse_frames, request, TestServer};
use http::{Method, StatusCode};
use serde_json::{json, Value};

/// One replica process, killed when dropped.
struct Replica {
    child: Child,
    server: TestServer,
}

impl Replica {
    fn start(redis: &str, uploads: &Path, lease_secs: u64) -> Self {
        let port = common::free_port();
        let child = Command::new(common::example_binary("scale_out"))
            .args(["--port", &port.to_string(), "--redis", redis])
            .arg("--upload-dir")
            .arg(uploads)
            .args(["--lease-secs", &lease_secs.to_string()])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the scale_out example starts");
        let deadline = Instant::now() + common::WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the replica never listened");
            std::thread::sleep(Duration::from_millis(20));
        }
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        Self {
            child,
            server: TestServer::remote(addr),
        }
    }

    /// SIGKILL: the process is gone without any cleanup.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

impl std::ops::Deref for Replica {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.server
    }
}

fn uploads_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gc-scale-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("an upload directory");
    dir
}

const BOUNDARY: &str = "scaleOutBoundary";

async fn upload(server: &TestServer, name: &str, content: &[u8]) -> String {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let reply = server
        .send(request(
            Method::POST,
            "/gradio_api/upload",
            &[("content-type", content_type.as_str())],
            Bytes::from(body),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()[0].as_str().expect("a path").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_family_works_across_replicas() {
    let redis = RedisServer::start();
    let uploads = uploads_dir("routes");
    let (a, b, c) = (
        Replica::start(&redis.url(), &uploads, 30),
        Replica::start(&redis.url(), &uploads, 30),
        Replica::start(&redis.url(), &uploads, 30),
    );

    // /call on A, poll on B; call/v2 on B, poll on C.
    let id = a
        .post_json("/gradio_api/call/add", r#"{"data": [1, 2]}"#)
        .await
        .event_id();
    assert_eq!(
        b.get(&format!("/gradio_api/call/add/{id}")).await.text(),
        "event: complete\ndata: [3.0]\n\n"
    );
    let id = b
        .post_json("/gradio_api/call/v2/add", r#"{"a": 2, "b": 5}"#)
        .await
        .event_id();
    assert_eq!(
        c.get(&format!("/gradio_api/call/add/{id}")).await.text(),
        "event: complete\ndata: [7.0]\n\n"
    );
    // Delivered once, whichever replica asks next.
    assert_eq!(
        a.get(&format!("/gradio_api/call/add/{id}")).await.status,
        StatusCode::NOT_FOUND
    );

    // A stream started on A, its partial results read on C.
    let id = a
        .post_json("/gradio_api/call/count", r#"{"data": [3, 10]}"#)
        .await
        .event_id();
    let frames = parse_frames(c.get(&format!("/gradio_api/call/count/{id}")).await.text());
    let shown: Vec<(&str, &str)> = frames
        .iter()
        .map(|f| (f.event.as_deref().unwrap_or(""), f.data.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            ("generating", "[0]"),
            ("generating", "[1]"),
            ("generating", "[2]"),
            ("complete", "[2]")
        ]
    );

    // One queue session, jobs joined on A and C, read on B.
    let (count, add) = (
        common::fn_index(&a, "count").await,
        common::fn_index(&a, "add").await,
    );
    let first = a
        .post_json(
            "/gradio_api/queue/join",
            &json!({"data": [2, 10], "fn_index": count, "session_hash": "q1"}).to_string(),
        )
        .await
        .event_id();
    let second = c
        .post_json(
            "/gradio_api/queue/join",
            &json!({"data": [4, 5], "fn_index": add, "session_hash": "q1"}).to_string(),
        )
        .await
        .event_id();
    let mut sse = b.sse("/gradio_api/queue/data?session_hash=q1").await;
    let mut completed = Vec::new();
    let mut generating = 0;
    while let Some(frame) = sse.next().await {
        let m: Value = serde_json::from_str(&frame.data).expect("JSON");
        match m["msg"].as_str() {
            Some("close_stream") => break,
            Some("process_generating") => generating += 1,
            Some("process_completed") => completed.push((
                m["event_id"].as_str().unwrap_or_default().to_owned(),
                m["output"]["data"].clone(),
            )),
            _ => {}
        }
    }
    completed.sort_by(|x, y| x.0.cmp(&y.0));
    let mut expected = vec![(first, json!([1])), (second, json!([9.0]))];
    expected.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(completed, expected);
    assert_eq!(generating, 2);

    // A cancel on B stops a job running on A; its poll on C ends at once with no result.
    let id = a
        .post_json("/gradio_api/call/sleep", r#"{"data": [600]}"#)
        .await
        .event_id();
    let cancel = b
        .post_json("/gradio_api/cancel", &json!({"event_id": id}).to_string())
        .await;
    assert_eq!(cancel.json(), json!({"success": true}));
    let mut poll = c.sse(&format!("/gradio_api/call/sleep/{id}")).await;
    let terminal = poll.terminal().await;
    assert_eq!(
        (terminal.event.as_deref(), terminal.data.as_str()),
        (Some("complete"), "[null]")
    );

    // An upload on A, used by a call on B, whose file result is served by C.
    let path = upload(&a, "notes.txt", b"shared volume").await;
    let id = b
        .post_json(
            "/gradio_api/call/echo_file",
            &json!({"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}]}).to_string(),
        )
        .await
        .event_id();
    let done = b.get(&format!("/gradio_api/call/echo_file/{id}")).await;
    let frames = parse_frames(done.text());
    let result: Value = serde_json::from_str(&frames[0].data).expect("JSON");
    let copy = result[0]["path"].as_str().expect("a path");
    assert_ne!(copy, path, "a copy");
    let url = result[0]["url"].as_str().expect("a url");
    let file_route = &url[url.find("/gradio_api/file=").expect("a file= URL")..];
    let served = c.get(file_route).await;
    assert_eq!(served.status, StatusCode::OK, "{}", served.text());
    assert_eq!(served.text(), "shared volume");
    // And the upload itself on C.
    let original = c.get(&format!("/gradio_api/file={path}")).await;
    assert_eq!(original.text(), "shared volume");
    let _ = std::fs::remove_dir_all(&uploads);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replica_s_calls_end_in_an_error_after_its_lease() {
    let redis = RedisServer::start();
    let uploads = uploads_dir("kill");
    let mut a = Replica::start(&redis.url(), &uploads, 2);
    let b = Replica::start(&redis.url(), &uploads, 2);
    let id = a
        .post_json("/gradio_api/call/sleep", r#"{"data": [600]}"#)
        .await
        .event_id();
    let mut poll = b.sse(&format!("/gradio_api/call/sleep/{id}")).await;
    a.kill();
    let killed = Instant::now();
    let terminal = poll.terminal().await;
    assert_eq!(terminal.event.as_deref(), Some("error"));
    assert!(terminal.data.contains("lease"), "{}", terminal.data);
    assert!(
        killed.elapsed() >= Duration::from_secs(1),
        "not reported before the lease could lapse"
    );
    // The killed replica's place among the unfinished calls was given back: B still works.
    let id = b
        .post_json("/gradio_api/call/add", r#"{"data": [1, 1]}"#)
        .await
        .event_id();
    assert_eq!(
        b.get(&format!("/gradio_api/call/add/{id}")).await.text(),
        "event: complete\ndata: [2.0]\n\n"
    );
    let _ = std::fs::remove_dir_all(&uploads);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_gives_503_then_the_same_replicas_recover() {
    let mut redis = RedisServer::start();
    let uploads = uploads_dir("outage");
    let a = Replica::start(&redis.url(), &uploads, 30);
    let b = Replica::start(&redis.url(), &uploads, 30);
    let id = a
        .post_json("/gradio_api/call/sleep", r#"{"data": [600]}"#)
        .await
        .event_id();
    let mut poll = b.sse(&format!("/gradio_api/call/sleep/{id}")).await;

    redis.stop();
    let stopped = Instant::now();
    let refused = b
        .post_json("/gradio_api/call/add", r#"{"data": [1, 2]}"#)
        .await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text()
    );
    assert!(
        refused.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("unavailable") && e.contains("127.0.0.1")),
        "{}",
        refused.text()
    );
    assert!(
        stopped.elapsed() < Duration::from_secs(10),
        "the refusal took {:?}",
        stopped.elapsed()
    );

    // Back, empty (as after a crash without persistence): the same processes serve again.
    redis.restart();
    let deadline = Instant::now() + common::WAIT;
    let id2 = loop {
        let r = a
            .post_json("/gradio_api/call/add", r#"{"data": [1, 2]}"#)
            .await;
        if r.status == StatusCode::OK {
            break r.event_id();
        }
        assert!(Instant::now() < deadline, "never recovered: {}", r.text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        b.get(&format!("/gradio_api/call/add/{id2}")).await.text(),
        "event: complete\ndata: [3.0]\n\n"
    );
    // The poll that was open across the outage ends with an error frame (its job's record
    // was lost with Redis's memory), not a hang.
    let terminal = poll.terminal().await;
    assert_eq!(
        terminal.event.as_deref(),
        Some("error"),
        "{}",
        terminal.data
    );
    let _ = std::fs::remove_dir_all(&uploads);
}

#[test]
fn an_unreachable_redis_at_start_stops_the_replica_with_its_url() {
    let port = common::free_port();
    let uploads = uploads_dir("unreachable");
    let output = Command::new(common::example_binary("scale_out"))
        .args(["--port", &common::free_port().to_string()])
        .args(["--redis", &format!("redis://127.0.0.1:{port}/")])
        .arg("--upload-dir")
        .arg(&uploads)
        .output()
        .expect("the example runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}")) && stderr.contains("unreachable"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&uploads);
}
