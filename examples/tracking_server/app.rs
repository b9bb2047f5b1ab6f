//! The tracker behind `examples/tracking_server`: an in-memory experiment tracker, its
//! Gradio endpoints, and the axum router that serves them beside a dashboard page.
//!
//! Integration tests include this file, so it has no `main`.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use gradio_compat::{
    AuthRejection, AuthTarget, BuildError, Builder, CallContext, Endpoint, FileData, GradioCompat,
    NoArgs, Registry,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The most metric values the tracker keeps, over all runs.
pub const MAX_POINTS: usize = 1_000_000;

/// One logged value of one metric.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct MetricPoint {
    /// The step it was logged at.
    pub step: u64,
    /// The value.
    pub value: f64,
    /// When it was logged, in seconds since the Unix epoch.
    pub timestamp: f64,
}

#[derive(Default)]
struct Run {
    next_step: u64,
    metrics: BTreeMap<String, Vec<MetricPoint>>,
}

#[derive(Default)]
struct Project {
    runs: BTreeMap<String, Run>,
    artifacts: Vec<Artifact>,
}

/// The most artifacts the tracker records, over all projects.
pub const MAX_ARTIFACTS: usize = 10_000;

/// A value as it is logged, for followers.
#[derive(Clone, Debug)]
pub struct Logged {
    /// The project.
    pub project: String,
    /// The run.
    pub run: String,
    /// The metric.
    pub metric: String,
    /// The value.
    pub point: MetricPoint,
}

/// An in-memory tracker of projects, runs and metrics.
pub struct Tracker {
    projects: RwLock<BTreeMap<String, Project>>,
    points: std::sync::atomic::AtomicUsize,
    artifacts: std::sync::atomic::AtomicUsize,
    /// Every logged value, for `follow_metric`. Slow followers skip what they missed.
    logged: tokio::sync::broadcast::Sender<Logged>,
}

impl Default for Tracker {
    fn default() -> Self {
        Self {
            projects: RwLock::default(),
            points: Default::default(),
            artifacts: Default::default(),
            logged: tokio::sync::broadcast::channel(1024).0,
        }
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

impl Tracker {
    /// Logs `metrics` for a run at `step`, or at the run's next step when `step` is `None`.
    pub fn log(
        &self,
        project: &str,
        run: &str,
        metrics: &BTreeMap<String, f64>,
        step: Option<u64>,
    ) -> Result<(), String> {
        if project.trim().is_empty() || run.trim().is_empty() {
            return Err("project and run must be non-empty names".into());
        }
        use std::sync::atomic::Ordering;
        let added = metrics.len();
        if self.points.fetch_add(added, Ordering::AcqRel) + added > MAX_POINTS {
            self.points.fetch_sub(added, Ordering::AcqRel);
            return Err(format!(
                "the tracker is full: it keeps at most {MAX_POINTS} values"
            ));
        }
        let run_name = run.to_owned();
        let mut projects = self.projects.write().unwrap_or_else(|e| e.into_inner());
        let run = projects
            .entry(project.to_owned())
            .or_default()
            .runs
            .entry(run.to_owned())
            .or_default();
        let step = step.unwrap_or(run.next_step);
        run.next_step = run.next_step.max(step.saturating_add(1));
        let timestamp = now();
        for (name, value) in metrics {
            let point = MetricPoint {
                step,
                value: *value,
                timestamp,
            };
            run.metrics
                .entry(name.clone())
                .or_default()
                .push(point.clone());
            // No follower is fine.
            let _ = self.logged.send(Logged {
                project: project.to_owned(),
                run: run_name.clone(),
                metric: name.clone(),
                point,
            });
        }
        Ok(())
    }

    /// Values logged from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Logged> {
        self.logged.subscribe()
    }

    /// How many `follow_metric` calls are listening.
    #[allow(dead_code)] // for the tests, which wait for a follower before they log
    pub fn followers(&self) -> usize {
        self.logged.receiver_count()
    }

    /// Records an artifact of a project.
    pub fn add_artifact(&self, project: &str, artifact: Artifact) -> Result<(), String> {
        use std::sync::atomic::Ordering;
        if project.trim().is_empty() {
            return Err("project must be a non-empty name".into());
        }
        if self.artifacts.fetch_add(1, Ordering::AcqRel) >= MAX_ARTIFACTS {
            self.artifacts.fetch_sub(1, Ordering::AcqRel);
            return Err(format!(
                "the tracker is full: it keeps at most {MAX_ARTIFACTS} artifacts"
            ));
        }
        let mut projects = self.projects.write().unwrap_or_else(|e| e.into_inner());
        projects
            .entry(project.to_owned())
            .or_default()
            .artifacts
            .push(artifact);
        Ok(())
    }

    /// A run's metrics as CSV lines: `step,metric,value,timestamp`, by metric then step.
    pub fn export_csv(&self, project: &str, run: &str) -> Result<String, String> {
        let projects = self.projects.read().unwrap_or_else(|e| e.into_inner());
        let r = projects
            .get(project)
            .and_then(|p| p.runs.get(run))
            .ok_or_else(|| format!("unknown run {run:?} in project {project:?}"))?;
        let mut csv = String::from("step,metric,value,timestamp\n");
        for (name, values) in &r.metrics {
            let quoted = format!("\"{}\"", name.replace('"', "\"\""));
            for v in values {
                csv.push_str(&format!(
                    "{},{quoted},{},{}\n",
                    v.step, v.value, v.timestamp
                ));
            }
        }
        Ok(csv)
    }

    /// All project names, sorted.
    pub fn projects(&self) -> Vec<String> {
        let projects = self.projects.read().unwrap_or_else(|e| e.into_inner());
        projects.keys().cloned().collect()
    }

    /// The runs of a project, sorted; empty for an unknown project.
    pub fn runs(&self, project: &str) -> Vec<String> {
        let projects = self.projects.read().unwrap_or_else(|e| e.into_inner());
        projects
            .get(project)
            .map(|p| p.runs.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The values of one metric, optionally only those at `step`.
    pub fn values(
        &self,
        project: &str,
        run: &str,
        metric: &str,
        step: Option<u64>,
    ) -> Result<Vec<MetricPoint>, String> {
        let projects = self.projects.read().unwrap_or_else(|e| e.into_inner());
        let known = |names: Vec<&String>| {
            if names.is_empty() {
                "none".to_owned()
            } else {
                names
                    .into_iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let p = projects.get(project).ok_or_else(|| {
            format!(
                "unknown project {project:?}; known projects: {}",
                known(projects.keys().collect())
            )
        })?;
        let r = p.runs.get(run).ok_or_else(|| {
            format!(
                "unknown run {run:?} in project {project:?}; known runs: {}",
                known(p.runs.keys().collect())
            )
        })?;
        let values = r.metrics.get(metric).ok_or_else(|| {
            format!(
                "unknown metric {metric:?} in run {run:?} of project {project:?}; known metrics: {}",
                known(r.metrics.keys().collect())
            )
        })?;
        Ok(values
            .iter()
            .filter(|v| step.is_none_or(|s| v.step == s))
            .cloned()
            .collect())
    }
}

fn example_metrics() -> BTreeMap<String, f64> {
    BTreeMap::from([("loss".to_owned(), 0.5)])
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
    pub metrics: BTreeMap<String, f64>,
    /// The step; when omitted, the run's next step (counting from 0).
    pub step: Option<u64>,
    /// A write token; when omitted, the bearer token of the request is used.
    #[allow(dead_code)] // judged by the authorize hook, before the handler runs
    pub hf_token: Option<String>,
}

/// One entry of a bulk log.
#[derive(Deserialize, JsonSchema)]
pub struct LogEntry {
    /// The project name.
    #[schemars(example = &"demo")]
    pub project: String,
    /// The run name.
    #[schemars(example = &"run-1")]
    pub run: String,
    /// Metric names and their values.
    #[schemars(example = example_metrics())]
    pub metrics: BTreeMap<String, f64>,
    /// The step; when omitted, the run's next step.
    pub step: Option<u64>,
}

/// Log many entries at once. Returns how many were logged.
#[derive(Deserialize, JsonSchema)]
pub struct BulkLogArgs {
    /// The entries, logged in order.
    pub logs: Vec<LogEntry>,
    /// A write token; when omitted, the bearer token of the request is used.
    #[allow(dead_code)] // judged by the authorize hook, before the handler runs
    pub hf_token: Option<String>,
}

/// List the runs of a project (empty for an unknown project).
#[derive(Deserialize, JsonSchema)]
pub struct ProjectArgs {
    /// The project name.
    #[schemars(example = &"demo")]
    pub project: String,
}

/// Get the logged values of one metric of a run.
#[derive(Deserialize, JsonSchema)]
pub struct MetricArgs {
    /// The project name.
    #[schemars(example = &"demo")]
    pub project: String,
    /// The run name.
    #[schemars(example = &"run-1")]
    pub run: String,
    /// The metric name.
    #[schemars(example = &"loss")]
    pub metric_name: String,
    /// Only the values logged at this step.
    pub step: Option<u64>,
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

/// Follow a metric live: yields each value logged after the call starts (older values are not
/// replayed; the run need not exist yet). Ends after `max_values` values, or after `timeout_s`
/// seconds without a new one; the final result is the last value, or null if none came.
#[derive(Deserialize, JsonSchema)]
pub struct FollowArgs {
    /// The project name.
    #[schemars(example = &"demo")]
    pub project: String,
    /// The run name.
    #[schemars(example = &"run-1")]
    pub run: String,
    /// The metric name.
    #[schemars(example = &"loss")]
    pub metric_name: String,
    /// Stop after this many values.
    #[serde(default = "default_max_values")]
    #[schemars(range(min = 1, max = 100000))]
    pub max_values: u32,
    /// Stop after this many seconds without a new value.
    #[serde(default = "default_timeout_s")]
    #[schemars(range(min = 0.0, max = 3600.0))]
    pub timeout_s: f64,
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

/// What an artifact upload stored.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Artifact {
    /// The file's original name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// The SHA-256 of its content, in hex.
    pub sha256: String,
}

/// The endpoints that write, and so need the write token when one is set.
pub const WRITE_ENDPOINTS: [&str; 3] = ["log", "bulk_log", "upload_artifact"];

/// The tracker's registry.
pub fn registry(tracker: Arc<Tracker>) -> Registry {
    let t_log = tracker.clone();
    let t_bulk = tracker.clone();
    let t_projects = tracker.clone();
    let t_runs = tracker.clone();
    let t_values = tracker.clone();
    let t_export = tracker.clone();
    let t_follow = tracker.clone();
    let t_artifacts = tracker;
    Registry::new()
        .typed("log", move |a: LogArgs, _: CallContext| {
            let t = t_log.clone();
            async move { t.log(&a.project, &a.run, &a.metrics, a.step) }
        })
        .endpoint(
            // Writes are serialised: one bulk import at a time; later callers wait in line
            // and see their place (`estimation`).
            Endpoint::typed("bulk_log", move |a: BulkLogArgs, ctx: CallContext| {
                let t = t_bulk.clone();
                async move {
                    let total = a.logs.len() as u64;
                    for (i, e) in a.logs.iter().enumerate() {
                        t.log(&e.project, &e.run, &e.metrics, e.step)
                            .map_err(|m| format!("entry {i}: {m} ({i} entries were logged)"))?;
                        ctx.progress(i as u64 + 1, Some(total), "entries", Some("logging"));
                    }
                    Ok::<_, String>(a.logs.len())
                }
            })
            .concurrency_limit(1),
        )
        .typed_stream("follow_metric", move |a: FollowArgs, _: CallContext| {
            follow(t_follow.subscribe(), a)
        })
        .typed("get_all_projects", move |_: NoArgs, _: CallContext| {
            let t = t_projects.clone();
            async move { Ok::<_, String>(t.projects()) }
        })
        .typed(
            "get_runs_for_project",
            move |a: ProjectArgs, _: CallContext| {
                let t = t_runs.clone();
                async move { Ok::<_, String>(t.runs(&a.project)) }
            },
        )
        .typed("get_metric_values", move |a: MetricArgs, _: CallContext| {
            let t = t_values.clone();
            async move { t.values(&a.project, &a.run, &a.metric_name, a.step) }
        })
        .typed("export_metrics", move |a: ExportArgs, ctx: CallContext| {
            let t = t_export.clone();
            async move {
                let csv = t.export_csv(&a.project, &a.run)?;
                let path = ctx
                    .output_path(&format!("{}-{}.csv", a.project, a.run))
                    .map_err(|e| format!("cannot create the export file: {e}"))?;
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
                t.add_artifact(&a.project, artifact.clone())?;
                Ok::<_, String>(artifact)
            }
        })
}

/// The values of one metric as they are logged, per `FollowArgs`.
fn follow(
    receiver: tokio::sync::broadcast::Receiver<Logged>,
    args: FollowArgs,
) -> impl futures_util::Stream<Item = Result<MetricPoint, String>> + Send {
    use tokio::sync::broadcast::error::RecvError;
    let quiet = Duration::from_secs_f64(args.timeout_s.clamp(0.0, 3600.0));
    futures_util::stream::unfold(
        (receiver, 0u32, args),
        move |(mut rx, seen, args)| async move {
            if seen >= args.max_values {
                return None;
            }
            let deadline = tokio::time::Instant::now() + quiet;
            loop {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Err(_) | Ok(Err(RecvError::Closed)) => return None,
                    // A slow follower skips what it missed.
                    Ok(Err(RecvError::Lagged(_))) => continue,
                    Ok(Ok(v))
                        if v.project == args.project
                            && v.run == args.run
                            && v.metric == args.metric_name =>
                    {
                        return Some((Ok(v.point), (rx, seen + 1, args)));
                    }
                    Ok(Ok(_)) => continue,
                }
            }
        },
    )
}

/// The service builder for a registry (the tracker's, possibly extended), with the
/// write-token check when a token is given.
pub fn builder(registry: Registry, write_token: Option<String>) -> Builder {
    // Every public endpoint is also an MCP tool, at /gradio_api/mcp.
    let builder = GradioCompat::builder(registry).mcp(true);
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
    builder(registry(tracker), write_token).build()
}

const PAGE: &str = "<!doctype html>
<html><head><meta charset=\"utf-8\"><title>tracking server</title></head>
<body><h1>Tracking server</h1>
<p>This dashboard is a placeholder. The API is described at
<a href=\"/gradio_api/info\">/gradio_api/info</a>.</p></body></html>
";

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// The router: the dashboard at `/` with a catch-all fallback, as a single-page app has, and
/// the Gradio routes beside it, which must win over the fallback.
pub fn router(gradio: GradioCompat) -> Router {
    Router::new()
        .route("/", get(page))
        .route_service("/config", gradio.clone())
        .route_service("/gradio_api/{*rest}", gradio)
        .fallback(page)
}
