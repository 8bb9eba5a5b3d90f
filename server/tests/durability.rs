//! The durability promise (issue 14), against the real binary: Writ is
//! killed with SIGKILL in the middle of a burst of token issuances and admin
//! writes. After it, every token a client received has its `jti` in the
//! audit table (no audit, no answer), every admin write that was answered
//! is there, and SQLite's `PRAGMA integrity_check` passes; Writ starts again
//! on the same data directory. (SQLite runs WAL with `synchronous=NORMAL`:
//! a commit survives the process dying, which is what this checks; a power
//! loss is another matter, see `docs/architecture.md`, Durability.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{free_port, writ_bin};
use reqwest::Client;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ADMIN_TOKEN: &str = "durability-test-admin-token-0123456789";
const PAM_ALL: &str = "urn:cloud:idaas:pam|.all";
const TOKEN_TASKS: usize = 8;
const ADMIN_TASKS: usize = 2;

fn start(dir: &Path, port: u16, log: &str) -> Child {
    let log = std::fs::File::create(dir.join(log)).unwrap();
    Command::new(writ_bin())
        .env("WRIT_DATA_DIR", dir)
        .env("WRIT_BIND", format!("127.0.0.1:{port}"))
        .env("WRIT_BOOTSTRAP_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("WRIT_ADMIN_PASSWORD", "durability-test-password")
        .env("WRIT_LOG", "warn")
        .env_remove("WRIT_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Waits for `/healthz`; a client trusting the CA Writ made.
async fn client_for(dir: &Path, base: &str) -> Client {
    for _ in 0..300 {
        if let Ok(ca) = std::fs::read(dir.join("ca.pem")) {
            let c = Client::builder()
                .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap();
            if c.get(format!("{base}/healthz")).send().await.is_ok() {
                return c;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("writ does not answer /healthz");
}

fn jti_of(token: &Value) -> String {
    let payload = token["access_token"]
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
    claims["jti"].as_str().unwrap().to_owned()
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_burst_loses_no_answered_token_or_admin_write() {
    use std::os::unix::process::ExitStatusExt;
    let dir = std::env::temp_dir().join(format!("writ-sigkill-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let base = format!("https://localhost:{port}");
    let mut writ = start(&dir, port, "writ-1.log");
    let http = client_for(&dir, &base).await;
    let admin_url = |path: &str| format!("{base}/api/admin/v1{path}");

    let agent: Value = http
        .post(admin_url("/agents"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "burster", "owner": "ops"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret: Value = http
        .post(admin_url(&format!(
            "/agents/{}/client-secrets",
            agent["id"].as_str().unwrap()
        )))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_id = agent["client_id"].as_str().unwrap().to_owned();
    let secret = secret["client_secret"].as_str().unwrap().to_owned();
    let token_url = format!("{base}/api/v2/iauths_system/oauth2/token");

    // The burst: token requests and admin writes from several tasks, each
    // keeping what was acknowledged, until the connection dies.
    let jtis = Arc::new(Mutex::new(Vec::<String>::new()));
    let agents = Arc::new(Mutex::new(Vec::<String>::new()));
    let unanswered = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..TOKEN_TASKS {
        let (http, url, jtis, unanswered) = (
            http.clone(),
            token_url.clone(),
            jtis.clone(),
            unanswered.clone(),
        );
        let (cid, secret) = (client_id.clone(), secret.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let sent = http
                    .post(&url)
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", cid.as_str()),
                        ("client_secret", secret.as_str()),
                        ("scope", PAM_ALL),
                    ])
                    .send()
                    .await;
                let body = match sent {
                    Ok(r) => {
                        assert_eq!(r.status(), 200, "tokens are answered until the kill");
                        r.json::<Value>().await
                    }
                    Err(e) => Err(e),
                };
                match body {
                    Ok(t) => jtis.lock().unwrap().push(jti_of(&t)),
                    Err(_) => {
                        unanswered.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                }
            }
        }));
    }
    for task in 0..ADMIN_TASKS {
        let (http, url, agents, unanswered, killed) = (
            http.clone(),
            admin_url("/agents"),
            agents.clone(),
            unanswered.clone(),
            killed.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let sent = http
                    .post(&url)
                    .bearer_auth(ADMIN_TOKEN)
                    .json(&json!({"name": format!("burst-{task}-{i}"), "owner": "ops"}))
                    .send()
                    .await;
                let body = match sent {
                    Ok(r) => {
                        if !killed.load(Ordering::SeqCst) {
                            assert_eq!(r.status(), 201, "admin writes succeed until the kill");
                        }
                        r.json::<Value>().await
                    }
                    Err(e) => Err(e),
                };
                match body {
                    Ok(a) => agents
                        .lock()
                        .unwrap()
                        .push(a["id"].as_str().unwrap().to_owned()),
                    Err(_) => {
                        unanswered.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                }
            }
        }));
    }

    // Mid-burst: once the burst is well under way, SIGKILL.
    let started = Instant::now();
    while jtis.lock().unwrap().len() < 300 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (tokens_at_kill, agents_at_kill) =
        (jtis.lock().unwrap().len(), agents.lock().unwrap().len());
    killed.store(true, Ordering::SeqCst);
    writ.kill().unwrap(); // SIGKILL on Unix
    let status = tokio::task::spawn_blocking(move || writ.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.signal(), Some(9), "{status:?}");
    for t in tasks {
        t.await.unwrap();
    }
    let jtis = jtis.lock().unwrap().clone();
    let agents = agents.lock().unwrap().clone();
    println!(
        "burst: {} tokens and {} admin writes acknowledged ({tokens_at_kill} and \
         {agents_at_kill} when SIGKILL was sent, in {:?}); {} requests in flight died with it",
        jtis.len(),
        agents.len(),
        started.elapsed(),
        unanswered.load(Ordering::SeqCst),
    );
    assert!(jtis.len() >= 300, "a burst of tokens before the kill");
    assert!(!agents.is_empty(), "admin writes before the kill");

    // What the file holds after the kill, before Writ opens it again.
    {
        let db = Database::connect(format!(
            "sqlite://{}?mode=rw",
            dir.join("writ.db").display()
        ))
        .await
        .unwrap();
        let one_col = |sql: &str| {
            let db = &db;
            let sql = sql.to_owned();
            async move {
                db.query_all_raw(Statement::from_string(DbBackend::Sqlite, sql))
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.try_get_by_index::<String>(0).unwrap())
                    .collect::<HashSet<String>>()
            }
        };
        let integrity = one_col("PRAGMA integrity_check").await;
        assert_eq!(
            integrity,
            HashSet::from(["ok".to_owned()]),
            "the file survives"
        );
        let audited = one_col("SELECT jti FROM audit_events WHERE outcome = 'issued'").await;
        let lost: Vec<&String> = jtis.iter().filter(|j| !audited.contains(*j)).collect();
        assert!(
            lost.is_empty(),
            "{} of {} answered tokens have no audit record: {:?}",
            lost.len(),
            jtis.len(),
            &lost[..lost.len().min(5)]
        );
        let stored = one_col("SELECT id FROM clients").await;
        let missing: Vec<&String> = agents.iter().filter(|a| !stored.contains(*a)).collect();
        assert!(
            missing.is_empty(),
            "answered admin writes lost: {missing:?}"
        );
        db.close().await.unwrap();
    }

    // Writ starts again on the same directory and serves what was answered.
    let port = free_port();
    let base = format!("https://localhost:{port}");
    let mut writ = start(&dir, port, "writ-2.log");
    let http = client_for(&dir, &base).await;
    let listed: Vec<Value> = http
        .get(format!("{base}/api/admin/v1/agents"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed: HashSet<&str> = listed.iter().filter_map(|a| a["id"].as_str()).collect();
    for a in &agents {
        assert!(listed.contains(a.as_str()), "agent {a} answered but gone");
    }
    let r = http
        .post(format!("{base}/api/v2/iauths_system/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", secret.as_str()),
            ("scope", PAM_ALL),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let stopped = Command::new("kill")
        .args(["-TERM", &writ.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let status = tokio::task::spawn_blocking(move || writ.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
