//! What clients and the dashboard read most, kept in memory: the projects, each project's runs
//! (`{id, name, created_at}`) and each run's metric names. The store updates it after each
//! write commits (under the store's lock, so it never runs ahead of or behind SQLite), and
//! reads take a shared lock here instead of a trip to the blocking pool and the database.
//!
//! A run's metric names are read from SQLite on first use (a scan of its logs) and kept in step
//! from then on; a run created while the server runs starts with none and is kept from its
//! first write.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::{json, Value};

/// One run as Trackio lists it, with its metric names once known.
struct Run {
    id: String,
    name: String,
    created_at: String,
    /// `None` until read from the database.
    names: Option<BTreeSet<String>>,
}

#[derive(Default)]
struct State {
    /// Each project's runs, by `(created_at, name)` as the database orders them.
    projects: BTreeMap<String, Vec<Run>>,
}

impl State {
    fn run_mut(&mut self, project: &str, id: &str) -> Option<&mut Run> {
        self.projects
            .get_mut(project)?
            .iter_mut()
            .find(|r| r.id == id)
    }
}

/// The catalog of one store.
#[derive(Default)]
pub struct Catalog {
    state: RwLock<State>,
}

impl Catalog {
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces everything with these runs: `(project, id, name, created_at)`.
    pub fn load(&self, runs: Vec<(String, String, String, String)>) {
        let mut state = State::default();
        for (project, id, name, created_at) in runs {
            state.projects.entry(project).or_default().push(Run {
                id,
                name,
                created_at,
                names: None,
            });
        }
        for runs in state.projects.values_mut() {
            runs.sort_by(|a, b| (&a.created_at, &a.name).cmp(&(&b.created_at, &b.name)));
        }
        *self.write() = state;
    }

    /// All project names, sorted.
    pub fn projects(&self) -> Vec<String> {
        self.read().projects.keys().cloned().collect()
    }

    /// Trackio's run records of a project, oldest first; empty for an unknown project.
    pub fn run_records(&self, project: &str) -> Vec<Value> {
        self.read()
            .projects
            .get(project)
            .map(|runs| {
                runs.iter()
                    .map(|r| json!({"id": r.id, "name": r.name, "created_at": r.created_at}))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The id of the newest run named `name`.
    pub fn run_id(&self, project: &str, name: &str) -> Option<String> {
        let state = self.read();
        let runs = state.projects.get(project)?;
        runs.iter()
            .rev()
            .find(|r| r.name == name)
            .map(|r| r.id.clone())
    }

    /// A run's metric names, sorted, when known here.
    pub fn metric_names(&self, project: &str, id: &str) -> Option<Vec<String>> {
        let state = self.read();
        let run = state.projects.get(project)?.iter().find(|r| r.id == id)?;
        run.names.as_ref().map(|n| n.iter().cloned().collect())
    }

    /// Keeps a run's metric names, read from the database.
    pub fn set_metric_names(&self, project: &str, id: &str, names: &[String]) {
        if let Some(run) = self.write().run_mut(project, id) {
            run.names = Some(names.iter().cloned().collect());
        }
    }

    /// Whether a write to this run must tell the catalog its metric names.
    pub fn tracks_names(&self, project: &str, id: &str) -> bool {
        let state = self.read();
        state
            .projects
            .get(project)
            .and_then(|runs| runs.iter().find(|r| r.id == id))
            .is_some_and(|r| r.names.is_some())
    }

    /// Adds metric names a write stored (for runs whose names are kept).
    pub fn add_metric_names<'a>(
        &self,
        project: &str,
        id: &str,
        names: impl IntoIterator<Item = &'a str>,
    ) {
        let mut state = self.write();
        if let Some(known) = state.run_mut(project, id).and_then(|r| r.names.as_mut()) {
            for name in names {
                if !known.contains(name) {
                    known.insert(name.to_owned());
                }
            }
        }
    }

    /// A run a write created (it has no metrics yet).
    pub fn add_run(&self, project: &str, id: &str, name: &str, created_at: &str) {
        let mut state = self.write();
        let runs = state.projects.entry(project.to_owned()).or_default();
        if runs.iter().any(|r| r.id == id) {
            return;
        }
        let at = runs
            .partition_point(|r| (r.created_at.as_str(), r.name.as_str()) <= (created_at, name));
        runs.insert(
            at,
            Run {
                id: id.to_owned(),
                name: name.to_owned(),
                created_at: created_at.to_owned(),
                names: Some(BTreeSet::new()),
            },
        );
    }

    /// A deleted run; a project without runs is no longer listed.
    pub fn remove_run(&self, project: &str, id: &str) {
        let mut state = self.write();
        if let Some(runs) = state.projects.get_mut(project) {
            runs.retain(|r| r.id != id);
            if runs.is_empty() {
                state.projects.remove(project);
            }
        }
    }

    /// A renamed run (its place follows its new name among runs created at the same time).
    pub fn rename_run(&self, project: &str, id: &str, name: &str) {
        let mut state = self.write();
        if let Some(runs) = state.projects.get_mut(project) {
            if let Some(run) = runs.iter_mut().find(|r| r.id == id) {
                run.name = name.to_owned();
            }
            runs.sort_by(|a, b| (&a.created_at, &a.name).cmp(&(&b.created_at, &b.name)));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs_keep_the_database_order_through_writes() {
        use super::Catalog;
        let c = Catalog::default();
        c.load(vec![
            ("p".into(), "b".into(), "b".into(), "2026-01-02".into()),
            ("p".into(), "a".into(), "a".into(), "2026-01-01".into()),
        ]);
        c.add_run("p", "c", "c", "2026-01-01");
        c.add_run("q", "x", "x", "2026-01-03");
        let ids: Vec<_> = c.run_records("p").iter().map(|r| r["id"].clone()).collect();
        assert_eq!(ids, ["a", "c", "b"]);
        assert_eq!(c.projects(), ["p", "q"]);
        assert_eq!(c.metric_names("p", "a"), None, "not read yet");
        assert_eq!(c.metric_names("p", "c"), Some(vec![]), "a new run has none");
        c.add_metric_names("p", "c", ["loss", "acc", "loss"]);
        assert_eq!(c.metric_names("p", "c").unwrap(), ["acc", "loss"]);
        c.rename_run("p", "c", "0");
        assert_eq!(c.run_id("p", "0").as_deref(), Some("c"));
        c.remove_run("q", "x");
        assert_eq!(c.projects(), ["p"]);
    }
}
