//! Reads made for the dashboard (and useful to any client that shows a project): the runs
//! table, a run's media, and a run's system metrics reduced for drawing without hiding a
//! spike. Trackio's own endpoints keep Trackio's shapes; these are extra.

use std::sync::Arc;

use gradio_compat::Registry;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use super::tracker::store::overview::MEDIA_ENTRIES;
use super::tracker::{on_store, Tracker};
use super::{ProjectArgs, RunArgs};

/// A run's system metrics, reduced for drawing.
#[derive(Deserialize, JsonSchema)]
pub struct SystemEnvelopeArgs {
    /// The project name.
    #[schemars(example = &"demo")]
    pub project: String,
    /// The run name.
    #[schemars(example = &"run-1")]
    pub run: Option<String>,
    /// How many buckets (pixel columns) to draw; at most four points each per metric.
    #[serde(default = "super::default_buckets")]
    #[schemars(range(min = 1, max = 100000))]
    pub buckets: u32,
    /// Trackio's run id (wins over the name).
    #[serde(default)]
    pub run_id: Option<String>,
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// Adds `get_runs_table`, `get_media` and `get_system_envelope`.
pub fn register(registry: Registry, t: &Arc<Tracker>) -> Registry {
    registry
        .typed(
            "get_runs_table",
            on_store(t, |s, a: ProjectArgs| {
                let runs = s.runs_table(&a.project, now_unix())?;
                if runs.is_empty() && !s.projects()?.contains(&a.project) {
                    return Err(format!("unknown project {:?}", a.project));
                }
                Ok(runs)
            }),
        )
        .typed(
            "get_media",
            on_store(t, |s, a: RunArgs| {
                let id = Tracker::resolve(s, &a.project, a.run.as_deref(), a.run_id.as_deref())?;
                let (entries, total) = s.media(&a.project, &id)?;
                Ok(json!({"entries": entries, "total": total, "limit": MEDIA_ENTRIES}))
            }),
        )
        .typed(
            "get_system_envelope",
            on_store(t, |s, a: SystemEnvelopeArgs| {
                let id = Tracker::resolve(s, &a.project, a.run.as_deref(), a.run_id.as_deref())?;
                let buckets = a.buckets.clamp(1, 100_000) as usize;
                let metrics: serde_json::Map<String, Value> = s
                    .system_envelopes(&a.project, &id, buckets)?
                    .into_iter()
                    .map(|(k, e)| {
                        (
                            k,
                            json!({"points": e.points, "count": e.count, "reduced": e.reduced}),
                        )
                    })
                    .collect();
                Ok(Value::Object(metrics))
            }),
        )
}
