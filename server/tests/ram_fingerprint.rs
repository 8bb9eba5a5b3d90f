//! Seed 004: the fingerprint Writ shows for its issuer URL is the one
//! Alibaba Cloud RAM's *Get Fingerprint* and its documented OpenSSL
//! procedure compute: `openssl s_client -showcerts` against the running
//! Writ, the last certificate printed, its SHA-1 fingerprint, colons removed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Backend, spawn};
use serde_json::Value;
use std::process::{Command, Stdio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ram_fingerprint_is_what_the_openssl_procedure_computes() {
    let s = spawn(Backend::Sqlite).await;
    let info: Value = s.admin_get("/issuer").await.json().await.unwrap();
    let shown = info["ram_fingerprint"]
        .as_str()
        .expect("a fingerprint")
        .to_owned();
    assert_eq!(shown.len(), 40, "{info}");
    assert!(
        info["ram_fingerprint_certificate"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );

    // The procedure, step by step, as the documentation gives it.
    let hostport = s.base.trim_start_matches("https://").to_owned();
    let host = hostport.split(':').next().unwrap().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &hostport,
                "-servername",
                &host,
                "-showcerts",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let last = text
        .match_indices("-----BEGIN CERTIFICATE-----")
        .last()
        .map(|(i, _)| {
            let end = text[i..].find("-----END CERTIFICATE-----").unwrap() + i;
            format!("{}-----END CERTIFICATE-----\n", &text[i..end])
        })
        .expect("s_client printed the chain");
    let dir = s.dir.join("ram");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("top.pem"), last).unwrap();
    let fp = Command::new("openssl")
        .args(["x509", "-in"])
        .arg(dir.join("top.pem"))
        .args(["-fingerprint", "-sha1", "-noout"])
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&fp.stdout).trim().to_owned();
    let computed = line.split('=').nth(1).unwrap().replace(':', "");
    assert_eq!(computed, shown, "openssl says {line}");

    // The one-line command the console shows gives the same.
    let cmd = info["ram_fingerprint_command"].as_str().unwrap().to_owned();
    let one = tokio::task::spawn_blocking(move || {
        Command::new("bash").args(["-c", &cmd]).output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&one.stdout).trim(), shown);
    s.stop().await;
}
