//! `writ <command>`: work on the configured database without serving (the
//! same `WRIT_*` environment as the server). Replicas that serve learn of a
//! change at once on PostgreSQL (NOTIFY), within a minute on SQLite.

use crate::{Config, bootstrap};
use std::sync::Arc;

pub const USAGE: &str =
    "usage: writ                               serve (configured by WRIT_* variables)
       writ signing-keys list            the signing keys and their states, as JSON
       writ signing-keys rotate [--now]  make the next signing key (published now, signs after
                                         WRIT_SIGNING_KEY_PUBLISH_LEAD_SECS; --now: signs at once)";

/// Runs a command; `None` when `args` name none (serve).
pub async fn run(args: &[String]) -> Option<Result<String, String>> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let rotate_now = match words.as_slice() {
        [] => return None,
        ["signing-keys", "list"] => None,
        ["signing-keys", "rotate"] => Some(false),
        ["signing-keys", "rotate", "--now"] => Some(true),
        ["help" | "--help" | "-h"] => return Some(Ok(USAGE.into())),
        _ => return Some(Err(format!("unknown command\n{USAGE}"))),
    };
    Some(signing_keys(rotate_now).await)
}

async fn signing_keys(rotate_now: Option<bool>) -> Result<String, String> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cfg = Config::from_env().map_err(|e| e.to_string())?;
    let clock: Arc<dyn writ_core::Clock> = Arc::new(writ_core::SystemClock);
    let public_url = cfg
        .public_url
        .clone()
        .unwrap_or_else(|| format!("https://localhost:{}", cfg.bind.port()));
    let hosts = ["localhost".to_owned(), "127.0.0.1".to_owned()];
    let tls_files = cfg.tls_cert.clone().zip(cfg.tls_key.clone());
    let data = bootstrap::prepare(&cfg.data_dir, tls_files, &hosts, clock.now())
        .map_err(|e| e.to_string())?;
    let writ = crate::open_service(&cfg, &data, &public_url, clock)
        .await
        .map_err(|e| e.to_string())?;
    let out = match rotate_now {
        Some(now) => serde_json::to_string_pretty(
            &writ
                .rotate_signing_key(now)
                .await
                .map_err(|e| e.to_string())?,
        ),
        None => serde_json::to_string_pretty(
            &writ.list_signing_keys().await.map_err(|e| e.to_string())?,
        ),
    };
    out.map_err(|e| e.to_string())
}
