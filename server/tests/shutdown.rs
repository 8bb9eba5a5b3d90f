//! Stopping Writ the way service managers do: SIGTERM (systemd, Docker,
//! Kubernetes). The real binary stops gracefully, exit code 0, with the
//! audit record of every token it answered written.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::Client;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::Duration;

const ADMIN_TOKEN: &str = "shutdown-test-admin-token-0123456789";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_gracefully_with_every_answered_token_audited() {
    use std::os::unix::process::ExitStatusExt;
    let dir = std::env::temp_dir().join(format!("writ-sigterm-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let mut writ = Command::new(env!("CARGO_BIN_EXE_writ"))
        .env("WRIT_DATA_DIR", &dir)
        .env("WRIT_BIND", format!("127.0.0.1:{port}"))
        .env("WRIT_BOOTSTRAP_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("WRIT_ADMIN_PASSWORD", "shutdown-test-password")
        .env("WRIT_LOG", "warn")
        .env_remove("WRIT_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("https://localhost:{port}");

    // Writ makes its CA on first start.
    let mut http = None;
    for _ in 0..150 {
        if let Ok(ca) = std::fs::read(dir.join("ca.pem")) {
            let c = Client::builder()
                .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
                .build()
                .unwrap();
            if c.get(format!("{base}/healthz")).send().await.is_ok() {
                http = Some(c);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let http = http.expect("writ answers /healthz");
    let admin = |path: &str, body: Value| {
        http.post(format!("{base}/api/admin/v1{path}"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
    };
    let agent: Value = admin("/agents", json!({"name": "stopper", "owner": "ops"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret: Value = admin(
        &format!("/agents/{}/client-secrets", agent["id"].as_str().unwrap()),
        json!({}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let client_id = agent["client_id"].as_str().unwrap();
    let secret = secret["client_secret"].as_str().unwrap();

    // A burst of answered tokens, then SIGTERM at once.
    let token_url = format!("{base}/api/v2/iauths_system/oauth2/token");
    let mut jtis = Vec::new();
    for _ in 0..40 {
        let r = http
            .post(&token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
                ("scope", "urn:cloud:idaas:pam|.all"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let t: Value = r.json().await.unwrap();
        let payload = t["access_token"]
            .as_str()
            .unwrap()
            .split('.')
            .nth(1)
            .unwrap();
        let claims: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .unwrap(),
        )
        .unwrap();
        jtis.push(claims["jti"].as_str().unwrap().to_owned());
    }
    let killed = Command::new("kill")
        .args(["-TERM", &writ.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || writ.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        status.signal(),
        None,
        "SIGTERM must stop Writ gracefully, not kill it: {status:?}"
    );
    assert!(status.success(), "{status:?}");

    let db = Database::connect(format!(
        "sqlite://{}?mode=ro",
        dir.join("writ.db").display()
    ))
    .await
    .unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT jti FROM audit_events WHERE outcome = 'issued'",
        ))
        .await
        .unwrap();
    let audited: std::collections::HashSet<String> = rows
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect();
    for jti in &jtis {
        assert!(
            audited.contains(jti),
            "token {jti} answered but not audited"
        );
    }
    db.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
