//! [`RedisBackend`] (feature `redis`): the backend on a Redis or Valkey server that several
//! replicas share, so that every route works on any replica without sticky sessions.
//!
//! - Jobs, results and limits live in keys that Lua scripts update atomically (one round trip
//!   each); the unfinished limit and the result capacity count across the cluster.
//! - A `/call` job's messages and its outcome go into one Redis Stream per job, read from a
//!   cursor: its order is kept, a poller that comes late reads from the start, and the
//!   outcome is always the last entry. A session's items go into a stream per session that
//!   its reader removes as it reads. Streams rather than pub/sub carry the data, because a
//!   message published while nobody listens would be lost; pub/sub only wakes readers up
//!   (and carries cancels to the replica running the job), and a reader reads again each
//!   second anyway, so a lost wake-up costs at most a second.
//! - Leases are keys with an expiry that each replica renews; any replica's sweep ends the
//!   jobs of a replica whose key expired.
//! - Per-endpoint concurrency limits and queue ranks stay per replica.

mod clock;
mod feeds;
mod link;
mod notify;
mod scripts;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use redis::aio::ConnectionManagerConfig;
use redis::{FromRedisValue, RedisResult, Script, ScriptInvocation, Value};

use crate::backend::interface::lost_message;
use crate::backend::{
    Backend, BackendError, BackendLimits, BeginError, CancelHandler, EventId, FileRecord, JobFeed,
    LookupError, Outcome, Reply, RunnerId, SessionFeed,
};
use clock::ServerClock;
use feeds::{job_channel, job_feed, push_entries, session_feed, strings, BATCH};
use link::Link;
use notify::{listen, Notifier};
use scripts::Scripts;

/// What every request and feed of one backend shares.
struct Shared {
    link: Arc<Link>,
    options: RedisOptions,
    /// When a request of this process to Redis last failed: for a lease after it, lapsed
    /// leases are not taken as dead runners (they could not renew either).
    last_failure: std::sync::Mutex<Option<Instant>>,
    /// Key prefix, ending in `:`.
    prefix: String,
    limits: BackendLimits,
    /// The server's address without credentials, for messages.
    shown: String,
    scripts: Scripts,
    notifier: Arc<Notifier>,
    listener: tokio::task::JoinHandle<()>,
    /// The server's clock, for the deadlines of requests that take a result or a session's
    /// items.
    clock: ServerClock,
}

impl Shared {
    /// `script`, with the key prefix as its first argument (every script takes it so).
    fn script<'a>(&'a self, script: &'a Script) -> ScriptInvocation<'a> {
        let mut invocation = script.prepare_invoke();
        invocation.arg(&self.prefix);
        invocation
    }

    /// A new epoch to propose, should the store have none (see `EPOCH` in `scripts.rs`):
    /// fresh each time, so that an epoch made again after a loss never equals the old one.
    fn epoch_candidate() -> crate::event_id::EventIdHex {
        EventId::new_random().to_hex()
    }

    /// Notes a failed request: the link may look for the primary again, and lapsed leases
    /// are not judged for a while.
    fn failed(&self, e: &redis::RedisError) {
        self.link.failed(e);
        *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// Whether this process could not reach Redis within the last lease: then every runner
    /// may have been cut off as well (a failover, an outage), and a lapsed lease is no sign
    /// of a dead runner yet.
    fn recently_cut_off(&self) -> bool {
        self.last_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|at| at.elapsed() < self.limits.lease)
    }

    /// Runs a script that takes something (a result, a session's items) with a deadline in
    /// the server's clock as its last argument (see `clock.rs`); `invocation` gives the
    /// script and its other arguments. A refusal as late that reaches this process came from a
    /// wrong reading of the clock (a request that really waited past its timeout is never
    /// answered here): the request is sent again with the reading the refusal carried, a few
    /// times, then fails.
    async fn run_taking<'a>(
        &'a self,
        invocation: impl Fn() -> ScriptInvocation<'a>,
    ) -> RedisResult<Vec<Bytes>> {
        for _ in 0..LATE_TRIES {
            let sent = Instant::now();
            let mut request = invocation();
            request.arg(self.clock.deadline(self.options.request_timeout));
            let reply = strings(self.run::<Value>(&request).await?);
            if reply.first().map(|s| &s[..]) != Some(b"late") {
                return Ok(reply);
            }
            if let Some(ms) = reply
                .get(1)
                .and_then(|t| std::str::from_utf8(t).ok()?.parse().ok())
            {
                self.clock.note(ms, sent);
            }
        }
        Err(redis::RedisError::from((
            redis::ErrorKind::Client,
            "requests kept reaching Redis after their deadline; nothing was taken",
        )))
    }

    /// Runs a script that writes a result: as [`run`](Self::run), followed in the same round
    /// trip by `WAIT` for the replicas `RedisOptions::wait_for_replicas` asks for.
    async fn run_replicated<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> RedisResult<T> {
        let Some((replicas, within)) = self.options.wait_for_replicas else {
            return self.run(invocation).await;
        };
        let mut conn = self.link.conn();
        let piped: RedisResult<(T, i64)> = redis::pipe()
            .invoke_script(invocation)
            .cmd("WAIT")
            .arg(replicas)
            .arg(within.as_millis() as u64)
            .query_async(&mut conn)
            .await;
        let (value, acked) = match piped {
            Ok(done) => done,
            // The script is not loaded there yet (a new primary, say): the usual way loads it.
            Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                let value = self.run(invocation).await?;
                let acked = redis::cmd("WAIT")
                    .arg(replicas)
                    .arg(within.as_millis() as u64)
                    .query_async::<i64>(&mut conn)
                    .await?;
                (value, acked)
            }
            Err(e) => {
                self.failed(&e);
                return Err(e);
            }
        };
        if acked < i64::from(replicas) {
            tracing::warn!(
                replicas = acked,
                wanted = replicas,
                "a result reached fewer replicas than asked within the wait"
            );
        }
        Ok(value)
    }

    /// Runs a script invocation on the shared connection: one round trip.
    async fn run<T: FromRedisValue>(&self, invocation: &ScriptInvocation<'_>) -> RedisResult<T> {
        let result = invocation.invoke_async(&mut self.link.conn()).await;
        if let Err(e) = &result {
            self.failed(e);
        }
        result
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// The timeouts of a [`RedisBackend`] (see [`RedisBackend::connect_with`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisOptions {
    /// How long a request to Redis (and opening a connection) may take before it fails: the
    /// route answers 503. Default 2 s.
    pub request_timeout: Duration,
    /// How long an open poll keeps trying an unreachable or stalled Redis before it ends with
    /// an `event: error` that says the store stopped answering. Default 10 s.
    pub give_up_after: Duration,
    /// With a standby (Sentinel), how many replicas must have a call's record before the call
    /// is acknowledged, and its result before it counts as finished (`WAIT`, sent in the same
    /// round trip as the write), so that a failover loses no call or result a client was told
    /// of; and how long to wait for them, after which the call goes on anyway (its record is
    /// then only on the primary, as without this). Default `None`: replication stays
    /// asynchronous, and a failover may lose what was written in its last moment.
    pub wait_for_replicas: Option<(u32, Duration)>,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(2),
            give_up_after: Duration::from_secs(10),
            wait_for_replicas: None,
        }
    }
}

/// A [`Backend`] on a Redis (or Valkey) server, shared by every replica that connects with
/// the same URL and key prefix.
///
/// ```no_run
/// # async fn run() -> Result<(), gradio_compat::backend::BackendError> {
/// use std::sync::Arc;
/// use gradio_compat::backend::{BackendLimits, RedisBackend};
/// use gradio_compat::{GradioCompat, Registry};
///
/// let backend = RedisBackend::connect("redis://127.0.0.1:6379", "gc:", BackendLimits::default()).await?;
/// let service = GradioCompat::builder(Registry::new()).backend(Arc::new(backend)).build();
/// # drop(service);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisBackend {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("server", &self.shared.shown)
            .field("prefix", &self.shared.prefix)
            .finish_non_exhaustive()
    }
}

/// `url` without its credentials.
fn without_credentials(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl RedisBackend {
    /// Connects to Redis and uses keys starting with `prefix` (replicas of one app share it;
    /// apps sharing one server use different ones). Fails with a message naming the server
    /// when it cannot be reached within a few seconds.
    ///
    /// `url` is either one server, `redis://[user:password@]host:port/db` (`rediss://` for TLS
    /// is not built in), or the primary that Redis Sentinel names:
    /// `redis+sentinel://[user:password@]host:port[,host:port...]/<primary name>[/db]`, the
    /// sentinels' addresses (port 26379 when left out) and the name their `sentinel monitor`
    /// gives the primary; the credentials and database are the primary's (the sentinels are
    /// reached without). With Sentinel, the backend follows a failover: once Sentinel has
    /// promoted a replica, requests go to it, without a restart.
    ///
    /// Requests time out after 2 s, so that a server that goes away is reported (503) quickly;
    /// the connection is re-established when it comes back, without a restart. An open poll
    /// whose reads keep failing for 10 s ends with an error frame.
    /// [`connect_with`](Self::connect_with) chooses both.
    pub async fn connect(
        url: &str,
        prefix: &str,
        limits: BackendLimits,
    ) -> Result<Self, BackendError> {
        Self::connect_with(url, prefix, limits, RedisOptions::default()).await
    }

    /// [`connect`](Self::connect), with its timeouts chosen (`options`).
    pub async fn connect_with(
        url: &str,
        prefix: &str,
        limits: BackendLimits,
        options: RedisOptions,
    ) -> Result<Self, BackendError> {
        let shown = without_credentials(url);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.request_timeout))
            .set_response_timeout(Some(options.request_timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let link = Arc::new(Link::open(url, &shown, config).await?);
        let prefix = prefix.to_owned();
        let notifier = Arc::new(Notifier::new(&prefix));
        let listener = tokio::spawn(listen(
            link.clone(),
            format!("{prefix}n:*"),
            Arc::downgrade(&notifier),
        ));
        Ok(Self {
            shared: Arc::new(Shared {
                link,
                prefix,
                limits,
                shown,
                scripts: Scripts::new(),
                notifier,
                listener,
                options,
                last_failure: std::sync::Mutex::new(None),
                clock: ServerClock::new(CLOCK_PRECISION.min(options.request_timeout / 4)),
            }),
        })
    }

    /// The limits this backend enforces.
    pub fn limits(&self) -> &BackendLimits {
        &self.shared.limits
    }

    /// Opens a job's feed with WATCH, or with TAKE when `take` (then also whether the job was
    /// taken).
    async fn open_feed(
        &self,
        id: EventId,
        api: &str,
        take: bool,
    ) -> Result<(JobFeed, bool), LookupError> {
        let shared = &self.shared;
        let channel = job_channel(shared, id);
        let seen = channel.seq();
        let script = if take {
            &shared.scripts.take
        } else {
            &shared.scripts.watch
        };
        let invocation = || {
            let mut invocation = shared.script(script);
            invocation
                .arg(id.to_hex().as_str())
                .arg(api)
                .arg(BATCH)
                .arg(Shared::epoch_candidate().as_str());
            invocation
        };
        let reply = if take {
            shared.run_taking(invocation).await
        } else {
            shared.run::<Value>(&invocation()).await.map(strings)
        }
        .map_err(|e| LookupError::Unavailable(self.unavailable(&e)))?;
        match reply.first().map(|s| &s[..]) {
            Some(b"taken") => {
                let mut items = VecDeque::new();
                push_entries(&reply[1..], &mut items);
                Ok((
                    futures_util::StreamExt::boxed(futures_util::stream::iter(items)),
                    true,
                ))
            }
            Some(b"ok") => {
                let mut first = VecDeque::new();
                let epoch = reply.get(1).cloned().unwrap_or_default();
                let cursor = push_entries(reply.get(2..).unwrap_or_default(), &mut first)
                    .unwrap_or_else(|| "0-0".to_owned());
                let feed = job_feed(self.shared.clone(), id, first, cursor, channel, seen, epoch);
                Ok((feed, false))
            }
            Some(b"api") => Err(LookupError::WrongEndpoint {
                actual: String::from_utf8_lossy(reply.get(1).map_or(&[][..], |b| &b[..]))
                    .into_owned(),
            }),
            _ => Err(LookupError::NotFound),
        }
    }

    fn unavailable(&self, e: &redis::RedisError) -> BackendError {
        BackendError::new(format!("Redis at {}: {e}", self.shared.shown))
    }
}

/// How precisely the server's clock must be read (the longest round trip that dates a
/// reading), at most: a quarter of the request timeout when that is shorter.
const CLOCK_PRECISION: Duration = Duration::from_millis(100);

/// How many times a request refused as late (a wrong reading of the server's clock) is sent.
const LATE_TRIES: u32 = 3;

/// How long a runner keeps trying to record how a job ended.
const FINISH_PATIENCE: Duration = Duration::from_secs(24 * 3600);

/// Retries `attempt` until it succeeds or `within` has passed: what a runner writes must not
/// be lost to a short outage.
async fn persist<F, Fut>(within: Duration, mut attempt: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = redis::RedisResult<Value>>,
{
    let deadline = tokio::time::Instant::now() + within;
    let mut pause = Duration::from_millis(50);
    loop {
        if attempt().await.is_ok() {
            return true;
        }
        if tokio::time::Instant::now() + pause > deadline {
            return false;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

impl Backend for RedisBackend {
    fn attach(&self, on_cancel: CancelHandler) -> RunnerId {
        let runner = uuid::Uuid::new_v4().as_u64_pair().0 >> 1;
        self.shared.notifier.add_runner(runner, on_cancel);
        let renewal = self.renew(RunnerId(runner));
        // The first renewal starts the lease; the service renews it from then on.
        renewal.detach();
        RunnerId(runner)
    }

    fn renew(&self, runner: RunnerId) -> Reply<Result<(), BackendError>> {
        let this = self.clone();
        Reply::pending(async move {
            let shared = &this.shared;
            let sent = Instant::now();
            let server_ms = shared
                .run::<u64>(
                    shared
                        .script(&shared.scripts.renew)
                        .arg(runner.0)
                        .arg(shared.limits.lease.as_millis() as u64),
                )
                .await
                .map_err(|e| this.unavailable(&e))?;
            shared.clock.note(server_ms, sent);
            Ok(())
        })
    }

    fn lease(&self) -> Duration {
        self.shared.limits.lease
    }

    fn begin(
        &self,
        id: EventId,
        api: &str,
        runner: RunnerId,
        session: Option<&str>,
    ) -> Reply<Result<(), BeginError>> {
        let this = self.clone();
        let api = api.to_owned();
        let session = session.unwrap_or_default().to_owned();
        Reply::pending(async move {
            let shared = &this.shared;
            let limits = &shared.limits;
            let reply = shared
                .run_replicated::<String>(
                    shared
                        .script(&shared.scripts.begin)
                        .arg(id.to_hex().as_str())
                        .arg(&api)
                        .arg(runner.0)
                        .arg(&session)
                        .arg(limits.max_unfinished)
                        .arg(limits.max_sessions)
                        .arg(limits.max_session_jobs),
                )
                .await
                .map_err(|e| BeginError::Unavailable(this.unavailable(&e)))?;
            match reply.as_str() {
                "ok" => Ok(()),
                "sessions" => Err(BeginError::TooManySessions {
                    limit: limits.max_sessions,
                }),
                "busy" => Err(BeginError::SessionBusy {
                    limit: limits.max_session_jobs,
                }),
                _ => Err(BeginError::Full {
                    limit: limits.max_unfinished,
                }),
            }
        })
    }

    fn publish(&self, id: EventId, message: Bytes, droppable: bool) -> Reply<()> {
        let this = self.clone();
        Reply::pending(async move {
            let shared = &this.shared;
            let stored = persist(Duration::from_secs(2), || {
                let shared = shared.clone();
                let message = message.clone();
                async move {
                    shared
                        .run::<Value>(
                            shared
                                .script(&shared.scripts.publish)
                                .arg(id.to_hex().as_str())
                                .arg(&message[..])
                                .arg(if droppable { "1" } else { "0" })
                                .arg(shared.limits.max_unread),
                        )
                        .await
                }
            })
            .await;
            if !stored {
                tracing::warn!(event_id = %id, "a message of the call was lost: Redis is unreachable");
            }
        })
    }

    fn finish(&self, id: EventId, outcome: Outcome, session_message: Option<Bytes>) -> Reply<()> {
        let this = self.clone();
        Reply::pending(async move {
            let shared = &this.shared;
            let (kind, data) = match outcome {
                Outcome::Complete(data) => ("o", data),
                Outcome::Error(data) => ("e", data),
            };
            // Kept trying until Redis takes it: a job whose finish is dropped while its runner
            // lives (and renews its lease once the link is back) would leave its pollers
            // waiting forever. If the link stayed away past the lease, other replicas have
            // ended the job meanwhile, and the late finish changes nothing. Finishes waiting
            // here are at most the unfinished limit; a day bounds the wait.
            let stored = persist(FINISH_PATIENCE, || {
                finish_script(shared, id, kind, &data, session_message.as_ref())
            })
            .await;
            if !stored {
                tracing::error!(event_id = %id, "the result of the call was lost: Redis is unreachable");
            }
        })
    }

    fn watch(&self, id: EventId, api: &str) -> Reply<Result<JobFeed, LookupError>> {
        let this = self.clone();
        let api = api.to_owned();
        Reply::pending(async move {
            let (feed, _) = this.open_feed(id, &api, false).await?;
            Ok(feed)
        })
    }

    fn prefers_fused_calls(&self) -> bool {
        true
    }

    fn begin_finished(
        &self,
        id: EventId,
        api: &str,
        runner: RunnerId,
        outcome: Outcome,
    ) -> Reply<Result<(), BeginError>> {
        let this = self.clone();
        let api = api.to_owned();
        Reply::pending(async move {
            let shared = &this.shared;
            let (kind, data) = outcome_parts(&outcome);
            let reply = shared
                .run_replicated::<String>(
                    shared
                        .script(&shared.scripts.begin_finished)
                        .arg(id.to_hex().as_str())
                        .arg(&api)
                        .arg(runner.0)
                        .arg(kind)
                        .arg(data)
                        .arg(shared.limits.result_capacity)
                        .arg(shared.limits.result_ttl.as_millis() as u64),
                )
                .await
                .map_err(|e| BeginError::Unavailable(this.unavailable(&e)))?;
            if reply == "ok" {
                Ok(())
            } else {
                Err(BeginError::Full {
                    limit: shared.limits.max_unfinished,
                })
            }
        })
    }

    fn take(&self, id: EventId, api: &str) -> Reply<Result<(JobFeed, bool), LookupError>> {
        let this = self.clone();
        let api = api.to_owned();
        Reply::pending(async move { this.open_feed(id, &api, true).await })
    }

    fn restore(&self, id: EventId, api: &str, outcome: Outcome) -> Reply<()> {
        let this = self.clone();
        let api = api.to_owned();
        Reply::pending(async move {
            let shared = &this.shared;
            let (kind, data) = outcome_parts(&outcome);
            let restored = shared
                .run::<i64>(
                    shared
                        .script(&shared.scripts.restore)
                        .arg(id.to_hex().as_str())
                        .arg(&api)
                        .arg(kind)
                        .arg(data)
                        .arg(shared.limits.result_capacity)
                        .arg(shared.limits.result_ttl.as_millis() as u64),
                )
                .await;
            if restored.is_err() {
                tracing::warn!(event_id = %id, "an undelivered result could not be put back: Redis is unreachable");
            }
        })
    }

    fn consume(&self, id: EventId) -> Reply<()> {
        let this = self.clone();
        Reply::pending(async move {
            let shared = &this.shared;
            let _ = shared
                .run::<Value>(
                    shared
                        .script(&shared.scripts.consume)
                        .arg(id.to_hex().as_str()),
                )
                .await;
        })
    }

    fn watch_session(&self, session: &str) -> Reply<Result<Option<SessionFeed>, BackendError>> {
        let this = self.clone();
        let hash = session.to_owned();
        Reply::pending(async move {
            let shared = &this.shared;
            let generation = shared
                .run::<Option<i64>>(shared.script(&shared.scripts.watch_session).arg(&hash))
                .await
                .map_err(|e| this.unavailable(&e))?;
            Ok(generation.map(|g| session_feed(this.shared.clone(), hash, g.to_string())))
        })
    }

    fn cancel(&self, id: EventId) -> Reply<bool> {
        let this = self.clone();
        Reply::pending(async move {
            let shared = &this.shared;
            shared
                .run::<i64>(
                    shared
                        .script(&shared.scripts.cancel)
                        .arg(id.to_hex().as_str()),
                )
                .await
                .is_ok_and(|n| n == 1)
        })
    }

    fn sweep(&self, now: Instant) -> Reply<usize> {
        let this = self.clone();
        // The server's clock decides; `now` past this process's clock moves it forward.
        let offset = now.saturating_duration_since(Instant::now());
        Reply::pending(async move {
            let shared = &this.shared;
            let Ok(reply) = shared
                .run::<Value>(
                    shared
                        .script(&shared.scripts.sweep)
                        .arg(offset.as_millis() as u64)
                        .arg(shared.limits.result_ttl.as_millis() as u64),
                )
                .await
            else {
                return 0;
            };
            let reply = strings(reply);
            let dropped: usize = reply
                .first()
                .and_then(|n| std::str::from_utf8(n).ok()?.parse().ok())
                .unwrap_or(0);
            if reply.len() > 1 && shared.recently_cut_off() {
                // Judged again at a later sweep, once every runner had a lease to renew in.
                tracing::debug!(
                    jobs = reply.len() - 1,
                    "lapsed leases not judged yet: this replica could not reach Redis within a lease"
                );
                return dropped;
            }
            let lost_text = lost_message(shared.limits.lease);
            let lost = Bytes::from(serde_json::to_vec(&lost_text).unwrap_or_default());
            let mut ended = 0;
            for id in reply.iter().skip(1) {
                let Some(id) = std::str::from_utf8(id).ok().and_then(EventId::parse) else {
                    continue;
                };
                let marker = Bytes::copy_from_slice(id.to_hex().as_str().as_bytes());
                if finish_script(shared, id, "l", &lost, Some(&marker))
                    .await
                    .is_ok()
                {
                    ended += 1;
                }
            }
            dropped + ended
        })
    }

    fn shares_files(&self) -> bool {
        true
    }

    fn record_file(
        &self,
        path: &str,
        record: FileRecord,
        ttl: Duration,
    ) -> Reply<Result<(), BackendError>> {
        let this = self.clone();
        let path = path.to_owned();
        Reply::pending(async move {
            let shared = &this.shared;
            shared
                .run::<Value>(
                    shared
                        .script(&shared.scripts.record_file)
                        .arg(&path)
                        .arg(&record.orig_name)
                        .arg(if record.owned { "1" } else { "0" })
                        .arg(ttl.as_millis().max(1) as u64),
                )
                .await
                .map(drop)
                .map_err(|e| this.unavailable(&e))
        })
    }

    fn file_record(&self, path: &str, touch: Option<Duration>) -> Reply<Option<FileRecord>> {
        let this = self.clone();
        let path = path.to_owned();
        Reply::pending(async move {
            let shared = &this.shared;
            let found = shared
                .run::<Value>(
                    shared
                        .script(&shared.scripts.file_record)
                        .arg(&path)
                        .arg(touch.map_or(0, |ttl| ttl.as_millis().max(1) as u64)),
                )
                .await
                .ok()
                .map(strings)?;
            let [name, owned] = found.as_slice() else {
                return None;
            };
            Some(FileRecord {
                orig_name: String::from_utf8_lossy(name).into_owned(),
                owned: &owned[..] == b"1",
            })
        })
    }

    /// A quarter of the TTL, between 50 ms and 5 s, and no more than a third of the lease.
    fn sweep_interval(&self) -> Duration {
        let limits = &self.shared.limits;
        (limits.result_ttl / 4)
            .min(limits.lease / 3)
            .clamp(Duration::from_millis(50), Duration::from_secs(5))
    }
}

/// An outcome as its stream entry's kind and data.
fn outcome_parts(outcome: &Outcome) -> (&'static str, &[u8]) {
    match outcome {
        Outcome::Complete(data) => ("o", &data[..]),
        Outcome::Error(data) => ("e", &data[..]),
    }
}

async fn finish_script(
    shared: &Shared,
    id: EventId,
    kind: &str,
    data: &Bytes,
    message: Option<&Bytes>,
) -> redis::RedisResult<Value> {
    shared
        .run_replicated::<Value>(
            shared
                .script(&shared.scripts.finish)
                .arg(id.to_hex().as_str())
                .arg(kind)
                .arg(&data[..])
                .arg(message.map_or(&[][..], |m| &m[..]))
                .arg(if message.is_some() { "1" } else { "0" })
                .arg(shared.limits.result_capacity)
                .arg(shared.limits.result_ttl.as_millis() as u64),
        )
        .await
}
