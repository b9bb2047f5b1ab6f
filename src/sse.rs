//! The `/call` stream: the streaming body that delivers a call's result exactly when it is
//! ready, with heartbeats meanwhile (its frames are written in `frames`), and the
//! `text/event-stream` response both streams use.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use tokio::sync::oneshot;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::backend::{EventStore, Outcome};
use crate::event_id::EventId;
use crate::frames;
use crate::live::{Live, LiveUpdates};

enum State {
    /// Waiting for the outcome; heartbeats go out meanwhile.
    Waiting(oneshot::Receiver<Outcome>),
    /// The outcome is known and not yet yielded.
    Ready(Outcome),
    /// The terminal frame was handed to the connection; consume on the next poll.
    Delivered,
    /// The stream ended.
    Done,
}

/// The body of `GET {prefix}/call/{api}/{event_id}`.
///
/// The event is consumed only when the connection asks for the frame after the terminal one,
/// that is once the terminal frame has been taken by the connection. A client that drops
/// earlier drops this body, and the result stays for another poll.
pub(crate) struct CallStream {
    state: State,
    /// Created on the first wait: a result that is ready needs none.
    heartbeat: Option<Interval>,
    every: Duration,
    store: Arc<dyn EventStore>,
    /// Partial results of a streaming call, delivered before the terminal frame.
    live: Option<Arc<Live>>,
    updates: Arc<LiveUpdates>,
    id: EventId,
}

impl CallStream {
    pub(crate) fn ready(
        outcome: Outcome,
        store: Arc<dyn EventStore>,
        updates: Arc<LiveUpdates>,
        id: EventId,
        every: Duration,
    ) -> Self {
        Self::with_state(State::Ready(outcome), store, updates, id, every)
    }

    pub(crate) fn waiting(
        rx: oneshot::Receiver<Outcome>,
        store: Arc<dyn EventStore>,
        updates: Arc<LiveUpdates>,
        id: EventId,
        every: Duration,
    ) -> Self {
        Self::with_state(State::Waiting(rx), store, updates, id, every)
    }

    fn with_state(
        state: State,
        store: Arc<dyn EventStore>,
        updates: Arc<LiveUpdates>,
        id: EventId,
        every: Duration,
    ) -> Self {
        Self {
            state,
            heartbeat: None,
            every,
            store,
            live: updates.get(id),
            updates,
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
        loop {
            match &mut this.state {
                State::Done => return Poll::Ready(None),
                State::Delivered => {
                    this.store.consume(this.id);
                    this.updates.remove(this.id);
                    this.state = State::Done;
                    return Poll::Ready(None);
                }
                State::Ready(_) => {
                    if let Some(frame) = this.live.as_ref().and_then(|l| l.pop()) {
                        return Poll::Ready(Some(Ok(Frame::data(frame))));
                    }
                    let State::Ready(outcome) =
                        std::mem::replace(&mut this.state, State::Delivered)
                    else {
                        unreachable!("matched Ready above")
                    };
                    return Poll::Ready(Some(Ok(Frame::data(frames::terminal(&outcome)))));
                }
                State::Waiting(rx) => {
                    if let Some(frame) = this.live.as_ref().and_then(|l| l.pop_or_wait(cx.waker()))
                    {
                        return Poll::Ready(Some(Ok(Frame::data(frame))));
                    }
                    match Pin::new(rx).poll(cx) {
                        Poll::Ready(Ok(outcome)) => {
                            this.state = State::Ready(outcome);
                            continue;
                        }
                        Poll::Ready(Err(_)) => {
                            // The event was removed while we waited (expired or delivered to
                            // a concurrent poll).
                            this.state = State::Done;
                            let gone = Outcome::error(&format!(
                                "event {} is no longer available (delivered to another poll, or expired)",
                                this.id
                            ));
                            return Poll::Ready(Some(Ok(Frame::data(frames::terminal(&gone)))));
                        }
                        Poll::Pending => {}
                    }
                    let every = this.every;
                    let heartbeat = this.heartbeat.get_or_insert_with(|| {
                        let mut tick = tokio::time::interval_at(Instant::now() + every, every);
                        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
                        tick
                    });
                    if heartbeat.poll_tick(cx).is_ready() {
                        return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(
                            frames::CALL_HEARTBEAT,
                        )))));
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, State::Done)
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
