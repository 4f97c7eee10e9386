//! Which addresses a tenant's targets may reach. A webhook, Slack or SMS URL that leads to
//! loopback, private, link-local, unique-local, CGNAT, multicast or cloud-metadata addresses
//! is refused unless the operator sets `delivery.allow_private_targets`: otherwise any tenant
//! could make the server call internal services.
//!
//! The check runs twice: on literal IPs when a target is saved (a 400), and at send time on
//! every address a host name resolves to, through a resolver that hands the HTTP client only
//! the addresses that passed, so a name that changes its answer between check and connect
//! (DNS rebinding) still cannot lead inside. Redirects are never followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether `ip` is one a tenant's target must not reach.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, metadata services included
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return internal_v4(v4);
    }
    let seg = ip.segments();
    // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address.
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
        let o = ip.octets();
        return internal_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (seg[0] & 0xffc0) == 0xfe80 // link local fe80::/10
        || (seg[0] & 0xffc0) == 0xfec0 // site local (deprecated)
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        || seg[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible, ::/96
}

/// The literal IP address a URL names as its host, if it names one.
fn literal_ip(url: &reqwest::Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Why a URL's host is refused when it is saved: a literal internal address or `localhost`.
/// Names are checked again, resolved, when a delivery is sent.
pub fn literal_refusal(url: &reqwest::Url) -> Option<String> {
    if let Some(ip) = literal_ip(url) {
        return is_internal(ip).then(|| {
            format!("{ip} is a loopback, private, link-local or otherwise internal address")
        });
    }
    let host = url.host_str()?.to_ascii_lowercase();
    (host == "localhost" || host.ends_with(".localhost"))
        .then(|| format!("{host} is a local host name"))
}

/// A resolver that drops internal addresses; a name left with none fails to resolve.
#[derive(Debug, Clone, Copy)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> =
                all.into_iter().filter(|a| !is_internal(a.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(Refused(format!(
                    "{host} {REFUSED_MARK}; refused (delivery.allow_private_targets is off)"
                )))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// The words of a resolver refusal, recognisable in an error chain.
pub const REFUSED_MARK: &str = "resolves only to internal addresses";

/// A refused target.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The HTTP client deliveries go out through: no redirects, short timeouts, and unless
/// `allow_private` the [`PublicOnly`] resolver.
pub fn http_client(allow_private: bool) -> reqwest::Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(10))
        .pool_max_idle_per_host(64)
        .user_agent(concat!("Picket/", env!("CARGO_PKG_VERSION")));
    if !allow_private {
        b = b.dns_resolver(Arc::new(PublicOnly));
    }
    b.build()
}

/// Refuses a URL whose host is a literal internal address (the resolver never sees those).
pub fn check_at_send(url: &reqwest::Url, allow_private: bool) -> Result<(), Refused> {
    if allow_private {
        return Ok(());
    }
    let Some(ip) = literal_ip(url) else {
        return Ok(());
    };
    if is_internal(ip) {
        return Err(Refused(format!(
            "{ip} is an internal address; refused (delivery.allow_private_targets is off)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_ranges_are_refused_and_public_ones_pass() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "::",
        ] {
            assert!(is_internal(bad.parse().unwrap()), "{bad}");
        }
        for good in ["93.184.216.34", "1.1.1.1", "100.128.0.1", "2606:4700::1111"] {
            assert!(!is_internal(good.parse().unwrap()), "{good}");
        }
    }

    #[test]
    fn literal_hosts_are_refused_when_saved() {
        let r = |u: &str| literal_refusal(&reqwest::Url::parse(u).unwrap());
        assert!(r("http://127.0.0.1:8080/x").is_some());
        assert!(r("http://[::1]/x").is_some());
        assert!(r("http://localhost/x").is_some());
        assert!(r("https://hooks.slack.com/services/x").is_none());
    }
}
