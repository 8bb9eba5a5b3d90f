//! Fetched OIDC keys: by discovery from the issuer or from a JWKS URL,
//! cached per provider, refreshed hourly, refetched when a token names an
//! unknown `kid` (key rotation) but at most once per `WRIT_JWKS_REFETCH_SECS`
//! (default 30 s) per provider, so
//! tokens with made-up kids cannot turn Writ into a request amplifier.

use crate::service::Writ;
use crate::service::outbound::fetch_json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use writ_core::OAuthError;
use writ_core::federation::oidc::{OidcProviderConfig, OidcTrust, check_jwks};

const REFRESH_SECS: i64 = 3600;

#[derive(Default)]
pub(crate) struct JwksCache(Mutex<HashMap<String, Entry>>);

#[derive(Clone)]
struct Entry {
    trust: Arc<OidcTrust>,
    fetched_at: i64,
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

impl Writ {
    /// Drops a provider's fetched keys (its settings changed).
    pub(crate) fn forget_remote_keys(&self, provider_id: &str) {
        if let Ok(mut m) = self.jwks.0.lock() {
            m.remove(provider_id);
        }
    }

    /// The provider's current keys, fetching when missing, stale, or when
    /// the token's `kid` is unknown (rate-limited).
    pub(crate) async fn remote_oidc_trust(
        &self,
        provider_id: &str,
        cfg: &OidcProviderConfig,
        kid: Option<&str>,
    ) -> Result<Arc<OidcTrust>, OAuthError> {
        let now = self.now();
        let cached = self
            .jwks
            .0
            .lock()
            .ok()
            .and_then(|m| m.get(provider_id).cloned());
        if let Some(e) = &cached {
            let fresh = now - e.fetched_at < REFRESH_SECS;
            let recently = now - e.fetched_at < self.jwks_refetch_secs;
            if (fresh && e.trust.knows(kid)) || recently {
                return Ok(e.trust.clone());
            }
        }
        match fetch_keys(cfg).await.and_then(|jwks| {
            OidcTrust::with_keys(cfg, &jwks).map_err(|_| "JWKS holds no usable key".to_string())
        }) {
            Ok(trust) => {
                let trust = Arc::new(trust);
                if let Ok(mut m) = self.jwks.0.lock() {
                    m.insert(
                        provider_id.to_owned(),
                        Entry {
                            trust: trust.clone(),
                            fetched_at: now,
                        },
                    );
                }
                Ok(trust)
            }
            Err(e) => {
                tracing::warn!(provider = provider_id, error = %e, "could not fetch OIDC keys");
                // Keep serving the keys we have (an issuer outage must not
                // lock workloads out), but back off before trying again.
                match cached {
                    Some(old) => {
                        if let Ok(mut m) = self.jwks.0.lock() {
                            m.insert(
                                provider_id.to_owned(),
                                Entry {
                                    trust: old.trust.clone(),
                                    fetched_at: now,
                                },
                            );
                        }
                        Ok(old.trust)
                    }
                    None => Err(OAuthError::new(
                        writ_core::OAuthErrorCode::InvalidClient,
                        "jwks_unavailable",
                        "federated token rejected: the provider's keys could not be fetched",
                    )),
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
