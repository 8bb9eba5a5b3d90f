//! Request ids: every request gets one, taken from a well-formed incoming
//! `x-request-id` (a load balancer's) or made here. It names the request's
//! tracing span, so every log line written while the request is served
//! carries it; it is the `request_id` of an error body, and it goes back in
//! the response's `x-request-id`.
//!
//! Logs name the method, the path (never the query), the status and the
//! time: never a header or a body, so no `Authorization`, cookie or
//! `client_secret` reaches a log line. The per-request line is at `debug`
//! under the target `writ::access` (`WRIT_LOG=info,writ::access=debug`).

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use tracing::Instrument;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest incoming id kept (longer ones are replaced).
const MAX_LEN: usize = 64;

tokio::task_local! {
    static REQUEST_ID: Arc<str>;
}

/// The id of the request being served on this task, if any.
pub(crate) fn current() -> Option<String> {
    REQUEST_ID.try_with(|id| id.to_string()).ok()
}

/// A fresh id, 32 hex digits: a random per-process half and a counter, so
/// making one is an atomic add (no system call per request), ids never
/// repeat within a process and differ across restarts and instances.
pub(crate) fn new_id() -> String {
    static PROCESS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let process = *PROCESS.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{process:016x}{n:016x}")
}

/// An incoming id is kept when it is 1 to 64 characters of letters,
/// digits, `-`, `_`, `.` or `:`: nothing a log line or header could be
/// tricked with, and bounded.
fn well_formed(v: &HeaderValue) -> Option<&str> {
    let b = v.as_bytes();
    let ok = (1..=MAX_LEN).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':'));
    if ok { v.to_str().ok() } else { None }
}

pub async fn layer(req: Request, next: Next) -> Response {
    let id: Arc<str> = match req.headers().get(X_REQUEST_ID).and_then(well_formed) {
        Some(given) => given.into(),
        None => new_id().into(),
    };
    // An error-level span, so its id is on every line whatever the level
    // filter lets through (a span below the filter's level would be off,
    // and the warnings inside it would lose their request id).
    let span = tracing::error_span!(
        target: "writ::request",
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    let started = std::time::Instant::now();
    let mut resp = REQUEST_ID
        .scope(id.clone(), next.run(req))
        .instrument(span.clone())
        .await;
    span.in_scope(|| {
        tracing::debug!(
            target: "writ::access",
            status = resp.status().as_u16(),
            micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "answered"
        );
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(X_REQUEST_ID, v);
    }
    resp
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_bounded_plain_ids() {
        let ok = |s: &str| well_formed(&HeaderValue::from_str(s).unwrap()).is_some();
        assert!(ok("0f8e2a1c-req.42:b_c"));
        assert!(ok(&"a".repeat(64)));
        assert!(!ok(&"a".repeat(65)));
        assert!(!ok(""));
        assert!(!ok("has space"));
        assert!(!ok("quote\"d"));
        assert!(!ok("a{b}"));
        assert!(well_formed(&HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap()).is_none());
    }

    #[test]
    fn made_ids_are_distinct_and_well_formed() {
        let a = new_id();
        let b = new_id();
        assert_ne!(a, b);
        for id in [a, b] {
            assert_eq!(id.len(), 32);
            assert!(well_formed(&HeaderValue::from_str(&id).unwrap()).is_some());
        }
    }
}
