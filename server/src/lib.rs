//! The Writ server: one HTTPS listener for the console, the OAuth2 token
//! endpoint, discovery, JWKS and the admin API. Handlers are thin: they parse,
//! call [`writ_service::Writ`], and map its errors in one place per boundary.

pub mod bootstrap;
pub mod commands;
pub mod config;
pub mod routes;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::net::SocketAddr;
use std::sync::Arc;
use writ_service::{Writ, WritOptions};

pub use config::Config;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub writ: Arc<Writ>,
    /// Whose `X-Forwarded-For` names the client (see `routes::client_address`).
    pub trusted_proxies: Arc<writ_core::client_address::TrustedProxies>,
}

/// The longest a client may take to send its request headers.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A started server.
pub struct Running {
    pub addr: SocketAddr,
    /// The plain-HTTP metrics listener's address (`WRIT_METRICS_BIND`).
    pub metrics_addr: Option<SocketAddr>,
    pub public_url: String,
    pub ca_path: Option<std::path::PathBuf>,
    pub writ: Arc<Writ>,
    /// Printed once when `admin` was created with a generated password.
    pub generated_admin_password: Option<String>,
    pub handle: axum_server::Handle<SocketAddr>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Bootstrap(#[from] bootstrap::BootstrapError),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("TLS: {0}")]
    Tls(std::io::Error),
    #[error("storage: {0}")]
    Store(#[from] writ_service::ServiceError),
    #[error("configuration: {0}")]
    Config(String),
}

/// Starts Writ: crypto provider, service layer, bootstrap, routes, TLS
/// listener, shutdown. Long because it is the one place the process is
/// wired together, step after step, in the order they must happen.
pub async fn start(cfg: Config) -> Result<Running, StartError> {
    // Both rustls crypto providers end up linked; pick one explicitly.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();

    let listener =
        std::net::TcpListener::bind(cfg.bind).map_err(|e| StartError::Bind(cfg.bind, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Bind(cfg.bind, e))?;
    let metrics_listener = match cfg.metrics_bind {
        Some(bind) => {
            let l = std::net::TcpListener::bind(bind).map_err(|e| StartError::Bind(bind, e))?;
            let a = l.local_addr().map_err(|e| StartError::Bind(bind, e))?;
            Some((l, a))
        }
        None => None,
    };
    let public_url = cfg
        .public_url
        .clone()
        .unwrap_or_else(|| format!("https://localhost:{}", addr.port()))
        .trim_end_matches('/')
        .to_owned();

    let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    if let Some(h) = public_host(&public_url)
        && !hosts.contains(&h)
    {
        hosts.push(h);
    }
    let clock: Arc<dyn writ_core::Clock> = Arc::new(writ_core::SystemClock);
    let tls_files = cfg.tls_cert.clone().zip(cfg.tls_key.clone());
    let data = bootstrap::prepare(&cfg.data_dir, tls_files, &hosts, clock.now())?;
    let writ = open_service(&cfg, &data, &public_url, clock).await?;
    let generated_admin_password = writ.bootstrap_admin(cfg.admin_password.clone()).await?;
    if let Some(t) = &cfg.bootstrap_admin_token {
        writ.bootstrap_admin_token(t).await?;
    }

    let leptos_options = LeptosOptions::builder()
        .output_name("writ")
        .site_root(cfg.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    let state = AppState {
        leptos_options,
        writ: writ.clone(),
        trusted_proxies: Arc::new(cfg.trusted_proxies.clone()),
    };
    let app = routes::router(state.clone());

    let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&data.tls_cert, &data.tls_key)
        .await
        .map_err(StartError::Tls)?;
    let handle = axum_server::Handle::new();
    let mut server = axum_server::from_tcp_rustls(listener, tls)
        .map_err(StartError::Tls)?
        .handle(handle.clone());
    // A client that drips its request headers is cut off (the TLS handshake
    // has axum-server's own 10 s limit; whole requests, body included,
    // `routes::REQUEST_DEADLINE`).
    server
        .http_builder()
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    // The metrics listener stops with the main one: it shares its
    // shutdown control, and its task is the same.
    let metrics_addr = metrics_listener.as_ref().map(|(_, a)| *a);
    let metrics_server = match metrics_listener {
        Some((l, a)) => {
            let mut m = axum_server::from_tcp(l)
                .map_err(|e| StartError::Bind(a, e))?
                .handle(axum_server::Handle::with_control(handle.control()));
            m.http_builder()
                .http1()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            Some((m, routes::metrics_router(state)))
        }
        None => None,
    };
    let task = tokio::spawn(async move {
        let main = server.serve(app.into_make_service_with_connect_info::<SocketAddr>());
        match metrics_server {
            Some((m, router)) => {
                let (a, b) = tokio::join!(main, m.serve(router.into_make_service()));
                a.and(b)
            }
            None => main.await,
        }
    });
    Ok(Running {
        metrics_addr,
        addr,
        public_url,
        ca_path: data.ca_path,
        writ,
        generated_admin_password,
        handle,
        task,
    })
}

/// The service layer over the configured database, with the master key
/// from the environment or the data directory (`start`, and the `writ`
/// commands that work on the database without serving).
pub async fn open_service(
    cfg: &Config,
    data: &bootstrap::DataDir,
    public_url: &str,
    clock: Arc<dyn writ_core::Clock>,
) -> Result<Arc<Writ>, StartError> {
    let keyring = {
        use writ_core::vault::{Keyring, MasterKey};
        let bad = |what: &'static str| {
            move |e: writ_core::vault::VaultError| StartError::Config(format!("{what}: {e}"))
        };
        let primary = match &cfg.master_key {
            Some(k) => MasterKey::from_text(k).map_err(bad("WRIT_MASTER_KEY"))?,
            None => MasterKey::from_text(&data.master_key_file).map_err(bad("master.key"))?,
        };
        let older = cfg
            .previous_master_keys
            .iter()
            .map(|k| MasterKey::from_text(k).map_err(bad("WRIT_PREVIOUS_MASTER_KEYS")))
            .collect::<Result<Vec<_>, _>>()?;
        Keyring::new(primary, older)
    };
    Ok(Writ::open(WritOptions {
        master_keys: keyring,
        database_url: cfg.database_url.clone(),
        public_url: public_url.to_owned(),
        instance_id: cfg.instance_id.clone(),
        legacy_signing_key_pem: data.legacy_signing_key_pem.clone(),
        key_policy: writ_core::key_rotation::RotationPolicy::new(
            cfg.signing_key_rotation_days * 86_400,
            cfg.signing_key_publish_lead_secs,
            cfg.clock_skew_secs,
        ),
        tls_sha1_fingerprint: data.tls_sha1_fingerprint.clone(),
        ram_fingerprint: data.ram_fingerprint.clone(),
        clock,
        clock_skew_secs: cfg.clock_skew_secs,
        jwks_refetch_secs: cfg.jwks_refetch_secs,
        audit_retention_days: cfg.audit_retention_days,
    })
    .await?)
}

fn public_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let hostport = rest.split('/').next()?;
    let host = if hostport.starts_with('[') {
        hostport.split(']').next()?.trim_start_matches('[')
    } else {
        hostport.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_owned())
}
