//! Runs each call as its own task: a failing, panicking or cancelled handler affects only its
//! own call. The outcome goes to the event store (`/call` route) or to the session (queue).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;

use crate::cancel::CancelToken;
use crate::context::CallContext;
use crate::event_id::EventId;
use crate::file_output::complete_files;
use crate::queue::process_completed;
use crate::registry::BoundCall;
use crate::service::Inner;
use crate::store::Outcome;

/// Where a job's outcome goes.
pub(crate) enum Delivery {
    /// The event store, polled on `GET {prefix}/call/{api}/{event_id}`.
    Call,
    /// A queue session's data stream.
    Queue(Box<str>),
}

/// One call, ready to run.
pub(crate) struct Job {
    pub(crate) id: EventId,
    pub(crate) call: BoundCall,
    pub(crate) ctx: CallContext,
    pub(crate) cancel: CancelToken,
    pub(crate) delivery: Delivery,
    /// The request's root URL, when the endpoint returns files whose URLs need it.
    pub(crate) file_root: Option<String>,
}

/// Spawns the job on the current tokio runtime.
pub(crate) fn spawn_job(inner: Arc<Inner>, job: Job) {
    tokio::spawn(async move {
        let Job {
            id,
            call,
            ctx,
            cancel,
            delivery,
            file_root,
        } = job;
        let started = Instant::now();
        let run = AssertUnwindSafe(async move { call(ctx).await }).catch_unwind();
        tokio::pin!(run);
        let result = tokio::select! {
            result = &mut run => Some(result),
            () = cancel.cancelled() => {
                // Give the handler the grace period to notice and finish, then drop it.
                tokio::time::timeout(inner.config.cancel_grace, &mut run).await.ok()
            }
        };
        let cancelled = cancel.is_cancelled();
        let mut outcome = match result {
            Some(Ok(Ok(data))) => Outcome::Complete(data),
            Some(Ok(Err(message))) => Outcome::error(&message),
            Some(Err(_)) => Outcome::error("internal error: the handler panicked"),
            None => Outcome::error("the call was cancelled"),
        };
        if let (Outcome::Complete(data), Some(root)) = (&outcome, file_root) {
            let data = data.clone();
            let files = inner.files.clone();
            let prefix = inner.config.prefix.clone();
            let completed =
                tokio::task::spawn_blocking(move || complete_files(data, &root, &prefix, &files))
                    .await;
            outcome = match completed {
                Ok(Ok(data)) => Outcome::Complete(data),
                Ok(Err(message)) => Outcome::error(&message),
                Err(_) => Outcome::error("internal error while completing the result's files"),
            };
        }
        inner.running.end(id);
        match delivery {
            Delivery::Call => inner.store.finish(id, outcome),
            Delivery::Queue(hash) => {
                let elapsed = started.elapsed().as_secs_f64();
                inner
                    .sessions
                    .complete(&hash, process_completed(id, &outcome, cancelled, elapsed));
            }
        }
    });
}
