//! Token exchange (RFC 8693) once the agent has authenticated: load what
//! the decision needs (the person's identity provider and its keys, the
//! resource server's delegation policy, the agent's grant) and let core
//! (`writ_core::grant::token_exchange`) decide and sign.

use super::hot_cache::ClientAuth;
use super::{db_err, lookup_key};
use crate::entities::user_identity_provider;
use crate::service::Writ;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;
use std::sync::Arc;
use writ_core::audit::TokenAudit;
use writ_core::federation::expr::{Domain, Expression, Input, Produces};
use writ_core::federation::oidc::{self, OidcProviderConfig, OidcTrust};
use writ_core::grant::client_credentials::IssuedToken;
use writ_core::grant::token_exchange::{
    self as te, Actor, Exchange, ExchangeParams, MAX_DELEGABLE, Subject, SubjectKind,
};
use writ_core::grant::token_request::TokenRequest;
use writ_core::{OAuthError, OAuthErrorCode};

/// Providers tried for one issuer (several may share it, with different
/// audiences); bounded so one token costs a bounded number of checks.
const MAX_PROVIDERS_PER_ISSUER: u64 = 8;

fn untrusted() -> OAuthError {
    OAuthError::invalid_grant(
        "subject_issuer_untrusted",
        "subject token rejected: its issuer is not an enabled user identity provider",
    )
}

impl Writ {
    /// What the audit records before anything is verified: the identity
    /// the subject token claims, marked unverified.
    pub(super) fn note_claimed_subject(token: &str, client_id: &str, audit: &mut TokenAudit) {
        let (iss, sub) = te::claimed_identity(token);
        let actors: Vec<String> = Some(client_id.to_owned())
            .filter(|c| !c.is_empty())
            .into_iter()
            .collect();
        audit.delegation = Some(te::audit_record(
            iss.as_deref().unwrap_or_default(),
            sub.as_deref().unwrap_or_default(),
            false,
            &actors,
        ));
    }

    /// The exchange proper: `client` (the actor) is authenticated.
    pub(super) async fn exchange(
        &self,
        req: &TokenRequest,
        params: ExchangeParams<'_>,
        client: &Arc<ClientAuth>,
        audit: &mut TokenAudit,
    ) -> Result<IssuedToken, OAuthError> {
        Self::note_claimed_subject(params.subject_token, &client.client_id, audit);
        te::check_actor_token(req, &client.client_id)?;
        let scope = te::scope_request(req)?;
        audit.audience = scope.audience.chars().take(256).collect();
        let rs = self
            .resource_server_by_audience(&scope.audience)
            .await?
            .ok_or_else(|| {
                OAuthError::new(
                    OAuthErrorCode::InvalidTarget,
                    "audience_unknown",
                    "no resource server has this audience",
                )
            })?;
        if !rs.delegation_enabled {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidTarget,
                "delegation_disabled",
                "this resource server does not accept delegated tokens: token exchange is not enabled for it",
            ));
        }
        // Enabled but not loaded: its stored expression no longer compiles (logged).
        let policy = rs.delegation.clone().ok_or_else(OAuthError::server_error)?;
        let now = self.now();
        let subject = match params.kind {
            SubjectKind::External => {
                self.verify_person(params.subject_token, &client.client_id, now)
                    .await?
            }
            SubjectKind::Writ => te::verify_writ_token(
                params.subject_token,
                &*self.own_key_for(params.subject_token).await,
                &self.urls.issuer,
                now,
                self.clock_skew_secs,
            )?,
        };
        let mut actors = vec![client.client_id.clone()];
        actors.extend(subject.actors());
        audit.delegation = Some(te::audit_record(
            &subject.issuer,
            &subject.sub,
            true,
            &actors,
        ));
        te::check_may_act(&subject, &client.client_id)?;
        let delegable = match subject.kind {
            SubjectKind::External => {
                let input = Input::new(&client.client_id, "")
                    .with("jwt", json!({ "claims": subject.claims }));
                policy
                    .permissions
                    .strings(&input, MAX_DELEGABLE)
                    .map_err(|e| {
                        OAuthError::invalid_scope(
                            "scope_not_delegable",
                            format!(
                                "the resource server's permissions_expression yields nothing for this subject: {e}"
                            ),
                        )
                    })?
            }
            // Along a chain the first exchange applied the person's
            // permissions; each hop can only keep what it was handed.
            SubjectKind::Writ => subject.scope_on(&rs.audience),
        };
        let grant = self.grant_of(&rs.id, &client.pk).await?;
        let permissions = te::decide_scope(&scope, &rs.permissions, grant.as_deref(), &delegable)?;
        let actor = Actor {
            client_id: &client.client_id,
            agent_id: client.agent_id.as_deref(),
        };
        let act = te::act_claim(actor, subject.prior_act(), policy.max_chain_depth)?;
        let lifetime_secs = te::lifetime(rs.token_ttl_secs, subject.exp, now)?;
        te::issue(
            &self.signing_key(),
            &self.urls.issuer,
            now,
            &Exchange {
                subject: &subject,
                actor,
                act,
                audience: &rs.audience,
                permissions: &permissions,
                lifetime_secs,
            },
        )
    }

    /// Verifies a person's token against the enabled user identity
    /// providers of its (claimed) issuer: the OIDC federation's checks
    /// (signature with an allowed algorithm, `iss`, `aud`, `exp`/`nbf`/`iat`
    /// with the clock skew), keys pasted or fetched through the bounded,
    /// single-flight cache, then the provider's trust condition. The
    /// token's `jti` is not consumed: a person's token may be presented
    /// more than once within its lifetime.
    async fn verify_person(
        &self,
        token: &str,
        client_id: &str,
        now: i64,
    ) -> Result<Subject, OAuthError> {
        let (iss, _) = te::claimed_identity(token);
        let iss = iss.filter(|i| lookup_key(i, 512)).ok_or_else(untrusted)?;
        let providers = user_identity_provider::Entity::find()
            .filter(user_identity_provider::Column::Issuer.eq(iss))
            .filter(user_identity_provider::Column::Enabled.eq(true))
            .limit(MAX_PROVIDERS_PER_ISSUER)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        let kid = oidc::token_kid(token);
        let mut last = untrusted();
        for p in providers {
            let cfg: OidcProviderConfig = serde_json::from_str(&p.config).map_err(|_| {
                tracing::error!(provider = %p.id, "stored user identity provider config does not parse");
                OAuthError::server_error()
            })?;
            let trust = if cfg.remote() {
                self.remote_oidc_trust(&p.id, &cfg, kid.as_deref()).await
            } else {
                OidcTrust::new(&cfg).map(Arc::new)
            };
            let verified = trust.and_then(|t| oidc::verify(token, &t, now, self.clock_skew_secs));
            let v = match verified {
                Ok(v) => v,
                Err(e) => {
                    last = te::as_subject_error(e);
                    continue;
                }
            };
            if let Some(src) = &p.trust_condition {
                let condition =
                    Expression::compile(src, Domain::Oidc, Produces::Bool).map_err(|e| {
                        tracing::error!(provider = %p.id, error = %e, "stored trust condition does not compile");
                        OAuthError::server_error()
                    })?;
                let input = Input::new(client_id, "")
                    .with("jwt", json!({"header": v.header, "claims": v.claims}));
                match condition.check(&input) {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err(OAuthError::invalid_grant(
                            "subject_trust_condition",
                            "subject token rejected: it does not meet the provider's trust condition",
                        ));
                    }
                    Err(e) => {
                        return Err(OAuthError::invalid_grant(
                            "subject_trust_condition",
                            format!(
                                "subject token rejected: the provider's trust condition failed: {e}"
                            ),
                        ));
                    }
                }
            }
            return Subject::external(&cfg.issuer, v.claims);
        }
        Err(last)
    }
}
