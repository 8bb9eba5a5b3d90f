//! Federated credential providers and the clients' federated credentials.

use crate::entities::{federated_credential, federated_provider};
use crate::error::{Result, ServiceError, conflict_on_unique};
use crate::service::admin::audit_log::{Change, snapshot, with_field};
use crate::service::{Writ, new_id};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use writ_core::federation::expr::{Expression, Produces};
use writ_core::federation::oidc::OidcProviderConfig;
use writ_core::federation::pca::PcaProviderConfig;
use writ_core::federation::pkcs7::Pkcs7ProviderConfig;
use writ_core::federation::{
    CredentialRules, Verification, VerificationFields, parse_credential_name, parse_kind,
};
use writ_core::names::Description;
use writ_core::sdk_config::AuthnConfiguration;
use writ_types::*;

pub(crate) fn provider_view(m: federated_provider::Model) -> FederatedProviderView {
    let mut v = FederatedProviderView {
        id: m.id,
        kind: m.kind.clone(),
        name: m.name,
        description: m.description,
        enabled: m.enabled,
        issuer: None,
        audience: None,
        key_source: None,
        jwks_uri: None,
        root_subject: None,
        intermediate_subjects: Vec::new(),
        trust_source: None,
        account_id: None,
        max_document_age_seconds: None,
        trust_condition: m.trust_condition,
        created_at: m.created_at,
    };
    match ProviderKind::parse(&m.kind) {
        Some(ProviderKind::Oidc) => {
            if let Ok(c) = serde_json::from_str::<OidcProviderConfig>(&m.config) {
                v.key_source = Some(
                    match (c.remote(), &c.jwks_uri) {
                        (false, _) => "pasted",
                        (true, Some(_)) => "jwks_uri",
                        (true, None) => "discovery",
                    }
                    .into(),
                );
                v.jwks_uri = c.jwks_uri;
                v.issuer = Some(c.issuer);
                v.audience = Some(c.audience);
            }
        }
        Some(ProviderKind::Pca) => {
            if let Ok(c) = serde_json::from_str::<PcaProviderConfig>(&m.config) {
                let (root, ints) = c.describe();
                v.root_subject = Some(root);
                v.intermediate_subjects = ints;
            }
        }
        Some(ProviderKind::Pkcs7) => {
            if let Ok(c) = serde_json::from_str::<Pkcs7ProviderConfig>(&m.config) {
                v.trust_source = Some(c.trust_source.as_str().into());
                v.account_id = Some(c.account_id);
                v.max_document_age_seconds = c.max_document_age_seconds;
            }
        }
        None => {}
    }
    v
}

pub(crate) fn credential_view(m: federated_credential::Model) -> FederatedCredentialView {
    let v = serde_json::from_str::<Verification>(&m.verification).ok();
    FederatedCredentialView {
        id: m.id,
        kind: m.kind,
        provider_id: m.provider_id,
        name: m.name,
        description: m.description,
        enabled: m.enabled,
        verification_mode: v
            .as_ref()
            .map(|v| v.mode().as_str().to_owned())
            .unwrap_or_default(),
        verification_expression: v.map(|v| v.expression()).unwrap_or_default(),
        attribute_mapping: m.attribute_mapping,
        created_at: m.created_at,
        last_used_at: m.last_used_at,
    }
}

fn invalid(e: writ_core::names::InvalidInput) -> ServiceError {
    ServiceError::from(e)
}

/// The provider type a caller named (the create body's `type`).
fn provider_kind(kind: &str) -> Result<ProviderKind> {
    ProviderKind::parse(kind)
        .ok_or_else(|| ServiceError::Invalid("type must be oidc, pca or pkcs7".into()))
}

/// The provider's trust condition, checked now so a bad one is refused on save.
fn trust_condition(kind: ProviderKind, src: Option<&str>) -> Result<Option<String>> {
    let Some(src) = src.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    Expression::compile(src, kind, Produces::Bool)
        .map_err(|e| ServiceError::Invalid(format!("trust_condition: {e}")))?;
    Ok(Some(src.to_owned()))
}

/// A provider's type-specific settings, checked (and, for OIDC keys that
/// are fetched, fetched once: a wrong URL is an error the admin sees on
/// save, not a refused token later), as stored JSON.
async fn provider_config(kind: ProviderKind, input: &NewFederatedProvider) -> Result<String> {
    match kind {
        ProviderKind::Oidc => {
            let (issuer, audience) = (
                input.issuer.as_deref().unwrap_or_default(),
                input.audience.as_deref().unwrap_or_default(),
            );
            let cfg = match input.jwks.as_ref().filter(|j| !j.is_null()) {
                Some(jwks) => OidcProviderConfig::parse(issuer, audience, jwks)?,
                None => {
                    let cfg = OidcProviderConfig::parse_remote(
                        issuer,
                        audience,
                        input.jwks_uri.as_deref(),
                        input.allow_insecure_local_endpoints.unwrap_or(false),
                    )?;
                    // Fetch once now: a wrong URL is an error the admin sees
                    // on save, not a refused token later.
                    crate::service::token::remote_keys::fetch_keys(&cfg)
                        .await
                        .map_err(|e| ServiceError::Invalid(format!("verification keys: {e}")))?;
                    cfg
                }
            };
            serde_json::to_string(&cfg)
        }
        ProviderKind::Pca => serde_json::to_string(
            &PcaProviderConfig::parse(
                input.root_certificate.as_deref().unwrap_or_default(),
                input
                    .intermediate_certificates
                    .as_deref()
                    .unwrap_or_default(),
            )
            .map_err(invalid)?,
        ),
        ProviderKind::Pkcs7 => serde_json::to_string(
            &Pkcs7ProviderConfig::parse(
                input.trust_source.as_deref().unwrap_or_default(),
                input
                    .verification_certificate
                    .as_deref()
                    .unwrap_or_default(),
                input.account_id.as_deref().unwrap_or_default(),
                input.max_document_age_seconds,
            )
            .map_err(invalid)?,
        ),
    }
    .map_err(|_| ServiceError::Internal)
}

/// RFC 7396 JSON merge patch: `null` removes a member, objects merge,
/// anything else replaces.
/// A verification as the admin wrote it, checked against the provider
/// (PKCS#7 providers name the instance-id field of their cloud).
fn parse_verification(
    kind: ProviderKind,
    provider: &federated_provider::Model,
    v: &VerificationInput,
) -> Result<Verification> {
    let instance_field = match kind {
        ProviderKind::Pkcs7 => serde_json::from_str::<Pkcs7ProviderConfig>(&provider.config)
            .map(|c| c.trust_source.instance_id_field())
            .unwrap_or("instanceId"),
        ProviderKind::Oidc | ProviderKind::Pca => "",
    };
    Ok(Verification::parse(
        kind,
        &VerificationFields {
            mode: v.mode.as_str(),
            namespace: v.namespace.as_deref(),
            service_account: v.service_account.as_deref(),
            principal_id: v.principal_id.as_deref(),
            cn: v.cn.as_deref(),
            instance_id: v.instance_id.as_deref(),
            expression: v.expression.as_deref(),
        },
        instance_field,
    )?)
}

/// An attribute mapping as stored: blank means none.
fn mapping_of(src: Option<&str>) -> Option<String> {
    src.map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
}

pub(crate) fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

impl Writ {
    pub async fn create_federated_provider(
        &self,
        input: NewFederatedProvider,
    ) -> Result<FederatedProviderView> {
        let name = parse_credential_name(&input.name)?;
        let description = Description::parse(input.description.as_deref().unwrap_or_default())?;
        let kind = provider_kind(&input.kind)?;
        let config = provider_config(kind, &input).await?;
        let trust_condition = trust_condition(kind, input.trust_condition.as_deref())?;
        let tx = self.db.begin().await?;
        let m = federated_provider::ActiveModel {
            id: Set(new_id()),
            kind: Set(kind.as_str().to_owned()),
            name: Set(name.clone()),
            description: Set(description.into_inner()),
            config: Set(config),
            trust_condition: Set(trust_condition),
            enabled: Set(true),
            created_at: Set(self.now()),
        }
        .insert(&tx)
        .await
        .map_err(|e| {
            conflict_on_unique(
                e,
                format!("a federated credential provider named '{name}' already exists"),
            )
        })?;
        let v = provider_view(m);
        self.record_change(
            &tx,
            Change::new("federated_provider", "create", &v.id).after(snapshot(&v)),
        )
        .await?;
        tx.commit().await?;
        self.changed();
        Ok(v)
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
        let m = self.provider_model(id).await?;
        let m = self
            .set_enabled::<federated_provider::Entity>(m, enabled)
            .await?;
        Ok(provider_view(m))
    }

    /// Edits a provider with a JSON merge patch over the create body's
    /// fields (`null` clears one, e.g. a pasted `jwks` to fetch keys
    /// instead). The type and name are fixed once saved; the whole result
    /// is checked as on create.
    pub async fn update_federated_provider(
        &self,
        id: &str,
        patch: &serde_json::Value,
    ) -> Result<FederatedProviderView> {
        let m = self.provider_model(id).await?;
        if !patch.is_object() {
            return Err(ServiceError::Invalid(
                "the body must be a JSON object (a merge patch)".into(),
            ));
        }
        for (field, now) in [("type", &m.kind), ("name", &m.name)] {
            if let Some(v) = patch.get(field).filter(|v| !v.is_null())
                && v.as_str() != Some(now.as_str())
            {
                return Err(ServiceError::Invalid(format!(
                    "{field} cannot change after the provider is saved"
                )));
            }
        }
        let mut current: serde_json::Value =
            serde_json::from_str(&m.config).map_err(|_| ServiceError::Internal)?;
        current["type"] = m.kind.clone().into();
        current["name"] = m.name.clone().into();
        current["description"] = m.description.clone().into();
        if let Some(tc) = &m.trust_condition {
            current["trust_condition"] = tc.clone().into();
        }
        merge_patch(&mut current, patch);
        let input: NewFederatedProvider = serde_json::from_value(current)
            .map_err(|e| ServiceError::Invalid(format!("request body: {e}")))?;
        let kind = provider_kind(&input.kind)?;
        let config = provider_config(kind, &input).await?;
        let description = Description::parse(input.description.as_deref().unwrap_or_default())?;
        let trust_condition = trust_condition(kind, input.trust_condition.as_deref())?;
        let change = Change::new("federated_provider", "update", &m.id)
            .before(snapshot(&provider_view(m.clone())));
        let mut am: federated_provider::ActiveModel = m.into();
        am.config = Set(config);
        am.description = Set(description.into_inner());
        am.trust_condition = Set(trust_condition);
        let tx = self.db.begin().await?;
        let v = provider_view(am.update(&tx).await?);
        self.record_change(&tx, change.after(snapshot(&v))).await?;
        tx.commit().await?;
        // Compiled rules and fetched keys of the old settings go.
        self.forget_remote_keys(&v.id);
        self.changed();
        Ok(v)
    }

    pub async fn delete_federated_provider(&self, id: &str) -> Result<()> {
        let p = self.provider_model(id).await?;
        self.delete_disabled::<federated_provider::Entity>(p)
            .await?;
        // Its fetched keys go too: the cache holds only providers that exist.
        self.forget_remote_keys(id);
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
        let kind = parse_kind(&input.kind)?;
        let verification = parse_verification(kind, &provider, &input.verification)?;
        let mapping = mapping_of(input.attribute_mapping.as_deref());
        // Compiles everything once: a bad expression is refused on save.
        CredentialRules::new(kind, verification.clone(), None, mapping.as_deref())?;
        let tx = self.db.begin().await?;
        let m = federated_credential::ActiveModel {
            id: Set(new_id()),
            client_pk: Set(c.id.clone()),
            provider_id: Set(provider.id),
            kind: Set(kind.as_str().to_owned()),
            name: Set(name.clone()),
            description: Set(description.into_inner()),
            verification: Set(
                serde_json::to_string(&verification).map_err(|_| ServiceError::Internal)?
            ),
            attribute_mapping: Set(mapping),
            enabled: Set(true),
            created_at: Set(self.now()),
            last_used_at: Set(None),
        }
        .insert(&tx)
        .await
        .map_err(|e| {
            conflict_on_unique(
                e,
                format!("this client already has a federated credential named '{name}'"),
            )
        })?;
        let v = credential_view(m);
        let after = with_field(snapshot(&v), "client_pk", c.id);
        self.record_change(
            &tx,
            Change::new("federated_credential", "create", &v.id).after(after),
        )
        .await?;
        tx.commit().await?;
        self.changed();
        Ok(v)
    }

    /// Edits description, verification and attribute mapping; the name and
    /// provider stay. The new rules are compiled before anything is
    /// written, so an invalid expression leaves the credential unchanged.
    pub async fn update_federated_credential(
        &self,
        client_pk: &str,
        id: &str,
        input: FederatedCredentialUpdate,
    ) -> Result<FederatedCredentialView> {
        if input.name.is_some() {
            return Err(ServiceError::Invalid(
                "name: a federated credential's name cannot change (create a new credential)"
                    .into(),
            ));
        }
        let m = self
            .client_owned::<federated_credential::Entity>(client_pk, id)
            .await?;
        let (verification, mapping) = self.proposed_rules(&m, &input).await?;
        let change = Change::new("federated_credential", "update", &m.id).before(with_field(
            snapshot(&credential_view(m.clone())),
            "client_pk",
            m.client_pk.clone(),
        ));
        let client_pk = m.client_pk.clone();
        let mut am: federated_credential::ActiveModel = m.into();
        if let Some(d) = &input.description {
            am.description = Set(Description::parse(d)?.into_inner());
        }
        am.verification =
            Set(serde_json::to_string(&verification).map_err(|_| ServiceError::Internal)?);
        am.attribute_mapping = Set(mapping);
        let tx = self.db.begin().await?;
        let v = credential_view(am.update(&tx).await?);
        let after = with_field(snapshot(&v), "client_pk", client_pk);
        self.record_change(&tx, change.after(after)).await?;
        tx.commit().await?;
        self.changed();
        Ok(v)
    }

    /// The verification and mapping an edit would store (fields left out
    /// keep their stored value), compiled once so that a bad expression is
    /// refused before anything is written or tested.
    async fn proposed_rules(
        &self,
        m: &federated_credential::Model,
        input: &FederatedCredentialUpdate,
    ) -> Result<(Verification, Option<String>)> {
        let kind = parse_kind(&m.kind)?;
        let verification = match &input.verification {
            Some(v) => {
                let provider = self.provider_model(&m.provider_id).await?;
                parse_verification(kind, &provider, v)?
            }
            None => serde_json::from_str(&m.verification).map_err(|_| ServiceError::Internal)?,
        };
        let mapping = match &input.attribute_mapping {
            Some(a) => mapping_of(Some(a)),
            None => m.attribute_mapping.clone(),
        };
        CredentialRules::new(kind, verification.clone(), None, mapping.as_deref())?;
        Ok((verification, mapping))
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

    pub async fn set_federated_credential_enabled(
        &self,
        client_pk: &str,
        id: &str,
        enabled: bool,
    ) -> Result<FederatedCredentialView> {
        let m = self
            .client_owned::<federated_credential::Entity>(client_pk, id)
            .await?;
        let m = self
            .set_enabled::<federated_credential::Entity>(m, enabled)
            .await?;
        Ok(credential_view(m))
    }

    pub async fn delete_federated_credential(&self, client_pk: &str, id: &str) -> Result<()> {
        let f = self
            .client_owned::<federated_credential::Entity>(client_pk, id)
            .await?;
        self.delete_disabled::<federated_credential::Entity>(f)
            .await
    }

    /// `client-config.json` for a federated credential: OIDC (KUBERNETES
    /// token file), PCA (certificate and chain inline, key from an env var)
    /// or PKCS7 (ALIBABA_CLOUD_ECS or AWS_EC2, by the provider's cloud). Long
    /// because the three shapes differ field by field, as the SDK reads them.
    pub async fn sdk_config_federated(
        &self,
        client_pk: &str,
        method: &str,
        q: &SdkConfigRequest,
    ) -> Result<SdkConfigView> {
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let credential_name = given(&q.federated_credential_name).unwrap_or_default();
        let scope = given(&q.scope);
        let scope = scope.as_deref();
        let (token_file, token_file_env) = (
            given(&q.oidc_token_file_path),
            given(&q.oidc_token_file_env_var),
        );
        if let Some(e) = &token_file_env
            && (e.len() > 128
                || !e
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'))
        {
            return Err(ServiceError::Invalid(
                "oidc_token_file_env_var: an environment variable name (A-Z, 0-9, _)".into(),
            ));
        }
        let client_certificate = given(&q.client_x509_certificate);
        let key_env_var = given(&q.secret_env_var);
        let c = self.client_model(client_pk).await?;
        let cred = federated_credential::Entity::find()
            .filter(federated_credential::Column::ClientPk.eq(c.id.as_str()))
            .filter(federated_credential::Column::Name.eq(credential_name.as_str()))
            .one(&self.db)
            .await?
            .ok_or_else(|| {
                ServiceError::Invalid(
                    "federated_credential_name: no federated credential of this client has that name"
                        .into(),
                )
            })?;
        let want = match method {
            "OIDC" => ProviderKind::Oidc,
            "PCA" => ProviderKind::Pca,
            _ => ProviderKind::Pkcs7,
        };
        if cred.kind != want.as_str() {
            return Err(ServiceError::Invalid(format!(
                "federated_credential_name: '{}' is a {} credential, not {want}",
                cred.name, cred.kind
            )));
        }
        let env = key_env_var
            .as_deref()
            .unwrap_or(writ_core::sdk_config::DEFAULT_PRIVATE_KEY_ENV);
        let (authn, env_out) = match want {
            ProviderKind::Oidc => (
                AuthnConfiguration::kubernetes_oidc(
                    &cred.name,
                    token_file.as_deref(),
                    token_file_env.as_deref(),
                ),
                String::new(),
            ),
            ProviderKind::Pca => {
                let provider = self.provider_model(&cred.provider_id).await?;
                let chain = serde_json::from_str::<PcaProviderConfig>(&provider.config)
                    .map(|p| p.intermediate_certificates.concat())
                    .unwrap_or_default();
                let cert = client_certificate
                    .as_deref()
                    .unwrap_or("-----BEGIN CERTIFICATE-----\n(paste the workload's client certificate here)\n-----END CERTIFICATE-----");
                (
                    AuthnConfiguration::pca(&cred.name, cert, &chain, env),
                    env.to_owned(),
                )
            }
            ProviderKind::Pkcs7 => {
                let provider = self.provider_model(&cred.provider_id).await?;
                let cloud = serde_json::from_str::<Pkcs7ProviderConfig>(&provider.config)
                    .map_err(|_| ServiceError::Internal)?
                    .trust_source;
                (AuthnConfiguration::pkcs7(&cred.name, cloud), String::new())
            }
        };
        Ok(SdkConfigView {
            json: self.render_sdk_config(&c.client_id, scope, authn)?,
            secret_env_var: env_out,
        })
    }

    /// The Test credential panel: the token endpoint's federated checks on
    /// pasted inputs, each with its outcome. Nothing is issued or consumed.
    pub async fn test_federated_credential(
        &self,
        input: FederatedTestRequest,
    ) -> Result<FederatedTestResult> {
        self.dry_run(input, None).await
    }

    /// The edit panel's "Test credential": the same dry run, against the
    /// credential as `update` would leave it, without saving anything. The
    /// client and the credential's name come from the stored credential
    /// (the request's `client_id` and name are ignored); an invalid edit is
    /// refused as [`Self::update_federated_credential`] would refuse it.
    pub async fn test_federated_credential_update(
        &self,
        client_pk: &str,
        id: &str,
        update: &FederatedCredentialUpdate,
        input: FederatedTestRequest,
    ) -> Result<FederatedTestResult> {
        let m = self
            .client_owned::<federated_credential::Entity>(client_pk, id)
            .await?;
        let client = self.client_model(client_pk).await?;
        let (verification, mapping) = self.proposed_rules(&m, update).await?;
        let provider = self.provider_model(&m.provider_id).await?;
        let mut proposed = m.clone();
        proposed.verification =
            serde_json::to_string(&verification).map_err(|_| ServiceError::Internal)?;
        proposed.attribute_mapping = mapping;
        let loaded = crate::service::token::load_credential(proposed, &provider)
            .map_err(|_| ServiceError::Internal)?;
        let input = FederatedTestRequest {
            client_id: client.client_id,
            application_federated_credential_name: Some(m.name),
            ..input
        };
        self.dry_run(input, Some(std::sync::Arc::new(loaded))).await
    }

    /// Runs the token endpoint's federated checks on pasted inputs, against
    /// the stored credential or `proposed`. Nothing is issued or consumed.
    async fn dry_run(
        &self,
        input: FederatedTestRequest,
        proposed: Option<std::sync::Arc<writ_core::federation::check::LoadedCredential>>,
    ) -> Result<FederatedTestResult> {
        let kind = writ_core::grant::token_request::federated_kind(input.client_assertion_type.trim()).ok_or_else(|| {
            ServiceError::Invalid(
                "client_assertion_type: use the PCA (x509-jwt-bearer), OIDC (id-token-bearer) or PKCS#7 (pkcs7-bearer) assertion type".into(),
            )
        })?;
        let req = crate::service::token::TokenRequest {
            client_id: Some(input.client_id.trim().to_owned()),
            client_assertion_type: Some(input.client_assertion_type),
            client_assertion: Some(input.client_assertion),
            application_federated_credential_name: input.application_federated_credential_name,
            client_x509: input.client_x509,
            client_x509_chain: input.client_x509_chain,
            ..Default::default()
        };
        // The same parsing and the same check as a token request, minus the
        // single use of the assertion.
        let mut checks = Vec::new();
        let result = match req.federated(kind) {
            Ok((client_id, presented)) => {
                self.federated_with(client_id, &presented, true, &mut checks, proposed)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = &result
            && checks.last().is_none_or(|c| c.passed)
        {
            // Refused before any check ran (a missing field): say why.
            checks.push(writ_core::federation::Check::fail(
                "request",
                e.description.clone(),
            ));
        }
        let subject = result
            .as_ref()
            .ok()
            .map(|(client, _, mapped)| match mapped {
                Some(urn) => format!("{}:{urn}", client.client_id),
                None => client.client_id.clone(),
            });
        Ok(FederatedTestResult {
            passed: result.is_ok(),
            subject,
            checks: checks
                .into_iter()
                .map(|c| FederatedCheckView {
                    name: c.name.into(),
                    passed: c.passed,
                    reason: c.reason,
                })
                .collect(),
        })
    }
}
