//! Issue 14, item 10: the console's Content-Security-Policy, and the
//! server cutting off clients that drip their request (headers or body).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Backend;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_pages_carry_a_nonce_csp_that_covers_every_script() {
    let s = common::spawn(Backend::Sqlite).await;
    let r = s.http.get(s.url("/login")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r
        .headers()
        .get("content-security-policy")
        .expect("a CSP header on console pages")
        .to_str()
        .unwrap()
        .to_owned();
    let html = r.text().await.unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|n| n.split('\'').next())
        .expect("a nonce in script-src");
    assert!(nonce.len() >= 16, "{csp}");
    for directive in [
        "default-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    // Every script tag on the page carries this response's nonce.
    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert!(!scripts.is_empty(), "the hydration script is on the page");
    for tag in scripts {
        let open = tag.split('>').next().unwrap();
        assert!(
            open.contains(&format!("nonce=\"{nonce}\"")),
            "script without the nonce: <script{open}>"
        );
    }
    // A new response, a new nonce.
    let again = s.http.get(s.url("/login")).send().await.unwrap();
    let csp2 = again.headers()["content-security-policy"].to_str().unwrap();
    assert_ne!(csp, csp2);
    s.stop().await;
}

/// A TLS stream to the test server, trusting the CA it made.
async fn tls_stream(
    s: &common::TestServer,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    let ca = s.running.ca_path.clone().expect("the local CA");
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = tokio_rustls::rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(s.running.addr)
        .await
        .unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_drips_its_headers_is_cut_off() {
    let s = common::spawn(Backend::Sqlite).await;
    let mut t = tls_stream(&s).await;
    let start = Instant::now();
    t.write_all(b"POST /api/v2/iauths_system/oauth2/token HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    // One more header byte every second, never the blank line.
    let mut buf = [0u8; 512];
    let closed_at = loop {
        tokio::select! {
            r = t.read(&mut buf) => break (r, start.elapsed()),
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                if t.write_all(b"X").await.is_err() {
                    break (Ok(0), start.elapsed());
                }
            }
        }
        assert!(start.elapsed() < Duration::from_secs(40), "never cut off");
    };
    let elapsed = closed_at.1;
    assert!(
        elapsed >= Duration::from_secs(9)
            && elapsed <= writ_server::HEADER_READ_TIMEOUT + Duration::from_secs(5),
        "cut off after {elapsed:?}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_drips_its_body_gets_408() {
    let s = common::spawn(Backend::Sqlite).await;
    let mut t = tls_stream(&s).await;
    let start = Instant::now();
    t.write_all(
        b"POST /api/v2/iauths_system/oauth2/token HTTP/1.1\r\nHost: localhost\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ngrant_type=",
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    loop {
        tokio::select! {
            r = t.read(&mut buf) => {
                match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        got.extend_from_slice(&buf[..n]);
                        if got.windows(4).any(|w| w == b"\r\n\r\n") { break; }
                    }
                }
            }
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                if t.write_all(b"c").await.is_err() { break; }
            }
        }
        assert!(start.elapsed() < Duration::from_secs(60), "never answered");
    }
    let head = String::from_utf8_lossy(&got);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(start.elapsed() >= writ_server::routes::REQUEST_DEADLINE - Duration::from_secs(1));
    s.stop().await;
}
