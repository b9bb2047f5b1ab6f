//! Where a job's messages and outcome go, through the backend: the job's own feed for the
//! `/call` route, or its queue session's feed, framed for the route that reads them. The
//! runner says what happened; this module decides how it is sent, in one place.

use std::time::Instant;

use bytes::Bytes;

use crate::backend::Outcome;
use crate::event_id::EventId;
use crate::frames;
use crate::frames::queue::{estimation, process_completed, process_generating, process_starts};
use crate::state::Inner;

/// Which route reads a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Polled on `GET {prefix}/call/{api}/{event_id}`.
    Call,
    /// Read on a queue session's data stream.
    Queue,
    /// Read by an MCP `tools/call` on the job's own feed, which turns its messages into
    /// progress notifications: they are framed as on the queue stream.
    #[cfg_attr(not(feature = "mcp"), allow(dead_code))]
    Mcp,
}

impl Delivery {
    /// Whether the job came through the queue.
    pub(crate) fn is_queue(self) -> bool {
        self == Delivery::Queue
    }

    /// Whether its reader wants progress, log and place messages (the `/call` route drops
    /// them, as Gradio does).
    pub(crate) fn wants_updates(self) -> bool {
        self != Delivery::Call
    }

    /// The job's place in its endpoint's line moved. The `/call` route drops estimations,
    /// as Gradio does. (Called from a synchronous callback: a backend that answers later
    /// sends it in the background.)
    pub(crate) fn place(self, inner: &Inner, id: EventId, rank: usize, size: usize) {
        if self.wants_updates() {
            inner
                .backend
                .publish(id, estimation(id, rank, size), true)
                .detach();
        }
    }

    /// The job got its slot and starts (not on the `/call` route).
    pub(crate) async fn starts(self, inner: &Inner, id: EventId) {
        if self.wants_updates() {
            inner.backend.publish(id, process_starts(id), false).await;
        }
    }

    /// A partial result of a streaming job: `data` is the full output list; `first` says
    /// whether it is the job's first (the queue sends later ones as diffs). Each carries the
    /// whole value, so all but the first may be dropped for a reader that is behind.
    pub(crate) async fn partial(self, inner: &Inner, id: EventId, data: &Bytes, first: bool) {
        let (message, droppable) = match self {
            Delivery::Queue => (process_generating(id, data, first), !first),
            Delivery::Call => (frames::generating(data), true),
            // Each is reported whole, so any may be dropped for a reader that is behind.
            Delivery::Mcp => (process_generating(id, data, true), true),
        };
        inner.backend.publish(id, message, droppable).await;
    }

    /// The job's outcome; `started` is when its handler started.
    pub(crate) async fn complete(
        self,
        inner: &Inner,
        id: EventId,
        outcome: Outcome,
        cancelled: bool,
        started: Instant,
    ) {
        let message = match self {
            Delivery::Call | Delivery::Mcp => None,
            Delivery::Queue => Some(process_completed(
                id,
                &outcome,
                cancelled,
                started.elapsed().as_secs_f64(),
            )),
        };
        inner.backend.finish(id, outcome, message).await;
    }
}
