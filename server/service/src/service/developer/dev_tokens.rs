//! The developer API's authentication tokens: JWTs minted by a JWT
//! credential provider for the calling client (the consumer), found later by
//! id, by derived short token, or by value for revoke / reinstate / validate.
//! Writ keeps only hashes of the values it looks up, and the JWT sealed.

use crate::entities::{authentication_token as tok, credential_provider, provider_grant};
use crate::service::developer::developer_api::{Caller, DevApiError};
use crate::service::{Writ, new_id};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::{Value, json};
use writ_core::jwt_provider::{self, JwtProviderConfig, MintRequest};

fn bad(m: impl Into<String>) -> DevApiError {
    DevApiError::BadRequest(m.into())
}

fn str_field<'a>(body: &'a Value, k: &str) -> Option<&'a str> {
    body.get(k)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Filters of ListAuthenticationTokens.
#[derive(Debug, Default)]
pub struct TokenQuery {
    pub consumer_id: Option<String>,
    pub provider_identifier: Option<String>,
    pub next_token: Option<String>,
    pub max_results: Option<u64>,
    pub revoked: Option<bool>,
    pub expired: Option<bool>,
}

impl Writ {
    fn token_meta(&self, t: &tok::Model, p: &credential_provider::Model) -> Value {
        json!({
            "instanceId": self.instance_id,
            "authenticationTokenId": t.id,
            "authenticationTokenType": "jwt",
            "credentialProviderId": p.id,
            "credentialProviderIdentifier": p.identifier,
            "revoked": t.revoked,
            "creatorType": "application",
            "creatorId": t.consumer_id,
            "consumerType": "application",
            "consumerId": t.consumer_id,
            "createTime": t.created_at * 1000,
            "updateTime": t.updated_at * 1000,
            "expirationTime": t.expires_at * 1000,
        })
    }

    /// The provider by identifier, of `kind`, granted to the caller and
    /// enabled (a disabled provider serves nothing, cached or not).
    pub(crate) async fn usable_provider(
        &self,
        caller: &Caller,
        identifier: &str,
        kind: &str,
    ) -> Result<credential_provider::Model, DevApiError> {
        let p = credential_provider::Entity::find()
            .filter(credential_provider::Column::Identifier.eq(identifier))
            .one(&self.db)
            .await?
            .ok_or_else(|| {
                DevApiError::NotFound(format!(
                    "no credential provider has the identifier '{identifier}'"
                ))
            })?;
        let granted = provider_grant::Entity::find()
            .filter(provider_grant::Column::ProviderId.eq(p.id.as_str()))
            .filter(provider_grant::Column::ClientPk.eq(caller.client_pk.as_str()))
            .one(&self.db)
            .await?
            .is_some();
        if !granted {
            return Err(DevApiError::Forbidden(format!(
                "client '{}' may not use credential provider '{identifier}'",
                caller.client_id
            )));
        }
        if !p.enabled {
            return Err(DevApiError::Forbidden(format!(
                "credential provider '{identifier}' is disabled"
            )));
        }
        if p.kind != kind {
            return Err(DevApiError::BadRequest(format!(
                "credential provider '{identifier}' is a{} {} provider, not {kind}",
                if p.kind == "oauth" { "n" } else { "" },
                p.kind
            )));
        }
        Ok(p)
    }

    pub async fn generate_jwt(&self, caller: &Caller, body: &Value) -> Result<Value, DevApiError> {
        let ident = str_field(body, "credentialProviderIdentifier")
            .ok_or_else(|| bad("credentialProviderIdentifier is required"))?;
        let p = self.usable_provider(caller, ident, "jwt").await?;
        let cfg: JwtProviderConfig =
            serde_json::from_str(&p.config).map_err(|_| DevApiError::Internal)?;
        let asked_short = body
            .get("includeDerivedShortToken")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        // With Generate Short Token on, every JWT comes with one (seed 002),
        // whether the caller asks or not; asking of a provider with the
        // switch off is a mistake worth naming.
        let want_short = cfg.short_token;
        if asked_short && !cfg.short_token {
            return Err(bad(format!(
                "credential provider '{ident}' does not generate short tokens (its Generate Short Token switch is off)"
            )));
        }
        let audiences: Vec<String> = match body.get("audiences") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => return Err(bad("audiences is required (a list of strings)")),
        };
        let expiration = match body.get("expiration") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_i64()
                    .ok_or_else(|| bad("expiration is a number of seconds"))?,
            ),
        };
        let key = self.open_text(&p.sealed_key, &format!("credential_provider:{}", p.id))?;
        // Never sign a workload's JWT with the key that vouches for Writ's
        // access tokens (see `writ_core::jwt_provider`).
        for writ_key in self.published_keys() {
            jwt_provider::check_not_writ_key(&cfg, &key, &writ_key).map_err(|why| {
                tracing::error!(provider = %p.id, why, "credential provider refused to mint");
                DevApiError::Internal
            })?;
        }
        let id = new_id();
        let now = self.now();
        let minted = jwt_provider::mint(
            &cfg,
            &key,
            &MintRequest {
                issuer: str_field(body, "issuer"),
                default_issuer: &self.provider_default_issuer(&p.identifier),
                reserved: &self.reserved_issuers(),
                subject: str_field(body, "subject").unwrap_or_default(),
                audiences: &audiences,
                custom_claims: body.get("customClaims").filter(|c| !c.is_null()),
                expiration_secs: expiration,
                now,
                jti: &id,
                kid: &p.kid,
            },
        )
        .map_err(bad)?;
        let short = want_short.then(jwt_provider::new_short_token);
        let t = tok::ActiveModel {
            provider_id: Set(p.id.clone()),
            consumer_id: Set(caller.client_id.clone()),
            token_hash: Set(jwt_provider::token_hash(&minted.jwt)),
            short_token_hash: Set(short.as_deref().map(jwt_provider::token_hash)),
            sealed_jwt: Set(self
                .vault
                .seal(minted.jwt.as_bytes(), &format!("authentication_token:{id}"))),
            revoked: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
            expires_at: Set(minted.expires_at),
            id: Set(id),
        }
        .insert(&self.db)
        .await?;
        let mut out = self.token_meta(&t, &p);
        out["jwtContent"] = json!({"jwtValue": minted.jwt, "derivedShortToken": short});
        Ok(out)
    }

    async fn provider_of(&self, t: &tok::Model) -> Result<credential_provider::Model, DevApiError> {
        credential_provider::Entity::find_by_id(t.provider_id.clone())
            .one(&self.db)
            .await?
            .ok_or_else(|| {
                DevApiError::NotFound("the token's credential provider no longer exists".into())
            })
    }

    /// A token is usable when not revoked, not expired, its provider enabled.
    fn check_active(
        &self,
        t: &tok::Model,
        p: &credential_provider::Model,
    ) -> Result<(), DevApiError> {
        if t.revoked {
            return Err(DevApiError::Forbidden(
                "the authentication token is revoked".into(),
            ));
        }
        if t.expires_at <= self.now() {
            return Err(DevApiError::Forbidden(
                "the authentication token has expired".into(),
            ));
        }
        if !p.enabled {
            return Err(DevApiError::Forbidden(
                "the token's credential provider is disabled".into(),
            ));
        }
        Ok(())
    }

    pub async fn obtain_jwt(&self, caller: &Caller, body: &Value) -> Result<Value, DevApiError> {
        let id = str_field(body, "authenticationTokenId")
            .ok_or_else(|| bad("authenticationTokenId is required"))?;
        if str_field(body, "consumerId").is_some_and(|c| c != caller.client_id) {
            return Err(DevApiError::Forbidden(
                "consumerId must be the calling client".into(),
            ));
        }
        let t = tok::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .filter(|t| t.consumer_id == caller.client_id)
            .ok_or_else(|| {
                DevApiError::NotFound("no such authentication token for this client".into())
            })?;
        let p = self.provider_of(&t).await?;
        self.check_active(&t, &p)?;
        let mut out = self.token_meta(&t, &p);
        out["jwtContent"] = json!({"jwtValue": self.open_text(&t.sealed_jwt, &format!("authentication_token:{}", t.id))?});
        Ok(out)
    }

    /// No bearer: holding the short token is the credential.
    pub async fn obtain_jwt_by_short_token(
        &self,
        instance_id: &str,
        body: &Value,
    ) -> Result<Value, DevApiError> {
        self.check_instance(instance_id)?;
        let short = str_field(body, "derivedShortToken")
            .ok_or_else(|| bad("derivedShortToken is required"))?;
        let t = tok::Entity::find()
            .filter(tok::Column::ShortTokenHash.eq(jwt_provider::token_hash(short)))
            .one(&self.db)
            .await?
            .ok_or_else(|| DevApiError::Unauthorized("unknown derived short token".into()))?;
        let p = self.provider_of(&t).await?;
        self.check_active(&t, &p)?;
        let mut out = self.token_meta(&t, &p);
        out["jwtContent"] = json!({"jwtValue": self.open_text(&t.sealed_jwt, &format!("authentication_token:{}", t.id))?});
        Ok(out)
    }

    async fn find_by_value(&self, token: &str) -> Result<Option<tok::Model>, DevApiError> {
        let h = jwt_provider::token_hash(token);
        if let Some(t) = tok::Entity::find()
            .filter(tok::Column::TokenHash.eq(h.as_str()))
            .one(&self.db)
            .await?
        {
            return Ok(Some(t));
        }
        Ok(tok::Entity::find()
            .filter(tok::Column::ShortTokenHash.eq(h))
            .one(&self.db)
            .await?)
    }

    pub async fn list_authentication_tokens(
        &self,
        caller: &Caller,
        q: &TokenQuery,
    ) -> Result<Value, DevApiError> {
        if q.consumer_id
            .as_deref()
            .is_some_and(|c| c != caller.client_id)
        {
            return Err(DevApiError::Forbidden(
                "consumerId must be the calling client".into(),
            ));
        }
        let ident = q
            .provider_identifier
            .as_deref()
            .ok_or_else(|| bad("credentialProviderIdentifier is required"))?;
        let p = self.usable_provider(caller, ident, "jwt").await?;
        let mut sel = tok::Entity::find()
            .filter(tok::Column::ProviderId.eq(p.id.as_str()))
            .filter(tok::Column::ConsumerId.eq(caller.client_id.as_str()));
        if let Some(r) = q.revoked {
            sel = sel.filter(tok::Column::Revoked.eq(r));
        }
        match q.expired {
            Some(true) => sel = sel.filter(tok::Column::ExpiresAt.lte(self.now())),
            Some(false) => sel = sel.filter(tok::Column::ExpiresAt.gt(self.now())),
            None => {}
        }
        let total = sel.clone().count(&self.db).await?;
        let max = q.max_results.unwrap_or(20).clamp(1, 100);
        let offset: u64 = q
            .next_token
            .as_deref()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let rows = sel
            .order_by_asc(tok::Column::CreatedAt)
            .order_by_asc(tok::Column::Id)
            .offset(offset)
            .limit(max)
            .all(&self.db)
            .await?;
        let next = (offset + (rows.len() as u64) < total)
            .then(|| (offset + rows.len() as u64).to_string());
        Ok(json!({
            "entities": rows.iter().map(|t| self.token_meta(t, &p)).collect::<Vec<_>>(),
            "totalCount": total,
            "maxResults": max,
            "nextToken": next,
        }))
    }

    /// Revoke (`revoked = true`) or reinstate one token, by JWT or short token.
    pub async fn set_token_revoked(
        &self,
        caller: &Caller,
        body: &Value,
        revoked: bool,
    ) -> Result<Value, DevApiError> {
        let token = str_field(body, "token").ok_or_else(|| bad("token is required"))?;
        let t = self
            .find_by_value(token)
            .await?
            .filter(|t| t.consumer_id == caller.client_id)
            .ok_or_else(|| {
                DevApiError::NotFound("no such authentication token for this client".into())
            })?;
        let mut am: tok::ActiveModel = t.into();
        am.revoked = Set(revoked);
        am.updated_at = Set(self.now());
        am.update(&self.db).await?;
        Ok(json!({"requestId": uuid::Uuid::new_v4().simple().to_string()}))
    }

    /// Revoke or reinstate every token of a consumer for a provider.
    pub async fn set_consumer_tokens_revoked(
        &self,
        caller: &Caller,
        body: &Value,
        revoked: bool,
    ) -> Result<Value, DevApiError> {
        if str_field(body, "consumerId").is_some_and(|c| c != caller.client_id) {
            return Err(DevApiError::Forbidden(
                "consumerId must be the calling client".into(),
            ));
        }
        let ident = str_field(body, "credentialProviderIdentifier")
            .ok_or_else(|| bad("credentialProviderIdentifier is required"))?;
        let p = self.usable_provider(caller, ident, "jwt").await?;
        tok::Entity::update_many()
            .col_expr(
                tok::Column::Revoked,
                sea_orm::sea_query::Expr::value(revoked),
            )
            .col_expr(
                tok::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(self.now()),
            )
            .filter(tok::Column::ProviderId.eq(p.id.as_str()))
            .filter(tok::Column::ConsumerId.eq(caller.client_id.as_str()))
            .exec(&self.db)
            .await?;
        Ok(json!({"requestId": uuid::Uuid::new_v4().simple().to_string()}))
    }

    /// No bearer: `{active}` for a JWT or short token Writ issued.
    pub async fn validate_authentication_token(
        &self,
        instance_id: &str,
        body: &Value,
    ) -> Result<Value, DevApiError> {
        self.check_instance(instance_id)?;
        let token = str_field(body, "token").ok_or_else(|| bad("token is required"))?;
        let active = match self.find_by_value(token).await? {
            None => false,
            Some(t) => {
                let p = self.provider_of(&t).await?;
                self.check_active(&t, &p).is_ok()
            }
        };
        Ok(json!({"active": active}))
    }
}
