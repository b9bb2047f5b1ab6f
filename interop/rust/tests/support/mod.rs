//! What the interop tests share: where the repository is, finding a program, and running a
//! client suite to its closing "N passed, M failed" line.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

/// Runs `program script args…` to its end and checks its closing line.
pub async fn run_suite(
    program: &Path,
    script: &Path,
    args: &[&str],
    expected: usize,
    install_hint: &str,
) {
    assert!(
        program.exists(),
        "{} is missing: {install_hint}",
        program.display()
    );
    let child = tokio::process::Command::new(program)
        .arg(script)
        .args(args)
        .current_dir(script.parent().expect("a folder"))
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let output = tokio::time::timeout(Duration::from_secs(300), child.wait_with_output())
        .await
        .expect("the suite finishes within 5 minutes")
        .expect("the suite runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        output.status.success() && last == format!("{expected} passed, 0 failed"),
        "{} {}: {last}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        program.display(),
        script.display()
    );
}

/// Adds `slow` to a registry: it runs for a minute unless cancelled, and counts in
/// `cancelled` the calls whose cancellation it saw (the client tests cancel it).
pub fn with_slow(
    registry: gradio_compat::Registry,
    cancelled: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> gradio_compat::Registry {
    registry.typed(
        "slow",
        move |_: gradio_compat::NoArgs, ctx: gradio_compat::CallContext| {
            let seen = cancelled.clone();
            async move {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(60)) => Ok::<_, String>("finished".to_owned()),
                    () = ctx.cancelled() => {
                        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        Err("cancelled".to_owned())
                    }
                }
            }
        },
    )
}

/// A server on a bound loopback listener, serving until the returned sender is dropped.
pub fn serve_until_dropped<S, B>(
    listener: tokio::net::TcpListener,
    router: S,
) -> tokio::sync::oneshot::Sender<()>
where
    S: tower::Service<
            http::Request<hyper::body::Incoming>,
            Response = http::Response<B>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(gradio_compat::server::serve(listener, router, async move {
        let _ = stopped.await;
    }));
    stop
}
