//! The feeds of the Redis backend: a job's stream read from a cursor, and a session's
//! items read and removed, each waiting for a notification (or a second) between reads.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use redis::Value;
use tokio::sync::Notify;

use super::notify::Channel;
use super::Shared;
use crate::backend::{
    BackendError, EventId, Gone, JobFeed, JobItem, Outcome, SessionFeed, SessionItem, CLOSE_GRACE,
};

/// How many entries one read fetches.
pub(super) const BATCH: usize = 64;
/// How long a reader waits for a notification before it reads again anyway.
const RECHECK: Duration = Duration::from_secs(1);
/// How long a reader waits after a failed read (Redis unreachable) before the next.
const RETRY: Duration = Duration::from_millis(250);

/// A Lua reply as bulk strings (numbers and nils become empty).
pub(super) fn strings(value: Value) -> Vec<Bytes> {
    match value {
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::BulkString(b) => Bytes::from(b),
                Value::SimpleString(s) => Bytes::from(s),
                Value::Int(n) => Bytes::from(n.to_string()),
                _ => Bytes::new(),
            })
            .collect(),
        Value::BulkString(b) => vec![Bytes::from(b)],
        Value::SimpleString(s) => vec![Bytes::from(s)],
        _ => Vec::new(),
    }
}

/// A job-stream entry as a feed item: kind `m` message, `o` complete, `e` error.
fn job_item(kind: &[u8], data: Bytes) -> JobItem {
    match kind {
        b"o" => JobItem::Outcome(Outcome::Complete(data)),
        b"e" => JobItem::Outcome(Outcome::Error(data)),
        _ => JobItem::Message(data),
    }
}

/// Appends id, kind, data triples to `items`; returns the last id.
pub(super) fn push_entries(triples: &[Bytes], items: &mut VecDeque<JobItem>) -> Option<String> {
    let mut last = None;
    for entry in triples.chunks_exact(3) {
        last = Some(String::from_utf8_lossy(&entry[0]).into_owned());
        items.push_back(job_item(&entry[1], entry[2].clone()));
    }
    last
}

/// What one read found.
enum Found {
    /// Something to hand out (or the end): read again at once if needed.
    Some,
    /// Nothing yet: wait for a wake-up.
    Nothing,
    /// Nothing yet: look again after this long, or at a wake-up.
    Later(Duration),
}

/// Runs `read` with a wake-up from `notify` registered first (so that one arriving during the
/// read is not missed). When it finds nothing, waits for the wake-up, or a second at most;
/// when Redis is unreachable, waits a moment (the stream keeps its heartbeats meanwhile).
async fn read_or_wait<F>(notify: &Notify, read: F) -> Result<(), redis::RedisError>
where
    F: std::future::Future<Output = redis::RedisResult<Found>>,
{
    let notified = notify.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    match read.await {
        Ok(Found::Some) => {}
        Ok(Found::Nothing) => {
            let _ = tokio::time::timeout(RECHECK, notified).await;
        }
        Ok(Found::Later(after)) => {
            let _ = tokio::time::timeout(after.min(RECHECK), notified).await;
        }
        Err(e) => {
            tokio::time::sleep(RETRY).await;
            return Err(e);
        }
    }
    Ok(())
}

/// How long a reader's requests have been failing, and when to give up.
#[derive(Default)]
struct Outage {
    since: Option<std::time::Instant>,
}

impl Outage {
    fn ended(&mut self) {
        self.since = None;
    }

    /// Notes a failed request: `None` while the reader should keep trying, or the error to
    /// end its feed with once the store has been unreachable for `give_up_after` (each
    /// request times out on its own, so a stalled link ends a reader within about that long,
    /// and never hangs it).
    fn failed(&mut self, shared: &Shared, e: &redis::RedisError) -> Option<BackendError> {
        let since = *self.since.get_or_insert_with(std::time::Instant::now);
        let limit = shared.options.give_up_after;
        (since.elapsed() >= limit).then(|| {
            BackendError::new(format!(
                "Redis at {} did not answer for {} s: {e}",
                shared.shown,
                limit.as_secs_f64()
            ))
        })
    }
}

struct JobRead {
    shared: Arc<Shared>,
    id: EventId,
    cursor: String,
    items: VecDeque<JobItem>,
    done: bool,
    channel: Arc<Channel>,
    /// The channel's count of wake-ups at the last read (or the watch).
    seen: u64,
    /// Read again even without a wake-up (a wait timed out, or a read failed).
    stale: bool,
    /// The store's epoch when the feed opened: a different one later means the store lost
    /// its keys meanwhile.
    epoch: Bytes,
    /// How long reads have been failing.
    outage: Outage,
}

/// A stream entry id, `<ms>-<seq>`, as a pair that orders like the ids.
fn entry_order(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

impl JobRead {
    /// The outcome that came with a wake-up (`<entry id> <kind> <data>`), when it is past
    /// what was read and nothing else can lie in between: its wake-up is the only one since
    /// the last read began (every message wakes readers too, so a message published since
    /// would have counted).
    fn outcome_from_wake_up(&mut self) -> Option<JobItem> {
        if self.channel.seq() != self.seen.wrapping_add(1) {
            return None;
        }
        let payload = self.channel.payload()?;
        let mut parts = payload.splitn(3, |b| *b == b' ');
        let (entry, kind) = (parts.next()?, parts.next()?);
        let data = parts.next()?;
        let entry = std::str::from_utf8(entry).ok()?;
        if entry_order(entry) <= entry_order(&self.cursor) {
            return None;
        }
        let item = job_item(kind, payload.slice_ref(data));
        if !matches!(item, JobItem::Outcome(_)) {
            return None;
        }
        self.cursor = entry.to_owned();
        Some(item)
    }

    /// Reads the entries after the cursor; `Ok(false)` when there were none.
    async fn read(&mut self) -> redis::RedisResult<bool> {
        let shared = &self.shared;
        let reply = shared
            .run::<Value>(
                shared
                    .script(&shared.scripts.read)
                    .arg(self.id.to_hex().as_str())
                    .arg(&self.cursor)
                    .arg(BATCH)
                    .arg(Shared::epoch_candidate().as_str()),
            )
            .await
            .map(strings)?;
        let epoch = reply.get(1).cloned().unwrap_or_default();
        if reply.first().is_some_and(|s| &s[..] == b"gone") {
            self.items.push_back(JobItem::Gone(self.gone(&epoch)));
            return Ok(true);
        }
        // The job is still there: an epoch changed meanwhile (its key evicted, say) is the
        // one to compare with from now on.
        self.epoch = epoch;
        Ok(
            match push_entries(reply.get(2..).unwrap_or_default(), &mut self.items) {
                Some(last) => {
                    self.cursor = last;
                    true
                }
                None => false,
            },
        )
    }

    /// Why the job is gone: taken by another reader, unless the store's epoch changed.
    fn gone(&self, epoch: &[u8]) -> Gone {
        if epoch == &self.epoch[..] {
            Gone::Delivered
        } else {
            Gone::Lost
        }
    }

    /// Takes the outcome for this reader (removes the finished job): the outcome, or why
    /// another reader has it.
    async fn claim(&mut self, outcome: Outcome) -> redis::RedisResult<JobItem> {
        let shared = &self.shared;
        let id = self.id.to_hex();
        let reply = shared
            .run_taking(|| {
                let mut invocation = shared.script(&shared.scripts.claim);
                invocation
                    .arg(id.as_str())
                    .arg(Shared::epoch_candidate().as_str());
                invocation
            })
            .await?;
        Ok(match reply.first().map(|s| &s[..]) {
            Some(b"1") => JobItem::Outcome(outcome),
            _ => JobItem::Gone(self.gone(reply.get(1).map_or(&[][..], |e| &e[..]))),
        })
    }

    async fn next(&mut self) -> Option<JobItem> {
        loop {
            if let Some(item) = self.items.pop_front() {
                match item {
                    JobItem::Outcome(outcome) => match self.claim(outcome.clone()).await {
                        Ok(item) => {
                            self.done = true;
                            return Some(item);
                        }
                        Err(e) => match self.outage.failed(&self.shared, &e) {
                            // Unreachable: try again, as a read would.
                            None => {
                                self.items.push_front(JobItem::Outcome(outcome));
                                tokio::time::sleep(RETRY).await;
                                continue;
                            }
                            Some(gone) => {
                                self.done = true;
                                return Some(JobItem::Gone(Gone::Unavailable(gone)));
                            }
                        },
                    },
                    JobItem::Gone(_) => {
                        self.done = true;
                        return Some(item);
                    }
                    item => return Some(item),
                }
            }
            if self.done {
                return None;
            }
            if let Some(outcome) = self.outcome_from_wake_up() {
                self.items.push_back(outcome);
                continue;
            }
            // Registered before the read, so that a wake-up during it is not missed.
            let channel = self.channel.clone();
            let notified = channel.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let seq = self.channel.seq();
            if seq != self.seen || self.stale {
                self.seen = seq;
                self.stale = false;
                match self.read().await {
                    Ok(found) => {
                        self.outage.ended();
                        if found {
                            continue;
                        }
                    }
                    Err(e) => {
                        // Unreachable: keep waiting (the poll keeps sending heartbeats), up
                        // to a limit.
                        self.stale = true;
                        match self.outage.failed(&self.shared, &e) {
                            None => tokio::time::sleep(RETRY).await,
                            Some(gone) => {
                                self.items.push_back(JobItem::Gone(Gone::Unavailable(gone)))
                            }
                        }
                        continue;
                    }
                }
            }
            if tokio::time::timeout(RECHECK, notified).await.is_err() {
                self.stale = true;
            }
        }
    }
}

/// The wake-up channel of job `id`: taken before the watch, so that no wake-up after it is
/// missed.
pub(super) fn job_channel(shared: &Shared, id: EventId) -> Arc<Channel> {
    shared
        .notifier
        .channel(format!("{}n:j:{}", shared.prefix, id.to_hex().as_str()))
}

/// The feed of job `id`, starting with `first` (read with the endpoint check, when the
/// channel had counted `seen` wake-ups), then reading after `cursor`.
pub(super) fn job_feed(
    shared: Arc<Shared>,
    id: EventId,
    first: VecDeque<JobItem>,
    cursor: String,
    channel: Arc<Channel>,
    seen: u64,
    epoch: Bytes,
) -> JobFeed {
    let read = JobRead {
        shared,
        id,
        cursor,
        items: first,
        done: false,
        channel,
        seen,
        stale: false,
        epoch,
        outage: Outage::default(),
    };
    futures_util::stream::unfold(read, |mut read| async move {
        read.next().await.map(|item| (item, read))
    })
    .boxed()
}

struct SessionRead {
    shared: Arc<Shared>,
    hash: String,
    generation: String,
    items: VecDeque<SessionItem>,
    done: bool,
    channel: Arc<Channel>,
    /// How long reads have been failing.
    outage: Outage,
}

impl SessionRead {
    async fn next(&mut self) -> Option<SessionItem> {
        loop {
            if let Some(item) = self.items.pop_front() {
                if matches!(item, SessionItem::Closed | SessionItem::Unavailable(_)) {
                    self.done = true;
                }
                return Some(item);
            }
            if self.done {
                return None;
            }
            let (shared, hash, generation) = (&self.shared, &self.hash, &self.generation);
            let (items, ended) = (&mut self.items, &mut self.done);
            let read = read_or_wait(&self.channel.notify, async move {
                let reply = shared
                    .run_taking(|| {
                        let mut invocation = shared.script(&shared.scripts.read_session);
                        invocation
                            .arg(hash)
                            .arg(generation)
                            .arg(BATCH)
                            .arg(CLOSE_GRACE.as_millis() as u64);
                        invocation
                    })
                    .await?;
                match reply.first().map(|s| &s[..]) {
                    Some(b"replaced") => *ended = true,
                    Some(b"closed") => items.push_back(SessionItem::Closed),
                    Some(b"ok") => {
                        for pair in reply[1..].chunks_exact(2) {
                            let item = if &pair[0][..] == b"l" {
                                match std::str::from_utf8(&pair[1]).ok().and_then(EventId::parse) {
                                    Some(id) => SessionItem::Lost(id),
                                    None => continue,
                                }
                            } else {
                                SessionItem::Message(pair[1].clone())
                            };
                            items.push_back(item);
                        }
                    }
                    Some(b"idle") => {
                        let left = reply
                            .get(1)
                            .and_then(|ms| std::str::from_utf8(ms).ok()?.parse::<u64>().ok())
                            .unwrap_or(0);
                        return Ok(Found::Later(Duration::from_millis(left.max(1))));
                    }
                    _ => return Ok(Found::Nothing),
                }
                Ok(Found::Some)
            })
            .await;
            match read {
                Ok(()) => self.outage.ended(),
                Err(e) => {
                    // As a job's reader: past the limit, the stream ends with why.
                    if let Some(gone) = self.outage.failed(&self.shared, &e) {
                        self.items.push_back(SessionItem::Unavailable(gone));
                    }
                }
            }
        }
    }
}

impl Drop for SessionRead {
    /// The reader left: a session with nothing pending or unread goes at once.
    fn drop(&mut self) {
        // Closed or replaced: nothing to do.
        if self.done {
            return;
        }
        let (shared, hash, generation) = (
            self.shared.clone(),
            std::mem::take(&mut self.hash),
            std::mem::take(&mut self.generation),
        );
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = shared
                    .run::<Value>(
                        shared
                            .script(&shared.scripts.left_session)
                            .arg(&hash)
                            .arg(&generation),
                    )
                    .await;
            });
        }
    }
}

/// The feed of session `hash` for reader `generation`.
pub(super) fn session_feed(shared: Arc<Shared>, hash: String, generation: String) -> SessionFeed {
    let channel = shared
        .notifier
        .channel(format!("{}n:s:{hash}", shared.prefix));
    let read = SessionRead {
        shared,
        hash,
        generation,
        items: VecDeque::new(),
        done: false,
        channel,
        outage: Outage::default(),
    };
    futures_util::stream::unfold(read, |mut read| async move {
        read.next().await.map(|item| (item, read))
    })
    .boxed()
}
