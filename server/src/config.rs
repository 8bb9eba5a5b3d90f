//! Configuration from the environment (`WRIT_*`, with `*_FILE` variants for
//! secrets). Defaults run on a laptop.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub bind: SocketAddr,
    /// None: derived from the bound port (`https://localhost:<port>`).
    pub public_url: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub instance_id: Option<String>,
    pub admin_password: Option<String>,
    pub bootstrap_admin_token: Option<String>,
    pub site_root: PathBuf,
    /// `WRIT_CLOCK_SKEW_SECS`: allowed clock difference for client assertions.
    pub clock_skew_secs: i64,
    /// `WRIT_MASTER_KEY` / `WRIT_MASTER_KEY_FILE`; else `<data dir>/master.key`.
    pub master_key: Option<String>,
    /// `WRIT_PREVIOUS_MASTER_KEYS`: comma-separated older keys that still open
    /// what they sealed until the records are re-wrapped.
    pub previous_master_keys: Vec<String>,
    /// Least seconds between two JWKS fetches for one OIDC provider.
    pub jwks_refetch_secs: i64,
    /// `WRIT_AUDIT_RETENTION_DAYS`: audit rows older than this are deleted
    /// in the background (hourly); 0 keeps them for ever.
    pub audit_retention_days: i64,
    /// `WRIT_TRUSTED_PROXIES`: load balancers whose `X-Forwarded-For` names
    /// the client (addresses or CIDR ranges); empty: the TCP peer is the client.
    pub trusted_proxies: writ_core::client_address::TrustedProxies,
    /// `WRIT_SIGNING_KEY_ROTATION_DAYS` (default 30; 0: on demand only).
    pub signing_key_rotation_days: i64,
    /// `WRIT_SIGNING_KEY_PUBLISH_LEAD_SECS` (default 3600): how long a new
    /// signing key is in JWKS before it signs.
    pub signing_key_publish_lead_secs: i64,
    /// `WRIT_METRICS_BIND`: a plain-HTTP listener for `/metrics`, `/healthz`
    /// and `/readyz` without authentication (a loopback or private
    /// address); unset: none (`/metrics` is then only on the main listener,
    /// behind an admin API token).
    pub metrics_bind: Option<SocketAddr>,
    /// `WRIT_LOG_FORMAT`: human text (default) or JSON lines.
    pub log_format: LogFormat,
}

/// How log lines are written (`WRIT_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One human-readable line per event (the default).
    #[default]
    Text,
    /// One JSON object per line, the request's span (its `request_id`) included.
    Json,
}

impl LogFormat {
    /// `WRIT_LOG_FORMAT`: `text` (default) or `json`. Read on its own, so
    /// logging starts before the rest of the configuration is read.
    pub fn from_env() -> Result<Self, ConfigError> {
        match var("WRIT_LOG_FORMAT").as_deref() {
            None | Some("text") => Ok(Self::Text),
            Some("json") => Ok(Self::Json),
            Some(_) => Err(ConfigError("WRIT_LOG_FORMAT must be text or json".into())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// `NAME`, else the contents of the file named by `NAME_FILE` (trimmed).
fn secret_var(name: &str) -> Result<Option<String>, ConfigError> {
    if let Some(v) = var(name) {
        return Ok(Some(v));
    }
    match var(&format!("{name}_FILE")) {
        Some(path) => std::fs::read_to_string(&path)
            .map(|s| Some(s.trim().to_owned()))
            .map_err(|e| ConfigError(format!("{name}_FILE: cannot read {path}: {e}"))),
        None => Ok(None),
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let data_dir = PathBuf::from(var("WRIT_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url = match var("WRIT_DATABASE_URL") {
            Some(u) => u,
            None => format!("sqlite://{}?mode=rwc", data_dir.join("writ.db").display()),
        };
        let bind = var("WRIT_BIND")
            .unwrap_or_else(|| "127.0.0.1:8443".into())
            .parse()
            .map_err(|_| ConfigError("WRIT_BIND must be an address like 127.0.0.1:8443".into()))?;
        let public_url = var("WRIT_PUBLIC_URL");
        if let Some(u) = &public_url
            && !u.starts_with("https://")
        {
            return Err(ConfigError(
                "WRIT_PUBLIC_URL must start with https://".into(),
            ));
        }
        let tls_cert = var("WRIT_TLS_CERT").map(PathBuf::from);
        let tls_key = var("WRIT_TLS_KEY").map(PathBuf::from);
        if tls_cert.is_some() != tls_key.is_some() {
            return Err(ConfigError(
                "set both WRIT_TLS_CERT and WRIT_TLS_KEY, or neither".into(),
            ));
        }
        let metrics_bind = match var("WRIT_METRICS_BIND").as_deref() {
            None | Some("off") => None,
            Some(v) => Some(v.parse().map_err(|_| {
                ConfigError(
                    "WRIT_METRICS_BIND must be an address like 127.0.0.1:9464 (or off)".into(),
                )
            })?),
        };
        Ok(Self {
            metrics_bind,
            log_format: LogFormat::from_env()?,
            data_dir,
            database_url,
            bind,
            public_url,
            tls_cert,
            tls_key,
            instance_id: var("WRIT_INSTANCE_ID"),
            admin_password: secret_var("WRIT_ADMIN_PASSWORD")?,
            bootstrap_admin_token: secret_var("WRIT_BOOTSTRAP_ADMIN_TOKEN")?,
            master_key: secret_var("WRIT_MASTER_KEY")?,
            previous_master_keys: secret_var("WRIT_PREVIOUS_MASTER_KEYS")?
                .map(|v| {
                    v.split(',')
                        .map(|k| k.trim().to_owned())
                        .filter(|k| !k.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            site_root: var("WRIT_SITE_ROOT")
                .map(PathBuf::from)
                .unwrap_or_else(default_site_root),
            clock_skew_secs: match var("WRIT_CLOCK_SKEW_SECS") {
                None => 60,
                Some(v) => v
                    .parse()
                    .ok()
                    .filter(|s| (0..=600).contains(s))
                    .ok_or_else(|| {
                        ConfigError("WRIT_CLOCK_SKEW_SECS must be 0 to 600 seconds".into())
                    })?,
            },
            jwks_refetch_secs: match var("WRIT_JWKS_REFETCH_SECS") {
                None => 30,
                Some(v) => v
                    .parse()
                    .ok()
                    .filter(|s| (0..=3600).contains(s))
                    .ok_or_else(|| {
                        ConfigError("WRIT_JWKS_REFETCH_SECS must be 0 to 3600 seconds".into())
                    })?,
            },
            trusted_proxies: writ_core::client_address::TrustedProxies::parse(
                &var("WRIT_TRUSTED_PROXIES").unwrap_or_default(),
            )
            .map_err(|e| ConfigError(e.to_string()))?,
            signing_key_rotation_days: match var("WRIT_SIGNING_KEY_ROTATION_DAYS") {
                None => 30,
                Some(v) => v
                    .parse()
                    .ok()
                    .filter(|d| (0..=3650).contains(d))
                    .ok_or_else(|| {
                        ConfigError(
                            "WRIT_SIGNING_KEY_ROTATION_DAYS must be 0 (on demand only) to 3650 days"
                                .into(),
                        )
                    })?,
            },
            signing_key_publish_lead_secs: match var("WRIT_SIGNING_KEY_PUBLISH_LEAD_SECS") {
                None => 3600,
                Some(v) => v
                    .parse()
                    .ok()
                    .filter(|s| (0..=604_800).contains(s))
                    .ok_or_else(|| {
                        ConfigError(
                            "WRIT_SIGNING_KEY_PUBLISH_LEAD_SECS must be 0 to 604800 seconds".into(),
                        )
                    })?,
            },
            audit_retention_days: match var("WRIT_AUDIT_RETENTION_DAYS") {
                None => 90,
                Some(v) => v
                    .parse()
                    .ok()
                    .filter(|d| (0..=36_500).contains(d))
                    .ok_or_else(|| {
                        ConfigError(
                            "WRIT_AUDIT_RETENTION_DAYS must be 0 (keep for ever) to 36500 days"
                                .into(),
                        )
                    })?,
            },
        })
    }

    /// A configuration for tests: everything under `data_dir`, port 0.
    pub fn for_tests(data_dir: PathBuf, database_url: Option<String>) -> Self {
        Self {
            database_url: database_url.unwrap_or_else(|| {
                format!("sqlite://{}?mode=rwc", data_dir.join("writ.db").display())
            }),
            data_dir,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            tls_cert: None,
            tls_key: None,
            instance_id: None,
            admin_password: Some("correct horse battery staple".into()),
            bootstrap_admin_token: Some("test-admin-token-0123456789".into()),
            master_key: None,
            previous_master_keys: Vec::new(),
            site_root: default_site_root(),
            clock_skew_secs: 60,
            jwks_refetch_secs: 30,
            audit_retention_days: 90,
            trusted_proxies: Default::default(),
            signing_key_rotation_days: 30,
            signing_key_publish_lead_secs: 3600,
            metrics_bind: None,
            log_format: LogFormat::Text,
        }
    }
}

/// The console assets: `<target>/site` beside `<target>/<profile>/writ`.
fn default_site_root() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.parent()
                .and_then(|p| p.parent())
                .map(|t| t.join("site"))
        })
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("target/site"))
}
