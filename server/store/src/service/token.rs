//! The token endpoint's service: authenticate the client, decide the scope,
//! mint the token, and audit the outcome either way.

use super::Writ;
use crate::entities::{client, client_secret, permission_grant, resource_server};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use writ_core::audit::{Outcome, TokenAudit};
use writ_core::grant::client_auth::{presented_client, PresentedClient};
use writ_core::grant::client_credentials::{self, Audience, IssuedToken, TokenSubject};
use writ_core::scope::{Granted, ScopeRequest};
use writ_core::OAuthError;

/// The parts of a token request the service reads.
#[derive(Debug, Default, Clone)]
pub struct TokenRequest {
    pub authorization: Option<String>,
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
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
            secret_id: None,
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

    async fn token_inner(&self, req: &TokenRequest, audit: &mut TokenAudit) -> Result<IssuedToken, OAuthError> {
        match req.grant_type.as_deref() {
            Some(writ_core::grant::GRANT_CLIENT_CREDENTIALS) => {}
            None | Some("") => return Err(OAuthError::invalid_request("grant_type_missing", "grant_type is required")),
            Some(_) => {
                return Err(OAuthError::new(
                    writ_core::OAuthErrorCode::UnsupportedGrantType,
                    "grant_type_unsupported",
                    "only grant_type=client_credentials is supported",
                ));
            }
        }
        let presented = presented_client(req.authorization.as_deref(), req.client_id.as_deref(), req.client_secret.as_deref())?;
        audit.client_id = presented.client_id.chars().take(128).collect();
        audit.method = presented.method.as_str().into();
        let (client, secret_id) = self.authenticate(&presented).await?;
        audit.secret_id = Some(secret_id);

        let scope = ScopeRequest::parse(req.scope.as_deref())?;
        audit.audience = scope.audience.chars().take(256).collect();
        let rs = resource_server::Entity::find()
            .filter(resource_server::Column::Audience.eq(scope.audience.as_str()))
            .one(&self.db)
            .await
            .map_err(db_err)?
            .ok_or_else(|| OAuthError::invalid_scope("audience_unknown", "no resource server has this audience"))?;
        let grant = permission_grant::Entity::find()
            .filter(permission_grant::Column::ResourceServerId.eq(rs.id.as_str()))
            .filter(permission_grant::Column::ClientPk.eq(client.id.as_str()))
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(|g| {
                let perms = super::resource_servers::json_list(&g.permissions);
                if perms.iter().any(|p| p == ".all") { Granted::All } else { Granted::Some(perms) }
            });
        let audience = Audience {
            audience: rs.audience.clone(),
            permissions: super::resource_servers::json_list(&rs.permissions),
            token_ttl_secs: rs.token_ttl_secs,
        };
        let subject = TokenSubject { client_id: client.client_id.clone(), agent_id: client.agent_id.clone() };
        client_credentials::issue(&self.key, &self.urls.issuer, self.now(), &subject, &scope, &audience, grant.as_ref())
    }

    /// Finds the client and the enabled secret that matches. The error text is
    /// the same whatever failed; the audit reason tells them apart.
    async fn authenticate(&self, p: &PresentedClient) -> Result<(client::Model, String), OAuthError> {
        if p.client_id.len() > 128 || p.secret.len() > 512 {
            return Err(OAuthError::invalid_client("credentials_too_long"));
        }
        let client = client::Entity::find()
            .filter(client::Column::ClientId.eq(p.client_id.as_str()))
            .one(&self.db)
            .await
            .map_err(db_err)?
            .ok_or_else(|| OAuthError::invalid_client("client_unknown"))?;
        if !client.enabled {
            return Err(OAuthError::invalid_client("client_disabled"));
        }
        let secrets = client_secret::Entity::find()
            .filter(client_secret::Column::ClientPk.eq(client.id.as_str()))
            .filter(client_secret::Column::Enabled.eq(true))
            .all(&self.db)
            .await
            .map_err(db_err)?;
        if secrets.is_empty() {
            return Err(OAuthError::invalid_client("no_enabled_secret"));
        }
        for s in &secrets {
            if self.secrets.verify(&s.id, &p.secret, &s.secret_hash) {
                return Ok((client, s.id.clone()));
            }
        }
        Err(OAuthError::invalid_client("secret_mismatch"))
    }
}

fn db_err(e: sea_orm::DbErr) -> OAuthError {
    tracing::error!(error = %e, "database error at the token endpoint");
    OAuthError::server_error()
}
