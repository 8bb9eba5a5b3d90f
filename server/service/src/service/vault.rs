//! The vault's master key at start (refuse a key that does not open what
//! this database sealed; never overwrite) and online re-wrapping after a
//! rotation.

use super::Writ;
use crate::entities::setting;
use crate::error::{Result, ServiceError};
use sea_orm::sea_query::Expr;
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

const DIGEST_KEY: &str = "token_digest_key";
const DIGEST_CONTEXT: &str = "writ token digest key";

/// The key of admin API token digests: 32 random bytes made on first start,
/// sealed under the master key in `settings`, so every replica given the
/// same master key computes the same digests.
pub(crate) async fn settle_token_digest_key(
    db: &DatabaseConnection,
    ring: &Keyring,
) -> Result<[u8; 32]> {
    let bytes = match setting::Entity::find_by_id(DIGEST_KEY).one(db).await? {
        Some(s) => ring
            .open(&s.value, DIGEST_CONTEXT)
            .map_err(|e| ServiceError::Invalid(format!("the token digest key: {e}")))?,
        None => {
            let key = writ_core::random::bytes(32);
            let row = setting::ActiveModel {
                key: Set(DIGEST_KEY.into()),
                value: Set(ring.seal(&key, DIGEST_CONTEXT)),
            };
            // Another replica may have made it first: then use theirs.
            match row.insert(db).await {
                Ok(_) => key,
                Err(_) => {
                    let s = setting::Entity::find_by_id(DIGEST_KEY)
                        .one(db)
                        .await?
                        .ok_or(ServiceError::Internal)?;
                    ring.open(&s.value, DIGEST_CONTEXT)
                        .map_err(|e| ServiceError::Invalid(format!("the token digest key: {e}")))?
                }
            }
        }
    };
    bytes.try_into().map_err(|_| ServiceError::Internal)
}

/// What a re-wrap did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RewrapReport {
    pub rewrapped: usize,
    pub already_current: usize,
    /// Rows changed by someone else between the read and the write: left
    /// as they are (their new value was sealed under the primary key).
    pub changed_meanwhile: usize,
    /// Values no key of this ring opens (logged with their row; the rest
    /// went on). A later run, with the right key listed, picks them up.
    pub failed: usize,
}

/// Every sealed column: (table, column, the rows' key column).
const SEALED_COLUMNS: &[(&str, &str, &str)] = &[
    ("client_secrets", "sealed_secret", "id"),
    ("credentials", "sealed_value", "id"),
    ("credential_providers", "sealed_key", "id"),
    ("authentication_tokens", "sealed_jwt", "id"),
    ("oauth_tokens", "sealed_access_token", "id"),
    ("oauth_tokens", "sealed_refresh_token", "id"),
    ("oauth_sessions", "sealed_verifier", "id"),
    ("signing_keys", "sealed_key", "kid"),
];
/// Rows read per page: memory stays flat whatever the table size.
const PAGE: u64 = 500;

impl Writ {
    pub fn master_key_id(&self) -> &str {
        self.vault.primary_id()
    }

    /// Moves every sealed value to the primary master key (data keys are
    /// re-wrapped; ciphertexts and plaintexts are untouched), row by row,
    /// page by page, while Writ serves. Each write is a compare-and-set on
    /// the sealed value read, so an edit made meanwhile is never reverted;
    /// a value that does not open is counted and skipped, not fatal. Safe to
    /// run again: it resumes where values are not yet current.
    pub async fn rewrap_sealed(&self) -> Result<RewrapReport> {
        let mut report = RewrapReport {
            rewrapped: 0,
            already_current: 0,
            changed_meanwhile: 0,
            failed: 0,
        };
        for (table, column, key) in SEALED_COLUMNS {
            self.rewrap_column(table, column, key, &mut report).await?;
        }
        for key in [DIGEST_KEY, CHECK_KEY] {
            if let Some(row) = setting::Entity::find_by_id(key).one(&self.db).await?
                && let Some(new) = self
                    .vault
                    .rewrap(&row.value)
                    .map_err(|e| ServiceError::Invalid(e.to_string()))?
            {
                setting::Entity::update_many()
                    .col_expr(setting::Column::Value, Expr::value(new))
                    .filter(setting::Column::Key.eq(key))
                    .filter(setting::Column::Value.eq(row.value))
                    .exec(&self.db)
                    .await?;
            }
        }
        self.changed();
        // Recorded once it is done (it is many transactions, not one).
        use crate::service::admin::audit_log::{Change, snapshot};
        self.record_change(
            &self.db,
            Change::new("master_key", "rewrap", self.vault.primary_id()).after(snapshot(&report)),
        )
        .await?;
        Ok(report)
    }

    async fn rewrap_column(
        &self,
        table: &str,
        column: &str,
        key_column: &str,
        report: &mut RewrapReport,
    ) -> Result<()> {
        use sea_orm::sea_query::{Alias, Order, Query};
        use sea_orm::{ConnectionTrait, ExprTrait};
        let (t, c, id) = (
            Alias::new(table),
            Alias::new(column),
            Alias::new(key_column),
        );
        let mut after = String::new();
        loop {
            let select = Query::select()
                .columns([id.clone(), c.clone()])
                .from(t.clone())
                .and_where(Expr::col(id.clone()).gt(after.clone()))
                .and_where(Expr::col(c.clone()).is_not_null())
                .order_by(id.clone(), Order::Asc)
                .limit(PAGE)
                .to_owned();
            let rows = self.db.query_all(&select).await?;
            if rows.is_empty() {
                return Ok(());
            }
            for row in &rows {
                let row_id: String = row.try_get("", key_column)?;
                let sealed: String = row.try_get("", column)?;
                after.clone_from(&row_id);
                let new = match self.vault.rewrap(&sealed) {
                    Ok(None) => {
                        report.already_current += 1;
                        continue;
                    }
                    Ok(Some(new)) => new,
                    Err(e) => {
                        tracing::error!(table, column, row = %row_id, error = %e, "cannot re-wrap a sealed value");
                        report.failed += 1;
                        continue;
                    }
                };
                let update = Query::update()
                    .table(t.clone())
                    .value(c.clone(), new)
                    .and_where(Expr::col(id.clone()).eq(row_id.clone()))
                    .and_where(Expr::col(c.clone()).eq(sealed))
                    .to_owned();
                let done = self.db.execute(&update).await?;
                if done.rows_affected() == 1 {
                    report.rewrapped += 1;
                } else {
                    report.changed_meanwhile += 1;
                }
            }
            if (rows.len() as u64) < PAGE {
                return Ok(());
            }
        }
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
