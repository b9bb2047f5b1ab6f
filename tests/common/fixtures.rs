//! A registry of test endpoints shared by the integration tests.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::StreamExt;
use gradio_compat::{CallContext, Endpoint, FileData, NoArgs, Registry, Visibility};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

/// Add two numbers.
#[derive(Deserialize, JsonSchema)]
pub struct AddArgs {
    /// The first number.
    pub a: f64,
    /// The second number.
    pub b: f64,
}

/// Fails with the given message.
#[derive(Deserialize, JsonSchema)]
pub struct FailArgs {
    /// The message.
    pub message: String,
}

/// A mode.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Fast.
    Fast,
    /// Slow.
    Slow,
}

/// Exercises the descriptor mapping.
#[derive(Deserialize, JsonSchema)]
pub struct ShapesArgs {
    /// A count.
    pub count: i64,
    /// An optional step.
    pub step: Option<u64>,
    /// Any JSON.
    pub anything: serde_json::Value,
    /// A mode.
    pub mode: Mode,
    /// Tags.
    pub tags: Vec<String>,
    /// Metrics.
    pub metrics: BTreeMap<String, f64>,
}

/// Echo what the handler sees of the token.
#[derive(Deserialize, JsonSchema)]
pub struct TokenArgs {
    /// A value.
    pub x: i64,
    /// The token.
    pub hf_token: Option<String>,
}

/// What the token endpoint saw.
#[derive(Serialize, JsonSchema)]
pub struct TokenSeen {
    /// The `hf_token` argument after injection.
    pub arg: Option<String>,
    /// The context's effective token.
    pub token: Option<String>,
    /// The context's bearer token.
    pub bearer: Option<String>,
}

/// Reports the size of a file.
#[derive(Deserialize, JsonSchema)]
pub struct FileArgs {
    /// The file.
    pub f: FileData,
}

/// Yields `prefix + "0"`, `prefix + "01"`, … (`n` items), reporting progress and an info
/// message; fails at item `fail_at` when given.
#[derive(Deserialize, JsonSchema)]
pub struct CountArgs {
    /// The prefix.
    pub prefix: String,
    /// How many items.
    pub n: u32,
    /// Fail instead of yielding this item.
    pub fail_at: Option<u32>,
}

/// Counts its own drop in `Probe::streams_dropped`.
struct CountsDrop(Arc<Probe>);

impl Drop for CountsDrop {
    fn drop(&mut self) {
        self.0.streams_dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// Counters and gates the fixture endpoints share with a test.
pub struct Probe {
    /// How many times any handler started.
    pub started: AtomicUsize,
    /// How many handlers saw their call cancelled.
    pub cancelled: AtomicUsize,
    /// How many items the streaming fixtures produced.
    pub produced: AtomicUsize,
    /// How many `ticker` streams were dropped (and so can produce no more).
    pub streams_dropped: AtomicUsize,
    /// `wait` blocks until a permit is added here.
    pub gate: Arc<Semaphore>,
}

impl Probe {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            started: AtomicUsize::new(0),
            cancelled: AtomicUsize::new(0),
            produced: AtomicUsize::new(0),
            streams_dropped: AtomicUsize::new(0),
            gate: Arc::new(Semaphore::new(0)),
        })
    }

    pub fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    /// How many `ticker` streams were dropped.
    pub fn streams_dropped(&self) -> usize {
        self.streams_dropped.load(Ordering::SeqCst)
    }

    /// Lets one waiting `wait` call finish.
    pub fn release(&self) {
        self.gate.add_permits(1);
    }
}

/// The fixture registry: add, fail, boom (panics), wait (blocks on the probe's gate, or
/// until cancelled), shapes, token, file_size, nothing, make_file (returns a file), hidden
/// (private) and undoc (undocumented).
pub fn registry(probe: Arc<Probe>) -> Registry {
    let p1 = probe.clone();
    let p2 = probe.clone();
    let p3 = probe.clone();
    let p4 = probe.clone();
    let p1b = probe;
    Registry::new()
        .typed("add", move |a: AddArgs, _: CallContext| {
            p1.started.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, String>(a.a + a.b) }
        })
        .typed("fail", |a: FailArgs, _: CallContext| async move {
            Err::<(), _>(a.message)
        })
        .typed("boom", |_: NoArgs, _: CallContext| async move {
            if true {
                panic!("deliberate panic in a handler");
            }
            Ok::<(), String>(())
        })
        .typed("wait", move |_: NoArgs, ctx: CallContext| {
            p2.started.fetch_add(1, Ordering::SeqCst);
            let probe = p2.clone();
            async move {
                tokio::select! {
                    permit = probe.gate.acquire() => {
                        permit.map_err(|e| e.to_string())?.forget();
                        Ok::<_, String>("released".to_owned())
                    }
                    () = ctx.cancelled() => {
                        probe.cancelled.fetch_add(1, Ordering::SeqCst);
                        Err("stopped after a cancel".to_owned())
                    }
                }
            }
        })
        .typed("shapes", move |a: ShapesArgs, _: CallContext| {
            p3.started.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok::<_, String>(serde_json::json!({
                    "count": a.count, "step": a.step, "anything": a.anything,
                    "mode": a.mode, "tags": a.tags, "metrics": a.metrics,
                }))
            }
        })
        .typed("token", move |a: TokenArgs, ctx: CallContext| {
            p4.started.fetch_add(1, Ordering::SeqCst);
            async move {
                let _ = a.x;
                Ok::<_, String>(TokenSeen {
                    arg: a.hf_token,
                    token: ctx.token().map(str::to_owned),
                    bearer: ctx.bearer_token().map(str::to_owned),
                })
            }
        })
        .typed("file_size", |a: FileArgs, _: CallContext| async move {
            let meta = tokio::fs::metadata(&a.f.path)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(meta.len())
        })
        .typed("nothing", |_: NoArgs, _: CallContext| async move {
            Ok::<(), String>(())
        })
        .typed_stream("count", {
            let probe = p1b.clone();
            move |a: CountArgs, ctx: CallContext| {
                let probe = probe.clone();
                ctx.info("counting");
                futures_util::stream::iter(0..a.n).map(move |i| {
                    probe.produced.fetch_add(1, Ordering::SeqCst);
                    ctx.progress(
                        u64::from(i) + 1,
                        Some(u64::from(a.n)),
                        "items",
                        Some("counting"),
                    );
                    if a.fail_at == Some(i) {
                        return Err(format!("failed at item {i}"));
                    }
                    let digits: String =
                        (0..=i).map(|d| char::from(b'0' + (d % 10) as u8)).collect();
                    Ok(format!("{}{digits}", a.prefix))
                })
            }
        })
        .typed_stream("ticker", {
            let probe = p1b.clone();
            move |_: NoArgs, _: CallContext| {
                let probe = probe.clone();
                // The guard lives in the stream's state: dropping the stream counts.
                let guard = CountsDrop(probe.clone());
                futures_util::stream::unfold((0u64, guard), move |(n, guard)| {
                    let probe = probe.clone();
                    async move {
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        probe.produced.fetch_add(1, Ordering::SeqCst);
                        Some((Ok::<_, String>(n), (n + 1, guard)))
                    }
                })
            }
        })
        .endpoint(
            Endpoint::typed("serial", {
                let probe = p1b.clone();
                move |_: NoArgs, _: CallContext| {
                    let probe = probe.clone();
                    async move {
                        probe.started.fetch_add(1, Ordering::SeqCst);
                        probe
                            .gate
                            .acquire()
                            .await
                            .map_err(|e| e.to_string())?
                            .forget();
                        Ok::<_, String>("done".to_owned())
                    }
                }
            })
            .concurrency_limit(1)
            .max_waiting(2),
        )
        .typed("make_file", |a: FailArgs, ctx: CallContext| async move {
            let path = ctx.output_path("report.txt").map_err(|e| e.to_string())?;
            tokio::fs::write(&path, a.message)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(FileData::from_path(path.to_string_lossy()))
        })
        .endpoint(
            Endpoint::typed("hidden", |_: NoArgs, _: CallContext| async move {
                Ok::<_, String>(1)
            })
            .visibility(Visibility::Private),
        )
        .endpoint(
            Endpoint::typed("undoc", |_: NoArgs, _: CallContext| async move {
                Ok::<_, String>(2)
            })
            .visibility(Visibility::Undocumented),
        )
}
