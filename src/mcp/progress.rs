//! The messages of a running MCP job (framed as on the queue stream) as progress
//! notifications: its place in line, its start, its progress and log messages, and each
//! partial result of a streaming endpoint. The `progress` value grows with every
//! notification, as MCP requires.

use serde_json::Value;

/// One notification: progress so far, total when known, and a message.
#[derive(Debug, PartialEq)]
pub(crate) struct Update {
    pub(crate) progress: f64,
    pub(crate) total: Option<f64>,
    pub(crate) message: String,
}

/// Turns a job's messages into updates, keeping the count.
#[derive(Default)]
pub(crate) struct Progress {
    last: f64,
}

impl Progress {
    /// The update for one framed message (`data: {...}\n\n`), if it says anything.
    pub(crate) fn update(&mut self, framed: &[u8]) -> Option<Update> {
        let json = framed.strip_prefix(b"data: ")?;
        let json = json.strip_suffix(b"\n\n").unwrap_or(json);
        let message: Value = serde_json::from_slice(json).ok()?;
        let (step, total, text) = match message.get("msg")?.as_str()? {
            "estimation" => {
                let rank = message.get("rank").and_then(Value::as_u64).unwrap_or(0);
                let size = message
                    .get("queue_size")
                    .and_then(Value::as_u64)
                    .unwrap_or(1);
                (
                    None,
                    None,
                    format!("In queue. Position {} out of {size}", rank + 1),
                )
            }
            "process_starts" => (None, None, "Processing".to_owned()),
            "progress" => {
                let data = message.pointer("/progress_data/0")?;
                let index = data.get("index").and_then(Value::as_f64);
                let length = data.get("length").and_then(Value::as_f64);
                let unit = data.get("unit").and_then(Value::as_str).unwrap_or("steps");
                let text = match (data.get("desc").and_then(Value::as_str), index, length) {
                    (Some(desc), Some(i), Some(n)) => format!("Progress {desc}: Step {i} of {n}"),
                    (None, Some(i), Some(n)) => format!("Progress: Step {i} of {n}"),
                    (Some(desc), Some(i), None) => format!("Progress {desc}: {i} {unit}"),
                    (_, Some(i), None) => format!("Progress: {i} {unit}"),
                    (Some(desc), None, _) => format!("Progress {desc}"),
                    (None, None, _) => "Progress".to_owned(),
                };
                (index, length, text)
            }
            "log" => (
                None,
                None,
                message.get("log").and_then(Value::as_str)?.to_owned(),
            ),
            "process_generating" => {
                let data = message.pointer("/output/data")?;
                let text = match data.as_array().map(Vec::as_slice) {
                    Some([Value::String(s)]) => s.clone(),
                    Some([one]) => one.to_string(),
                    _ => data.to_string(),
                };
                (None, None, text)
            }
            _ => return None,
        };
        // Growing: a step beyond the last counts as it is, anything else adds one.
        let progress = match step {
            Some(step) if step > self.last => step,
            _ => self.last + 1.0,
        };
        self.last = progress;
        let total = total.filter(|t| *t >= progress);
        Some(Update {
            progress,
            total,
            message: text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_id::EventId;
    use crate::frames::queue;

    #[test]
    fn messages_become_growing_updates() {
        let id = EventId::new_random();
        let mut p = Progress::default();
        let u = p.update(&queue::estimation(id, 1, 3)).unwrap();
        assert_eq!(
            (u.progress, u.message.as_str()),
            (1.0, "In queue. Position 2 out of 3")
        );
        let u = p.update(&queue::process_starts(id)).unwrap();
        assert_eq!((u.progress, u.message.as_str()), (2.0, "Processing"));
        let u = p
            .update(&queue::progress(id, 5, Some(10), "steps", Some("train")))
            .unwrap();
        assert_eq!(
            u,
            Update {
                progress: 5.0,
                total: Some(10.0),
                message: "Progress train: Step 5 of 10".into()
            }
        );
        // A step that does not grow still moves forward.
        let u = p
            .update(&queue::progress(id, 1, Some(10), "steps", None))
            .unwrap();
        assert_eq!(u.progress, 6.0);
        let u = p
            .update(&queue::process_generating(id, b"[\"partial\"]", true))
            .unwrap();
        assert_eq!((u.progress, u.message.as_str()), (7.0, "partial"));
        let u = p.update(&queue::log(id, "info", "hello")).unwrap();
        assert_eq!(u.message, "hello");
        assert!(p.update(b"event: heartbeat\ndata: null\n\n").is_none());
    }
}
