//! The vault's master key at start (refuse a key that does not open what
//! this database sealed; never overwrite) and online re-wrapping after a
//! rotation.

use super::Writ;
use crate::entities::{client_secret, credential, setting};
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
            let Some(sealed) = s.sealed_secret.clone() else {
                continue;
            };
            match self
                .vault
                .rewrap(&sealed)
                .map_err(|e| ServiceError::Invalid(format!("client secret {}: {e}", s.id)))?
            {
                None => report.already_current += 1,
                Some(new) => {
                    let mut am: client_secret::ActiveModel = s.into();
                    am.sealed_secret = Set(Some(new));
                    am.update(&self.db).await?;
                    report.rewrapped += 1;
                }
            }
        }
        for c in credential::Entity::find().all(&self.db).await? {
            match self
                .vault
                .rewrap(&c.sealed_value)
                .map_err(|e| ServiceError::Invalid(format!("credential {}: {e}", c.identifier)))?
            {
                None => report.already_current += 1,
                Some(new) => {
                    let mut am: credential::ActiveModel = c.into();
                    am.sealed_value = Set(new);
                    am.update(&self.db).await?;
                    report.rewrapped += 1;
                }
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

    /// Opens a sealed client secret (for client_secret_jwt checks).
    pub(crate) fn open_client_secret(&self, secret_id: &str, sealed: &str) -> Option<Vec<u8>> {
        self.vault
            .open(sealed, &format!("client_secret:{secret_id}"))
            .ok()
    }
}
