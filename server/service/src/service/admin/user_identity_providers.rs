//! User identity providers: the issuers of people's tokens that token
//! exchange (RFC 8693) trusts, configured and checked like an OIDC
//! federated credential provider (same config, keys and trust condition).

use super::federation::merge_patch;
use crate::entities::user_identity_provider;
use crate::error::{Result, ServiceError, conflict_on_unique};
use crate::service::admin::audit_log::{Change, snapshot};
use crate::service::{Writ, new_id};
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set, TransactionTrait};
use writ_core::federation::expr::{Domain, Expression, Produces};
use writ_core::federation::oidc::OidcProviderConfig;
use writ_core::federation::parse_credential_name;
use writ_core::names::Description;
use writ_types::{NewUserIdentityProvider, UserIdentityProviderView};

pub(crate) fn view(m: user_identity_provider::Model) -> UserIdentityProviderView {
    let cfg = serde_json::from_str::<OidcProviderConfig>(&m.config).ok();
    let key_source = match cfg.as_ref().map(|c| (c.remote(), c.jwks_uri.is_some())) {
        Some((false, _)) => "pasted",
        Some((true, true)) => "jwks_uri",
        Some((true, false)) => "discovery",
        None => "",
    };
    UserIdentityProviderView {
        id: m.id,
        name: m.name,
        description: m.description,
        enabled: m.enabled,
        issuer: m.issuer,
        audience: cfg.as_ref().map(|c| c.audience.clone()).unwrap_or_default(),
        key_source: key_source.into(),
        jwks_uri: cfg.and_then(|c| c.jwks_uri),
        trust_condition: m.trust_condition,
        created_at: m.created_at,
    }
}

/// The trust condition, compiled now so a bad one is refused on save.
fn trust_condition(src: Option<&str>) -> Result<Option<String>> {
    let Some(src) = src.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    Expression::compile(src, Domain::Oidc, Produces::Bool)
        .map_err(|e| ServiceError::Invalid(format!("trust_condition: {e}")))?;
    Ok(Some(src.to_owned()))
}

/// The provider's settings, checked as an OIDC federated provider's are;
/// exactly one key source. Fetched keys are fetched once now: a wrong URL
/// is an error the admin sees on save, not a refused exchange later.
async fn config(input: &NewUserIdentityProvider) -> Result<OidcProviderConfig> {
    let pasted = input.jwks.as_ref().filter(|j| !j.is_null());
    let uri = input
        .jwks_uri
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty());
    let discovery = input.discovery.unwrap_or(false);
    let sources =
        usize::from(pasted.is_some()) + usize::from(uri.is_some()) + usize::from(discovery);
    if sources != 1 {
        return Err(ServiceError::Invalid(
            "keys: give exactly one of jwks (pasted), jwks_uri, or discovery: true".into(),
        ));
    }
    if let Some(jwks) = pasted {
        return Ok(OidcProviderConfig::parse(
            &input.issuer,
            &input.audience,
            jwks,
        )?);
    }
    let cfg = OidcProviderConfig::parse_remote(
        &input.issuer,
        &input.audience,
        uri,
        input.allow_insecure_local_endpoints.unwrap_or(false),
    )?;
    crate::service::token::remote_keys::fetch_keys(&cfg)
        .await
        .map_err(|e| ServiceError::Invalid(format!("verification keys: {e}")))?;
    Ok(cfg)
}

impl Writ {
    pub async fn create_user_identity_provider(
        &self,
        input: NewUserIdentityProvider,
    ) -> Result<UserIdentityProviderView> {
        let name = parse_credential_name(&input.name)?;
        let description = Description::parse(input.description.as_deref().unwrap_or_default())?;
        let cfg = config(&input).await?;
        let trust_condition = trust_condition(input.trust_condition.as_deref())?;
        let tx = self.db.begin().await?;
        let m = user_identity_provider::ActiveModel {
            id: Set(new_id()),
            name: Set(name.clone()),
            description: Set(description.into_inner()),
            issuer: Set(cfg.issuer.clone()),
            config: Set(serde_json::to_string(&cfg).map_err(|_| ServiceError::Internal)?),
            trust_condition: Set(trust_condition),
            enabled: Set(true),
            created_at: Set(self.now()),
        }
        .insert(&tx)
        .await
        .map_err(|e| {
            conflict_on_unique(
                e,
                format!("a user identity provider named '{name}' already exists"),
            )
        })?;
        let v = view(m);
        self.record_change(
            &tx,
            Change::new("user_identity_provider", "create", &v.id).after(snapshot(&v)),
        )
        .await?;
        tx.commit().await?;
        self.changed();
        Ok(v)
    }

    pub async fn list_user_identity_providers(&self) -> Result<Vec<UserIdentityProviderView>> {
        Ok(user_identity_provider::Entity::find()
            .order_by_asc(user_identity_provider::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    async fn user_identity_provider_model(
        &self,
        id: &str,
    ) -> Result<user_identity_provider::Model> {
        user_identity_provider::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .ok_or(ServiceError::NotFound("user identity provider"))
    }

    pub async fn get_user_identity_provider(&self, id: &str) -> Result<UserIdentityProviderView> {
        Ok(view(self.user_identity_provider_model(id).await?))
    }

    /// Edits with a JSON merge patch over the create body's fields (`null`
    /// clears one, e.g. a pasted `jwks` to use `jwks_uri` instead). The
    /// name is fixed once saved; the result is checked as on create.
    pub async fn update_user_identity_provider(
        &self,
        id: &str,
        patch: &serde_json::Value,
    ) -> Result<UserIdentityProviderView> {
        let m = self.user_identity_provider_model(id).await?;
        if !patch.is_object() {
            return Err(ServiceError::Invalid(
                "the body must be a JSON object (a merge patch)".into(),
            ));
        }
        if let Some(v) = patch.get("name").filter(|v| !v.is_null())
            && v.as_str() != Some(m.name.as_str())
        {
            return Err(ServiceError::Invalid(
                "name cannot change after the provider is saved".into(),
            ));
        }
        let cfg: OidcProviderConfig =
            serde_json::from_str(&m.config).map_err(|_| ServiceError::Internal)?;
        let mut current = serde_json::json!({
            "name": m.name, "description": m.description, "issuer": cfg.issuer,
            "audience": cfg.audience, "allow_insecure_local_endpoints": cfg.allow_insecure_local_endpoints,
            "trust_condition": m.trust_condition,
        });
        match (cfg.remote(), &cfg.jwks_uri) {
            (false, _) => current["jwks"] = cfg.jwks.clone(),
            (true, Some(u)) => current["jwks_uri"] = u.clone().into(),
            (true, None) => current["discovery"] = true.into(),
        }
        // A new key source replaces the old one rather than joining it.
        if ["jwks", "jwks_uri", "discovery"]
            .iter()
            .any(|k| patch.get(*k).is_some_and(|v| !v.is_null()))
            && let Some(o) = current.as_object_mut()
        {
            for k in ["jwks", "jwks_uri", "discovery"] {
                o.remove(k);
            }
        }
        merge_patch(&mut current, patch);
        let input: NewUserIdentityProvider = serde_json::from_value(current)
            .map_err(|e| ServiceError::Invalid(format!("request body: {e}")))?;
        let new_cfg = config(&input).await?;
        let description = Description::parse(input.description.as_deref().unwrap_or_default())?;
        let trust_condition = trust_condition(input.trust_condition.as_deref())?;
        let change = Change::new("user_identity_provider", "update", &m.id)
            .before(snapshot(&view(m.clone())));
        let mut am: user_identity_provider::ActiveModel = m.into();
        am.issuer = Set(new_cfg.issuer.clone());
        am.config = Set(serde_json::to_string(&new_cfg).map_err(|_| ServiceError::Internal)?);
        am.description = Set(description.into_inner());
        am.trust_condition = Set(trust_condition);
        let tx = self.db.begin().await?;
        let v = view(am.update(&tx).await?);
        self.record_change(&tx, change.after(snapshot(&v))).await?;
        tx.commit().await?;
        // Fetched keys of the old settings go.
        self.forget_remote_keys(&v.id);
        self.changed();
        Ok(v)
    }

    pub async fn set_user_identity_provider_enabled(
        &self,
        id: &str,
        enabled: bool,
    ) -> Result<UserIdentityProviderView> {
        let m = self.user_identity_provider_model(id).await?;
        let m = self
            .set_enabled::<user_identity_provider::Entity>(m, enabled)
            .await?;
        Ok(view(m))
    }

    /// Deletes a disabled provider (409 while enabled).
    pub async fn delete_user_identity_provider(&self, id: &str) -> Result<()> {
        let m = self.user_identity_provider_model(id).await?;
        self.delete_disabled::<user_identity_provider::Entity>(m)
            .await?;
        self.forget_remote_keys(id);
        Ok(())
    }
}
