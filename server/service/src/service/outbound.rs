//! Outbound HTTP on an admin's behalf, under the SSRF policy of
//! `writ_core::outbound`: the host is resolved once, every address must be
//! allowed, and the connection goes to the checked address (no DNS
//! rebinding between check and connect); no redirects, bounded time and size.
//! No proxy either, whatever `HTTP_PROXY` / `HTTPS_PROXY` / `ALL_PROXY` say:
//! a proxy would resolve the host again itself and connect wherever that
//! says, undoing the pinning (tests/remote_keys.rs runs its fetches with
//! those variables pointing at a dead proxy).

use std::net::SocketAddr;
use std::time::Duration;
use writ_core::outbound::{MAX_RESPONSE_BYTES, TIMEOUT_SECS, check_url, ip_allowed};

/// A client pinned to the checked address of `url`'s host.
async fn pinned_client(
    url: &str,
    allow_insecure_local: bool,
) -> Result<(reqwest::Client, reqwest::Url), String> {
    check_url(url, allow_insecure_local)?;
    let parsed = reqwest::Url::parse(url).map_err(|_| "is not a valid URL".to_string())?;
    let host = parsed.host_str().ok_or("has no host")?.to_owned();
    let port = parsed.port_or_known_default().ok_or("has no port")?;
    let timeout = Duration::from_secs(TIMEOUT_SECS);
    let lookup_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let addrs: Vec<SocketAddr> = tokio::time::timeout(
        timeout,
        tokio::net::lookup_host((lookup_host.as_str(), port)),
    )
    .await
    .map_err(|_| format!("resolving {host} timed out"))?
    .map_err(|_| format!("{host} does not resolve"))?
    .collect();
    let addr = *addrs
        .first()
        .ok_or_else(|| format!("{host} does not resolve"))?;
    if let Some(bad) = addrs
        .iter()
        .find(|a| !ip_allowed(a.ip(), allow_insecure_local))
    {
        return Err(format!(
            "{host} resolves to {} which is not a public address",
            bad.ip()
        ));
    }
    let client = reqwest::Client::builder()
        // Never through a proxy from the environment: it would do its own
        // DNS and connect past the address checked above.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .resolve(&lookup_host, addr)
        .build()
        .map_err(|_| "could not build an HTTP client".to_string())?;
    Ok((client, parsed))
}

/// Sends the request and reads at most `MAX_RESPONSE_BYTES` of JSON.
/// Returns the status with the body (JSON `null` if the body is not JSON).
async fn send(req: reqwest::RequestBuilder) -> Result<(u16, serde_json::Value), String> {
    let mut resp = req
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| {
            format!(
                "request failed: {}",
                if e.is_timeout() {
                    "timed out"
                } else {
                    "could not connect"
                }
            )
        })?;
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|_| "the response was cut off".to_string())?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(format!(
                "the response is larger than {} KiB",
                MAX_RESPONSE_BYTES / 1024
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    ))
}

/// GET a JSON document (discovery, JWKS); anything but a 2xx JSON answer fails.
pub(crate) async fn fetch_json(
    url: &str,
    allow_insecure_local: bool,
) -> Result<serde_json::Value, String> {
    let (client, parsed) = pinned_client(url, allow_insecure_local).await?;
    let (status, body) = send(client.get(parsed)).await?;
    if !(200..300).contains(&status) {
        return Err(format!("answered HTTP {status}"));
    }
    if body.is_null() {
        return Err("the response is not JSON".into());
    }
    Ok(body)
}

/// POST a form (a token request) and return the status with the JSON body,
/// error answers included: an OAuth error body says why.
pub(crate) async fn post_form(
    url: &str,
    allow_insecure_local: bool,
    body: String,
    authorization: Option<&str>,
) -> Result<(u16, serde_json::Value), String> {
    let (client, parsed) = pinned_client(url, allow_insecure_local).await?;
    let mut req = client
        .post(parsed)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body);
    if let Some(a) = authorization {
        req = req.header(reqwest::header::AUTHORIZATION, a);
    }
    send(req).await
}
