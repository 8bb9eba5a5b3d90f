//! Federated credential providers and the clients' federated credentials.

use super::{Writ, new_id};
use crate::entities::{federated_credential, federated_provider};
use crate::error::{Result, ServiceError, conflict_on_unique};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use writ_core::federation::oidc::OidcProviderConfig;
use writ_core::federation::{Verification, parse_credential_name};
use writ_core::names::Description;
use writ_types::*;

fn provider_view(m: federated_provider::Model) -> FederatedProviderView {
    let cfg: Option<OidcProviderConfig> = serde_json::from_str(&m.config).ok();
    FederatedProviderView {
        issuer: cfg.as_ref().map(|c| c.issuer.clone()),
        audience: cfg.map(|c| c.audience),
        id: m.id,
        kind: m.kind,
        name: m.name,
        description: m.description,
        enabled: m.enabled,
        created_at: m.created_at,
    }
}

pub(crate) fn credential_view(m: federated_credential::Model) -> FederatedCredentialView {
    let expr = serde_json::from_str::<Verification>(&m.verification)
        .map(|v| v.expression())
        .unwrap_or_default();
    FederatedCredentialView {
        id: m.id,
        kind: m.kind,
        provider_id: m.provider_id,
        name: m.name,
        description: m.description,
        enabled: m.enabled,
        verification_expression: expr,
        created_at: m.created_at,
        last_used_at: m.last_used_at,
    }
}

impl Writ {
    pub async fn create_federated_provider(
        &self,
        input: NewFederatedProvider,
    ) -> Result<FederatedProviderView> {
        let name = parse_credential_name(&input.name)?;
        let description = Description::parse(input.description.as_deref().unwrap_or_default())?;
        let config = match input.kind.as_str() {
            "oidc" => {
                let jwks = input.jwks.as_ref().ok_or_else(|| ServiceError::Invalid("jwks: paste the issuer's JWKS (discovery and JWKS URLs are not available yet)".into()))?;
                OidcProviderConfig::parse(
                    input.issuer.as_deref().unwrap_or_default(),
                    input.audience.as_deref().unwrap_or_default(),
                    jwks,
                )?
            }
            "pca" | "pkcs7" => {
                return Err(ServiceError::Invalid(format!(
                    "type: '{}' providers are not available yet",
                    input.kind
                )));
            }
            _ => {
                return Err(ServiceError::Invalid(
                    "type must be oidc, pca or pkcs7".into(),
                ));
            }
        };
        let m = federated_provider::ActiveModel {
            id: Set(new_id()),
            kind: Set(input.kind.clone()),
            name: Set(name.clone()),
            description: Set(description.into_inner()),
            config: Set(serde_json::to_string(&config).map_err(|_| ServiceError::Internal)?),
            enabled: Set(true),
            created_at: Set(self.now()),
        }
        .insert(&self.db)
        .await
        .map_err(|e| {
            conflict_on_unique(
                e,
                format!("a federated credential provider named '{name}' already exists"),
            )
        })?;
        self.changed();
        Ok(provider_view(m))
    }

    pub async fn list_federated_providers(&self) -> Result<Vec<FederatedProviderView>> {
        Ok(federated_provider::Entity::find()
            .order_by_asc(federated_provider::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(provider_view)
            .collect())
    }

    async fn provider_model(&self, id: &str) -> Result<federated_provider::Model> {
        federated_provider::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .ok_or(ServiceError::NotFound("federated credential provider"))
    }

    pub async fn set_federated_provider_enabled(
        &self,
        id: &str,
        enabled: bool,
    ) -> Result<FederatedProviderView> {
        let mut am: federated_provider::ActiveModel = self.provider_model(id).await?.into();
        am.enabled = Set(enabled);
        let m = am.update(&self.db).await?;
        self.changed();
        Ok(provider_view(m))
    }

    pub async fn delete_federated_provider(&self, id: &str) -> Result<()> {
        let p = self.provider_model(id).await?;
        if p.enabled {
            return Err(ServiceError::Conflict(
                "disable the provider before deleting it".into(),
            ));
        }
        let users = federated_credential::Entity::find()
            .filter(federated_credential::Column::ProviderId.eq(id))
            .count(&self.db)
            .await?;
        if users > 0 {
            return Err(ServiceError::Conflict(format!(
                "{users} federated credential(s) still use this provider: delete them first"
            )));
        }
        federated_provider::Entity::delete_by_id(p.id)
            .exec(&self.db)
            .await?;
        self.changed();
        Ok(())
    }

    pub async fn create_federated_credential(
        &self,
        client_pk: &str,
        input: NewFederatedCredential,
    ) -> Result<FederatedCredentialView> {
        let c = self.client_model(client_pk).await?;
        let name = parse_credential_name(&input.name)?;
        let description = Description::parse(input.description.as_deref().unwrap_or_default())?;
        let provider = self.provider_model(input.provider_id.trim()).await?;
        if provider.kind != input.kind {
            return Err(ServiceError::Invalid(format!(
                "provider '{}' is of type {}, not {}",
                provider.name, provider.kind, input.kind
            )));
        }
        let v = &input.verification;
        let verification = match input.kind.as_str() {
            "oidc" => Verification::for_oidc(
                &v.mode,
                v.namespace.as_deref(),
                v.service_account.as_deref(),
                v.principal_id.as_deref(),
            )?,
            _ => {
                return Err(ServiceError::Invalid(
                    "type: only oidc credentials are available yet".into(),
                ));
            }
        };
        let m = federated_credential::ActiveModel {
            id: Set(new_id()),
            client_pk: Set(c.id),
            provider_id: Set(provider.id),
            kind: Set(input.kind.clone()),
            name: Set(name.clone()),
            description: Set(description.into_inner()),
            verification: Set(
                serde_json::to_string(&verification).map_err(|_| ServiceError::Internal)?
            ),
            enabled: Set(true),
            created_at: Set(self.now()),
            last_used_at: Set(None),
        }
        .insert(&self.db)
        .await
        .map_err(|e| {
            conflict_on_unique(
                e,
                format!("this client already has a federated credential named '{name}'"),
            )
        })?;
        self.changed();
        Ok(credential_view(m))
    }

    pub async fn list_federated_credentials(
        &self,
        client_pk: &str,
    ) -> Result<Vec<FederatedCredentialView>> {
        self.client_model(client_pk).await?;
        Ok(federated_credential::Entity::find()
            .filter(federated_credential::Column::ClientPk.eq(client_pk))
            .order_by_asc(federated_credential::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(credential_view)
            .collect())
    }

    async fn credential_of(
        &self,
        client_pk: &str,
        id: &str,
    ) -> Result<federated_credential::Model> {
        federated_credential::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .filter(|f| f.client_pk == client_pk)
            .ok_or(ServiceError::NotFound("federated credential"))
    }

    pub async fn set_federated_credential_enabled(
        &self,
        client_pk: &str,
        id: &str,
        enabled: bool,
    ) -> Result<FederatedCredentialView> {
        let mut am: federated_credential::ActiveModel =
            self.credential_of(client_pk, id).await?.into();
        am.enabled = Set(enabled);
        let m = am.update(&self.db).await?;
        self.changed();
        Ok(credential_view(m))
    }

    pub async fn delete_federated_credential(&self, client_pk: &str, id: &str) -> Result<()> {
        let f = self.credential_of(client_pk, id).await?;
        if f.enabled {
            return Err(ServiceError::Conflict(
                "disable the federated credential before deleting it".into(),
            ));
        }
        federated_credential::Entity::delete_by_id(f.id)
            .exec(&self.db)
            .await?;
        self.changed();
        Ok(())
    }

    /// `client-config.json` for an OIDC federated credential (KUBERNETES).
    pub async fn sdk_config_oidc(
        &self,
        client_pk: &str,
        credential_name: &str,
        scope: Option<&str>,
        token_file: Option<&str>,
    ) -> Result<SdkConfigView> {
        let c = self.client_model(client_pk).await?;
        let exists = federated_credential::Entity::find()
            .filter(federated_credential::Column::ClientPk.eq(c.id.as_str()))
            .filter(federated_credential::Column::Name.eq(credential_name.trim()))
            .one(&self.db)
            .await?;
        let Some(cred) = exists else {
            return Err(ServiceError::Invalid(
                "federated_credential_name: no federated credential of this client has that name"
                    .into(),
            ));
        };
        let authn = writ_core::sdk_config::AuthnConfiguration::kubernetes_oidc(
            &cred.name,
            token_file.map(str::trim).filter(|p| !p.is_empty()),
        );
        Ok(SdkConfigView {
            json: self.render_sdk_config(&c.client_id, scope, authn)?,
            secret_env_var: String::new(),
        })
    }
}
