//! Endpoints for what a run logs besides step metrics: system metrics (`log_system`, the GPU
//! and CPU loggers) and alerts, with Trackio 0.43's names, parameters and result shapes.

use std::sync::Arc;

use gradio_compat::Registry;
use schemars::JsonSchema;
use serde::Deserialize;

use super::tracker::store::events::{AlertEntry, AlertQuery, SystemEntry};
use super::tracker::{on_store, Tracker};
use super::MetricsJson;

/// One system-metrics entry, as Trackio's client sends it.
#[derive(Deserialize, JsonSchema)]
pub struct SystemLogEntry {
    /// The project name.
    #[schemars(example = &"demo")]
    pub project: String,
    /// The run name.
    #[schemars(example = &"run-1")]
    pub run: String,
    /// Trackio's run id; when omitted, the run name.
    #[serde(default)]
    pub run_id: Option<String>,
    /// Metric names and values, e.g. {"gpu/0/utilization": 87.5}.
    pub metrics: MetricsJson,
    /// When they were measured (ISO 8601); when omitted, now.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// A unique id of this entry: an entry whose id was already stored is skipped.
    #[serde(default)]
    pub log_id: Option<String>,
}

/// Log system metrics (by time, without a step), in one transaction.
#[derive(Deserialize, JsonSchema)]
pub struct BulkLogSystemArgs {
    /// The entries.
    pub logs: Vec<SystemLogEntry>,
    /// A write token; when omitted, the bearer token of the request is used.
    #[allow(dead_code)] // judged by the authorize hook, before the handler runs
    pub hf_token: Option<String>,
}

/// One alert, as Trackio's client sends it.
#[derive(Deserialize, JsonSchema)]
pub struct AlertItem {
    /// The project name.
    pub project: String,
    /// The run name.
    pub run: String,
    /// Trackio's run id; when omitted, the run name.
    #[serde(default)]
    pub run_id: Option<String>,
    /// The alert's title.
    pub title: String,
    /// More text.
    #[serde(default)]
    pub text: Option<String>,
    /// `info`, `warn` or `error`.
    pub level: String,
    /// The step it belongs to.
    #[serde(default)]
    pub step: Option<i64>,
    /// When (ISO 8601); when omitted, now.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// A unique id: an alert whose id was already stored is skipped.
    #[serde(default)]
    pub alert_id: Option<String>,
}

/// Store alerts, in one transaction.
#[derive(Deserialize, JsonSchema)]
pub struct BulkAlertArgs {
    /// The alerts.
    pub alerts: Vec<AlertItem>,
    /// A write token; when omitted, the bearer token of the request is used.
    #[allow(dead_code)] // judged by the authorize hook, before the handler runs
    pub hf_token: Option<String>,
}

/// Read alerts, newest first.
///
/// The order of the parameters is the one Trackio's CLI sends (`project, run, level,
/// since`); `run_id` comes last.
#[derive(Deserialize, JsonSchema)]
pub struct AlertsArgs {
    /// The project name.
    #[schemars(example = &"demo")]
    pub project: String,
    /// Only this run's alerts; every run's when omitted.
    #[serde(default)]
    pub run: Option<String>,
    /// Only alerts of this level (`info`, `warn`, `error`).
    #[serde(default)]
    pub level: Option<String>,
    /// Only alerts after this time (ISO 8601).
    #[serde(default)]
    pub since: Option<String>,
    /// Trackio's run id (wins over the name).
    #[serde(default)]
    pub run_id: Option<String>,
}

use super::RunArgs;

const LEVELS: [&str; 3] = ["info", "warn", "error"];

/// Adds the endpoints.
pub fn register(registry: Registry, t: &Arc<Tracker>) -> Registry {
    registry
        .typed(
            "bulk_log_system",
            on_store(t, |s, a: BulkLogSystemArgs| {
                let entries = a
                    .logs
                    .into_iter()
                    .map(|e| SystemEntry {
                        project: e.project,
                        run: e.run,
                        run_id: e.run_id,
                        metrics: e.metrics,
                        timestamp: e.timestamp,
                        log_id: e.log_id,
                    })
                    .collect();
                s.log_system(entries).map(|_| ())
            }),
        )
        .typed(
            "get_system_metrics_for_run",
            on_store(t, |s, a: RunArgs| {
                let id = Tracker::resolve(s, &a.project, a.run.as_deref(), a.run_id.as_deref())?;
                s.system_metric_names(&a.project, &id)
            }),
        )
        .typed(
            "get_system_logs",
            on_store(t, |s, a: RunArgs| {
                let id = Tracker::resolve(s, &a.project, a.run.as_deref(), a.run_id.as_deref())?;
                let logs = s.system_logs(&a.project, &id)?;
                Ok(super::tracker::subsample(logs, Some(super::LOG_ROWS)))
            }),
        )
        .typed(
            "bulk_alert",
            on_store(t, |s, a: BulkAlertArgs| {
                let mut alerts = Vec::with_capacity(a.alerts.len());
                for (i, x) in a.alerts.into_iter().enumerate() {
                    let level = x.level.to_ascii_lowercase();
                    if !LEVELS.contains(&level.as_str()) {
                        return Err(format!(
                            "alert {i}: level must be info, warn or error, not {:?}",
                            x.level
                        ));
                    }
                    alerts.push(AlertEntry {
                        project: x.project,
                        run: x.run,
                        run_id: x.run_id,
                        title: x.title,
                        text: x.text,
                        level,
                        step: x.step,
                        timestamp: x.timestamp,
                        alert_id: x.alert_id,
                    });
                }
                s.alert(alerts).map(|_| ())
            }),
        )
        .typed(
            "get_alerts",
            on_store(t, |s, a: AlertsArgs| {
                let named = |x: &Option<String>| x.clone().filter(|v| !v.is_empty());
                let run_id = match (named(&a.run), named(&a.run_id)) {
                    (None, None) => None,
                    (run, id) => Some(Tracker::resolve(
                        s,
                        &a.project,
                        run.as_deref(),
                        id.as_deref(),
                    )?),
                };
                let level = named(&a.level).map(|l| l.to_ascii_lowercase());
                let since = named(&a.since);
                s.alerts(AlertQuery {
                    project: &a.project,
                    run_id: run_id.as_deref(),
                    level: level.as_deref(),
                    since: since.as_deref(),
                })
            }),
        )
}
