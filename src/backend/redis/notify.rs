//! Wake-ups across replicas: one pub/sub connection per backend, subscribed to the
//! notification channels of its prefix, hands each message to the local readers waiting on
//! that channel, or to the local runner a cancel is for.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use bytes::Bytes;
use dashmap::DashMap;
use futures_util::StreamExt;
use tokio::sync::Notify;

use super::link::Link;
use crate::backend::{CancelHandler, EventId};

/// One notification channel, as the local readers of it see it.
#[derive(Default)]
pub(super) struct Channel {
    pub(super) notify: Notify,
    /// How many notifications came: a reader that saw this number before its last read
    /// knows whether something came since.
    seq: AtomicU64,
    /// The payload of the latest notification that had one (a finished job's outcome entry).
    last: Mutex<Option<Bytes>>,
}

impl Channel {
    pub(super) fn seq(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    /// The latest payload, if any.
    pub(super) fn payload(&self) -> Option<Bytes> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The local side of the notification channels.
pub(super) struct Notifier {
    /// Channel name → the readers waiting on it.
    waiting: Mutex<HashMap<String, Weak<Channel>>>,
    /// Runners of this process, by id, with where their cancels go.
    runners: DashMap<u64, CancelHandler>,
    /// `<prefix>n:c:`, the start of cancel channels.
    cancel_prefix: String,
}

impl Notifier {
    pub(super) fn new(prefix: &str) -> Self {
        Self {
            waiting: Mutex::new(HashMap::new()),
            runners: DashMap::new(),
            cancel_prefix: format!("{prefix}n:c:"),
        }
    }

    fn waiting(&self) -> MutexGuard<'_, HashMap<String, Weak<Channel>>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What a reader of `channel` waits on. Kept only while some reader holds it.
    pub(super) fn channel(&self, channel: String) -> Arc<Channel> {
        let mut waiting = self.waiting();
        if let Some(notify) = waiting.get(&channel).and_then(Weak::upgrade) {
            return notify;
        }
        // Forget channels nobody waits on any more, now and then.
        if waiting.len() >= 64 && waiting.len().is_power_of_two() {
            waiting.retain(|_, w| w.strong_count() > 0);
        }
        let notify = Arc::new(Channel::default());
        waiting.insert(channel, Arc::downgrade(&notify));
        notify
    }

    pub(super) fn add_runner(&self, runner: u64, on_cancel: CancelHandler) {
        self.runners.insert(runner, on_cancel);
    }

    fn dispatch(&self, channel: &str, payload: &[u8]) {
        if let Some(runner) = channel.strip_prefix(&self.cancel_prefix) {
            let handler = runner
                .parse::<u64>()
                .ok()
                .and_then(|r| self.runners.get(&r).map(|h| h.clone()));
            let id = std::str::from_utf8(payload).ok().and_then(EventId::parse);
            if let (Some(handler), Some(id)) = (handler, id) {
                handler(id);
            }
            return;
        }
        let found = self.waiting().get(channel).and_then(Weak::upgrade);
        if let Some(channel) = found {
            if !payload.is_empty() {
                *channel.last.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(Bytes::copy_from_slice(payload));
            }
            channel.seq.fetch_add(1, Ordering::AcqRel);
            channel.notify.notify_waiters();
        }
    }

    /// Wakes every reader: after a reconnect, messages may have been missed.
    fn wake_all(&self) {
        let all: Vec<Arc<Channel>> = self.waiting().values().filter_map(Weak::upgrade).collect();
        for channel in all {
            channel.seq.fetch_add(1, Ordering::AcqRel);
            channel.notify.notify_waiters();
        }
    }
}

/// Subscribes to `pattern` and dispatches its messages until `notifier` is dropped,
/// reconnecting after a lost connection (to the primary as `link` knows it then).
pub(super) async fn listen(link: Arc<Link>, pattern: String, notifier: Weak<Notifier>) {
    loop {
        let pubsub = match link.client().await {
            Ok(client) => client.get_async_pubsub().await,
            Err(e) => Err(e),
        };
        if let Ok(mut pubsub) = pubsub {
            if pubsub.psubscribe(&pattern).await.is_ok() {
                match notifier.upgrade() {
                    Some(n) => n.wake_all(),
                    None => return,
                }
                let mut messages = pubsub.into_on_message();
                while let Some(message) = messages.next().await {
                    let Some(n) = notifier.upgrade() else { return };
                    n.dispatch(message.get_channel_name(), message.get_payload_bytes());
                }
                tracing::warn!("lost the Redis notification connection; reconnecting");
            }
        }
        if notifier.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
