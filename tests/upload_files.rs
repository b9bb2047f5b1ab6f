//! `POST {p}/upload`, FileData parameters and `GET|HEAD {p}/file={path}`.

mod common;

use bytes::Bytes;
use common::fixtures::{registry, Probe};
use common::{parse_frames, request, TestServer};
use gradio_compat::GradioCompat;
use http::{Method, StatusCode};
use serde_json::json;

const BOUNDARY: &str = "gradioCompatTestBoundary";

fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Bytes {
    let mut body = Vec::new();
    for (name, filename, content) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n")
                    .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    Bytes::from(body)
}

fn upload_request(body: Bytes) -> http::Request<http_body_util::Full<Bytes>> {
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    request(
        Method::POST,
        "/gradio_api/upload",
        &[("content-type", content_type.as_str())],
        body,
    )
}

fn encode(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn upload_returns_paths_that_are_served_and_usable() {
    let server = TestServer::start(
        GradioCompat::builder(registry(Probe::new()))
            .build()
            .unwrap(),
    )
    .await;
    let body = multipart(&[
        ("files", Some("sample.txt"), b"hello gradio\n"),
        ("other", None, b"ignored"),
        ("files", Some("second copy.txt"), b"two"),
    ]);
    let r = server.send(upload_request(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let paths: Vec<String> = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(paths.len(), 2);
    assert!(paths[0].ends_with("/sample.txt"), "{paths:?}");
    assert!(paths[1].ends_with("/second copy.txt"), "{paths:?}");

    // Served back, with the percent-encoding the Python client uses.
    let file = server
        .get(&format!("/gradio_api/file={}", encode(&paths[1])))
        .await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.text(), "two");
    assert_eq!(
        file.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        file.header("content-disposition"),
        Some("inline; filename=\"second copy.txt\"")
    );
    let head = server
        .send(request(
            Method::HEAD,
            &format!("/gradio_api/file={}", paths[0]),
            &[],
            Bytes::new(),
        ))
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("content-length"), Some("13"));
    assert!(head.body.is_empty());

    // Usable as a FileData argument.
    let call = format!(
        r#"{{"data": [{{"path": {}, "orig_name": "sample.txt", "meta": {{"_type": "gradio.FileData"}}}}]}}"#,
        serde_json::to_string(&paths[0]).unwrap()
    );
    let id = server
        .post_json("/gradio_api/call/file_size", &call)
        .await
        .event_id();
    let poll = server
        .get(&format!("/gradio_api/call/file_size/{id}"))
        .await;
    assert_eq!(parse_frames(poll.text())[0].data, "[13]");
}

#[tokio::test]
async fn same_name_uploads_do_not_overwrite_each_other() {
    let server = TestServer::start(
        GradioCompat::builder(registry(Probe::new()))
            .build()
            .unwrap(),
    )
    .await;
    let first = server
        .send(upload_request(multipart(&[(
            "files",
            Some("a.txt"),
            b"first",
        )])))
        .await;
    let second = server
        .send(upload_request(multipart(&[(
            "files",
            Some("a.txt"),
            b"second",
        )])))
        .await;
    let first: Vec<String> = serde_json::from_slice(&first.body).unwrap();
    let second: Vec<String> = serde_json::from_slice(&second.body).unwrap();
    assert_ne!(first[0], second[0]);
    assert_eq!(
        server
            .get(&format!("/gradio_api/file={}", first[0]))
            .await
            .text(),
        "first"
    );
    assert_eq!(
        server
            .get(&format!("/gradio_api/file={}", second[0]))
            .await
            .text(),
        "second"
    );
}

#[tokio::test]
async fn hostile_names_are_sanitised() {
    let svc = GradioCompat::builder(registry(Probe::new()))
        .build()
        .unwrap();
    let dir = svc.upload_dir().to_path_buf();
    let server = TestServer::start(svc).await;
    for (name, expected) in [
        ("../../evil.txt", "evil.txt"),
        ("..", "file"),
        ("", "file"),
        ("a\\b\\c.txt", "c.txt"),
    ] {
        let r = server
            .send(upload_request(multipart(&[("files", Some(name), b"x")])))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text());
        let paths: Vec<String> = serde_json::from_slice(&r.body).unwrap();
        let path = std::path::Path::new(&paths[0]);
        assert!(path.starts_with(&dir), "{name}: {path:?} escapes {dir:?}");
        assert_eq!(path.file_name().unwrap(), expected, "{name}");
    }
}

#[tokio::test]
async fn files_not_created_here_are_403_and_refused_as_arguments() {
    let probe = Probe::new();
    let server = TestServer::start(
        GradioCompat::builder(registry(probe.clone()))
            .build()
            .unwrap(),
    )
    .await;
    let up = server
        .send(upload_request(multipart(&[(
            "files",
            Some("ok.txt"),
            b"ok",
        )])))
        .await;
    let paths: Vec<String> = serde_json::from_slice(&up.body).unwrap();
    let dir = std::path::Path::new(&paths[0])
        .parent()
        .unwrap()
        .display()
        .to_string();
    for path in [
        "/etc/passwd".to_owned(),
        "/tmp/does-not-exist.txt".to_owned(),
        format!("{dir}/../../../etc/passwd"),
        format!("{dir}/%2e%2e/%2e%2e/etc/passwd"),
        dir.clone(),
        format!("{}/", paths[0]),
    ] {
        let r = server.get(&format!("/gradio_api/file={path}")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert!(
            r.json()["error"]
                .as_str()
                .unwrap()
                .starts_with("File not allowed"),
            "{path}"
        );
    }
    let call = r#"{"data": [{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}]}"#;
    let r = server.post_json("/gradio_api/call/file_size", call).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = r.json()["error"].as_str().unwrap().to_owned();
    assert!(
        message.contains("\"f\"") && message.contains("not uploaded"),
        "{message}"
    );
    let r = server
        .post_json("/gradio_api/call/file_size", r#"{"data": ["/etc/passwd"]}"#)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(probe.started(), 0);
}

#[tokio::test]
async fn allowed_dirs_are_served_and_accepted() {
    let dir = std::env::temp_dir().join(format!("gc-allowed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("report.csv");
    std::fs::write(&file, "a,b\n1,2\n").unwrap();
    let server = TestServer::start(
        GradioCompat::builder(registry(Probe::new()))
            .allow_dir(&dir)
            .build()
            .unwrap(),
    )
    .await;
    let canonical = std::fs::canonicalize(&file).unwrap().display().to_string();
    let r = server.get(&format!("/gradio_api/file={canonical}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), "a,b\n1,2\n");
    let call = json!({"data": [{"path": canonical}]}).to_string();
    let id = server
        .post_json("/gradio_api/call/file_size", &call)
        .await
        .event_id();
    assert_eq!(
        parse_frames(
            server
                .get(&format!("/gradio_api/call/file_size/{id}"))
                .await
                .text()
        )[0]
        .data,
        "[8]"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn upload_errors_are_clear() {
    let svc = GradioCompat::builder(registry(Probe::new()))
        .max_file_bytes(10)
        .max_upload_bytes(1000)
        .max_upload_parts(2)
        .build()
        .unwrap();
    let server = TestServer::start(svc).await;
    // Not multipart.
    let r = server.post_json("/gradio_api/upload", "{}").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("multipart/form-data"));
    // A file over the per-file limit.
    let r = server
        .send(upload_request(multipart(&[(
            "files",
            Some("big.bin"),
            &[7u8; 11],
        )])))
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("10 bytes"));
    // A request over the whole-upload limit.
    let r = server
        .send(upload_request(multipart(
            &[("files", Some("a"), &[1u8; 5][..]); 40],
        )))
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    // Too many parts.
    let r = server
        .send(upload_request(multipart(
            &[("files", Some("a"), &b"1"[..]); 3],
        )))
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("parts"));
    // Malformed multipart.
    let r = server
        .send(upload_request(Bytes::from_static(b"--nope\r\n")))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    // GET is not allowed.
    let r = server.get("/gradio_api/upload").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("allow"), Some("POST"));
}

#[tokio::test]
async fn uploads_are_deleted_after_their_ttl() {
    let svc = GradioCompat::builder(registry(Probe::new()))
        .upload_ttl(std::time::Duration::from_millis(100))
        .max_uploaded_files(1)
        .build()
        .unwrap();
    let server = TestServer::start(svc).await;
    let r = server
        .send(upload_request(multipart(&[(
            "files",
            Some("old.txt"),
            b"x",
        )])))
        .await;
    let paths: Vec<String> = serde_json::from_slice(&r.body).unwrap();
    // The store is full until the first upload expires.
    let full = server
        .send(upload_request(multipart(&[(
            "files",
            Some("new.txt"),
            b"y",
        )])))
        .await;
    assert_eq!(
        full.status,
        StatusCode::INSUFFICIENT_STORAGE,
        "{}",
        full.text()
    );
    assert!(full.json()["error"]
        .as_str()
        .unwrap()
        .contains("1 uploaded files"));
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while std::path::Path::new(&paths[0]).exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the upload was never deleted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        server
            .get(&format!("/gradio_api/file={}", paths[0]))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let again = server
        .send(upload_request(multipart(&[(
            "files",
            Some("new.txt"),
            b"y",
        )])))
        .await;
    assert_eq!(again.status, StatusCode::OK);
}

/// Byte ranges on `file=`: one range is a 206 with its `Content-Range`, the end past the file
/// is clamped, a suffix range takes the last bytes, a range outside the file is a 416 with a
/// JSON error and `bytes */len`, several ranges or `If-Range` get the whole file; every answer
/// says `Accept-Ranges: bytes`. Over loopback, as a browser's audio element asks.
#[tokio::test]
async fn files_are_served_by_byte_range() {
    let server = TestServer::start(
        GradioCompat::builder(registry(Probe::new()))
            .build()
            .unwrap(),
    )
    .await;
    let content: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let r = server
        .send(upload_request(multipart(&[(
            "files",
            Some("clip.mp3"),
            &content,
        )])))
        .await;
    let paths: Vec<String> = serde_json::from_slice(&r.body).unwrap();
    let url = format!("/gradio_api/file={}", paths[0]);
    let get = |range: &'static str, extra: &'static [(&'static str, &'static str)]| {
        let mut headers = vec![("range", range)];
        headers.extend_from_slice(extra);
        server.send(request(Method::GET, &url, &headers, Bytes::new()))
    };

    let whole = server.get(&url).await;
    assert_eq!(whole.status, StatusCode::OK);
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    assert_eq!(whole.body.as_ref(), content.as_slice());
    assert_eq!(whole.header("content-type"), Some("audio/mpeg"));

    for (range, start, end) in [
        ("bytes=0-0", 0usize, 0usize),
        ("bytes=100-199", 100, 199),
        // Crosses the body's 64 KiB chunks.
        ("bytes=65530-131080", 65530, 131080),
        ("bytes=299990-", 299990, 299999),
        ("bytes=299990-400000", 299990, 299999),
        ("bytes=-10", 299990, 299999),
    ] {
        let r = get(range, &[]).await;
        assert_eq!(r.status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes {start}-{end}/300000").as_str()),
            "{range}"
        );
        assert_eq!(
            r.header("content-length"),
            Some((end - start + 1).to_string().as_str())
        );
        assert_eq!(r.body.as_ref(), &content[start..=end], "{range}");
        assert_eq!(r.header("accept-ranges"), Some("bytes"));
    }

    let r = get("bytes=300000-", &[]).await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.header("content-range"), Some("bytes */300000"));
    let error: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("300000 bytes"),
        "{error}"
    );

    for (range, extra) in [
        ("bytes=0-1,5-6", &[][..]),
        ("bytes=9-2", &[][..]),
        ("bytes=0-1", &[("if-range", "\"etag\"")][..]),
    ] {
        let r = get(range, extra).await;
        assert_eq!(r.status, StatusCode::OK, "{range}");
        assert_eq!(r.body.len(), content.len(), "{range}");
    }

    let head = server
        .send(request(
            Method::HEAD,
            &url,
            &[("range", "bytes=10-19")],
            Bytes::new(),
        ))
        .await;
    assert_eq!(head.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(head.header("content-length"), Some("10"));
    assert_eq!(head.header("content-range"), Some("bytes 10-19/300000"));
    assert!(head.body.is_empty());
}

/// Calls `take` with a file path; its terminal frame's data.
async fn take(server: &TestServer, path: &str) -> String {
    let body = serde_json::json!({"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}]})
        .to_string();
    let id = server
        .post_json("/gradio_api/call/take", &body)
        .await
        .event_id();
    let poll = server.get(&format!("/gradio_api/call/take/{id}")).await;
    parse_frames(poll.text())[0].data.clone()
}

/// One file argument, discarded by the handler when asked to.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct DiscardArgs {
    /// The file.
    file: gradio_compat::FileData,
}

/// `CallContext::discard_upload`: the upload is deleted at once and its room in the store
/// freed (a full store takes a new upload again); a file the service did not create is left
/// alone.
#[tokio::test]
async fn a_handler_can_discard_an_upload_it_is_done_with() {
    let registry = gradio_compat::Registry::new().typed(
        "take",
        |a: DiscardArgs, ctx: gradio_compat::CallContext| async move {
            Ok::<_, String>(ctx.discard_upload(&a.file).await)
        },
    );
    let allowed = std::env::temp_dir().join(format!("discard-allowed-{}", std::process::id()));
    std::fs::create_dir_all(&allowed).unwrap();
    let outside = allowed.join("keep.txt");
    std::fs::write(&outside, b"keep").unwrap();
    let server = TestServer::start(
        GradioCompat::builder(registry)
            .max_uploaded_files(2)
            .allow_dir(&allowed)
            .build()
            .unwrap(),
    )
    .await;
    let up =
        |name: &'static str| server.send(upload_request(multipart(&[("files", Some(name), b"x")])));
    let first: Vec<String> = serde_json::from_slice(&up("a.txt").await.body).unwrap();
    let _second: Vec<String> = serde_json::from_slice(&up("b.txt").await.body).unwrap();
    assert_eq!(up("c.txt").await.status, StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(take(&server, &first[0]).await, "[true]");
    assert!(!std::path::Path::new(&first[0]).exists());
    assert_eq!(
        server
            .get(&format!("/gradio_api/file={}", first[0]))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(up("c.txt").await.status, StatusCode::OK);
    let canonical = std::fs::canonicalize(&outside).unwrap();
    assert_eq!(take(&server, &canonical.to_string_lossy()).await, "[false]");
    assert!(outside.exists());
}
