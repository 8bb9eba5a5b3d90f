//! Fetched OIDC keys: by discovery from the issuer or from a JWKS URL,
//! cached per provider, refreshed hourly, refetched when a token names an
//! unknown `kid` (key rotation) but at most once per `WRIT_JWKS_REFETCH_SECS`
//! (default 30 s) per provider, so tokens with made-up kids cannot turn Writ
//! into a request amplifier.
//!
//! Under a flood of such tokens two more rules hold the line:
//! - **One fetch in flight per provider.** Callers that need a fetch while
//!   one runs wait for it and take its outcome (keys or failure); without
//!   this, N concurrent requests all passed the "at most once per window"
//!   check before the first fetch returned, and all fetched.
//! - **Failures are remembered.** When a provider has no keys yet and a
//!   fetch fails, requests in the following backoff window (the refetch
//!   window, at least [`MIN_BACKOFF_SECS`], doubling per failure up to
//!   [`MAX_BACKOFF_SECS`]) are refused with `jwks_unavailable` at once,
//!   without a fetch. A provider that has keys keeps serving them when a
//!   refresh fails (an issuer outage must not lock workloads out).
//!
//! The cache holds one slot per provider the token path loaded from the
//! database (never per caller-chosen value); a provider's slot, keys and
//! remembered failure go when its settings change.

use crate::service::Writ;
use crate::service::outbound::fetch_json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use writ_core::OAuthError;
use writ_core::federation::oidc::{OidcProviderConfig, OidcTrust, check_jwks};

const REFRESH_SECS: i64 = 3600;
/// The least wait before retrying a provider whose keys were never fetched.
const MIN_BACKOFF_SECS: i64 = 5;
/// The longest (unless the refetch window is longer).
const MAX_BACKOFF_SECS: i64 = 300;

#[derive(Default)]
pub(crate) struct JwksCache(Mutex<HashMap<String, Arc<Slot>>>);

/// One provider's keys, and the lock its one fetch in flight holds.
#[derive(Default)]
struct Slot {
    state: Mutex<State>,
    /// Held while a fetch runs; who needs a fetch meanwhile waits here.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    /// The keys last fetched.
    keys: Option<Entry>,
    /// Set while no keys were ever fetched and the last try failed.
    failure: Option<Failure>,
    /// Finished fetches: a caller that waited for the lock sees whether a
    /// fetch finished meanwhile, and takes its outcome instead of fetching.
    fetches: u64,
}

#[derive(Clone)]
struct Entry {
    trust: Arc<OidcTrust>,
    fetched_at: i64,
}

#[derive(Clone, Copy)]
struct Failure {
    /// No fetch before this time.
    until: i64,
    /// The wait that was set; the next failure doubles it.
    backoff: i64,
}

enum Decision {
    Serve(Arc<OidcTrust>),
    Unavailable,
    Fetch,
}

impl State {
    fn decide(&self, now: i64, kid: Option<&str>, refetch_secs: i64) -> Decision {
        match (&self.keys, self.failure) {
            (Some(e), _) => {
                let fresh = now - e.fetched_at < REFRESH_SECS;
                let recently = now - e.fetched_at < refetch_secs;
                if (fresh && e.trust.knows(kid)) || recently {
                    Decision::Serve(e.trust.clone())
                } else {
                    Decision::Fetch
                }
            }
            (None, Some(f)) if now < f.until => Decision::Unavailable,
            (None, _) => Decision::Fetch,
        }
    }

    /// What a fetch that just finished left: its keys (or the old ones if
    /// it failed), else the failure.
    fn outcome(&self) -> Result<Arc<OidcTrust>, OAuthError> {
        self.keys
            .as_ref()
            .map(|e| e.trust.clone())
            .ok_or_else(unavailable)
    }
}

impl Slot {
    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding it; a poisoned state is still whole.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn unavailable() -> OAuthError {
    OAuthError::new(
        writ_core::OAuthErrorCode::InvalidClient,
        "jwks_unavailable",
        "federated token rejected: the provider's keys could not be fetched",
    )
}

/// Fetches a provider's JWKS (discovery first when there is no JWKS URL).
pub(crate) async fn fetch_keys(cfg: &OidcProviderConfig) -> Result<serde_json::Value, String> {
    let local = cfg.allow_insecure_local_endpoints;
    let uri = match &cfg.jwks_uri {
        Some(u) => u.clone(),
        None => {
            let doc = fetch_json(&cfg.discovery_url(), local)
                .await
                .map_err(|e| format!("discovery ({}): {e}", cfg.discovery_url()))?;
            if doc.get("issuer").and_then(|i| i.as_str()) != Some(cfg.issuer.as_str()) {
                return Err("discovery: the document's issuer is not the provider's issuer".into());
            }
            doc.get("jwks_uri")
                .and_then(|u| u.as_str())
                .ok_or("discovery: the document has no jwks_uri")?
                .to_owned()
        }
    };
    let jwks = fetch_json(&uri, local)
        .await
        .map_err(|e| format!("JWKS ({uri}): {e}"))?;
    check_jwks(&jwks).map_err(|e| format!("JWKS ({uri}) {e}"))?;
    Ok(jwks)
}

impl JwksCache {
    fn slot(&self, provider_id: &str) -> Arc<Slot> {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match m.get(provider_id) {
            Some(s) => s.clone(),
            None => {
                let s = Arc::new(Slot::default());
                m.insert(provider_id.to_owned(), s.clone());
                s
            }
        }
    }
}

impl Writ {
    /// Drops a provider's fetched keys and any remembered fetch failure
    /// (its settings changed). A fetch still in flight for the old settings
    /// finishes into the dropped slot, which no later caller reads.
    /// Every replica forgets them (see `cluster`).
    pub(crate) fn forget_remote_keys(&self, provider_id: &str) {
        self.forget_remote_keys_here(provider_id);
        self.announce(crate::service::cluster::Change::RemoteKeys(
            provider_id.to_owned(),
        ));
    }

    /// This replica only (what hearing of another's change does).
    pub(crate) fn forget_remote_keys_here(&self, provider_id: &str) {
        let mut m = self.jwks.0.lock().unwrap_or_else(|p| p.into_inner());
        m.remove(provider_id);
    }

    pub(crate) fn forget_all_remote_keys(&self) {
        self.jwks
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// The provider's current keys, fetching when missing, stale, or when
    /// the token's `kid` is unknown (rate-limited), one fetch at a time.
    pub(crate) async fn remote_oidc_trust(
        &self,
        provider_id: &str,
        cfg: &OidcProviderConfig,
        kid: Option<&str>,
    ) -> Result<Arc<OidcTrust>, OAuthError> {
        let slot = self.jwks.slot(provider_id);
        let seen = {
            let s = slot.state();
            match s.decide(self.now(), kid, self.jwks_refetch_secs) {
                Decision::Serve(trust) => return Ok(trust),
                Decision::Unavailable => return Err(unavailable()),
                Decision::Fetch => s.fetches,
            }
        };
        // If this caller is dropped while fetching, the lock goes with it
        // and the next waiter fetches.
        let _flight = slot.fetching.lock().await;
        {
            let s = slot.state();
            if s.fetches != seen {
                // Another caller fetched while this one waited.
                return s.outcome();
            }
        }
        let fetched = fetch_keys(cfg).await.and_then(|jwks| {
            OidcTrust::with_keys(cfg, &jwks).map_err(|_| "JWKS holds no usable key".to_string())
        });
        self.metrics.jwks_fetch(fetched.is_ok());
        let now = self.now();
        let mut guard = slot.state();
        let s = &mut *guard;
        s.fetches = s.fetches.wrapping_add(1);
        match fetched {
            Ok(trust) => {
                let trust = Arc::new(trust);
                s.keys = Some(Entry {
                    trust: trust.clone(),
                    fetched_at: now,
                });
                s.failure = None;
                Ok(trust)
            }
            Err(e) => {
                tracing::warn!(provider = provider_id, error = %e, "could not fetch OIDC keys");
                match &mut s.keys {
                    // Keep serving the keys we have, but back off (one
                    // refetch window) before trying again.
                    Some(old) => {
                        old.fetched_at = now;
                        Ok(old.trust.clone())
                    }
                    // Nothing to serve: refuse at once until the backoff
                    // passes, doubling it on each failure in a row.
                    None => {
                        let first = self.jwks_refetch_secs.max(MIN_BACKOFF_SECS);
                        let backoff = match s.failure {
                            Some(f) => f.backoff.saturating_mul(2).min(MAX_BACKOFF_SECS.max(first)),
                            None => first,
                        };
                        s.failure = Some(Failure {
                            until: now.saturating_add(backoff),
                            backoff,
                        });
                        Err(unavailable())
                    }
                }
            }
        }
    }
}

/// The token endpoint's source of remote OIDC keys for core's federated check.
impl writ_core::federation::check::KeySource for Writ {
    async fn oidc_keys(
        &self,
        provider_id: &str,
        config: &OidcProviderConfig,
        kid: Option<&str>,
    ) -> Result<Arc<OidcTrust>, OAuthError> {
        self.remote_oidc_trust(provider_id, config, kid).await
    }
}
