//! What the service tells the application's `tracing` subscriber: one span per request
//! (method, route family, endpoint, status, duration) and one per job (event id, endpoint,
//! route, outcome, duration), with one `info` line when a call ends and `warn`/`error` lines
//! for handler errors and panics.
//!
//! Never logged, at any level: tokens (a handler's message is scrubbed of the call's tokens
//! before it is logged), argument values, request bodies, headers, paths of files, and
//! uploaded contents. Request failures (4xx) are logged by status only, because their messages
//! may quote the arguments.

use std::borrow::Cow;
use std::time::Instant;

use http::{Method, StatusCode};
use tracing::field::Empty;
use tracing::Span;

use crate::event_id::EventId;

/// The span of one request; its route, endpoint, status and duration are filled in later.
pub(crate) fn request_span(method: &Method) -> Span {
    tracing::debug_span!(
        "request",
        method = %method,
        route = Empty,
        endpoint = Empty,
        status = Empty,
        duration_ms = Empty,
    )
}

/// Records where a request went. `endpoint` is recorded only when it names a registered
/// endpoint, so that arbitrary path text never reaches the log.
pub(crate) fn record_route(span: &Span, family: &'static str, endpoint: Option<&str>) {
    if span.is_disabled() {
        return;
    }
    span.record("route", family);
    if let Some(endpoint) = endpoint {
        span.record("endpoint", endpoint);
    }
}

/// When a request starts: `None` when nothing would log it, so that a service without a
/// subscriber does not read the clock for it.
pub(crate) fn request_started(span: &Span) -> Option<Instant> {
    (!span.is_disabled() || tracing::enabled!(tracing::Level::WARN)).then(Instant::now)
}

/// Records the status and duration of a request and logs one line: `debug` normally, `warn`
/// for server-side failures (5xx).
pub(crate) fn request_done(span: &Span, status: StatusCode, started: Option<Instant>) {
    let Some(started) = started else {
        return;
    };
    let duration_ms = millis(started);
    let status = status.as_u16();
    if !span.is_disabled() {
        span.record("status", status);
        span.record("duration_ms", duration_ms);
    }
    if status >= 500 {
        tracing::warn!(parent: span, status, duration_ms, "request failed");
    } else {
        tracing::debug!(parent: span, status, duration_ms, "request");
    }
}

/// The span of one job, from its start to its delivery. A root span: the job outlives the
/// request that started it.
pub(crate) fn job_span(id: EventId, endpoint: &str, queue: bool) -> Span {
    tracing::info_span!(
        parent: None,
        "job",
        event_id = %id,
        endpoint,
        route = if queue { "queue" } else { "call" },
        outcome = Empty,
        duration_ms = Empty,
    )
}

/// How a job ended, for its closing log line.
pub(crate) enum JobEnd<'a> {
    Complete,
    /// The handler returned an error, or its result could not be delivered.
    Failed(&'a str),
    Panicked(&'a str),
    Cancelled,
}

/// Records the outcome and duration on the job's span (the current one) and logs the end of
/// the job: `info` when it completed or was cancelled, `warn` with the (scrubbed) message when
/// it failed, `error` when the handler panicked.
pub(crate) fn job_done(end: JobEnd<'_>, started: Instant, secrets: &[&str]) {
    let span = Span::current();
    // Nothing would be logged at any level: no clock read.
    if span.is_disabled() && !tracing::enabled!(tracing::Level::ERROR) {
        return;
    }
    let duration_ms = millis(started);
    if !span.is_disabled() {
        let outcome = match end {
            JobEnd::Complete => "complete",
            JobEnd::Failed(_) => "error",
            JobEnd::Panicked(_) => "panic",
            JobEnd::Cancelled => "cancelled",
        };
        span.record("outcome", outcome);
        span.record("duration_ms", duration_ms);
    }
    match end {
        JobEnd::Complete => tracing::info!(outcome = "complete", duration_ms, "call finished"),
        JobEnd::Cancelled => tracing::info!(outcome = "cancelled", duration_ms, "call finished"),
        JobEnd::Failed(message) => tracing::warn!(
            outcome = "error",
            duration_ms,
            error = %scrub(message, secrets),
            "call failed"
        ),
        JobEnd::Panicked(message) => tracing::error!(
            outcome = "panic",
            duration_ms,
            panic = %scrub(message, secrets),
            "call panicked"
        ),
    }
}

fn millis(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

/// `message` with every occurrence of a secret replaced by `[redacted]`. Secrets shorter
/// than 4 characters are left alone: they would redact ordinary words.
pub(crate) fn scrub<'a>(message: &'a str, secrets: &[&str]) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(message);
    for secret in secrets.iter().filter(|s| s.trim().len() >= 4) {
        if out.contains(secret) {
            out = Cow::Owned(out.replace(secret, "[redacted]"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_secrets() {
        assert_eq!(
            scrub("token hf_abc123 is wrong, hf_abc123!", &["hf_abc123"]),
            "token [redacted] is wrong, [redacted]!"
        );
        assert!(matches!(scrub("fine", &["hf_x1y2"]), Cow::Borrowed(_)));
        assert_eq!(scrub("a b", &["a", ""]), "a b");
    }
}
