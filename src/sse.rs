//! The two streaming bodies, `/call` polls and the queue's data stream, reading their feeds
//! from the backend with heartbeats meanwhile (their frames are written in `frames`), and the
//! `text/event-stream` response both use.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::backend::{Backend, Gone, JobFeed, JobItem, Outcome, SessionFeed, SessionItem};
use crate::event_id::EventId;
use crate::fanout::{Follower, Next};
use crate::follows::Closing;
use crate::frames;
use crate::frames::queue::{process_lost, store_unavailable};

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
    /// The outcome was already known when the poll came: its terminal frame is the whole
    /// body, whose length is then known too (no chunked encoding, one write).
    Last(Bytes),
    /// The terminal frame was handed to the connection: the body has ended, and dropping it
    /// consumes the job.
    Delivered,
    /// The stream ended without delivering the job's outcome.
    Done,
}

/// The body of `GET {prefix}/call/{api}/{event_id}`: the job's messages (`event:
/// generating`), then its outcome, with heartbeats meanwhile.
///
/// The feed consumes the job when it hands out the outcome (so that one poll gets it). An
/// outcome that came with the first read is sent as the body's only frame, its length known
/// before the headers; if the client leaves before the connection took that frame, the result
/// is put back for another poll (`Backend::restore`).
pub(crate) struct CallStream {
    /// In a mutex only to be `Sync`, as response bodies are: it is reached through `get_mut`,
    /// which never locks.
    state: Mutex<State>,
    heartbeat: Heartbeat,
    backend: Arc<dyn Backend>,
    id: EventId,
    /// The outcome sent as the only frame, with its endpoint: what to put back if the frame
    /// never goes out.
    kept: Option<(String, Outcome)>,
}

impl CallStream {
    /// A stream of `feed`, a job of endpoint `api`.
    pub(crate) fn new(
        mut feed: JobFeed,
        backend: Arc<dyn Backend>,
        id: EventId,
        every: Duration,
        api: &str,
    ) -> Self {
        let mut kept = None;
        // A finished job's outcome is usually there already: take it now, so that the body's
        // length is known before its headers go out.
        let state = match feed.as_mut().next().now_or_never() {
            Some(Some(JobItem::Outcome(outcome))) => {
                let frame = frames::terminal(&outcome);
                kept = Some((api.to_owned(), outcome));
                State::Last(frame)
            }
            Some(Some(JobItem::Gone(gone))) => State::Last(gone_frame(id, Some(&gone))),
            Some(Some(JobItem::Message(first))) => State::Reading(
                futures_util::stream::iter([JobItem::Message(first)])
                    .chain(feed)
                    .boxed(),
            ),
            _ => State::Reading(feed),
        };
        Self {
            state: Mutex::new(state),
            heartbeat: Heartbeat::new(every),
            backend,
            id,
            kept,
        }
    }
}

/// The terminal frame of a poll whose job ended without an outcome for it: why, when known.
fn gone_frame(id: EventId, gone: Option<&Gone>) -> Bytes {
    let message = match gone {
        Some(gone) => format!("event {id} is no longer available: {gone}"),
        None => format!(
            "event {id} is no longer available (delivered to another poll, expired, or lost by \
             the shared store)"
        ),
    };
    frames::terminal(&Outcome::error(&message))
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
        match state {
            State::Done | State::Delivered => Poll::Ready(None),
            State::Last(_) => {
                let State::Last(frame) = std::mem::replace(state, State::Delivered) else {
                    return Poll::Ready(None);
                };
                data(frame)
            }
            State::Reading(feed) => match feed.as_mut().poll_next(cx) {
                Poll::Ready(Some(JobItem::Message(frame))) => data(frame),
                Poll::Ready(Some(JobItem::Outcome(outcome))) => {
                    *state = State::Delivered;
                    data(frames::terminal(&outcome))
                }
                Poll::Ready(Some(JobItem::Gone(gone))) => {
                    *state = State::Done;
                    data(gone_frame(this.id, Some(&gone)))
                }
                Poll::Ready(None) => {
                    // The job was removed while we waited, for a reason the backend did not
                    // say.
                    *state = State::Done;
                    data(gone_frame(this.id, None))
                }
                Poll::Pending => {
                    if this.heartbeat.due(cx) {
                        return data(Bytes::from_static(frames::CALL_HEARTBEAT));
                    }
                    Poll::Pending
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        // Never contended: polls take `&mut self`.
        self.state
            .try_lock()
            .is_ok_and(|state| matches!(*state, State::Delivered | State::Done))
    }

    fn size_hint(&self) -> SizeHint {
        match self.state.try_lock().as_deref() {
            Ok(State::Last(frame)) => SizeHint::with_exact(frame.len() as u64),
            Ok(State::Delivered | State::Done) => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

impl Drop for CallStream {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        // Taken, but the client left before the frame went out: put it back.
        if let (State::Last(_), Some((api, outcome))) = (state, self.kept.take()) {
            self.backend.restore(self.id, &api, outcome).detach();
        }
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
            Poll::Ready(Some(SessionItem::Unavailable(e))) => {
                *slot = None;
                data(store_unavailable(&e))
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

/// The body of a `/call` poll of a follow call on a local backend: the frames of the fan-out's
/// values, shared with every other follower (each a `Bytes` clone of one encoding), read
/// through this poll's cursor; then the terminal frame when the fan-out ends. Heartbeats come
/// from the fan-out too: no timer per follower.
pub(crate) struct FollowStream {
    follower: Option<Follower>,
    closing: Arc<Closing>,
    key: u64,
    registered: bool,
}

impl FollowStream {
    pub(crate) fn new(follower: Follower, closing: Arc<Closing>) -> Self {
        Self {
            follower: Some(follower),
            key: closing.key(),
            closing,
            registered: false,
        }
    }
}

impl Drop for FollowStream {
    fn drop(&mut self) {
        if self.registered {
            self.closing.forget(self.key);
        }
    }
}

impl Body for FollowStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let Some(follower) = &mut this.follower else {
            return Poll::Ready(None);
        };
        if this.closing.poll_closed(this.key, &mut this.registered, cx) {
            // The service shuts down: as a running call's stream ends when cancelled.
            this.follower = None;
            return data(frames::terminal(&Outcome::error("the call was cancelled")));
        }
        match follower.poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Next::Item(item)) => data(item.call_frame),
            Poll::Ready(Next::End(outcome)) => {
                this.follower = None;
                data(frames::terminal(&outcome))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.follower.is_none()
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
