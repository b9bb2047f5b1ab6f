//! What a run logs besides its step metrics: system metrics (`log_system`, the GPU and CPU
//! loggers; by time, no step) and alerts (`alert`). Both are written in one transaction per
//! batch; an entry whose `log_id` or `alert_id` was stored before is skipped (the client
//! retries).

use rusqlite::{params, OptionalExtension, Transaction};
use serde_json::{json, Map, Value};

use super::metrics_json::{parse_object, MetricsJson};
use super::{now_iso, Sql, Store};

/// One system-metrics entry.
pub struct SystemEntry {
    pub project: String,
    pub run: String,
    pub run_id: Option<String>,
    pub metrics: MetricsJson,
    pub timestamp: Option<String>,
    pub log_id: Option<String>,
}

/// One alert.
pub struct AlertEntry {
    pub project: String,
    pub run: String,
    pub run_id: Option<String>,
    pub title: String,
    pub text: Option<String>,
    pub level: String,
    pub step: Option<i64>,
    pub timestamp: Option<String>,
    pub alert_id: Option<String>,
}

/// Which alerts to read.
pub struct AlertQuery<'a> {
    pub project: &'a str,
    /// Only this run's (by id); `None`: every run's.
    pub run_id: Option<&'a str>,
    pub level: Option<&'a str>,
    /// Only alerts after this ISO 8601 time.
    pub since: Option<&'a str>,
}

/// A run a write created: `(project, id, name, created_at)`, for the catalog once committed.
pub(super) type NewRun = (String, String, String, String);

/// Adds the run to `runs` when it is not there yet (then to `created`).
pub(super) fn ensure_run(
    tx: &Transaction<'_>,
    project: &str,
    run_id: &str,
    name: &str,
    timestamp: &str,
    created: &mut Vec<NewRun>,
) -> Result<(), String> {
    let added = tx
        .prepare_cached(
            "INSERT INTO runs (project, id, name, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (project, id) DO NOTHING",
        )
        .sql()?
        .execute(params![project, run_id, name, timestamp])
        .sql()?;
    if added == 1 {
        created.push((
            project.to_owned(),
            run_id.to_owned(),
            name.to_owned(),
            timestamp.to_owned(),
        ));
    }
    Ok(())
}

fn check_names(i: usize, project: &str, run: &str) -> Result<(), String> {
    if project.trim().is_empty() || run.trim().is_empty() {
        return Err(format!(
            "entry {i}: project and run must be non-empty names"
        ));
    }
    Ok(())
}

impl Store {
    /// Stores system-metrics entries; returns how many were new.
    pub fn log_system(&mut self, entries: Vec<SystemEntry>) -> Result<usize, String> {
        let tx = self.conn.transaction().sql()?;
        let mut added = 0;
        let mut created = Vec::new();
        for (i, e) in entries.into_iter().enumerate() {
            check_names(i, &e.project, &e.run)?;
            let run_id = e.run_id.unwrap_or_else(|| e.run.clone());
            let timestamp = e.timestamp.unwrap_or_else(now_iso);
            ensure_run(&tx, &e.project, &run_id, &e.run, &timestamp, &mut created)?;
            added += tx
                .prepare_cached(
                    "INSERT INTO system_logs (project, run_id, timestamp, metrics, log_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                )
                .sql()?
                .execute(params![
                    e.project,
                    run_id,
                    timestamp,
                    e.metrics.as_str(),
                    e.log_id
                ])
                .sql()?;
        }
        tx.commit().sql()?;
        for (project, id, name, at) in created {
            self.catalog.add_run(&project, &id, &name, &at);
        }
        Ok(added)
    }

    /// A run's system metrics by time, each as its metrics plus `timestamp`.
    pub fn system_logs(&self, project: &str, run_id: &str) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        self.each_system_row(project, run_id, |timestamp, metrics| {
            let mut entry: Map<String, Value> = parse_object(metrics);
            entry.insert("timestamp".into(), Value::String(timestamp.to_owned()));
            out.push(Value::Object(entry));
        })?;
        Ok(out)
    }

    /// Calls `each(timestamp, metrics)` for a run's system-metrics rows, in order of time.
    pub fn each_system_row(
        &self,
        project: &str,
        run_id: &str,
        mut each: impl FnMut(&str, &str),
    ) -> Result<(), String> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT timestamp, metrics FROM system_logs WHERE project = ?1 AND run_id = ?2 \
                 ORDER BY timestamp, seq",
            )
            .sql()?;
        let mut rows = q.query(params![project, run_id]).sql()?;
        while let Some(row) = rows.next().sql()? {
            let text = |i| row.get_ref(i).and_then(|v| v.as_str().map_err(Into::into));
            each(text(0).sql()?, text(1).sql()?);
        }
        Ok(())
    }

    /// The system metric names a run logged, sorted.
    pub fn system_metric_names(&self, project: &str, run_id: &str) -> Result<Vec<String>, String> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT j.key FROM system_logs, json_each(system_logs.metrics) AS j \
                 WHERE system_logs.project = ?1 AND system_logs.run_id = ?2 \
                 AND j.key != 'timestamp' ORDER BY j.key",
            )
            .sql()?;
        let rows = q.query_map(params![project, run_id], |r| r.get(0)).sql()?;
        rows.collect::<Result<_, _>>().sql()
    }

    /// Stores alerts; returns how many were new.
    pub fn alert(&mut self, alerts: Vec<AlertEntry>) -> Result<usize, String> {
        let tx = self.conn.transaction().sql()?;
        let mut added = 0;
        let mut created = Vec::new();
        for (i, a) in alerts.into_iter().enumerate() {
            check_names(i, &a.project, &a.run)?;
            let run_id = a.run_id.unwrap_or_else(|| a.run.clone());
            let timestamp = a.timestamp.unwrap_or_else(now_iso);
            ensure_run(&tx, &a.project, &run_id, &a.run, &timestamp, &mut created)?;
            added += tx
                .prepare_cached(
                    "INSERT INTO alerts (project, run_id, timestamp, title, text, level, step, alert_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
                )
                .sql()?
                .execute(params![
                    a.project, run_id, timestamp, a.title, a.text, a.level, a.step, a.alert_id
                ])
                .sql()?;
        }
        tx.commit().sql()?;
        for (project, id, name, at) in created {
            self.catalog.add_run(&project, &id, &name, &at);
        }
        Ok(added)
    }

    /// Alerts as Trackio returns them (`{timestamp, run, title, text, level, step}`), newest
    /// first.
    pub fn alerts(&self, q: AlertQuery<'_>) -> Result<Vec<Value>, String> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.timestamp, COALESCE(r.name, a.run_id), a.title, a.text, a.level, a.step \
                 FROM alerts a LEFT JOIN runs r ON r.project = a.project AND r.id = a.run_id \
                 WHERE a.project = ?1 AND (?2 IS NULL OR a.run_id = ?2) \
                 AND (?3 IS NULL OR a.level = ?3) AND (?4 IS NULL OR a.timestamp > ?4) \
                 ORDER BY a.timestamp DESC, a.seq DESC",
            )
            .sql()?;
        let rows = stmt
            .query_map(params![q.project, q.run_id, q.level, q.since], |r| {
                Ok(json!({
                    "timestamp": r.get::<_, String>(0)?,
                    "run": r.get::<_, String>(1)?,
                    "title": r.get::<_, String>(2)?,
                    "text": r.get::<_, Option<String>>(3)?,
                    "level": r.get::<_, String>(4)?,
                    "step": r.get::<_, Option<i64>>(5)?,
                }))
            })
            .sql()?;
        rows.collect::<Result<_, _>>().sql()
    }

    /// Whether a run (by id) exists in a project.
    pub fn has_run(&self, project: &str, run_id: &str) -> Result<bool, String> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM runs WHERE project = ?1 AND id = ?2",
                params![project, run_id],
                |_| Ok(()),
            )
            .optional()
            .sql()?
            .is_some())
    }
}
