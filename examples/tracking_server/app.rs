//! The tracking server's Gradio endpoints (names, parameters and results as Trackio 0.43's
//! server has them, so that Trackio's own client and CLI work), the write-token check, and
//! the front door (`front.rs`) and axum router that serve them beside a dashboard page. This
//! file has the step metrics' endpoints; the others are by family in `events_api.rs` (system
//! metrics, alerts), `media_api.rs`, `artifacts_api.rs`, `runs_api.rs` (logs, snapshots,
//! traces, SQL, run management) and `dashboard_api.rs` (the runs table, media and system
//! metrics as the dashboard reads them). The tracker and its SQLite store are in `tracker.rs`
//! and `store*.rs`; files on disk in `media.rs`.
//!
//! Integration tests include this file, so it has no `main`.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use gradio_compat::{
    AuthRejection, AuthTarget, BuildError, Builder, CallContext, Endpoint, FileData, GradioCompat,
    NoArgs, Registry,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

#[path = "artifacts_api.rs"]
pub mod artifacts_api;
#[path = "dashboard.rs"]
pub mod dashboard;
#[path = "dashboard_api.rs"]
pub mod dashboard_api;
#[path = "events_api.rs"]
pub mod events_api;
#[path = "follow.rs"]
pub mod follow;
#[path = "front.rs"]
pub mod front;
#[path = "media.rs"]
pub mod media;
#[path = "media_api.rs"]
pub mod media_api;
#[path = "query.rs"]
pub mod query;
#[path = "runs_api.rs"]
pub mod runs_api;
#[path = "tracker.rs"]
pub mod tracker;
#[path = "trackio_api.rs"]
pub mod trackio_api;

pub use tracker::store::metrics_json::MetricsJson;
use tracker::store::reads::Steps;
pub use tracker::store::Entry;
pub use tracker::{Artifact, Tracker, ValueQuery};

fn example_metrics() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("loss".to_owned(), Value::from(0.5));
    m
}

/// Log metrics for one step of a run.
#[derive(Deserialize, JsonSchema)]
pub struct LogArgs {
    /// The project name.
    #[schemars(example = &"demo")]
    pub project: String,
    /// The run name within the project.
    #[schemars(example = &"run-1")]
    pub run: String,
    /// Metric names and their values, e.g. {"loss": 0.5}.
    #[schemars(example = example_metrics())]
    pub metrics: MetricsJson,
    /// The step; when omitted, the run's next step (counting from 0).
    pub step: Option<i64>,
    /// A write token; when omitted, the bearer token of the request is used.
    #[allow(dead_code)] // judged by the authorize hook, before the handler runs
    pub hf_token: Option<String>,
    /// Trackio's run id; when omitted, the run name.
    #[serde(default)]
    pub run_id: Option<String>,
}

/// One entry of a bulk log, as Trackio's client sends it.
#[derive(Deserialize, JsonSchema)]
pub struct LogEntry {
    /// The project name.
    #[schemars(example = &"demo")]
    pub project: String,
    /// The run name.
    #[schemars(example = &"run-1")]
    pub run: String,
    /// Trackio's run id; when omitted, the run name.
    #[serde(default)]
    pub run_id: Option<String>,
    /// Metric names and their values.
    #[schemars(example = example_metrics())]
    pub metrics: MetricsJson,
    /// The step; when omitted, the run's next step.
    #[serde(default)]
    pub step: Option<i64>,
    /// The run's config, stored with the run.
    #[serde(default)]
    pub config: Option<Map<String, Value>>,
    /// A unique id of this entry: an entry whose id was already stored is skipped (the
    /// client retries).
    #[serde(default)]
    pub log_id: Option<String>,
    /// When it was logged (ISO 8601); when omitted, now.
    #[serde(default)]
    pub timestamp: Option<String>,
}

impl From<LogEntry> for Entry {
    fn from(e: LogEntry) -> Entry {
        Entry {
            project: e.project,
            run: e.run,
            run_id: e.run_id,
            metrics: e.metrics,
            step: e.step,
            config: e.config.map(Value::Object),
            log_id: e.log_id,
            timestamp: e.timestamp,
        }
    }
}

/// Log many entries at once, in one transaction.
#[derive(Deserialize, JsonSchema)]
pub struct BulkLogArgs {
    /// The entries, logged in order.
    pub logs: Vec<LogEntry>,
    /// A write token; when omitted, the bearer token of the request is used.
    #[allow(dead_code)] // judged by the authorize hook, before the handler runs
    pub hf_token: Option<String>,
}

/// A project.
#[derive(Deserialize, JsonSchema)]
pub struct ProjectArgs {
    /// The project name.
    #[schemars(example = &"demo")]
    pub project: String,
}

/// A run of a project, by name or by Trackio's run id.
#[derive(Deserialize, JsonSchema)]
pub struct RunArgs {
    /// The project name.
    #[schemars(example = &"demo")]
    pub project: String,
    /// The run name.
    #[serde(default)]
    #[schemars(example = &"run-1")]
    pub run: Option<String>,
    /// Trackio's run id (wins over the name).
    #[serde(default)]
    pub run_id: Option<String>,
}

fn default_buckets() -> u32 {
    2000
}

/// Read one metric of a run for drawing: every numeric value when there are at most four per
/// bucket, else per bucket of steps the first, last, lowest and highest value (M4), computed
/// from the whole series, so no spike or dip is left out at any zoom. Answers `{points:
/// [{timestamp, step, value}], count, reduced}`: `count` numeric values lie in the range and
/// `reduced` says whether some are not in `points`. Text and media values are not drawn.
#[derive(Deserialize, JsonSchema)]
pub struct EnvelopeArgs {
    /// The project name.
    #[schemars(example = &"demo")]
    pub project: String,
    /// The run name.
    #[schemars(example = &"run-1")]
    pub run: Option<String>,
    /// The metric name.
    #[schemars(example = &"loss")]
    pub metric_name: String,
    /// How many buckets (pixel columns) to draw; at most four points each.
    #[serde(default = "default_buckets")]
    #[schemars(range(min = 1, max = 100000))]
    pub buckets: u32,
    /// Only steps from this one.
    #[serde(default)]
    pub min_step: Option<i64>,
    /// Only steps up to this one.
    #[serde(default)]
    pub max_step: Option<i64>,
    /// Trackio's run id (wins over the name).
    #[serde(default)]
    pub run_id: Option<String>,
}

/// Get the logged values of one metric of a run, by step.
#[derive(Deserialize, JsonSchema)]
pub struct MetricArgs {
    /// The project name.
    #[schemars(example = &"demo")]
    pub project: String,
    /// The run name.
    #[schemars(example = &"run-1")]
    pub run: Option<String>,
    /// The metric name.
    #[schemars(example = &"loss")]
    pub metric_name: String,
    /// Only the value logged at this step.
    #[serde(default)]
    pub step: Option<i64>,
    /// With `window`: only the steps within `window` of this one.
    #[serde(default)]
    pub around_step: Option<i64>,
    /// Not supported here (Trackio reads values around a time); must be empty.
    #[serde(default)]
    pub at_time: Option<String>,
    /// The half-width of the step range around `around_step`.
    #[serde(default)]
    pub window: Option<f64>,
    /// Trackio's run id (wins over the name).
    #[serde(default)]
    pub run_id: Option<String>,
    /// At most this many values, evenly spread (the first and last are kept).
    #[serde(default)]
    pub max_points: Option<u32>,
}

/// Store a file as an artifact of a project, after uploading it with POST /gradio_api/upload.
#[derive(Deserialize, JsonSchema)]
pub struct ArtifactArgs {
    /// The project name.
    #[schemars(example = &"demo")]
    pub project: String,
    /// The uploaded file.
    pub file: FileData,
    /// A write token; when omitted, the bearer token of the request is used.
    #[allow(dead_code)] // judged by the authorize hook, before the handler runs
    pub hf_token: Option<String>,
}

fn default_max_values() -> u32 {
    100
}

fn default_timeout_s() -> f64 {
    60.0
}

/// Follow metrics live: yields each value logged after the call starts (older values are not
/// replayed; the run need not exist yet), naming its run and metric. Without a run, every run
/// of the project; without a metric name, every metric. Ends after `max_values` values, or
/// after `timeout_s` seconds without a new one; the final result is the last value, or null if
/// none came. A follower that falls far behind the writes ends with an error saying so.
#[derive(Deserialize, JsonSchema)]
pub struct FollowArgs {
    /// The project name.
    #[schemars(example = &"demo")]
    pub project: String,
    /// The run name; empty or null: every run of the project.
    #[serde(default)]
    #[schemars(example = &"run-1")]
    pub run: Option<String>,
    /// The metric name; empty or null: every metric.
    #[serde(default)]
    #[schemars(example = &"loss")]
    pub metric_name: Option<String>,
    /// Stop after this many values.
    #[serde(default = "default_max_values")]
    #[schemars(range(min = 1, max = 100000))]
    pub max_values: u32,
    /// Stop after this many seconds without a new value.
    #[serde(default = "default_timeout_s")]
    #[schemars(range(min = 0.0, max = 3600.0))]
    pub timeout_s: f64,
}

impl FollowArgs {
    fn following(self) -> follow::Following {
        let named = |s: Option<String>| s.filter(|s| !s.is_empty());
        follow::Following {
            project: self.project,
            run: named(self.run),
            metric: named(self.metric_name),
            max_values: self.max_values,
            quiet: Duration::from_secs_f64(self.timeout_s.clamp(0.0, 3600.0)),
        }
    }
}

/// Export all metrics of a run as a CSV file (step, metric, value, timestamp).
#[derive(Deserialize, JsonSchema)]
pub struct ExportArgs {
    /// The project name.
    #[schemars(example = &"demo")]
    pub project: String,
    /// The run name.
    #[schemars(example = &"run-1")]
    pub run: String,
}

/// The endpoints that write, and so need the write token when one is set.
pub const WRITE_ENDPOINTS: [&str; 12] = [
    "log",
    "bulk_log",
    "upload_artifact",
    "bulk_log_system",
    "bulk_alert",
    "bulk_upload_media",
    "check_artifact_blobs",
    "bulk_upload_artifact_blob",
    "artifact_log",
    "log_artifact_use",
    "delete_run",
    "rename_run",
];

/// The most rows `get_logs` and `get_system_logs` return (Trackio's server sends 3,000).
pub const LOG_ROWS: usize = 3000;

/// The step range `around ± window`, when `around_step` is given.
pub fn around(around_step: Option<i64>, window: Option<f64>) -> Result<Option<(i64, i64)>, String> {
    match (around_step, window) {
        (Some(center), Some(w)) if w.is_finite() && w >= 0.0 => Ok(Some((center, w as i64))),
        (Some(_), _) => Err("around_step needs a window (a number of steps >= 0)".to_owned()),
        _ => Ok(None),
    }
}

/// The tracker's registry.
pub fn registry(tracker: Arc<Tracker>) -> Registry {
    let families = tracker.clone();
    let registry = metrics_registry(tracker);
    let registry = events_api::register(registry, &families);
    let registry = media_api::register(registry, &families);
    let registry = artifacts_api::register(registry, &families);
    let registry = dashboard_api::register(registry, &families);
    runs_api::register(registry, &families)
}

/// The step metrics' endpoints (and the older `upload_artifact`).
fn metrics_registry(tracker: Arc<Tracker>) -> Registry {
    let t = move || tracker.clone();
    let (t_log, t_bulk, t_projects, t_runs, t_names) = (t(), t(), t(), t(), t());
    let (t_values, t_project, t_run, t_export, t_follow, t_artifacts) =
        (t(), t(), t(), t(), t(), t());
    Registry::new()
        .typed("log", move |a: LogArgs, _: CallContext| {
            let t = t_log.clone();
            async move {
                let entry = Entry {
                    project: a.project,
                    run: a.run,
                    run_id: a.run_id,
                    metrics: a.metrics,
                    step: a.step,
                    config: None,
                    log_id: None,
                    timestamp: None,
                };
                t.log(vec![entry]).await.map(|_| ())
            }
        })
        .endpoint(
            // Writes are serialised: one bulk import at a time; later callers wait in line
            // and see their place (`estimation`).
            Endpoint::typed("bulk_log", move |a: BulkLogArgs, ctx: CallContext| {
                let t = t_bulk.clone();
                async move {
                    let total = a.logs.len() as u64;
                    ctx.progress(0, Some(total), "entries", Some("logging"));
                    let entries = a.logs.into_iter().map(Entry::from).collect();
                    t.log(entries).await?;
                    ctx.progress(total, Some(total), "entries", Some("logging"));
                    // Trackio's server answers nothing.
                    Ok::<_, String>(())
                }
            })
            .concurrency_limit(1),
        )
        // Every call of the same (project, run, metric) reads one shared source.
        .follow("follow_metric", move |a: FollowArgs, _: CallContext| {
            t_follow.follow(a.following())
        })
        // Answered from memory (the store's catalog), never waiting for the database.
        .typed("get_all_projects", move |_: NoArgs, _: CallContext| {
            std::future::ready(Ok::<_, String>(t_projects.projects()))
        })
        .typed("get_runs_for_project", move |a: ProjectArgs, _: CallContext| {
            std::future::ready(Ok::<_, String>(t_runs.run_records(&a.project)))
        })
        .typed("get_metrics_for_run", move |a: RunArgs, _: CallContext| {
            let t = t_names.clone();
            async move { t.metrics_for_run(a.project, a.run, a.run_id).await }
        })
        .typed("get_metric_values", move |a: MetricArgs, _: CallContext| {
            let t = t_values.clone();
            async move {
                if a.at_time.as_deref().is_some_and(|s| !s.is_empty()) {
                    return Err(
                        "at_time is not supported by this server; use step, or around_step with window"
                            .to_owned(),
                    );
                }
                let around = around(a.around_step, a.window)?;
                t.metric_values(ValueQuery {
                    project: a.project,
                    run: a.run,
                    run_id: a.run_id,
                    metric: a.metric_name,
                    step: a.step,
                    around,
                    max_points: a.max_points.map(|m| m as usize),
                })
                .await
            }
        })
        .typed(
            "get_metric_envelope",
            tracker::on_store(&t(), |s, a: EnvelopeArgs| {
                let id = Tracker::resolve(s, &a.project, a.run.as_deref(), a.run_id.as_deref())?;
                let steps = Steps {
                    low: a.min_step.unwrap_or(i64::MIN),
                    high: a.max_step.unwrap_or(i64::MAX),
                };
                let e = s.envelope(&a.project, &id, &a.metric_name, steps, a.buckets.clamp(1, 100_000) as usize)?;
                Ok(serde_json::json!({"points": e.points, "count": e.count, "reduced": e.reduced}))
            }),
        )
        .typed("get_project_summary", move |a: ProjectArgs, _: CallContext| {
            let t = t_project.clone();
            async move { t.project_summary(a.project).await }
        })
        .typed("get_run_summary", move |a: RunArgs, _: CallContext| {
            let t = t_run.clone();
            async move { t.run_summary(a.project, a.run, a.run_id).await }
        })
        .typed("export_metrics", move |a: ExportArgs, ctx: CallContext| {
            let t = t_export.clone();
            async move {
                let path = ctx
                    .output_path(&format!("{}-{}.csv", a.project, a.run))
                    .map_err(|e| format!("cannot create the export file: {e}"))?;
                let csv = t.export_csv(a.project, a.run).await?;
                tokio::fs::write(&path, csv)
                    .await
                    .map_err(|e| format!("cannot write the export file: {e}"))?;
                Ok::<_, String>(FileData::from_path(path.to_string_lossy()))
            }
        })
        .typed("upload_artifact", move |a: ArtifactArgs, _: CallContext| {
            let t = t_artifacts.clone();
            async move {
                let bytes = tokio::fs::read(&a.file.path)
                    .await
                    .map_err(|e| format!("cannot read the uploaded file: {e}"))?;
                let digest = Sha256::digest(&bytes);
                let sha256 = digest.iter().map(|b| format!("{b:02x}")).collect();
                let artifact = Artifact {
                    name: a.file.display_name(),
                    size: bytes.len() as u64,
                    sha256,
                };
                t.add_artifact(a.project, artifact.clone()).await?;
                Ok::<_, String>(artifact)
            }
        })
}

/// The service builder for a registry (the tracker's, possibly extended), with the
/// write-token check when a token is given. The tracker's media folder is served on
/// `/gradio_api/file=` (with byte ranges, for audio and video).
pub fn builder(tracker: &Tracker, registry: Registry, write_token: Option<String>) -> Builder {
    // Every public endpoint is also an MCP tool, at /gradio_api/mcp.
    let builder = GradioCompat::builder(registry)
        .mcp(true)
        .allow_dir(tracker.media_dir());
    let Some(expected) = write_token else {
        return builder;
    };
    builder.authorize(move |req| {
        let writes = match req.target {
            AuthTarget::Call(name) => WRITE_ENDPOINTS.contains(&name),
            _ => true,
        };
        if !writes {
            return Ok(());
        }
        // Trackio's own header decides when it is sent, as in Trackio's server.
        let header = req
            .parts
            .headers
            .get("x-trackio-write-token")
            .map(|v| v.to_str().unwrap_or_default());
        match header.or(req.token) {
            None => Err(AuthRejection::Unauthorized(
                "this server needs a write token: send Authorization: Bearer <token>, \
                 X-Trackio-Write-Token: <token>, or pass hf_token"
                    .into(),
            )),
            Some(token) if token != expected => {
                Err(AuthRejection::Forbidden("the write token is wrong".into()))
            }
            Some(_) => Ok(()),
        }
    })
}

/// The whole service: the tracker's Gradio API, built with defaults.
pub fn service(
    tracker: Arc<Tracker>,
    write_token: Option<String>,
) -> Result<GradioCompat, BuildError> {
    builder(&tracker, registry(tracker.clone()), write_token).build()
}

/// The whole server: the Gradio API's paths straight to the Gradio service (see [`front`]),
/// and [`routes`] for everything else.
pub fn router(gradio: GradioCompat, tracker: Arc<Tracker>) -> front::Front {
    front::Front::new(gradio.clone(), routes(gradio, tracker))
}

/// Everything but the Gradio API's paths: [`dashboard_routes`] and Trackio's own HTTP API
/// (`/version`, `/api/…`, `/file`), which Trackio's client prefers when it finds it.
pub fn routes(gradio: GradioCompat, tracker: Arc<Tracker>) -> Router {
    dashboard_routes(tracker).merge(trackio_api::routes(gradio))
}

/// The dashboard at `/` (its files under `/dashboard/`, with a catch-all fallback, as a
/// single-page app has) and the artifact blobs Trackio's client downloads. Served beside the
/// Gradio service without Trackio's own API, Trackio's client talks Gradio.
pub fn dashboard_routes(tracker: Arc<Tracker>) -> Router {
    Router::new()
        .route(
            "/artifact_blob/{project}/{digest}",
            get(artifacts_api::blob).with_state(tracker),
        )
        .route("/", get(dashboard::page))
        .route("/dashboard/{file}", get(dashboard::file))
        .fallback(dashboard::page)
}
