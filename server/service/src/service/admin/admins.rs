//! Console administrators: bootstrap, password sign-in with throttling, and
//! admin API tokens.

use crate::entities::{admin, admin_token};
use crate::error::{Result, ServiceError};
use crate::service::{Writ, new_id};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use std::collections::HashMap;
use std::sync::Mutex;
use writ_core::secret;

/// Failed sign-ins per user name: after 5 failures, each further attempt
/// must wait 2^(n-5) seconds, capped at 15 minutes. A success resets it.
#[derive(Default)]
pub struct LoginThrottle(Mutex<HashMap<String, (u32, i64)>>);

impl LoginThrottle {
    const FREE_ATTEMPTS: u32 = 5;
    const MAX_WAIT: i64 = 900;

    fn wait(&self, user: &str, now: i64) -> Option<i64> {
        let map = self.0.lock().ok()?;
        let (fails, last) = *map.get(user)?;
        if fails < Self::FREE_ATTEMPTS {
            return None;
        }
        let wait = (1i64 << (fails - Self::FREE_ATTEMPTS).min(20)).min(Self::MAX_WAIT);
        let left = last + wait - now;
        (left > 0).then_some(left)
    }
    fn fail(&self, user: &str, now: i64) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() > 10_000 {
                map.clear(); // bound memory under a spray of user names
            }
            let e = map.entry(user.to_owned()).or_insert((0, now));
            e.0 += 1;
            e.1 = now;
        }
    }
    fn succeed(&self, user: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(user);
        }
    }
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
        admin::ActiveModel {
            id: Set(new_id()),
            username: Set("admin".into()),
            password_hash: Set(hash),
            created_at: Set(self.now()),
        }
        .insert(&self.db)
        .await?;
        Ok(generated.then_some(password))
    }

    /// Stores `WRIT_BOOTSTRAP_ADMIN_TOKEN` (hashed) the first time it is seen.
    pub async fn bootstrap_admin_token(&self, token: &str) -> Result<()> {
        if token.len() < 16 {
            return Err(ServiceError::Invalid(
                "WRIT_BOOTSTRAP_ADMIN_TOKEN must be at least 16 characters".into(),
            ));
        }
        let existing = admin_token::Entity::find()
            .filter(admin_token::Column::Name.eq("bootstrap"))
            .one(&self.db)
            .await?;
        if existing.is_some() {
            return Ok(());
        }
        let hash = secret::hash(token).map_err(|_| ServiceError::Internal)?;
        admin_token::ActiveModel {
            id: Set(new_id()),
            name: Set("bootstrap".into()),
            token_hash: Set(hash),
            created_at: Set(self.now()),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    pub async fn verify_admin_token(&self, token: &str) -> Result<bool> {
        if token.is_empty() || token.len() > 512 {
            return Ok(false);
        }
        let tokens = admin_token::Entity::find().all(&self.db).await?;
        Ok(tokens.iter().any(|t| {
            self.secrets
                .verify(&format!("admin_token:{}", t.id), token, &t.token_hash)
        }))
    }

    pub async fn login(&self, username: &str, password: &str) -> Result<AdminIdentity> {
        let now = self.now();
        let user = username.trim();
        if let Some(wait) = self.throttle.wait(user, now) {
            return Err(ServiceError::Throttled(wait));
        }
        let found = admin::Entity::find()
            .filter(admin::Column::Username.eq(user))
            .one(&self.db)
            .await?;
        // Run argon2 even for unknown users so timing does not reveal names.
        let ok = match &found {
            Some(a) => secret::verify(password, &a.password_hash),
            None => {
                let _ = secret::verify(password, DUMMY_HASH);
                false
            }
        };
        match (ok, found) {
            (true, Some(a)) => {
                self.throttle.succeed(user);
                Ok(AdminIdentity {
                    id: a.id,
                    username: a.username,
                })
            }
            _ => {
                self.throttle.fail(user, now);
                Err(ServiceError::BadLogin)
            }
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
    use super::LoginThrottle;

    #[test]
    fn throttle_after_five_failures_and_reset_on_success() {
        let t = LoginThrottle::default();
        for _ in 0..5 {
            assert!(t.wait("admin", 100).is_none());
            t.fail("admin", 100);
        }
        assert_eq!(t.wait("admin", 100), Some(1));
        t.fail("admin", 100);
        assert_eq!(t.wait("admin", 100), Some(2));
        assert!(t.wait("admin", 103).is_none());
        assert!(t.wait("other", 100).is_none());
        t.succeed("admin");
        assert!(t.wait("admin", 100).is_none());
    }
}
