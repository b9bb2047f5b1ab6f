//! Runs each call as its own task; a failing or panicking handler affects only its call.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;

use crate::context::CallContext;
use crate::event_id::EventId;
use crate::registry::BoundCall;
use crate::store::{EventStore, Outcome};

/// Spawns the call on the current tokio runtime and records its outcome in the store.
pub(crate) fn spawn_call(
    store: Arc<dyn EventStore>,
    id: EventId,
    call: BoundCall,
    ctx: CallContext,
) {
    tokio::spawn(async move {
        let run = AssertUnwindSafe(async move { call(ctx).await }).catch_unwind();
        let outcome = match run.await {
            Ok(Ok(data)) => Outcome::Complete(data),
            Ok(Err(message)) => Outcome::error(&message),
            Err(_) => Outcome::error("internal error: the handler panicked"),
        };
        store.finish(id, outcome);
    });
}
