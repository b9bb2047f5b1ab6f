//! Endpoints over whole runs, as Trackio 0.43's CLI uses them: every logged row (`get_logs`,
//! for reports), all metrics around a step (`get_snapshot`), traces, the user's own read-only
//! SQL (`query_project`), and run management (`delete_run`, `rename_run`).

use std::sync::Arc;

use gradio_compat::{CallContext, Registry};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::media::run_media_dir;
use super::tracker::store::reads::Steps;
use super::tracker::{on_store, subsample, Tracker};
use super::{around, LOG_ROWS};

/// Every logged step of a run: its metrics plus `timestamp` and `step` (at most 3,000 rows,
/// evenly spread, the first and last kept, as Trackio's server sends).
#[derive(Deserialize, JsonSchema)]
pub struct LogsArgs {
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
    /// Only numbers and booleans (no media, tables or text).
    #[serde(default)]
    pub scalar_only: bool,
}

/// Every metric of a run at one step, or within `window` steps of `around_step`, as
/// `{metric: [{timestamp, step, value}]}`.
///
/// The order of the parameters is the one Trackio's CLI sends (`project, run, step,
/// around_step, at_time, window`); `run_id` comes last.
#[derive(Deserialize, JsonSchema)]
pub struct SnapshotArgs {
    /// The project name.
    pub project: String,
    /// The run name.
    #[serde(default)]
    pub run: Option<String>,
    /// Only this step.
    #[serde(default)]
    pub step: Option<i64>,
    /// With `window`: the steps within `window` of this one.
    #[serde(default)]
    pub around_step: Option<i64>,
    /// Not supported here (Trackio reads around a time); must be empty.
    #[serde(default)]
    pub at_time: Option<String>,
    /// The half-width of the step range around `around_step`.
    #[serde(default)]
    pub window: Option<f64>,
    /// Trackio's run id (wins over the name).
    #[serde(default)]
    pub run_id: Option<String>,
}

/// The traces a run logged (`trackio.Trace` values), newest first unless sorted otherwise.
#[derive(Deserialize, JsonSchema)]
pub struct TracesArgs {
    /// The project name.
    pub project: String,
    /// The run name.
    #[serde(default)]
    pub run: Option<String>,
    /// Trackio's run id (wins over the name).
    #[serde(default)]
    pub run_id: Option<String>,
    /// Only traces whose text contains this (case-insensitive).
    #[serde(default)]
    pub search: Option<String>,
    /// `request_time_desc` (default), `request_time_asc`, `step_asc` or `step_desc`.
    #[serde(default)]
    pub sort: Option<String>,
    /// At most this many.
    #[serde(default)]
    pub limit: Option<u32>,
    /// Skip this many first.
    #[serde(default)]
    pub offset: Option<u32>,
    /// Only this step's.
    #[serde(default)]
    pub step: Option<i64>,
}

/// Run a read-only SQL query over one project's data: the views `metrics` (id, run_id,
/// timestamp, run_name, step, metrics as logged JSON, log_id), `configs`, `system_metrics`, `traces`,
/// `alerts` and `runs`. Only SELECT/WITH (and table_info pragmas); at most 10,000 rows and
/// 5 seconds.
#[derive(Deserialize, JsonSchema)]
pub struct QueryArgs {
    /// The project name.
    #[schemars(example = &"demo")]
    pub project: String,
    /// The SQL.
    #[schemars(example = &"SELECT run_name, COUNT(*) AS steps FROM metrics GROUP BY run_name")]
    pub query: String,
}

/// Delete a run and everything logged to it, its media included. Returns whether it existed.
#[derive(Deserialize, JsonSchema)]
pub struct DeleteRunArgs {
    /// The project name.
    pub project: String,
    /// The run name.
    #[serde(default)]
    pub run: Option<String>,
    /// Trackio's run id (wins over the name).
    #[serde(default)]
    pub run_id: Option<String>,
}

/// Rename a run (its id and data stay).
#[derive(Deserialize, JsonSchema)]
pub struct RenameRunArgs {
    /// The project name.
    pub project: String,
    /// The run's current name.
    pub old_name: String,
    /// Its new name.
    pub new_name: String,
    /// Trackio's run id (wins over the old name).
    #[serde(default)]
    pub run_id: Option<String>,
}

fn is_scalar(v: &Value) -> bool {
    v.is_number() || v.is_boolean()
}

/// Adds the endpoints.
pub fn register(registry: Registry, t: &Arc<Tracker>) -> Registry {
    let t_query = t.clone();
    let media = t.media_dir();
    registry
        .typed(
            "get_logs",
            on_store(t, |s, a: LogsArgs| {
                let id = Tracker::resolve(s, &a.project, a.run.as_deref(), a.run_id.as_deref())?;
                let mut logs = s.logs(&a.project, &id)?;
                if a.scalar_only {
                    for row in &mut logs {
                        row.retain(|k, v| k == "step" || k == "timestamp" || is_scalar(v));
                    }
                    logs.retain(|row| row.len() > 2);
                }
                Ok(subsample(logs, Some(LOG_ROWS)))
            }),
        )
        .typed(
            "get_snapshot",
            on_store(t, |s, a: SnapshotArgs| {
                if a.at_time.as_deref().is_some_and(|x| !x.is_empty()) {
                    return Err("at_time is not supported by this server; use step, or around_step with window".into());
                }
                let range = around(a.around_step, a.window)?;
                if a.step.is_none() && range.is_none() {
                    return Err("give step, or around_step with window".into());
                }
                let id = Tracker::resolve(s, &a.project, a.run.as_deref(), a.run_id.as_deref())?;
                s.snapshot(&a.project, &id, Steps::of(a.step, range))
            }),
        )
        .typed(
            "get_traces",
            on_store(t, |s, a: TracesArgs| {
                let id = Tracker::resolve(s, &a.project, a.run.as_deref(), a.run_id.as_deref())?;
                let mut traces = s.traces(&a.project, &id, a.step)?;
                if let Some(needle) = a.search.map(|x| x.trim().to_lowercase()).filter(|x| !x.is_empty()) {
                    traces.retain(|t| t.to_string().to_lowercase().contains(&needle));
                }
                let key = |t: &Value, f: &str| t[f].to_string();
                match a.sort.as_deref() {
                    Some("step_asc") => traces.sort_by_key(|t| t["step"].as_i64()),
                    Some("step_desc") => traces.sort_by_key(|t| std::cmp::Reverse(t["step"].as_i64())),
                    Some("request_time_asc") => traces.sort_by_key(|t| key(t, "timestamp")),
                    _ => traces.sort_by_key(|t| std::cmp::Reverse(key(t, "timestamp"))),
                }
                let skip = a.offset.unwrap_or(0) as usize;
                let take = a.limit.map_or(usize::MAX, |l| l as usize);
                Ok(traces.into_iter().skip(skip).take(take).collect::<Vec<_>>())
            }),
        )
        .typed("query_project", move |a: QueryArgs, _: CallContext| {
            let t = t_query.clone();
            async move {
                let db = t.with_store(|s| Ok(s.path().to_owned())).await?;
                let projects = t.projects();
                if !projects.contains(&a.project) {
                    return Err(format!("unknown project {:?}; known projects: {}", a.project, projects.join(", ")));
                }
                // A connection of its own, on the blocking pool: writers are not held up.
                tokio::task::spawn_blocking(move || super::query::run(&db, &a.project, &a.query))
                    .await
                    .map_err(|e| format!("the query failed: {e}"))?
            }
        })
        .typed(
            "delete_run",
            on_store(t, move |s, a: DeleteRunArgs| {
                let Some(id) = s.run_id(&a.project, a.run.as_deref(), a.run_id.as_deref())? else {
                    return Ok(false);
                };
                let name = s.run_name(&a.project, &id)?;
                let deleted = s.delete_run(&a.project, &id)?;
                // Its media go too, unless another run of the project has the same name (media
                // are laid out by run name, as in Trackio).
                if let Some(name) = name {
                    let shared = s.run_id(&a.project, Some(&name), None)?.is_some();
                    if let Some(dir) = run_media_dir(&media, &a.project, &name).filter(|_| !shared) {
                        if let Err(e) = std::fs::remove_dir_all(&dir) {
                            if e.kind() != std::io::ErrorKind::NotFound {
                                return Err(format!("the run is deleted, but its media folder {} could not be removed: {e}", dir.display()));
                            }
                        }
                    }
                }
                Ok(deleted)
            }),
        )
        .typed(
            "rename_run",
            on_store(t, |s, a: RenameRunArgs| {
                let new_name = a.new_name.trim();
                if new_name.is_empty() {
                    return Err("new_name must be a non-empty name".into());
                }
                let id = Tracker::resolve(s, &a.project, Some(&a.old_name), a.run_id.as_deref())?;
                if !s.has_run(&a.project, &id)? {
                    return Err(format!("no run {:?} in project {:?}", a.old_name, a.project));
                }
                s.rename_run(&a.project, &id, new_name).map(|()| true)
            }),
        )
}
