//! The numeric lines the dashboard draws, kept in memory: per (project, run, metric), each
//! point's step, value as a float and row number, sorted by step. An envelope read then
//! reduces from memory and reads from SQLite only the rows it keeps (a few thousand), so a
//! 1,000,000-point line is drawn without scanning it again. Writes keep cached lines in step,
//! and a run created while the server runs has all its lines cached as they are logged, so
//! even the first read of a long line is served from memory. Deleting a run drops its lines.
//! The cache holds at most a fixed number of points, dropping the least recently read lines
//! first.

use std::collections::HashMap;

use super::metrics_json::{self, pick};

/// Points the cache holds at most (24 bytes each, so about 96 MB).
pub const CACHE_POINTS: usize = 4_000_000;

/// One cached line: `(step, value)` sorted by step (then by order of logging), and the row
/// number (`seq`) of each point.
#[derive(Default)]
pub struct Column {
    pub xy: Vec<(i64, f64)>,
    pub seqs: Vec<i64>,
    used: u64,
}

impl Column {
    /// Adds a point at its place: after every point of a lower or equal step.
    fn insert(&mut self, step: i64, y: f64, seq: i64) {
        if self.xy.last().is_none_or(|&(s, _)| s <= step) {
            self.xy.push((step, y));
            self.seqs.push(seq);
        } else {
            let at = self.xy.partition_point(|&(s, _)| s <= step);
            self.xy.insert(at, (step, y));
            self.seqs.insert(at, seq);
        }
    }
}

type RunKey = (String, String);

/// The cached lines of one run; `complete` when every numeric metric of the run is among
/// them (a run created while the server runs, none of whose lines was dropped since).
#[derive(Default)]
struct RunLines {
    complete: bool,
    columns: HashMap<String, Column>,
}

/// The cache.
pub struct SeriesCache {
    runs: HashMap<RunKey, RunLines>,
    points: usize,
    limit: usize,
    clock: u64,
}

impl SeriesCache {
    /// An empty cache of at most `limit` points.
    pub fn new(limit: usize) -> SeriesCache {
        SeriesCache {
            runs: HashMap::new(),
            points: 0,
            limit,
            clock: 0,
        }
    }

    /// A cached line, marked as just read.
    pub fn get(&mut self, project: &str, run_id: &str, metric: &str) -> Option<&Column> {
        self.clock += 1;
        let clock = self.clock;
        let key = (project.to_owned(), run_id.to_owned());
        let column = self.runs.get_mut(&key)?.columns.get_mut(metric)?;
        column.used = clock;
        Some(column)
    }

    /// Keeps a whole line that was just read, unless it alone is over the limit (then it is
    /// given back); drops the least recently read lines to make room.
    pub fn insert(
        &mut self,
        project: &str,
        run_id: &str,
        metric: &str,
        mut column: Column,
    ) -> Result<(), Column> {
        if column.xy.len() > self.limit {
            return Err(column);
        }
        self.clock += 1;
        column.used = self.clock;
        self.points += column.xy.len();
        let old = self
            .runs
            .entry((project.to_owned(), run_id.to_owned()))
            .or_default()
            .columns
            .insert(metric.to_owned(), column);
        if let Some(old) = old {
            self.points -= old.xy.len();
        }
        self.shrink();
        Ok(())
    }

    /// A run that was just created: all its lines are cached from its first row on.
    pub fn start_run(&mut self, project: &str, run_id: &str) {
        self.forget_run(project, run_id);
        self.runs.insert(
            (project.to_owned(), run_id.to_owned()),
            RunLines {
                complete: true,
                columns: HashMap::new(),
            },
        );
    }

    /// Whether any line of a run is cached (a write to it must then be added).
    pub fn has_run(&self, project: &str, run_id: &str) -> bool {
        self.runs
            .contains_key(&(project.to_owned(), run_id.to_owned()))
    }

    /// Adds a stored row (`metrics` as logged) to the cached lines of its run.
    pub fn add_row(&mut self, project: &str, run_id: &str, step: i64, seq: i64, metrics: &str) {
        let Some(run) = self.runs.get_mut(&(project.to_owned(), run_id.to_owned())) else {
            return;
        };
        if run.complete {
            let mut entries = Vec::new();
            metrics_json::numbers(metrics, &mut entries);
            for (i, (metric, value)) in entries.iter().enumerate() {
                // A repeated name: its last value counts, as when the object is parsed whole.
                let repeated = entries[i + 1..].iter().any(|(later, _)| later == metric);
                let Some(y) = value.filter(|_| !repeated) else {
                    continue;
                };
                match run.columns.get_mut(&**metric) {
                    Some(column) => column.insert(step, y, seq),
                    None => {
                        let mut column = Column::default();
                        column.insert(step, y, seq);
                        run.columns.insert(metric.clone().into_owned(), column);
                    }
                }
                self.points += 1;
            }
        } else {
            for (metric, column) in run.columns.iter_mut() {
                if let Some(y) = pick(metrics, metric).and_then(|v| v.as_f64()) {
                    column.insert(step, y, seq);
                    self.points += 1;
                }
            }
        }
        self.shrink();
    }

    /// Drops every line of a run.
    pub fn forget_run(&mut self, project: &str, run_id: &str) {
        if let Some(run) = self.runs.remove(&(project.to_owned(), run_id.to_owned())) {
            self.points -= run.columns.values().map(|c| c.xy.len()).sum::<usize>();
        }
    }

    /// Points held.
    #[cfg(test)]
    pub fn points(&self) -> usize {
        self.points
    }

    /// Over the limit: drops the least recently read lines until a tenth of the room is
    /// free again (so that a steady stream of writes does not search for a line to drop at
    /// every row). A run that loses a line is no longer complete.
    fn shrink(&mut self) {
        if self.points <= self.limit {
            return;
        }
        let target = self.limit - self.limit / 10;
        while self.points > target {
            let Some((key, metric)) = self
                .runs
                .iter()
                .flat_map(|(key, run)| run.columns.iter().map(move |(m, c)| (c.used, key, m)))
                .min_by_key(|(used, _, _)| *used)
                .map(|(_, key, m)| (key.clone(), m.clone()))
            else {
                return;
            };
            if let Some(run) = self.runs.get_mut(&key) {
                run.complete = false;
                if let Some(c) = run.columns.remove(&metric) {
                    self.points -= c.xy.len();
                }
                if run.columns.is_empty() {
                    self.runs.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_stay_sorted_and_within_the_limit() {
        use super::{Column, SeriesCache};
        let mut cache = SeriesCache::new(10);
        let mut c = Column::default();
        for s in 0..4 {
            c.insert(s, s as f64, s);
        }
        assert!(cache.insert("p", "r", "loss", c).is_ok());
        // A late step lands in its place; a row without the metric adds nothing.
        cache.add_row("p", "r", 1, 10, r#"{"loss": 0.5, "acc": 1}"#);
        cache.add_row("p", "r", 9, 11, r#"{"acc": 1}"#);
        let col = cache.get("p", "r", "loss").expect("cached");
        assert_eq!(
            col.xy,
            vec![(0, 0.0), (1, 1.0), (1, 0.5), (2, 2.0), (3, 3.0)]
        );
        assert_eq!(col.seqs, vec![0, 1, 10, 2, 3]);
        assert_eq!(cache.points(), 5);
        // Another line pushes the total over 10: the least recently read goes.
        let mut other = Column::default();
        for s in 0..6 {
            other.insert(s, 0.0, 100 + s);
        }
        assert!(cache.insert("p", "r2", "loss", other).is_ok());
        assert!(cache.get("p", "r", "loss").is_none());
        assert_eq!(cache.points(), 6);
        cache.forget_run("p", "r2");
        assert_eq!(cache.points(), 0);
        assert!(!cache.has_run("p", "r2"));
    }

    #[test]
    fn a_new_run_has_every_line_cached_until_one_is_dropped() {
        use super::SeriesCache;
        let mut cache = SeriesCache::new(10);
        cache.start_run("p", "new");
        cache.add_row(
            "p",
            "new",
            0,
            1,
            r#"{"loss": 1.5, "note": "text", "acc": 2}"#,
        );
        cache.add_row("p", "new", 1, 2, r#"{"loss": 0.5}"#);
        let loss = cache.get("p", "new", "loss").expect("loss").xy.clone();
        assert_eq!(loss, vec![(0, 1.5), (1, 0.5)]);
        assert_eq!(cache.get("p", "new", "acc").expect("acc").seqs, vec![1]);
        assert!(cache.get("p", "new", "note").is_none(), "text is not drawn");
        // Over the limit: lines are dropped, and the run is no longer taken as complete, so
        // a metric it logs later is not cached from the middle of its line.
        for s in 2..12 {
            cache.add_row("p", "new", s, s + 1, r#"{"loss": 0}"#);
        }
        assert!(cache.points() <= 10);
        cache.add_row("p", "new", 12, 13, r#"{"late": 1}"#);
        assert!(cache.get("p", "new", "late").is_none());
    }
}
