//! Where a job's messages and outcome go: the event store and the live buffer for the `/call`
//! route, or a queue session's stream. The runner says what happened; this module decides
//! where it goes, in one place.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::backend::Outcome;
use crate::event_id::EventId;
use crate::queue::{estimation, process_completed, process_generating, process_starts, Sessions};
use crate::state::Inner;

/// Where a job's outcome goes.
pub(crate) enum Delivery {
    /// The event store (and, for streams, the live buffer), polled on
    /// `GET {prefix}/call/{api}/{event_id}`.
    Call,
    /// A queue session's data stream.
    Queue(Box<str>),
}

impl Delivery {
    /// Prepares delivery before the job starts: a streaming `/call` job gets its live
    /// buffer. Returns where the handler's progress and log messages go (the queue session;
    /// the `/call` route drops them, as Gradio does).
    pub(crate) fn open(
        &self,
        inner: &Inner,
        id: EventId,
        streaming: bool,
    ) -> Option<(Arc<Sessions>, Box<str>)> {
        match self {
            Delivery::Queue(hash) => Some((inner.sessions.clone(), hash.clone())),
            Delivery::Call => {
                if streaming {
                    inner.live.open(id);
                }
                None
            }
        }
    }

    /// Whether the job came through the queue.
    pub(crate) fn is_queue(&self) -> bool {
        matches!(self, Delivery::Queue(_))
    }

    /// The job's place in its endpoint's line moved. The `/call` route drops estimations,
    /// as Gradio does.
    pub(crate) fn place(&self, inner: &Inner, id: EventId, rank: usize, size: usize) {
        if let Delivery::Queue(hash) = self {
            inner.sessions.push(hash, estimation(id, rank, size), true);
        }
    }

    /// The job got its slot and starts (queue only).
    pub(crate) fn starts(&self, inner: &Inner, id: EventId) {
        if let Delivery::Queue(hash) = self {
            inner.sessions.push(hash, process_starts(id), false);
        }
    }

    /// A partial result of a streaming job: `data` is the full output list; `first` says
    /// whether it is the job's first (the queue sends later ones as diffs).
    pub(crate) fn partial(&self, inner: &Inner, id: EventId, data: &Bytes, first: bool) {
        match self {
            Delivery::Queue(hash) => {
                inner
                    .sessions
                    .push(hash, process_generating(id, data, first), false)
            }
            Delivery::Call => inner.live.push(id, data),
        }
    }

    /// The job's outcome; `started` is when its handler started.
    pub(crate) fn complete(
        self,
        inner: &Inner,
        id: EventId,
        outcome: Outcome,
        cancelled: bool,
        started: Instant,
    ) {
        match self {
            Delivery::Call => {
                inner.live.finish(id);
                inner.store.finish(id, outcome);
            }
            Delivery::Queue(hash) => {
                let elapsed = started.elapsed().as_secs_f64();
                inner
                    .sessions
                    .complete(&hash, process_completed(id, &outcome, cancelled, elapsed));
            }
        }
    }
}
