//! The token endpoint's service: authenticate the client, decide the scope,
//! mint the token, and audit the outcome either way.

use super::Writ;
use super::hot_cache::{ClientAuth, FederatedAuth, ResourceServerInfo};
use crate::entities::{
    client, client_public_key, client_secret, permission_grant, resource_server,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::sync::Arc;
use writ_core::OAuthError;
use writ_core::audit::{CredentialRef, Outcome, TokenAudit};
use writ_core::federation::Check;
use writ_core::grant::client_auth::{PresentedClient, presented_client};
use writ_core::grant::client_credentials::{self, Audience, IssuedToken, TokenSubject};
use writ_core::scope::{Granted, ScopeRequest};

/// The parts of a token request the service reads.
#[derive(Debug, Default, Clone)]
pub struct TokenRequest {
    pub authorization: Option<String>,
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
    pub application_federated_credential_name: Option<String>,
    /// PCA: the client certificate and its chain (PEM).
    pub client_x509: Option<String>,
    pub client_x509_chain: Option<String>,
    /// Remote address, for the audit log.
    pub source: String,
}

impl Writ {
    pub async fn token(&self, req: TokenRequest) -> Result<IssuedToken, OAuthError> {
        let mut audit = TokenAudit {
            at: self.now(),
            client_id: req.client_id.clone().unwrap_or_default(),
            method: String::new(),
            audience: String::new(),
            scope: req.scope.clone().unwrap_or_default(),
            jti: String::new(),
            outcome: Outcome::Refused,
            reason: String::new(),
            source: req.source.clone(),
            credential: None,
        };
        let result = self.token_inner(&req, &mut audit).await;
        match &result {
            Ok(t) => {
                audit.outcome = Outcome::Issued;
                audit.reason = "ok".into();
                audit.jti = t.jti.clone();
                audit.scope = t.scope.clone();
                audit.audience = t.audience.clone();
            }
            Err(e) => audit.reason = e.reason.into(),
        }
        self.audit.record(audit).await;
        result
    }

    /// Audits a request refused before it could be parsed (wrong content
    /// type, body too large or malformed): every refusal leaves a record.
    pub async fn audit_unparsed_refusal(&self, error: &OAuthError, source: &str) {
        self.audit
            .record(TokenAudit {
                at: self.now(),
                client_id: String::new(),
                method: String::new(),
                audience: String::new(),
                scope: String::new(),
                jti: String::new(),
                outcome: Outcome::Refused,
                reason: error.reason.into(),
                source: source.to_owned(),
                credential: None,
            })
            .await;
    }

    async fn token_inner(
        &self,
        req: &TokenRequest,
        audit: &mut TokenAudit,
    ) -> Result<IssuedToken, OAuthError> {
        match req.grant_type.as_deref() {
            Some(writ_core::grant::GRANT_CLIENT_CREDENTIALS) => {}
            None | Some("") => {
                return Err(OAuthError::invalid_request(
                    "grant_type_missing",
                    "grant_type is required",
                ));
            }
            Some(_) => {
                return Err(OAuthError::new(
                    writ_core::OAuthErrorCode::UnsupportedGrantType,
                    "grant_type_unsupported",
                    "only grant_type=client_credentials is supported",
                ));
            }
        }
        let (client, credential, active_subject) = match req.client_assertion_type.as_deref() {
            Some(t) => self.authenticate_assertion(req, t, audit).await?,
            None => {
                let presented = presented_client(
                    req.authorization.as_deref(),
                    req.client_id.as_deref(),
                    req.client_secret.as_deref(),
                )?;
                audit.client_id = presented.client_id.chars().take(128).collect();
                audit.method = presented.method.as_str().into();
                let (c, r) = self.authenticate(&presented).await?;
                (c, r, None)
            }
        };
        audit.credential = Some(credential);

        let scope = ScopeRequest::parse(req.scope.as_deref())?;
        audit.audience = scope.audience.chars().take(256).collect();
        let rs = self
            .resource_server_by_audience(&scope.audience)
            .await?
            .ok_or_else(|| {
                OAuthError::invalid_scope(
                    "audience_unknown",
                    "no resource server has this audience",
                )
            })?;
        let grant = self.grant_of(&rs.id, &client.pk).await?;
        let audience = Audience {
            audience: rs.audience.clone(),
            permissions: rs.permissions.clone(),
            token_ttl_secs: rs.token_ttl_secs,
            custom_subject: rs.custom_subject,
        };
        let subject = TokenSubject {
            client_id: client.client_id.clone(),
            agent_id: client.agent_id.clone(),
            active_subject,
        };
        client_credentials::issue(
            &self.key,
            &self.urls.issuer,
            self.now(),
            &subject,
            &scope,
            &audience,
            grant.as_deref(),
        )
    }

    /// Finds the client and the enabled secret that matches. The error text is
    /// the same whatever failed; the audit reason tells them apart.
    async fn authenticate(
        &self,
        p: &PresentedClient,
    ) -> Result<(Arc<ClientAuth>, CredentialRef), OAuthError> {
        if p.client_id.len() > 128 || p.secret.len() > 512 {
            return Err(OAuthError::invalid_client("credentials_too_long"));
        }
        let client = self.active_client(&p.client_id).await?;
        if client.secrets.is_empty() {
            return Err(OAuthError::invalid_client("no_enabled_secret"));
        }
        for (id, hash) in &client.secrets {
            if self.secrets.verify(id, &p.secret, hash) {
                let id = id.clone();
                return Ok((client, CredentialRef::ClientSecret(id)));
            }
        }
        Err(OAuthError::invalid_client("secret_mismatch"))
    }

    /// RFC 7523 client authentication with a JWT signed by one of the
    /// client's registered keys; each `jti` is accepted once.
    async fn authenticate_assertion(
        &self,
        req: &TokenRequest,
        assertion_type: &str,
        audit: &mut TokenAudit,
    ) -> Result<Authenticated, OAuthError> {
        use writ_core::grant::jwt_bearer::{self, ASSERTION_TYPE_JWT_BEARER, Policy};
        if let Some(kind) = federated_kind(assertion_type) {
            audit.method = format!("{kind}_federated");
            audit.client_id = req
                .client_id
                .as_deref()
                .unwrap_or_default()
                .chars()
                .take(128)
                .collect();
            return self.federated(req, kind, false, &mut Vec::new()).await;
        }
        audit.method = "private_key_jwt".into();
        if assertion_type != ASSERTION_TYPE_JWT_BEARER {
            return Err(OAuthError::new(
                writ_core::OAuthErrorCode::InvalidClient,
                "assertion_type_unsupported",
                format!(
                    "client_assertion_type '{}' is not supported",
                    assertion_type.chars().take(100).collect::<String>()
                ),
            ));
        }
        if req.client_secret.is_some() || req.authorization.is_some() {
            return Err(OAuthError::invalid_request(
                "multiple_auth_methods",
                "use one client authentication method",
            ));
        }
        let assertion = req
            .client_assertion
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                OAuthError::invalid_request(
                    "assertion_missing",
                    "client_assertion is required with client_assertion_type",
                )
            })?;
        let client_id = jwt_bearer::claimed_client_id(assertion)?;
        audit.client_id = client_id.chars().take(128).collect();
        if req
            .client_id
            .as_deref()
            .is_some_and(|c| !c.is_empty() && c != client_id)
        {
            return Err(OAuthError::invalid_client("client_id_mismatch"));
        }
        let client = self.active_client(&client_id).await?;
        if jwt_bearer::is_hmac(assertion) {
            return self
                .authenticate_client_secret_jwt(&client, assertion, audit)
                .await;
        }
        if client.public_keys.is_empty() {
            return Err(OAuthError::invalid_client("no_enabled_public_key"));
        }
        let keys: Vec<_> = client.public_keys.iter().map(|(_, k)| k.clone()).collect();
        let policy = Policy {
            audiences: &[&self.urls.token_endpoint, &self.urls.issuer],
            now: self.now(),
            skew_secs: self.clock_skew_secs,
        };
        let v = jwt_bearer::verify(assertion, &client_id, &keys, &policy)?;
        self.consume_jti(&client_id, &v).await?;
        let key_id = client.public_keys[v.key_index].0.clone();
        Ok((client, CredentialRef::PublicKey(key_id), None))
    }

    /// `client_secret_jwt`: an HMAC keyed with a secret that opted in (Writ
    /// keeps a sealed copy only of those; hashes cannot check an HMAC).
    async fn authenticate_client_secret_jwt(
        &self,
        client: &Arc<ClientAuth>,
        assertion: &str,
        audit: &mut TokenAudit,
    ) -> Result<Authenticated, OAuthError> {
        use writ_core::grant::jwt_bearer::{self, Policy};
        audit.method = "client_secret_jwt".into();
        if client.jwt_secrets.is_empty() {
            return Err(OAuthError::new(
                writ_core::OAuthErrorCode::InvalidClient,
                "client_secret_jwt_not_enabled",
                "client_secret_jwt is not enabled for any secret of this client: Writ keeps only an argon2 hash of a secret unless it is created with client_secret_jwt allowed",
            ));
        }
        let (ids, keys): (Vec<&String>, Vec<Vec<u8>>) = client
            .jwt_secrets
            .iter()
            .filter_map(|(id, sealed)| Some((id, self.open_client_secret(id, sealed)?)))
            .unzip();
        let policy = Policy {
            audiences: &[&self.urls.token_endpoint, &self.urls.issuer],
            now: self.now(),
            skew_secs: self.clock_skew_secs,
        };
        let v = jwt_bearer::verify_hmac(assertion, &client.client_id, &keys, &policy)?;
        self.consume_jti(&client.client_id, &v).await?;
        let id = ids[v.key_index].clone();
        Ok((client.clone(), CredentialRef::ClientSecret(id), None))
    }

    /// Federated authentication (PCA, OIDC, PKCS#7): the credential and its
    /// provider, the platform's proof checked against the provider's trust,
    /// then the provider's trust condition, the credential's verification
    /// and its attribute mapping. Each step is recorded in `checks` (the Test
    /// credential panel shows them); `dry_run` leaves no trace (no `jti` is
    /// consumed).
    pub(crate) async fn federated(
        &self,
        req: &TokenRequest,
        kind: &'static str,
        dry_run: bool,
        checks: &mut Vec<Check>,
    ) -> Result<Authenticated, OAuthError> {
        use writ_core::federation::{ProviderTrust, expr::Input, oidc, pca, pkcs7};
        use writ_core::grant::jwt_bearer::{self, Policy};
        let client_id = req
            .client_id
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                OAuthError::invalid_request(
                    "client_id_missing",
                    "client_id is required with a federated credential",
                )
            })?;
        let name = req
            .application_federated_credential_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                OAuthError::invalid_request(
                    "federated_name_missing",
                    "application_federated_credential_name is required",
                )
            })?;
        // The SDK sends token files as read, trailing newline included.
        let assertion = req
            .client_assertion
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                OAuthError::invalid_request("assertion_missing", "client_assertion is required")
            })?;
        if req.client_secret.is_some() || req.authorization.is_some() {
            return Err(OAuthError::invalid_request(
                "multiple_auth_methods",
                "use one client authentication method",
            ));
        }
        if name.len() > 64 || client_id.len() > 128 {
            return Err(OAuthError::invalid_client("federated_credential_unknown"));
        }
        let client = step(
            checks,
            "client",
            self.active_client(client_id).await,
            "the client exists and is enabled",
        )?;
        let fed = self
            .federated_auth(&client.pk, name)
            .await?
            .ok_or_else(|| OAuthError::invalid_client("federated_credential_unknown"));
        let fed = step(checks, "credential", fed, "the federated credential exists")?;
        let usable = if !fed.enabled {
            Err(OAuthError::invalid_client("federated_credential_disabled"))
        } else if fed.kind != kind {
            Err(OAuthError::new(
                writ_core::OAuthErrorCode::InvalidClient,
                "federated_credential_type",
                format!(
                    "federated credential '{name}' is of type {}, not {kind}",
                    fed.kind
                ),
            ))
        } else if !fed.provider_enabled {
            Err(OAuthError::invalid_client("federated_provider_disabled"))
        } else {
            Ok(())
        };
        step(
            checks,
            "enabled",
            usable,
            "the credential and its provider are enabled",
        )?;
        let now = self.now();
        let skew = self.clock_skew_secs;
        let input = Input::new(&client.client_id, &fed.credential_id);
        let remote;
        let oidc_trust = match &fed.trust {
            ProviderTrust::Oidc(t) => Some(t),
            ProviderTrust::OidcRemote(cfg) => {
                let kid = oidc::token_kid(assertion);
                remote = step(
                    checks,
                    "keys",
                    self.remote_oidc_trust(&fed.provider_id, cfg, kid.as_deref())
                        .await,
                    "the issuer's keys are available (fetched and cached)",
                )?;
                Some(remote.as_ref())
            }
            _ => None,
        };
        let input = match &fed.trust {
            ProviderTrust::Oidc(_) | ProviderTrust::OidcRemote(_) => {
                let trust = oidc_trust.ok_or_else(OAuthError::server_error)?;
                let t = step(
                    checks,
                    "signature",
                    oidc::verify(assertion, trust, now, skew),
                    "the token's signature, issuer, audience and lifetime are valid",
                )?;
                input.with(
                    "jwt",
                    serde_json::json!({"header": t.header, "claims": t.claims}),
                )
            }
            ProviderTrust::Pca(trust) => {
                let leaf = req
                    .client_x509
                    .as_deref()
                    .filter(|c| !c.trim().is_empty())
                    .ok_or_else(|| {
                        OAuthError::invalid_request(
                            "certificate_missing",
                            "client_x509 is required with a PCA credential",
                        )
                    })?;
                let leaf = step(
                    checks,
                    "certificate_chain",
                    pca::verify_chain(leaf, req.client_x509_chain.as_deref(), trust, now, skew),
                    "the client certificate chains to the provider's root, each within validity",
                )?;
                let policy = Policy {
                    audiences: &[&self.urls.token_endpoint, &self.urls.issuer],
                    now,
                    skew_secs: skew,
                };
                let v = step(
                    checks,
                    "signature",
                    jwt_bearer::verify(
                        assertion,
                        &client.client_id,
                        std::slice::from_ref(&leaf.key),
                        &policy,
                    ),
                    "the assertion is signed by the certificate's key, for this token endpoint, not expired",
                )?;
                if !dry_run {
                    self.consume_jti(&client.client_id, &v).await?;
                }
                input.with("cert", leaf.fields).with(
                    "jwt",
                    serde_json::json!({"header": v.header, "claims": v.claims}),
                )
            }
            ProviderTrust::Pkcs7(trust) => {
                let doc = step(
                    checks,
                    "signature",
                    pkcs7::verify(assertion, trust, &self.instance_id, now, skew),
                    "the document's signature, account, audience and age are valid",
                )?;
                input.with("pkcs7", doc.fields)
            }
        };
        let subject = fed.rules.evaluate(&input, checks).map_err(|reason| {
            OAuthError::new(
                writ_core::OAuthErrorCode::InvalidClient,
                reason,
                match reason {
                    "trust_condition_failed" => "federated credential rejected: the provider's trust condition is not met",
                    "attribute_mapping_failed" => "federated credential rejected: the attribute mapping produced no subject",
                    _ => "federated credential rejected: it does not satisfy the credential's verification",
                },
            )
        })?;
        Ok((
            client,
            CredentialRef::Federated(fed.credential_id.clone()),
            subject,
        ))
    }

    async fn federated_auth(
        &self,
        client_pk: &str,
        name: &str,
    ) -> Result<Option<Arc<FederatedAuth>>, OAuthError> {
        use crate::entities::{federated_credential, federated_provider};
        if !lookup_key(name, 64) {
            return Ok(None);
        }
        let now = self.now();
        if let Some(hit) = self.hot.federated(client_pk, name, now) {
            return Ok(hit);
        }
        let cred = federated_credential::Entity::find()
            .filter(federated_credential::Column::ClientPk.eq(client_pk))
            .filter(federated_credential::Column::Name.eq(name))
            .one(&self.db)
            .await
            .map_err(db_err)?;
        let value = match cred {
            None => None,
            Some(cred) => {
                let provider = federated_provider::Entity::find_by_id(cred.provider_id.clone())
                    .one(&self.db)
                    .await
                    .map_err(db_err)?
                    .ok_or_else(|| OAuthError::invalid_client("federated_provider_unknown"))?;
                let verification = serde_json::from_str(&cred.verification)
                    .map_err(|_| OAuthError::server_error())?;
                let rules = writ_core::federation::CredentialRules::new(
                    &cred.kind,
                    verification,
                    provider.trust_condition.as_deref(),
                    cred.attribute_mapping.as_deref(),
                )
                .map_err(|e| {
                    tracing::error!(credential = %cred.id, field = e.field, "stored federation rule does not compile");
                    OAuthError::server_error()
                })?;
                Some(Arc::new(FederatedAuth {
                    provider_id: provider.id.clone(),
                    credential_id: cred.id,
                    enabled: cred.enabled,
                    kind: cred.kind,
                    provider_enabled: provider.enabled,
                    trust: writ_core::federation::ProviderTrust::from_config(
                        &provider.kind,
                        &provider.config,
                    )?,
                    rules,
                }))
            }
        };
        self.hot.put_federated(client_pk, name, value.clone(), now);
        Ok(value)
    }

    /// The client, if it exists and is enabled; `invalid_client` otherwise.
    pub(crate) async fn active_client(
        &self,
        client_id: &str,
    ) -> Result<Arc<ClientAuth>, OAuthError> {
        let client = self
            .client_auth(client_id)
            .await?
            .ok_or_else(|| OAuthError::invalid_client("client_unknown"))?;
        if !client.enabled {
            return Err(OAuthError::invalid_client("client_disabled"));
        }
        Ok(client)
    }

    async fn client_auth(&self, client_id: &str) -> Result<Option<Arc<ClientAuth>>, OAuthError> {
        if !lookup_key(client_id, 128) {
            return Ok(None);
        }
        let now = self.now();
        if let Some(hit) = self.hot.client(client_id, now) {
            return Ok(hit);
        }
        let found = client::Entity::find()
            .filter(client::Column::ClientId.eq(client_id))
            .one(&self.db)
            .await
            .map_err(db_err)?;
        let value = match found {
            None => None,
            Some(c) => {
                let secrets = client_secret::Entity::find()
                    .filter(client_secret::Column::ClientPk.eq(c.id.as_str()))
                    .filter(client_secret::Column::Enabled.eq(true))
                    .all(&self.db)
                    .await
                    .map_err(db_err)?;
                let keys = client_public_key::Entity::find()
                    .filter(client_public_key::Column::ClientPk.eq(c.id.as_str()))
                    .filter(client_public_key::Column::Enabled.eq(true))
                    .all(&self.db)
                    .await
                    .map_err(db_err)?;
                let public_keys = keys
                    .into_iter()
                    .filter_map(|k| {
                        let jwk: serde_json::Value = serde_json::from_str(&k.jwk).ok()?;
                        Some((
                            k.id,
                            writ_core::public_key::ClientPublicKey::from_jwk(&jwk).ok()?,
                        ))
                    })
                    .collect();
                let jwt_secrets = secrets
                    .iter()
                    .filter_map(|s| Some((s.id.clone(), s.sealed_secret.clone()?)))
                    .collect();
                Some(Arc::new(ClientAuth {
                    jwt_secrets,
                    public_keys,
                    pk: c.id,
                    client_id: c.client_id,
                    agent_id: c.agent_id,
                    enabled: c.enabled,
                    secrets: secrets.into_iter().map(|s| (s.id, s.secret_hash)).collect(),
                }))
            }
        };
        self.hot.put_client(client_id, value.clone(), now);
        Ok(value)
    }

    async fn resource_server_by_audience(
        &self,
        audience: &str,
    ) -> Result<Option<Arc<ResourceServerInfo>>, OAuthError> {
        if !lookup_key(audience, 256) {
            return Ok(None);
        }
        let now = self.now();
        if let Some(hit) = self.hot.audience(audience, now) {
            return Ok(hit);
        }
        let value = resource_server::Entity::find()
            .filter(resource_server::Column::Audience.eq(audience))
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(|rs| {
                Arc::new(ResourceServerInfo {
                    permissions: super::resource_servers::json_list(&rs.permissions),
                    id: rs.id,
                    audience: rs.audience,
                    token_ttl_secs: rs.token_ttl_secs,
                    custom_subject: rs.custom_subject,
                })
            });
        self.hot.put_audience(audience, value.clone(), now);
        Ok(value)
    }

    async fn grant_of(
        &self,
        rs_id: &str,
        client_pk: &str,
    ) -> Result<Option<Arc<Granted>>, OAuthError> {
        let now = self.now();
        if let Some(hit) = self.hot.grant(rs_id, client_pk, now) {
            return Ok(hit);
        }
        let value = permission_grant::Entity::find()
            .filter(permission_grant::Column::ResourceServerId.eq(rs_id))
            .filter(permission_grant::Column::ClientPk.eq(client_pk))
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(|g| {
                let perms = super::resource_servers::json_list(&g.permissions);
                Arc::new(if perms.iter().any(|p| p == ".all") {
                    Granted::All
                } else {
                    Granted::Some(perms)
                })
            });
        self.hot.put_grant(rs_id, client_pk, value.clone(), now);
        Ok(value)
    }
}

impl Writ {
    /// Every client assertion (private_key_jwt, client_secret_jwt, PCA) is
    /// accepted once: its `jti` is recorded until `exp`; a second use is
    /// `invalid_client`.
    async fn consume_jti(
        &self,
        client_id: &str,
        v: &writ_core::grant::jwt_bearer::VerifiedAssertion,
    ) -> Result<(), OAuthError> {
        if self
            .first_use_of_assertion(client_id, &v.jti, v.exp)
            .await
            .map_err(db_err)?
        {
            Ok(())
        } else {
            Err(OAuthError::new(
                writ_core::OAuthErrorCode::InvalidClient,
                "assertion_replayed",
                "client assertion rejected: its jti was already used",
            ))
        }
    }
}

/// The client, the credential that proved it, and the mapped subject.
pub(crate) type Authenticated = (Arc<ClientAuth>, CredentialRef, Option<String>);

/// The federated kind a client_assertion_type names, if any.
pub(crate) fn federated_kind(assertion_type: &str) -> Option<&'static str> {
    use writ_core::federation::{oidc, pca, pkcs7};
    match assertion_type {
        oidc::ASSERTION_TYPE_ID_TOKEN => Some("oidc"),
        pca::ASSERTION_TYPE_X509_JWT => Some("pca"),
        pkcs7::ASSERTION_TYPE_PKCS7 => Some("pkcs7"),
        _ => None,
    }
}

/// Records one check's outcome and passes the result on.
fn step<T>(
    checks: &mut Vec<Check>,
    name: &'static str,
    r: Result<T, OAuthError>,
    passed: &str,
) -> Result<T, OAuthError> {
    match &r {
        Ok(_) => checks.push(Check::pass(name, passed)),
        Err(e) => checks.push(Check::fail(name, e.description.clone())),
    }
    r
}

/// Whether a caller-given name could be stored at all (names are checked
/// on create: bounded, no control characters). One that could not is
/// simply unknown — without the lookup, which on PostgreSQL would fail on a
/// NUL and turn a client's mistake into a server error.
fn lookup_key(s: &str, max_len: usize) -> bool {
    !s.is_empty() && s.len() <= max_len && !s.chars().any(char::is_control)
}

fn db_err(e: sea_orm::DbErr) -> OAuthError {
    tracing::error!(error = %e, "database error at the token endpoint");
    OAuthError::server_error()
}
