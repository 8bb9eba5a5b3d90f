//! The token endpoint's service: authenticate the client, decide the scope,
//! mint the token, and audit the outcome either way.

pub(crate) mod audit;
pub(crate) mod auth_throttle;
mod batch_insert;
mod exchange;
pub(crate) mod hot_cache;
pub(crate) mod remote_keys;
pub(crate) mod replay;
pub(crate) mod verify_once;

use crate::entities::{
    client, client_public_key, client_secret, permission_grant, resource_server,
};
use crate::service::metrics::TokenKind;
use crate::service::{Writ, slow_hash};
use hot_cache::{ClientAuth, Delegation, ResourceServerInfo, StoredSecret};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::sync::Arc;
use writ_core::audit::{CredentialRef, Outcome, TokenAudit};
use writ_core::federation::Check;
use writ_core::federation::check::{Context, LoadedCredential, Presented, step};
use writ_core::grant::client_auth::PresentedClient;
use writ_core::grant::client_credentials::{self, Audience, IssuedToken, TokenSubject};
use writ_core::grant::token_exchange;
use writ_core::grant::token_request::{AuthenticationKind, Grant, MAX_CLIENT_ID};
use writ_core::scope::{Granted, ScopeRequest};
use writ_core::{OAuthError, secret};

pub use writ_core::grant::token_request::TokenRequest;

impl Writ {
    pub async fn token(&self, req: TokenRequest) -> Result<IssuedToken, OAuthError> {
        let started = std::time::Instant::now();
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
            delegation: None,
        };
        let result = self.token_inner(&req, &mut audit).await;
        // The labels are fixed before the record moves to the audit path.
        let kind = TokenKind::new(req.grant_type.as_deref(), &audit.method);
        let answer = match result {
            Ok(t) => {
                audit.outcome = Outcome::Issued;
                audit.reason = "ok".into();
                audit.jti = t.jti.clone();
                audit.scope = t.scope.clone();
                audit.audience = t.audience.clone();
                // No audit, no answer: the token goes out only once its
                // record is committed (group commit, bounded wait; see
                // `audit.rs`). Otherwise it is dropped here, unanswered.
                match self.audit.issued(audit).await {
                    Ok(()) => Ok(t),
                    Err(failure) => Err(failure.oauth_error()),
                }
            }
            Err(e) => {
                audit.reason = e.reason.into();
                // A refusal never waits on the audit path.
                self.audit.refused(audit);
                Err(e)
            }
        };
        self.metrics
            .token(kind, answer.as_ref().err(), Some(started.elapsed()));
        answer
    }

    /// Audits a request refused before it could be parsed (wrong content
    /// type, body too large or malformed): every refusal is counted, and
    /// none waits on the audit path (repeats are folded into one row).
    pub async fn audit_unparsed_refusal(&self, error: &OAuthError, source: &str) {
        self.metrics
            .token(TokenKind::new(None, ""), Some(error), None);
        self.audit.refused(TokenAudit {
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
            delegation: None,
        });
    }

    async fn token_inner(
        &self,
        req: &TokenRequest,
        audit: &mut TokenAudit,
    ) -> Result<IssuedToken, OAuthError> {
        // The exchange's parameters are checked for shape before the client
        // authenticates (cheap refusals); nothing in them is verified or
        // fetched until it has.
        let exchange = match req.check_grant_type()? {
            Grant::ClientCredentials => None,
            Grant::TokenExchange => {
                let p = token_exchange::params(req)?;
                Self::note_claimed_subject(p.subject_token, &req.client_id_for_audit(), audit);
                Some(p)
            }
        };
        let (client, credential, active_subject) = match req.authentication_kind() {
            AuthenticationKind::Secret => {
                let presented = req.presented_client()?;
                audit.client_id = presented.client_id.chars().take(MAX_CLIENT_ID).collect();
                audit.method = presented.method.as_str().into();
                let (c, r) = self.authenticate(&presented, &req.source).await?;
                (c, r, None)
            }
            AuthenticationKind::Federated(kind) => {
                audit.method = format!("{kind}_federated");
                audit.client_id = req.client_id_for_audit();
                let (client_id, presented) = req.federated(kind)?;
                self.federated(client_id, &presented, false, &mut Vec::new())
                    .await?
            }
            AuthenticationKind::JwtBearer => {
                audit.method = writ_core::grant::AUTH_PRIVATE_KEY_JWT.into();
                self.authenticate_assertion(req.jwt_bearer_assertion()?, req, audit)
                    .await?
            }
            AuthenticationKind::Unsupported(assertion_type) => {
                audit.method = writ_core::grant::AUTH_PRIVATE_KEY_JWT.into();
                return Err(OAuthError::new(
                    writ_core::OAuthErrorCode::InvalidClient,
                    "assertion_type_unsupported",
                    format!(
                        "client_assertion_type '{}' is not supported",
                        assertion_type.chars().take(100).collect::<String>()
                    ),
                ));
            }
        };
        audit.credential = Some(credential);
        if let Some(params) = exchange {
            return self.exchange(req, params, &client, audit).await;
        }

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
            &self.signing_key(),
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
    ///
    /// Cheap to refuse: a secret that passed before is recognised with one
    /// HMAC; anything else must first spend from the client's and the
    /// source's failure budgets, then waits for a slot in the bounded
    /// argon2 pool (or is refused at once when that is full).
    async fn authenticate(
        &self,
        p: &PresentedClient,
        source: &str,
    ) -> Result<(Arc<ClientAuth>, CredentialRef), OAuthError> {
        if p.client_id.len() > 128 || p.secret.len() > 512 {
            return Err(OAuthError::invalid_client("credentials_too_long"));
        }
        let client = self.active_client(&p.client_id).await?;
        if client.secrets.is_empty() {
            return Err(OAuthError::invalid_client("no_enabled_secret"));
        }
        let matched = |i: usize| CredentialRef::ClientSecret(client.secrets[i].id.clone());
        if let Some(i) = client
            .secrets
            .iter()
            .position(|s| self.secrets.is_known(&s.id, &p.secret))
        {
            return Ok((client.clone(), matched(i)));
        }
        // The screen refuses a wrong secret with one HMAC (computed once,
        // whatever the number of secrets); only a secret that passes it (or
        // an old secret without one) costs argon2.
        let presented = secret::screen(&self.token_digest_key, &p.secret);
        let candidates: Vec<usize> = (0..client.secrets.len())
            .filter(|&i| secret::screen_matches(&presented, client.secrets[i].screen.as_deref()))
            .collect();
        if candidates.is_empty() {
            return Err(OAuthError::invalid_client("secret_mismatch"));
        }
        // One verification per presented value at a time; whoever waited
        // finds the value proved (or not) by the one before it.
        let _turn = self
            .verify_once
            .turn(self.secrets.digest(&client.pk, &p.secret))
            .await;
        if let Some(i) = client
            .secrets
            .iter()
            .position(|s| self.secrets.is_known(&s.id, &p.secret))
        {
            return Ok((client.clone(), matched(i)));
        }
        let now = self.now();
        if !self.auth_throttle.try_spend(&client.client_id, source, now) {
            return Err(OAuthError::invalid_client("auth_throttled"));
        }
        let hashes = candidates
            .iter()
            .map(|&i| client.secrets[i].phc.clone())
            .collect();
        match self.slow_hash.verify_any(&p.secret, hashes).await {
            Ok(Some(c)) => {
                let i = candidates[c];
                self.auth_throttle.refund(&client.client_id, source, now);
                self.secrets.remember(&client.secrets[i].id, &p.secret);
                Ok((client.clone(), matched(i)))
            }
            Ok(None) => Err(OAuthError::invalid_client("secret_mismatch")),
            Err(slow_hash::Busy) => {
                self.auth_throttle.refund(&client.client_id, source, now);
                Err(OAuthError::busy())
            }
        }
    }

    /// RFC 7523 client authentication with a JWT signed by one of the
    /// client's registered keys; each `jti` is accepted once.
    async fn authenticate_assertion(
        &self,
        assertion: &str,
        req: &TokenRequest,
        audit: &mut TokenAudit,
    ) -> Result<Authenticated, OAuthError> {
        use writ_core::grant::jwt_bearer::{self, Policy};
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
        audit.method = writ_core::grant::AUTH_CLIENT_SECRET_JWT.into();
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

    /// Federated authentication (PCA, OIDC, PKCS#7): the client and its
    /// credential are loaded here, then core's one federated check runs
    /// (`writ_core::federation::check`). Each step is recorded in `checks`
    /// (the Test credential panel shows them); `dry_run` leaves no trace (no
    /// `jti` is consumed).
    pub(crate) async fn federated(
        &self,
        client_id: &str,
        presented: &Presented<'_>,
        dry_run: bool,
        checks: &mut Vec<Check>,
    ) -> Result<Authenticated, OAuthError> {
        self.federated_with(client_id, presented, dry_run, checks, None)
            .await
    }

    /// [`Self::federated`], or, with `proposed`, the same checks against a
    /// credential built from settings not yet saved (the edit panel's dry
    /// run): the stored credential is then not read.
    pub(crate) async fn federated_with(
        &self,
        client_id: &str,
        presented: &Presented<'_>,
        dry_run: bool,
        checks: &mut Vec<Check>,
        proposed: Option<Arc<LoadedCredential>>,
    ) -> Result<Authenticated, OAuthError> {
        let client = step(
            checks,
            "client",
            self.active_client(client_id).await,
            "the client exists and is enabled",
        )?;
        let credential = match proposed {
            Some(p) => Some(p),
            None => self.federated_auth(&client.pk, presented.name).await?,
        }
        .ok_or_else(|| OAuthError::invalid_client("federated_credential_unknown"));
        let credential = step(
            checks,
            "credential",
            credential,
            "the federated credential exists",
        )?;
        let ctx = Context {
            now: self.now(),
            skew_secs: self.clock_skew_secs,
            audiences: &[&self.urls.token_endpoint, &self.urls.issuer],
            instance_id: &self.instance_id,
        };
        let verified = writ_core::federation::check::check(
            &client.client_id,
            &credential,
            presented,
            &ctx,
            self,
            checks,
        )
        .await?;
        if let Some(assertion) = &verified.single_use
            && !dry_run
        {
            self.consume_jti(&client.client_id, assertion).await?;
        }
        Ok((
            client,
            CredentialRef::Federated(credential.credential_id.clone()),
            verified.subject,
        ))
    }

    async fn federated_auth(
        &self,
        client_pk: &str,
        name: &str,
    ) -> Result<Option<Arc<LoadedCredential>>, OAuthError> {
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
                Some(Arc::new(load_credential(cred, &provider)?))
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
                    secrets: secrets
                        .into_iter()
                        .map(|s| StoredSecret {
                            id: s.id,
                            phc: s.secret_hash,
                            screen: s.screen,
                        })
                        .collect(),
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
            // A disabled resource server's audience is unknown to tokens.
            .filter(resource_server::Column::Enabled.eq(true))
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(|rs| {
                let delegation = delegation_policy(&rs);
                Arc::new(ResourceServerInfo {
                    delegation_enabled: rs.delegation_enabled,
                    delegation,
                    permissions: crate::service::json_list(&rs.permissions),
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
                let perms = crate::service::json_list(&g.permissions);
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

/// A resource server's delegation policy, compiled; `None` when off. A
/// stored expression that no longer compiles (saved before a limit
/// existed) is logged and the exchange refused, never run.
fn delegation_policy(rs: &resource_server::Model) -> Option<Arc<Delegation>> {
    use writ_core::federation::expr::{Domain, Expression, Produces};
    if !rs.delegation_enabled {
        return None;
    }
    let src = rs.delegation_permissions_expression.as_deref()?;
    match Expression::compile(src, Domain::Oidc, Produces::StringList) {
        Ok(permissions) => Some(Arc::new(Delegation {
            permissions,
            max_chain_depth: rs.delegation_max_chain_depth,
        })),
        Err(e) => {
            tracing::error!(resource_server = %rs.id, error = %e, "stored permissions_expression does not compile");
            None
        }
    }
}

/// The client, the credential that proved it, and the mapped subject.
pub(crate) type Authenticated = (Arc<ClientAuth>, CredentialRef, Option<String>);

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

/// A stored credential and its provider, compiled for the federated check.
/// Shared by the token endpoint's cache fill and the edit panel's dry run
/// on proposed settings, so both compile exactly the same way.
pub(crate) fn load_credential(
    cred: crate::entities::federated_credential::Model,
    provider: &crate::entities::federated_provider::Model,
) -> Result<LoadedCredential, OAuthError> {
    let verification =
        serde_json::from_str(&cred.verification).map_err(|_| OAuthError::server_error())?;
    let Some(kind) = writ_types::ProviderKind::parse(&cred.kind) else {
        tracing::error!(credential = %cred.id, "stored federated credential has an unknown kind");
        return Err(OAuthError::server_error());
    };
    let rules = writ_core::federation::CredentialRules::new(
                    kind,
                    verification,
                    provider.trust_condition.as_deref(),
                    cred.attribute_mapping.as_deref(),
                )
                .map_err(|e| {
                    tracing::error!(credential = %cred.id, field = e.field, "stored federation rule does not compile");
                    OAuthError::server_error()
                })?;
    Ok(LoadedCredential {
        provider_id: provider.id.clone(),
        credential_id: cred.id,
        enabled: cred.enabled,
        kind,
        provider_enabled: provider.enabled,
        trust: writ_core::federation::ProviderTrust::from_config(
            writ_types::ProviderKind::parse(&provider.kind).ok_or_else(OAuthError::server_error)?,
            &provider.config,
        )?,
        rules,
    })
}
