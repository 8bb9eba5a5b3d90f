//! Behind a load balancer (issue 14): with `WRIT_TRUSTED_PROXIES` set, the
//! client a trusted proxy names in `X-Forwarded-For` is the source that
//! throttles and the audit log key; without it, the header is ignored, so a
//! caller cannot choose its own throttle bucket.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Backend, TestServer, spawn, spawn_configured};
use serde_json::Value;
use writ_core::client_address::TrustedProxies;

/// A wrong secret sent with `X-Forwarded-For: forwarded`; returns the
/// audit row's source.
async fn refused_source(s: &TestServer, forwarded: &str) -> String {
    let (agent, _, _) = s.agent_with_secret("behind-lb").await;
    let r = s
        .http
        .post(s.token_url())
        .header("x-forwarded-for", forwarded)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", agent["client_id"].as_str().unwrap()),
            ("client_secret", "writcs_wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    s.running.writ.flush_audit().await;
    let events: Value = s
        .admin_get(&format!("/agents/{}/audit", agent["id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    events[0]["source"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_is_ignored_unless_the_peer_is_a_trusted_proxy() {
    let s = spawn(Backend::Sqlite).await;
    assert_eq!(refused_source(&s, "198.51.100.7").await, "127.0.0.1");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_names_the_client_and_forged_hops_do_not_count() {
    let s = spawn_configured(Backend::Sqlite, |c| {
        c.trusted_proxies = TrustedProxies::parse("127.0.0.1/32").unwrap();
    })
    .await;
    assert_eq!(refused_source(&s, "198.51.100.7").await, "198.51.100.7");
    // Hops a client wrote left of the one the proxy appended prove nothing.
    assert_eq!(
        refused_source(&s, "203.0.113.66, 198.51.100.8").await,
        "198.51.100.8"
    );
    s.stop().await;
}
