//! Periodic housekeeping: sweeps that run on a timer for as long as what they sweep lives.

use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Runs `work` every `interval` on the current tokio runtime until `owner` is dropped. Outside
/// a runtime it does nothing: the stores then sweep as they are used.
pub(crate) fn periodically<T, F, Fut>(owner: Weak<T>, interval: Duration, work: F)
where
    T: ?Sized + Send + Sync + 'static,
    F: Fn(Arc<T>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(owner) = owner.upgrade() else { return };
            work(owner).await;
        }
    });
}
