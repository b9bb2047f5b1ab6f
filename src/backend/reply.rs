//! [`Reply`]: the answer of a backend call, ready at once (in memory) or later (over a
//! network), awaited the same way.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

enum State<T> {
    Ready(Option<T>),
    Pending(Pin<Box<dyn Future<Output = T> + Send>>),
}

/// The answer of a [`Backend`](crate::backend::Backend) method: a future that is either
/// already resolved ([`Reply::ready`], no allocation: what an in-memory backend returns) or
/// runs a boxed future ([`Reply::pending`]: what a backend behind a network returns).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use gradio_compat::backend::Reply;
///
/// assert_eq!(Reply::ready(3).await, 3);
/// assert_eq!(Reply::pending(async { 4 }).await, 4);
/// # }
/// ```
#[must_use = "a reply does nothing unless awaited"]
pub struct Reply<T>(State<T>);

// The value is moved out, never pinned in place, so a reply is always `Unpin`.
impl<T> Unpin for Reply<T> {}

impl<T> Reply<T> {
    /// A reply that is already known.
    pub fn ready(value: T) -> Self {
        Reply(State::Ready(Some(value)))
    }

    /// A reply that `future` computes.
    pub fn pending(future: impl Future<Output = T> + Send + 'static) -> Self {
        Reply(State::Pending(Box::pin(future)))
    }

    /// The value, when it is already known; otherwise the reply itself, still to be awaited.
    pub fn now(self) -> Result<T, Self> {
        match self.0 {
            State::Ready(Some(value)) => Ok(value),
            state => Err(Reply(state)),
        }
    }
}

impl<T: Send + 'static> Reply<T> {
    /// Lets the reply run to its end without waiting for it: a ready one is dropped, a pending
    /// one is spawned on the current tokio runtime (and dropped outside one).
    pub(crate) fn detach(self) {
        if let Err(pending) = self.now() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(pending);
            }
        }
    }
}

impl<T> Future for Reply<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match &mut self.get_mut().0 {
            State::Ready(value) => {
                Poll::Ready(value.take().expect("a Reply polled after it resolved"))
            }
            State::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

impl<T> std::fmt::Debug for Reply<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            State::Ready(_) => "Reply::ready",
            State::Pending(_) => "Reply::pending",
        })
    }
}
