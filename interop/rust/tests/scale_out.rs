//! The official Python and JS clients against three replicas of the `scale_out` example
//! (in this process, each with its own Redis connection and its own server, sharing only a
//! real `redis-server` and an upload directory), through a round-robin proxy with no
//! stickiness: each request goes to the next replica, whatever came before.

#[allow(dead_code)]
#[path = "../../../examples/scale_out/app.rs"]
mod app;

#[allow(dead_code)]
#[path = "../../../tests/common/redis_server.rs"]
mod redis_server;
mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use gradio_compat::backend::{BackendLimits, RedisBackend};
use gradio_compat::GradioCompat;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use support::{repo, run_suite, which};
use tokio::net::{TcpListener, TcpStream};

/// Starts one replica on a free port; returns its address.
async fn replica(redis: &str, uploads: &Path) -> SocketAddr {
    let backend = RedisBackend::connect(redis, "interop:", BackendLimits::default())
        .await
        .expect("the test's redis-server answers");
    let service = GradioCompat::builder(app::registry())
        .backend(Arc::new(backend))
        .upload_dir(uploads)
        .build()
        .expect("the replica builds");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(gradio_compat::server::serve(
        listener,
        service,
        std::future::pending::<()>(),
    ));
    addr
}

/// Forwards one request to `upstream`, streaming the answer back (SSE included).
async fn forward(
    upstream: SocketAddr,
    request: Request<Incoming>,
) -> Result<Response<Incoming>, String> {
    let stream = TcpStream::connect(upstream)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())
}

/// A proxy that sends each request to the next replica in turn; returns its URL.
async fn round_robin(replicas: Vec<SocketAddr>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let next = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (replicas, next) = (replicas.clone(), next.clone());
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let upstream = replicas[next.fetch_add(1, Ordering::Relaxed) % replicas.len()];
                async move {
                    match forward(upstream, request).await {
                        Ok(response) => Ok(response),
                        Err(e) => Err(format!("the proxy could not reach {upstream}: {e}")),
                    }
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    format!("http://{addr}/")
}

struct Cluster {
    url: String,
    _redis: redis_server::RedisServer,
    uploads: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.uploads);
    }
}

async fn cluster(name: &str) -> Cluster {
    let redis = redis_server::RedisServer::start();
    let uploads = std::env::temp_dir().join(format!("gc-interop-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&uploads).expect("an upload directory");
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(replica(&redis.url(), &uploads).await);
    }
    Cluster {
        url: round_robin(replicas).await,
        _redis: redis,
        uploads,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_through_a_round_robin_proxy() {
    let cluster = cluster("python").await;
    run_suite(
        &repo().join(".venv/bin/python"),
        &repo().join("interop/python/scale_out.py"),
        &[&cluster.url],
        6,
        "run scripts/test.sh, which installs interop/python/requirements.txt into .venv",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_client_through_a_round_robin_proxy() {
    let cluster = cluster("js").await;
    let node = which("node").unwrap_or_else(|| PathBuf::from("node (not on PATH)"));
    run_suite(
        &node,
        &repo().join("interop/js/scale_out.mjs"),
        &[&cluster.url],
        4,
        "install Node.js 18 or later, and run scripts/test.sh (npm ci in interop/js)",
    )
    .await;
}
