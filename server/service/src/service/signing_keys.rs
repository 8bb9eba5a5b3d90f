//! The keys that sign Writ's tokens, shared by every replica: sealed under
//! the master key in `signing_keys`, loaded into memory, refreshed when a
//! replica announces a change (see [`super::cluster`]), when the schedule
//! says a state changes, and at least every [`REFRESH`]. Which key signs
//! and which are published is `writ_core::key_rotation`'s rule.

use super::Writ;
use crate::entities::{setting, signing_key};
use crate::error::{Result, ServiceError};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    Set,
};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;
use writ_core::key_rotation::{self, KeyState, KeyTimes, RotationPolicy};
use writ_core::signing::{PublicJwk, SigningKey};
use writ_core::vault::Keyring;
use writ_types::SigningKeyView;

/// The longest a replica goes without rereading the keys.
const REFRESH: Duration = Duration::from_secs(60);
/// An unknown `kid` on a Writ token rereads the keys at most this often (a
/// caller inventing kids costs one indexed read per interval, no more).
const UNKNOWN_KID_RELOAD_SECS: i64 = 5;
const ALG: &str = "ES256";

fn seal_context(kid: &str) -> String {
    format!("writ signing key {kid}")
}

/// The keys as loaded: in signing order, each with its times.
/// Never empty: [`load`] answers `None` for no keys.
pub(crate) struct KeySet {
    times: Vec<KeyTimes>,
    keys: Vec<Arc<SigningKey>>,
    first: Arc<SigningKey>,
}

impl KeySet {
    fn signer(&self, now: i64) -> &Arc<SigningKey> {
        key_rotation::active_index(&self.times, now)
            .and_then(|i| self.keys.get(i))
            .unwrap_or(&self.first)
    }
}

/// The loaded keys and their schedule.
pub(crate) struct SigningKeys {
    set: RwLock<Arc<KeySet>>,
    pub(crate) policy: RotationPolicy,
    reloaded_for_unknown_kid_at: AtomicI64,
}

impl SigningKeys {
    fn current(&self) -> Arc<KeySet> {
        self.set.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn replace(&self, set: KeySet) {
        *self.set.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(set);
    }
}

async fn load(db: &DatabaseConnection, vault: &Keyring) -> Result<Option<KeySet>> {
    let mut rows = signing_key::Entity::find().all(db).await?;
    rows.sort_by(|a, b| (a.not_before, &a.kid).cmp(&(b.not_before, &b.kid)));
    let mut times = Vec::with_capacity(rows.len());
    let mut keys = Vec::with_capacity(rows.len());
    for r in rows {
        let pem = vault
            .open(&r.sealed_key, &seal_context(&r.kid))
            .map_err(|e| ServiceError::Invalid(format!("signing key {}: {e}", r.kid)))?;
        let pem = String::from_utf8(pem).map_err(|_| ServiceError::Internal)?;
        let key = SigningKey::from_pkcs8_pem(&pem)
            .map_err(|e| ServiceError::Invalid(format!("signing key {}: {e}", r.kid)))?;
        if key.kid() != r.kid {
            return Err(ServiceError::Invalid(format!(
                "signing key {}: the stored key has another thumbprint",
                r.kid
            )));
        }
        times.push(KeyTimes {
            kid: r.kid,
            not_before: r.not_before,
        });
        keys.push(Arc::new(key));
    }
    Ok(keys
        .first()
        .cloned()
        .map(|first| KeySet { times, keys, first }))
}

async fn insert_key(
    db: &DatabaseConnection,
    vault: &Keyring,
    pem: &str,
    now: i64,
    not_before: i64,
) -> Result<String> {
    let key = SigningKey::from_pkcs8_pem(pem)
        .map_err(|e| ServiceError::Invalid(format!("signing key: {e}")))?;
    let kid = key.kid().to_owned();
    signing_key::ActiveModel {
        kid: Set(kid.clone()),
        alg: Set(ALG.into()),
        sealed_key: Set(vault.seal(pem.as_bytes(), &seal_context(&kid))),
        created_at: Set(now),
        not_before: Set(not_before),
    }
    .insert(db)
    .await?;
    Ok(kid)
}

fn generate_pem() -> Result<String> {
    SigningKey::generate()
        .map(|(_, pem)| pem)
        .map_err(|e| ServiceError::Invalid(e.to_string()))
}

/// One replica wins `name` (a row in `settings`, made once); the others
/// see it taken.
async fn take_lease(db: &DatabaseConnection, name: &str, now: i64) -> bool {
    setting::ActiveModel {
        key: Set(name.into()),
        value: Set(now.to_string()),
    }
    .insert(db)
    .await
    .is_ok()
}

/// First start of a database: its first key (the data directory's old
/// `signing-key.pem` if there is one, so tokens already issued stay valid),
/// made by one replica while any others wait for it. Then the keys.
pub(crate) async fn settle(
    db: &DatabaseConnection,
    vault: &Keyring,
    legacy_pem: Option<&str>,
    policy: RotationPolicy,
    now: i64,
) -> Result<SigningKeys> {
    if signing_key::Entity::find().count(db).await? == 0 {
        if take_lease(db, "signing_keys:first", now).await {
            let pem = match legacy_pem {
                Some(p) => p.to_owned(),
                None => generate_pem()?,
            };
            insert_key(db, vault, &pem, now, now).await?;
        } else {
            for _ in 0..100 {
                if signing_key::Entity::find().count(db).await? > 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let set = load(db, vault).await?.ok_or_else(|| {
        ServiceError::Invalid(
            "no signing key: another replica took the first start and made none; restart".into(),
        )
    })?;
    Ok(SigningKeys {
        set: RwLock::new(Arc::new(set)),
        policy,
        reloaded_for_unknown_kid_at: AtomicI64::new(i64::MIN),
    })
}

impl Writ {
    /// The key that signs now.
    pub fn signing_key(&self) -> Arc<SigningKey> {
        self.keys.current().signer(self.now()).clone()
    }

    /// What JWKS publishes now: next, active and retiring keys.
    pub fn published_keys(&self) -> Vec<PublicJwk> {
        let set = self.keys.current();
        let now = self.now();
        key_rotation::states(&set.times, now, &self.keys.policy)
            .iter()
            .zip(set.keys.iter())
            .filter(|(s, _)| s.state.published())
            .map(|(_, k)| k.jwk().clone())
            .collect()
    }

    /// How long a relying party may cache JWKS: well inside the publish
    /// lead, so a next key is seen before it signs.
    pub fn jwks_max_age_secs(&self) -> i64 {
        (self.keys.policy.publish_lead_secs / 4).clamp(0, 300)
    }

    /// The published key a Writ token names in its header (`kid`), for
    /// checking Writ's own tokens. An unknown kid rereads the keys (rate
    /// limited): another replica may have just made one.
    pub(crate) async fn own_key_for(&self, token: &str) -> Arc<SigningKey> {
        let Some(kid) = SigningKey::kid_of(token) else {
            return self.signing_key();
        };
        if let Some(k) = self.published_key(&kid) {
            return k;
        }
        let now = self.now();
        let last = self
            .keys
            .reloaded_for_unknown_kid_at
            .load(Ordering::Relaxed);
        if now.saturating_sub(last) >= UNKNOWN_KID_RELOAD_SECS
            && self
                .keys
                .reloaded_for_unknown_kid_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            if let Err(e) = self.reload_signing_keys().await {
                tracing::warn!(error = %e, "rereading the signing keys");
            }
            if let Some(k) = self.published_key(&kid) {
                return k;
            }
        }
        // Not ours: the active key refuses it with the usual message.
        self.signing_key()
    }

    fn published_key(&self, kid: &str) -> Option<Arc<SigningKey>> {
        let set = self.keys.current();
        let st = key_rotation::states(&set.times, self.now(), &self.keys.policy);
        st.iter()
            .zip(set.keys.iter())
            .find(|(s, _)| s.kid == kid && s.state.published())
            .map(|(_, k)| k.clone())
    }

    /// Rereads the keys from the database (another replica rotated).
    pub async fn reload_signing_keys(&self) -> Result<()> {
        // Never an empty set: a database emptied under us keeps the keys.
        if let Some(set) = load(&self.db, &self.vault).await? {
            self.keys.replace(set);
        }
        Ok(())
    }

    /// Every signing key with its state, read from the database.
    pub async fn list_signing_keys(&self) -> Result<Vec<SigningKeyView>> {
        let rows = signing_key::Entity::find().all(&self.db).await?;
        let times: Vec<KeyTimes> = rows
            .iter()
            .map(|r| KeyTimes {
                kid: r.kid.clone(),
                not_before: r.not_before,
            })
            .collect();
        let states = key_rotation::states(&times, self.now(), &self.keys.policy);
        Ok(states
            .into_iter()
            .filter_map(|s| {
                let r = rows.iter().find(|r| r.kid == s.kid)?;
                Some(SigningKeyView {
                    kid: s.kid,
                    alg: r.alg.clone(),
                    state: state_name(s.state).into(),
                    created_at: r.created_at,
                    not_before: s.not_before,
                    retires_at: s.retires_at,
                })
            })
            .collect())
    }

    /// Makes a new key now. It is published at once and signs after the
    /// publish lead (relying parties' JWKS caches learn it first), or at
    /// once with `immediate` (the current key is compromised: tokens it
    /// signed stay valid until it retires, unless it is deleted too). With
    /// a next key already waiting and no `immediate`, that key is kept and
    /// returned: asking twice does not push the switch back.
    pub async fn rotate_signing_key(&self, immediate: bool) -> Result<SigningKeyView> {
        let now = self.now();
        if !immediate
            && let Some(next) = self
                .list_signing_keys()
                .await?
                .into_iter()
                .find(|k| k.state == state_name(KeyState::Next))
        {
            return Ok(next);
        }
        let not_before = if immediate {
            // Strictly after the key that signs now: keys with equal times
            // are ordered by kid, which could keep the old one signing. A
            // key made this very second is followed from the next one.
            let latest = self
                .keys
                .current()
                .times
                .iter()
                .map(|k| k.not_before)
                .filter(|nb| *nb <= now)
                .max();
            match latest {
                Some(l) if l >= now => l + 1,
                _ => now,
            }
        } else {
            now + self.keys.policy.publish_lead_secs
        };
        let kid = insert_key(&self.db, &self.vault, &generate_pem()?, now, not_before).await?;
        self.reload_signing_keys().await?;
        self.announcer
            .send_now(super::cluster::Change::SigningKeys)
            .await;
        tracing::info!(kid, not_before, immediate, "signing key made");
        self.list_signing_keys()
            .await?
            .into_iter()
            .find(|k| k.kid == kid)
            .ok_or(ServiceError::Internal)
    }

    /// One pass of the schedule (a background task runs it): reread the
    /// keys, make the next key when due (one replica wins the lease for
    /// it), delete retired keys. Returns when to run again.
    pub async fn maintain_signing_keys(&self) -> Result<Duration> {
        self.reload_signing_keys().await?;
        let now = self.now();
        let policy = self.keys.policy;
        let times = self.keys.current().times.clone();
        if let Some(not_before) = key_rotation::due(&times, now, &policy)
            && let Some(active) = key_rotation::active(&times, now, &policy)
            && take_lease(&self.db, &format!("signing_keys:after:{active}"), now).await
        {
            let kid = insert_key(&self.db, &self.vault, &generate_pem()?, now, not_before).await?;
            tracing::info!(kid, not_before, "scheduled signing key made");
            self.reload_signing_keys().await?;
            self.announce(super::cluster::Change::SigningKeys);
        }
        let retired: Vec<String> = key_rotation::states(&times, now, &policy)
            .into_iter()
            .filter(|s| s.state == KeyState::Retired)
            .map(|s| s.kid)
            .collect();
        if !retired.is_empty() {
            signing_key::Entity::delete_many()
                .filter(signing_key::Column::Kid.is_in(retired.clone()))
                .exec(&self.db)
                .await?;
            setting::Entity::delete_many()
                .filter(
                    setting::Column::Key.is_in(
                        retired
                            .iter()
                            .map(|k| format!("signing_keys:after:{k}"))
                            .collect::<Vec<_>>(),
                    ),
                )
                .exec(&self.db)
                .await?;
            self.reload_signing_keys().await?;
        }
        let times = self.keys.current().times.clone();
        let wait = key_rotation::next_change(&times, self.now(), &policy)
            .map(
                |t| Duration::from_secs((t - self.now()).clamp(1, REFRESH.as_secs() as i64) as u64),
            )
            .unwrap_or(REFRESH);
        Ok(wait)
    }
}

/// Runs the key schedule while the service lives.
pub(crate) fn spawn_maintenance(writ: Weak<Writ>, mut stop: tokio::sync::watch::Receiver<()>) {
    tokio::spawn(async move {
        let mut wait = Duration::from_secs(1);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
            let Some(w) = writ.upgrade() else { return };
            wait = match w.maintain_signing_keys().await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "signing key schedule");
                    Duration::from_secs(5)
                }
            };
        }
    });
}

fn state_name(s: KeyState) -> &'static str {
    match s {
        KeyState::Next => "next",
        KeyState::Active => "active",
        KeyState::Retiring => "retiring",
        KeyState::Retired => "retired",
    }
}
