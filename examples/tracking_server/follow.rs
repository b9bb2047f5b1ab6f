//! What `follow_metric` reads: one shared live source (a [`Fanout`]) per followed project,
//! run and metric, fed by each write after it is stored. However many dashboards follow the
//! same line, each value is encoded once and its frame shared; each call keeps only a cursor,
//! its value cap and its quiet timer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use gradio_compat::{Fanout, Follow};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::tracker::store::Stored;
use super::tracker::MetricPoint;

/// One value as `follow_metric` yields it: which run and metric, then as
/// `get_metric_values` returns values.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct LivePoint {
    /// The run it was logged to.
    pub run: String,
    /// The metric.
    pub metric: String,
    /// When, at which step, and the value.
    #[serde(flatten)]
    pub point: MetricPoint,
}

/// Which values to follow, and for how long.
pub struct Following {
    /// The project.
    pub project: String,
    /// Only this run; every run when `None`.
    pub run: Option<String>,
    /// Only this metric; every metric when `None`.
    pub metric: Option<String>,
    /// Stop after this many values.
    pub max_values: u32,
    /// Stop after this long without a value.
    pub quiet: Duration,
}

/// Values a source keeps for followers that are behind; one further behind ends with an
/// error (its chart would have a hole).
pub const SOURCE_BACKLOG: usize = 16_384;

/// At most this many different (project, run, metric) follows at once.
pub const MAX_SOURCES: usize = 1_024;

/// A followed (project, run, metric): `None` follows every run or metric.
type Key = (String, Option<String>, Option<String>);

/// The live sources of one tracker.
#[derive(Default)]
pub struct LiveSources {
    sources: Mutex<HashMap<Key, Fanout<LivePoint>>>,
}

impl LiveSources {
    /// A follow of the values logged from now on, as `what` asks.
    pub fn follow(&self, what: Following) -> Result<Follow<LivePoint>, String> {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let key = (what.project, what.run, what.metric);
        if !sources.contains_key(&key) && sources.len() >= MAX_SOURCES {
            sources.retain(|_, source| source.followers() > 0);
            if sources.len() >= MAX_SOURCES {
                return Err(format!(
                    "{MAX_SOURCES} different follows are open, the server's limit; follow a \
                     whole project (no run or metric name) or retry later"
                ));
            }
        }
        let source = sources
            .entry(key)
            .or_insert_with(|| Fanout::with_backlog(SOURCE_BACKLOG, Duration::from_secs(15)));
        Ok(source
            .follow()
            .max_values(u64::from(what.max_values))
            .quiet(what.quiet)
            .end_when_behind(
                "this follower fell behind the writes and missed values; start follow_metric \
                 again (get_metric_values reads what was missed)",
            ))
    }

    /// Sends stored entries to the sources that follow them; drops sources nobody follows.
    pub fn publish(&self, stored: &[Stored]) {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        if sources.is_empty() {
            return;
        }
        sources.retain(|_, source| source.followers() > 0);
        for entry in stored {
            // Most writes go to projects nobody follows: look before parsing.
            if !sources.keys().any(|(p, _, _)| *p == entry.project) {
                continue;
            }
            for (metric, value) in entry.metrics.parse() {
                let point = LivePoint {
                    run: entry.run.clone(),
                    metric,
                    point: MetricPoint {
                        timestamp: entry.timestamp.clone(),
                        step: entry.step,
                        value,
                    },
                };
                for ((project, run, name), source) in sources.iter() {
                    let follows = *project == entry.project
                        && run.as_ref().is_none_or(|r| *r == entry.run)
                        && name.as_ref().is_none_or(|m| *m == point.metric);
                    if follows {
                        // A LivePoint always encodes.
                        let _ = source.publish(&point);
                    }
                }
            }
        }
    }

    /// How many calls follow now.
    pub fn followers(&self) -> usize {
        let sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        sources.values().map(Fanout::followers).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logged(project: &str, value: f64) -> Stored {
        Stored {
            project: project.into(),
            run: "r".into(),
            step: 0,
            timestamp: "2026-12-06T00:00:00+00:00".into(),
            metrics: serde_json::from_str(&format!("{{\"loss\":{value}}}")).unwrap(),
        }
    }

    #[tokio::test]
    async fn a_write_between_a_follow_and_its_start_keeps_its_source() {
        let live = LiveSources::default();
        let follow = live
            .follow(Following {
                project: "p".into(),
                run: None,
                metric: Some("loss".into()),
                max_values: 2,
                quiet: Duration::from_secs(5),
            })
            .unwrap();
        // The handler has returned; its call has not started reading yet. A write now used to
        // prune the source (no cursor yet), and the follow then waited for values that went
        // to a new source.
        live.publish(&[logged("p", 1.0)]);
        assert_eq!(live.followers(), 1);
        assert_eq!(live.sources.lock().unwrap().len(), 1, "the source is kept");
        drop(follow);
        live.publish(&[logged("p", 2.0)]);
        assert_eq!(live.followers(), 0);
        assert!(
            live.sources.lock().unwrap().is_empty(),
            "pruned once nobody follows"
        );
    }
}
