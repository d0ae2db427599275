//! The client's address and scheme behind reverse proxies (`auth.trusted_proxies`).
//!
//! `X-Forwarded-For` and `X-Forwarded-Proto` are believed only when the TCP peer is a
//! trusted proxy; then the client is the rightmost hop that is not itself a trusted proxy
//! (every hop to its right was added by a proxy we trust; anything to its left the client
//! may have written). From any other peer the headers are ignored, so a client cannot
//! choose the address its failed logins are counted against.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The parsed `auth.trusted_proxies`.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses addresses (`10.0.0.1`) and CIDR blocks (`10.0.0.0/8`); the first entry that
    /// is neither is the error.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| entry.to_owned())
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// The setting as configured; entries that do not parse (refused at start-up) count
    /// as no proxy.
    pub fn of(settings: &crate::config::Settings) -> Self {
        Self::parse(&settings.auth.trusted_proxies).unwrap_or_default()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer, or (from a trusted peer) the rightmost untrusted
    /// hop of `X-Forwarded-For`. A hop that does not parse ends the walk at the last
    /// trusted hop before it.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut current = peer.to_canonical();
        if !self.contains(current) {
            return current;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                return current;
            };
            current = ip;
            if !self.contains(ip) {
                return ip;
            }
        }
        current
    }

    /// Whether the request reached the first trusted proxy over HTTPS (`X-Forwarded-Proto`
    /// from a trusted peer).
    pub fn forwarded_https(&self, peer: IpAddr, headers: &HeaderMap) -> bool {
        self.contains(peer)
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port (`1.2.3.4:5`,
/// `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<std::net::SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_peer() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into(), "192.168.1.5".into()]).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // Untrusted peer: the header is ignored.
        assert_eq!(
            proxies.client_address(ip("203.0.113.9"), &headers("1.1.1.1")),
            ip("203.0.113.9")
        );
        // Trusted peer: the rightmost untrusted hop, not what the client wrote on the left.
        assert_eq!(
            proxies.client_address(ip("10.1.2.3"), &headers("6.6.6.6, 198.51.100.7, 192.168.1.5")),
            ip("198.51.100.7")
        );
        assert_eq!(
            proxies.client_address(ip("10.1.2.3"), &headers("garbage, 10.0.0.9")),
            ip("10.0.0.9")
        );
        assert_eq!(
            proxies.client_address(ip("10.1.2.3"), &HeaderMap::new()),
            ip("10.1.2.3")
        );
        assert_eq!(
            proxies.client_address(ip("::ffff:10.1.2.3"), &headers("[2001:db8::1]:443")),
            ip("2001:db8::1")
        );
        assert!(TrustedProxies::parse(&["not an address".into()]).is_err());
        assert!(!TrustedProxies::default().contains(ip("127.0.0.1")));
    }
}
