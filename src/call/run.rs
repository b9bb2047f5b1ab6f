//! Runs each call as its own task (or, when the backend prefers it, a quick handler's first
//! step inline, see [`first_step`]): a failing, panicking or cancelled handler affects only
//! its own call. Its messages and outcome go to the backend (`deliver` frames them for the
//! route that reads them) as they come.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use tracing::Instrument;

use crate::backend::Outcome;
use crate::call::deliver::Delivery;
use crate::call_log::{job_done, job_span, JobEnd};
use crate::cancel::CancelToken;
use crate::concurrency::Ticket;
use crate::context::CallContext;
use crate::event_id::EventId;
use crate::fanout::Follower;
use crate::files::outputs::complete_files;
use crate::registry::{BoundCall, Run};
use crate::state::Inner;

/// One call, ready to run.
pub(crate) struct Job {
    pub(crate) id: EventId,
    pub(crate) call: BoundCall,
    pub(crate) ctx: CallContext,
    pub(crate) cancel: CancelToken,
    pub(crate) delivery: Delivery,
    /// The request's root URL, when the endpoint returns files whose URLs need it.
    pub(crate) file_root: Option<String>,
    /// A place in the endpoint's line, when it has a concurrency limit.
    pub(crate) ticket: Option<Ticket>,
}

/// The call's tokens, kept to scrub them from a logged error message: its context, or for a
/// stream or a follow, which may run for hours, a copy of the tokens alone, so that the
/// context (and the request's headers in it) goes once the handler lets go of it.
enum Secrets {
    Context(CallContext),
    Copied(Vec<String>),
}

impl Secrets {
    fn copied(self) -> Self {
        match self {
            Secrets::Context(ctx) => Secrets::Copied(copied_tokens(&ctx)),
            copied => copied,
        }
    }

    fn list(&self) -> Vec<&str> {
        match self {
            Secrets::Context(ctx) => [ctx.bearer_token(), ctx.token()]
                .into_iter()
                .flatten()
                .collect(),
            Secrets::Copied(tokens) => tokens.iter().map(String::as_str).collect(),
        }
    }
}

/// A copy of a call's tokens, to scrub from a logged error once its context is gone.
pub(crate) fn copied_tokens(ctx: &CallContext) -> Vec<String> {
    [ctx.bearer_token(), ctx.token()]
        .into_iter()
        .flatten()
        .map(str::to_owned)
        .collect()
}

/// How a call ended, before delivery.
enum Ended {
    Done(Result<Bytes, String>),
    Panicked(Box<dyn Any + Send>),
    Cancelled,
}

/// The message for a panic: "internal error", or its text with `show_error`.
fn panic_message(payload: &(dyn Any + Send), show: bool) -> String {
    if !show {
        return "internal error: the handler panicked (the server's log or show_error has more)"
            .to_owned();
    }
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic".to_owned());
    format!("internal error: the handler panicked: {text}")
}

fn too_large(len: usize, limit: usize) -> String {
    format!("the result is {len} bytes of JSON, over the server's limit of {limit} bytes (max_output_bytes)")
}

/// Spawns the job on the current tokio runtime, inside its log span.
pub(crate) fn spawn_job(inner: Arc<Inner>, job: Job) {
    let span = job_span(job.id, job.ctx.endpoint(), job.delivery.is_queue());
    if span.is_disabled() {
        tokio::spawn(run_job(inner, job));
    } else {
        tokio::spawn(run_job(inner, job).instrument(span));
    }
}

async fn run_job(inner: Arc<Inner>, job: Job) {
    let Job {
        id,
        call,
        ctx,
        cancel,
        delivery,
        file_root,
        ticket,
    } = job;
    // Wait for a slot, telling queue callers where they are in line. (Boxed, as are the other
    // rare steps below, so that the task of every job, most of which never take them, stays
    // small: a job may wait for hours on a live stream.)
    let _permit = match ticket {
        None => None,
        Some(ticket) => {
            Box::pin(async {
                let on_move = |(rank, size): (usize, usize)| delivery.place(&inner, id, rank, size);
                tokio::select! {
                    permit = ticket.acquire(on_move) => Some(permit),
                    () = cancel.cancelled() => None,
                }
            })
            .await
        }
    };
    let started = Instant::now();
    let mut secrets = Secrets::Context(ctx.clone());
    let ended = if cancel.is_cancelled() {
        Ended::Cancelled
    } else {
        delivery.starts(&inner, id).await;
        match std::panic::catch_unwind(AssertUnwindSafe(move || call(ctx))) {
            Err(payload) => Ended::Panicked(payload),
            Ok(Run::Once(fut)) => run_once(&inner, fut, &cancel).await,
            Ok(Run::Stream(items)) => {
                secrets = secrets.copied();
                run_stream(&inner, id, items, &cancel, delivery, file_root.as_deref()).await
            }
            Ok(Run::Follow(follower)) => {
                secrets = secrets.copied();
                let items = Box::pin(follower.into_items());
                run_stream(&inner, id, items, &cancel, delivery, file_root.as_deref()).await
            }
        }
    };
    let cancelled = cancel.is_cancelled();
    let secrets = secrets.list();
    let mut outcome = settle(&inner, ended, started, &secrets);
    if let (Outcome::Complete(data), Some(root)) = (&outcome, &file_root) {
        outcome = match Box::pin(complete(&inner, data.clone(), root)).await {
            Ok(data) => Outcome::Complete(data),
            Err(message) => {
                job_done(JobEnd::Failed(&message), started, &secrets);
                Outcome::error(&message)
            }
        };
    }
    end_job(&inner, id, delivery, outcome, cancelled, started, &secrets).await;
}

/// Spawns the job of a follow call whose handler already gave its follower (through the
/// queue, MCP or a shared backend): a small task that only relays the follower's values to
/// the call's reader, instead of a whole job's (a follow may stay open for hours, one per
/// viewer). `tokens` are the call's tokens, to scrub from a logged error.
pub(crate) fn spawn_follow_job(
    inner: Arc<Inner>,
    id: EventId,
    endpoint: &str,
    follower: Follower,
    cancel: CancelToken,
    delivery: Delivery,
    tokens: Vec<String>,
) {
    let span = job_span(id, endpoint, delivery.is_queue());
    let items: crate::registry::ItemStream = Box::pin(follower.into_items());
    let run = run_follow_job(inner, id, items, cancel, delivery, tokens);
    if span.is_disabled() {
        tokio::spawn(run);
    } else {
        tokio::spawn(run.instrument(span));
    }
}

async fn run_follow_job(
    inner: Arc<Inner>,
    id: EventId,
    items: crate::registry::ItemStream,
    cancel: CancelToken,
    delivery: Delivery,
    tokens: Vec<String>,
) {
    let started = Instant::now();
    let ended = if cancel.is_cancelled() {
        Ended::Cancelled
    } else {
        delivery.starts(&inner, id).await;
        run_stream(&inner, id, items, &cancel, delivery, None).await
    };
    // Its end is boxed: the relay's task stays the size of the relay alone.
    Box::pin(end_follow_job(
        inner, id, ended, cancel, delivery, tokens, started,
    ))
    .await;
}

/// The end of a follow call's relay: its outcome settled and delivered.
async fn end_follow_job(
    inner: Arc<Inner>,
    id: EventId,
    ended: Ended,
    cancel: CancelToken,
    delivery: Delivery,
    tokens: Vec<String>,
    started: Instant,
) {
    let cancelled = cancel.is_cancelled();
    let secrets: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let outcome = settle(&inner, ended, started, &secrets);
    end_job(&inner, id, delivery, outcome, cancelled, started, &secrets).await;
}

/// A job's last step: its completion logged, its cancel token dropped, its outcome delivered.
async fn end_job(
    inner: &Inner,
    id: EventId,
    delivery: Delivery,
    outcome: Outcome,
    cancelled: bool,
    started: Instant,
    secrets: &[&str],
) {
    if matches!(outcome, Outcome::Complete(_)) {
        job_done(JobEnd::Complete, started, secrets);
    }
    inner.running.end(id);
    delivery
        .complete(inner, id, outcome, cancelled, started)
        .await;
}

/// The outcome of a call's end, its failure logged (a completion is logged by the caller,
/// once its files are in place).
fn settle(inner: &Inner, ended: Ended, started: Instant, secrets: &[&str]) -> Outcome {
    let limit = inner.config.max_output_bytes;
    let failed = |message: &str| {
        job_done(JobEnd::Failed(message), started, secrets);
        Outcome::error(message)
    };
    match ended {
        Ended::Done(Ok(data)) if data.len() > limit => failed(&too_large(data.len(), limit)),
        Ended::Done(Ok(data)) => Outcome::Complete(data),
        Ended::Done(Err(message)) => failed(&message),
        Ended::Panicked(payload) => {
            // The log always has the panic's text; callers only with show_error.
            job_done(
                JobEnd::Panicked(&panic_message(payload.as_ref(), true)),
                started,
                secrets,
            );
            Outcome::error(&panic_message(payload.as_ref(), inner.config.show_error))
        }
        Ended::Cancelled => {
            job_done(JobEnd::Cancelled, started, secrets);
            Outcome::error("the call was cancelled")
        }
    }
}

/// What the first step of a call gave.
pub(crate) enum FirstStep {
    /// It finished: its outcome (logged).
    Done(Outcome),
    /// It goes on: the rest, to run as a job.
    Later(BoundCall),
}

/// Runs a `/call`'s handler up to its first wait, inline (no job yet), for a backend where
/// recording a call already finished saves a round trip or, in memory, the job's task. A
/// handler done by then (most quick ones) gives its outcome; any other goes on as a job, from
/// where it stopped.
pub(crate) fn first_step(
    inner: &Inner,
    id: EventId,
    call: BoundCall,
    ctx: CallContext,
) -> FirstStep {
    let span = job_span(id, ctx.endpoint(), false);
    let _entered = span.enter();
    let started = Instant::now();
    let secrets: Vec<String> = [ctx.bearer_token(), ctx.token()]
        .into_iter()
        .flatten()
        .map(str::to_owned)
        .collect();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let ended = match std::panic::catch_unwind(AssertUnwindSafe(move || call(ctx))) {
        Err(payload) => Ended::Panicked(payload),
        Ok(Run::Once(mut fut)) => {
            match std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().now_or_never())) {
                Ok(Some(done)) => Ended::Done(done),
                Ok(None) => return FirstStep::Later(Box::new(move |_| Run::Once(fut))),
                Err(payload) => Ended::Panicked(payload),
            }
        }
        Ok(other) => return FirstStep::Later(Box::new(move |_| other)),
    };
    let outcome = settle(inner, ended, started, &secrets);
    if matches!(outcome, Outcome::Complete(_)) {
        job_done(JobEnd::Complete, started, &secrets);
    }
    FirstStep::Done(outcome)
}

async fn run_once(inner: &Inner, fut: crate::registry::CallFuture, cancel: &CancelToken) -> Ended {
    let run = AssertUnwindSafe(fut).catch_unwind();
    tokio::pin!(run);
    let result = tokio::select! {
        result = &mut run => Some(result),
        () = cancel.cancelled() => {
            // Give the handler the grace period to notice and finish, then drop it.
            tokio::time::timeout(inner.config.cancel_grace, &mut run).await.ok()
        }
    };
    match result {
        Some(Ok(done)) => Ended::Done(done),
        Some(Err(payload)) => Ended::Panicked(payload),
        None => Ended::Cancelled,
    }
}

async fn run_stream(
    inner: &Inner,
    id: EventId,
    mut items: crate::registry::ItemStream,
    cancel: &CancelToken,
    delivery: Delivery,
    file_root: Option<&str>,
) -> Ended {
    let mut last: Option<Bytes> = None;
    loop {
        let next = tokio::select! {
            next = AssertUnwindSafe(items.next()).catch_unwind() => next,
            // Between items: drop the stream, which stops its producer.
            () = cancel.cancelled() => return Ended::Cancelled,
        };
        let data = match next {
            Err(payload) => return Ended::Panicked(payload),
            // `complete` repeats the last item, or `[null]` when there was none.
            Ok(None) => return Ended::Done(Ok(last.unwrap_or(Bytes::from_static(b"[null]")))),
            Ok(Some(Err(message))) => return Ended::Done(Err(message)),
            Ok(Some(Ok(data))) => data,
        };
        if data.len() > inner.config.max_output_bytes {
            return Ended::Done(Err(too_large(data.len(), inner.config.max_output_bytes)));
        }
        let data = match file_root {
            Some(root) => match Box::pin(complete(inner, data, root)).await {
                Ok(data) => data,
                Err(message) => return Ended::Done(Err(message)),
            },
            None => data,
        };
        delivery.partial(inner, id, &data, last.is_none()).await;
        last = Some(data);
    }
}

/// Completes the files of a result off the async threads.
async fn complete(inner: &Inner, data: Bytes, root: &str) -> Result<Bytes, String> {
    let files = inner.files.clone();
    let prefix = inner.config.prefix.clone();
    let root = root.to_owned();
    let (data, registered) =
        tokio::task::spawn_blocking(move || complete_files(data, &root, &prefix, &files))
            .await
            .unwrap_or_else(|_| {
                Err("internal error while completing the result's files".to_owned())
            })?;
    // Replicas sharing the upload directory may serve them before the caller asks.
    for key in registered {
        inner.files.share(&key).await.map_err(|e| {
            format!("the result's file could not be recorded in the shared store: {e}")
        })?;
    }
    Ok(data)
}
