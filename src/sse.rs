//! The two streaming bodies, `/call` polls and the queue's data stream, reading their feeds
//! from the backend with heartbeats meanwhile (their frames are written in `frames`), and the
//! `text/event-stream` response both use.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::backend::{Backend, JobFeed, JobItem, Outcome, Reply, SessionFeed, SessionItem};
use crate::event_id::EventId;
use crate::frames;
use crate::frames::queue::process_lost;

/// A heartbeat timer, created on the first wait: a stream that never waits needs none.
struct Heartbeat {
    tick: Option<Interval>,
    every: Duration,
}

impl Heartbeat {
    fn new(every: Duration) -> Self {
        Self { tick: None, every }
    }

    fn due(&mut self, cx: &mut Context<'_>) -> bool {
        let every = self.every;
        let tick = self.tick.get_or_insert_with(|| {
            let mut tick = tokio::time::interval_at(Instant::now() + every, every);
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            tick
        });
        tick.poll_tick(cx).is_ready()
    }
}

fn data(frame: Bytes) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
    Poll::Ready(Some(Ok(Frame::data(frame))))
}

enum State {
    /// Reading the job's feed; heartbeats go out while it waits.
    Reading(JobFeed),
    /// The terminal frame was handed to the connection; consume on the next poll.
    Delivered,
    /// Consuming the delivered result.
    Consuming(Reply<()>),
    /// The stream ended.
    Done,
}

/// The body of `GET {prefix}/call/{api}/{event_id}`: the job's messages (`event:
/// generating`), then its outcome, with heartbeats meanwhile.
///
/// The job is consumed only when the connection asks for the frame after the terminal one,
/// that is once the terminal frame has been taken by the connection. A client that drops
/// earlier drops this body, and the result stays for another poll.
pub(crate) struct CallStream {
    /// In a mutex only to be `Sync`, as response bodies are: it is reached through `get_mut`,
    /// which never locks.
    state: Mutex<State>,
    heartbeat: Heartbeat,
    backend: Arc<dyn Backend>,
    id: EventId,
}

impl CallStream {
    pub(crate) fn new(
        feed: JobFeed,
        backend: Arc<dyn Backend>,
        id: EventId,
        every: Duration,
    ) -> Self {
        Self {
            state: Mutex::new(State::Reading(feed)),
            heartbeat: Heartbeat::new(every),
            backend,
            id,
        }
    }
}

impl Body for CallStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let state = this.state.get_mut().unwrap_or_else(|e| e.into_inner());
        loop {
            match state {
                State::Done => return Poll::Ready(None),
                State::Delivered => {
                    *state = State::Consuming(this.backend.consume(this.id));
                }
                State::Consuming(reply) => {
                    if Pin::new(reply).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    *state = State::Done;
                    return Poll::Ready(None);
                }
                State::Reading(feed) => match feed.as_mut().poll_next(cx) {
                    Poll::Ready(Some(JobItem::Message(frame))) => return data(frame),
                    Poll::Ready(Some(JobItem::Outcome(outcome))) => {
                        *state = State::Delivered;
                        return data(frames::terminal(&outcome));
                    }
                    Poll::Ready(None) => {
                        // The job was removed while we waited (delivered to a concurrent
                        // poll, or expired).
                        *state = State::Done;
                        let gone = Outcome::error(&format!(
                            "event {} is no longer available (delivered to another poll, or expired)",
                            this.id
                        ));
                        return data(frames::terminal(&gone));
                    }
                    Poll::Pending => {
                        if this.heartbeat.due(cx) {
                            return data(Bytes::from_static(frames::CALL_HEARTBEAT));
                        }
                        return Poll::Pending;
                    }
                },
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        // Never contended: polls take `&mut self`.
        self.state
            .try_lock()
            .is_ok_and(|state| matches!(*state, State::Done))
    }
}

/// The body of `GET {prefix}/queue/data`: the session's messages as `data:` frames, with
/// heartbeats meanwhile, ending with `close_stream` once the session is idle.
pub(crate) struct QueueStream {
    /// In a mutex only to be `Sync` (see [`CallStream`]).
    feed: Mutex<Option<SessionFeed>>,
    heartbeat: Heartbeat,
    /// The lease, for the message of a job whose runner was lost.
    lease: Duration,
}

impl QueueStream {
    pub(crate) fn new(feed: SessionFeed, every: Duration, lease: Duration) -> Self {
        Self {
            feed: Mutex::new(Some(feed)),
            heartbeat: Heartbeat::new(every),
            lease,
        }
    }
}

impl Body for QueueStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let slot = this.feed.get_mut().unwrap_or_else(|e| e.into_inner());
        let Some(feed) = slot else {
            return Poll::Ready(None);
        };
        match feed.as_mut().poll_next(cx) {
            Poll::Ready(Some(SessionItem::Message(frame))) => data(frame),
            Poll::Ready(Some(SessionItem::Lost(id))) => data(process_lost(id, this.lease)),
            Poll::Ready(Some(SessionItem::Closed)) => {
                *slot = None;
                data(Bytes::from_static(frames::CLOSE_STREAM))
            }
            Poll::Ready(None) => {
                // A newer stream took over this session.
                *slot = None;
                Poll::Ready(None)
            }
            Poll::Pending => {
                if this.heartbeat.due(cx) {
                    return data(Bytes::from_static(frames::QUEUE_HEARTBEAT));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.feed.try_lock().is_ok_and(|feed| feed.is_none())
    }
}

/// A `text/event-stream` response with the cache headers both streams use.
pub(crate) fn event_stream(
    body: crate::body::ResponseBody,
) -> http::Response<crate::body::ResponseBody> {
    let mut response = http::Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(http::header::CACHE_CONTROL, crate::body::NO_STORE);
    headers.insert("x-accel-buffering", http::HeaderValue::from_static("no"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_match_the_wire_contract() {
        let ok = frames::terminal(&Outcome::Complete(Bytes::from_static(b"[3]")));
        assert_eq!(&ok[..], b"event: complete\ndata: [3]\n\n");
        let err = frames::terminal(&Outcome::error("bad \"x\"\nline"));
        assert_eq!(
            std::str::from_utf8(&err).unwrap(),
            "event: error\ndata: {\"error\":\"bad \\\"x\\\"\\nline\",\"title\":\"Error\",\"visible\":true,\"duration\":null}\n\n"
        );
    }
}
