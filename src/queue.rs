//! The `sse_v3` queue: sessions, their buffered messages, and the `queue/data` stream.
//!
//! A session (the client's `session_hash`) buffers the messages of its jobs until its data
//! stream reads them. The stream sends `close_stream` and ends only when, at that moment, the
//! session has no pending job and no unread message; the session is then removed, and the next
//! join starts a fresh one (the JS client opens a new stream per job once the previous one
//! closed).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use http_body::{Body, Frame};
use tokio::time::{Interval, MissedTickBehavior};

use crate::backend::Outcome;
use crate::event_id::EventId;
use crate::frames;

/// Unread messages per session past which progress and log messages are dropped.
const MAX_BUFFERED: usize = 4_096;

/// `estimation`: the job's place in its endpoint's line (0 = next) and the line's length.
pub(crate) fn estimation(id: EventId, rank: usize, queue_size: usize) -> Bytes {
    frames::queue_message(
        format!(
            "{{\"msg\":\"estimation\",\"event_id\":\"{}\",\"rank\":{rank},\"queue_size\":{queue_size},\"rank_eta\":null}}",
            id.to_hex().as_str()
        )
        .as_bytes(),
    )
}

/// `process_generating`: the first of a job carries the full output list, later ones one
/// diff per output, `[["replace", [], value]]`, which every client applies.
pub(crate) fn process_generating(id: EventId, data: &[u8], first: bool) -> Bytes {
    let id = id.to_hex();
    let mut out = BytesMut::with_capacity(data.len() + 256);
    out.put_slice(b"{\"msg\":\"process_generating\",\"event_id\":\"");
    out.put_slice(id.as_str().as_bytes());
    out.put_slice(b"\",\"output\":{\"data\":");
    if first {
        out.put_slice(data);
    } else {
        // `data` is the output list `[v]`: wrap each value as a replace diff.
        match serde_json::from_slice::<Vec<serde_json::Value>>(data) {
            Ok(values) => {
                let diffs: Vec<serde_json::Value> = values
                    .into_iter()
                    .map(|v| serde_json::json!([["replace", [], v]]))
                    .collect();
                out.put_slice(
                    serde_json::to_string(&diffs)
                        .unwrap_or_else(|_| "[]".into())
                        .as_bytes(),
                );
            }
            Err(_) => out.put_slice(b"[]"),
        }
    }
    out.put_slice(
        b",\"is_generating\":true,\"duration\":null,\"average_duration\":null,\"render_config\":null,\
          \"changed_state_ids\":[],\"used_cache\":null},\"success\":true,\"time_limit\":null}",
    );
    frames::queue_message(&out)
}

/// `progress`, from [`CallContext::progress`](crate::CallContext::progress).
pub(crate) fn progress(
    id: EventId,
    index: u64,
    length: Option<u64>,
    unit: &str,
    desc: Option<&str>,
) -> Bytes {
    let fraction = length
        .filter(|l| *l > 0)
        .map(|l| (index as f64 / l as f64).clamp(0.0, 1.0));
    let json = serde_json::json!({
        "msg": "progress",
        "event_id": id.to_hex().as_str(),
        "progress_data": [{
            "index": index,
            "length": length,
            "unit": unit,
            "progress": fraction,
            "desc": desc,
        }],
    });
    frames::queue_message(json.to_string().as_bytes())
}

/// `log`, from [`CallContext::info`](crate::CallContext::info) and
/// [`CallContext::warning`](crate::CallContext::warning).
pub(crate) fn log(id: EventId, level: &str, message: &str) -> Bytes {
    let title = if level == "warning" {
        "Warning"
    } else {
        "Info"
    };
    let json = serde_json::json!({
        "msg": "log",
        "event_id": id.to_hex().as_str(),
        "log": message,
        "level": level,
        "duration": 10.0,
        "visible": true,
        "title": title,
    });
    frames::queue_message(json.to_string().as_bytes())
}

pub(crate) fn process_starts(id: EventId) -> Bytes {
    frames::queue_message(
        format!(
            "{{\"msg\":\"process_starts\",\"event_id\":\"{}\",\"eta\":null}}",
            id.to_hex().as_str()
        )
        .as_bytes(),
    )
}

/// `process_completed`: success carries `output.data` and no `error` key; failure carries the
/// error payload; a cancelled job completes with an empty output, as Gradio does.
pub(crate) fn process_completed(
    id: EventId,
    outcome: &Outcome,
    cancelled: bool,
    duration: f64,
) -> Bytes {
    let id = id.to_hex();
    let mut out = BytesMut::with_capacity(256);
    out.put_slice(b"{\"msg\":\"process_completed\",\"event_id\":\"");
    out.put_slice(id.as_str().as_bytes());
    out.put_slice(b"\",\"output\":");
    let duration = if duration.is_finite() { duration } else { 0.0 };
    match outcome {
        _ if cancelled => {
            out.put_slice(b"{},\"success\":true,\"title\":null");
        }
        Outcome::Complete(data) => {
            out.put_slice(b"{\"data\":");
            out.put_slice(data);
            out.put_slice(
                format!(
                    ",\"is_generating\":false,\"duration\":{duration},\"average_duration\":{duration},\
                     \"render_config\":null,\"changed_state_ids\":[],\"used_cache\":null}},\
                     \"success\":true,\"title\":null"
                )
                .as_bytes(),
            );
        }
        Outcome::Error(message) => {
            out.put_slice(b"{\"error\":");
            out.put_slice(message);
            out.put_slice(
                b",\"duration\":null,\"visible\":true,\"title\":\"Error\"},\"success\":false,\"title\":\"Error\"",
            );
        }
    }
    out.put_slice(b",\"used_cache\":null,\"cache_duration\":null,\"avg_time\":null}");
    frames::queue_message(&out)
}

/// Why a join was refused.
#[derive(Debug)]
pub(crate) enum JoinError {
    TooManySessions(usize),
    SessionBusy(usize),
}

impl std::fmt::Display for JoinError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JoinError::TooManySessions(n) => write!(
                f,
                "the server already has {n} open queue sessions, its limit; retry later"
            ),
            JoinError::SessionBusy(n) => write!(
                f,
                "this session already has {n} pending jobs, its limit; wait for some to finish"
            ),
        }
    }
}

#[derive(Default)]
struct State {
    messages: VecDeque<Bytes>,
    pending: usize,
    waker: Option<Waker>,
    /// Bumped by every new data stream; older streams end.
    generation: u64,
    attached: bool,
    touched: Option<Instant>,
}

/// One client session.
#[derive(Default)]
pub(crate) struct Session {
    state: Mutex<State>,
}

impl Session {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push_locked(state: &mut State, message: Bytes) {
        state.messages.push_back(message);
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    }
}

/// Limits of the queue.
#[derive(Clone, Debug)]
pub(crate) struct QueueLimits {
    pub(crate) max_sessions: usize,
    pub(crate) max_jobs_per_session: usize,
    pub(crate) idle_ttl: Duration,
}

/// All sessions.
pub(crate) struct Sessions {
    map: DashMap<Box<str>, Arc<Session>>,
    limits: QueueLimits,
}

impl Sessions {
    pub(crate) fn new(limits: QueueLimits) -> Self {
        Self {
            map: DashMap::new(),
            limits,
        }
    }

    /// Registers a new job of session `hash`, creating the session if needed, and queues
    /// its first messages. (The unfinished-call limit is counted by the caller, once for
    /// `/call` and the queue together.)
    pub(crate) fn join(&self, hash: &str, first: &[Bytes]) -> Result<(), JoinError> {
        // Checked before the entry is taken: `len` locks every shard. Concurrent joins may
        // overshoot the limit by a few sessions.
        if !self.map.contains_key(hash) && self.map.len() >= self.limits.max_sessions {
            return Err(JoinError::TooManySessions(self.limits.max_sessions));
        }
        // The map entry is held while the job is counted, so a stream cannot remove the
        // session in between (see `close_if_idle`).
        let session = match self.map.entry(hash.into()) {
            Entry::Occupied(e) => e.into_ref(),
            Entry::Vacant(e) => e.insert(Arc::new(Session::default())),
        };
        let mut state = session.lock();
        if state.pending >= self.limits.max_jobs_per_session {
            return Err(JoinError::SessionBusy(self.limits.max_jobs_per_session));
        }
        state.pending += 1;
        state.touched = Some(Instant::now());
        for message in first {
            Session::push_locked(&mut state, message.clone());
        }
        Ok(())
    }

    /// Queues a message of a running job (progress, log, generating). Progress and log
    /// messages are dropped past the per-session buffer limit; results never are.
    pub(crate) fn push(&self, hash: &str, message: Bytes, droppable: bool) {
        let Some(session) = self.map.get(hash).map(|s| s.clone()) else {
            return;
        };
        let mut state = session.lock();
        if droppable && state.messages.len() >= MAX_BUFFERED {
            return;
        }
        Session::push_locked(&mut state, message);
    }

    /// Queues the final message of a job and counts it done.
    pub(crate) fn complete(&self, hash: &str, message: Bytes) {
        let Some(session) = self.map.get(hash).map(|s| s.clone()) else {
            return;
        };
        let mut state = session.lock();
        state.pending = state.pending.saturating_sub(1);
        Session::push_locked(&mut state, message);
    }

    /// Removes the session if it is still `session` and idle. True when removed.
    fn close_if_idle(&self, hash: &str, session: &Arc<Session>) -> bool {
        self.map
            .remove_if(hash, |_, s| {
                Arc::ptr_eq(s, session) && {
                    let state = s.lock();
                    state.pending == 0 && state.messages.is_empty()
                }
            })
            .is_some()
    }

    /// Opens the data stream of a session; `None` for an unknown session.
    pub(crate) fn attach(self: &Arc<Self>, hash: &str, heartbeat: Duration) -> Option<QueueStream> {
        let session = self.map.get(hash)?.clone();
        let generation = {
            let mut state = session.lock();
            state.generation += 1;
            state.attached = true;
            if let Some(old) = state.waker.take() {
                old.wake();
            }
            state.generation
        };
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Some(QueueStream {
            sessions: self.clone(),
            hash: hash.into(),
            session,
            generation,
            heartbeat: tick,
            closing: false,
            done: false,
        })
    }

    /// Drops sessions that nobody reads and that were idle past the TTL.
    pub(crate) fn sweep(&self, now: Instant) {
        let ttl = self.limits.idle_ttl;
        self.map.retain(|_, session| {
            let state = session.lock();
            state.attached
                || state
                    .touched
                    .is_none_or(|t| now.saturating_duration_since(t) < ttl)
        });
    }

    pub(crate) fn sweep_interval(&self) -> Duration {
        (self.limits.idle_ttl / 4).clamp(Duration::from_millis(50), Duration::from_secs(30))
    }
}

/// The body of `GET {prefix}/queue/data`: `data:` frames only.
pub(crate) struct QueueStream {
    sessions: Arc<Sessions>,
    hash: Box<str>,
    session: Arc<Session>,
    generation: u64,
    heartbeat: Interval,
    closing: bool,
    done: bool,
}

impl Body for QueueStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if this.closing {
            this.done = true;
            return Poll::Ready(None);
        }
        loop {
            let idle = {
                let mut state = this.session.lock();
                if state.generation != this.generation {
                    // A newer stream took over this session.
                    this.done = true;
                    return Poll::Ready(None);
                }
                state.touched = Some(Instant::now());
                if let Some(message) = state.messages.pop_front() {
                    return Poll::Ready(Some(Ok(Frame::data(message))));
                }
                if state.pending > 0 {
                    state.waker = Some(cx.waker().clone());
                    false
                } else {
                    true
                }
            };
            if idle {
                if this.sessions.close_if_idle(&this.hash, &this.session) {
                    this.closing = true;
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(
                        frames::CLOSE_STREAM,
                    )))));
                }
                // A job joined in between, or the session was replaced: look again.
                if !this
                    .sessions
                    .map
                    .get(&*this.hash)
                    .is_some_and(|s| Arc::ptr_eq(&s, &this.session))
                {
                    this.done = true;
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(
                        frames::CLOSE_STREAM,
                    )))));
                }
                continue;
            }
            if this.heartbeat.poll_tick(cx).is_ready() {
                return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(
                    frames::QUEUE_HEARTBEAT,
                )))));
            }
            return Poll::Pending;
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

impl Drop for QueueStream {
    fn drop(&mut self) {
        let mut state = self.session.lock();
        if state.generation == self.generation {
            state.attached = false;
            state.waker = None;
            state.touched = Some(Instant::now());
        }
    }
}

/// The message for a data stream opened on an unknown session.
pub(crate) fn session_not_found(hash: &str) -> Bytes {
    let message = format!(
        "session {hash:?} not found: it has no pending job; POST /queue/join with this session_hash first"
    );
    let json = serde_json::json!({
        "msg": "unexpected_error",
        "event_id": null,
        "message": message,
        "session_not_found": true,
        "success": false,
    });
    frames::queue_message(json.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn completed_messages_have_the_right_shape() {
        let id = EventId::new_random();
        let ok = process_completed(
            id,
            &Outcome::Complete(Bytes::from_static(b"[3]")),
            false,
            0.5,
        );
        let text = std::str::from_utf8(&ok).unwrap();
        assert!(
            text.starts_with("data: {")
                && text.ends_with("}\n\n")
                && !text[..text.len() - 2].contains('\n')
        );
        let v: serde_json::Value = serde_json::from_str(&text[6..]).unwrap();
        assert_eq!(v["output"]["data"], serde_json::json!([3]));
        assert!(v["output"].get("error").is_none());
        assert_eq!(v["success"], true);
        let err = process_completed(id, &Outcome::error("boom"), false, 0.0);
        let v: serde_json::Value =
            serde_json::from_str(std::str::from_utf8(&err[6..]).unwrap()).unwrap();
        assert_eq!(v["output"]["error"], "boom");
        assert_eq!(v["success"], false);
        let cancelled = process_completed(id, &Outcome::error("x"), true, 0.0);
        let v: serde_json::Value =
            serde_json::from_str(std::str::from_utf8(&cancelled[6..]).unwrap()).unwrap();
        assert_eq!(v["output"], serde_json::json!({}));
    }
}
