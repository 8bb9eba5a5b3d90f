//! The vault's master key at start (refuse a key that does not open what
//! this database sealed; never overwrite) and online re-wrapping after a
//! rotation.

use super::Writ;
use crate::entities::{
    authentication_token, client_secret, credential, credential_provider, oauth_session,
    oauth_token, setting,
};
use crate::error::{Result, ServiceError};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use writ_core::vault::{Keyring, VaultError};

const CHECK_KEY: &str = "master_key_check";
const CHECK_CONTEXT: &str = "writ master key check";

/// First start: seal a check value. Later: the keyring must open it.
pub(crate) async fn settle_master_key(db: &DatabaseConnection, ring: &Keyring) -> Result<()> {
    match setting::Entity::find_by_id(CHECK_KEY).one(db).await? {
        None => {
            setting::ActiveModel {
                key: Set(CHECK_KEY.into()),
                value: Set(ring.seal(b"writ", CHECK_CONTEXT)),
            }
            .insert(db)
            .await?;
            Ok(())
        }
        Some(s) => match ring.open(&s.value, CHECK_CONTEXT) {
            Ok(_) => Ok(()),
            Err(e) => Err(ServiceError::Invalid(format!(
                "the master key does not open this database's sealed secrets ({}; this Writ has master key {}). \
                 Start with the key the data was sealed with (WRIT_MASTER_KEY, WRIT_MASTER_KEY_FILE or <data dir>/master.key). \
                 To rotate, make the new key primary and list the old one in WRIT_PREVIOUS_MASTER_KEYS, then re-wrap.",
                match e {
                    VaultError::UnknownMasterKey(id) =>
                        format!("they were sealed with master key {id}"),
                    other => other.to_string(),
                },
                ring.primary_id()
            ))),
        },
    }
}

/// What a re-wrap did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RewrapReport {
    pub rewrapped: usize,
    pub already_current: usize,
}

impl Writ {
    pub fn master_key_id(&self) -> &str {
        self.vault.primary_id()
    }

    /// Moves every sealed record to the primary master key (data keys are
    /// re-wrapped; ciphertexts and plaintexts are untouched). Safe to run
    /// again, and while Writ serves: each row is updated on its own.
    pub async fn rewrap_sealed(&self) -> Result<RewrapReport> {
        let mut report = RewrapReport {
            rewrapped: 0,
            already_current: 0,
        };
        let secrets = client_secret::Entity::find()
            .filter(client_secret::Column::SealedSecret.is_not_null())
            .all(&self.db)
            .await?;
        for s in secrets {
            let what = format!("client secret {}", s.id);
            if let Some(new) = self.rewrap_one(s.sealed_secret.as_deref(), &what, &mut report)? {
                let mut am: client_secret::ActiveModel = s.into();
                am.sealed_secret = Set(Some(new));
                am.update(&self.db).await?;
            }
        }
        for c in credential::Entity::find().all(&self.db).await? {
            let what = format!("credential {}", c.identifier);
            if let Some(new) = self.rewrap_one(Some(&c.sealed_value), &what, &mut report)? {
                let mut am: credential::ActiveModel = c.into();
                am.sealed_value = Set(new);
                am.update(&self.db).await?;
            }
        }
        for p in credential_provider::Entity::find().all(&self.db).await? {
            let what = format!("credential provider {}", p.identifier);
            if let Some(new) = self.rewrap_one(Some(&p.sealed_key), &what, &mut report)? {
                let mut am: credential_provider::ActiveModel = p.into();
                am.sealed_key = Set(new);
                am.update(&self.db).await?;
            }
        }
        for t in authentication_token::Entity::find().all(&self.db).await? {
            let what = format!("authentication token {}", t.id);
            if let Some(new) = self.rewrap_one(Some(&t.sealed_jwt), &what, &mut report)? {
                let mut am: authentication_token::ActiveModel = t.into();
                am.sealed_jwt = Set(new);
                am.update(&self.db).await?;
            }
        }
        for t in oauth_token::Entity::find().all(&self.db).await? {
            let what = format!("OAuth token {}", t.id);
            let access = self.rewrap_one(Some(&t.sealed_access_token), &what, &mut report)?;
            let refresh = self.rewrap_one(t.sealed_refresh_token.as_deref(), &what, &mut report)?;
            if access.is_some() || refresh.is_some() {
                let mut am: oauth_token::ActiveModel = t.into();
                if let Some(a) = access {
                    am.sealed_access_token = Set(a);
                }
                if let Some(r) = refresh {
                    am.sealed_refresh_token = Set(Some(r));
                }
                am.update(&self.db).await?;
            }
        }
        for s in oauth_session::Entity::find().all(&self.db).await? {
            let what = format!("OAuth session {}", s.id);
            if let Some(new) = self.rewrap_one(Some(&s.sealed_verifier), &what, &mut report)? {
                let mut am: oauth_session::ActiveModel = s.into();
                am.sealed_verifier = Set(new);
                am.update(&self.db).await?;
            }
        }
        if let Some(check) = setting::Entity::find_by_id(CHECK_KEY).one(&self.db).await?
            && let Some(new) = self
                .vault
                .rewrap(&check.value)
                .map_err(|e| ServiceError::Invalid(e.to_string()))?
        {
            let mut am: setting::ActiveModel = check.into();
            am.value = Set(new);
            am.update(&self.db).await?;
        }
        self.changed();
        Ok(report)
    }

    /// One sealed value moved to the primary key (`None`: nothing to do).
    fn rewrap_one(
        &self,
        sealed: Option<&str>,
        what: &str,
        report: &mut RewrapReport,
    ) -> Result<Option<String>> {
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let new = self
            .vault
            .rewrap(sealed)
            .map_err(|e| ServiceError::Invalid(format!("{what}: {e}")))?;
        match new {
            None => report.already_current += 1,
            Some(_) => report.rewrapped += 1,
        }
        Ok(new)
    }

    /// Opens a sealed text value for the developer API (API keys, provider
    /// keys and secrets, minted JWTs, OAuth tokens). A value that does not
    /// open is a server fault, logged without the value.
    pub(crate) fn open_text(
        &self,
        sealed: &str,
        purpose: &str,
    ) -> std::result::Result<String, super::DevApiError> {
        let v = self.vault.open(sealed, purpose).map_err(|e| {
            tracing::error!(purpose, error = %e, "a sealed value does not open");
            super::DevApiError::Internal
        })?;
        String::from_utf8(v).map_err(|_| super::DevApiError::Internal)
    }

    /// Opens a sealed client secret (for client_secret_jwt checks).
    pub(crate) fn open_client_secret(&self, secret_id: &str, sealed: &str) -> Option<Vec<u8>> {
        self.vault
            .open(sealed, &format!("client_secret:{secret_id}"))
            .ok()
    }
}
