//! Addresses at the edge: MAC addresses in their one stored form, IP addresses with a sort key
//! that orders them numerically (IPv4 before IPv6), and CIDR blocks in canonical form.

use std::net::IpAddr;

use ipnet::IpNet;

/// A MAC address in upper-case colon form (`AA:BB:CC:DD:EE:FF`), the only form stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacAddr(String);

impl MacAddr {
    /// Accepts any case with `:`, `-` or no separator between the six octets.
    pub fn parse(input: &str) -> Result<MacAddr, String> {
        let s = input.trim();
        let hex: String = s.chars().filter(|c| *c != ':' && *c != '-').collect();
        let seps_ok = match s.len() {
            12 => true,
            17 => s
                .char_indices()
                .all(|(i, c)| (i % 3 == 2) == matches!(c, ':' | '-')),
            _ => false,
        };
        if !seps_ok || hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!(
                "`{input}` is not a MAC address; use six hex octets such as AA:BB:CC:DD:EE:FF"
            ));
        }
        let hex = hex.to_ascii_uppercase();
        let octets: Vec<&str> = (0..6).map(|i| &hex[i * 2..i * 2 + 2]).collect();
        Ok(MacAddr(octets.join(":")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The registered vendor of the address's OUI, or `""` when the offline table has none.
    pub fn vendor(&self) -> String {
        oui_data::lookup(&self.0)
            .map(|r| r.organization().to_string())
            .unwrap_or_default()
    }
}

/// Parses an IP address into its canonical text (`::ffff:a.b.c.d` stays IPv6).
pub fn parse_ip(input: &str) -> Result<IpAddr, String> {
    input
        .trim()
        .parse::<IpAddr>()
        .map_err(|_| format!("`{input}` is not an IPv4 or IPv6 address"))
}

/// The canonical text of an IP address, `None` when `input` is not one.
pub fn canonical_ip(input: &str) -> Option<String> {
    parse_ip(input).ok().map(|ip| ip.to_string())
}

/// A text key that sorts addresses numerically: `4` or `6` (so every IPv4 address comes before
/// every IPv6 one) and 32 hex digits of the IPv6(-mapped) address. Anything that is not an
/// address (the empty string) keys as `""` and sorts first.
pub fn ip_sort_key(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => format!("4{:032x}", u128::from(v4.to_ipv6_mapped())),
        Ok(IpAddr::V6(v6)) => format!("6{:032x}", u128::from(v6)),
        Err(_) => String::new(),
    }
}

/// A CIDR block in canonical form; host bits set is an error, not silently truncated.
pub fn parse_cidr(input: &str) -> Result<IpNet, String> {
    let s = input.trim();
    let net: IpNet = s
        .parse()
        .map_err(|_| format!("`{input}` is not a CIDR block such as 10.0.0.0/24"))?;
    if net.trunc() != net {
        return Err(format!(
            "`{input}` has host bits set; the network is {}",
            net.trunc()
        ));
    }
    Ok(net)
}

/// Sort key of a CIDR block: its network address key, then the prefix length.
pub fn cidr_sort_key(net: &IpNet) -> String {
    format!(
        "{}/{:03}",
        ip_sort_key(&net.network().to_string()),
        net.prefix_len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_normalise_from_any_separator_and_case() {
        for s in [
            "aa:bb:cc:dd:ee:0f",
            "AA-BB-CC-DD-EE-0F",
            "aabbccddee0f",
            " Aa:bB:cc:DD:ee:0F ",
        ] {
            assert_eq!(
                MacAddr::parse(s).unwrap().as_str(),
                "AA:BB:CC:DD:EE:0F",
                "{s}"
            );
        }
        for s in [
            "",
            "aa:bb:cc:dd:ee",
            "aa:bb:cc:dd:ee:gg",
            "aab:bcc:ddee0f:",
            "aa:bb:cc:dd:ee:ff:00",
        ] {
            assert!(MacAddr::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn vendor_comes_from_the_offline_table() {
        let xerox = MacAddr::parse("00:00:00:12:34:56").unwrap();
        assert_eq!(xerox.vendor(), "XEROX CORPORATION");
    }

    #[test]
    fn ip_keys_sort_numerically_with_ipv4_first() {
        let mut ips = vec![
            "::1",
            "10.0.0.10",
            "",
            "2001:db8::1",
            "10.0.0.9",
            "9.255.255.255",
        ];
        ips.sort_by_key(|ip| ip_sort_key(ip));
        assert_eq!(
            ips,
            vec![
                "",
                "9.255.255.255",
                "10.0.0.9",
                "10.0.0.10",
                "::1",
                "2001:db8::1"
            ]
        );
    }

    #[test]
    fn cidrs_are_canonical_and_refuse_host_bits() {
        assert_eq!(
            parse_cidr("10.0.0.0/24").unwrap().to_string(),
            "10.0.0.0/24"
        );
        assert_eq!(
            parse_cidr("2001:0DB8:0::/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert!(parse_cidr("10.0.0.1/24").unwrap_err().contains("host bits"));
        assert!(parse_cidr("10.0.0.0").is_err());
        assert!(parse_cidr("10.0.0.0/33").is_err());
    }
}
