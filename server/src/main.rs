//! `writ`: starts the server from `WRIT_*` environment variables.

use std::process::ExitCode;
use writ_server::config::LogFormat;

// The token endpoint allocates small, short-lived buffers on every request;
// glibc malloc showed ~10 % of CPU under load, mimalloc much less.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // One worker per core this process may run on (honours taskset / cgroup
    // CPU sets): extra workers on a pinned core only add context switches.
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(run()),
        Err(e) => {
            eprintln!("writ: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let format = match writ_server::config::LogFormat::from_env() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("writ: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(format);
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(done) = writ_server::commands::run(&args).await {
        return match done {
            Ok(out) => {
                println!("{out}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("writ: {e}");
                ExitCode::from(2)
            }
        };
    }
    let cfg = match writ_server::Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            fatal(format, &e.to_string());
            return ExitCode::from(2);
        }
    };
    let data_dir = cfg.data_dir.display().to_string();
    let backend = cfg.database_url.split(':').next().unwrap_or("?").to_owned();
    let running = match writ_server::start(cfg).await {
        Ok(r) => r,
        Err(e) => {
            fatal(format, &format!("cannot start: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let urls = running.writ.urls();
    let ca = running
        .ca_path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "(given TLS files)".into());
    let metrics = running
        .metrics_addr
        .map(|a| format!("http://{a}/metrics"))
        .unwrap_or_else(|| "(admin token on the main listener)".into());
    match format {
        LogFormat::Text => {
            if let Some(pw) = &running.generated_admin_password {
                // Printed once, on the start that created the admin; never again.
                println!("writ: created console admin 'admin' with password: {pw}");
            }
            println!(
                "writ: console {}/  issuer {}  jwks {}  listening {}  metrics {}  data {}  db {}  ca {}  instance {}",
                running.public_url,
                urls.issuer,
                urls.jwks_uri,
                running.addr,
                metrics,
                data_dir,
                backend,
                ca,
                running.writ.instance_id(),
            );
        }
        // The same, as log records (target `writ::start`, shown whatever
        // `WRIT_LOG` says), so every line of the output is JSON.
        LogFormat::Json => {
            if let Some(pw) = &running.generated_admin_password {
                tracing::warn!(
                    target: "writ::start",
                    user = "admin",
                    password = %pw,
                    "created console admin (password shown once, never again)"
                );
            }
            tracing::info!(
                target: "writ::start",
                console = %format!("{}/", running.public_url),
                issuer = %urls.issuer,
                jwks = %urls.jwks_uri,
                listening = %running.addr,
                metrics = %metrics,
                data = %data_dir,
                db = %backend,
                ca = %ca,
                instance = %running.writ.instance_id(),
                "writ started"
            );
        }
    }
    let handle = running.handle.clone();
    tokio::spawn(async move {
        stop_requested().await;
        handle.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
    });
    match running.task.await {
        Ok(Ok(())) => {
            // Every answered request's audit record is handed over by now;
            // wait for the writer, but not for ever (a stuck database must
            // not keep a stop from finishing).
            let flushed = tokio::time::timeout(AUDIT_FLUSH_DEADLINE, running.writ.flush_audit());
            if flushed.await.is_err() {
                fatal(
                    format,
                    &format!(
                        "audit records still queued after {} s; stopping anyway",
                        AUDIT_FLUSH_DEADLINE.as_secs()
                    ),
                );
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            fatal(format, &format!("server error: {e}"));
            ExitCode::FAILURE
        }
        Err(_) => ExitCode::FAILURE,
    }
}

/// Why Writ stops or cannot start: on stderr as text, a JSON error record
/// (shown whatever `WRIT_LOG` says) with `WRIT_LOG_FORMAT=json`.
fn fatal(format: LogFormat, message: &str) {
    match format {
        LogFormat::Text => eprintln!("writ: {message}"),
        LogFormat::Json => tracing::error!(target: "writ::start", "{message}"),
    }
}

/// `WRIT_LOG` filters (default `info,sqlx=warn`); `WRIT_LOG_FORMAT=json`
/// writes one JSON object per line, with the spans it happened in (the
/// request's `request_id`).
fn init_logging(format: LogFormat) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("WRIT_LOG")
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    if let Ok(start) = "writ::start=info".parse() {
        filter = filter.add_directive(start);
    }
    match format {
        LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter).init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_current_span(false)
            .with_span_list(true)
            .init(),
    }
}

/// How long a stop waits for queued audit records to be written.
const AUDIT_FLUSH_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// Ctrl-C, or SIGTERM: what systemd, Docker and Kubernetes send to stop a
/// service. Both stop Writ gracefully, audit records written.
async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                return;
            }
            Err(e) => eprintln!("writ: cannot listen for SIGTERM ({e}); Ctrl-C still stops"),
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
