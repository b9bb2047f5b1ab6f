//! The tracking server's dashboard in a real headless Chromium (Debian's `chromium`, which
//! `scripts/test.sh` installs, driven by Playwright for Python, pinned in
//! `interop/python/requirements.txt`): `interop/python/dashboard_suite.py` opens the page,
//! picks a project, checks the charts and their lines, logs more points and watches the lines
//! grow without a reload, follows deep links, and opens a project of 1,000 runs with a
//! 100,000-point line. The server has a write token; the page reads without one.
//!
//! A screenshot of each view is saved to `target/test-artifacts/dashboard*.png`; with
//! `GC_UPDATE_SCREENSHOT=1` they also replace `docs/dashboard*.png`, the README's pictures.

#[allow(dead_code)]
#[path = "../../../examples/tracking_server/app.rs"]
mod app;
mod support;

use std::sync::Arc;

use support::{repo, run_suite, serve_until_dropped};
use tokio::net::TcpListener;

/// The screenshots the suite saves, one per view (charts, runs table, media, system metrics,
/// alerts, dark mode, a phone's width).
const VIEWS: [&str; 7] = [
    "dashboard",
    "dashboard-runs",
    "dashboard-media",
    "dashboard-system",
    "dashboard-alerts",
    "dashboard-dark",
    "dashboard-phone",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_headless_chromium() {
    let tracker = Arc::new(app::Tracker::temporary());
    let service = app::builder(
        &tracker,
        app::registry(tracker.clone()),
        Some("dashboard-secret".to_owned()),
    )
    .build()
    .expect("builds");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let _stop = serve_until_dropped(listener, app::router(service, tracker));
    let artifacts = repo().join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).expect("an artifacts folder");
    let screenshot = artifacts.join("dashboard.png");
    for view in VIEWS {
        let _ = std::fs::remove_file(artifacts.join(format!("{view}.png")));
    }
    run_suite(
        &repo().join(".venv/bin/python"),
        &repo().join("interop/python/dashboard_suite.py"),
        &[&url, "dashboard-secret", &screenshot.to_string_lossy()],
        22,
        "run scripts/test.sh, which installs interop/python/requirements.txt into .venv \
         and Debian's chromium",
    )
    .await;
    for view in VIEWS {
        let name = format!("{view}.png");
        let png = std::fs::read(artifacts.join(&name))
            .unwrap_or_else(|e| panic!("the suite saved no screenshot {name}: {e}"));
        assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
        if std::env::var_os("GC_UPDATE_SCREENSHOT").is_some() {
            std::fs::create_dir_all(repo().join("docs")).expect("docs/");
            std::fs::write(repo().join("docs").join(&name), &png).expect("docs/ takes it");
        }
    }
}
