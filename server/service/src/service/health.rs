//! Readiness (`/readyz`): can this instance issue tokens now? The database
//! answers a trivial query within [`DB_TIMEOUT`], the signing key signs
//! what its published JWK verifies, and the audit writer is running (without
//! it every token is refused). Unauthenticated callers reach this, so a
//! result is reused for [`REUSE`] and one check runs at a time: a flood of
//! probes costs at most one database round trip a second.

use crate::service::Writ;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest the database may take to answer the readiness query.
pub const DB_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a check's result is answered again without a new check.
const REUSE: Duration = Duration::from_secs(1);

/// The checks; ready when all pass. Names only, never a detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    pub database: bool,
    pub signing_key: bool,
    pub audit_writer: bool,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.database && self.signing_key && self.audit_writer
    }

    /// Each check by name, `true` when it passed.
    pub fn checks(&self) -> [(&'static str, bool); 3] {
        [
            ("database", self.database),
            ("signing_key", self.signing_key),
            ("audit_writer", self.audit_writer),
        ]
    }
}

#[derive(Default)]
pub(crate) struct ReadyCache {
    last: Mutex<Option<(Instant, Readiness)>>,
    /// Held while a check runs.
    running: tokio::sync::Mutex<()>,
}

impl ReadyCache {
    fn fresh(&self) -> Option<Readiness> {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        last.as_ref()
            .filter(|(at, _)| at.elapsed() < REUSE)
            .map(|(_, r)| *r)
    }

    fn store(&self, r: Readiness) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), r));
    }
}

impl Writ {
    /// Checks readiness (or answers the check of the last second).
    pub async fn readiness(&self) -> Readiness {
        if let Some(r) = self.ready.fresh() {
            return r;
        }
        let _running = self.ready.running.lock().await;
        if let Some(r) = self.ready.fresh() {
            return r;
        }
        let database = match tokio::time::timeout(DB_TIMEOUT, self.db.ping()).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: the database did not answer");
                false
            }
            Err(_) => {
                tracing::warn!(
                    timeout_ms = DB_TIMEOUT.as_millis() as u64,
                    "readiness: the database did not answer in time"
                );
                false
            }
        };
        let r = Readiness {
            database,
            signing_key: self.signing_key_works(),
            audit_writer: self.audit.writer_running(),
        };
        self.ready.store(r);
        r
    }

    /// The signing key signs, and its published JWK verifies the result.
    fn signing_key_works(&self) -> bool {
        let now = self.now();
        let audience = "urn:writ:readiness";
        let claims = serde_json::json!({
            "iss": self.urls.issuer,
            "aud": audience,
            "exp": now + 60,
        });
        // The key that signs now, and it is among the published ones.
        let key = self.signing_key();
        self.published_keys().contains(key.jwk())
            && key.sign(&claims).ok().is_some_and(|t| {
                key.verify_own(&t, &self.urls.issuer, audience, now, 0)
                    .is_ok()
            })
    }
}
