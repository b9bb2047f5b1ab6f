//! A call's life: bind and validate its arguments, check its files, authorize it, admit it
//! into its endpoint's line, and spawn it (`launch`); `run` runs it and delivers its outcome.
//! The route modules only translate HTTP to and from these steps.

mod run;

use std::sync::Arc;

use http::request::Parts;
use http::StatusCode;
use serde_json::Value;

use crate::auth::{bearer_token, AuthRequest, AuthTarget};
use crate::backend::BeginError;
use crate::concurrency::Ticket;
use crate::context::{CallContext, ContextInner};
use crate::error::{ApiError, ArgProblem};
use crate::event_id::EventId;
use crate::registry::BoundCall;
use crate::root_url::request_root;
use crate::state::{CompiledEndpoint, Inner};

pub(crate) use run::Delivery;
use run::{spawn_job, Job};

/// A call whose arguments were bound and authorized: everything but the job itself.
pub(crate) struct Prepared {
    pub(crate) call: BoundCall,
    pub(crate) bearer: Option<String>,
    pub(crate) token: Option<String>,
}

/// Binds `data`, checks the files it names (off the async threads), then runs the authorize
/// hook: all before any job exists.
pub(crate) async fn prepare(
    inner: &Inner,
    endpoint: &CompiledEndpoint,
    parts: &Parts,
    data: Value,
) -> Result<Prepared, ApiError> {
    let bearer = bearer_token(&parts.headers);
    let sig = &endpoint.sig;
    let bound = sig.bind(data, bearer.as_deref())?;
    if !bound.files.is_empty() {
        for (_, path) in &bound.files {
            inner.files.mark_used(path);
        }
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

/// Takes a place in the endpoint's line, if it has a concurrency limit; 503 when the line is
/// full (Gradio's "Queue is full") or the service is shutting down.
pub(crate) fn admit(
    inner: &Inner,
    endpoint: &CompiledEndpoint,
    route: &(dyn std::fmt::Display + Sync),
) -> Result<Option<Ticket>, ApiError> {
    let unavailable = |message: String| {
        let mut err = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{route}: {message}"),
        );
        err.retry_after = Some(1);
        err
    };
    if inner.closing.load(std::sync::atomic::Ordering::Acquire) {
        return Err(unavailable(
            "the server is shutting down; retry shortly".to_owned(),
        ));
    }
    match &endpoint.limiter {
        None => Ok(None),
        Some(limiter) => limiter.admit().map(Some).map_err(|waiting| {
            unavailable(format!(
                "the queue of /{} is full: {waiting} calls already wait, its limit; retry later",
                endpoint.sig.name
            ))
        }),
    }
}

/// Starts the job of a prepared call.
pub(crate) fn launch(
    inner: &Arc<Inner>,
    endpoint: &CompiledEndpoint,
    id: EventId,
    parts: Parts,
    prepared: Prepared,
    delivery: Delivery,
    ticket: Option<Ticket>,
) {
    let file_root = endpoint.has_file_output.then(|| {
        request_root(
            &parts.headers,
            inner.config.public_url.as_deref(),
            &inner.config.root_path,
        )
    });
    let cancel = inner.running.start(id);
    let updates = match &delivery {
        Delivery::Queue(hash) => Some((inner.sessions.clone(), hash.clone())),
        Delivery::Call => {
            if endpoint.streaming {
                inner.live.open(id);
            }
            None
        }
    };
    let ctx = CallContext::new(ContextInner {
        endpoint: endpoint.sig.name.clone(),
        event_id: id,
        headers: parts.headers,
        bearer: prepared.bearer,
        token: prepared.token,
        cancel: cancel.clone(),
        files: inner.files.clone(),
        updates,
    });
    spawn_job(
        inner.clone(),
        Job {
            id,
            call: prepared.call,
            ctx,
            cancel,
            delivery,
            file_root,
            ticket,
        },
    );
}

/// The whole start of a `/call`: prepare, admit, record the unfinished call in the store and
/// launch its job. Returns the event id the poll uses.
pub(crate) async fn start(
    inner: &Arc<Inner>,
    endpoint: &CompiledEndpoint,
    parts: Parts,
    data: Value,
    route: &(dyn std::fmt::Display + Sync),
) -> Result<EventId, ApiError> {
    let prepared = prepare(inner, endpoint, &parts, data).await?;
    let ticket = admit(inner, endpoint, route)?;
    let id = EventId::new_random();
    inner
        .store
        .begin(id, &endpoint.sig.name)
        .map_err(|e| match e {
            BeginError::Full { .. } => {
                let mut err =
                    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("{route}: {e}"));
                err.retry_after = Some(1);
                err
            }
        })?;
    launch(inner, endpoint, id, parts, prepared, Delivery::Call, ticket);
    Ok(id)
}
