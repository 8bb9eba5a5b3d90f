//! Console administrators: bootstrap and password sign-in with throttling.
//! (Admin API tokens are in `admin_tokens.rs`.)
//!
//! Cheap to refuse: a sign-in runs
//! argon2 only in the bounded pool (`slow_hash`), after its throttle keys
//! (user + source, user, or source for unknown names) have been reserved
//! in the database, so concurrent guesses cannot slip past the limit and
//! every replica sees the same counts.

use crate::entities::{admin, login_throttle};
use crate::error::{Result, ServiceError};
use crate::service::{Writ, new_id};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, TransactionTrait,
};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicI64, Ordering};
use writ_core::secret;
use writ_core::throttle::source_key;

/// Where a request came from (the peer address), as the server saw it. The
/// console's router puts it in each request's extensions for the sign-in
/// server function.
#[derive(Debug, Clone)]
pub struct ClientSource(pub String);

/// Failed sign-ins allowed per key before each further attempt must wait
/// 2^(n - free) seconds (at most [`MAX_WAIT`]). A success clears the user +
/// source key and gives one attempt back to the user key.
const FREE_PER_USER_AND_SOURCE: i32 = 5;
/// A user guessed at from many addresses (a distributed attack) is slowed
/// too, at a level one address cannot reach alone.
const FREE_PER_USER: i32 = 50;
/// Unknown user names: only the source is counted (no row per made-up name).
const FREE_PER_SOURCE: i32 = 20;
const MAX_WAIT: i64 = 900;
/// Rows with no failure for this long carry nothing and are pruned.
const FORGET_AFTER: i64 = 2 * MAX_WAIT;

/// When the sign-in throttle table was last pruned (process-local: pruning
/// twice is harmless).
#[derive(Default)]
pub struct LoginThrottle {
    pruned_at: AtomicI64,
}

fn wait_after(failures: i32, free: i32) -> i64 {
    if failures < free {
        0
    } else {
        (1i64 << (failures - free).min(20)).min(MAX_WAIT)
    }
}

fn throttle_key(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    writ_core::hex::encode(&h.finalize())
}

#[derive(Debug, Clone)]
pub struct AdminIdentity {
    pub id: String,
    pub username: String,
}

impl Writ {
    /// Creates `admin` on first start. Returns the generated password when
    /// none was given, for the caller to print once.
    pub async fn bootstrap_admin(&self, password: Option<String>) -> Result<Option<String>> {
        if admin::Entity::find().count(&self.db).await? > 0 {
            return Ok(None);
        }
        let (password, generated) = match password.filter(|p| !p.is_empty()) {
            Some(p) => (p, false),
            None => (writ_core::random::token(18), true),
        };
        let hash = secret::hash(&password).map_err(|_| ServiceError::Internal)?;
        let tx = self.db.begin().await?;
        let a = admin::ActiveModel {
            id: Set(new_id()),
            username: Set("admin".into()),
            password_hash: Set(hash),
            created_at: Set(self.now()),
        }
        .insert(&tx)
        .await?;
        let after =
            serde_json::json!({"id": a.id, "username": a.username, "created_at": a.created_at});
        self.record_change(
            &tx,
            super::audit_log::Change::new("admin", "create", &a.id).after(after),
        )
        .await?;
        tx.commit().await?;
        Ok(generated.then_some(password))
    }

    /// Console sign-in from `source` (the peer address).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        source: &str,
    ) -> Result<AdminIdentity> {
        let user = username.trim();
        if user.is_empty() || user.len() > 128 || password.len() > 1024 {
            return Err(ServiceError::BadLogin);
        }
        let now = self.now();
        self.prune_login_throttle(now).await;
        let found = admin::Entity::find()
            .filter(admin::Column::Username.eq(user))
            .one(&self.db)
            .await?;
        let src = source_key(source);
        let keys = match &found {
            Some(_) => vec![
                (
                    throttle_key(&["user+source", user, &src]),
                    FREE_PER_USER_AND_SOURCE,
                ),
                (throttle_key(&["user", user]), FREE_PER_USER),
            ],
            None => vec![(throttle_key(&["source", &src]), FREE_PER_SOURCE)],
        };
        for (i, (key, free)) in keys.iter().enumerate() {
            if let Err(wait) = self.reserve_login_attempt(key, *free, now).await? {
                for (k, _) in &keys[..i] {
                    self.give_back_login_attempt(k).await?;
                }
                return Err(ServiceError::Throttled(wait));
            }
        }
        // argon2 even for unknown users, so timing does not reveal names.
        let phc = found
            .as_ref()
            .map_or(DUMMY_HASH.to_owned(), |a| a.password_hash.clone());
        let ok = match self.slow_hash.verify_any(password, vec![phc]).await {
            Ok(m) => m.is_some(),
            Err(_) => {
                for (k, _) in &keys {
                    self.give_back_login_attempt(k).await?;
                }
                return Err(ServiceError::Busy);
            }
        };
        match (ok, found) {
            (true, Some(a)) => {
                login_throttle::Entity::delete_by_id(keys[0].0.clone())
                    .exec(&self.db)
                    .await?;
                if let Some((k, _)) = keys.get(1) {
                    self.give_back_login_attempt(k).await?;
                }
                Ok(AdminIdentity {
                    id: a.id,
                    username: a.username,
                })
            }
            _ => Err(ServiceError::BadLogin),
        }
    }

    /// Counts one attempt for `key` before the password is checked, by a
    /// compare-and-set on the failure count, so two concurrent attempts (on
    /// any replica) cannot both use the last free one. `Err(wait)`: the key
    /// must wait that many seconds, and nothing was counted.
    async fn reserve_login_attempt(
        &self,
        key: &str,
        free: i32,
        now: i64,
    ) -> Result<std::result::Result<(), i64>> {
        use login_throttle::{ActiveModel, Column, Entity};
        for _ in 0..3 {
            match Entity::find_by_id(key.to_owned()).one(&self.db).await? {
                None => {
                    let row = ActiveModel {
                        key: Set(key.to_owned()),
                        failures: Set(1),
                        last_failure_at: Set(now),
                    };
                    if row.insert(&self.db).await.is_ok() {
                        return Ok(Ok(()));
                    }
                }
                Some(r) => {
                    let stale = now - r.last_failure_at > FORGET_AFTER;
                    let left = r.last_failure_at + wait_after(r.failures, free) - now;
                    if left > 0 && !stale {
                        return Ok(Err(left));
                    }
                    let next = if stale {
                        1
                    } else {
                        r.failures.saturating_add(1)
                    };
                    let done = Entity::update_many()
                        .col_expr(Column::Failures, Expr::value(next))
                        .col_expr(Column::LastFailureAt, Expr::value(now))
                        .filter(Column::Key.eq(key))
                        .filter(Column::Failures.eq(r.failures))
                        .filter(Column::LastFailureAt.eq(r.last_failure_at))
                        .exec(&self.db)
                        .await?;
                    if done.rows_affected == 1 {
                        return Ok(Ok(()));
                    }
                }
            }
        }
        // Lost the race three times: others are trying this key right now.
        Ok(Err(1))
    }

    async fn give_back_login_attempt(&self, key: &str) -> Result<()> {
        use login_throttle::{Column, Entity};
        Entity::update_many()
            .col_expr(
                Column::Failures,
                sea_orm::ExprTrait::sub(Expr::col(Column::Failures), 1),
            )
            .filter(Column::Key.eq(key))
            .filter(Column::Failures.gt(0))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Drops rows with no failure for [`FORGET_AFTER`] (at most once a minute).
    async fn prune_login_throttle(&self, now: i64) {
        let last = self.throttle.pruned_at.load(Ordering::Relaxed);
        if now - last < 60
            || self
                .throttle
                .pruned_at
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let r = login_throttle::Entity::delete_many()
            .filter(login_throttle::Column::LastFailureAt.lt(now - FORGET_AFTER))
            .exec(&self.db)
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "could not prune the sign-in throttle");
        }
    }

    pub async fn admin_by_id(&self, id: &str) -> Result<Option<AdminIdentity>> {
        Ok(admin::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .map(|a| AdminIdentity {
                id: a.id,
                username: a.username,
            }))
    }
}

/// argon2id of a random value: verifying against it costs what a real check costs.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$K3LqD4jsdnqv3MZ1Pp0kTtFyr8b4zYTVbGkD/8Yk4M8";

#[cfg(test)]
mod tests {
    use super::wait_after;

    #[test]
    fn waits_double_after_the_free_attempts_up_to_fifteen_minutes() {
        assert_eq!(wait_after(4, 5), 0);
        assert_eq!(wait_after(5, 5), 1);
        assert_eq!(wait_after(6, 5), 2);
        assert_eq!(wait_after(14, 5), 512);
        assert_eq!(wait_after(15, 5), 900);
        assert_eq!(wait_after(i32::MAX, 5), 900);
    }
}
