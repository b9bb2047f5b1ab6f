//! [`Wakers`]: the readers waiting on one job or session; the first needs no allocation.

use std::task::Waker;

#[derive(Default)]
pub(super) struct Wakers {
    first: Option<Waker>,
    more: Vec<Waker>,
}

impl Wakers {
    /// Registers `waker`, unless it (or one that wakes the same task) already is.
    pub(super) fn register(&mut self, waker: &Waker) {
        match &self.first {
            None => self.first = Some(waker.clone()),
            Some(first) if first.will_wake(waker) => {}
            Some(_) => {
                if !self.more.iter().any(|w| w.will_wake(waker)) {
                    self.more.push(waker.clone());
                }
            }
        }
    }

    /// Wakes and forgets every registered waker.
    pub(super) fn wake_all(&mut self) {
        if let Some(first) = self.first.take() {
            first.wake();
        }
        for waker in self.more.drain(..) {
            waker.wake();
        }
    }
}
