//! Admin API tokens: the `WRIT_BOOTSTRAP_ADMIN_TOKEN` one, tokens made
//! through the API (shown once, kept only as a keyed digest, optional
//! expiry), their verification on every admin API request, and revocation.
//!
//! Cheap to refuse: a token is found by its keyed digest (one HMAC and one
//! indexed query, whatever the token), never by a slow hash per stored row.
//! Nothing is cached in memory: every request reads the row, so a revoke
//! or an expiry takes effect at once, on every replica.
//!
//! Revoking keeps the row as a tombstone (`revoked_at`, hidden from the
//! list, never accepted). That is what makes revoking the bootstrap token
//! through the API stick: a restart with the same `WRIT_BOOTSTRAP_ADMIN_TOKEN`
//! finds the tombstone and does not bring the value back; a new value in the
//! variable makes a new bootstrap token.

use crate::entities::admin_token;
use crate::error::{Result, ServiceError};
use crate::service::admin::audit_log::{Change, snapshot, with_field};
use crate::service::{Writ, new_id};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use subtle::ConstantTimeEq;
use writ_core::admin_token::{self as rules, BOOTSTRAP_NAME};
use writ_core::secret;
use writ_types::{AdminTokenView, NewAdminToken, NewAdminTokenCreated};

/// The scheme marker stored in `token_hash` for digest-checked tokens.
const DIGEST_SCHEME: &str = "hmac-sha256-v1";
/// `last_used_at` is written at most this often per token: one write a
/// minute, not one per request.
const LAST_USED_GRANULARITY: i64 = 60;
/// Longer than any id Writ makes (a UUID): refused before any query.
const MAX_ID_LEN: usize = 64;

/// A live admin API token, as its caller is named in the admin change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminTokenIdentity {
    pub id: String,
    pub name: String,
}

fn view(m: admin_token::Model) -> AdminTokenView {
    AdminTokenView {
        bootstrap: m.name == BOOTSTRAP_NAME,
        id: m.id,
        name: m.name,
        created_at: m.created_at,
        expires_at: m.expires_at,
        last_used_at: m.last_used_at,
    }
}

impl Writ {
    /// Stores `WRIT_BOOTSTRAP_ADMIN_TOKEN` (as its keyed digest). A changed
    /// value replaces the stored one: the environment is the truth, except
    /// that a value revoked through the API stays revoked.
    pub async fn bootstrap_admin_token(&self, token: &str) -> Result<()> {
        if token.len() < 16 || token.len() > 512 {
            return Err(ServiceError::Invalid(
                "WRIT_BOOTSTRAP_ADMIN_TOKEN must be 16 to 512 characters".into(),
            ));
        }
        let digest = secret::token_digest(&self.token_digest_key, token);
        let same = admin_token::Entity::find()
            .filter(admin_token::Column::TokenDigest.eq(digest.as_str()))
            .one(&self.db)
            .await?;
        match same {
            Some(t) if t.revoked_at.is_some() => {
                tracing::warn!(
                    "WRIT_BOOTSTRAP_ADMIN_TOKEN holds a value that was revoked through the admin API: it stays revoked; set a new value to get a bootstrap token again"
                );
                return Ok(());
            }
            // Already stored (as the bootstrap, or, against all odds, as a
            // token made through the API): nothing to change.
            Some(_) => return Ok(()),
            None => {}
        }
        let existing = admin_token::Entity::find()
            .filter(admin_token::Column::Name.eq(BOOTSTRAP_NAME))
            .filter(admin_token::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?;
        match existing {
            Some(t) => {
                let legacy = t.token_digest.is_none();
                let change =
                    Change::new("admin_token", "update", &t.id).before(snapshot(&view(t.clone())));
                let mut am: admin_token::ActiveModel = t.into();
                am.token_hash = Set(DIGEST_SCHEME.into());
                am.token_digest = Set(Some(digest));
                let tx = self.db.begin().await?;
                let t = am.update(&tx).await?;
                // A new value, by the environment (the actor is Writ itself).
                self.record_change(&tx, change.after(snapshot(&view(t))))
                    .await?;
                tx.commit().await?;
                if !legacy {
                    tracing::info!(
                        "WRIT_BOOTSTRAP_ADMIN_TOKEN changed: the bootstrap admin token was replaced"
                    );
                }
            }
            None => {
                let tx = self.db.begin().await?;
                self.insert_admin_token(&tx, BOOTSTRAP_NAME.into(), digest, None)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Inserts a token and records its creation, on `db` (a transaction).
    async fn insert_admin_token<C: ConnectionTrait>(
        &self,
        db: &C,
        name: String,
        digest: String,
        expires_at: Option<i64>,
    ) -> Result<admin_token::Model> {
        let m = admin_token::ActiveModel {
            id: Set(new_id()),
            name: Set(name),
            token_hash: Set(DIGEST_SCHEME.into()),
            token_digest: Set(Some(digest)),
            created_at: Set(self.now()),
            expires_at: Set(expires_at),
            last_used_at: Set(None),
            revoked_at: Set(None),
        }
        .insert(db)
        .await?;
        self.record_change(
            db,
            Change::new("admin_token", "create", &m.id).after(snapshot(&view(m.clone()))),
        )
        .await?;
        Ok(m)
    }

    /// A new admin API token: 256 random bits, stored as its keyed digest
    /// only. The value is in the answer, and nowhere else.
    pub async fn create_admin_token(&self, input: NewAdminToken) -> Result<NewAdminTokenCreated> {
        let name = rules::parse_name(&input.name)?;
        let expires_at = rules::expires_at(self.now(), input.expires_in_seconds)?;
        let token = rules::generate();
        let digest = secret::token_digest(&self.token_digest_key, &token);
        let tx = self.db.begin().await?;
        let m = self
            .insert_admin_token(&tx, name.into_inner(), digest, expires_at)
            .await?;
        tx.commit().await?;
        Ok(NewAdminTokenCreated { id: m.id, token })
    }

    /// Live (not revoked) tokens, oldest first; expired ones are listed too,
    /// so they can be seen and revoked. Never a value or a digest.
    pub async fn list_admin_tokens(&self) -> Result<Vec<AdminTokenView>> {
        Ok(admin_token::Entity::find()
            .filter(admin_token::Column::RevokedAt.is_null())
            .order_by_asc(admin_token::Column::CreatedAt)
            .order_by_asc(admin_token::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    /// Revokes a token at once (nothing caches tokens). The bootstrap token
    /// may be revoked too, and stays revoked across restarts while
    /// `WRIT_BOOTSTRAP_ADMIN_TOKEN` keeps the same value.
    pub async fn revoke_admin_token(&self, id: &str) -> Result<()> {
        if id.is_empty() || id.len() > MAX_ID_LEN {
            return Err(ServiceError::NotFound("admin token"));
        }
        let found = admin_token::Entity::find_by_id(id.to_owned())
            .filter(admin_token::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?
            .ok_or(ServiceError::NotFound("admin token"))?;
        // Conditional on still being live: of two concurrent revokes, one
        // answers 204 and the other 404, as if they had come in turn.
        let now = self.now();
        let tx = self.db.begin().await?;
        let done = admin_token::Entity::update_many()
            .col_expr(admin_token::Column::RevokedAt, Expr::value(now))
            .filter(admin_token::Column::Id.eq(id))
            .filter(admin_token::Column::RevokedAt.is_null())
            .exec(&tx)
            .await?;
        if done.rows_affected == 0 {
            return Err(ServiceError::NotFound("admin token"));
        }
        let before = snapshot(&view(found.clone()));
        let after = with_field(before.clone(), "revoked_at", now);
        self.record_change(
            &tx,
            Change::new("admin_token", "revoke", id)
                .before(before)
                .after(after),
        )
        .await?;
        tx.commit().await?;
        if found.name == BOOTSTRAP_NAME {
            tracing::info!(
                "the bootstrap admin token was revoked; it stays revoked after a restart with the same WRIT_BOOTSTRAP_ADMIN_TOKEN"
            );
        }
        Ok(())
    }

    /// Whether `token` is a live admin API token: one HMAC and one indexed
    /// lookup, so a bogus bearer token costs next to nothing. Revocation and
    /// expiry are read from the row on every call.
    pub async fn verify_admin_token(&self, token: &str) -> Result<bool> {
        Ok(self.authenticate_admin_token(token).await?.is_some())
    }

    /// The live admin API token `token` is (see [`Self::verify_admin_token`]):
    /// its id and name name the caller in the admin change log.
    pub async fn authenticate_admin_token(
        &self,
        token: &str,
    ) -> Result<Option<AdminTokenIdentity>> {
        if token.is_empty() || token.len() > 512 {
            return Ok(None);
        }
        let digest = secret::token_digest(&self.token_digest_key, token);
        let found = admin_token::Entity::find()
            .filter(admin_token::Column::TokenDigest.eq(digest.as_str()))
            .one(&self.db)
            .await?;
        let Some(t) = found else {
            return Ok(None);
        };
        let matches = t
            .token_digest
            .as_deref()
            .is_some_and(|d| bool::from(d.as_bytes().ct_eq(digest.as_bytes())));
        let now = self.now();
        if !matches || t.revoked_at.is_some() || !rules::is_live(t.expires_at, now) {
            return Ok(None);
        }
        self.note_admin_token_use(&t, now).await;
        Ok(Some(AdminTokenIdentity {
            id: t.id,
            name: t.name,
        }))
    }

    /// Records `last_used_at`, at most once a [`LAST_USED_GRANULARITY`]. A
    /// failed write only costs the record: the request goes on.
    async fn note_admin_token_use(&self, t: &admin_token::Model, now: i64) {
        if t.last_used_at
            .is_some_and(|at| now - at < LAST_USED_GRANULARITY)
        {
            return;
        }
        let r = admin_token::Entity::update_many()
            .col_expr(admin_token::Column::LastUsedAt, Expr::value(now))
            .filter(admin_token::Column::Id.eq(t.id.as_str()))
            .exec(&self.db)
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "could not record an admin token's last use");
        }
    }
}
