//! Reads the dashboard makes of a whole project or run at once: the runs table (each run's
//! dates, last step, config and latest values), the media a run logged, and a run's system
//! metrics reduced for drawing. Values are taken from the JSON the client sent by serde_json,
//! so they come back exactly.

use std::collections::BTreeMap;

use rusqlite::params;
use serde_json::{json, Map, Value};

use super::metrics_json::parse_object;
use super::reads::{reduce, Envelope, Points};
use super::{Sql, Store};

/// Rows read back from a run's end to find the latest value of each of its metrics.
const SUMMARY_ROWS: i64 = 2_000;
/// Metrics in one run's summary, at most.
const SUMMARY_KEYS: usize = 200;
/// Media entries one read returns, at most (the latest).
pub const MEDIA_ENTRIES: usize = 2_000;
/// A run that logged within this many seconds counts as active.
const ACTIVE_SECONDS: i64 = 300;

/// Whether a logged value is media (an object whose `_type` is one of Trackio's).
fn is_media(value: &Value) -> bool {
    value
        .get("_type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.starts_with("trackio."))
}

impl Store {
    /// Every run of a project with what its row in the runs table shows: `name`, `id`,
    /// `created_at`, `last_step`, `last_timestamp`, `num_logs`, `state` (`active` when it logged
    /// in the last five minutes, else `idle`), `config` and `summary` (each scalar metric's
    /// latest value). Runs in order of creation.
    pub fn runs_table(&self, project: &str, now_unix: i64) -> Result<Vec<Value>, String> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT r.id, r.name, r.created_at, r.config, COALESCE(l.n, 0), l.step, l.at \
                 FROM runs r LEFT JOIN (SELECT run_id, COUNT(*) AS n, MAX(step) AS step, \
                 MAX(timestamp) AS at FROM logs WHERE project = ?1 GROUP BY run_id) l \
                 ON l.run_id = r.id WHERE r.project = ?1 ORDER BY r.created_at, r.name",
            )
            .sql()?;
        type RunRow = (
            String,
            String,
            String,
            Option<String>,
            i64,
            Option<i64>,
            Option<String>,
        );
        let runs: Vec<RunRow> = q
            .query_map([project], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .sql()?
            .collect::<Result<_, _>>()
            .sql()?;
        let mut out = Vec::with_capacity(runs.len());
        for (id, name, created_at, config, num_logs, last_step, last_timestamp) in runs {
            let summary = self.summary(project, &id)?;
            let config = config
                .map(|c| Value::Object(parse_object(&c)))
                .unwrap_or(Value::Null);
            let latest = last_timestamp.as_deref().unwrap_or(&created_at);
            let active = unix_of(latest).is_some_and(|t| now_unix - t <= ACTIVE_SECONDS);
            out.push(json!({
                "name": name,
                "id": id,
                "created_at": created_at,
                "last_step": last_step,
                "last_timestamp": last_timestamp,
                "num_logs": num_logs,
                "state": if active { "active" } else { "idle" },
                "config": config,
                "summary": summary,
            }));
        }
        Ok(out)
    }

    /// The latest value of each scalar metric (number, text or boolean) of a run, from its
    /// last rows.
    fn summary(&self, project: &str, run_id: &str) -> Result<Map<String, Value>, String> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT metrics FROM logs WHERE project = ?1 AND run_id = ?2 \
                 ORDER BY step DESC, seq DESC LIMIT ?3",
            )
            .sql()?;
        let rows = q
            .query_map(params![project, run_id, SUMMARY_ROWS], |r| {
                r.get::<_, String>(0)
            })
            .sql()?;
        let mut summary = Map::new();
        for row in rows {
            for (key, value) in parse_object(&row.sql()?) {
                let scalar = matches!(value, Value::Number(_) | Value::String(_) | Value::Bool(_));
                if scalar && summary.len() < SUMMARY_KEYS && !summary.contains_key(&key) {
                    summary.insert(key, value);
                }
            }
        }
        Ok(summary)
    }

    /// The media a run logged (images, audio, video, tables, histograms, HTML): each entry
    /// `{key, step, timestamp, value}` with the value as logged, by key then step; the latest
    /// [`MEDIA_ENTRIES`] at most. Also says how many there were.
    pub fn media(&self, project: &str, run_id: &str) -> Result<(Vec<Value>, usize), String> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT step, timestamp, metrics FROM logs WHERE project = ?1 AND run_id = ?2 \
                 AND instr(metrics, '\"_type\"') > 0 ORDER BY step DESC, seq DESC",
            )
            .sql()?;
        let rows = q
            .query_map(params![project, run_id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .sql()?;
        let mut entries = Vec::new();
        let mut total = 0;
        for row in rows {
            let (step, timestamp, metrics) = row.sql()?;
            for (key, value) in parse_object(&metrics) {
                if !is_media(&value) {
                    continue;
                }
                total += 1;
                if entries.len() < MEDIA_ENTRIES {
                    entries.push((key, step, timestamp.clone(), value));
                }
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let entries = entries
            .into_iter()
            .map(|(key, step, timestamp, value)| {
                json!({"key": key, "step": step, "timestamp": timestamp, "value": value})
            })
            .collect();
        Ok((entries, total))
    }

    /// A run's system metrics, each reduced for drawing `buckets` columns (M4 over the order
    /// of measurement, so no spike is left out). The `step` of a point is its place in that
    /// order.
    pub fn system_envelopes(
        &self,
        project: &str,
        run_id: &str,
        buckets: usize,
    ) -> Result<BTreeMap<String, Envelope>, String> {
        let mut series: BTreeMap<String, Points> = BTreeMap::new();
        let mut index = 0i64;
        self.each_system_row(project, run_id, |timestamp, metrics| {
            for (key, value) in parse_object(metrics) {
                if let Some(y) = value.as_f64() {
                    series
                        .entry(key)
                        .or_default()
                        .push(index, y, value, timestamp);
                }
            }
            index += 1;
        })?;
        Ok(series
            .into_iter()
            .map(|(key, points)| (key, reduce(points, buckets)))
            .collect())
    }
}

/// Seconds since the epoch of an ISO 8601 time `YYYY-MM-DDTHH:MM:SS…` (UTC unless an offset
/// follows the seconds), or None when it is not one.
pub fn unix_of(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let mut secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    // An offset after the seconds and any fraction: +HH:MM or -HH:MM.
    let rest = &text[19..];
    let rest = rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    if let (Some(sign @ ('+' | '-')), Some(h), Some(mi)) = (
        rest.chars().next(),
        rest.get(1..3).and_then(|s| s.parse::<i64>().ok()),
        rest.get(rest.len().saturating_sub(2)..)
            .and_then(|s| s.parse::<i64>().ok()),
    ) {
        let offset = h * 3600 + mi * 60;
        secs += if sign == '+' { -offset } else { offset };
    }
    Some(secs)
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_times_to_unix() {
        use super::unix_of;
        assert_eq!(unix_of("1970-01-01T00:00:00"), Some(0));
        assert_eq!(
            unix_of("2026-12-05T15:08:39.123456+00:00"),
            Some(1_796_483_319)
        );
        assert_eq!(unix_of("2026-12-05T16:08:39+01:00"), Some(1_796_483_319));
        assert_eq!(unix_of("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(unix_of("not a time"), None);
    }
}
