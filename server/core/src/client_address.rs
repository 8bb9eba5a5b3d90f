//! The address a request comes from, as the throttles and the audit log
//! key it: the TCP peer, or behind a trusted load balancer the client it
//! names in `X-Forwarded-For`. Without trusted proxies configured the
//! header is ignored, so a caller cannot pick its own throttle bucket.

use crate::names::InvalidInput;
use std::net::IpAddr;

/// At most this many `X-Forwarded-For` hops are read (bounded work for a
/// header a client can pad).
const MAX_HOPS: usize = 32;

/// The proxies whose `X-Forwarded-For` is believed (`WRIT_TRUSTED_PROXIES`:
/// addresses or CIDR ranges, comma-separated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    pub fn parse(list: &str) -> Result<Self, InvalidInput> {
        let bad = |item: &str| InvalidInput {
            field: "WRIT_TRUSTED_PROXIES",
            message: format!("'{item}' is not an IP address or CIDR range"),
        };
        let mut out = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (addr, len) = match item.split_once('/') {
                Some((a, l)) => (a, Some(l)),
                None => (item, None),
            };
            let ip: IpAddr = addr.parse().map_err(|_| bad(item))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let len = match len {
                None => max,
                Some(l) => l
                    .parse::<u8>()
                    .ok()
                    .filter(|l| *l <= max)
                    .ok_or_else(|| bad(item))?,
            };
            out.push((ip, len));
        }
        Ok(Self(out))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0
            .iter()
            .any(|(net, len)| in_prefix(ip, canonical(*net), *len))
    }

    /// The client: the peer unless the peer is a trusted proxy; then the
    /// rightmost `X-Forwarded-For` hop that is not itself trusted (the
    /// hops left of it were written by the client and prove nothing).
    /// `forwarded` holds the header's values in the order received.
    pub fn client<'a>(&self, peer: IpAddr, forwarded: impl Iterator<Item = &'a [u8]>) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded
            .filter_map(|v| std::str::from_utf8(v).ok())
            .flat_map(|v| v.split(','))
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev().take(MAX_HOPS) {
            let Some(ip) = parse_hop(hop) else {
                // A hop we cannot read: the last one we could is the answer.
                return client;
            };
            client = ip;
            if !self.contains(ip) {
                return ip;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` hop: an address, with a port or IPv6 brackets
/// tolerated as some proxies write them.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (addr, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    addr.parse().ok()
}

/// IPv4-mapped IPv6 addresses compare as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn in_prefix(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn client(t: &TrustedProxies, peer: &str, headers: &[&str]) -> IpAddr {
        t.client(ip(peer), headers.iter().map(|h| h.as_bytes()))
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let t = TrustedProxies::parse("").unwrap();
        assert!(t.is_empty());
        assert_eq!(
            client(&t, "203.0.113.9", &["198.51.100.1"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let t = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").unwrap();
        // The load balancer appended the client it saw.
        assert_eq!(
            client(&t, "10.1.2.3", &["198.51.100.7"]),
            ip("198.51.100.7")
        );
        // A client that forges hops only adds hops to the left of its own.
        assert_eq!(
            client(&t, "10.1.2.3", &["1.2.3.4, 5.6.7.8", "198.51.100.7"]),
            ip("198.51.100.7")
        );
        // Two trusted proxies in a row are skipped.
        assert_eq!(
            client(&t, "127.0.0.1", &["198.51.100.7, 10.9.9.9"]),
            ip("198.51.100.7")
        );
        // A peer that is not trusted cannot name anyone.
        assert_eq!(client(&t, "192.0.2.1", &["198.51.100.7"]), ip("192.0.2.1"));
        // No header: the proxy itself.
        assert_eq!(client(&t, "10.1.2.3", &[]), ip("10.1.2.3"));
        // Garbage stops the walk at the last hop read.
        assert_eq!(
            client(&t, "10.1.2.3", &["not-an-ip, 10.2.2.2"]),
            ip("10.2.2.2")
        );
        // Ports and brackets as some proxies write them.
        assert_eq!(
            client(&t, "10.1.2.3", &["198.51.100.7:4711"]),
            ip("198.51.100.7")
        );
        assert_eq!(
            client(&t, "10.1.2.3", &["[2001:db8::1]:443"]),
            ip("2001:db8::1")
        );
        // An IPv4-mapped peer is the IPv4 proxy.
        assert_eq!(
            client(&t, "::ffff:10.1.2.3", &["198.51.100.7"]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn ranges_parse_strictly() {
        for bad in ["10.0.0.0/33", "example.com", "10.0.0.0/x", "::/129"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
        let t = TrustedProxies::parse("2001:db8::/32, 0.0.0.0/0").unwrap();
        assert!(t.contains(ip("2001:db8:1::5")));
        assert!(t.contains(ip("8.8.8.8")));
        assert!(!t.contains(ip("2001:db9::1")));
    }
}
