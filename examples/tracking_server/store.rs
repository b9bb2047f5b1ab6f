//! The tracker's storage: one SQLite database (bundled, WAL mode) in the data directory.
//! Every write is one transaction, committed before the call that made it completes. All of
//! it is blocking: the tracker calls it on tokio's blocking pool.
//!
//! Tables: `runs` (project, id, name, created_at, config), `logs` (one row per logged step:
//! its metrics as JSON, with Trackio's `log_id` unique per project so that a retried batch is
//! not stored twice) and `artifacts`. The write-ahead log is checkpointed on a thread of its
//! own (`checkpoint.rs`).

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

#[path = "checkpoint.rs"]
mod checkpoint;
#[path = "metrics_json.rs"]
pub mod metrics_json;
use checkpoint::Checkpointer;
use metrics_json::MetricsJson;

/// One entry to store (a `log` call, or one entry of `bulk_log`).
#[derive(Clone, Debug)]
pub struct Entry {
    pub project: String,
    pub run: String,
    /// Trackio's run id; the run's name when absent.
    pub run_id: Option<String>,
    pub metrics: MetricsJson,
    pub step: Option<i64>,
    pub config: Option<Value>,
    pub log_id: Option<String>,
    /// ISO 8601; now when absent.
    pub timestamp: Option<String>,
}

/// What was stored for one entry (an entry whose `log_id` was already stored yields none).
#[derive(Clone, Debug)]
pub struct Stored {
    pub project: String,
    pub run: String,
    pub step: i64,
    pub timestamp: String,
    pub metrics: MetricsJson,
}

/// The database.
pub struct Store {
    conn: Connection,
    _checkpointer: Checkpointer,
}

/// The file inside the data directory.
pub const DB_FILE: &str = "tracking.sqlite";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    project TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    config TEXT,
    PRIMARY KEY (project, id)
);
CREATE TABLE IF NOT EXISTS logs (
    seq INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    run_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    timestamp TEXT NOT NULL,
    metrics TEXT NOT NULL,
    log_id TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS logs_by_log_id ON logs (project, log_id) WHERE log_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS logs_by_run ON logs (project, run_id, step);
CREATE TABLE IF NOT EXISTS artifacts (
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL
);
";

/// The current time as Trackio writes it (ISO 8601, UTC).
pub fn now_iso() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    iso_from_unix(now.as_secs() as i64, now.subsec_micros())
}

/// `YYYY-MM-DDTHH:MM:SS.ffffff+00:00` for a Unix time.
fn iso_from_unix(secs: i64, micros: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn db_error(path: &Path, e: impl std::fmt::Display) -> String {
    format!("the database {} cannot be used: {e}", path.display())
}

impl Store {
    /// Opens (creating when needed) the database in `dir`, which is created too. Fails with a
    /// message naming the path when the directory cannot be written or the file is not a
    /// usable database.
    pub fn open(dir: &Path) -> Result<Store, String> {
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "the data directory {} cannot be created: {e}",
                dir.display()
            )
        })?;
        let path: PathBuf = dir.join(DB_FILE);
        let conn = Connection::open(&path).map_err(|e| db_error(&path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| db_error(&path, e))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| db_error(&path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(db_error(
                &path,
                format!("WAL mode is not available ({mode})"),
            ));
        }
        conn.execute_batch(&format!(
            "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint={};",
            checkpoint::BACKSTOP_PAGES
        ))
        .map_err(|e| db_error(&path, e))?;
        conn.execute_batch(SCHEMA).map_err(|e| db_error(&path, e))?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| db_error(&path, e))?;
        if check != "ok" {
            return Err(db_error(&path, check));
        }
        let checkpointer = Checkpointer::start(&path)?;
        Ok(Store {
            conn,
            _checkpointer: checkpointer,
        })
    }

    /// Stores entries in one transaction, in order. Steps left out continue their run.
    pub fn log(&mut self, entries: Vec<Entry>) -> Result<Vec<Stored>, String> {
        let tx = self.conn.transaction().map_err(|e| e.to_string())?;
        let mut stored = Vec::with_capacity(entries.len());
        {
            let mut find_run = tx
                .prepare_cached("SELECT 1 FROM runs WHERE project = ?1 AND id = ?2")
                .map_err(|e| e.to_string())?;
            let mut add_run = tx
                .prepare_cached(
                    "INSERT INTO runs (project, id, name, created_at, config) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(|e| e.to_string())?;
            let mut set_config = tx
                .prepare_cached(
                    // A resumed run keeps its config: later keys are merged in (RFC 7396).
                    "UPDATE runs SET config = json_patch(COALESCE(config, '{}'), ?3) \
                     WHERE project = ?1 AND id = ?2",
                )
                .map_err(|e| e.to_string())?;
            let mut last_step = tx
                .prepare_cached("SELECT MAX(step) FROM logs WHERE project = ?1 AND run_id = ?2")
                .map_err(|e| e.to_string())?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO logs (project, run_id, step, timestamp, metrics, log_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                )
                .map_err(|e| e.to_string())?;
            // Runs seen in this batch (a batch is mostly one run).
            let mut seen: Vec<(String, String)> = Vec::new();
            for (i, e) in entries.into_iter().enumerate() {
                if e.project.trim().is_empty() || e.run.trim().is_empty() {
                    return Err(format!(
                        "entry {i}: project and run must be non-empty names"
                    ));
                }
                let run_id = e.run_id.clone().unwrap_or_else(|| e.run.clone());
                let timestamp = e.timestamp.clone().unwrap_or_else(now_iso);
                let cached = seen.iter().any(|(p, r)| *p == e.project && *r == run_id);
                let known = cached
                    || find_run
                        .query_row(params![e.project, run_id], |_| Ok(()))
                        .optional()
                        .map_err(|e| e.to_string())?
                        .is_some();
                if !cached {
                    seen.push((e.project.clone(), run_id.clone()));
                }
                let config = e.config.as_ref().map(Value::to_string);
                if !known {
                    add_run
                        .execute(params![e.project, run_id, e.run, timestamp, config])
                        .map_err(|e| e.to_string())?;
                } else if config.is_some() {
                    set_config
                        .execute(params![e.project, run_id, config])
                        .map_err(|e| e.to_string())?;
                }
                let step = match e.step {
                    Some(step) => step,
                    None => last_step
                        .query_row(params![e.project, run_id], |r| r.get::<_, Option<i64>>(0))
                        .map_err(|e| e.to_string())?
                        .map_or(0, |s| s + 1),
                };
                let added = insert
                    .execute(params![
                        e.project,
                        run_id,
                        step,
                        timestamp,
                        e.metrics.as_str(),
                        e.log_id
                    ])
                    .map_err(|e| e.to_string())?;
                if added == 1 {
                    stored.push(Stored {
                        project: e.project,
                        run: e.run,
                        step,
                        timestamp,
                        metrics: e.metrics,
                    });
                }
            }
        }
        tx.commit().map_err(|e| e.to_string())?;
        Ok(stored)
    }

    /// All project names, sorted.
    pub fn projects(&self) -> Result<Vec<String>, String> {
        let mut q = self
            .conn
            .prepare_cached("SELECT DISTINCT project FROM runs ORDER BY project")
            .map_err(|e| e.to_string())?;
        let rows = q.query_map([], |r| r.get(0)).map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
    }

    /// Trackio's run records of a project: `{id, name, created_at}`, oldest first.
    pub fn run_records(&self, project: &str) -> Result<Vec<Value>, String> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT id, name, created_at FROM runs WHERE project = ?1 ORDER BY created_at, name",
            )
            .map_err(|e| e.to_string())?;
        let rows = q
            .query_map([project], |r| {
                Ok(serde_json::json!({
                    "id": r.get::<_, String>(0)?,
                    "name": r.get::<_, String>(1)?,
                    "created_at": r.get::<_, String>(2)?,
                }))
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
    }

    /// The id of a run given by name or id: the id when given, else the newest run of that name.
    pub fn run_id(
        &self,
        project: &str,
        run: Option<&str>,
        run_id: Option<&str>,
    ) -> Result<Option<String>, String> {
        if let Some(id) = run_id {
            return Ok(Some(id.to_owned()));
        }
        let Some(name) = run else { return Ok(None) };
        self.conn
            .query_row(
                "SELECT id FROM runs WHERE project = ?1 AND name = ?2 ORDER BY created_at DESC LIMIT 1",
                params![project, name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| e.to_string())
    }

    /// The metric names a run logged, sorted.
    pub fn metric_names(&self, project: &str, run_id: &str) -> Result<Vec<String>, String> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT j.key FROM logs, json_each(logs.metrics) AS j \
                 WHERE logs.project = ?1 AND logs.run_id = ?2 ORDER BY j.key",
            )
            .map_err(|e| e.to_string())?;
        let rows = q
            .query_map(params![project, run_id], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
    }

    /// `{timestamp, step, value}` of one metric, by step; `step` keeps only that step, and
    /// `around`/`window` a step range.
    pub fn metric_values(
        &self,
        project: &str,
        run_id: &str,
        metric: &str,
        step: Option<i64>,
        around: Option<(i64, i64)>,
    ) -> Result<Vec<Value>, String> {
        let (low, high) = match (step, around) {
            (Some(s), _) => (s, s),
            (None, Some((center, window))) => {
                (center.saturating_sub(window), center.saturating_add(window))
            }
            (None, None) => (i64::MIN, i64::MAX),
        };
        let path = format!("$.\"{}\"", metric.replace('"', "\\\""));
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT timestamp, step, json_extract(metrics, ?3), json_type(metrics, ?3) FROM logs \
                 WHERE project = ?1 AND run_id = ?2 AND step BETWEEN ?4 AND ?5 \
                 AND json_type(metrics, ?3) IS NOT NULL ORDER BY step, seq",
            )
            .map_err(|e| e.to_string())?;
        let rows = q
            .query_map(params![project, run_id, path, low, high], |r| {
                let kind: String = r.get(3)?;
                let value = match kind.as_str() {
                    "integer" => Value::from(r.get::<_, i64>(2)?),
                    "real" => serde_json::Number::from_f64(r.get::<_, f64>(2)?)
                        .map_or(Value::Null, Value::Number),
                    "text" => Value::String(r.get(2)?),
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    _ => serde_json::from_str(&r.get::<_, String>(2)?).unwrap_or(Value::Null),
                };
                Ok(serde_json::json!({
                    "timestamp": r.get::<_, String>(0)?,
                    "step": r.get::<_, i64>(1)?,
                    "value": value,
                }))
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
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
            .map_err(|e| e.to_string())?;
        let config: Option<String> = self
            .conn
            .query_row(
                "SELECT config FROM runs WHERE project = ?1 AND id = ?2",
                params![project, run_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| e.to_string())?
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
            .map_err(|e| e.to_string())
    }

    /// Every logged value of a run: `(step, metric, value, timestamp)`, by metric then step.
    pub fn run_rows(
        &self,
        project: &str,
        run_id: &str,
    ) -> Result<Vec<(i64, String, Value, String)>, String> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT logs.step, j.key, j.value, logs.timestamp FROM logs, json_each(logs.metrics) AS j \
                 WHERE logs.project = ?1 AND logs.run_id = ?2 ORDER BY j.key, logs.step, logs.seq",
            )
            .map_err(|e| e.to_string())?;
        let rows = q
            .query_map(params![project, run_id], |r| {
                let value = match r.get_ref(2)? {
                    rusqlite::types::ValueRef::Integer(i) => Value::from(i),
                    rusqlite::types::ValueRef::Real(f) => {
                        serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
                    }
                    rusqlite::types::ValueRef::Text(t) => {
                        Value::String(String::from_utf8_lossy(t).into_owned())
                    }
                    _ => Value::Null,
                };
                Ok((r.get(0)?, r.get(1)?, value, r.get(3)?))
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
    }

    /// Records an artifact.
    pub fn add_artifact(
        &mut self,
        project: &str,
        name: &str,
        size: u64,
        sha256: &str,
    ) -> Result<(), String> {
        self.conn
            .execute(
                "INSERT INTO artifacts (project, name, size, sha256, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![project, name, size as i64, sha256, now_iso()],
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_dates() {
        use super::iso_from_unix;
        assert_eq!(iso_from_unix(0, 0), "1970-01-01T00:00:00.000000+00:00");
        assert_eq!(
            iso_from_unix(1_795_780_837, 240_000),
            "2026-11-27T12:00:37.240000+00:00"
        );
        assert_eq!(
            iso_from_unix(951_782_400, 5),
            "2000-02-29T00:00:00.000005+00:00"
        );
    }
}
