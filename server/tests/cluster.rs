//! Two Writ replicas on one PostgreSQL database behind HAProxy, as
//! `make cluster` runs them (the same `deploy/haproxy.cfg.in`), driven
//! through HAProxy and through each replica directly (issue 15):
//!
//! - both publish the same JWKS;
//! - a private_key_jwt assertion used on one replica is refused on the other;
//! - an agent disabled on one replica is refused on the other within 1 s;
//! - a signing key rotated on one is in the other's JWKS before any token
//!   is signed with it;
//! - a console session started on one works on the other;
//! - killing one replica mid-load loses no answered token (each has its
//!   audit row), and HAProxy's clients see only requests in flight fail.
//!
//! Real processes (the `writ` binary, Debian's `haproxy`), real TLS, the
//! machine's PostgreSQL. `make test` installs HAProxy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{free_port, now, pg_admin_url, writ_bin};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Client;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ADMIN_TOKEN: &str = "cluster-test-admin-token-0123456789";
const ADMIN_PASSWORD: &str = "cluster-test-password";
const PAM_ALL: &str = "urn:cloud:idaas:pam|.all";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Seconds a rotated key is published before it signs (short for the test).
const PUBLISH_LEAD_SECS: i64 = 2;
const LOAD_TASKS: usize = 8;

struct Replica {
    child: Child,
    base: String,
}

struct Cluster {
    dir: PathBuf,
    db_name: String,
    db_url: String,
    replicas: Vec<Replica>,
    haproxy: Child,
    /// HAProxy's URL: every replica's public URL (one issuer).
    front: String,
    http: Client,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.haproxy.kill();
        for r in &mut self.replicas {
            let _ = r.child.kill();
            let _ = r.child.wait();
        }
        let _ = self.haproxy.wait();
    }
}

fn render_haproxy(dir: &Path, front_port: u16, backends: &[u16]) -> PathBuf {
    let template = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/haproxy.cfg.in"),
    )
    .expect("deploy/haproxy.cfg.in");
    let cfg = template
        .replace("@FRONT_BIND@", &format!("127.0.0.1:{front_port}"))
        .replace("@CERT_PEM@", &dir.join("haproxy.pem").display().to_string())
        .replace("@CA_PEM@", &dir.join("ca.pem").display().to_string())
        .replace("@BACKEND_HOST@", "localhost")
        .replace("@BACKEND_1@", &format!("127.0.0.1:{}", backends[0]))
        .replace("@BACKEND_2@", &format!("127.0.0.1:{}", backends[1]))
        .replace(
            "@STATS_SOCKET@",
            &dir.join("haproxy.sock").display().to_string(),
        );
    assert!(
        !cfg.contains('@'),
        "deploy/haproxy.cfg.in has a placeholder this test does not fill"
    );
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, cfg).unwrap();
    path
}

fn start_replica(c: &ClusterEnv, n: usize, port: u16) -> Replica {
    let data = c.dir.join(format!("replica-{n}"));
    std::fs::create_dir_all(&data).unwrap();
    let log = std::fs::File::create(c.dir.join(format!("replica-{n}.log"))).unwrap();
    let child = Command::new(writ_bin())
        .env("WRIT_DATA_DIR", &data)
        .env("WRIT_BIND", format!("127.0.0.1:{port}"))
        .env("WRIT_DATABASE_URL", &c.db_url)
        .env("WRIT_PUBLIC_URL", &c.front)
        .env("WRIT_TLS_CERT", c.dir.join("tls-cert.pem"))
        .env("WRIT_TLS_KEY", c.dir.join("tls-key.pem"))
        .env("WRIT_MASTER_KEY", &c.master_key)
        .env("WRIT_INSTANCE_ID", "idaas_cluster_test")
        .env("WRIT_TRUSTED_PROXIES", "127.0.0.1")
        .env("WRIT_BOOTSTRAP_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("WRIT_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env(
            "WRIT_SIGNING_KEY_PUBLISH_LEAD_SECS",
            PUBLISH_LEAD_SECS.to_string(),
        )
        .env("WRIT_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Replica {
        child,
        base: format!("https://localhost:{port}"),
    }
}

struct ClusterEnv {
    dir: PathBuf,
    db_url: String,
    front: String,
    master_key: String,
}

async fn wait_healthy(http: &Client, base: &str, what: &str) {
    for _ in 0..300 {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} does not answer /healthz at {base}");
}

async fn start_cluster() -> Cluster {
    assert!(
        Command::new("haproxy").arg("-v").output().is_ok(),
        "HAProxy is not installed: `make test` installs it (apt-get install haproxy)"
    );
    let dir = std::env::temp_dir().join(format!("writ-cluster-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let pki =
        writ_core::tls::create_local_pki(&["localhost".into(), "127.0.0.1".into()], now()).unwrap();
    std::fs::write(dir.join("ca.pem"), &pki.ca_cert_pem).unwrap();
    let chain = format!("{}{}", pki.server_cert_pem, pki.ca_cert_pem);
    std::fs::write(dir.join("tls-cert.pem"), &chain).unwrap();
    std::fs::write(dir.join("tls-key.pem"), &pki.server_key_pem).unwrap();
    std::fs::write(
        dir.join("haproxy.pem"),
        format!("{chain}{}", pki.server_key_pem),
    )
    .unwrap();

    let db_name = format!("writ_cluster_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(pg_admin_url()).await.unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {db_name}"))
        .await
        .unwrap();
    let base = pg_admin_url();
    let db_url = format!("{}/{db_name}", base.rsplit_once('/').unwrap().0);

    let front_port = free_port();
    let ports = [free_port(), free_port()];
    let env = ClusterEnv {
        dir: dir.clone(),
        db_url: db_url.clone(),
        front: format!("https://localhost:{front_port}"),
        master_key: writ_core::random::token(32),
    };
    let http = Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_cert_pem.as_bytes()).unwrap())
        .cookie_store(true)
        .timeout(Duration::from_secs(20))
        .pool_idle_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    // One after the other: the first applies the migrations and makes the
    // first signing key.
    let first = start_replica(&env, 1, ports[0]);
    wait_healthy(&http, &first.base, "replica 1").await;
    let second = start_replica(&env, 2, ports[1]);
    wait_healthy(&http, &second.base, "replica 2").await;

    let cfg = render_haproxy(&dir, front_port, &ports);
    let log = std::fs::File::create(dir.join("haproxy.log")).unwrap();
    let haproxy = Command::new("haproxy")
        .arg("-f")
        .arg(&cfg)
        .arg("-db")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let cluster = Cluster {
        dir,
        db_name,
        db_url,
        replicas: vec![first, second],
        haproxy,
        front: env.front,
        http,
    };
    wait_healthy(&cluster.http, &cluster.front, "HAProxy").await;
    cluster
}

impl Cluster {
    fn token_url(&self) -> String {
        format!("{}/api/v2/iauths_system/oauth2/token", self.front)
    }

    /// The token endpoint of `base` (a replica or HAProxy).
    fn token_url_at(base: &str) -> String {
        format!("{base}/api/v2/iauths_system/oauth2/token")
    }

    async fn admin(&self, base: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
        let r = self
            .http
            .request(method, format!("{base}/api/admin/v1{path}"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }

    async fn kids(&self, base: &str) -> HashSet<String> {
        let jwks: Value = self
            .http
            .get(format!("{base}/api/v2/iauths_system/oauth2/jwks"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn agent_with_secret(&self, base: &str, name: &str) -> (String, String, String) {
        let agent = self
            .admin(
                base,
                reqwest::Method::POST,
                "/agents",
                json!({"name": name, "owner": "ops"}),
            )
            .await;
        let id = agent["id"].as_str().unwrap().to_owned();
        let secret = self
            .admin(
                base,
                reqwest::Method::POST,
                &format!("/agents/{id}/client-secrets"),
                json!({}),
            )
            .await;
        (
            id,
            agent["client_id"].as_str().unwrap().to_owned(),
            secret["client_secret"].as_str().unwrap().to_owned(),
        )
    }

    async fn token(&self, base: &str, client_id: &str, secret: &str) -> reqwest::Response {
        self.http
            .post(Self::token_url_at(base))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
                ("scope", PAM_ALL),
            ])
            .send()
            .await
            .unwrap()
    }

    async fn stop(mut self) {
        let _ = self.haproxy.kill();
        for r in &mut self.replicas {
            let _ = r.child.kill();
            let _ = r.child.wait();
        }
        if let Ok(admin) = Database::connect(pg_admin_url()).await {
            let _ = admin
                .execute_unprepared(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.db_name
                ))
                .await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap()
}

fn kid_of(jwt: &str) -> String {
    jsonwebtoken::decode_header(jwt).unwrap().kid.unwrap()
}

async fn both_replicas_publish_the_same_keys(c: &Cluster) {
    let one = c.kids(&c.replicas[0].base).await;
    let two = c.kids(&c.replicas[1].base).await;
    assert_eq!(one.len(), 1, "{one:?}");
    assert_eq!(one, two);
    assert_eq!(one, c.kids(&c.front).await);
}

async fn an_assertion_used_on_one_replica_is_refused_on_the_other(c: &Cluster) {
    let one = &c.replicas[0].base;
    let agent = c
        .admin(
            one,
            reqwest::Method::POST,
            "/agents",
            json!({"name": "signer", "owner": "ops"}),
        )
        .await;
    let kp = rcgen::KeyPair::generate().unwrap();
    c.admin(
        one,
        reqwest::Method::POST,
        &format!("/agents/{}/public-keys", agent["id"].as_str().unwrap()),
        json!({"pem": kp.public_key_pem()}),
    )
    .await;
    let cid = agent["client_id"].as_str().unwrap();
    let mut h = Header::new(Algorithm::ES256);
    h.typ = Some("JWT".into());
    let assertion = jsonwebtoken::encode(
        &h,
        &json!({"iss": cid, "sub": cid, "aud": c.token_url(), "jti": uuid::Uuid::new_v4().to_string(),
                "iat": now(), "exp": now() + 300}),
        &EncodingKey::from_ec_pem(kp.serialize_pem().as_bytes()).unwrap(),
    )
    .unwrap();
    let post = |base: String| {
        let a = assertion.clone();
        async move {
            c.http
                .post(Cluster::token_url_at(&base))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", ASSERTION_TYPE),
                    ("client_assertion", &a),
                    ("scope", PAM_ALL),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(post(one.clone()).await.status(), 200);
    let again = post(c.replicas[1].base.clone()).await;
    assert_eq!(again.status(), 401);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{body}"
    );
}

async fn an_agent_disabled_on_one_replica_is_refused_on_the_other_within_a_second(c: &Cluster) {
    let (one, two) = (&c.replicas[0].base, &c.replicas[1].base);
    let (id, cid, secret) = c.agent_with_secret(one, "to-disable").await;
    // Replica 2 serves it (and caches it).
    assert_eq!(c.token(two, &cid, &secret).await.status(), 200);
    assert_eq!(c.token(two, &cid, &secret).await.status(), 200);
    c.admin(
        one,
        reqwest::Method::POST,
        &format!("/agents/{id}/disable"),
        json!({}),
    )
    .await;
    let disabled_at = Instant::now();
    loop {
        let r = c.token(two, &cid, &secret).await;
        if r.status() == 401 {
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"], "invalid_client");
            println!(
                "disable on replica 1 refused on replica 2 after {:?}",
                disabled_at.elapsed()
            );
            break;
        }
        assert_eq!(r.status(), 200);
        assert!(
            disabled_at.elapsed() < Duration::from_secs(1),
            "replica 2 still issued tokens 1 s after replica 1 disabled the agent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_console_session_started_on_one_replica_works_on_the_other(c: &Cluster) {
    let (one, two) = (&c.replicas[0].base, &c.replicas[1].base);
    let whoami = |base: String| async move {
        c.http
            .post(format!("{base}/console/api/whoami"))
            .header("origin", &c.front)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert_eq!(whoami(two.clone()).await, "null", "not signed in yet");
    let login = c
        .http
        .post(format!("{one}/console/api/login"))
        .header("origin", &c.front)
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(
        login.status().is_success() || login.status().is_redirection(),
        "{}",
        login.status()
    );
    assert_eq!(whoami(one.clone()).await, "\"admin\"");
    assert_eq!(whoami(two.clone()).await, "\"admin\"");
    // Signing out on replica 2 ends the session on replica 1 too.
    c.http
        .post(format!("{two}/console/api/logout"))
        .header("origin", &c.front)
        .send()
        .await
        .unwrap();
    assert_eq!(whoami(one.clone()).await, "null");
}

async fn a_rotated_key_is_published_everywhere_before_it_signs(c: &Cluster) {
    let (one, two) = (c.replicas[0].base.clone(), c.replicas[1].base.clone());
    let (_, cid, secret) = c.agent_with_secret(&one, "rotation-watcher").await;
    let before = c.kids(&two).await;
    let new = c
        .admin(
            &one,
            reqwest::Method::POST,
            "/signing-keys/rotate",
            json!({}),
        )
        .await;
    let new_kid = new["kid"].as_str().unwrap().to_owned();
    assert_eq!(new["state"], "next");
    assert!(!before.contains(&new_kid));
    // Tokens from each replica, for longer than the publish lead: every
    // token's key was already in the *other* replica's JWKS, fetched just
    // before the token was asked for.
    let deadline = Instant::now() + Duration::from_secs(PUBLISH_LEAD_SECS as u64 + 2);
    let mut signed_by_new = [0usize; 2];
    let mut tokens = 0;
    while Instant::now() < deadline {
        for (i, (signer, other)) in [(&one, &two), (&two, &one)].into_iter().enumerate() {
            let published = c.kids(other).await;
            let r = c.token(signer, &cid, &secret).await;
            assert_eq!(r.status(), 200);
            let t: Value = r.json().await.unwrap();
            let kid = kid_of(t["access_token"].as_str().unwrap());
            assert!(
                published.contains(&kid),
                "replica {} signed with {kid} before the other replica published it ({published:?})",
                i + 1
            );
            tokens += 1;
            if kid == new_kid {
                signed_by_new[i] += 1;
            }
        }
    }
    println!(
        "rotation: {tokens} tokens across the switch, {} and {} signed by the new key, every one verifiable with the other replica's JWKS fetched before it",
        signed_by_new[0], signed_by_new[1]
    );
    assert!(
        signed_by_new[0] > 0 && signed_by_new[1] > 0,
        "after the lead both replicas sign with the new key ({signed_by_new:?} of {tokens})"
    );
    // The old key stays published (tokens it signed are still valid).
    let after = c.kids(&two).await;
    assert!(before.is_subset(&after) && after.contains(&new_kid));
    let listed = c
        .admin(&two, reqwest::Method::GET, "/signing-keys", Value::Null)
        .await;
    let states: Vec<(String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().to_owned(),
                k["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(states.contains(&(new_kid, "active".into())), "{states:?}");
    assert!(states.iter().any(|(_, s)| s == "retiring"), "{states:?}");
}

struct Outcome {
    started: Instant,
    jti: Option<String>,
}

async fn killing_a_replica_mid_load_loses_nothing_answered(mut c: Cluster) -> Cluster {
    let front = c.front.clone();
    let (_, cid, secret) = c.agent_with_secret(&front, "under-load").await;
    let outcomes = Arc::new(Mutex::new(Vec::<Outcome>::new()));
    let stop_at = Instant::now() + Duration::from_secs(5);
    let mut tasks = Vec::new();
    for _ in 0..LOAD_TASKS {
        let (http, url, cid, secret, outcomes) = (
            c.http.clone(),
            c.token_url(),
            cid.clone(),
            secret.clone(),
            outcomes.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while Instant::now() < stop_at {
                let started = Instant::now();
                let r = http
                    .post(&url)
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", cid.as_str()),
                        ("client_secret", secret.as_str()),
                        ("scope", PAM_ALL),
                    ])
                    .send()
                    .await;
                let jti = match r {
                    Ok(r) if r.status() == 200 => {
                        let t: Value = r.json().await.unwrap();
                        Some(
                            claims_of(t["access_token"].as_str().unwrap())["jti"]
                                .as_str()
                                .unwrap()
                                .to_owned(),
                        )
                    }
                    _ => None,
                };
                outcomes.lock().unwrap().push(Outcome { started, jti });
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed_at = Instant::now();
    c.replicas[0].child.kill().unwrap();
    c.replicas[0].child.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.jti.is_none()).collect();
    let answered: Vec<&str> = outcomes.iter().filter_map(|o| o.jti.as_deref()).collect();
    assert!(answered.len() > 50, "too little load: {}", answered.len());
    // Only requests in flight at the kill fail: at most one per client task
    // was sent to the killed replica, or forwarded by HAProxy on a kept-alive
    // connection to it before HAProxy saw it die (a POST sent is not
    // retried: it may have been served). HAProxy's checks take the replica
    // out within `inter 500ms fall 2`; after that nothing fails.
    let detection = Duration::from_secs(1);
    assert!(
        failed.len() <= LOAD_TASKS,
        "{} requests failed through HAProxy (at most {LOAD_TASKS} were in flight)",
        failed.len()
    );
    for f in &failed {
        assert!(
            f.started <= killed_at + detection,
            "a request started {:?} after the kill failed",
            f.started - killed_at
        );
    }
    let last_failure = failed
        .iter()
        .map(|f| f.started.saturating_duration_since(killed_at))
        .max()
        .unwrap_or_default();
    println!(
        "kill under load: {} answered, {} failed, last failing request started {last_failure:?} after the kill",
        outcomes.len() - failed.len(),
        failed.len()
    );
    // Every answered token has its audit row (no audit, no answer).
    let db = Database::connect(&c.db_url).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT jti FROM audit_events WHERE outcome = 'issued' AND jti IS NOT NULL",
        ))
        .await
        .unwrap();
    let audited: HashSet<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "jti").unwrap())
        .collect();
    let lost: Vec<&&str> = answered.iter().filter(|j| !audited.contains(**j)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} answered tokens have no audit row",
        lost.len(),
        answered.len()
    );
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_behind_haproxy_share_everything_that_matters() {
    let c = start_cluster().await;
    both_replicas_publish_the_same_keys(&c).await;
    an_assertion_used_on_one_replica_is_refused_on_the_other(&c).await;
    an_agent_disabled_on_one_replica_is_refused_on_the_other_within_a_second(&c).await;
    a_console_session_started_on_one_replica_works_on_the_other(&c).await;
    a_rotated_key_is_published_everywhere_before_it_signs(&c).await;
    let c = killing_a_replica_mid_load_loses_nothing_answered(c).await;
    c.stop().await;
}
