//! What `follow_metric` yields: the values of a project's writes as they are stored, narrowed
//! to one run and one metric when those are named, until enough values came or none came
//! for a while.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;

use super::tracker::{Logged, MetricPoint};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

struct State {
    rx: Receiver<Arc<[Logged]>>,
    what: Following,
    seen: u32,
    pending: VecDeque<LivePoint>,
}

impl State {
    /// Queues the values of `batch` that are followed.
    fn take(&mut self, batch: &[Logged]) {
        let what = &self.what;
        for entry in batch {
            if entry.project != what.project || what.run.as_ref().is_some_and(|r| *r != entry.run) {
                continue;
            }
            for (metric, value) in &entry.metrics {
                if what.metric.as_ref().is_some_and(|m| m != metric) {
                    continue;
                }
                self.pending.push_back(LivePoint {
                    run: entry.run.clone(),
                    metric: metric.clone(),
                    point: MetricPoint {
                        timestamp: entry.timestamp.clone(),
                        step: entry.step,
                        value: value.clone(),
                    },
                });
            }
        }
    }
}

/// The followed values, as a stream. A follower that falls too far behind (see
/// [`super::tracker::FOLLOW_BACKLOG`]) gets an error saying so, and the stream ends: it would
/// otherwise draw lines with holes.
pub fn follow(
    rx: Receiver<Arc<[Logged]>>,
    what: Following,
) -> impl futures_util::Stream<Item = Result<LivePoint, String>> + Send {
    let state = State {
        rx,
        what,
        seen: 0,
        pending: VecDeque::new(),
    };
    futures_util::stream::unfold(state, |mut st| async move {
        if st.seen >= st.what.max_values {
            return None;
        }
        let deadline = tokio::time::Instant::now() + st.what.quiet;
        loop {
            if let Some(point) = st.pending.pop_front() {
                st.seen += 1;
                return Some((Ok(point), st));
            }
            match tokio::time::timeout_at(deadline, st.rx.recv()).await {
                Err(_) | Ok(Err(RecvError::Closed)) => return None,
                Ok(Err(RecvError::Lagged(missed))) => {
                    st.seen = st.what.max_values;
                    let message = format!(
                        "this follower fell {missed} writes behind and missed their values; \
                         start follow_metric again (get_metric_values reads what was missed)"
                    );
                    return Some((Err(message), st));
                }
                Ok(Ok(batch)) => st.take(&batch),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    fn entry(project: &str, run: &str, metrics: serde_json::Value) -> super::Logged {
        super::Logged {
            project: project.into(),
            run: run.into(),
            step: 1,
            timestamp: "2026-12-03T00:00:00+00:00".into(),
            metrics: metrics.as_object().cloned().unwrap_or_default(),
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime")
    }

    fn following(run: Option<&str>, metric: Option<&str>) -> super::Following {
        super::Following {
            project: "p".into(),
            run: run.map(Into::into),
            metric: metric.map(Into::into),
            max_values: 10,
            quiet: std::time::Duration::from_millis(50),
        }
    }

    #[test]
    fn a_named_run_and_metric_narrow_what_is_followed() {
        use futures_util::StreamExt;
        use serde_json::json;
        use std::sync::Arc;
        let (tx, rx) = tokio::sync::broadcast::channel(8);
        let stream = super::follow(rx, following(Some("a"), Some("loss")));
        let batch: Arc<[super::Logged]> = vec![
            entry("p", "a", json!({"loss": 1.0, "acc": 2.0})),
            entry("p", "b", json!({"loss": 3.0})),
            entry("q", "a", json!({"loss": 4.0})),
        ]
        .into();
        tx.send(batch).unwrap();
        let got: Vec<_> = runtime().block_on(stream.collect());
        let values: Vec<_> = got.into_iter().map(|p| p.unwrap().point.value).collect();
        assert_eq!(values, [json!(1.0)]);
    }

    #[test]
    fn a_follower_that_falls_behind_is_told_and_ends() {
        use futures_util::StreamExt;
        use serde_json::json;
        use std::sync::Arc;
        let (tx, rx) = tokio::sync::broadcast::channel(2);
        let stream = super::follow(rx, following(None, None));
        for i in 0..5 {
            let batch: Arc<[super::Logged]> = vec![entry("p", "a", json!({ "x": i }))].into();
            tx.send(batch).unwrap();
        }
        let got: Vec<_> = runtime().block_on(stream.collect());
        assert_eq!(got.len(), 1, "{got:?}");
        let error = got[0].as_ref().unwrap_err();
        assert!(error.contains("3 writes behind"), "{error}");
    }
}
