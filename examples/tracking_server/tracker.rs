//! The tracker: its SQLite store (`store.rs`) behind async methods that run the database work
//! on tokio's blocking pool, and the feed of logged values that `follow_metric` reads. Reads
//! and writes take shapes from Trackio 0.43's server.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use gradio_compat::CallContext;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[path = "store.rs"]
pub mod store;

use store::reads::Steps;
pub use store::{Entry, Store};

/// One logged value of one metric, as Trackio's `get_metric_values` returns it.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct MetricPoint {
    /// When it was logged (ISO 8601, UTC).
    pub timestamp: String,
    /// The step it was logged at.
    pub step: i64,
    /// The value.
    pub value: Value,
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

/// Which values of a metric to read.
pub struct ValueQuery {
    pub project: String,
    pub run: Option<String>,
    pub run_id: Option<String>,
    pub metric: String,
    pub step: Option<i64>,
    pub around: Option<(i64, i64)>,
    pub max_points: Option<usize>,
}

/// The tracker of one data directory.
pub struct Tracker {
    store: Arc<Mutex<Store>>,
    /// The store's projects, runs and metric names, read without taking the store.
    catalog: Arc<store::catalog::Catalog>,
    dir: PathBuf,
    /// The live sources `follow_metric` reads, fed by each write.
    live: super::follow::LiveSources,
}

fn known(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

impl Tracker {
    /// The tracker of `dir` (created when missing). Fails naming the path when it cannot be
    /// written or holds a damaged database.
    pub fn open(dir: &Path) -> Result<Tracker, String> {
        let store = Store::open(dir)?;
        for folder in [super::media::MEDIA_DIR, super::media::BLOB_DIR] {
            let path = dir.join(folder);
            std::fs::create_dir_all(&path)
                .map_err(|e| format!("the folder {} cannot be created: {e}", path.display()))?;
        }
        Ok(Tracker {
            catalog: store.catalog(),
            store: Arc::new(Mutex::new(store)),
            dir: dir.to_owned(),
            live: super::follow::LiveSources::default(),
        })
    }

    /// A tracker in a fresh directory under the system's temporary directory (for tests and
    /// benchmarks).
    #[allow(dead_code)]
    pub fn temporary() -> Tracker {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "tracking-server-{}-{nanos}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        Tracker::open(&dir).unwrap_or_else(|e| panic!("a temporary tracker: {e}"))
    }

    /// The data directory.
    #[allow(dead_code)]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where media files are kept.
    pub fn media_dir(&self) -> PathBuf {
        self.dir.join(super::media::MEDIA_DIR)
    }

    /// Where artifact blobs are kept.
    pub fn blob_dir(&self) -> PathBuf {
        self.dir.join(super::media::BLOB_DIR)
    }

    /// Runs database work on the blocking pool.
    pub async fn with_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Store) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
            work(&mut store)
        })
        .await
        .map_err(|e| format!("the database work failed: {e}"))?
    }

    /// Stores entries in one transaction and tells followers. Returns how many were new (an
    /// entry whose `log_id` was stored before is skipped).
    pub async fn log(&self, entries: Vec<Entry>) -> Result<usize, String> {
        let stored = self.with_store(move |s| s.log(entries)).await?;
        self.live.publish(&stored);
        Ok(stored.len())
    }

    /// A follow of the values logged from now on (`follow_metric`).
    pub fn follow(
        &self,
        what: super::follow::Following,
    ) -> Result<gradio_compat::Follow<super::follow::LivePoint>, String> {
        self.live.follow(what)
    }

    /// How many `follow_metric` calls are listening.
    #[allow(dead_code)] // for the tests, which wait for a follower before they log
    pub fn followers(&self) -> usize {
        self.live.followers()
    }

    /// Records an artifact of a project.
    pub async fn add_artifact(&self, project: String, artifact: Artifact) -> Result<(), String> {
        if project.trim().is_empty() {
            return Err("project must be a non-empty name".into());
        }
        self.with_store(move |s| {
            s.add_artifact(&project, &artifact.name, artifact.size, &artifact.sha256)
        })
        .await
    }

    /// All project names, sorted (from memory).
    pub fn projects(&self) -> Vec<String> {
        self.catalog.projects()
    }

    /// The run records of a project (`{id, name, created_at}`); empty for an unknown project
    /// (from memory).
    pub fn run_records(&self, project: &str) -> Vec<Value> {
        self.catalog.run_records(project)
    }

    /// The id of a run, or an error naming the project's runs.
    pub fn resolve(
        s: &Store,
        project: &str,
        run: Option<&str>,
        run_id: Option<&str>,
    ) -> Result<String, String> {
        if let Some(id) = s.run_id(project, run, run_id)? {
            return Ok(id);
        }
        let projects = s.projects()?;
        if !projects.iter().any(|p| p == project) {
            return Err(format!(
                "unknown project {project:?}; known projects: {}",
                known(&projects)
            ));
        }
        let runs: Vec<String> = s
            .run_records(project)?
            .iter()
            .filter_map(|r| r["name"].as_str().map(str::to_owned))
            .collect();
        Err(format!(
            "unknown run {:?} in project {project:?}; known runs: {}",
            run.unwrap_or_default(),
            known(&runs)
        ))
    }

    /// The metric names of a run, sorted.
    pub async fn metrics_for_run(
        &self,
        project: String,
        run: Option<String>,
        run_id: Option<String>,
    ) -> Result<Vec<String>, String> {
        // From memory when the run and its names are known there.
        let id = match (&run_id, &run) {
            (Some(id), _) => Some(id.clone()),
            (None, Some(name)) => self.catalog.run_id(&project, name),
            (None, None) => None,
        };
        if let Some(names) = id.and_then(|id| self.catalog.metric_names(&project, &id)) {
            return Ok(names);
        }
        self.with_store(move |s| {
            let id = Self::resolve(s, &project, run.as_deref(), run_id.as_deref())?;
            s.metric_names_kept(&project, &id)
        })
        .await
    }

    /// The values of one metric, by step.
    pub async fn metric_values(&self, q: ValueQuery) -> Result<Vec<MetricPoint>, String> {
        self.with_store(move |s| {
            let id = Self::resolve(s, &q.project, q.run.as_deref(), q.run_id.as_deref())?;
            let rows = s.metric_values(&q.project, &id, &q.metric, Steps::of(q.step, q.around))?;
            if rows.is_empty() && q.step.is_none() && q.around.is_none() {
                let names = s.metric_names(&q.project, &id)?;
                if !names.contains(&q.metric) {
                    return Err(format!(
                        "unknown metric {:?} in run {:?} of project {:?}; known metrics: {}",
                        q.metric,
                        q.run.as_deref().unwrap_or(&id),
                        q.project,
                        known(&names)
                    ));
                }
            }
            let points: Vec<MetricPoint> = rows
                .into_iter()
                .filter_map(|r| serde_json::from_value(r).ok())
                .collect();
            Ok(subsample(points, q.max_points))
        })
        .await
    }

    /// Trackio's project summary: `{project, num_runs, runs, last_activity}`.
    pub async fn project_summary(&self, project: String) -> Result<Value, String> {
        self.with_store(move |s| {
            let runs = s.run_records(&project)?;
            if runs.is_empty() {
                return Ok(json!({"project": project, "num_runs": 0, "runs": [], "last_activity": null}));
            }
            let last = s.last_step(&project)?;
            Ok(json!({"project": project, "num_runs": runs.len(), "runs": runs, "last_activity": last}))
        })
        .await
    }

    /// Trackio's run summary: `{project, run, run_id, num_logs, metrics, config, last_step}`.
    pub async fn run_summary(
        &self,
        project: String,
        run: Option<String>,
        run_id: Option<String>,
    ) -> Result<Value, String> {
        self.with_store(move |s| {
            let Some(id) = s.run_id(&project, run.as_deref(), run_id.as_deref())? else {
                return Ok(
                    json!({"project": project, "run": run, "run_id": run_id, "num_logs": 0,
                                 "metrics": [], "config": null, "last_step": null}),
                );
            };
            let (count, last, config) = s.run_stats(&project, &id)?;
            let metrics = s.metric_names(&project, &id)?;
            Ok(
                json!({"project": project, "run": run, "run_id": run_id, "num_logs": count,
                      "metrics": metrics, "config": config, "last_step": last}),
            )
        })
        .await
    }

    /// A run's metrics as CSV lines: `step,metric,value,timestamp`, by metric then step.
    pub async fn export_csv(&self, project: String, run: String) -> Result<String, String> {
        self.with_store(move |s| {
            let id = Self::resolve(s, &project, Some(&run), None)?;
            let mut csv = String::from("step,metric,value,timestamp\n");
            for (step, name, value, timestamp) in s.run_rows(&project, &id)? {
                let quoted = format!("\"{}\"", name.replace('"', "\"\""));
                let value = match value {
                    Value::String(text) => format!("\"{}\"", text.replace('"', "\"\"")),
                    other => other.to_string(),
                };
                csv.push_str(&format!("{step},{quoted},{value},{timestamp}\n"));
            }
            Ok(csv)
        })
        .await
    }
}

/// The future a typed handler returns.
pub type Reply<O> = Pin<Box<dyn Future<Output = Result<O, String>> + Send>>;

/// A typed endpoint's handler that runs `work` on the store, on the blocking pool.
pub fn on_store<A, O, W>(
    tracker: &Arc<Tracker>,
    work: W,
) -> impl Fn(A, CallContext) -> Reply<O> + Send + Sync + 'static
where
    A: Send + 'static,
    O: Send + 'static,
    W: Fn(&mut Store, A) -> Result<O, String> + Send + Sync + 'static,
{
    let work = Arc::new(work);
    let tracker = tracker.clone();
    move |args, _ctx| {
        let (tracker, work) = (tracker.clone(), work.clone());
        Box::pin(async move { tracker.with_store(move |s| work(s, args)).await })
    }
}

/// At most `max` points, evenly spread, keeping the first and the last (as Trackio does).
pub fn subsample<T>(points: Vec<T>, max: Option<usize>) -> Vec<T> {
    let Some(max) = max.filter(|m| *m >= 1 && points.len() > *m) else {
        return points;
    };
    let last = points.len() - 1;
    if max == 1 {
        return points.into_iter().skip(last).collect();
    }
    let keep: std::collections::BTreeSet<usize> = (0..max)
        .map(|i| ((i * last) as f64 / (max - 1) as f64).round() as usize)
        .collect();
    points
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, p)| p)
        .collect()
}
