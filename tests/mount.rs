//! The service as a tower service, a hyper service, mounted in axum under any path.

mod common;

use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use common::fixtures::{registry, Probe};
use common::{request, TestServer};
use gradio_compat::GradioCompat;
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn service() -> GradioCompat {
    GradioCompat::builder(registry(Probe::new()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn works_as_a_tower_service() {
    let response = service()
        .oneshot(request(Method::GET, "/gradio_api/info", &[], Bytes::new()))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(body.starts_with(b"{\"named_endpoints\""));
}

#[tokio::test]
async fn works_as_a_hyper_service() {
    use hyper::service::Service;
    let svc = service();
    let response = svc
        .call(request(Method::GET, "/gradio_api/info", &[], Bytes::new()))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[test]
fn is_cheap_to_clone_and_thread_safe() {
    fn check<T: Clone + Send + Sync + 'static>() {}
    check::<GradioCompat>();
    let svc = service();
    let clone = svc.clone();
    assert_eq!(clone.config().prefix, svc.config().prefix);
}

/// Checks that every URL the app hands out starts with `base` (scheme, host and mount
/// path), and that they work when requested through `server` at `mount`.
async fn check_urls(server: &TestServer, mount: &str, base: &str) {
    let config = server.get(&format!("{mount}/config")).await;
    assert_eq!(config.status, StatusCode::OK, "{mount}/config");
    assert_eq!(config.json()["root"], base);

    let info = server.get(&format!("{mount}/gradio_api/info")).await.json();
    let snippets = &info["named_endpoints"]["/add"]["code_snippets"];
    let bash = snippets["bash"].as_str().unwrap();
    assert!(
        bash.contains(&format!("\"{base}/gradio_api/call/add\"")),
        "{bash}"
    );
    assert!(
        bash.contains(&format!("\"{base}/gradio_api/call/add/$EVENT_ID\"")),
        "{bash}"
    );
    let python = snippets["python"].as_str().unwrap();
    assert!(python.contains(&format!("Client(\"{base}\"")), "{python}");
    let js = snippets["javascript"].as_str().unwrap();
    assert!(js.contains(&format!("Client.connect(\"{base}\"")), "{js}");

    // A file result: its URL carries the mount path and downloads through it.
    let id = server
        .post_json(
            &format!("{mount}/gradio_api/call/make_file"),
            r#"{"data": ["mounted file"]}"#,
        )
        .await
        .event_id();
    let poll = server
        .get(&format!("{mount}/gradio_api/call/make_file/{id}"))
        .await;
    let frames = common::parse_frames(poll.text());
    let data: serde_json::Value = serde_json::from_str(&frames[0].data).unwrap();
    let url = data[0]["url"].as_str().unwrap();
    let prefix = format!("{base}/gradio_api/file=");
    assert!(url.starts_with(&prefix), "{url}");
    let path = url
        .strip_prefix(&format!("http://{}", server.addr))
        .unwrap_or_else(|| panic!("{url} is not on {}", server.addr));
    let file = server.get(path).await;
    assert_eq!(file.status, StatusCode::OK, "{path}");
    assert_eq!(file.text(), "mounted file");
}

/// The nested form: one `nest_service` line, beside the application's own routes.
#[tokio::test]
async fn nested_under_a_path_every_url_carries_it() {
    let gradio = GradioCompat::builder(registry(Probe::new()))
        .root_path("/tools/v1")
        .build()
        .unwrap();
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .nest_service("/tools/v1", gradio)
        .fallback(|| async { "fallback" });
    let server = TestServer::start(app).await;
    assert_eq!(server.get("/health").await.text(), "ok");
    assert_eq!(server.get("/anything/else").await.text(), "fallback");
    check_urls(
        &server,
        "/tools/v1",
        &format!("http://{}/tools/v1", server.addr),
    )
    .await;
    // The app itself is not at the host root.
    assert_eq!(server.get("/config").await.text(), "fallback");
}

/// The root form: one `fallback_service` call serves `/config` and the API beside the
/// application's routes. With a `root_path`, requests whose path still has it (a framework
/// or proxy that does not strip it) are answered too.
#[tokio::test]
async fn at_the_root_one_fallback_service_call() {
    let gradio = GradioCompat::builder(registry(Probe::new()))
        .build()
        .unwrap();
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .fallback_service(gradio);
    let server = TestServer::start(app).await;
    assert_eq!(server.get("/health").await.text(), "ok");
    check_urls(&server, "", &format!("http://{}", server.addr)).await;
    let unknown = server.get("/nothing/here").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.json()["error"]
        .as_str()
        .unwrap()
        .contains("GET /config"));

    let unstripped = GradioCompat::builder(registry(Probe::new()))
        .root_path("/app/")
        .build()
        .unwrap();
    assert_eq!(unstripped.config().root_path, "/app");
    assert!(unstripped.owns_path("/app/gradio_api/info"));
    assert!(unstripped.owns_path("/gradio_api/info"));
    assert!(!unstripped.owns_path("/application/gradio_api/info"));
    let server = TestServer::start(Router::new().fallback_service(unstripped)).await;
    check_urls(&server, "/app", &format!("http://{}/app", server.addr)).await;
}

/// Forwards `/proxied/...` to `backend`, setting `X-Forwarded-Host` and `X-Forwarded-Prefix`:
/// with the prefix stripped from the path, as nginx or Traefik do, or (`strip: false`) with
/// the full path.
async fn prefix_proxy(
    backend: std::net::SocketAddr,
    strip: bool,
    request: http::Request<axum::body::Body>,
) -> http::Response<axum::body::Body> {
    let (mut parts, body) = request.into_parts();
    let original = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let Some(rest) = original.strip_prefix("/proxied") else {
        return http::Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(axum::body::Body::from("not proxied"))
            .unwrap();
    };
    let rest = if rest.starts_with('/') {
        rest.to_owned()
    } else {
        format!("/{rest}")
    };
    if strip {
        parts.uri = rest.parse().unwrap();
    }
    let host = parts.headers[http::header::HOST].clone();
    parts.headers.insert("x-forwarded-host", host);
    parts
        .headers
        .insert("x-forwarded-prefix", "/proxied".parse().unwrap());
    let stream = tokio::net::TcpStream::connect(backend).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let response = sender
        .send_request(http::Request::from_parts(parts, body))
        .await
        .unwrap();
    response.map(axum::body::Body::new)
}

/// Behind a reverse proxy that strips its prefix (or not): the service learns the mount path from
/// `X-Forwarded-Prefix`, which wins over the `root_path` setting for that request.
#[tokio::test]
async fn behind_a_prefix_stripping_proxy() {
    let backend = TestServer::start(
        GradioCompat::builder(registry(Probe::new()))
            .root_path("/ignored-when-proxied")
            .build()
            .unwrap(),
    )
    .await;
    let backend_addr = backend.addr;
    let proxy = TestServer::start(
        Router::new().fallback(move |request| prefix_proxy(backend_addr, true, request)),
    )
    .await;
    check_urls(
        &proxy,
        "/proxied",
        &format!("http://{}/proxied", proxy.addr),
    )
    .await;
    // A proxy that sets the header but forwards the full path works too.
    let unstripped = TestServer::start(
        Router::new().fallback(move |request| prefix_proxy(backend_addr, false, request)),
    )
    .await;
    check_urls(
        &unstripped,
        "/proxied",
        &format!("http://{}/proxied", unstripped.addr),
    )
    .await;
    // Straight to the backend, without the header, the setting applies.
    let config = backend.get("/config").await.json();
    assert_eq!(
        config["root"],
        format!("http://{}/ignored-when-proxied", backend.addr)
    );
    // A forwarded prefix that is not a plain path is not trusted.
    let config = backend
        .send(request(
            Method::GET,
            "/config",
            &[("x-forwarded-prefix", "/a\"; rm -rf /")],
            Bytes::new(),
        ))
        .await
        .json();
    assert_eq!(
        config["root"],
        format!("http://{}/ignored-when-proxied", backend.addr)
    );
}

#[test]
fn a_root_path_that_is_not_a_plain_path_is_refused() {
    for bad in ["tools", "/a/../b", "/a b", "/a\"b"] {
        let err = GradioCompat::builder(registry(Probe::new()))
            .root_path(bad)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("root_path"), "{bad}: {err}");
    }
}

#[tokio::test]
async fn a_custom_prefix_moves_every_route() {
    let svc = GradioCompat::builder(registry(Probe::new()))
        .prefix("/api/")
        .build()
        .unwrap();
    assert_eq!(svc.config().prefix, "/api");
    assert!(svc.owns_path("/api/info"));
    assert!(!svc.owns_path("/apix/info"));
    let server = TestServer::start(svc).await;
    assert_eq!(server.get("/api/info").await.status, StatusCode::OK);
    assert_eq!(
        server.get("/gradio_api/info").await.status,
        StatusCode::NOT_FOUND
    );
}

/// The `axum_mount` example: the app under `/tools` beside `/health`, on the port in `PORT`,
/// logging one line per call.
#[tokio::test]
async fn the_axum_mount_example_serves_under_tools() {
    use tokio::io::AsyncBufReadExt;
    let port = common::free_port();
    let mut child = tokio::process::Command::new(common::example_binary("axum_mount"))
        .env("PORT", port.to_string())
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    // It prints its addresses once it listens.
    let started = tokio::time::timeout(common::WAIT, async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            if line.starts_with("health:") {
                return;
            }
        }
        panic!("the example ended before listening");
    });
    started.await.expect("the example starts");
    let server = TestServer::remote(([127, 0, 0, 1], port).into());
    assert_eq!(server.get("/health").await.text(), "ok");
    let base = format!("http://127.0.0.1:{port}/tools");
    assert_eq!(server.get("/tools/config").await.json()["root"], base);
    let id = server
        .post_json("/tools/gradio_api/call/greet", r#"{"data": ["Ada"]}"#)
        .await
        .event_id();
    let poll = server
        .get(&format!("/tools/gradio_api/call/greet/{id}"))
        .await;
    assert_eq!(poll.text(), "event: complete\ndata: [\"Hello, Ada!\"]\n\n");
    // One log line for the call, at the default level.
    let line = tokio::time::timeout(common::WAIT, async {
        while let Some(line) = stderr.next_line().await.unwrap() {
            if line.contains("call finished") {
                return line;
            }
        }
        panic!("no log line for the call");
    })
    .await
    .expect("a log line");
    assert!(
        line.contains("INFO") && line.contains("endpoint=\"greet\""),
        "{line}"
    );
    assert!(!line.contains("Ada"), "{line}");
}

/// A mount path that looks like the API prefix still leaves every route reachable: a path is
/// taken as it is first, and without the mount path only when that names no route.
#[tokio::test]
async fn a_mount_path_like_the_prefix_is_no_trap() {
    let svc = GradioCompat::builder(registry(Probe::new()))
        .root_path("/gradio_api")
        .build()
        .unwrap();
    for path in [
        "/gradio_api/info",
        "/gradio_api/gradio_api/info",
        "/gradio_api/config",
        "/config",
    ] {
        let reply =
            common::call_in_process(&svc, request(Method::GET, path, &[], Bytes::new())).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert!(svc.owns_path(path), "{path}");
    }
    assert!(!svc.owns_path("/elsewhere"));
}
