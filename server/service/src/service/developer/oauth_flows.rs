//! OAuth credential providers, workload side: FetchOAuthAuthenticationToken,
//! GetOAuthAuthorizationSession and the callback the third party redirects
//! the user to. Tokens are stored sealed per (provider, consumer, scope) and
//! handed out until shortly before they expire; a stale one is refreshed
//! with its refresh token when it has one.

use crate::entities::{credential_provider, oauth_session as sess, oauth_token as tok};
use crate::service::developer::developer_api::{Caller, DevApiError};
use crate::service::outbound::post_form;
use crate::service::{Writ, new_id};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde_json::{Value, json};
use writ_core::oauth_provider::{
    self, Flow, Grant, OAuthProviderConfig, Pkce, Refusal, SESSION_TTL_SECS, SESSION_URI_PREFIX,
    TokenResponse,
};

/// Longest a FetchOAuthAuthenticationToken may take, outbound calls included.
const FETCH_BUDGET_SECS: u64 = 8;

/// What the callback page tells the person who consented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackOutcome {
    Completed,
    Failed(String),
}

fn str_field<'a>(body: &'a Value, k: &str) -> Option<&'a str> {
    body.get(k)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The third party refused or could not be reached: 502, its reason bounded.
fn upstream(m: impl Into<String>) -> DevApiError {
    DevApiError::Upstream(m.into())
}

impl Writ {
    fn oauth_config(p: &credential_provider::Model) -> Result<OAuthProviderConfig, DevApiError> {
        serde_json::from_str(&p.config).map_err(|_| DevApiError::Internal)
    }

    /// Calls the provider's token endpoint with `grant`.
    async fn token_call(
        &self,
        p: &credential_provider::Model,
        cfg: &OAuthProviderConfig,
        grant: &Grant<'_>,
    ) -> Result<TokenResponse, Refusal> {
        let secret = self
            .open_text(&p.sealed_key, &format!("credential_provider:{}", p.id))
            .map_err(|_| {
                Refusal::new(
                    "server_error",
                    "the provider's client secret could not be opened",
                )
            })?;
        let req = cfg.token_request(grant, &secret);
        let (status, body) = post_form(
            &cfg.token_endpoint,
            cfg.allow_insecure_local_endpoints,
            req.body,
            req.authorization.as_deref(),
        )
        .await
        .map_err(|m| {
            Refusal::new(
                "temporarily_unavailable",
                &format!("the provider's token endpoint {m}"),
            )
        })?;
        oauth_provider::read_token_response(status, &body, self.now())
    }

    /// Stores a fetched token as the one for (provider, consumer, scope).
    async fn keep_token(
        &self,
        provider_id: &str,
        consumer_id: &str,
        scope: &str,
        t: &TokenResponse,
        old_refresh: Option<String>,
    ) -> Result<tok::Model, DevApiError> {
        // Replace in one transaction: a cancelled request never leaves the
        // consumer with neither token.
        let txn = self.db.begin().await?;
        tok::Entity::delete_many()
            .filter(tok::Column::ProviderId.eq(provider_id))
            .filter(tok::Column::ConsumerId.eq(consumer_id))
            .filter(tok::Column::Scope.eq(scope))
            .exec(&txn)
            .await?;
        let id = new_id();
        let refresh = t.refresh_token.clone().or(old_refresh);
        let kept = tok::ActiveModel {
            provider_id: Set(provider_id.to_owned()),
            consumer_id: Set(consumer_id.to_owned()),
            scope: Set(scope.to_owned()),
            token_type: Set(t.token_type.chars().take(64).collect()),
            granted_scope: Set(t.scope.clone()),
            sealed_access_token: Set(self
                .vault
                .seal(t.access_token.as_bytes(), &format!("oauth_token:{id}"))),
            sealed_refresh_token: Set(refresh.map(|r| {
                self.vault
                    .seal(r.as_bytes(), &format!("oauth_refresh_token:{id}"))
            })),
            expires_at: Set(t.expires_at),
            created_at: Set(self.now()),
            updated_at: Set(self.now()),
            id: Set(id),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(kept)
    }

    fn meta(&self, p: &credential_provider::Model, consumer: &str) -> Value {
        json!({
            "instanceId": self.instance_id,
            "authenticationTokenType": "oauth_access_token",
            "credentialProviderId": p.id,
            "credentialProviderIdentifier": p.identifier,
            "revoked": false,
            "creatorType": "application",
            "creatorId": consumer,
            "consumerType": "application",
            "consumerId": consumer,
        })
    }

    fn token_body(
        &self,
        p: &credential_provider::Model,
        t: &tok::Model,
    ) -> Result<Value, DevApiError> {
        let access = self.open_text(&t.sealed_access_token, &format!("oauth_token:{}", t.id))?;
        let mut body = self.meta(p, &t.consumer_id);
        body["authenticationTokenId"] = json!(t.id);
        body["createTime"] = json!(t.created_at * 1000);
        body["updateTime"] = json!(t.updated_at * 1000);
        body["expirationTime"] = json!(t.expires_at * 1000);
        body["oauthAccessTokenContent"] = json!({
            "accessTokenValue": access,
            "tokenType": t.token_type,
            "scope": t.granted_scope.clone().unwrap_or_else(|| t.scope.clone()),
        });
        Ok(body)
    }

    /// FetchOAuthAuthenticationToken: a fresh stored token, a refreshed one,
    /// a new one (machine flow), or an authorization session to consent in.
    /// Audited like ObtainCredential.
    pub async fn fetch_oauth_token(
        &self,
        caller: &Caller,
        body: &Value,
        source: &str,
    ) -> Result<Value, DevApiError> {
        // The PAM client gives up after 10 s: answer well before, even when
        // a refused refresh is followed by a second call to the third party.
        let result = tokio::time::timeout(
            std::time::Duration::from_secs(FETCH_BUDGET_SECS),
            self.fetch_oauth_token_inner(caller, body),
        )
        .await
        .unwrap_or_else(|_| {
            Err(upstream(
                "the credential provider's token endpoint did not answer in time",
            ))
        });
        let what = str_field(body, "credentialProviderIdentifier").unwrap_or_default();
        self.audit_developer_call(caller, "fetch_oauth_token", what, source, &result)
            .await?;
        result
    }

    async fn fetch_oauth_token_inner(
        &self,
        caller: &Caller,
        body: &Value,
    ) -> Result<Value, DevApiError> {
        let ident = str_field(body, "credentialProviderIdentifier").ok_or_else(|| {
            DevApiError::BadRequest("credentialProviderIdentifier is required".into())
        })?;
        let p = self.usable_provider(caller, ident, "oauth").await?;
        let cfg = Self::oauth_config(&p)?;
        let scope = cfg
            .scope_for(body.get("scope").and_then(Value::as_str))
            .map_err(|m| DevApiError::BadRequest(format!("scope: {m}")))?;
        let custom = oauth_provider::custom_parameters(body.get("customParameters"))
            .map_err(DevApiError::BadRequest)?;
        let force = body
            .get("forceAuthentication")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let consumer = caller.client_id.as_str();
        let stored = tok::Entity::find()
            .filter(tok::Column::ProviderId.eq(p.id.as_str()))
            .filter(tok::Column::ConsumerId.eq(consumer))
            .filter(tok::Column::Scope.eq(scope.as_str()))
            .one(&self.db)
            .await?;
        if let Some(t) = stored.as_ref().filter(|_| !force) {
            if oauth_provider::is_fresh(t.expires_at, self.now()) {
                return self.token_body(&p, t);
            }
            if let Some(sealed) = &t.sealed_refresh_token {
                let refresh = self.open_text(sealed, &format!("oauth_refresh_token:{}", t.id))?;
                let grant = Grant::Refresh {
                    refresh_token: &refresh,
                    scope: &scope,
                };
                match self.token_call(&p, &cfg, &grant).await {
                    Ok(fresh) => {
                        let t = self
                            .keep_token(&p.id, consumer, &scope, &fresh, Some(refresh))
                            .await?;
                        return self.token_body(&p, &t);
                    }
                    // A refused refresh falls back to the flow's first step.
                    Err(r) => {
                        tracing::info!(provider = %p.identifier, error = %r.error, "refresh refused")
                    }
                }
            }
        }
        match cfg.flow {
            Flow::M2m => {
                let fresh = self
                    .token_call(&p, &cfg, &Grant::ClientCredentials { scope: &scope })
                    .await
                    .map_err(|r| upstream(format!("{}: {}", r.error, r.description)))?;
                let t = self
                    .keep_token(&p.id, consumer, &scope, &fresh, None)
                    .await?;
                self.token_body(&p, &t)
            }
            Flow::UserFederation => {
                let s = self
                    .open_session(&p, &cfg, consumer, &scope, &custom)
                    .await?;
                let mut body = self.meta(&p, consumer);
                body["oauthAuthorizationSession"] = json!({
                    "sessionId": s.id,
                    "sessionUri": format!("{SESSION_URI_PREFIX}{}", s.id),
                    "authorizationUrl": s.authorization_url,
                    "sessionStatus": s.status,
                });
                Ok(body)
            }
        }
    }

    async fn open_session(
        &self,
        p: &credential_provider::Model,
        cfg: &OAuthProviderConfig,
        consumer: &str,
        scope: &str,
        custom: &[(String, String)],
    ) -> Result<sess::Model, DevApiError> {
        let state = writ_core::random::token(32);
        let pkce = Pkce::new();
        let url = cfg
            .authorization_url(&self.oauth_callback_url(), &state, &pkce, scope, custom)
            .ok_or(DevApiError::Internal)?;
        let id = new_id();
        let now = self.now();
        // Sessions long past their expiry (anyone's) are dropped here, so
        // the table holds only live and recently ended ones.
        sess::Entity::delete_many()
            .filter(sess::Column::ExpiresAt.lt(now - SESSION_TTL_SECS))
            .exec(&self.db)
            .await?;
        Ok(sess::ActiveModel {
            provider_id: Set(p.id.clone()),
            consumer_id: Set(consumer.to_owned()),
            scope: Set(scope.to_owned()),
            state_hash: Set(oauth_provider::state_hash(&state)),
            sealed_verifier: Set(self
                .vault
                .seal(pkce.verifier.as_bytes(), &format!("oauth_session:{id}"))),
            authorization_url: Set(url),
            status: Set("pending".into()),
            token_id: Set(None),
            error_code: Set(None),
            error_description: Set(None),
            expires_at: Set(now + SESSION_TTL_SECS),
            created_at: Set(now),
            updated_at: Set(now),
            id: Set(id),
        }
        .insert(&self.db)
        .await?)
    }

    /// GetOAuthAuthorizationSession: only the consumer that opened it sees it.
    pub async fn get_oauth_session(
        &self,
        caller: &Caller,
        body: &Value,
    ) -> Result<Value, DevApiError> {
        let uri = str_field(body, "sessionUri")
            .ok_or_else(|| DevApiError::BadRequest("sessionUri is required".into()))?;
        let id = uri.strip_prefix(SESSION_URI_PREFIX).ok_or_else(|| {
            DevApiError::BadRequest(format!("sessionUri must start with {SESSION_URI_PREFIX}"))
        })?;
        let not_found = || DevApiError::NotFound("no such authorization session".into());
        let s = sess::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .filter(|s| s.consumer_id == caller.client_id)
            .ok_or_else(not_found)?;
        let p = credential_provider::Entity::find_by_id(s.provider_id.clone())
            .one(&self.db)
            .await?
            .ok_or_else(not_found)?;
        let status = if s.status == "pending" && s.expires_at <= self.now() {
            "expired"
        } else {
            s.status.as_str()
        };
        Ok(json!({
            "instanceId": self.instance_id,
            "sessionId": s.id,
            "sessionUri": format!("{SESSION_URI_PREFIX}{}", s.id),
            "sessionStatus": status,
            "credentialProviderIdentifier": p.identifier,
            "consumerType": "application",
            "consumerId": s.consumer_id,
            "creatorType": "application",
            "creatorId": s.consumer_id,
            "authorizationUrl": s.authorization_url,
            "expirationTime": s.expires_at * 1000,
            "authenticationTokenId": s.token_id,
            "errorCode": s.error_code,
            "errorDescription": s.error_description,
        }))
    }

    /// The third party's redirect back to Writ: exchanges the code (once: the
    /// session leaves `pending` before the call), seals the tokens, and
    /// completes or fails the session.
    pub async fn oauth_callback(
        &self,
        state: Option<&str>,
        code: Option<&str>,
        error: Option<&str>,
        error_description: Option<&str>,
    ) -> Result<CallbackOutcome, DevApiError> {
        let state = state
            .filter(|s| !s.is_empty() && s.len() <= 256)
            .ok_or_else(|| DevApiError::BadRequest("the callback has no state".into()))?;
        let s = sess::Entity::find()
            .filter(sess::Column::StateHash.eq(oauth_provider::state_hash(state)))
            .one(&self.db)
            .await?
            .ok_or_else(|| {
                DevApiError::NotFound("this authorization request is unknown or was used".into())
            })?;
        let now = self.now();
        // Take the session out of `pending` first: a second callback with the
        // same state finds nothing to do.
        let taken = sess::Entity::update_many()
            .col_expr(sess::Column::Status, "callback_received".into())
            .col_expr(sess::Column::UpdatedAt, now.into())
            .filter(sess::Column::Id.eq(s.id.as_str()))
            .filter(sess::Column::Status.eq("pending"))
            .filter(sess::Column::ExpiresAt.gt(now))
            .exec(&self.db)
            .await?;
        if taken.rows_affected != 1 {
            return Ok(CallbackOutcome::Failed(if s.expires_at <= now {
                "this authorization request has expired; ask the application to start again".into()
            } else {
                "this authorization request was already used".into()
            }));
        }
        let result = self
            .finish_session(&s, code, error, error_description)
            .await;
        let (status, token_id, err) = match &result {
            Ok(t) => ("completed", Some(t.id.clone()), None),
            Err(r) => ("failed", None, Some(r.clone())),
        };
        sess::Entity::update_many()
            .col_expr(sess::Column::Status, status.into())
            .col_expr(sess::Column::TokenId, token_id.into())
            .col_expr(
                sess::Column::ErrorCode,
                err.as_ref().map(|r| r.error.clone()).into(),
            )
            .col_expr(
                sess::Column::ErrorDescription,
                err.as_ref().map(|r| r.description.clone()).into(),
            )
            .col_expr(sess::Column::UpdatedAt, self.now().into())
            .filter(sess::Column::Id.eq(s.id.as_str()))
            .exec(&self.db)
            .await?;
        Ok(match err {
            None => CallbackOutcome::Completed,
            Some(r) => CallbackOutcome::Failed(r.description),
        })
    }

    async fn finish_session(
        &self,
        s: &sess::Model,
        code: Option<&str>,
        error: Option<&str>,
        error_description: Option<&str>,
    ) -> Result<tok::Model, Refusal> {
        if let Some(e) = error {
            return Err(Refusal::new(
                e,
                error_description.unwrap_or("the user or the provider refused the authorization"),
            ));
        }
        let code = code
            .filter(|c| !c.is_empty() && c.len() <= 2048)
            .ok_or_else(|| Refusal::new("invalid_request", "the callback carries no code"))?;
        let internal = |_| Refusal::new("server_error", "the authorization could not be completed");
        let p = credential_provider::Entity::find_by_id(s.provider_id.clone())
            .one(&self.db)
            .await
            .map_err(|_| Refusal::new("server_error", "the provider could not be read"))?
            .filter(|p| p.enabled)
            .ok_or_else(|| Refusal::new("access_denied", "the credential provider is disabled"))?;
        let cfg = Self::oauth_config(&p).map_err(internal)?;
        let verifier = self
            .open_text(&s.sealed_verifier, &format!("oauth_session:{}", s.id))
            .map_err(internal)?;
        let redirect_uri = self.oauth_callback_url();
        let grant = Grant::AuthorizationCode {
            code,
            verifier: &verifier,
            redirect_uri: &redirect_uri,
        };
        let t = self.token_call(&p, &cfg, &grant).await?;
        self.keep_token(&p.id, &s.consumer_id, &s.scope, &t, None)
            .await
            .map_err(internal)
    }
}
