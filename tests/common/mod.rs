//! Shared test helpers: a real server on a loopback port, a small HTTP/1.1 client, and an
//! in-process request helper.

#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use gradio_compat::{GradioCompat, ResponseBody};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

pub mod fixtures;
pub mod redis_server;
#[cfg(feature = "redis")]
pub mod sentinel;
pub mod stall_proxy;

/// The path of a built example binary (`cargo test` builds the examples).
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe.parent().unwrap().parent().unwrap();
    let bin = target
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} must be built (cargo test builds examples)",
        bin.display()
    );
    bin
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Upper bound for any single wait in a test, so that a bug fails the test instead of
/// hanging CI. Not a performance assertion.
pub const WAIT: Duration = Duration::from_secs(30);

/// A server on 127.0.0.1 with a free port, shut down when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    /// Serves any tower service (a `GradioCompat`, or an axum router).
    pub async fn start<S, B>(service: S) -> Self
    where
        S: tower_service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
            + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(gradio_compat::server::serve(
            listener,
            service,
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            addr,
            stop: Some(stop),
        }
    }

    /// A client of a server started elsewhere (another process).
    pub fn remote(addr: SocketAddr) -> Self {
        Self { addr, stop: None }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// One request on a fresh connection; the whole body is read.
    pub async fn send(&self, req: Request<Full<Bytes>>) -> Reply {
        let response = self.open(req).await;
        let (parts, body) = response.into_parts();
        let body = tokio::time::timeout(WAIT, body.collect())
            .await
            .expect("body within the test bound")
            .expect("body")
            .to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// One request on a fresh connection; the body is left to the caller (for SSE).
    pub async fn open(&self, req: Request<Full<Bytes>>) -> Response<Incoming> {
        let stream = TcpStream::connect(self.addr).await.expect("connect");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut req = req;
        req.headers_mut()
            .insert(http::header::HOST, self.addr.to_string().parse().unwrap());
        tokio::time::timeout(WAIT, sender.send_request(req))
            .await
            .expect("response within the test bound")
            .expect("response")
    }

    /// `GET path` on a fresh connection, read as SSE frames.
    pub async fn sse(&self, path: &str) -> SseReader {
        let response = self
            .open(request(Method::GET, path, &[], Bytes::new()))
            .await;
        SseReader::new(response.into_body())
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(request(Method::GET, path, &[], Bytes::new()))
            .await
    }

    pub async fn post_json(&self, path: &str, body: &str) -> Reply {
        self.send(request(
            Method::POST,
            path,
            &[("content-type", "application/json")],
            Bytes::from(body.to_owned()),
        ))
        .await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A fully read response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("utf-8 body")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `event_id` of a call response.
    pub fn event_id(&self) -> String {
        assert_eq!(self.status, StatusCode::OK, "call failed: {}", self.text());
        self.json()["event_id"]
            .as_str()
            .expect("event_id")
            .to_owned()
    }
}

pub fn request(
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Request<Full<Bytes>> {
    let mut builder = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder.body(Full::new(body)).unwrap()
}

/// A `POST` of a JSON body.
pub fn post_json_request(path: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
    request(
        Method::POST,
        path,
        &[("content-type", "application/json")],
        body.into(),
    )
}

/// Calls the service in process, without a socket, and reads the whole body.
pub async fn call_in_process(svc: &GradioCompat, req: Request<Full<Bytes>>) -> Reply {
    let response: Response<ResponseBody> = svc.handle(req).await;
    let (parts, body) = response.into_parts();
    let body = tokio::time::timeout(WAIT, body.collect())
        .await
        .expect("body within the test bound")
        .unwrap()
        .to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// Reads SSE frames (`event:`/`data:` blocks) from a streaming body, one at a time.
pub struct SseReader {
    body: Incoming,
    buf: Vec<u8>,
}

/// One SSE frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub event: Option<String>,
    pub data: String,
}

impl Frame {
    /// Parses one block of `event:` and `data:` lines; any other line fails the test.
    fn parse(block: &str) -> Self {
        let mut frame = Frame {
            event: None,
            data: String::new(),
        };
        for line in block.split('\n') {
            if let Some(e) = line.strip_prefix("event: ") {
                frame.event = Some(e.to_owned());
            } else if let Some(d) = line.strip_prefix("data: ") {
                frame.data = d.to_owned();
            } else {
                panic!("unexpected SSE line {line:?}");
            }
        }
        frame
    }
}

impl SseReader {
    pub fn new(body: Incoming) -> Self {
        Self {
            body,
            buf: Vec::new(),
        }
    }

    /// The terminal frame of a `/call` stream: the first that is neither a heartbeat nor a
    /// partial result. Fails the test if the stream ends first.
    pub async fn terminal(&mut self) -> Frame {
        loop {
            let frame = self
                .next()
                .await
                .expect("a terminal frame before the stream ends");
            if !matches!(frame.event.as_deref(), Some("heartbeat" | "generating")) {
                return frame;
            }
        }
    }

    /// The next frame, or `None` at the end of the stream.
    pub async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buf.drain(..end + 2).collect();
                let text = String::from_utf8(block).expect("utf-8 frame");
                return Some(Frame::parse(text.trim_end_matches('\n')));
            }
            let next = tokio::time::timeout(WAIT, self.body.frame())
                .await
                .expect("SSE frame within the test bound");
            match next {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => panic!("stream error: {e}"),
                None => {
                    assert!(
                        self.buf.is_empty(),
                        "stream ended mid-frame: {:?}",
                        self.buf
                    );
                    return None;
                }
            }
        }
    }
}

/// Parses a whole SSE body into frames.
pub fn parse_frames(body: &str) -> Vec<Frame> {
    assert!(
        body.is_empty() || body.ends_with("\n\n"),
        "body does not end a frame: {body:?}"
    );
    body.split_terminator("\n\n").map(Frame::parse).collect()
}

/// The `fn_index` of endpoint `api`: its place in `GET /config`'s dependencies.
pub async fn fn_index(server: &TestServer, api: &str) -> usize {
    let config = server.get("/config").await.json();
    config["dependencies"]
        .as_array()
        .expect("dependencies")
        .iter()
        .position(|d| d["api_name"] == api)
        .expect("the endpoint is in /config")
}
