//! Running Writ like production: `/metrics` counts what the token endpoint
//! did (issued and refused by method and outcome, refusals by reason, the
//! latency histogram) exactly, and is not open to everyone on the main
//! listener; `/healthz` and `/readyz`; every request's `x-request-id`
//! (given or made) echoed; and, from the real binary with
//! `WRIT_LOG_FORMAT=json`, log lines that are all JSON, carry the request
//! id, and never a secret.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::{ADMIN_TOKEN, Backend, TestServer, spawn_configured};
use serde_json::{Value, json};
use std::net::SocketAddr;

on_both_backends!(
    metrics_count_tokens_and_refusals_exactly,
    health_and_readiness_answer,
    request_ids_are_echoed_or_made,
);

const PAM_ALL: &str = "urn:cloud:idaas:pam|.all";

/// A server with the plain-HTTP metrics listener on an ephemeral port.
async fn spawn_with_metrics(backend: Backend) -> (TestServer, SocketAddr) {
    let server = spawn_configured(backend, |c| {
        c.metrics_bind = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await;
    let addr = server.running.metrics_addr.expect("metrics listener");
    (server, addr)
}

async fn scrape(addr: SocketAddr) -> String {
    let r = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    let text = r.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    text
}

/// The value of one sample (`name{labels}` exactly as written), 0 when
/// the series does not exist yet.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0.0)
}

fn tokens(method: &str, outcome: &str) -> String {
    format!(
        r#"writ_token_requests_total{{grant="client_credentials",method="{method}",outcome="{outcome}"}}"#
    )
}

fn latency_count(method: &str, outcome: &str) -> String {
    format!(
        r#"writ_token_request_duration_seconds_count{{grant="client_credentials",method="{method}",outcome="{outcome}"}}"#
    )
}

async fn metrics_count_tokens_and_refusals_exactly(backend: Backend) {
    let (s, maddr) = spawn_with_metrics(backend).await;
    let (agent, _, secret) = s.agent_with_secret("metered").await;
    let client_id = agent["client_id"].as_str().unwrap();
    let mismatch = r#"writ_token_refusals_total{error="invalid_client",reason="secret_mismatch"}"#;
    let content_type =
        r#"writ_token_refusals_total{error="invalid_request",reason="content_type"}"#;
    let unparsed = r#"writ_token_requests_total{grant="none",method="none",outcome="refused"}"#;
    let series = [
        tokens("client_secret_post", "issued"),
        tokens("client_secret_post", "refused"),
        tokens("client_secret_basic", "issued"),
        latency_count("client_secret_post", "issued"),
        latency_count("client_secret_post", "refused"),
        mismatch.to_owned(),
        content_type.to_owned(),
        unparsed.to_owned(),
    ];
    let before = scrape(maddr).await;
    let was: Vec<f64> = series.iter().map(|k| sample(&before, k)).collect();

    // One token by client_secret_post, one by client_secret_basic, two
    // refused for a wrong secret, one refused before parsing.
    s.token(client_id, &secret, PAM_ALL).await;
    let r = s
        .http
        .post(s.token_url())
        .basic_auth(client_id, Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("scope", PAM_ALL)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for _ in 0..2 {
        let r = s
            .token_post(client_id, "writcs_not-the-secret", PAM_ALL)
            .await;
        assert_eq!(r.status(), 401);
    }
    let r = s
        .http
        .post(s.token_url())
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    let after = scrape(maddr).await;
    let moved: Vec<f64> = series
        .iter()
        .zip(&was)
        .map(|(k, w)| sample(&after, k) - w)
        .collect();
    assert_eq!(
        moved,
        vec![1.0, 2.0, 1.0, 1.0, 2.0, 2.0, 1.0, 1.0],
        "series {series:#?}\n{after}"
    );
    // Every family is there, bounded labels only.
    for family in [
        r#"writ_jwks_fetches_total{outcome="ok"}"#,
        r#"writ_jwks_fetches_total{outcome="failed"}"#,
        r#"writ_db_pool_connections{pool="main",state="idle"}"#,
        r#"writ_db_pool_connections{pool="main",state="in_use"}"#,
        r#"writ_db_pool_max_connections{pool="main"}"#,
        "writ_audit_queue_depth",
        "writ_audit_queue_capacity",
        "writ_build_info{",
        r#"writ_token_request_duration_seconds_bucket{le="+Inf",grant="client_credentials",method="client_secret_post",outcome="issued"}"#,
    ] {
        assert!(after.contains(family), "{family} missing:\n{after}");
    }
    assert!(sample(&after, r#"writ_db_pool_max_connections{pool="main"}"#) >= 1.0);
    // A refusal the service never timed makes no latency series.
    assert!(
        !after.contains(r#"duration_seconds_count{grant="none""#),
        "{after}"
    );
    assert!(
        !after.contains(client_id) && !after.contains(&secret),
        "no client data in metrics"
    );

    // On the main listener: an admin API token, or nothing.
    let r = s.http.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = s
        .http
        .get(s.url("/metrics"))
        .bearer_auth("not-an-admin-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = s
        .http
        .get(s.url("/metrics"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let main = r.text().await.unwrap();
    assert_eq!(
        sample(&main, &tokens("client_secret_post", "refused")),
        sample(&after, &tokens("client_secret_post", "refused"))
    );
    s.stop().await;
}

async fn health_and_readiness_answer(backend: Backend) {
    let (s, maddr) = spawn_with_metrics(backend).await;
    let plain = format!("http://{maddr}");
    for base in [s.base.clone(), plain] {
        let r = s.http.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{base}");
        assert_eq!(r.text().await.unwrap(), "ok");
        let r = s.http.get(format!("{base}/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{base}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body,
            json!({"status": "ready", "checks": {
                "database": "ok", "signing_key": "ok", "audit_writer": "ok"}}),
        );
    }
    s.stop().await;
}

async fn request_ids_are_echoed_or_made(backend: Backend) {
    let (s, maddr) = spawn_with_metrics(backend).await;
    let id_of = |r: &reqwest::Response| {
        r.headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned())
            .expect("x-request-id")
    };
    for url in [s.url("/healthz"), format!("http://{maddr}/healthz")] {
        // Given: echoed.
        let r = s
            .http
            .get(&url)
            .header("x-request-id", "lb-7f3a.2:x_y")
            .send()
            .await
            .unwrap();
        assert_eq!(id_of(&r), "lb-7f3a.2:x_y");
        // None, or one that is too long or has odd characters: a new one.
        let made = id_of(&s.http.get(&url).send().await.unwrap());
        assert!(
            made.len() == 32 && made.bytes().all(|b| b.is_ascii_hexdigit()),
            "{made}"
        );
        for bad in ["a".repeat(65), "two words".into(), "<script>".into()] {
            let r = s
                .http
                .get(&url)
                .header("x-request-id", &bad)
                .send()
                .await
                .unwrap();
            let got = id_of(&r);
            assert_ne!(got, bad);
            assert_eq!(got.len(), 32);
        }
    }
    // An error body names the same request.
    let r = s
        .http
        .post(s.token_url())
        .header("x-request-id", "trace-me-42")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "nobody"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&r), "trace-me-42");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["request_id"], "trace-me-42", "{body}");
    s.stop().await;
}

/// The real binary with `WRIT_LOG_FORMAT=json`: every line it writes is a
/// JSON object, the lines of a request carry its id, and no secret it was
/// sent (form field, Basic header, bearer token, cookie) is written.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id_and_no_secret() {
    use std::process::{Command, Stdio};
    use std::time::Duration;
    const TOKEN: &str = "json-logs-admin-token-0123456789";
    let dir = std::env::temp_dir().join(format!("writ-jsonlog-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out_path = dir.join("stdout.log");
    let err_path = dir.join("stderr.log");
    let mut writ = Command::new(env!("CARGO_BIN_EXE_writ"))
        .env("WRIT_DATA_DIR", &dir)
        .env("WRIT_BIND", format!("127.0.0.1:{port}"))
        .env("WRIT_BOOTSTRAP_ADMIN_TOKEN", TOKEN)
        .env("WRIT_ADMIN_PASSWORD", "json-logs-test-password")
        .env("WRIT_LOG_FORMAT", "json")
        .env("WRIT_LOG", "debug,sqlx=warn,hyper=info,h2=info,rustls=info")
        .env_remove("WRIT_DATABASE_URL")
        .env_remove("WRIT_METRICS_BIND")
        .stdout(Stdio::from(std::fs::File::create(&out_path).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err_path).unwrap()))
        .spawn()
        .unwrap();
    let base = format!("https://localhost:{port}");
    let mut http = None;
    for _ in 0..300 {
        if let Ok(ca) = std::fs::read(dir.join("ca.pem")) {
            let c = reqwest::Client::builder()
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
    let agent: Value = http
        .post(format!("{base}/api/admin/v1/agents"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "logged", "owner": "ops"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret: Value = http
        .post(format!(
            "{base}/api/admin/v1/agents/{}/client-secrets",
            agent["id"].as_str().unwrap()
        ))
        .bearer_auth(TOKEN)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_id = agent["client_id"].as_str().unwrap();
    let secret = secret["client_secret"].as_str().unwrap();
    let token_url = format!("{base}/api/v2/iauths_system/oauth2/token");
    let wrong = "writcs_WrongSecretMarker0123456789";
    let cookie = "CookieValueMarker0123456789";
    let request_id = format!("jsonlog-{}", uuid::Uuid::new_v4().simple());

    // Refused: a wrong secret in the form, a cookie, and a known id.
    let r = http
        .post(&token_url)
        .header("x-request-id", &request_id)
        .header("cookie", format!("id={cookie}"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", wrong),
            ("scope", PAM_ALL),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["x-request-id"], request_id.as_str());
    // Refused: the wrong secret in a Basic header. Issued: the right one.
    let r = http
        .post(&token_url)
        .basic_auth(client_id, Some(wrong))
        .form(&[("grant_type", "client_credentials"), ("scope", PAM_ALL)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .post(&token_url)
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", PAM_ALL)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let access_token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let killed = Command::new("kill")
        .args(["-TERM", &writ.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || writ.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");

    let out = std::fs::read_to_string(&out_path).unwrap();
    let err = std::fs::read_to_string(&err_path).unwrap();
    let all = format!("{out}{err}");
    let lines: Vec<Value> = all
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.iter().all(Value::is_object), "{all}");
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "writ started"),
        "the start line is a JSON record too:\n{all}"
    );
    // The refused request's lines carry its id, in the request span.
    let tagged: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["spans"]
                .as_array()
                .is_some_and(|spans| spans.iter().any(|s| s["request_id"] == request_id.as_str()))
        })
        .collect();
    assert!(
        tagged
            .iter()
            .any(|l| l["target"] == "writ::access" && l["fields"]["status"] == 401),
        "no access line with {request_id}:\n{all}"
    );
    let basic = |secret: &str| {
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{client_id}:{secret}"),
        )
    };
    for (what, needle) in [
        ("the wrong secret", wrong.to_owned()),
        ("the secret", secret.to_owned()),
        ("a Basic header", basic(wrong)),
        ("a Basic header", basic(secret)),
        ("the admin token", TOKEN.to_owned()),
        ("the cookie", cookie.to_owned()),
        ("the access token", access_token),
        ("the admin password", "json-logs-test-password".to_owned()),
    ] {
        assert!(!all.contains(&needle), "{what} is in the logs:\n{all}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
