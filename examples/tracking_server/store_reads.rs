//! Reads of logged metrics: names, one metric's values, whole log rows (`get_logs`), a snapshot
//! around a step, and the rows of an export. Every value is taken from the JSON text
//! the client sent by serde_json (correctly rounded), never by SQLite's JSON functions.

use rusqlite::{params, OptionalExtension};
use serde_json::{json, Map, Value};

use super::metrics_json::{parse_object, pick};
use super::{Sql, Store};

/// One stored step of a run, as read back.
pub struct Row {
    pub step: i64,
    pub timestamp: String,
    pub metrics: String,
}

/// Which steps to read: all, one, or a range.
#[derive(Clone, Copy)]
pub struct Steps {
    pub low: i64,
    pub high: i64,
}

impl Steps {
    /// Every step.
    pub const ALL: Steps = Steps {
        low: i64::MIN,
        high: i64::MAX,
    };

    /// `step` alone when given, else `around ± window` when given, else every step.
    pub fn of(step: Option<i64>, around: Option<(i64, i64)>) -> Steps {
        match (step, around) {
            (Some(s), _) => Steps { low: s, high: s },
            (None, Some((center, window))) => Steps {
                low: center.saturating_sub(window),
                high: center.saturating_add(window),
            },
            (None, None) => Steps::ALL,
        }
    }
}

impl Store {
    /// A run's stored steps within `steps`, by step then order of logging.
    pub fn rows(&self, project: &str, run_id: &str, steps: Steps) -> Result<Vec<Row>, String> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT step, timestamp, metrics FROM logs \
                 WHERE project = ?1 AND run_id = ?2 AND step BETWEEN ?3 AND ?4 ORDER BY step, seq",
            )
            .sql()?;
        let rows = q
            .query_map(params![project, run_id, steps.low, steps.high], |r| {
                Ok(Row {
                    step: r.get(0)?,
                    timestamp: r.get(1)?,
                    metrics: r.get(2)?,
                })
            })
            .sql()?;
        rows.collect::<Result<_, _>>().sql()
    }

    /// The metric names a run logged, sorted.
    pub fn metric_names(&self, project: &str, run_id: &str) -> Result<Vec<String>, String> {
        // Only keys are read here: no number goes through SQLite's JSON parser.
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT j.key FROM logs, json_each(logs.metrics) AS j \
                 WHERE logs.project = ?1 AND logs.run_id = ?2 ORDER BY j.key",
            )
            .sql()?;
        let rows = q.query_map(params![project, run_id], |r| r.get(0)).sql()?;
        rows.collect::<Result<_, _>>().sql()
    }

    /// `{timestamp, step, value}` of one metric within `steps`, by step.
    pub fn metric_values(
        &self,
        project: &str,
        run_id: &str,
        metric: &str,
        steps: Steps,
    ) -> Result<Vec<Value>, String> {
        Ok(self
            .rows(project, run_id, steps)?
            .into_iter()
            .filter_map(|row| {
                let value = pick(&row.metrics, metric)?;
                Some(json!({"timestamp": row.timestamp, "step": row.step, "value": value}))
            })
            .collect())
    }

    /// Trackio's `get_logs`: each stored step as its metrics plus `timestamp` and `step`.
    pub fn logs(&self, project: &str, run_id: &str) -> Result<Vec<Map<String, Value>>, String> {
        Ok(self
            .rows(project, run_id, Steps::ALL)?
            .into_iter()
            .map(|row| {
                let mut metrics = parse_object(&row.metrics);
                metrics.insert("timestamp".into(), Value::String(row.timestamp));
                metrics.insert("step".into(), Value::from(row.step));
                metrics
            })
            .collect())
    }

    /// Trackio's `get_snapshot`: every metric within `steps`, as `{name: [{timestamp, step,
    /// value}]}`.
    pub fn snapshot(&self, project: &str, run_id: &str, steps: Steps) -> Result<Value, String> {
        let mut out = Map::new();
        for row in self.rows(project, run_id, steps)? {
            for (name, value) in parse_object(&row.metrics) {
                let point = json!({"timestamp": row.timestamp, "step": row.step, "value": value});
                if let Value::Array(points) = out.entry(name).or_insert_with(|| json!([])) {
                    points.push(point);
                }
            }
        }
        Ok(Value::Object(out))
    }

    /// How many steps a run logged, its last step and its config.
    pub fn run_stats(
        &self,
        project: &str,
        run_id: &str,
    ) -> Result<(i64, Option<i64>, Option<Value>), String> {
        let (count, last): (i64, Option<i64>) = self
            .conn
            .query_row(
                "SELECT COUNT(*), MAX(step) FROM logs WHERE project = ?1 AND run_id = ?2",
                params![project, run_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .sql()?;
        let config: Option<String> = self
            .conn
            .query_row(
                "SELECT config FROM runs WHERE project = ?1 AND id = ?2",
                params![project, run_id],
                |r| r.get(0),
            )
            .optional()
            .sql()?
            .flatten();
        Ok((
            count,
            last,
            config.and_then(|c| serde_json::from_str(&c).ok()),
        ))
    }

    /// The last step logged in a project, over its runs.
    pub fn last_step(&self, project: &str) -> Result<Option<i64>, String> {
        self.conn
            .query_row(
                "SELECT MAX(step) FROM logs WHERE project = ?1",
                [project],
                |r| r.get(0),
            )
            .sql()
    }

    /// Every logged value of a run: `(step, metric, value, timestamp)`, by metric then step.
    pub fn run_rows(
        &self,
        project: &str,
        run_id: &str,
    ) -> Result<Vec<(i64, String, Value, String)>, String> {
        let mut out = Vec::new();
        for row in self.rows(project, run_id, Steps::ALL)? {
            for (name, value) in parse_object(&row.metrics) {
                out.push((row.step, name, value, row.timestamp.clone()));
            }
        }
        // Stable: within a metric and step, the order of logging stays.
        out.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        Ok(out)
    }
}
