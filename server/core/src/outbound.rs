//! Where Writ may send requests on an admin's behalf (JWKS and discovery
//! fetches today; third-party token endpoints later). An admin-supplied URL
//! must not become a way to reach Writ's own network (SSRF): https only,
//! and every address the host resolves to must be public, unless the
//! provider is explicitly marked for local testing
//! (`allow_insecure_local_endpoints`).

use std::net::{IpAddr, Ipv4Addr};

/// Largest response body read from an outbound call.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// Outbound calls finish well inside a client's 10 s read timeout.
pub const TIMEOUT_SECS: u64 = 5;

/// Checks the URL's shape: scheme, credentials, length. Addresses are
/// checked after resolution with [`ip_allowed`].
pub fn check_url(url: &str, allow_insecure_local: bool) -> Result<(), String> {
    if url.len() > 2048 {
        return Err("the URL is longer than 2048 characters".into());
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("must be an absolute https:// URL".into());
    };
    match scheme {
        "https" => {}
        "http" if allow_insecure_local => {}
        "http" => {
            return Err(
                "must use https (http only for providers marked allow_insecure_local_endpoints)"
                    .into(),
            );
        }
        _ => return Err("must be an absolute https:// URL".into()),
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err("has no host".into());
    }
    if authority.contains('@') {
        return Err("must not carry credentials".into());
    }
    let host = host_of(authority);
    if let Ok(ip) = host.parse::<IpAddr>()
        && !ip_allowed(ip, allow_insecure_local)
    {
        return Err(format!("{ip} is not a public address"));
    }
    if !allow_insecure_local && host.eq_ignore_ascii_case("localhost") {
        return Err("localhost is not a public address".into());
    }
    Ok(())
}

/// The host part of `host[:port]` / `[v6]:port`.
pub fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// Whether Writ may connect to `ip`. Loopback, private, link-local (cloud
/// metadata at 169.254.169.254), shared (Alibaba's 100.100.100.200),
/// multicast and reserved ranges are refused unless local testing is allowed.
pub fn ip_allowed(ip: IpAddr, allow_insecure_local: bool) -> bool {
    if allow_insecure_local {
        return true;
    }
    match ip {
        IpAddr::V4(v4) => v4_public(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_public(v4);
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || s[0] == 0x0064 && s[1] == 0xff9b) // NAT64 (reaches v4 space)
        }
    }
}

fn v4_public(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64/10 shared (CGNAT, Alibaba metadata)
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking
        || o[0] >= 240)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_unless_local_testing_is_allowed() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            let ip: IpAddr = bad.parse().unwrap();
            assert!(!ip_allowed(ip, false), "{bad}");
            assert!(ip_allowed(ip, true), "{bad}");
        }
        for good in ["8.8.8.8", "140.82.112.3", "2606:4700::1111"] {
            assert!(ip_allowed(good.parse().unwrap(), false), "{good}");
        }
    }

    #[test]
    fn urls_must_be_https_public_and_without_credentials() {
        assert!(
            check_url(
                "https://token.actions.githubusercontent.com/.well-known/jwks",
                false
            )
            .is_ok()
        );
        assert!(
            check_url("http://issuer.example/jwks", false)
                .unwrap_err()
                .contains("https")
        );
        assert!(check_url("http://127.0.0.1:8080/jwks", true).is_ok());
        assert!(check_url("https://169.254.169.254/latest/meta-data", false).is_err());
        assert!(check_url("https://[::1]:443/", false).is_err());
        assert!(check_url("https://localhost/jwks", false).is_err());
        assert!(check_url("https://user:pw@issuer.example/", false).is_err());
        assert!(check_url("file:///etc/passwd", true).is_err());
        assert!(check_url("issuer.example/jwks", false).is_err());
        assert_eq!(host_of("[::1]:443"), "::1");
        assert_eq!(host_of("issuer.example:8443"), "issuer.example");
    }
}
