//! [`Writ`]: the services the console and the HTTP API share.

//!
//! Split by who calls it: [`token`] is the token endpoint's hot path (client
//! lookup and hot cache, replay guard, remote OIDC keys, audit batching);
//! [`admin`] is what the console and the admin API change; [`developer`] is
//! the developer API that workloads call with a Writ token. [`outbound`]
//! (HTTP to third parties) and [`vault`] (the master key) serve all three.

pub mod admin;
mod cluster;
pub mod console_sessions;
pub mod developer;
mod health;
pub mod metrics;
mod outbound;
pub mod signing_keys;
pub(crate) mod slow_hash;
pub mod token;
mod vault;

use crate::entities::setting;
use crate::error::Result;
use sea_orm::{ActiveModelTrait, ConnectOptions, Database, DatabaseConnection, EntityTrait, Set};
use std::sync::Arc;
use writ_core::Clock;
use writ_core::discovery::IssuerUrls;
use writ_core::secret::VerifiedCache;
use writ_migrations::MigratorTrait;

pub use admin::admins::{ClientSource, LoginThrottle};
pub use admin::audit_log::{Actor, ActorKind};
pub use developer::dev_tokens::TokenQuery;
pub use developer::developer_api::{Caller, DevApiError};
pub use developer::oauth_flows::CallbackOutcome;
pub use health::Readiness;
pub use token::TokenRequest;
pub use token::audit::AuditSink;

/// What the server decides at start and hands to the service layer.
pub struct WritOptions {
    pub database_url: String,
    pub public_url: String,
    /// `WRIT_INSTANCE_ID`; else the stored one; else a new `idaas_…`.
    pub instance_id: Option<String>,
    /// The data directory's `signing-key.pem` from before keys moved into
    /// the database: imported as the first key of a new database.
    pub legacy_signing_key_pem: Option<String>,
    /// When signing keys rotate (`WRIT_SIGNING_KEY_ROTATION_DAYS`,
    /// `WRIT_SIGNING_KEY_PUBLISH_LEAD_SECS`).
    pub key_policy: writ_core::key_rotation::RotationPolicy,
    pub tls_sha1_fingerprint: Option<String>,
    /// The top certificate of the served chain (RAM's Get Fingerprint).
    pub ram_fingerprint: Option<writ_core::tls::ChainTop>,
    pub clock: Arc<dyn Clock>,
    /// Allowed clock difference for client assertions (seconds).
    pub clock_skew_secs: i64,
    /// Master keys of the vault (the primary seals; older ones still open).
    pub master_keys: writ_core::vault::Keyring,
    /// Least time between two JWKS fetches for one provider (key rotation
    /// refetches on an unknown `kid`, but no more often than this).
    pub jwks_refetch_secs: i64,
    /// `WRIT_AUDIT_RETENTION_DAYS`: audit rows older than this many days
    /// are deleted in the background; 0 keeps them for ever.
    pub audit_retention_days: i64,
}

pub struct Writ {
    db: DatabaseConnection,
    instance_id: String,
    public_url: String,
    urls: IssuerUrls,
    keys: signing_keys::SigningKeys,
    /// Tells other replicas what this one changed (PostgreSQL only).
    announcer: cluster::Announcer,
    /// Dropped with the service: stops its background listeners.
    _stop: tokio::sync::watch::Sender<()>,
    session_prune: console_sessions::SessionPrune,
    tls_sha1_fingerprint: Option<String>,
    ram_fingerprint: Option<writ_core::tls::ChainTop>,
    secrets: VerifiedCache,
    /// argon2 runs here, off the async workers (bounded threads and queue).
    slow_hash: slow_hash::SlowHashPool,
    verify_once: token::verify_once::VerifyOnce,
    auth_throttle: token::auth_throttle::AuthThrottle,
    /// Key of admin API token digests (random, sealed in `settings`).
    token_digest_key: [u8; 32],
    throttle: LoginThrottle,
    audit: AuditSink,
    clock: Arc<dyn Clock>,
    clock_skew_secs: i64,
    jwks_refetch_secs: i64,
    hot: token::hot_cache::HotCache,
    replay: token::replay::ReplayGuard,
    jwks: token::remote_keys::JwksCache,
    vault: writ_core::vault::Keyring,
    /// What `/metrics` shows (this instance's own registry).
    metrics: metrics::Metrics,
    /// The last readiness check, reused for a moment (see `readiness`).
    ready: health::ReadyCache,
}

impl Writ {
    /// Connects, applies migrations, settles the instance id and the built-in
    /// resource server, and starts the audit writer. Needs a Tokio runtime.
    pub async fn open(opts: WritOptions) -> Result<Arc<Self>> {
        // SQLite has one writer and a page cache per connection: a few
        // connections serve it best and keep memory low.
        let sqlite = opts.database_url.starts_with("sqlite:");
        let db = Database::connect(Self::connect_options(
            &opts.database_url,
            if sqlite { 4 } else { 16 },
        ))
        .await?;
        writ_migrations::Migrator::up(&db, None).await?;
        // The token endpoint's background writers (audit batches, assertion
        // ids). On SQLite they share one connection of their own, so they
        // take turns in Tokio's queue. On separate connections they met in
        // SQLite's write lock, whose busy handler sleeps in steps of 1 to
        // 100 ms: under load the replay check slept while the core idled.
        let writer_db = if sqlite {
            Database::connect(Self::connect_options(&opts.database_url, 1)).await?
        } else {
            db.clone()
        };

        let instance_id = Self::settle_instance_id(&db, opts.instance_id).await?;
        vault::settle_master_key(&db, &opts.master_keys).await?;
        let token_digest_key = vault::settle_token_digest_key(&db, &opts.master_keys).await?;
        let keys = signing_keys::settle(
            &db,
            &opts.master_keys,
            opts.legacy_signing_key_pem.as_deref(),
            opts.key_policy,
            opts.clock.now(),
        )
        .await?;
        let announcer = if sqlite {
            cluster::Announcer::none()
        } else {
            cluster::Announcer::postgres(db.clone())
        };
        let (stop, stopped) = tokio::sync::watch::channel(());
        let audit = AuditSink::start(
            writer_db.clone(),
            opts.clock.clone(),
            opts.audit_retention_days,
        );
        let replay = token::replay::ReplayGuard::start(writer_db, opts.clock.clone());
        if sqlite {
            spawn_background_checkpoints(db.clone());
        }
        let writ = Arc::new(Self {
            urls: IssuerUrls::new(&opts.public_url),
            public_url: opts.public_url.trim_end_matches('/').to_owned(),
            db,
            instance_id,
            keys,
            announcer,
            _stop: stop,
            session_prune: Default::default(),
            tls_sha1_fingerprint: opts.tls_sha1_fingerprint,
            ram_fingerprint: opts.ram_fingerprint,
            secrets: VerifiedCache::default(),
            slow_hash: slow_hash::SlowHashPool::default(),
            verify_once: Default::default(),
            auth_throttle: token::auth_throttle::AuthThrottle::default(),
            token_digest_key,
            throttle: LoginThrottle::default(),
            audit,
            clock: opts.clock,
            clock_skew_secs: opts.clock_skew_secs.clamp(0, 600),
            jwks_refetch_secs: opts.jwks_refetch_secs.clamp(0, 3600),
            hot: token::hot_cache::HotCache::default(),
            replay,
            jwks: token::remote_keys::JwksCache::default(),
            vault: opts.master_keys,
            metrics: metrics::Metrics::new(),
            ready: health::ReadyCache::default(),
        });
        writ.ensure_builtin_resource_server().await?;
        signing_keys::spawn_maintenance(Arc::downgrade(&writ), stopped.clone());
        if !sqlite {
            cluster::spawn_listener(&writ.db, Arc::downgrade(&writ), stopped);
        }
        Ok(writ)
    }

    /// The database's connection settings (SQLite's apply to every pooled
    /// connection, not just the first).
    fn connect_options(url: &str, max_connections: u32) -> ConnectOptions {
        let mut co = ConnectOptions::new(url.to_owned());
        co.sqlx_logging(false)
            .max_connections(max_connections)
            .min_connections(1)
            // On every pooled connection, not just the first: `synchronous`
            // is a per-connection setting. WAL lets the console read while
            // the audit writer writes; NORMAL in WAL mode syncs at
            // checkpoints, not on every commit: a commit survives the
            // process dying (SIGKILL, OOM), while an OS crash or power loss
            // can lose the last commits, never corrupt the file.
            .map_sqlx_sqlite_opts(|o| {
                use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(std::time::Duration::from_secs(5))
                    .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
            });
        co
    }

    async fn settle_instance_id(db: &DatabaseConnection, wanted: Option<String>) -> Result<String> {
        let stored = setting::Entity::find_by_id("instance_id").one(db).await?;
        match (stored, wanted) {
            (Some(s), Some(w)) if s.value != w => Err(crate::ServiceError::Invalid(format!(
                "WRIT_INSTANCE_ID is '{w}' but this database belongs to instance '{}'; unset it or use the matching database",
                s.value
            ))),
            (Some(s), _) => Ok(s.value),
            (None, wanted) => {
                let id = match wanted {
                    Some(w) if valid_instance_id(&w) => w,
                    Some(_) => {
                        return Err(crate::ServiceError::Invalid(
                            "WRIT_INSTANCE_ID must be 3-64 characters of a-z, 0-9, '_' or '-'"
                                .into(),
                        ));
                    }
                    None => format!("idaas_{}", writ_core::random::alnum(20)),
                };
                setting::ActiveModel {
                    key: Set("instance_id".into()),
                    value: Set(id.clone()),
                }
                .insert(db)
                .await?;
                Ok(id)
            }
        }
    }

    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }
    pub fn urls(&self) -> &IssuerUrls {
        &self.urls
    }
    pub fn public_url(&self) -> &str {
        &self.public_url
    }
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
    /// argon2 runs since start (client secrets on a cache miss, sign-ins).
    pub fn slow_hash_runs(&self) -> u64 {
        self.slow_hash.runs()
    }

    pub fn issuer_info(&self) -> writ_types::IssuerInfo {
        let hostport = writ_core::sdk_config::developer_api_endpoint(&self.public_url);
        let connect = if hostport.contains(':') {
            hostport.clone()
        } else {
            format!("{hostport}:443")
        };
        let host = hostport.split(':').next().unwrap_or(&hostport).to_owned();
        writ_types::IssuerInfo {
            instance_id: self.instance_id.clone(),
            issuer: self.urls.issuer.clone(),
            token_endpoint: self.urls.token_endpoint.clone(),
            discovery_url: self.urls.discovery.clone(),
            jwks_url: self.urls.jwks_uri.clone(),
            tls_sha1_fingerprint: self.tls_sha1_fingerprint.clone(),
            fingerprint_command: format!(
                "openssl s_client -connect {connect} -servername {host} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha1"
            ),
            ram_fingerprint: self.ram_fingerprint.as_ref().map(|t| t.fingerprint.clone()),
            ram_fingerprint_certificate: self.ram_fingerprint.as_ref().map(|t| t.subject.clone()),
            // Alibaba Cloud's procedure: the last certificate -showcerts
            // prints, its SHA-1 fingerprint, the colons removed.
            ram_fingerprint_command: format!(
                "openssl s_client -connect {connect} -servername {host} -showcerts </dev/null 2>/dev/null | awk '/BEGIN CERTIFICATE/{{c=\"\"}} {{c=c $0 \"\\n\"}} /END CERTIFICATE/{{last=c}} END{{printf \"%s\", last}}' | openssl x509 -noout -fingerprint -sha1 | cut -d= -f2 | tr -d :"
            ),
        }
    }

    /// Every admin write calls this, so the token endpoint never serves a
    /// decision the admin has just changed.
    fn changed(&self) {
        self.hot.clear();
        self.announce(cluster::Change::Caches);
    }

    /// Forgets every cached lookup: the next request reads the database
    /// (after a change made outside this process, such as a migration).
    pub fn drop_caches(&self) {
        self.hot.clear();
    }

    /// Waits until every audit record handed over so far is written.
    pub async fn flush_audit(&self) {
        self.audit.flush().await;
    }
}

fn valid_instance_id(s: &str) -> bool {
    (3..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// SQLite WAL pages between checkpoints: ~40 MB (the default is 1,000 pages,
/// ~4 MB). The writers commit small batches hundreds of times a second, and
/// each checkpoint copies every page changed since the last one and syncs
/// the WAL and the database: with the default, ~30 checkpoints a second took
/// a sixth of a core under private_key_jwt load. Checkpointing less often
/// copies a page changed by many commits once (private_key_jwt on one core:
/// ~5,500 -> ~6,800 tokens/s; 4,000 pages gave ~5,900). The price: the writer
/// that crosses the mark runs the checkpoint, and assertions queued behind it
/// wait for it (private_key_jwt p99 at saturation ~20 -> ~35-45 ms).
/// Checkpoints from another connection alone cannot take this off the writer:
/// under constant writes they never catch up, so the WAL never restarts and
/// grows. With every token now waiting for its audit commit, that stall was
/// every method's p99 (~35-40 ms at saturation, 12-13 ms at half rate), so
/// a pool connection also copies frames in the background
/// ([`spawn_background_checkpoints`]) and the writer's checkpoint finds
/// little left to copy: p99 5-7 ms at saturation, 3-4 ms at half rate, same
/// throughput (BENCHMARKS.md, session 7).
const WAL_AUTOCHECKPOINT_PAGES: &str = "10000";

/// Copies committed WAL frames into the database from a pool connection, a
/// few times a second, so that the writer's own checkpoint (every
/// [`WAL_AUTOCHECKPOINT_PAGES`]) finds them already copied and holds up the
/// tokens waiting on its commits for less time. PASSIVE never blocks the
/// writer; the writer's checkpoint stays the backstop that restarts the WAL.
fn spawn_background_checkpoints(db: DatabaseConnection) {
    use sea_orm::ConnectionTrait;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            if let Err(e) = db
                .execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
                .await
            {
                tracing::debug!(error = %e, "background checkpoint");
            }
        }
    });
}

/// A JSON list of strings as stored (permissions); empty if unreadable.
pub(crate) fn json_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};

    async fn pragma<C: ConnectionTrait>(db: &C, name: &str) -> String {
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                format!("PRAGMA {name}"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0)
            .map(|v| v.to_string())
            .or_else(|_| row.try_get_by_index::<String>(0))
            .unwrap()
    }

    #[tokio::test]
    async fn sqlite_settings_hold_on_every_pooled_connection() {
        let path = std::env::temp_dir().join(format!("writ-pragma-{}.db", new_id()));
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let db = Database::connect(Writ::connect_options(&url, 2))
            .await
            .unwrap();
        // While a transaction holds one pooled connection, `db` answers on
        // the other: both must carry the settings.
        let held = db.begin().await.unwrap();
        let settings = [
            ("journal_mode", "wal"),
            ("synchronous", "1"), // NORMAL
            ("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES),
        ];
        for (name, want) in settings {
            assert_eq!(pragma(&held, name).await, want, "{name}");
            assert_eq!(pragma(&db, name).await, want, "{name}");
        }
        held.commit().await.unwrap();
        db.close().await.unwrap();
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
        }
    }
}
