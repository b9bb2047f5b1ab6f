//! Traces (`trackio.Trace` values, an agent's messages and spans): found in each logged entry
//! when it is stored, kept in a table of their own with the id Trackio gives them
//! (`run_id:step:key[:index]`), and read back as Trackio's `get_traces` returns them. Their
//! JSON is written by serde_json, so numbers in spans keep their bits.

use rusqlite::{params, Transaction};
use serde_json::{json, Map, Value};

use super::metrics_json::parse_object;
use super::{Sql, Store};

/// The marker of a trace value.
const TRACE_TYPE: &str = "trackio.trace";

/// Stores the traces in one logged entry's metrics text, if it has any.
pub(super) fn store_traces(
    tx: &Transaction<'_>,
    project: &str,
    run_id: &str,
    step: i64,
    timestamp: &str,
    metrics: &str,
) -> Result<(), String> {
    // Most entries have none: a substring test spares parsing them.
    if !metrics.contains(TRACE_TYPE) {
        return Ok(());
    }
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO traces (project, run_id, id, step, timestamp, key, trace_index, messages, \
             metadata, spans) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
             ON CONFLICT (project, id) DO NOTHING",
        )
        .sql()?;
    for (key, value) in parse_object(metrics) {
        let (items, listed) = match value {
            Value::Array(items) => (items, true),
            other => (vec![other], false),
        };
        for (index, item) in items.into_iter().enumerate() {
            let Value::Object(mut trace) = item else {
                continue;
            };
            if trace.get("_type").and_then(Value::as_str) != Some(TRACE_TYPE) {
                continue;
            }
            let mut id = format!("{run_id}:{step}:{key}");
            if listed {
                id.push_str(&format!(":{index}"));
            }
            let mut field =
                |name: &str, empty: Value| trace.remove(name).unwrap_or(empty).to_string();
            let (messages, metadata, spans) = (
                field("messages", json!([])),
                field("metadata", json!({})),
                field("spans", json!([])),
            );
            insert
                .execute(params![
                    project,
                    run_id,
                    id,
                    step,
                    timestamp,
                    key,
                    listed.then_some(index as i64),
                    messages,
                    metadata,
                    spans
                ])
                .sql()?;
        }
    }
    Ok(())
}

impl Store {
    /// A run's traces (of one step when given), in the order they were logged, as Trackio
    /// returns them: `{id, key, index, run, run_id, step, timestamp, messages, metadata,
    /// spans}`.
    pub fn traces(
        &self,
        project: &str,
        run_id: &str,
        step: Option<i64>,
    ) -> Result<Vec<Value>, String> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT t.id, t.key, t.trace_index, COALESCE(r.name, t.run_id), t.step, t.timestamp, \
                 t.messages, t.metadata, t.spans FROM traces t \
                 LEFT JOIN runs r ON r.project = t.project AND r.id = t.run_id \
                 WHERE t.project = ?1 AND t.run_id = ?2 AND (?3 IS NULL OR t.step = ?3) ORDER BY t.seq",
            )
            .sql()?;
        let rows = q
            .query_map(params![project, run_id, step], |r| {
                let parse =
                    |text: String| serde_json::from_str::<Value>(&text).unwrap_or(Value::Null);
                let mut m = Map::new();
                m.insert("id".into(), Value::String(r.get(0)?));
                m.insert("key".into(), Value::String(r.get(1)?));
                m.insert(
                    "index".into(),
                    r.get::<_, Option<i64>>(2)?.map_or(Value::Null, Value::from),
                );
                m.insert("run".into(), Value::String(r.get(3)?));
                m.insert("run_id".into(), Value::String(run_id.to_owned()));
                m.insert("step".into(), Value::from(r.get::<_, i64>(4)?));
                m.insert("timestamp".into(), Value::String(r.get(5)?));
                m.insert("messages".into(), parse(r.get(6)?));
                m.insert("metadata".into(), parse(r.get(7)?));
                m.insert("spans".into(), parse(r.get(8)?));
                Ok(Value::Object(m))
            })
            .sql()?;
        rows.collect::<Result<_, _>>().sql()
    }
}
