//! A call's life: bind and validate its arguments, check its files, authorize it, admit it
//! into its endpoint's line, and spawn it (`launch`); `run` runs it and delivers its outcome.
//! The route modules only translate HTTP to and from these steps.

mod deliver;
mod run;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use http::request::Parts;
use http::StatusCode;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::auth::{bearer_token, AuthRequest, AuthTarget};
use crate::cancel::CancelToken;
use crate::concurrency::Ticket;
use crate::context::{detached_headers, CallContext, ContextInner};
use crate::error::{ApiError, ArgProblem};
use crate::event_id::EventId;
use crate::registry::{BoundCall, Run};
use crate::root_url::request_root;
use crate::state::{CompiledEndpoint, Inner};

pub(crate) use deliver::Delivery;
use run::{copied_tokens, spawn_follow_job, spawn_job, FirstStep, Job};

/// A call whose arguments were bound and authorized: everything but the job itself.
pub(crate) struct Prepared {
    pub(crate) call: BoundCall,
    pub(crate) bearer: Option<String>,
    pub(crate) token: Option<String>,
}

/// A call's `data`: parsed, or still the text of a `/call` body, which a typed endpoint may
/// decode directly (`direct.rs`).
pub(crate) enum CallData<'a> {
    Parsed(Value),
    Text(&'a RawValue),
}

/// Binds `data`, checks the files it names (off the async threads), then runs the authorize
/// hook: all before any job exists.
pub(crate) async fn prepare(
    inner: &Inner,
    endpoint: &CompiledEndpoint,
    parts: &Parts,
    data: CallData<'_>,
) -> Result<Prepared, ApiError> {
    let bearer = bearer_token(&parts.headers);
    let sig = &endpoint.sig;
    let bound = match data {
        CallData::Parsed(data) => sig.bind(data, bearer.as_deref())?,
        CallData::Text(text) => match sig.bind_direct(text, bearer.as_deref()) {
            Some(bound) => bound,
            None => {
                // The checked way, which coerces or names the problem. The text is valid
                // JSON (it was read as part of the body).
                let data: Value = serde_json::from_str(text.get()).map_err(|e| {
                    ApiError::unprocessable(format!("/{}: \"data\" is not JSON: {e}", sig.name))
                })?;
                sig.bind(data, bearer.as_deref())?
            }
        },
    };
    if !bound.files.is_empty() {
        let paths: Vec<String> = bound.files.iter().map(|(_, p)| p.clone()).collect();
        if let Some((index, path)) = inner.files.first_refused(bound.files).await {
            let name = &*sig.params[index].name;
            return Err(ApiError::invalid_arguments(
                &sig.name,
                vec![ArgProblem {
                    parameter: name.to_owned(),
                    index: Some(index),
                    msg: format!(
                        "parameter {name:?} (index {index}): file {path:?} was not uploaded to \
                         this server; upload it first with POST {}/upload and pass the path \
                         that returns",
                        inner.config.prefix
                    ),
                }],
            ));
        }
        // Their time to live starts again (here, and in the shared records).
        for path in &paths {
            inner.files.mark_used(path).await;
        }
    }
    if let Some(authorize) = &inner.authorize {
        authorize(&AuthRequest {
            parts,
            target: AuthTarget::Call(&endpoint.sig.name),
            token: bound.token.as_deref(),
        })?;
    }
    Ok(Prepared {
        call: bound.call,
        bearer,
        token: bound.token,
    })
}

/// Admits a prepared call: takes a place in the endpoint's line, if it has a concurrency
/// limit, registers it with this replica's running calls, and begins its job in the backend
/// (which counts the unfinished calls of `/call` and the queue together, and, for a queue job,
/// joins `session`). 503 when the line or the backend is full, the session is busy, the backend
/// is unavailable, or the service is shutting down.
pub(crate) async fn admit(
    inner: &Inner,
    endpoint: &CompiledEndpoint,
    id: EventId,
    route: &(dyn std::fmt::Display + Sync),
    session: Option<&str>,
) -> Result<Admitted, ApiError> {
    refuse_when_closing(inner, route)?;
    let ticket = match &endpoint.limiter {
        None => None,
        Some(limiter) => match limiter.admit() {
            Ok(ticket) => Some(ticket),
            Err(waiting) => {
                return Err(unavailable(
                    route,
                    &format!(
                        "the queue of /{} is full: {waiting} calls already wait, its limit; retry later",
                        endpoint.sig.name
                    ),
                ));
            }
        },
    };
    // Registered before the job begins, so that a cancel from any replica finds it.
    let cancel = inner.running.start(id);
    let begun = inner
        .backend
        .begin(id, &endpoint.sig.name, inner.runner, session)
        .await;
    if let Err(e) = begun {
        inner.running.end(id);
        return Err(unavailable(route, &e.to_string()));
    }
    Ok(Admitted { ticket, cancel })
}

/// 503 once the service shuts down.
fn refuse_when_closing(
    inner: &Inner,
    route: &(dyn std::fmt::Display + Sync),
) -> Result<(), ApiError> {
    if inner.closing.load(std::sync::atomic::Ordering::Acquire) {
        return Err(unavailable(
            route,
            "the server is shutting down; retry shortly",
        ));
    }
    Ok(())
}

/// A 503 with `Retry-After: 1` for `route`.
pub(crate) fn unavailable(route: &(dyn std::fmt::Display + Sync), message: &str) -> ApiError {
    let mut err = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("{route}: {message}"),
    );
    err.retry_after = Some(1);
    err
}

/// A call that took its place among the unfinished calls (and in its endpoint's line), ready
/// to launch.
pub(crate) struct Admitted {
    ticket: Option<Ticket>,
    cancel: CancelToken,
}

impl Admitted {
    /// Its place in the endpoint's line: rank and line length (`(0, 1)` without a limit).
    pub(crate) fn place(&self) -> (usize, usize) {
        self.ticket.as_ref().map(|t| t.place()).unwrap_or((0, 1))
    }
}

/// Starts the job of an admitted call.
pub(crate) fn launch(
    inner: &Arc<Inner>,
    endpoint: &CompiledEndpoint,
    id: EventId,
    parts: Parts,
    prepared: Prepared,
    delivery: Delivery,
    admitted: Admitted,
) {
    let Admitted { ticket, cancel } = admitted;
    let file_root = endpoint.has_file_output.then(|| {
        request_root(
            &parts.headers,
            inner.config.public_url.as_deref(),
            &inner.config.root_path,
        )
    });
    let ctx = context(inner, endpoint, id, parts, &prepared, &cancel, delivery);
    let mut call = prepared.call;
    if endpoint.follow && ticket.is_none() && file_root.is_none() {
        // A follow handler only picks its fan-out: run it now, and relay its follower from a
        // small task of its own. One that refuses (or panics) runs as a job like any call,
        // which reports it.
        let handler_ctx = ctx.clone();
        match std::panic::catch_unwind(AssertUnwindSafe(move || call(handler_ctx))) {
            Ok(Run::Follow(follower)) => {
                let tokens = copied_tokens(&ctx);
                drop(ctx);
                let name = &endpoint.sig.name;
                spawn_follow_job(inner.clone(), id, name, follower, cancel, delivery, tokens);
                return;
            }
            run => call = replay(run),
        }
    }
    spawn_job(
        inner.clone(),
        Job {
            id,
            call,
            ctx,
            cancel,
            delivery,
            file_root,
            ticket,
        },
    );
}

/// A handler's result, already had (or its panic), as a call to run as a job: the job gives
/// the result back, or raises the panic again, which it reports as any handler's.
fn replay(run: std::thread::Result<Run>) -> BoundCall {
    Box::new(move |_| match run {
        Ok(run) => run,
        Err(payload) => std::panic::resume_unwind(payload),
    })
}

/// Whether a call is likely to run well past its request: a queue or MCP call (whose caller
/// waits on it, often for a long job), a stream or a follow. Such a call's context copies the
/// request's header values (two allocations) rather than keep the connection's read buffer
/// alive; a one-shot `/call` keeps them shared, since most end at once.
fn outlives_its_request(endpoint: &CompiledEndpoint, delivery: Delivery) -> bool {
    delivery != Delivery::Call || endpoint.streaming || endpoint.follow
}

/// The context a handler gets.
fn context(
    inner: &Inner,
    endpoint: &CompiledEndpoint,
    id: EventId,
    parts: Parts,
    prepared: &Prepared,
    cancel: &CancelToken,
    delivery: Delivery,
) -> CallContext {
    CallContext::new(ContextInner {
        endpoint: endpoint.sig.name.clone(),
        event_id: id,
        headers: if outlives_its_request(endpoint, delivery) {
            detached_headers(parts.headers)
        } else {
            parts.headers
        },
        bearer: prepared.bearer.clone(),
        token: prepared.token.clone(),
        cancel: cancel.clone(),
        files: inner.files.clone(),
        // Progress and log messages reach queue and MCP callers; the `/call` route drops
        // them, as Gradio does.
        updates: delivery.wants_updates().then(|| inner.backend.clone()),
    })
}

/// The start of a `/call` of a follow endpoint on a backend of this process alone: prepare
/// the call and run its handler, which picks the fan-out; the call then waits for its poll as
/// a cursor into the fan-out's buffer, with no job. A handler that refuses (or panics) gets a
/// job of its own like any call, whose poll reads the error.
pub(crate) async fn start_follow(
    inner: &Arc<Inner>,
    endpoint: &CompiledEndpoint,
    parts: Parts,
    data: CallData<'_>,
    route: &(dyn std::fmt::Display + Sync),
) -> Result<EventId, ApiError> {
    refuse_when_closing(inner, route)?;
    let prepared = prepare(inner, endpoint, &parts, data).await?;
    let id = EventId::new_random();
    let ctx = context(
        inner,
        endpoint,
        id,
        parts.clone(),
        &prepared,
        &CancelToken::default(),
        Delivery::Call,
    );
    let Prepared {
        call,
        bearer,
        token,
    } = prepared;
    let run = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || call(ctx))) {
        Ok(Run::Follow(follower)) => {
            return inner
                .follows
                .insert(id, endpoint.sig.name.clone(), follower)
                .map(|()| id)
                .map_err(|limit| {
                    unavailable(
                        route,
                        &format!(
                            "the server already has {limit} calls waiting for their poll, its \
                             limit; retry later"
                        ),
                    )
                });
        }
        Ok(other) => Ok(other),
        Err(payload) => Err(payload),
    };
    // The handler refused or panicked: a job of its own, whose poll reads the error.
    let call = replay(run);
    let prepared = Prepared {
        call,
        bearer,
        token,
    };
    let admitted = admit(inner, endpoint, id, route, None).await?;
    launch(
        inner,
        endpoint,
        id,
        parts,
        prepared,
        Delivery::Call,
        admitted,
    );
    Ok(id)
}

/// How a call started: as a job whose feed its reader watches, or already done.
pub(crate) enum Started {
    /// A job: its reader watches this event id.
    Job(EventId),
    /// The handler was done at once and nothing was recorded: here is its outcome.
    #[cfg_attr(not(feature = "mcp"), allow(dead_code))]
    Done(crate::backend::Outcome),
}

/// What a call whose handler is done at its first step does with its outcome.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AtOnce {
    /// Nothing: the handler runs as a job, as any call.
    RunAsJob,
    /// It is recorded already finished in the backend, for a later poll: one round trip
    /// instead of two (begin, then finish) on a networked backend.
    Record,
    /// It goes straight back to the caller, which is waiting (MCP without progress).
    #[cfg_attr(not(feature = "mcp"), allow(dead_code))]
    Return,
}

/// The whole start of a call read from its job's own feed (`/call`, MCP): prepare, admit and
/// launch its job. Returns the event id its reader watches.
pub(crate) async fn start(
    inner: &Arc<Inner>,
    endpoint: &CompiledEndpoint,
    parts: Parts,
    data: CallData<'_>,
    route: &(dyn std::fmt::Display + Sync),
    delivery: Delivery,
) -> Result<EventId, ApiError> {
    // Where the backend prefers it (networked ones, and memory), a handler done at once is
    // recorded already finished.
    let at_once = if delivery == Delivery::Call && inner.backend.prefers_fused_calls() {
        AtOnce::Record
    } else {
        AtOnce::RunAsJob
    };
    match start_call(inner, endpoint, parts, data, route, delivery, at_once).await? {
        Started::Job(id) => Ok(id),
        // Only `AtOnce::Return` gives an outcome back.
        Started::Done(_) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{route}: internal error: the call finished without a record"),
        )),
    }
}

/// The start of a call whose caller waits for it on the same request (an MCP `tools/call`).
/// With `inline` (the caller wants no progress), a handler done at its first step gives its
/// outcome back with no job and no backend record at all; any other runs as a job.
#[cfg_attr(not(feature = "mcp"), allow(dead_code))]
pub(crate) async fn start_waited(
    inner: &Arc<Inner>,
    endpoint: &CompiledEndpoint,
    parts: Parts,
    data: CallData<'_>,
    route: &(dyn std::fmt::Display + Sync),
    delivery: Delivery,
    inline: bool,
) -> Result<Started, ApiError> {
    let at_once = if inline {
        AtOnce::Return
    } else {
        AtOnce::RunAsJob
    };
    start_call(inner, endpoint, parts, data, route, delivery, at_once).await
}

async fn start_call(
    inner: &Arc<Inner>,
    endpoint: &CompiledEndpoint,
    parts: Parts,
    data: CallData<'_>,
    route: &(dyn std::fmt::Display + Sync),
    delivery: Delivery,
    at_once: AtOnce,
) -> Result<Started, ApiError> {
    let mut prepared = prepare(inner, endpoint, &parts, data).await?;
    let id = EventId::new_random();
    // A call with a place in a line waits for it as a job; files in a result are completed
    // by the job.
    let inline =
        at_once != AtOnce::RunAsJob && endpoint.limiter.is_none() && !endpoint.has_file_output;
    if inline {
        refuse_when_closing(inner, route)?;
        // Registered now, so that the handler's token is the one a cancel reaches if it goes
        // on as a job (`admit` then finds it).
        let cancel = inner.running.start(id);
        let ctx = context(
            inner,
            endpoint,
            id,
            parts.clone(),
            &prepared,
            &cancel,
            delivery,
        );
        let Prepared {
            call,
            bearer,
            token,
        } = prepared;
        match run::first_step(inner, id, call, ctx) {
            FirstStep::Done(outcome) => {
                inner.running.end(id);
                if at_once == AtOnce::Return {
                    return Ok(Started::Done(outcome));
                }
                let name = &endpoint.sig.name;
                inner
                    .backend
                    .begin_finished(id, name, inner.runner, outcome)
                    .await
                    .map_err(|e| unavailable(route, &e.to_string()))?;
                return Ok(Started::Job(id));
            }
            FirstStep::Later(call) => {
                prepared = Prepared {
                    call,
                    bearer,
                    token,
                }
            }
        }
    }
    let admitted = admit(inner, endpoint, id, route, None).await?;
    launch(inner, endpoint, id, parts, prepared, delivery, admitted);
    Ok(Started::Job(id))
}
