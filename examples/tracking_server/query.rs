//! `query_project`: the user's own SQL over one project's data, read-only.
//!
//! Each query gets a connection of its own, opened read-only, on which the project's data is
//! offered as temporary views with Trackio's table names (`metrics`, `configs`,
//! `system_metrics`, `alerts`, `traces`, plus `runs`), each filtered to the project. SQLite's authorizer
//! then allows only reading through those views and calling functions: a direct read of the
//! stored tables (other projects' rows), any write, `ATTACH`, a pragma that is not a plain
//! read, a transaction and `load_extension` are refused before the query runs. A progress
//! handler stops a query that runs past its time limit, and a query that returns more rows
//! than the limit is refused rather than cut.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Map, Value};

/// How long one query may run.
pub const TIME_LIMIT: Duration = Duration::from_secs(5);
/// How many rows one query may return (Trackio's limit).
pub const ROW_LIMIT: usize = 10_000;

/// The views a query sees, by name: each reads the stored tables of one project.
const VIEWS: [(&str, &str); 6] = [
    (
        "metrics",
        "SELECT l.seq AS id, l.run_id, l.timestamp, r.name AS run_name, l.step, l.metrics, l.log_id \
         FROM main.logs l JOIN main.runs r ON r.project = l.project AND r.id = l.run_id \
         WHERE l.project = {p}",
    ),
    (
        "configs",
        "SELECT id AS run_id, name AS run_name, config, created_at FROM main.runs \
         WHERE project = {p} AND config IS NOT NULL",
    ),
    (
        "system_metrics",
        "SELECT s.seq AS id, s.run_id, s.timestamp, r.name AS run_name, s.metrics, s.log_id \
         FROM main.system_logs s JOIN main.runs r ON r.project = s.project AND r.id = s.run_id \
         WHERE s.project = {p}",
    ),
    (
        "alerts",
        "SELECT a.seq AS id, a.run_id, a.timestamp, r.name AS run_name, a.title, a.text, a.level, \
         a.step, a.alert_id FROM main.alerts a \
         JOIN main.runs r ON r.project = a.project AND r.id = a.run_id WHERE a.project = {p}",
    ),
    (
        "traces",
        "SELECT t.id, t.run_id, t.timestamp, r.name AS run_name, t.step, t.key, t.trace_index, \
         t.messages, t.metadata, t.spans FROM main.traces t \
         JOIN main.runs r ON r.project = t.project AND r.id = t.run_id WHERE t.project = {p}",
    ),
    (
        "runs",
        "SELECT id, name, created_at, config FROM main.runs WHERE project = {p}",
    ),
];

/// Pragmas that only read and take no value.
const READ_PRAGMAS: [&str; 4] = ["table_info", "table_xinfo", "table_list", "user_version"];

/// SQLite's table-valued JSON functions.
const JSON_TABLES: [&str; 2] = ["json_each", "json_tree"];

/// Functions a query may not call.
const DENIED_FUNCTIONS: [&str; 2] = ["load_extension", "sqlite_compileoption_get"];

fn authorize(ctx: AuthContext<'_>) -> Authorization {
    let allowed = match ctx.action {
        AuthAction::Select => true,
        // Reads of the stored tables only through the views; of the views themselves and of
        // a query's own CTEs (no database), always.
        // SQLite's JSON table functions (json_each, json_tree) read only the values given.
        AuthAction::Read { table_name, .. } if JSON_TABLES.contains(&table_name) => true,
        AuthAction::Read { .. } => match ctx.database_name {
            Some("main") => ctx
                .accessor
                .is_some_and(|v| VIEWS.iter().any(|(n, _)| *n == v)),
            Some("temp") | None => true,
            _ => false,
        },
        AuthAction::Function { function_name } => !DENIED_FUNCTIONS
            .iter()
            .any(|f| f.eq_ignore_ascii_case(function_name)),
        AuthAction::Pragma {
            pragma_name,
            pragma_value,
        } => {
            let name = pragma_name.to_ascii_lowercase();
            READ_PRAGMAS.contains(&name.as_str())
                && (name.starts_with("table_") || pragma_value.is_none())
        }
        // Recursive CTEs read their own rows.
        AuthAction::Recursive => true,
        _ => false,
    };
    if allowed {
        Authorization::Allow
    } else {
        Authorization::Deny
    }
}

fn cell(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => serde_json::Number::from_f64(f)
            .map_or_else(|| Value::String(f.to_string()), Value::Number),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => match std::str::from_utf8(b) {
            Ok(s) => Value::String(s.to_owned()),
            Err(_) => Value::String(b.iter().map(|x| format!("{x:02x}")).collect()),
        },
    }
}

/// Why a statement was refused, in words a person can act on.
fn refused(e: rusqlite::Error) -> String {
    let text = e.to_string();
    let writes = [
        "not authorized",
        "prohibited",
        "cannot modify",
        "readonly",
        "read-only",
        "query_only",
    ];
    if writes.iter().any(|w| text.contains(w)) {
        format!(
            "query_project is read-only: only SELECT (or WITH) over the tables metrics, configs, \
             system_metrics, alerts, traces and runs of this project is allowed ({text})"
        )
    } else if text.contains("interrupted") {
        format!(
            "the query ran longer than {} s and was stopped; add a WHERE or LIMIT",
            TIME_LIMIT.as_secs()
        )
    } else {
        format!("the query failed: {text}")
    }
}

/// Runs `query` over `project`'s data in the database at `db`; Trackio's result shape
/// (`{project, query, columns, rows, row_count}`).
pub fn run(db: &Path, project: &str, query: &str) -> Result<Value, String> {
    let query = query.trim().trim_end_matches(';').trim();
    if query.is_empty() {
        return Err("the query is empty; send a SELECT statement".into());
    }
    let head: String = query
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase();
    if !["select", "with", "pragma"].contains(&head.as_str()) {
        return Err(format!(
            "query_project is read-only: the query must start with SELECT, WITH or PRAGMA, not {head:?}"
        ));
    }
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("the database cannot be opened for reading: {e}"))?;
    let quoted = format!("'{}'", project.replace('\'', "''"));
    for (name, body) in VIEWS {
        conn.execute_batch(&format!(
            "CREATE TEMP VIEW {name} AS {}",
            body.replace("{p}", &quoted)
        ))
        .map_err(|e| format!("cannot prepare the project's tables: {e}"))?;
    }
    conn.execute_batch("PRAGMA query_only = 1")
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + TIME_LIMIT;
    conn.progress_handler(10_000, Some(move || Instant::now() > deadline));
    conn.authorizer(Some(authorize));
    let mut stmt = conn.prepare(query).map_err(refused)?;
    let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let mut rows = stmt.query([]).map_err(refused)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(refused)? {
        if out.len() == ROW_LIMIT {
            return Err(format!(
                "the query returned more than {ROW_LIMIT} rows; refine it or add a LIMIT"
            ));
        }
        let mut m = Map::new();
        for (i, c) in columns.iter().enumerate() {
            m.insert(c.clone(), cell(row.get_ref(i).map_err(refused)?));
        }
        out.push(Value::Object(m));
    }
    Ok(json!({
        "project": project,
        "query": query,
        "columns": columns,
        "row_count": out.len(),
        "rows": out,
    }))
}

#[cfg(test)]
mod tests {
    /// A database with two projects' rows, as the tracker keeps them.
    #[allow(dead_code)] // benches build this module without its tests
    fn database() -> (std::path::PathBuf, rusqlite::Connection) {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "query-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let store = super::super::tracker::store::Store::open(&dir).unwrap();
        drop(store);
        let path = dir.join(super::super::tracker::store::DB_FILE);
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "INSERT INTO runs VALUES ('mine', 'r1', 'r1', 't', '{\"lr\": 0.1}');
             INSERT INTO runs VALUES ('theirs', 'x', 'secret-run', 't', NULL);
             INSERT INTO logs (project, run_id, step, timestamp, metrics) VALUES ('mine', 'r1', 0, 't', '{\"loss\": 5e-324}');
             INSERT INTO logs (project, run_id, step, timestamp, metrics) VALUES ('theirs', 'x', 0, 't', '{\"secret\": 1}');",
        )
        .unwrap();
        (path, conn)
    }

    #[test]
    fn reads_see_only_the_project_and_everything_else_is_refused() {
        use super::run;
        use serde_json::json;
        let (db, conn) = database();
        let ok = run(&db, "mine", "SELECT run_name, step, metrics FROM metrics").unwrap();
        assert_eq!(
            ok["rows"],
            json!([{"run_name": "r1", "step": 0, "metrics": "{\"loss\": 5e-324}"}])
        );
        let runs = run(&db, "mine", "SELECT name FROM runs").unwrap();
        assert_eq!(runs["rows"], json!([{"name": "r1"}]));
        let counted = run(
            &db,
            "mine",
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100) SELECT COUNT(*) AS n FROM c",
        )
        .unwrap();
        assert_eq!(counted["rows"], json!([{"n": 100}]));
        assert!(run(&db, "mine", "PRAGMA table_info(metrics)").is_ok());
        for hostile in [
            "DELETE FROM metrics",
            "UPDATE runs SET name = 'x'",
            "WITH x AS (SELECT 1) DELETE FROM main.logs",
            "SELECT * FROM main.logs",
            "SELECT * FROM main.runs WHERE project = 'theirs'",
            "SELECT name FROM sqlite_master",
            "SELECT load_extension('/tmp/x')",
            "PRAGMA journal_mode = DELETE",
            "PRAGMA user_version = 3",
            "ATTACH DATABASE ':memory:' AS x",
            "SELECT 1; DROP TABLE logs",
            "",
        ] {
            assert!(
                run(&db, "mine", hostile).is_err(),
                "{hostile:?} was allowed"
            );
        }
        let long = run(
            &db,
            "mine",
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c",
        )
        .unwrap_err();
        assert!(long.contains("was stopped"), "{long}");
        let many = run(
            &db,
            "mine",
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c",
        )
        .unwrap_err();
        assert!(many.contains("more than 10000 rows"), "{many}");
        // Nothing was changed.
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM logs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
    }
}
