//! The developer API the official PAM client calls (`/v2/{instanceId}/…`):
//! the bearer is a Writ access token for `urn:cloud:idaas:pam` issued to the
//! calling client; the client must also hold a grant for what it names.

use crate::entities::{credential, credential_grant};
use crate::service::Writ;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use writ_core::audit::{Outcome, TokenAudit};
use writ_types::errors::{Api, ErrorKind};

/// Errors of the developer API. Their HTTP status and OAuth-style `error`
/// code come from their [`ErrorKind`] (codes as [`Api::Developer`] spells them).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DevApiError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    /// A third party (an OAuth provider's token endpoint) refused or failed.
    #[error("{0}")]
    Upstream(String),
    #[error("the server could not complete the request")]
    Internal,
}

impl DevApiError {
    /// What kind of failure this is; the HTTP layer maps it to a response.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Unauthorized(_) => ErrorKind::Unauthenticated,
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::BadRequest(_) => ErrorKind::Invalid,
            Self::Upstream(_) => ErrorKind::Upstream,
            Self::Internal => ErrorKind::Internal,
        }
    }

    /// The `error` code the developer API answers with (and audits as the
    /// refusal's reason), from the one table in [`ErrorKind::code`].
    pub fn error(&self) -> &'static str {
        self.kind().code(Api::Developer)
    }
}

impl From<sea_orm::DbErr> for DevApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        tracing::error!(error = %e, "database error in the developer API");
        Self::Internal
    }
}

/// The authenticated caller of a developer API call.
#[derive(Debug, Clone)]
pub struct Caller {
    pub client_pk: String,
    pub client_id: String,
    pub jti: String,
}

fn millis(secs: i64) -> i64 {
    secs.saturating_mul(1000)
}

impl Writ {
    /// Checks the path's instance and the bearer: signed by this Writ, for
    /// `urn:cloud:idaas:pam`, unexpired, carrying `permission`, issued to a
    /// client that still exists and is enabled.
    pub(crate) fn check_instance(&self, instance_id: &str) -> Result<(), DevApiError> {
        if instance_id != self.instance_id {
            return Err(DevApiError::NotFound(format!(
                "no instance '{}' here",
                instance_id.chars().take(64).collect::<String>()
            )));
        }
        Ok(())
    }

    pub async fn developer_caller(
        &self,
        instance_id: &str,
        authorization: Option<&str>,
        permission: &str,
    ) -> Result<Caller, DevApiError> {
        self.check_instance(instance_id)?;
        let token = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                DevApiError::Unauthorized(
                    "an Authorization: Bearer <access token> header is required".into(),
                )
            })?;
        let claims = self
            .own_key_for(token)
            .await
            .verify_own(
                token,
                &self.urls.issuer,
                writ_core::PAM_AUDIENCE,
                self.now(),
                self.clock_skew_secs,
            )
            .map_err(|m| DevApiError::Unauthorized(m.into()))?;
        let s = |k: &str| {
            claims
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let wanted = format!("{}|{permission}", writ_core::PAM_AUDIENCE);
        if !s("scope").split(' ').any(|p| p == wanted) {
            return Err(DevApiError::Forbidden(format!(
                "the bearer token lacks the {wanted} permission"
            )));
        }
        // The token endpoint's cached client lookup (cleared on admin writes).
        let c = self.active_client(&s("client_id")).await.map_err(|_| {
            DevApiError::Unauthorized("the bearer token's client is unknown or disabled".into())
        })?;
        Ok(Caller {
            client_pk: c.pk.clone(),
            client_id: c.client_id.clone(),
            jti: s("jti"),
        })
    }

    /// ObtainCredential: the API key, if the caller holds a grant for it.
    /// Every call is audited, whatever its outcome.
    pub async fn obtain_credential(
        &self,
        caller: &Caller,
        identifier: &str,
        source: &str,
    ) -> Result<Value, DevApiError> {
        let result = self.obtain_credential_inner(caller, identifier).await;
        self.audit_developer_call(caller, "obtain_credential", identifier, source, &result)
            .await?;
        result
    }

    /// One audit record per developer-API call that hands out a secret,
    /// whatever its outcome (who, what, when, outcome). No audit, no answer:
    /// a secret is handed out only once its record is committed (`Err`
    /// otherwise); a refusal is recorded without waiting.
    pub(crate) async fn audit_developer_call(
        &self,
        caller: &Caller,
        method: &str,
        what: &str,
        source: &str,
        result: &Result<Value, DevApiError>,
    ) -> Result<(), DevApiError> {
        let record = TokenAudit {
            at: self.now(),
            client_id: caller.client_id.clone(),
            method: method.into(),
            audience: writ_core::PAM_AUDIENCE.into(),
            scope: what.chars().take(128).collect(),
            jti: caller.jti.clone(),
            outcome: if result.is_ok() {
                Outcome::Issued
            } else {
                Outcome::Refused
            },
            reason: match result {
                Ok(_) => "ok".into(),
                Err(e) => e.error().into(),
            },
            source: source.to_owned(),
            credential: None,
            delegation: None,
        };
        match record.outcome {
            Outcome::Refused => {
                self.audit.refused(record);
                Ok(())
            }
            Outcome::Issued => self.audit.issued(record).await.map_err(|e| {
                tracing::error!(failure = ?e, "developer API call not answered: its audit record was not committed");
                DevApiError::Internal
            }),
        }
    }

    async fn obtain_credential_inner(
        &self,
        caller: &Caller,
        identifier: &str,
    ) -> Result<Value, DevApiError> {
        let identifier = identifier.trim();
        if identifier.is_empty() || identifier.len() > 128 {
            return Err(DevApiError::BadRequest(
                "credentialIdentifier is required".into(),
            ));
        }
        let cred = credential::Entity::find()
            .filter(credential::Column::Identifier.eq(identifier))
            .one(&self.db)
            .await?
            .ok_or_else(|| {
                DevApiError::NotFound(format!("no credential has the identifier '{identifier}'"))
            })?;
        let granted = credential_grant::Entity::find()
            .filter(credential_grant::Column::CredentialId.eq(cred.id.as_str()))
            .filter(credential_grant::Column::ClientPk.eq(caller.client_pk.as_str()))
            .one(&self.db)
            .await?
            .is_some();
        if !granted {
            return Err(DevApiError::Forbidden(format!(
                "client '{}' is not granted credential '{identifier}'",
                caller.client_id
            )));
        }
        if !cred.enabled {
            return Err(DevApiError::Forbidden(format!(
                "credential '{identifier}' is disabled"
            )));
        }
        let opened = self.open_text(&cred.sealed_value, &format!("credential:{}", cred.id))?;
        let value = writ_core::credential_value::CredentialValue::from_plaintext(
            &cred.credential_type,
            opened,
        )
        .ok_or(DevApiError::Internal)?;
        Ok(json!({
            "instanceId": self.instance_id,
            "credentialId": cred.id,
            "credentialIdentifier": cred.identifier,
            "credentialName": cred.name,
            "credentialType": cred.credential_type,
            // The PAM client's labels, unchanged by the admin API's rename
            // of `saas` to `external_service`.
            "credentialScenarioLabel": writ_types::BusinessType::parse(&cred.business_type)
                .map_or(cred.business_type.as_str(), |b| b.scenario_label()),
            "credentialCreationType": "user_custom",
            "credentialSharingScope": "shared",
            "description": cred.description,
            "status": "enabled",
            "createTime": millis(cred.created_at),
            "updateTime": millis(cred.updated_at),
            "credentialContent": value.content(),
        }))
    }
}
