//! The numeric lines the dashboard draws, kept in memory: per (project, run, metric), each
//! point's step, value as a float and row number, sorted by step. An envelope read then
//! reduces from memory and reads from SQLite only the rows it keeps (a few thousand), so a
//! 1,000,000-point line is drawn without scanning it again. Writes keep cached lines in step,
//! and a run created while the server runs has all its lines cached as they are logged, so
//! even the first read of a long line is served from memory. Deleting a run drops its lines.
//! The cache holds at most a fixed number of points, dropping the least recently read lines
//! first.

use std::borrow::Cow;
use std::collections::HashMap;

/// Points the cache holds at most (24 bytes each, so about 96 MB).
pub const CACHE_POINTS: usize = 4_000_000;

/// One cached line: `(step, value)` sorted by step (then by order of logging), and the row
/// number (`seq`) of each point.
#[derive(Default)]
pub struct Column {
    pub xy: Vec<(i64, f64)>,
    pub seqs: Vec<i64>,
    used: u64,
    /// Where the last point added went, so that a name a row repeats replaces it.
    last: Option<usize>,
}

impl Column {
    /// Adds a point at its place: after every point of a lower or equal step. A second value
    /// from the same row (`seq`) replaces the first: the last value of a repeated name
    /// counts, as when the row's object is parsed whole. Returns whether a point was added.
    fn insert(&mut self, step: i64, y: f64, seq: i64) -> bool {
        if let Some(at) = self.last.filter(|&at| self.seqs.get(at) == Some(&seq)) {
            self.xy[at].1 = y;
            return false;
        }
        let at = if self.xy.last().is_none_or(|&(s, _)| s <= step) {
            self.xy.len()
        } else {
            self.xy.partition_point(|&(s, _)| s <= step)
        };
        self.xy.insert(at, (step, y));
        self.seqs.insert(at, seq);
        self.last = Some(at);
        true
    }

    /// Takes back the point a row (`seq`) just added: its name came again with a value that
    /// is not a number, and the last value counts. Returns whether a point was taken back.
    fn retract(&mut self, seq: i64) -> bool {
        let Some(at) = self
            .last
            .take()
            .filter(|&at| self.seqs.get(at) == Some(&seq))
        else {
            return false;
        };
        self.xy.remove(at);
        self.seqs.remove(at);
        true
    }
}

/// The cached lines of one run; `complete` when every numeric metric of the run is among
/// them (a run created while the server runs, none of whose lines was dropped since).
#[derive(Default)]
struct RunLines {
    complete: bool,
    columns: HashMap<String, Column>,
}

/// One stored row's entries, as `metrics_json::numbers` reads them: name, and value when it
/// is a number.
pub type RowNumbers<'t> = [(Cow<'t, str>, Option<f64>)];

/// The cache.
pub struct SeriesCache {
    /// project → run id → lines (nested, so that a lookup by `&str` allocates nothing).
    runs: HashMap<String, HashMap<String, RunLines>>,
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

    fn run_mut(&mut self, project: &str, run_id: &str) -> Option<&mut RunLines> {
        self.runs.get_mut(project)?.get_mut(run_id)
    }

    fn run_entry(&mut self, project: &str, run_id: &str) -> &mut RunLines {
        self.runs
            .entry(project.to_owned())
            .or_default()
            .entry(run_id.to_owned())
            .or_default()
    }

    /// A cached line, marked as just read.
    pub fn get(&mut self, project: &str, run_id: &str, metric: &str) -> Option<&Column> {
        self.clock += 1;
        let clock = self.clock;
        let column = self.run_mut(project, run_id)?.columns.get_mut(metric)?;
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
            .run_entry(project, run_id)
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
        *self.run_entry(project, run_id) = RunLines {
            complete: true,
            columns: HashMap::new(),
        };
    }

    /// Whether any line of a run is cached (a write to it must then be added).
    pub fn has_run(&self, project: &str, run_id: &str) -> bool {
        self.runs
            .get(project)
            .is_some_and(|runs| runs.contains_key(run_id))
    }

    /// Adds a stored row (its entries read by `metrics_json::numbers`) to the cached lines
    /// of its run: to every line when the run is complete, else to the lines cached.
    pub fn add_row(
        &mut self,
        project: &str,
        run_id: &str,
        step: i64,
        seq: i64,
        entries: &RowNumbers<'_>,
    ) {
        let Some(run) = self.runs.get_mut(project).and_then(|r| r.get_mut(run_id)) else {
            return;
        };
        let (mut added, mut removed) = (0, 0);
        for (metric, value) in entries {
            let Some(y) = *value else {
                if let Some(column) = run.columns.get_mut(&**metric) {
                    removed += usize::from(column.retract(seq));
                }
                continue;
            };
            let new = match run.columns.get_mut(&**metric) {
                Some(column) => column.insert(step, y, seq),
                // Only a complete run gains a line from the middle of its writes.
                None if run.complete => {
                    let mut column = Column::default();
                    column.insert(step, y, seq);
                    run.columns.insert(metric.clone().into_owned(), column);
                    true
                }
                None => false,
            };
            added += usize::from(new);
        }
        self.points = self.points + added - removed;
        self.shrink();
    }

    /// Drops every line of a run.
    pub fn forget_run(&mut self, project: &str, run_id: &str) {
        let Some(runs) = self.runs.get_mut(project) else {
            return;
        };
        if let Some(run) = runs.remove(run_id) {
            self.points -= run.columns.values().map(|c| c.xy.len()).sum::<usize>();
        }
        if runs.is_empty() {
            self.runs.remove(project);
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
            let Some((project, run_id, metric)) = self
                .runs
                .iter()
                .flat_map(|(p, runs)| runs.iter().map(move |(r, run)| (p, r, run)))
                .flat_map(|(p, r, run)| run.columns.iter().map(move |(m, c)| (c.used, p, r, m)))
                .min_by_key(|(used, ..)| *used)
                .map(|(_, p, r, m)| (p.clone(), r.clone(), m.clone()))
            else {
                return;
            };
            if let Some(run) = self.run_mut(&project, &run_id) {
                run.complete = false;
                let dropped = run.columns.remove(&metric).map_or(0, |c| c.xy.len());
                let empty = run.columns.is_empty();
                self.points -= dropped;
                if empty {
                    self.forget_run(&project, &run_id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SeriesCache;

    /// Adds a row given as its metrics text.
    fn add(cache: &mut SeriesCache, run: &str, step: i64, seq: i64, text: &str) {
        let mut entries = Vec::new();
        super::super::metrics_json::numbers(text, &mut entries);
        cache.add_row("p", run, step, seq, &entries);
    }

    #[test]
    fn lines_stay_sorted_and_within_the_limit() {
        use super::Column;
        let mut cache = SeriesCache::new(10);
        let mut c = Column::default();
        for s in 0..4 {
            c.insert(s, s as f64, s);
        }
        assert!(cache.insert("p", "r", "loss", c).is_ok());
        // A late step lands in its place; a row without the metric adds nothing.
        add(&mut cache, "r", 1, 10, r#"{"loss": 0.5, "acc": 1}"#);
        add(&mut cache, "r", 9, 11, r#"{"acc": 1}"#);
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
        let mut cache = SeriesCache::new(10);
        cache.start_run("p", "new");
        add(
            &mut cache,
            "new",
            0,
            1,
            r#"{"loss": 1.5, "note": "text", "acc": 2, "loss": 1.25, "acc": 3, "acc": "x"}"#,
        );
        add(&mut cache, "new", 1, 2, r#"{"loss": 0.5, "acc": 2}"#);
        assert_eq!(cache.points(), 3);
        let loss = cache.get("p", "new", "loss").expect("loss").xy.clone();
        // A repeated name counts once, with its last value.
        assert_eq!(loss, vec![(0, 1.25), (1, 0.5)]);
        // A name whose last value is not a number has no point in that row.
        assert_eq!(cache.get("p", "new", "acc").expect("acc").seqs, vec![2]);
        assert!(cache.get("p", "new", "note").is_none(), "text is not drawn");
        // Over the limit: lines are dropped, and the run is no longer taken as complete, so
        // a metric it logs later is not cached from the middle of its line.
        for s in 2..12 {
            add(&mut cache, "new", s, s + 1, r#"{"loss": 0}"#);
        }
        assert!(cache.points() <= 10);
        add(&mut cache, "new", 12, 13, r#"{"late": 1}"#);
        assert!(cache.get("p", "new", "late").is_none());
    }
}
