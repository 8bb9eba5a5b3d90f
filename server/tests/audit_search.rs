//! Audit search over HTTP, on SQLite and PostgreSQL: the token audit log
//! filtered by client, method, outcome, reason, source and time; keyset
//! paging (no duplicates, no gaps, `next_cursor` null at the end); the
//! JSON-lines export (through the admin token and the console session,
//! paging through more rows than one chunk); clear 400s for bad
//! parameters; and the admin change log: who changed what, before and
//! after, never a secret value.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::{ADMIN_PASSWORD, ADMIN_TOKEN, Backend, TestServer, now, spawn};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use std::collections::HashSet;

on_both_backends!(
    every_filter_narrows_the_token_audit,
    paging_has_no_duplicates_and_no_gaps,
    export_streams_json_lines_through_many_chunks,
    bad_parameters_are_400_with_the_field_named,
    admin_changes_are_audited_with_actor_and_without_secrets,
    console_changes_and_export_use_the_session,
);

const PAM: &str = "urn:cloud:idaas:pam|.all";

/// `GET /api/admin/v1/audit?query`: the page.
async fn search(s: &TestServer, query: &str) -> Value {
    let r = s.admin_get(&format!("/audit?{query}")).await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{query}: {body}");
    body
}

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().unwrap()
}

/// Every row matching `query` (one page of 500 is enough here).
async fn all_rows(s: &TestServer, query: &str) -> Vec<Value> {
    let page = search(s, &format!("{query}&limit=500")).await;
    assert!(page["next_cursor"].is_null());
    items(&page).clone()
}

/// A token request with HTTP Basic client authentication.
async fn token_basic(s: &TestServer, client_id: &str, secret: &str) -> u16 {
    s.http
        .post(s.token_url())
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", PAM)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Two agents with token requests issued and refused: (A's client_id, B's).
/// A: 4 issued (post), 2 refused (wrong secret); B: 3 issued (basic),
/// 1 refused (wrong secret, basic). Plus one request for a client that
/// does not exist.
async fn traffic(s: &TestServer) -> (String, String) {
    let (a, _, a_secret) = s.agent_with_secret("audit-a").await;
    let (b, _, b_secret) = s.agent_with_secret("audit-b").await;
    let (a, b) = (
        a["client_id"].as_str().unwrap().to_owned(),
        b["client_id"].as_str().unwrap().to_owned(),
    );
    for _ in 0..4 {
        s.token(&a, &a_secret, PAM).await;
    }
    for _ in 0..2 {
        assert_eq!(s.token_post(&a, "writcs_wrong", PAM).await.status(), 401);
    }
    for _ in 0..3 {
        assert_eq!(token_basic(s, &b, &b_secret).await, 200);
    }
    assert_eq!(token_basic(s, &b, "writcs_wrong").await, 401);
    assert_eq!(
        s.token_post("app_nobody", "writcs_x", PAM).await.status(),
        401
    );
    (a, b)
}

/// Requests a set of rows stands for (a folded refusal row counts many).
fn requests(rows: &[Value]) -> i64 {
    rows.iter().map(|r| r["count"].as_i64().unwrap()).sum()
}

async fn every_filter_narrows_the_token_audit(b: Backend) {
    let s = spawn(b).await;
    let start = now();
    let (a, bb) = traffic(&s).await;

    // client_id
    let rows = all_rows(&s, &format!("client_id={a}")).await;
    assert!(rows.iter().all(|r| r["client_id"] == a.as_str()));
    assert_eq!(requests(&rows), 6);
    // Newest first, every row with its id.
    let ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");

    // client_id + outcome
    let issued = all_rows(&s, &format!("client_id={a}&outcome=issued")).await;
    assert_eq!(issued.len(), 4);
    assert!(issued.iter().all(|r| r["outcome"] == "issued"));
    let refused = all_rows(&s, &format!("client_id={a}&outcome=refused")).await;
    assert_eq!(requests(&refused), 2);
    assert!(refused.iter().all(|r| r["outcome"] == "refused"));

    // method
    let basic = all_rows(&s, "method=client_secret_basic").await;
    assert_eq!(requests(&basic), 4);
    assert!(
        basic
            .iter()
            .all(|r| r["method"] == "client_secret_basic" && r["client_id"] == bb.as_str())
    );
    let post = all_rows(&s, "method=client_secret_post").await;
    assert!(post.iter().all(|r| r["method"] == "client_secret_post"));
    assert!(post.iter().all(|r| r["client_id"] != bb.as_str()));

    // reason
    let reason = refused[0]["reason"].as_str().unwrap().to_owned();
    assert_eq!(reason, "secret_mismatch");
    let by_reason = all_rows(&s, &format!("reason={reason}")).await;
    assert_eq!(requests(&by_reason), 3, "A's two and B's one");
    assert!(by_reason.iter().all(|r| r["reason"] == reason.as_str()));
    let unknown = all_rows(&s, "client_id=app_nobody").await;
    assert_eq!(requests(&unknown), 1);
    assert_ne!(unknown[0]["reason"], "secret_mismatch");

    // source
    let local = all_rows(&s, "source=127.0.0.1").await;
    assert_eq!(requests(&local), 4 + 2 + 3 + 1 + 1);
    assert!(items(&search(&s, "source=203.0.113.9").await).is_empty());

    // time range (inclusive unix seconds)
    let end = now();
    let window = all_rows(&s, &format!("since={start}&until={end}")).await;
    assert_eq!(requests(&window), 11);
    assert!(window.iter().all(|r| {
        let at = r["at"].as_i64().unwrap();
        at >= start && at <= end
    }));
    assert!(
        items(&search(&s, &format!("since={}", end + 3600)).await).is_empty(),
        "nothing after now"
    );
    assert!(
        items(&search(&s, &format!("until={}", start - 3600)).await).is_empty(),
        "nothing before the test"
    );

    // Filters combine; blank ones are no filter.
    let combo = all_rows(
        &s,
        &format!(
            "client_id={bb}&method=client_secret_basic&outcome=refused&reason={reason}&source=127.0.0.1&since={start}&until=&cursor="
        ),
    )
    .await;
    assert_eq!(requests(&combo), 1);
    s.stop().await;
}

async fn paging_has_no_duplicates_and_no_gaps(b: Backend) {
    let s = spawn(b).await;
    traffic(&s).await;
    let everything: Vec<i64> = all_rows(&s, "")
        .await
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert!(everything.len() >= 9, "{}", everything.len());
    for limit in [1usize, 2, 3, everything.len(), everything.len() + 1] {
        let mut seen = Vec::new();
        let mut cursor: Option<i64> = None;
        let mut pages = 0;
        loop {
            let q = match cursor {
                Some(c) => format!("limit={limit}&cursor={c}"),
                None => format!("limit={limit}"),
            };
            let page = search(&s, &q).await;
            pages += 1;
            let got: Vec<i64> = items(&page)
                .iter()
                .map(|r| r["id"].as_i64().unwrap())
                .collect();
            assert!(got.len() <= limit);
            seen.extend(got.iter().copied());
            match page["next_cursor"].as_i64() {
                Some(next) => {
                    assert_eq!(got.len(), limit, "only a full page has a next one");
                    assert_eq!(Some(&next), got.last(), "the cursor is the last row");
                    cursor = Some(next);
                }
                None => break,
            }
            assert!(pages <= everything.len() + 1, "paging ends");
        }
        let unique: HashSet<i64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "no duplicates (limit {limit})");
        assert_eq!(seen, everything, "no gaps, same order (limit {limit})");
        assert_eq!(
            pages,
            everything.len().div_ceil(limit).max(1),
            "limit {limit}"
        );
    }
    // A page past the end is empty and last.
    let last = *everything.last().unwrap();
    let page = search(&s, &format!("cursor={last}")).await;
    assert!(items(&page).is_empty() && page["next_cursor"].is_null());
    // Rows written while paging never shift a page: they are newer than
    // any cursor.
    let first = search(&s, "limit=2").await;
    let cursor = first["next_cursor"].as_i64().unwrap();
    traffic(&s).await;
    let second = search(&s, &format!("limit=2&cursor={cursor}")).await;
    let want: Vec<i64> = everything[2..4].to_vec();
    let got: Vec<i64> = items(&second)
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, want);
    s.stop().await;
}

/// The export's body as lines, each parsed (each must be one JSON object).
async fn export_lines(r: reqwest::Response) -> Vec<Value> {
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/x-ndjson"
    );
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let body = r.text().await.unwrap();
    assert!(body.is_empty() || body.ends_with('\n'), "every line ends");
    body.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            assert!(v.is_object(), "{l}");
            v
        })
        .collect()
}

/// Writes `n` refusal rows for `client_id` straight into the database.
async fn bulk_rows(s: &TestServer, client_id: &str, n: usize) {
    let db = Database::connect(&s.database_url).await.unwrap();
    let at = now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(250) {
        let values: Vec<String> = chunk
            .iter()
            .map(|i| {
                format!(
                    "({at}, '{client_id}', 'client_secret_post', '', '', '', 'refused', 'secret_mismatch', '198.51.100.{}')",
                    i % 200
                )
            })
            .collect();
        db.execute_unprepared(&format!(
            "INSERT INTO audit_events (at, client_id, method, audience, scope, jti, outcome, reason, source) VALUES {}",
            values.join(", ")
        ))
        .await
        .unwrap();
    }
    db.close().await.unwrap();
}

async fn export_streams_json_lines_through_many_chunks(b: Backend) {
    let s = spawn(b).await;
    let (a, _) = traffic(&s).await;
    let rows = all_rows(&s, &format!("client_id={a}")).await;
    let before_bulk = all_rows(&s, "").await.len();

    // Filtered: the same rows as the search, in the same order.
    let lines = export_lines(s.admin_get(&format!("/audit/export?client_id={a}")).await).await;
    assert_eq!(lines, rows);
    // `limit` caps the file; `cursor` starts below a row.
    let lines = export_lines(
        s.admin_get(&format!("/audit/export?client_id={a}&limit=2"))
            .await,
    )
    .await;
    assert_eq!(lines, rows[..2].to_vec());
    let c = rows[0]["id"].as_i64().unwrap();
    let lines = export_lines(
        s.admin_get(&format!("/audit/export?client_id={a}&cursor={c}"))
            .await,
    )
    .await;
    assert_eq!(lines, rows[1..].to_vec());
    // Nothing matches: an empty file, still 200.
    assert!(
        export_lines(s.admin_get("/audit/export?source=203.0.113.9").await)
            .await
            .is_empty()
    );

    // More rows than one chunk (1,000): every one, once, newest first.
    bulk_rows(&s, "app_bulk", 2_345).await;
    let lines = export_lines(s.admin_get("/audit/export?client_id=app_bulk").await).await;
    assert_eq!(lines.len(), 2_345);
    let ids: Vec<i64> = lines.iter().map(|l| l["id"].as_i64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeat"
    );
    assert!(lines.iter().all(|l| l["client_id"] == "app_bulk"));
    let lines = export_lines(
        s.admin_get("/audit/export?client_id=app_bulk&source=198.51.100.7")
            .await,
    )
    .await;
    assert_eq!(lines.len(), 12, "2,345 rows over 200 sources");
    let lines = export_lines(s.admin_get("/audit/export?limit=1500").await).await;
    assert_eq!(lines.len(), 1_500);
    // Without a filter: everything.
    let total = export_lines(s.admin_get("/audit/export").await).await.len();
    assert_eq!(total, 2_345 + before_bulk);

    // The admin token guards it like every admin route.
    let r = s
        .http
        .get(s.url("/api/admin/v1/audit/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    s.stop().await;
}

/// The status and error description of `GET path` with the admin token.
async fn refused(s: &TestServer, path: &str) -> (u16, String) {
    let r = s.admin_get(path).await;
    let status = r.status().as_u16();
    // A 200 export is JSON lines (or nothing), not one JSON document.
    let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap_or_default();
    (
        status,
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

async fn bad_parameters_are_400_with_the_field_named(b: Backend) {
    let s = spawn(b).await;
    for (q, field) in [
        ("limit=0", "limit:"),
        ("limit=501", "limit:"),
        ("limit=ten", "limit:"),
        ("limit=-1", "limit:"),
        ("limit=99999999999999999999999", "limit:"),
        ("since=yesterday", "since:"),
        ("until=1.5", "until:"),
        ("since=20&until=10", "since: must not be after until"),
        ("cursor=0", "cursor:"),
        ("cursor=abc", "cursor:"),
        ("outcome=maybe", "outcome: must be issued or refused"),
        (
            "client_id=%00x",
            "client_id: must not contain control characters",
        ),
        ("source=1.2%0A3.4", "source:"),
        ("reason=", ""), // blank is no filter: not an error
        ("nonsense=1", "unknown field `nonsense`"),
        ("client_id=a&client_id=b", "duplicate field `client_id`"),
    ] {
        let (status, msg) = refused(&s, &format!("/audit?{q}")).await;
        if field.is_empty() {
            assert_eq!(status, 200, "{q}");
            continue;
        }
        assert_eq!(status, 400, "{q}: {msg}");
        assert!(msg.contains(field), "{q}: {msg}");
        // The export checks before it sends anything.
        let (status, msg) = refused(&s, &format!("/audit/export?{q}")).await;
        if !q.starts_with("limit=501") {
            assert_eq!(status, 400, "export {q}: {msg}");
            assert!(msg.contains(field), "export {q}: {msg}");
        }
    }
    // The export's own limit: up to 1,000,000 rows.
    assert_eq!(refused(&s, "/audit/export?limit=501").await.0, 200);
    let (status, msg) = refused(&s, "/audit/export?limit=1000001").await;
    assert_eq!(status, 400);
    assert!(msg.contains("1 to 1000000"), "{msg}");
    // The admin change log's too.
    for (q, field) in [
        ("limit=0", "limit:"),
        ("since=x", "since:"),
        ("cursor=-3", "cursor:"),
        ("actor=%01", "actor:"),
        ("who=me", "unknown field `who`"),
    ] {
        let (status, msg) = refused(&s, &format!("/admin-audit?{q}")).await;
        assert_eq!(status, 400, "{q}: {msg}");
        assert!(msg.contains(field), "{q}: {msg}");
    }
    // Listed in the OpenAPI document.
    let doc: Value = s
        .http
        .get(s.url("/api/admin/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for p in [
        "/api/admin/v1/audit",
        "/api/admin/v1/audit/export",
        "/api/admin/v1/admin-audit",
    ] {
        assert!(doc["paths"].get(p).is_some(), "OpenAPI lists {p}");
    }
    let params = doc["paths"]["/api/admin/v1/audit"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let names: HashSet<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
    for n in [
        "client_id",
        "method",
        "outcome",
        "reason",
        "source",
        "since",
        "until",
        "limit",
        "cursor",
    ] {
        assert!(names.contains(n), "{n} documented");
    }
    s.stop().await;
}

/// Every admin change row, newest first (all pages, 1 row a page, so the
/// admin log's paging is exercised too).
async fn admin_log(s: &TestServer, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = s
            .admin_get(&format!("/admin-audit?limit=1&{query}{cursor}"))
            .await;
        assert_eq!(r.status(), 200);
        let page: Value = r.json().await.unwrap();
        out.extend(items(&page).iter().cloned());
        match page["next_cursor"].as_i64() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return out,
        }
        assert!(out.len() < 1000, "paging ends");
    }
}

async fn admin_changes_are_audited_with_actor_and_without_secrets(b: Backend) {
    let s = spawn(b).await;
    let start = now();
    let (agent, secret_id, secret) = s.agent_with_secret("audited-admin").await;
    let id = agent["id"].as_str().unwrap();
    // A second secret that keeps a sealed copy (client_secret_jwt).
    let r = s
        .admin_post(
            &format!("/agents/{id}/client-secrets"),
            json!({"allow_client_secret_jwt": true}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let sealed_secret = r.json::<Value>().await.unwrap()["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .admin_post(&format!("/agents/{id}/disable"), json!({}))
        .await;
    assert_eq!(r.status(), 200);
    // A vault credential made and its key replaced, and an admin token.
    let api_key = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c";
    let new_key = "sk-live-0000aaaa1111bbbb2222cccc3333dddd";
    let r = s
        .admin_post(
            "/credentials",
            json!({"identifier": "audit-llm", "name": "LLM", "business_type": "llm", "api_key": api_key}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let cred = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .admin_patch(&format!("/credentials/{cred}"), json!({"api_key": new_key}))
        .await;
    assert_eq!(r.status(), 200);
    let r = s.admin_post("/admin-tokens", json!({"name": "ci"})).await;
    let admin_token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // The agent's own changes: create, then disable, by the bootstrap token.
    let agent_log = admin_log(&s, &format!("resource_id={id}")).await;
    let actions: Vec<&str> = agent_log
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["agent.disable", "agent.create"]);
    for row in &agent_log {
        assert_eq!(row["actor_kind"], "api_token");
        assert_eq!(row["actor"], "bootstrap");
        assert!(!row["actor_id"].as_str().unwrap().is_empty());
        assert_eq!(row["source"], "127.0.0.1");
        assert_eq!(row["resource_type"], "agent");
        assert!(row["at"].as_i64().unwrap() >= start);
    }
    let (disable, create) = (&agent_log[0], &agent_log[1]);
    assert_eq!(disable["before"]["enabled"], true);
    assert_eq!(disable["after"]["enabled"], false);
    assert_eq!(disable["before"]["name"], "audited-admin");
    assert!(create["before"].is_null());
    assert_eq!(create["after"]["client_id"], agent["client_id"]);
    assert_eq!(create["after"]["enabled"], true);

    // The secret's creation: its view (hint, never the value) and its client.
    let secret_log = admin_log(&s, "action=secret.create").await;
    assert_eq!(secret_log.len(), 2);
    let first = secret_log
        .iter()
        .find(|r| r["resource_id"] == secret_id.as_str())
        .expect("the first secret's row");
    assert_eq!(first["after"]["client_pk"], id);
    assert_eq!(first["after"]["enabled"], true);
    assert!(first["after"]["hint"].is_string());

    // Filters of the change log.
    assert_eq!(
        admin_log(&s, "actor=bootstrap&resource_type=agent")
            .await
            .len(),
        2
    );
    assert_eq!(admin_log(&s, "action=credential.update").await.len(), 1);
    let upd = &admin_log(&s, "action=credential.update").await[0];
    assert_eq!(upd["after"]["value_replaced"], true);
    assert!(admin_log(&s, "actor=nobody").await.is_empty());
    assert!(
        admin_log(&s, &format!("since={}", now() + 3600))
            .await
            .is_empty()
    );
    let tokens = admin_log(&s, "resource_type=admin_token").await;
    assert!(tokens.iter().any(|r| r["action"] == "admin_token.create"
        && r["after"]["name"] == "ci"
        && r["actor"] == "bootstrap"));
    // At start, Writ itself made the console user and the bootstrap token.
    let system = admin_log(&s, "actor=writ").await;
    assert!(
        system
            .iter()
            .any(|r| r["action"] == "admin.create" && r["actor_kind"] == "system")
    );

    // Nowhere in the whole log: a secret, a key, a hash, a digest, a sealed value.
    let whole = serde_json::to_string(&admin_log(&s, "").await).unwrap();
    for leaked in [
        secret.as_str(),
        sealed_secret.as_str(),
        api_key,
        new_key,
        admin_token.as_str(),
        ADMIN_TOKEN,
        ADMIN_PASSWORD,
        "$argon2",
        "hmac-sha256",
        "writcs_",
        "writat_",
    ] {
        assert!(
            !whole.contains(leaked),
            "{leaked} in the admin log: {whole}"
        );
    }
    s.stop().await;
}

/// Signs in to the console on `s.http` (its cookie store keeps the session).
async fn console_sign_in(s: &TestServer) {
    let r = s
        .http
        .post(s.url("/console/api/login"))
        .header("origin", &s.base)
        .header("accept", "application/json")
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success() || r.status().is_redirection());
}

async fn console_changes_and_export_use_the_session(b: Backend) {
    let s = spawn(b).await;
    let (a, _) = traffic(&s).await;
    let agent = s.admin_get("/agents").await.json::<Value>().await.unwrap();
    let id = agent
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == a.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Without a session, the console's export is refused.
    let anonymous = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(
                &std::fs::read(s.running.ca_path.as_ref().unwrap()).unwrap(),
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    let r = anonymous
        .get(s.url(&format!("/console/audit/export?client_id={a}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    console_sign_in(&s).await;
    // A change through the console names the signed-in user.
    let r = s
        .http
        .post(s.url("/console/api/set_client_enabled"))
        .header("origin", &s.base)
        .header("accept", "application/json")
        .form(&[("id", id.as_str()), ("kind", "agent"), ("enabled", "false")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let rows = admin_log(&s, &format!("resource_id={id}&action=agent.disable")).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["actor_kind"], "console");
    assert_eq!(rows[0]["actor"], "admin");
    assert_eq!(rows[0]["source"], "127.0.0.1");
    // And the console's search shows it.
    let r = s
        .http
        .post(s.url("/console/api/search_admin_audit"))
        .header("origin", &s.base)
        .header("accept", "application/json")
        .form(&[("query[actor]", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap();
    assert!(
        items(&page)
            .iter()
            .any(|r| r["action"] == "agent.disable" && r["resource_id"] == id.as_str())
    );

    // The session cookie authorises the export download: the same lines.
    let lines = export_lines(
        s.http
            .get(s.url(&format!(
                "/console/audit/export?client_id={a}&outcome=issued"
            )))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines,
        all_rows(&s, &format!("client_id={a}&outcome=issued")).await
    );
    // A bad filter there is a 400 too.
    let r = s
        .http
        .get(s.url("/console/audit/export?limit=0"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    s.stop().await;
}
