//! Credential providers, admin side. JWT: the signing key is made here for
//! the provider alone, sealed at rest, and its public half published only in
//! the provider's own JWKS (`{public_url}/api/v2/credential-providers/{id}/jwks`,
//! never in the access-token JWKS at `{issuer}/jwks`; see
//! `writ_core::jwt_provider`). OAuth: Writ's client at a third party, its
//! client secret sealed at rest (the flows are in `oauth_flows.rs`).

use crate::entities::{credential_provider, oauth_session, oauth_token, provider_grant};
use crate::error::{Result, ServiceError, conflict_on_unique};
use crate::service::admin::audit_log::{Change, snapshot, with_field};
use crate::service::{Writ, new_id};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use writ_core::jwt_provider::{self, JwtProviderConfig, ReservedIssuers};
use writ_core::names::Description;
use writ_core::oauth_provider::{ClientAuth, OAuthProviderConfig, OAuthProviderInput};
use writ_types::*;

impl Writ {
    /// Minted JWTs name this issuer unless the workload asks for a
    /// whitelisted one.
    pub(crate) fn provider_default_issuer(&self, identifier: &str) -> String {
        jwt_provider::default_issuer(&self.public_url, identifier)
    }

    /// What JWT providers may not name as issuer: Writ's access-token
    /// issuer, and other providers' default issuers.
    pub(crate) fn reserved_issuers(&self) -> ReservedIssuers<'_> {
        ReservedIssuers {
            writ_issuer: &self.urls.issuer,
            public_url: &self.public_url,
        }
    }

    /// The provider's own JWKS: the only place its public key is published.
    pub fn provider_jwks_uri(&self, provider_id: &str) -> String {
        format!(
            "{}{}",
            self.public_url,
            jwt_provider::jwks_path(provider_id)
        )
    }

    /// Where the third party sends the user back (register it there).
    pub fn oauth_callback_url(&self) -> String {
        format!("{}/oauth/callback", self.public_url)
    }

    pub(crate) fn provider_view(&self, m: credential_provider::Model) -> CredentialProviderView {
        let jwt: Option<JwtProviderConfig> = (m.kind == "jwt")
            .then(|| serde_json::from_str(&m.config).ok())
            .flatten();
        let oauth: Option<OAuthProviderConfig> = (m.kind == "oauth")
            .then(|| serde_json::from_str(&m.config).ok())
            .flatten();
        CredentialProviderView {
            default_issuer: if m.kind == "jwt" {
                self.provider_default_issuer(&m.identifier)
            } else {
                String::new()
            },
            algorithm: jwt
                .as_ref()
                .map(|c| c.algorithm.clone())
                .unwrap_or_default(),
            generate_short_token: jwt.as_ref().is_some_and(|c| c.short_token),
            expiration_seconds: jwt.as_ref().map_or(0, |c| c.expiration_secs),
            issuer_whitelist: jwt.map(|c| c.issuer_whitelist).unwrap_or_default(),
            authorization_flow: oauth
                .as_ref()
                .map(|c| c.flow.as_str().to_owned())
                .unwrap_or_default(),
            client_id: oauth
                .as_ref()
                .map(|c| c.client_id.clone())
                .unwrap_or_default(),
            authorization_endpoint: oauth
                .as_ref()
                .and_then(|c| c.authorization_endpoint.clone())
                .unwrap_or_default(),
            token_endpoint: oauth
                .as_ref()
                .map(|c| c.token_endpoint.clone())
                .unwrap_or_default(),
            client_auth_method: match oauth.as_ref().map(|c| c.client_auth) {
                Some(ClientAuth::Basic) => "basic".into(),
                Some(ClientAuth::Post) => "post".into(),
                None => String::new(),
            },
            allow_insecure_local_endpoints: oauth
                .as_ref()
                .is_some_and(|c| c.allow_insecure_local_endpoints),
            scopes: oauth.map(|c| c.scopes).unwrap_or_default(),
            jwks_uri: if m.kind == "jwt" {
                self.provider_jwks_uri(&m.id)
            } else {
                String::new()
            },
            callback_url: if m.kind == "oauth" {
                self.oauth_callback_url()
            } else {
                String::new()
            },
            id: m.id,
            kind: m.kind,
            identifier: m.identifier,
            name: m.name,
            description: m.description,
            kid: m.kid,
            enabled: m.enabled,
            created_at: m.created_at,
        }
    }

    /// Creates a JWT or OAuth credential provider. Long because each kind's
    /// fields are checked and sealed here in one pass, as the console sends
    /// them, before the single insert.
    pub async fn create_credential_provider(
        &self,
        input: NewCredentialProvider,
    ) -> Result<CredentialProviderView> {
        let identifier = input.identifier.trim();
        if identifier.is_empty()
            || identifier.len() > 128
            || !identifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            return Err(ServiceError::Invalid(
                "identifier must be 1-128 characters of letters, digits, '_', '-' or '.'".into(),
            ));
        }
        let name = provider_name(&input.name)?;
        let id = new_id();
        let purpose = format!("credential_provider:{id}");
        // (config JSON, sealed key or secret, kid)
        let (config, sealed, kid) = match input.kind.as_str() {
            "jwt" => {
                let mut cfg = JwtProviderConfig::parse(
                    input.algorithm.as_deref(),
                    input.generate_short_token.unwrap_or(false),
                    input.expiration_seconds,
                    input.issuer_whitelist.as_deref().unwrap_or_default(),
                    &self.reserved_issuers(),
                )?;
                // A fresh key for this provider alone: never Writ's signing
                // key, never imported (`check_not_writ_key` holds it to that
                // at every mint).
                let (pem, mut public_jwk) = jwt_provider::generate_key(&cfg.algorithm)
                    .map_err(|_| ServiceError::Internal)?;
                let kid = format!("jwtp-{}", writ_core::random::alnum(16));
                public_jwk["kid"] = serde_json::json!(kid);
                cfg.public_jwk = public_jwk;
                (
                    serde_json::to_string(&cfg).map_err(|_| ServiceError::Internal)?,
                    self.vault.seal(pem.as_bytes(), &purpose),
                    kid,
                )
            }
            "oauth" => {
                let cfg = OAuthProviderConfig::parse(&OAuthProviderInput {
                    flow: input.authorization_flow.as_deref(),
                    client_id: input.client_id.as_deref(),
                    authorization_endpoint: input.authorization_endpoint.as_deref(),
                    token_endpoint: input.token_endpoint.as_deref(),
                    client_auth: input.client_auth_method.as_deref(),
                    scopes: input.scopes.as_deref().unwrap_or_default(),
                    allow_insecure_local_endpoints: input
                        .allow_insecure_local_endpoints
                        .unwrap_or(false),
                })?;
                let secret = client_secret(input.client_secret.as_deref())?.ok_or_else(|| {
                    ServiceError::Invalid(
                        "client_secret: the third party's client secret is required".into(),
                    )
                })?;
                (
                    serde_json::to_string(&cfg).map_err(|_| ServiceError::Internal)?,
                    self.vault.seal(secret.as_bytes(), &purpose),
                    String::new(),
                )
            }
            _ => {
                return Err(ServiceError::Invalid(
                    "type must be \"oauth\" or \"jwt\"".into(),
                ));
            }
        };
        let tx = self.db.begin().await?;
        let m = credential_provider::ActiveModel {
            kind: Set(input.kind.clone()),
            identifier: Set(identifier.to_owned()),
            name: Set(name),
            description: Set(
                Description::parse(input.description.as_deref().unwrap_or_default())?.into_inner(),
            ),
            config: Set(config),
            sealed_key: Set(sealed),
            kid: Set(kid),
            enabled: Set(true),
            created_at: Set(self.now()),
            updated_at: Set(self.now()),
            id: Set(id),
        }
        .insert(&tx)
        .await
        .map_err(|e| {
            conflict_on_unique(
                e,
                format!("a credential provider with identifier '{identifier}' already exists"),
            )
        })?;
        let v = self.provider_view(m);
        self.record_change(
            &tx,
            Change::new("credential_provider", "create", &v.id).after(snapshot(&v)),
        )
        .await?;
        tx.commit().await?;
        Ok(v)
    }

    pub async fn list_credential_providers(&self) -> Result<Vec<CredentialProviderView>> {
        Ok(credential_provider::Entity::find()
            .order_by_asc(credential_provider::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| self.provider_view(m))
            .collect())
    }

    pub async fn get_credential_provider(&self, id: &str) -> Result<CredentialProviderView> {
        Ok(self.provider_view(self.credential_provider_model(id).await?))
    }

    /// Edits what may change after creation. Changing how Writ reaches the
    /// third party (client, secret, endpoints) drops its cached tokens and
    /// open sessions: they belong to the old client.
    pub async fn update_credential_provider(
        &self,
        id: &str,
        input: CredentialProviderUpdate,
    ) -> Result<CredentialProviderView> {
        let m = self.credential_provider_model(id).await?;
        let change = Change::new("credential_provider", "update", &m.id)
            .before(snapshot(&self.provider_view(m.clone())));
        let mut am: credential_provider::ActiveModel = m.clone().into();
        let mut secret_replaced = false;
        if let Some(n) = input.name.as_deref().filter(|n| !n.trim().is_empty()) {
            am.name = Set(provider_name(n)?);
        }
        if let Some(d) = input.description.as_deref() {
            am.description = Set(Description::parse(d)?.into_inner());
        }
        let mut reconnect = false;
        match m.kind.as_str() {
            "jwt" => {
                let old: JwtProviderConfig =
                    serde_json::from_str(&m.config).map_err(|_| ServiceError::Internal)?;
                // A kept whitelist is checked again too: one saved before
                // Writ's issuer was refused must be corrected on any edit.
                let mut cfg = JwtProviderConfig::parse(
                    Some(&old.algorithm),
                    input.generate_short_token.unwrap_or(old.short_token),
                    Some(input.expiration_seconds.unwrap_or(old.expiration_secs)),
                    input
                        .issuer_whitelist
                        .as_deref()
                        .unwrap_or(&old.issuer_whitelist),
                    &self.reserved_issuers(),
                )?;
                cfg.public_jwk = old.public_jwk;
                am.config = Set(serde_json::to_string(&cfg).map_err(|_| ServiceError::Internal)?);
            }
            _ => {
                let old: OAuthProviderConfig =
                    serde_json::from_str(&m.config).map_err(|_| ServiceError::Internal)?;
                let keep = |new: &Option<String>, old: &str| -> String {
                    new.clone().unwrap_or_else(|| old.to_owned())
                };
                let auth = match old.client_auth {
                    ClientAuth::Basic => "basic",
                    ClientAuth::Post => "post",
                };
                let authz = keep(
                    &input.authorization_endpoint,
                    old.authorization_endpoint.as_deref().unwrap_or_default(),
                );
                let flow = keep(&input.authorization_flow, old.flow.as_str());
                let client_id = keep(&input.client_id, &old.client_id);
                let token_endpoint = keep(&input.token_endpoint, &old.token_endpoint);
                let client_auth = keep(&input.client_auth_method, auth);
                let cfg = OAuthProviderConfig::parse(&OAuthProviderInput {
                    flow: Some(&flow),
                    client_id: Some(&client_id),
                    authorization_endpoint: Some(&authz),
                    token_endpoint: Some(&token_endpoint),
                    client_auth: Some(&client_auth),
                    scopes: input.scopes.as_deref().unwrap_or(&old.scopes),
                    allow_insecure_local_endpoints: input
                        .allow_insecure_local_endpoints
                        .unwrap_or(old.allow_insecure_local_endpoints),
                })?;
                // Blank or omitted keeps the stored secret; a value replaces it.
                if let Some(secret) = client_secret(input.client_secret.as_deref())? {
                    am.sealed_key = Set(self
                        .vault
                        .seal(secret.as_bytes(), &format!("credential_provider:{}", m.id)));
                    reconnect = true;
                    secret_replaced = true;
                }
                reconnect |= cfg.client_id != old.client_id
                    || cfg.token_endpoint != old.token_endpoint
                    || cfg.authorization_endpoint != old.authorization_endpoint
                    || cfg.flow != old.flow;
                am.config = Set(serde_json::to_string(&cfg).map_err(|_| ServiceError::Internal)?);
            }
        }
        am.updated_at = Set(self.now());
        let tx = self.db.begin().await?;
        let updated = self.provider_view(am.update(&tx).await?);
        // The client secret itself is never recorded: only that it changed.
        let after = with_field(
            snapshot(&updated),
            "client_secret_replaced",
            secret_replaced,
        );
        self.record_change(&tx, change.after(after)).await?;
        tx.commit().await?;
        if reconnect {
            self.forget_oauth_state(&m.id).await?;
        }
        Ok(updated)
    }

    /// Drops an OAuth provider's cached tokens and open sessions.
    async fn forget_oauth_state(&self, provider_id: &str) -> Result<()> {
        oauth_token::Entity::delete_many()
            .filter(oauth_token::Column::ProviderId.eq(provider_id))
            .exec(&self.db)
            .await?;
        oauth_session::Entity::delete_many()
            .filter(oauth_session::Column::ProviderId.eq(provider_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    async fn credential_provider_model(&self, id: &str) -> Result<credential_provider::Model> {
        credential_provider::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .ok_or(ServiceError::NotFound("credential provider"))
    }

    pub async fn set_credential_provider_enabled(
        &self,
        id: &str,
        enabled: bool,
    ) -> Result<CredentialProviderView> {
        let m = self.credential_provider_model(id).await?;
        let m = self
            .set_enabled::<credential_provider::Entity>(m, enabled)
            .await?;
        Ok(self.provider_view(m))
    }

    pub async fn delete_credential_provider(&self, id: &str) -> Result<()> {
        let m = self.credential_provider_model(id).await?;
        self.delete_disabled::<credential_provider::Entity>(m).await
    }

    pub async fn grant_credential_provider(&self, id: &str, client_id: &str) -> Result<()> {
        let p = self.credential_provider_model(id).await?;
        let c = self.client_by_client_id(client_id).await?;
        let tx = self.db.begin().await?;
        let m = provider_grant::ActiveModel {
            id: Set(new_id()),
            provider_id: Set(p.id),
            client_pk: Set(c.id.clone()),
            created_at: Set(self.now()),
        }
        .insert(&tx)
        .await
        .map_err(|e| {
            conflict_on_unique(
                e,
                format!("'{}' may already use this provider", c.client_id),
            )
        })?;
        self.record_change(
            &tx,
            Change::new("provider_grant", "create", &m.id).after(provider_grant_snapshot(&m)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Which agents / M2M applications may use the provider
    /// (`credential_id` names the provider).
    pub async fn list_provider_grants(&self, id: &str) -> Result<Vec<CredentialGrantView>> {
        self.credential_provider_model(id).await?;
        let grants = provider_grant::Entity::find()
            .filter(provider_grant::Column::ProviderId.eq(id))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|g| (g.id, g.provider_id, g.client_pk, g.created_at))
            .collect();
        self.grant_views(grants).await
    }

    /// Takes back a client's use of the provider (its next request for the
    /// provider's tokens is refused).
    pub async fn revoke_provider_grant(&self, id: &str, grant_id: &str) -> Result<()> {
        let found = provider_grant::Entity::find_by_id(grant_id.to_owned())
            .filter(provider_grant::Column::ProviderId.eq(id))
            .one(&self.db)
            .await?
            .ok_or(ServiceError::NotFound("grant"))?;
        let tx = self.db.begin().await?;
        let r = provider_grant::Entity::delete_many()
            .filter(provider_grant::Column::ProviderId.eq(id))
            .filter(provider_grant::Column::Id.eq(grant_id))
            .exec(&tx)
            .await?;
        if r.rows_affected == 0 {
            return Err(ServiceError::NotFound("grant"));
        }
        self.record_change(
            &tx,
            Change::new("provider_grant", "delete", grant_id)
                .before(provider_grant_snapshot(&found)),
        )
        .await?;
        tx.commit().await?;
        self.changed();
        Ok(())
    }

    /// One enabled JWT provider's JWKS document (`{"keys": [..]}`), served
    /// at its own `jwks_uri`. An unknown id, an OAuth provider and a
    /// disabled one are all "not found": a disabled provider vouches for
    /// nothing, and the answer tells an unauthenticated caller no more.
    pub async fn credential_provider_jwks(&self, id: &str) -> Result<serde_json::Value> {
        let not_found = ServiceError::NotFound("enabled JWT credential provider");
        if id.len() > 64 {
            return Err(not_found);
        }
        let p = credential_provider::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .filter(|p| p.kind == "jwt" && p.enabled)
            .ok_or(not_found)?;
        let cfg: JwtProviderConfig =
            serde_json::from_str(&p.config).map_err(|_| ServiceError::Internal)?;
        let keys: Vec<serde_json::Value> = std::iter::once(cfg.public_jwk)
            .filter(|k| !k.is_null())
            .collect();
        Ok(serde_json::json!({ "keys": keys }))
    }
}

/// A provider grant as the admin change log keeps it.
fn provider_grant_snapshot(g: &provider_grant::Model) -> serde_json::Value {
    serde_json::json!({
        "id": g.id,
        "provider_id": g.provider_id,
        "client_pk": g.client_pk,
        "created_at": g.created_at,
    })
}

fn provider_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 128 {
        return Err(ServiceError::Invalid(
            "name is required (at most 128 characters)".into(),
        ));
    }
    Ok(name.to_owned())
}

/// A given, non-blank client secret (bounded); `None` when blank or omitted.
fn client_secret(s: Option<&str>) -> Result<Option<&str>> {
    match s.filter(|s| !s.trim().is_empty()) {
        None => Ok(None),
        Some(s) if s.len() > 4096 || s.chars().any(char::is_control) => Err(ServiceError::Invalid(
            "client_secret: at most 4096 printable characters".into(),
        )),
        Some(s) => Ok(Some(s)),
    }
}
