//! Reads of logged metrics: names, one metric's values, whole log rows (`get_logs`), a snapshot
//! around a step, and the rows of an export. Every value is taken from the JSON text
//! the client sent by serde_json (correctly rounded), never by SQLite's JSON functions.

use rusqlite::{params, OptionalExtension};
use serde_json::{json, Map, Value};

use std::collections::HashMap;

use super::metrics_json::{parse_object, pick};
use super::series_cache::Column;
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

/// What an envelope read returns: the points to draw, how many numeric points the range held,
/// and whether some were left out.
pub struct Envelope {
    pub points: Vec<Value>,
    pub count: usize,
    pub reduced: bool,
}

impl Store {
    /// The numeric values of one metric within `steps`, reduced for drawing `buckets` columns
    /// without hiding anything: when there are more than four per bucket, each bucket of
    /// steps keeps its first, last, lowest and highest point (M4), so every spike and dip is
    /// among them. Values that are not numbers (text, media, `"NaN"`) are not drawn and not
    /// counted.
    pub fn envelope(
        &mut self,
        project: &str,
        run_id: &str,
        metric: &str,
        steps: Steps,
        buckets: usize,
    ) -> Result<Envelope, String> {
        let buckets = buckets.max(1);
        // A line read now is kept for the next read; one too long for the cache is used once.
        let refused = match self.series.get(project, run_id, metric) {
            Some(_) => None,
            None => {
                let column = self.read_line(project, run_id, metric)?;
                self.series.insert(project, run_id, metric, column).err()
            }
        };
        let Some(column) = refused
            .as_ref()
            .or_else(|| self.series.get(project, run_id, metric))
        else {
            return Err(format!("the line {metric:?} could not be read"));
        };
        let lo = column.xy.partition_point(|&(s, _)| s < steps.low);
        let hi = column.xy.partition_point(|&(s, _)| s <= steps.high);
        let line = &column.xy[lo..hi];
        let keep: Vec<usize> = if line.len() <= 4 * buckets {
            (0..line.len()).collect()
        } else {
            m4(line, buckets)
        };
        let count = line.len();
        let seqs: Vec<i64> = keep.iter().map(|&i| column.seqs[lo + i]).collect();
        let rows = self.rows_by_seq(&seqs)?;
        let mut points = Vec::with_capacity(seqs.len());
        for seq in seqs {
            let Some((step, timestamp, metrics)) = rows.get(&seq) else {
                continue;
            };
            if let Some(value) = pick(metrics, metric) {
                points.push(json!({"timestamp": timestamp, "step": step, "value": value}));
            }
        }
        Ok(Envelope {
            reduced: points.len() < count,
            points,
            count,
        })
    }

    /// Reads a whole line (its numeric values) from the database.
    fn read_line(&self, project: &str, run_id: &str, metric: &str) -> Result<Column, String> {
        let mut column = Column::default();
        {
            let mut q = self
                .conn
                .prepare_cached(
                    "SELECT step, seq, metrics FROM logs \
                     WHERE project = ?1 AND run_id = ?2 ORDER BY step, seq",
                )
                .sql()?;
            let mut rows = q.query(params![project, run_id]).sql()?;
            while let Some(row) = rows.next().sql()? {
                let text = row
                    .get_ref(2)
                    .and_then(|v| v.as_str().map_err(Into::into))
                    .sql()?;
                if let Some(y) = pick(text, metric).and_then(|v| v.as_f64()) {
                    column.xy.push((row.get(0).sql()?, y));
                    column.seqs.push(row.get(1).sql()?);
                }
            }
        }
        Ok(column)
    }

    /// Rows by their numbers: `seq -> (step, timestamp, metrics)`.
    fn rows_by_seq(&self, seqs: &[i64]) -> Result<HashMap<i64, (i64, String, String)>, String> {
        let mut sorted = seqs.to_vec();
        sorted.sort_unstable();
        let mut out = HashMap::with_capacity(seqs.len());
        for chunk in sorted.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let mut q = self
                .conn
                .prepare_cached(&format!(
                    "SELECT seq, step, timestamp, metrics FROM logs WHERE seq IN ({marks})"
                ))
                .sql()?;
            let rows = q
                .query_map(rusqlite::params_from_iter(chunk), |r| {
                    Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
                })
                .sql()?;
            for row in rows {
                let (seq, rest) = row.sql()?;
                out.insert(seq, rest);
            }
        }
        Ok(out)
    }
}

/// Points of one series sorted by step, as read: step and value as a float, the value as
/// logged, and its timestamp (all timestamps in one string, so a point costs no allocation).
#[derive(Default)]
pub struct Points {
    xy: Vec<(i64, f64)>,
    values: Vec<Value>,
    stamps: String,
    ends: Vec<usize>,
}

impl Points {
    /// Adds a point after the others.
    pub fn push(&mut self, step: i64, y: f64, value: Value, timestamp: &str) {
        self.xy.push((step, y));
        self.values.push(value);
        self.stamps.push_str(timestamp);
        self.ends.push(self.stamps.len());
    }

    fn stamp(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.stamps[start..self.ends[i]]
    }
}

/// Points reduced for drawing `buckets` columns by M4 when there are more than four per
/// bucket; each point kept is `{timestamp, step, value}`.
pub fn reduce(mut points: Points, buckets: usize) -> Envelope {
    let count = points.xy.len();
    let buckets = buckets.max(1);
    let keep: Vec<usize> = if count <= 4 * buckets {
        (0..count).collect()
    } else {
        m4(&points.xy, buckets)
    };
    let reduced = keep.len() < count;
    let out = keep
        .into_iter()
        .map(|i| {
            let value = std::mem::take(&mut points.values[i]);
            json!({"timestamp": points.stamp(i), "step": points.xy[i].0, "value": value})
        })
        .collect();
    Envelope {
        points: out,
        count,
        reduced,
    }
}

/// The indices M4 keeps of points `(step, value)` sorted by step: per bucket of equal step
/// width, the first, last, lowest and highest, in order.
fn m4(points: &[(i64, f64)], buckets: usize) -> Vec<usize> {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Vec::new();
    };
    let (lo, hi) = (first.0 as f64, last.0 as f64);
    let width = ((hi - lo + 1.0) / buckets as f64).max(f64::MIN_POSITIVE);
    let mut keep = Vec::with_capacity(4 * buckets);
    let mut start = 0;
    while start < points.len() {
        let bucket = ((points[start].0 as f64 - lo) / width).floor();
        let mut end = start + 1;
        let (mut low, mut high) = (start, start);
        while end < points.len() && ((points[end].0 as f64 - lo) / width).floor() == bucket {
            if points[end].1 < points[low].1 {
                low = end;
            }
            if points[end].1 > points[high].1 {
                high = end;
            }
            end += 1;
        }
        let mut four = [start, low, high, end - 1];
        four.sort_unstable();
        for (k, i) in four.iter().enumerate() {
            if k == 0 || four[k - 1] != *i {
                keep.push(*i);
            }
        }
        start = end;
    }
    keep
}

#[cfg(test)]
mod tests {
    #[test]
    fn m4_keeps_every_extreme() {
        // 100,000 points between 0 and 1, a spike and a dip where even spreading misses them.
        let points: Vec<(i64, f64)> = (0..100_000i64)
            .map(|s| {
                let y = match s {
                    61_803 => 1000.0,
                    38_197 => -1000.0,
                    _ => (s % 977) as f64 / 977.0,
                };
                (s, y)
            })
            .collect();
        for buckets in [10, 700, 2000] {
            let keep = super::m4(&points, buckets);
            assert!(keep.len() <= 4 * buckets, "{buckets}: {}", keep.len());
            assert!(keep.windows(2).all(|w| w[0] < w[1]), "in order");
            assert!(
                keep.contains(&61_803) && keep.contains(&38_197),
                "{buckets}"
            );
            assert_eq!((keep[0], *keep.last().unwrap()), (0, 99_999));
        }
    }
}
