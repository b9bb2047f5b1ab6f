//! `GET {p}/openapi.json` of the tracking server, validated by `openapi-spec-validator`
//! (pinned in `interop/python/requirements.txt`, installed by `scripts/test.sh`), and its
//! operations checked against the registry.

#[allow(dead_code)]
#[path = "../../../examples/tracking_server/app.rs"]
mod app;
mod support;

use std::sync::Arc;

use support::repo;
use tokio::net::TcpListener;

/// The tracking server (with a write token) on loopback: the URL of its document.
async fn serve_tracking_server() -> String {
    let tracker = Arc::new(app::Tracker::temporary());
    let service = app::builder(
        &tracker,
        app::registry(tracker.clone()),
        Some("secret".to_owned()),
    )
    .build()
    .expect("builds");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!(
        "http://{}/gradio_api/openapi.json",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(gradio_compat::server::serve(
        listener,
        app::router(service, tracker),
        std::future::pending::<()>(),
    ));
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tracking_server_document_is_valid_openapi() {
    let url = serve_tracking_server().await;
    let python = repo().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test.sh, which installs interop/python/requirements.txt",
        python.display()
    );
    let check = r#"
import json, sys, urllib.request
from openapi_spec_validator import validate
doc = json.load(urllib.request.urlopen(sys.argv[1]))
validate(doc)
ops = sorted((m.upper() + " " + p) for p, item in doc["paths"].items() for m in item)
print(doc["openapi"])
print("\n".join(ops))
"#;
    let output = tokio::process::Command::new(&python)
        .args(["-c", check, &url])
        .output()
        .await
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the document is not valid OpenAPI:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "3.1.0");
    for op in [
        "POST /gradio_api/upload",
        "POST /gradio_api/call/v2/log",
        "GET /gradio_api/call/log/{event_id}",
        "POST /gradio_api/call/v2/get_metric_values",
        "GET /gradio_api/call/follow_metric/{event_id}",
    ] {
        assert!(lines.contains(&op), "{op} is missing from {lines:?}");
    }
}

/// schemathesis (pinned in `interop/python/requirements.txt`) runs its default checks against
/// the tracking server's document, with a fixed seed: no server error and no response that
/// contradicts the document. `interop/python/schemathesis.toml` lists the one rejection the
/// schema cannot express (file parameters take only paths the server created).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_fault_in_the_tracking_server() {
    let url = serve_tracking_server().await;
    let program = repo().join(".venv/bin/schemathesis");
    assert!(
        program.exists(),
        "{} is missing: run scripts/test.sh, which installs interop/python/requirements.txt",
        program.display()
    );
    let config = repo().join("interop/python/schemathesis.toml");
    let output = tokio::process::Command::new(&program)
        .arg("--config-file")
        .arg(&config)
        .args([
            "--no-color",
            "run",
            &url,
            "--max-examples",
            "25",
            "--seed",
            "20261202",
            "--workers",
            "1",
        ])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .await
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found faults:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Every operation of the document was tested: "Selected: N/N" and "Tested: N".
    let count = |label: &str| {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|rest| rest.split('/').next())
            .and_then(|n| n.trim().parse::<usize>().ok())
    };
    let selected = count("Selected:").expect("a Selected line");
    assert!(selected >= 17, "{stdout}");
    assert_eq!(
        count("Tested:"),
        Some(selected),
        "not every operation was tested:\n{stdout}"
    );
}
