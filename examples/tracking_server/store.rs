//! The tracker's storage: one SQLite database (bundled, WAL mode) in the data directory.
//! Every write is one transaction, committed before the call that made it completes. All of
//! it is blocking: the tracker calls it on tokio's blocking pool.
//!
//! Tables: `runs` (project, id, name, created_at, config), `logs` (one row per logged step:
//! its metrics as the JSON text the client sent, with Trackio's `log_id` unique per project so
//! that a retried batch is not stored twice), `traces` (`store_traces.rs`), `system_logs` and
//! `alerts` (`store_events.rs`),
//! and the artifact tables (`store_artifacts.rs`). Metric values are read by parsing that text
//! in Rust (`metrics_json.rs`), never through SQLite's JSON functions, whose number parsing is
//! not correctly rounded: a value comes back bit for bit. Reads of metrics are in
//! `store_reads.rs`. The write-ahead log is checkpointed on a thread of its own
//! (`checkpoint.rs`).

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

#[path = "store_artifacts.rs"]
pub mod artifacts;
#[path = "catalog.rs"]
pub mod catalog;
#[path = "checkpoint.rs"]
mod checkpoint;
#[path = "store_events.rs"]
pub mod events;
#[path = "metrics_json.rs"]
pub mod metrics_json;
#[path = "store_overview.rs"]
pub mod overview;
#[path = "store_reads.rs"]
pub mod reads;
#[path = "series_cache.rs"]
pub mod series_cache;
#[path = "store_traces.rs"]
pub mod traces;
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
    path: PathBuf,
    /// Lines read for drawing, kept in memory and in step with writes.
    series: series_cache::SeriesCache,
    /// Projects, runs and metric names, kept in memory and in step with writes; the tracker
    /// reads it without taking the store.
    catalog: std::sync::Arc<catalog::Catalog>,
    _checkpointer: Checkpointer,
}

/// `rusqlite` errors as the tracker's error messages.
pub trait Sql<T> {
    /// The result, with the error as text.
    fn sql(self) -> Result<T, String>;
}

impl<T> Sql<T> for rusqlite::Result<T> {
    fn sql(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
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
CREATE TABLE IF NOT EXISTS traces (
    seq INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    run_id TEXT NOT NULL,
    id TEXT NOT NULL,
    step INTEGER NOT NULL,
    timestamp TEXT NOT NULL,
    key TEXT NOT NULL,
    trace_index INTEGER,
    messages TEXT NOT NULL,
    metadata TEXT NOT NULL,
    spans TEXT NOT NULL,
    UNIQUE (project, id)
);
CREATE INDEX IF NOT EXISTS traces_by_run ON traces (project, run_id, step);
CREATE TABLE IF NOT EXISTS system_logs (
    seq INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    run_id TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    metrics TEXT NOT NULL,
    log_id TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS system_logs_by_log_id ON system_logs (project, log_id) WHERE log_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS system_logs_by_run ON system_logs (project, run_id, timestamp);
CREATE TABLE IF NOT EXISTS alerts (
    seq INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    run_id TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT,
    level TEXT NOT NULL,
    step INTEGER,
    alert_id TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_by_alert_id ON alerts (project, alert_id) WHERE alert_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS alerts_by_run ON alerts (project, run_id);
CREATE TABLE IF NOT EXISTS artifact_versions (
    id INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    description TEXT,
    version INTEGER NOT NULL,
    manifest TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    metadata TEXT,
    size_bytes INTEGER NOT NULL,
    producer_run_id TEXT,
    producer_run_name TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (project, name, version)
);
CREATE TABLE IF NOT EXISTS artifact_aliases (
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    version_id INTEGER NOT NULL,
    PRIMARY KEY (project, name, alias)
);
CREATE TABLE IF NOT EXISTS artifact_blobs (
    project TEXT NOT NULL,
    digest TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (project, digest)
);
CREATE TABLE IF NOT EXISTS run_artifact_links (
    project TEXT NOT NULL,
    run_id TEXT,
    run_name TEXT,
    version_id INTEGER NOT NULL,
    direction TEXT NOT NULL,
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
        let catalog = std::sync::Arc::new(catalog::Catalog::default());
        catalog.load(
            conn.prepare("SELECT project, id, name, created_at FROM runs")
                .and_then(|mut q| {
                    q.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                        .collect::<Result<Vec<_>, _>>()
                })
                .map_err(|e| db_error(&path, e))?,
        );
        Ok(Store {
            conn,
            path,
            _checkpointer: checkpointer,
            series: series_cache::SeriesCache::new(series_cache::CACHE_POINTS),
            catalog,
        })
    }

    /// The catalog this store keeps in step with its writes.
    pub fn catalog(&self) -> std::sync::Arc<catalog::Catalog> {
        self.catalog.clone()
    }

    /// A run's metric names: from the catalog, or read once and kept there.
    pub fn metric_names_kept(&self, project: &str, run_id: &str) -> Result<Vec<String>, String> {
        if let Some(names) = self.catalog.metric_names(project, run_id) {
            return Ok(names);
        }
        let names = self.metric_names(project, run_id)?;
        self.catalog.set_metric_names(project, run_id, &names);
        Ok(names)
    }

    /// Stores entries in one transaction, in order. Steps left out continue their run.
    pub fn log(&mut self, entries: Vec<Entry>) -> Result<Vec<Stored>, String> {
        let tx = self.conn.transaction().map_err(|e| e.to_string())?;
        let mut stored = Vec::with_capacity(entries.len());
        // The runs this batch writes to (a batch is mostly one run), each looked up once.
        let mut runs: Vec<BatchRun> = Vec::new();
        // Each stored row's run (an index in `runs`) and row number.
        let mut rows: Vec<(usize, i64)> = Vec::with_capacity(entries.len());
        // Entries without a timestamp get the batch's time, as Trackio's storage gives them.
        let mut now: Option<String> = None;
        {
            let mut find_run = tx
                .prepare_cached("SELECT 1 FROM runs WHERE project = ?1 AND id = ?2")
                .map_err(|e| e.to_string())?;
            let mut add_run = tx
                .prepare_cached(
                    "INSERT INTO runs (project, id, name, created_at, config) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(|e| e.to_string())?;
            let mut get_config = tx
                .prepare_cached("SELECT config FROM runs WHERE project = ?1 AND id = ?2")
                .sql()?;
            let mut set_config = tx
                .prepare_cached("UPDATE runs SET config = ?3 WHERE project = ?1 AND id = ?2")
                .sql()?;
            let mut last_step = tx
                .prepare_cached("SELECT MAX(step) FROM logs WHERE project = ?1 AND run_id = ?2")
                .map_err(|e| e.to_string())?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO logs (project, run_id, step, timestamp, metrics, log_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                )
                .map_err(|e| e.to_string())?;
            for (i, e) in entries.into_iter().enumerate() {
                if e.project.trim().is_empty() || e.run.trim().is_empty() {
                    return Err(format!(
                        "entry {i}: project and run must be non-empty names"
                    ));
                }
                let run_id = e.run_id.as_deref().unwrap_or(&e.run);
                let timestamp = match &e.timestamp {
                    Some(t) => t.clone(),
                    None => now.get_or_insert_with(now_iso).clone(),
                };
                // The run's place in `runs`, and whether this entry created it.
                let (at, created) = match runs
                    .iter()
                    .position(|r| r.project == e.project && r.id == run_id)
                {
                    Some(at) => (at, false),
                    None => {
                        let known = find_run
                            .query_row(params![e.project, run_id], |_| Ok(()))
                            .optional()
                            .map_err(|e| e.to_string())?
                            .is_some();
                        if !known {
                            let config = e.config.as_ref().map(Value::to_string);
                            add_run
                                .execute(params![e.project, run_id, e.run, timestamp, config])
                                .sql()?;
                        }
                        runs.push(BatchRun {
                            project: e.project.clone(),
                            id: run_id.to_owned(),
                            created: (!known).then(|| (e.run.clone(), timestamp.clone())),
                            cached: !known || self.series.has_run(&e.project, run_id),
                            named: !known || self.catalog.tracks_names(&e.project, run_id),
                        });
                        (runs.len() - 1, !known)
                    }
                };
                if let (false, Some(update)) = (created, &e.config) {
                    merge_config(&mut get_config, &mut set_config, &e.project, run_id, update)?;
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
                    rows.push((at, tx.last_insert_rowid()));
                    traces::store_traces(
                        &tx,
                        &e.project,
                        run_id,
                        step,
                        &timestamp,
                        e.metrics.as_str(),
                    )?;
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
        self.remember(&runs, &rows, &stored);
        Ok(stored)
    }

    /// Keeps the catalog and the series cache in step with rows just committed: each row's
    /// metrics text is read once, for both.
    fn remember(&mut self, runs: &[BatchRun], rows: &[(usize, i64)], stored: &[Stored]) {
        for run in runs {
            if let Some((name, created)) = &run.created {
                self.series.start_run(&run.project, &run.id);
                self.catalog.add_run(&run.project, &run.id, name, created);
            }
        }
        let mut entries: Vec<(Cow<'_, str>, Option<f64>)> = Vec::new();
        let mut previous: Vec<(Cow<'_, str>, Option<f64>)> = Vec::new();
        for (at, run) in runs.iter().enumerate() {
            if !run.cached && !run.named {
                continue;
            }
            let mut names: HashSet<Cow<'_, str>> = HashSet::new();
            previous.clear();
            for ((_, seq), row) in rows.iter().zip(stored).filter(|((r, _), _)| *r == at) {
                entries.clear();
                metrics_json::numbers(row.metrics.as_str(), &mut entries);
                // Rows mostly repeat the names of the row before, in the same order.
                let same_names = entries.len() == previous.len()
                    && entries.iter().zip(&previous).all(|(a, b)| a.0 == b.0);
                if run.named && !same_names {
                    names.extend(entries.iter().map(|(name, _)| name.clone()));
                }
                if run.cached {
                    self.series
                        .add_row(&run.project, &run.id, row.step, *seq, &entries);
                }
                std::mem::swap(&mut entries, &mut previous);
            }
            if run.named {
                self.catalog
                    .add_metric_names(&run.project, &run.id, names.iter().map(|n| &**n));
            }
        }
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

    /// The name of a run (by id).
    pub fn run_name(&self, project: &str, run_id: &str) -> Result<Option<String>, String> {
        self.conn
            .query_row(
                "SELECT name FROM runs WHERE project = ?1 AND id = ?2",
                params![project, run_id],
                |r| r.get(0),
            )
            .optional()
            .sql()
    }

    /// Deletes a run and everything logged to it (metrics, system metrics, alerts, artifact
    /// links). Returns whether the run existed.
    pub fn delete_run(&mut self, project: &str, run_id: &str) -> Result<bool, String> {
        let tx = self.conn.transaction().sql()?;
        let removed = tx
            .execute(
                "DELETE FROM runs WHERE project = ?1 AND id = ?2",
                params![project, run_id],
            )
            .sql()?;
        for table in [
            "logs",
            "traces",
            "system_logs",
            "alerts",
            "run_artifact_links",
        ] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE project = ?1 AND run_id = ?2"),
                params![project, run_id],
            )
            .sql()?;
        }
        tx.commit().sql()?;
        self.series.forget_run(project, run_id);
        self.catalog.remove_run(project, run_id);
        Ok(removed > 0)
    }

    /// Renames a run (its id stays). Refuses an empty name and a name another run of the
    /// project has, since runs are found by name.
    pub fn rename_run(
        &mut self,
        project: &str,
        run_id: &str,
        new_name: &str,
    ) -> Result<(), String> {
        let taken: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM runs WHERE project = ?1 AND name = ?2 AND id != ?3)",
                params![project, new_name, run_id],
                |r| r.get(0),
            )
            .sql()?;
        if taken {
            return Err(format!(
                "a run named {new_name:?} already exists in project {project:?}; choose another name"
            ));
        }
        self.conn
            .execute(
                "UPDATE runs SET name = ?3 WHERE project = ?1 AND id = ?2",
                params![project, run_id, new_name],
            )
            .sql()?;
        self.catalog.rename_run(project, run_id, new_name);
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
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

/// Applies a JSON merge patch (RFC 7396) to `target`: `null` removes a key, objects merge,
/// anything else replaces.
/// A run one batch writes to, as first seen in the batch.
struct BatchRun {
    project: String,
    id: String,
    /// Its name and creation time when the batch created it.
    created: Option<(String, String)>,
    /// Whether its lines are cached (a new run's always are).
    cached: bool,
    /// Whether the catalog keeps its metric names (a new run's it always does).
    named: bool,
}

/// Merges a resumed run's config update into its stored config (RFC 7396), in Rust, so that no
/// number passes through SQLite's JSON parser.
fn merge_config(
    get: &mut rusqlite::CachedStatement<'_>,
    set: &mut rusqlite::CachedStatement<'_>,
    project: &str,
    run_id: &str,
    update: &Value,
) -> Result<(), String> {
    let old: Option<String> = get
        .query_row(params![project, run_id], |r| r.get(0))
        .optional()
        .sql()?
        .flatten();
    let mut merged = old
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .unwrap_or(Value::Null);
    merge_patch(&mut merged, update);
    set.execute(params![project, run_id, merged.to_string()])
        .sql()?;
    Ok(())
}

fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn merge_patch_follows_rfc_7396() {
        use serde_json::json;
        let mut config = json!({"lr": 5e-324, "opt": {"name": "adam", "b": 0.9}, "gone": 1});
        super::merge_patch(
            &mut config,
            &json!({"opt": {"b": 0.99}, "gone": null, "new": -0.0}),
        );
        assert_eq!(
            config,
            json!({"lr": 5e-324, "opt": {"name": "adam", "b": 0.99}, "new": -0.0})
        );
        assert_eq!(
            config["lr"].as_f64().unwrap().to_bits(),
            5e-324f64.to_bits()
        );
    }

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
