//! [`Fanout`]: one live source that many calls follow. Each value is encoded once into the
//! bytes every follower sends; followers read one shared buffer, each with its own cursor,
//! and are woken together when a value arrives. No task, channel or buffer per follower.

use std::collections::VecDeque;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;

use crate::backend::Outcome;
use crate::frames;
use crate::output::encode_outputs;

/// How many recent values a fan-out keeps for followers that are behind, unless set.
pub const DEFAULT_FANOUT_BACKLOG: usize = 64;

/// How often an idle fan-out sends its followers a heartbeat, unless set.
pub const DEFAULT_FANOUT_HEARTBEAT: Duration = Duration::from_secs(15);

/// One value, encoded once for every follower.
#[derive(Clone)]
pub(crate) struct Item {
    /// The output list, `[value]`; empty for a heartbeat.
    pub(crate) output: Bytes,
    /// The `/call` stream's frame for it.
    pub(crate) call_frame: Bytes,
}

impl Item {
    pub(crate) fn is_heartbeat(&self) -> bool {
        self.output.is_empty()
    }
}

struct State {
    items: VecDeque<Item>,
    /// Sequence number of `items[0]`.
    first: u64,
    /// How it ended, once it did.
    end: Option<Outcome>,
    /// Followers waiting for the next value, woken together.
    wakers: Vec<Waker>,
    /// Bumped at every wake: a follower registered in the current generation is not pushed
    /// again.
    generation: u64,
    /// Whether a value came since the last heartbeat tick.
    active: bool,
}

struct Shared {
    state: Mutex<State>,
    backlog: usize,
    /// Open followers (cursors), for [`Fanout::followers`].
    followers: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, item: Item) {
        let mut state = self.lock();
        if state.end.is_some() {
            return;
        }
        if state.items.len() >= self.backlog {
            state.items.pop_front();
            state.first += 1;
        }
        state.active |= !item.is_heartbeat();
        state.items.push_back(item);
        Self::wake(&mut state);
    }

    fn wake(state: &mut State) {
        state.generation += 1;
        for waker in state.wakers.drain(..) {
            waker.wake();
        }
    }
}

/// A live source of values of type `T` that any number of calls follow: a training run's
/// metric, a sensor, a log. Returned by the handler of a [`follow`](crate::Registry::follow)
/// endpoint; every call of it streams the values published from then on, as a streaming
/// endpoint's `generating` messages, and completes with the last one when the fan-out
/// [`finish`](Self::finish)es.
///
/// A value is encoded once, whatever the number of followers. Each follower reads the shared
/// buffer of the latest [`DEFAULT_FANOUT_BACKLOG`] values (see [`with_backlog`](Self::with_backlog))
/// with its own cursor; one that falls further behind skips to the oldest value kept, as a
/// streaming call's reader skips superseded partial results. While nothing is published,
/// followers get a heartbeat every [`DEFAULT_FANOUT_HEARTBEAT`] (when created inside a tokio
/// runtime). Cloning gives another handle to the same source.
///
/// ```
/// use gradio_compat::{CallContext, Fanout, NoArgs, Registry};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let ticks: Fanout<u64> = Fanout::new();
/// let source = ticks.clone();
/// let registry = Registry::new().follow("ticks", move |_: NoArgs, _: CallContext| {
///     Ok::<_, String>(source.clone())
/// });
/// ticks.publish(&1).unwrap(); // every open call of /ticks sends `[1]`
/// ticks.finish(); // and completes
/// # let _ = registry;
/// # }
/// ```
pub struct Fanout<T> {
    shared: Arc<Shared>,
    _values: PhantomData<fn(&T)>,
}

impl<T> Clone for Fanout<T> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            _values: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Fanout<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fanout")
            .field("backlog", &self.shared.backlog)
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> Default for Fanout<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Fanout<T> {
    /// A fan-out keeping the default backlog, with heartbeats every
    /// [`DEFAULT_FANOUT_HEARTBEAT`].
    pub fn new() -> Self {
        Self::with_backlog(DEFAULT_FANOUT_BACKLOG, DEFAULT_FANOUT_HEARTBEAT)
    }

    /// A fan-out keeping the latest `backlog` values (at least 1) for followers that are
    /// behind, sending a heartbeat after each idle `heartbeat` (created inside a tokio runtime;
    /// outside one there are none).
    pub fn with_backlog(backlog: usize, heartbeat: Duration) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                items: VecDeque::new(),
                first: 0,
                end: None,
                wakers: Vec::new(),
                generation: 0,
                active: false,
            }),
            backlog: backlog.max(1),
            followers: AtomicUsize::new(0),
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(heartbeats(Arc::downgrade(&shared), heartbeat));
        }
        Self {
            shared,
            _values: PhantomData,
        }
    }

    /// Sends `value` to every follower: encoded once, then shared. Fails only when the value
    /// cannot be encoded as JSON. After [`finish`](Self::finish), values are ignored.
    pub fn publish(&self, value: &T) -> Result<(), String>
    where
        T: Serialize,
    {
        let output = encode_outputs(value)?;
        let call_frame = frames::generating(&output);
        self.shared.push(Item { output, call_frame });
        Ok(())
    }

    /// Ends the source: every follower completes with the last value published (`[null]`
    /// when there was none); new calls complete at once.
    pub fn finish(&self) {
        let mut state = self.shared.lock();
        if state.end.is_none() {
            let last = state
                .items
                .iter()
                .rev()
                .find(|i| !i.is_heartbeat())
                .map(|i| i.output.clone())
                .unwrap_or_else(|| Bytes::from_static(b"[null]"));
            state.end = Some(Outcome::Complete(last));
            Shared::wake(&mut state);
        }
    }

    /// Ends the source with an error: every follower gets `message` as its call's error.
    pub fn fail(&self, message: &str) {
        let mut state = self.shared.lock();
        if state.end.is_none() {
            state.end = Some(Outcome::error(message));
            Shared::wake(&mut state);
        }
    }

    /// Whether it was finished or failed.
    pub fn is_finished(&self) -> bool {
        self.shared.lock().end.is_some()
    }

    /// How many calls follow it now, counting each [`Follow`] from its creation (a handler's
    /// follow not yet started counts: a source pruned on `followers() == 0` never drops one
    /// that is about to start).
    pub fn followers(&self) -> usize {
        self.shared.followers.load(Ordering::Acquire)
    }

    /// A follow of this source from the next value published, to return from a
    /// [`follow`](crate::Registry::follow) handler, with per-call limits when set. It counts
    /// in [`followers`](Self::followers) from now until its call ends (or it is dropped).
    pub fn follow(&self) -> Follow<T> {
        let next = {
            let state = self.shared.lock();
            state.first + state.items.len() as u64
        };
        self.shared.followers.fetch_add(1, Ordering::AcqRel);
        Follow {
            fanout: self.clone(),
            next,
            counted: true,
            max_values: None,
            quiet: None,
            end_when_behind: None,
        }
    }
}

/// One call's follow of a [`Fanout`]: from the next value published, until the fan-out ends,
/// or sooner by the limits set here. A [`follow`](crate::Registry::follow) handler returns
/// it (a `Fanout` converts into one without limits).
///
/// When it ends by a limit, the call completes with the last value it delivered (`[null]`
/// when none); when the fan-out finishes, with the last value it delivered or else the
/// fan-out's last.
#[must_use = "a follow does nothing until a follow handler returns it"]
pub struct Follow<T> {
    fanout: Fanout<T>,
    /// Sequence number of the first value it reads: the next one published when it was made.
    next: u64,
    /// Whether it still holds its place in the followers' count (handed to its `Follower`).
    counted: bool,
    max_values: Option<u64>,
    quiet: Option<Duration>,
    end_when_behind: Option<String>,
}

impl<T> From<Fanout<T>> for Follow<T> {
    fn from(fanout: Fanout<T>) -> Self {
        fanout.follow()
    }
}

impl<T> Follow<T> {
    /// Ends the call after `n` values.
    pub fn max_values(mut self, n: u64) -> Self {
        self.max_values = Some(n);
        self
    }

    /// Ends the call when no value came for `quiet` (heartbeats do not count).
    pub fn quiet(mut self, quiet: Duration) -> Self {
        self.quiet = Some(quiet);
        self
    }

    /// Ends the call with an error when it falls behind the fan-out's backlog, instead of
    /// skipping to the oldest value kept: for readers that must not miss a value (a chart
    /// would draw a line with a hole). The message says how many values were missed after
    /// `message`.
    pub fn end_when_behind(mut self, message: impl Into<String>) -> Self {
        self.end_when_behind = Some(message.into());
        self
    }

    /// Its cursor, from the value that was next when the follow was made; its place in the
    /// followers' count passes to the cursor.
    pub(crate) fn follower(mut self) -> Follower {
        self.counted = false;
        Follower {
            shared: self.fanout.shared.clone(),
            next: self.next,
            generation: None,
            left: self.max_values,
            last: None,
            quiet: self.quiet.map(|d| (d, Box::pin(tokio::time::sleep(d)))),
            end_when_behind: self.end_when_behind.take(),
        }
    }
}

impl<T> Drop for Follow<T> {
    fn drop(&mut self) {
        if self.counted {
            self.fanout.shared.followers.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Pushes a heartbeat when nothing was published during the last `every`; stops with the
/// fan-out (dropped or ended).
async fn heartbeats(shared: Weak<Shared>, every: Duration) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let idle = {
            let mut state = shared.lock();
            if state.end.is_some() {
                return;
            }
            !std::mem::take(&mut state.active)
        };
        if idle {
            shared.push(Item {
                output: Bytes::new(),
                call_frame: Bytes::from_static(frames::CALL_HEARTBEAT),
            });
        }
    }
}

/// What a follower reads next.
pub(crate) enum Next {
    /// A value or a heartbeat.
    Item(Item),
    /// The call's end: its outcome.
    End(Outcome),
}

/// One follower's cursor in a fan-out's buffer, with its own limits.
pub(crate) struct Follower {
    shared: Arc<Shared>,
    /// Sequence number of the next item to read.
    next: u64,
    /// The wake generation it is registered in, if any.
    generation: Option<u64>,
    /// Values it may still deliver, when limited.
    left: Option<u64>,
    /// The last value it delivered.
    last: Option<Bytes>,
    /// The quiet limit and its timer, reset at each value.
    quiet: Option<(Duration, Pin<Box<tokio::time::Sleep>>)>,
    /// Ends the call when behind, with this message.
    end_when_behind: Option<String>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.shared.followers.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Follower {
    fn complete(&mut self, fallback: Option<&Bytes>) -> Next {
        let last = self
            .last
            .take()
            .or_else(|| fallback.cloned())
            .unwrap_or_else(|| Bytes::from_static(b"[null]"));
        Next::End(Outcome::Complete(last))
    }

    /// The next item, or the end; registers to be woken when there is none yet. Not to be
    /// polled again after the end.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Next> {
        if self.left == Some(0) {
            return Poll::Ready(self.complete(None));
        }
        let mut state = self.shared.lock();
        if self.next < state.first {
            if let Some(message) = &self.end_when_behind {
                let missed = state.first - self.next;
                return Poll::Ready(Next::End(Outcome::error(&format!(
                    "{message} ({missed} values missed)"
                ))));
            }
            // Behind the buffer: skip to its oldest value.
            self.next = state.first;
        }
        let at = (self.next - state.first) as usize;
        if let Some(item) = state.items.get(at) {
            let item = item.clone();
            drop(state);
            self.next += 1;
            if !item.is_heartbeat() {
                self.last = Some(item.output.clone());
                if let Some(left) = &mut self.left {
                    *left -= 1;
                }
                if let Some((quiet, timer)) = &mut self.quiet {
                    timer.as_mut().reset(tokio::time::Instant::now() + *quiet);
                }
            }
            return Poll::Ready(Next::Item(item));
        }
        match &state.end {
            Some(Outcome::Complete(last)) => {
                let last = last.clone();
                drop(state);
                return Poll::Ready(self.complete(Some(&last)));
            }
            Some(end) => return Poll::Ready(Next::End(end.clone())),
            None => {}
        }
        if self.generation != Some(state.generation) {
            state.wakers.push(cx.waker().clone());
            self.generation = Some(state.generation);
        }
        drop(state);
        if let Some((_, timer)) = &mut self.quiet {
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(self.complete(None));
            }
        }
        Poll::Pending
    }

    /// Its values as a streaming call's items (heartbeats left out): for the routes that run
    /// a follow call as a job of its own (the queue, MCP, a shared backend). A limit ends the
    /// stream (the job then completes with the last item, as the fast path does).
    pub(crate) fn into_items(
        mut self,
    ) -> impl futures_util::Stream<Item = Result<Bytes, String>> + Send + Unpin {
        let mut done = false;
        futures_util::stream::poll_fn(move |cx| loop {
            if done {
                return Poll::Ready(None);
            }
            match self.poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Next::Item(item)) if item.is_heartbeat() => continue,
                Poll::Ready(Next::Item(item)) => return Poll::Ready(Some(Ok(item.output))),
                Poll::Ready(Next::End(Outcome::Complete(_))) => {
                    done = true;
                    return Poll::Ready(None);
                }
                Poll::Ready(Next::End(Outcome::Error(message))) => {
                    let text = serde_json::from_slice::<String>(&message)
                        .unwrap_or_else(|_| String::from_utf8_lossy(&message).into_owned());
                    done = true;
                    return Poll::Ready(Some(Err(text)));
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn followers_share_values_and_skip_what_fell_out_of_the_backlog() {
        let fan: Fanout<u32> = Fanout::with_backlog(2, Duration::from_secs(60));
        let early = fan.follow().follower().into_items();
        fan.publish(&1).unwrap();
        let late = fan.follow().follower().into_items();
        for v in 2..=4 {
            fan.publish(&v).unwrap();
        }
        fan.finish();
        assert!(fan.is_finished());
        let early: Vec<_> = early.collect().await;
        // 1 and 2 fell out of a backlog of 2.
        assert_eq!(early, vec![Ok(Bytes::from("[3]")), Ok(Bytes::from("[4]"))]);
        let late: Vec<_> = late.collect().await;
        assert_eq!(late, vec![Ok(Bytes::from("[3]")), Ok(Bytes::from("[4]"))]);
        // A follower after the end reads the end at once.
        let mut after = fan.follow().follower();
        let waker = futures_util::task::noop_waker();
        let Poll::Ready(Next::End(Outcome::Complete(last))) =
            after.poll_next(&mut Context::from_waker(&waker))
        else {
            panic!("ended");
        };
        assert_eq!(last, "[4]");
    }

    #[tokio::test]
    async fn a_failure_reaches_every_follower_and_idle_followers_get_heartbeats() {
        let fan: Fanout<u32> = Fanout::with_backlog(8, Duration::from_millis(20));
        let mut raw = fan.follow().follower();
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(raw.poll_next(&mut cx).is_pending());
        assert_eq!(fan.shared.lock().wakers.len(), 1);
        assert!(raw.poll_next(&mut cx).is_pending());
        assert_eq!(fan.shared.lock().wakers.len(), 1, "registered once");
        tokio::time::sleep(Duration::from_millis(70)).await;
        let Poll::Ready(Next::Item(beat)) = raw.poll_next(&mut cx) else {
            panic!("a heartbeat");
        };
        assert!(beat.is_heartbeat());
        assert_eq!(&beat.call_frame[..], frames::CALL_HEARTBEAT);
        let items = fan.follow().follower().into_items();
        fan.fail("the source stopped");
        let got: Vec<_> = items.collect().await;
        assert_eq!(got, vec![Err("the source stopped".to_owned())]);
    }

    #[tokio::test]
    async fn a_follow_counts_and_reads_from_when_it_was_made() {
        let fan: Fanout<u32> = Fanout::with_backlog(8, Duration::from_secs(60));
        let made = fan.follow().max_values(2);
        let dropped = fan.follow();
        // A source pruned on `followers() == 0` between a handler's return and its call's
        // start kept no follower alive (the tracking server's follow_metric saw nothing).
        assert_eq!(fan.followers(), 2);
        drop(dropped);
        assert_eq!(fan.followers(), 1);
        fan.publish(&1).unwrap();
        let items = made.follower().into_items();
        assert_eq!(fan.followers(), 1, "the count passed to the cursor");
        fan.publish(&2).unwrap();
        let got: Vec<_> = items.collect().await;
        assert_eq!(got, vec![Ok(Bytes::from("[1]")), Ok(Bytes::from("[2]"))]);
        assert_eq!(fan.followers(), 0);
    }

    #[tokio::test]
    async fn limits_end_one_follower_without_ending_the_source() {
        let fan: Fanout<u32> = Fanout::with_backlog(2, Duration::from_secs(60));
        let capped = fan.follow().max_values(2).follower().into_items();
        let quiet = fan.follow().quiet(Duration::from_millis(30)).follower();
        let strict = fan
            .follow()
            .end_when_behind("fell behind")
            .follower()
            .into_items();
        assert_eq!(fan.followers(), 3);
        for v in 1..=3 {
            fan.publish(&v).unwrap();
        }
        let capped: Vec<_> = capped.collect().await;
        assert_eq!(capped, vec![Ok(Bytes::from("[2]")), Ok(Bytes::from("[3]"))]);
        // Behind by one (1 fell out of the backlog of 2): an error, not a skip.
        let strict: Vec<_> = strict.collect().await;
        assert_eq!(
            strict,
            vec![Err("fell behind (1 values missed)".to_owned())]
        );
        // Quiet: ends 30 ms after its last value, completing with it.
        let mut quiet = quiet;
        let started = tokio::time::Instant::now();
        let end = std::future::poll_fn(|cx| loop {
            match quiet.poll_next(cx) {
                Poll::Ready(Next::Item(_)) => continue,
                Poll::Ready(Next::End(end)) => return Poll::Ready(end),
                Poll::Pending => return Poll::Pending,
            }
        })
        .await;
        assert_eq!(end, Outcome::Complete(Bytes::from("[3]")));
        assert!(started.elapsed() >= Duration::from_millis(25));
        drop(quiet);
        assert_eq!(fan.followers(), 0);
        assert!(!fan.is_finished(), "the source goes on");
    }
}
