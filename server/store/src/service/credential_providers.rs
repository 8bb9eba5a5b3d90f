//! Credential providers (JWT): admin side. The signing key is made here,
//! sealed at rest, and its public half published in Writ's JWKS.

use super::{Writ, new_id};
use crate::entities::{credential_provider, provider_grant};
use crate::error::{Result, ServiceError, conflict_on_unique};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use writ_core::jwt_provider::{self, JwtProviderConfig};
use writ_core::names::Description;
use writ_types::*;

impl Writ {
    /// Minted JWTs name this issuer unless the workload asks for a
    /// whitelisted one.
    pub(crate) fn provider_default_issuer(&self, identifier: &str) -> String {
        format!("{}/credential-providers/{identifier}", self.public_url)
    }

    fn provider_view(&self, m: credential_provider::Model) -> CredentialProviderView {
        let cfg: Option<JwtProviderConfig> = serde_json::from_str(&m.config).ok();
        CredentialProviderView {
            default_issuer: self.provider_default_issuer(&m.identifier),
            algorithm: cfg
                .as_ref()
                .map(|c| c.algorithm.clone())
                .unwrap_or_default(),
            generate_short_token: cfg.as_ref().is_some_and(|c| c.short_token),
            expiration_seconds: cfg.as_ref().map_or(0, |c| c.expiration_secs),
            issuer_whitelist: cfg.map(|c| c.issuer_whitelist).unwrap_or_default(),
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

    pub async fn create_credential_provider(
        &self,
        input: NewCredentialProvider,
    ) -> Result<CredentialProviderView> {
        if input.kind != "jwt" {
            return Err(ServiceError::Invalid(
                "type: only jwt credential providers are available (OAuth providers are not built yet)".into(),
            ));
        }
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
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 128 {
            return Err(ServiceError::Invalid(
                "name is required (at most 128 characters)".into(),
            ));
        }
        let mut cfg = JwtProviderConfig::parse(
            input.algorithm.as_deref(),
            input.generate_short_token.unwrap_or(false),
            input.expiration_seconds,
            input.issuer_whitelist.as_deref().unwrap_or_default(),
        )?;
        let (pem, mut public_jwk) =
            jwt_provider::generate_key(&cfg.algorithm).map_err(|_| ServiceError::Internal)?;
        let kid = format!("jwtp-{}", writ_core::random::alnum(16));
        public_jwk["kid"] = serde_json::json!(kid);
        cfg.public_jwk = public_jwk;
        let id = new_id();
        let m = credential_provider::ActiveModel {
            kind: Set("jwt".into()),
            identifier: Set(identifier.to_owned()),
            name: Set(name.to_owned()),
            description: Set(
                Description::parse(input.description.as_deref().unwrap_or_default())?.into_inner(),
            ),
            config: Set(serde_json::to_string(&cfg).map_err(|_| ServiceError::Internal)?),
            sealed_key: Set(self
                .vault
                .seal(pem.as_bytes(), &format!("credential_provider:{id}"))),
            kid: Set(kid),
            enabled: Set(true),
            created_at: Set(self.now()),
            updated_at: Set(self.now()),
            id: Set(id),
        }
        .insert(&self.db)
        .await
        .map_err(|e| {
            conflict_on_unique(
                e,
                format!("a credential provider with identifier '{identifier}' already exists"),
            )
        })?;
        Ok(self.provider_view(m))
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
        let mut am: credential_provider::ActiveModel =
            self.credential_provider_model(id).await?.into();
        am.enabled = Set(enabled);
        am.updated_at = Set(self.now());
        Ok(self.provider_view(am.update(&self.db).await?))
    }

    pub async fn delete_credential_provider(&self, id: &str) -> Result<()> {
        let m = self.credential_provider_model(id).await?;
        super::ensure_disabled(m.enabled, "credential provider")?;
        provider_grant::Entity::delete_many()
            .filter(provider_grant::Column::ProviderId.eq(m.id.as_str()))
            .exec(&self.db)
            .await?;
        credential_provider::Entity::delete_by_id(m.id)
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub async fn grant_credential_provider(&self, id: &str, client_id: &str) -> Result<()> {
        let p = self.credential_provider_model(id).await?;
        let c = self.client_by_client_id(client_id).await?;
        provider_grant::ActiveModel {
            id: Set(new_id()),
            provider_id: Set(p.id),
            client_pk: Set(c.id),
            created_at: Set(self.now()),
        }
        .insert(&self.db)
        .await
        .map_err(|e| {
            conflict_on_unique(
                e,
                format!("'{}' may already use this provider", c.client_id),
            )
        })?;
        Ok(())
    }

    /// Public keys of enabled JWT providers, for Writ's JWKS.
    pub async fn provider_jwks(&self) -> Result<Vec<serde_json::Value>> {
        let mut keys = Vec::new();
        for p in credential_provider::Entity::find()
            .filter(credential_provider::Column::Enabled.eq(true))
            .all(&self.db)
            .await?
        {
            let Some(cfg) = serde_json::from_str::<JwtProviderConfig>(&p.config).ok() else {
                continue;
            };
            if !cfg.public_jwk.is_null() {
                keys.push(cfg.public_jwk);
            }
        }
        Ok(keys)
    }
}
