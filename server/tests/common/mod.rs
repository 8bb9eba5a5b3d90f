//! Starts a real Writ over TLS on an ephemeral port, on a fresh SQLite file
//! or a fresh PostgreSQL database, and talks to it with reqwest trusting the
//! CA that Writ made.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::{Client, Response};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use std::path::PathBuf;
use writ_server::{Config, Running};

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestServer {
    pub running: Running,
    pub http: Client,
    pub base: String,
    pub dir: PathBuf,
    pub database_url: String,
    pg_db: Option<String>,
}

pub fn pg_admin_url() -> String {
    std::env::var("WRIT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into())
}

/// A fresh, empty database for one test.
async fn fresh_database(backend: Backend, dir: &std::path::Path) -> (String, Option<String>) {
    match backend {
        Backend::Sqlite => (
            format!("sqlite://{}?mode=rwc", dir.join("writ.db").display()),
            None,
        ),
        Backend::Postgres => {
            let name = format!("writ_it_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(pg_admin_url())
                .await
                .expect("PostgreSQL at WRIT_TEST_PG_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let base = pg_admin_url();
            let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
            (url, Some(name))
        }
    }
}

pub async fn spawn(backend: Backend) -> TestServer {
    spawn_configured(backend, |_| {}).await
}

/// A fresh server whose test configuration `adjust` may change first.
pub async fn spawn_configured(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestServer {
    let dir = std::env::temp_dir().join(format!("writ-it-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (url, pg_db) = fresh_database(backend, &dir).await;
    let mut cfg = Config::for_tests(dir.clone(), Some(url.clone()));
    adjust(&mut cfg);
    spawn_with(cfg, pg_db).await
}

pub async fn spawn_with(cfg: Config, pg_db: Option<String>) -> TestServer {
    let dir = cfg.data_dir.clone();
    let database_url = cfg.database_url.clone();
    let running = writ_server::start(cfg).await.expect("server starts");
    let ca = std::fs::read(running.ca_path.as_ref().unwrap()).unwrap();
    let http = Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .cookie_store(true)
        // Below the server's header-read timeout (10 s), which may close an
        // idle keep-alive connection: never reuse one as it is closing.
        .pool_idle_timeout(std::time::Duration::from_secs(5))
        .build()
        .unwrap();
    let base = running.public_url.clone();
    TestServer {
        running,
        http,
        base,
        dir,
        database_url,
        pg_db,
    }
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
    pub fn token_url(&self) -> String {
        self.url("/api/v2/iauths_system/oauth2/token")
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> Response {
        self.http
            .post(self.url(&format!("/api/admin/v1{path}")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
    pub async fn admin_get(&self, path: &str) -> Response {
        self.http
            .get(self.url(&format!("/api/admin/v1{path}")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
    }
    pub async fn admin_patch(&self, path: &str, body: Value) -> Response {
        self.http
            .patch(self.url(&format!("/api/admin/v1{path}")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
    pub async fn admin_delete(&self, path: &str) -> Response {
        self.http
            .delete(self.url(&format!("/api/admin/v1{path}")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
    }

    /// A new agent with one secret: (agent json, secret id, secret value).
    pub async fn agent_with_secret(&self, name: &str) -> (Value, String, String) {
        let r = self
            .admin_post("/agents", json!({"name": name, "owner": "ops"}))
            .await;
        assert_eq!(r.status(), 201);
        let agent: Value = r.json().await.unwrap();
        let r = self
            .admin_post(
                &format!("/agents/{}/client-secrets", agent["id"].as_str().unwrap()),
                json!({}),
            )
            .await;
        assert_eq!(r.status(), 201);
        let s: Value = r.json().await.unwrap();
        (
            agent,
            s["id"].as_str().unwrap().into(),
            s["client_secret"].as_str().unwrap().into(),
        )
    }

    /// A new agent with a secret and a token for the developer API
    /// (`urn:cloud:idaas:pam`): (client id, secret, bearer).
    pub async fn agent_with_pam_bearer(&self, name: &str) -> (String, String, String) {
        let (agent, _, secret) = self.agent_with_secret(name).await;
        let client_id = agent["client_id"].as_str().unwrap().to_owned();
        let t = self
            .token(&client_id, &secret, "urn:cloud:idaas:pam|.all")
            .await;
        let bearer = t["access_token"].as_str().unwrap().to_owned();
        (client_id, secret, bearer)
    }

    /// A token that must be issued (client_secret_post): its JSON body.
    pub async fn token(&self, client_id: &str, secret: &str, scope: &str) -> Value {
        let r = self.token_post(client_id, secret, scope).await;
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "token for {client_id} ({scope}): {body}");
        body
    }

    pub async fn token_post(&self, client_id: &str, secret: &str, scope: &str) -> Response {
        self.http
            .post(self.token_url())
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
                ("scope", scope),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Stops the server and keeps its data (to start again on it).
    pub async fn stop_keeping_data(self) {
        self.running.handle.shutdown();
        let _ = self.running.task.await;
        self.running.writ.flush_audit().await;
        drop(self.running.writ);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    pub async fn stop(self) {
        self.running.handle.shutdown();
        let _ = self.running.task.await;
        drop(self.running.writ);
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(db) = self.pg_db {
            // Best effort: the pool may still hold connections for a moment.
            if let Ok(admin) = Database::connect(pg_admin_url()).await {
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                    .await;
            }
        }
    }
}

// Runs each named scenario `async fn name(Backend)` once on SQLite and once
// on a fresh PostgreSQL database.
#[allow(unused_macros)] // not every test file runs scenarios on both backends
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::Backend::Sqlite).await } )* }
        mod postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::Backend::Postgres).await } )* }
    };
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A free loopback port (for a server this test starts itself).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `writ` binary: `WRIT_BIN` if set (as `end2end/run.sh` takes it), else
/// the one Cargo built for this test.
pub fn writ_bin() -> String {
    std::env::var("WRIT_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_writ").to_owned())
}
