//! Services on the wire: the grouped list object and the single row, the create/update body
//! parsed into validated [`ServiceData`], the search filters and the sort fields. The values
//! every service body shares (protocol, port, address or block) are parsed here too.

use std::net::IpAddr;

use chrono_tz::Tz;
use ipnet::IpNet;
use picket_core::ApiError;
use sea_query::Order;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::addr::{parse_cidr, parse_ip};
use crate::clock::{self, Bound};
use crate::listing::{OneOrMany, SearchFilters, SortField};

/// A transport protocol, stored lower-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    /// `tcp` or `udp`, any case.
    pub fn parse(input: &str) -> Result<Proto, String> {
        match input.trim().to_ascii_lowercase().as_str() {
            "tcp" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            _ => Err(format!("`{input}` is not a protocol; use tcp or udp")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// A TCP or UDP port number, 1 to 65535.
pub fn parse_port(port: i64) -> Result<i64, String> {
    if (1..=65535).contains(&port) {
        Ok(port)
    } else {
        Err(format!("`{port}` is not a port; use 1 to 65535"))
    }
}

/// An address or a CIDR block (host bits set is an error), as a block: an address is its
/// full-length block.
pub fn parse_ip_or_cidr(input: &str) -> Result<IpNet, String> {
    if input.contains('/') {
        parse_cidr(input)
    } else {
        parse_ip(input)
            .map(IpNet::from)
            .map_err(|_| format!("`{input}` is not an IP address or a CIDR block"))
    }
}

/// The stored text of a block: the address alone for a full-length block, so `10.0.0.5/32`
/// and `10.0.0.5` are one value.
pub fn block_text(net: &IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}

pub fn invalid(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("invalid field `{field}`: {why}"))
}

pub fn missing(field: &str) -> ApiError {
    ApiError::bad_request(format!("invalid JSON body: missing field `{field}`"))
}

/// A port of a service group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServicePort {
    /// The service row id.
    pub id: i64,
    pub port: i64,
    pub proto: String,
    pub authorized: bool,
    pub first_seen: String,
    pub last_seen: String,
}

/// The services of one IP, as listed and searched.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceGroup {
    pub service_ip: String,
    /// An allowed-service entry's name, else the device's friendly name or hostname, else `""`.
    pub name: String,
    /// True only when every port of the group is authorized.
    pub authorized: bool,
    /// Earliest `first_seen` of the group's ports.
    pub first_seen: String,
    /// Latest `last_seen` of the group's ports.
    pub last_seen: String,
    /// Sorted by port; `[]` when none.
    pub tcp_ports: Vec<ServicePort>,
    pub udp_ports: Vec<ServicePort>,
}

/// A single service row (create, update, delete, authorize by id).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Service {
    pub id: i64,
    pub service_ip: String,
    pub service_port: i64,
    pub proto: String,
    /// An allowed-service entry's name for this port, else the device's friendly name or
    /// hostname, else `""`.
    pub name: String,
    /// An allowed-service entry matches and no exclude rule does; computed, never stored.
    pub authorized: bool,
    pub first_seen: String,
    pub last_seen: String,
}

/// `{"services": […]}`
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceList {
    pub services: Vec<ServiceGroup>,
}

/// `{"service": …}`
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceOne {
    pub service: Service,
}

/// `{"deleted": true, "service": …}`, the row as it was.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceDeleted {
    pub deleted: bool,
    pub service: Service,
}

/// Create body (`service_ip`, `service_port`, `proto` required) or update body (any of the
/// fields, at least one). Times are `YYYY-MM-DD[ HH:MM[:SS]]` in the server's timezone.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceInput {
    pub service_ip: Option<String>,
    pub service_port: Option<i64>,
    /// `tcp` or `udp`, any case.
    pub proto: Option<String>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
}

/// A service that passed validation: what the store writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceData {
    pub ip: IpAddr,
    pub port: i64,
    pub proto: Proto,
    pub first_seen: i64,
    pub last_seen: i64,
}

impl ServiceInput {
    /// Validates a create body. An omitted time is `now`, unless only the other one was given
    /// and `now` would put the two in the wrong order: then it is the given one.
    pub fn create(self, tz: Tz, now: i64) -> Result<ServiceData, ApiError> {
        let ip = self
            .service_ip
            .as_deref()
            .ok_or_else(|| missing("service_ip"))?;
        let port = self.service_port.ok_or_else(|| missing("service_port"))?;
        let proto = self.proto.as_deref().ok_or_else(|| missing("proto"))?;
        let first = time(self.first_seen.as_deref(), "first_seen", tz)?;
        let last = time(self.last_seen.as_deref(), "last_seen", tz)?;
        let (first, last) = match (first, last) {
            (Some(f), Some(l)) => (f, l),
            (Some(f), None) => (f, now.max(f)),
            (None, Some(l)) => (now.min(l), l),
            (None, None) => (now, now),
        };
        validate(ip, port, proto, first, last)
    }

    /// Applies an update body to the current row and validates the result as a whole.
    pub fn apply_to(self, current: &ServiceData, tz: Tz) -> Result<ServiceData, ApiError> {
        if self.service_ip.is_none()
            && self.service_port.is_none()
            && self.proto.is_none()
            && self.first_seen.is_none()
            && self.last_seen.is_none()
        {
            return Err(ApiError::bad_request(
                "at least one of `service_ip`, `service_port`, `proto`, `first_seen`, \
                 `last_seen` is required",
            ));
        }
        let ip = match &self.service_ip {
            Some(ip) => ip.clone(),
            None => current.ip.to_string(),
        };
        validate(
            &ip,
            self.service_port.unwrap_or(current.port),
            self.proto.as_deref().unwrap_or(current.proto.as_str()),
            time(self.first_seen.as_deref(), "first_seen", tz)?.unwrap_or(current.first_seen),
            time(self.last_seen.as_deref(), "last_seen", tz)?.unwrap_or(current.last_seen),
        )
    }
}

fn time(input: Option<&str>, field: &str, tz: Tz) -> Result<Option<i64>, ApiError> {
    input
        .map(|s| clock::parse(s, tz, Bound::Lower).map_err(|e| invalid(field, e)))
        .transpose()
}

fn validate(
    ip: &str,
    port: i64,
    proto: &str,
    first_seen: i64,
    last_seen: i64,
) -> Result<ServiceData, ApiError> {
    let data = ServiceData {
        ip: parse_ip(ip).map_err(|e| invalid("service_ip", e))?,
        port: parse_port(port).map_err(|e| invalid("service_port", e))?,
        proto: Proto::parse(proto).map_err(|e| invalid("proto", e))?,
        first_seen,
        last_seen,
    };
    if first_seen > last_seen {
        return Err(invalid("first_seen", "is later than `last_seen`"));
    }
    Ok(data)
}

/// `filters` of `POST /api/v1/services/search`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceFilters {
    /// Alias `ip`; `%`/`_` wildcards.
    #[serde(default, alias = "ip")]
    #[schema(value_type = Vec<String>)]
    pub service_ip: OneOrMany<String>,
    /// Exact after lower-casing.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub proto: OneOrMany<String>,
    /// Alias `port`; exact.
    #[serde(default, alias = "port")]
    #[schema(value_type = Vec<i64>)]
    pub service_port: OneOrMany<i64>,
    /// The computed value: allowed-service entries and exclude rules applied.
    #[serde(default)]
    #[schema(value_type = Vec<bool>)]
    pub authorized: OneOrMany<bool>,
}

impl SearchFilters for ServiceFilters {
    type Sort = ServiceSort;
    const PAGINATED: bool = false;
    /// Filter names refused on `GET /api/v1/services`.
    const NAMES: &'static [&'static str] = &[
        "service_ip",
        "ip",
        "proto",
        "service_port",
        "port",
        "authorized",
    ];
    const SEARCH_PATH: &'static str = "/api/v1/services/search";
    const SORT_DOC: &'static str =
        "id, service_ip (ip), proto (protocol), service_port (port), first_seen (first), last_seen (last); default service_ip";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceSort {
    Id,
    ServiceIp,
    Proto,
    ServicePort,
    FirstSeen,
    LastSeen,
}

impl SortField for ServiceSort {
    const DEFAULT: ServiceSort = ServiceSort::ServiceIp;
    const DEFAULT_ORDER: Order = Order::Asc;
    fn parse(name: &str) -> Option<ServiceSort> {
        Some(match name.to_ascii_lowercase().as_str() {
            "id" => ServiceSort::Id,
            "service_ip" | "ip" => ServiceSort::ServiceIp,
            "proto" | "protocol" => ServiceSort::Proto,
            "service_port" | "port" => ServiceSort::ServicePort,
            "first_seen" | "first" => ServiceSort::FirstSeen,
            "last_seen" | "last" => ServiceSort::LastSeen,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_308_000_000; // 2026-06-01 10:00:00 UTC

    fn body(v: serde_json::Value) -> ServiceInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn create_normalises_and_defaults_times() {
        let tz = chrono_tz::UTC;
        let d = body(serde_json::json!({"service_ip": "2001:DB8::0001", "service_port": 443, "proto": "TCP"}))
            .create(tz, NOW)
            .unwrap();
        assert_eq!(d.ip.to_string(), "2001:db8::1");
        assert_eq!((d.proto, d.first_seen, d.last_seen), (Proto::Tcp, NOW, NOW));
        // A lone past last_seen pulls the omitted first_seen back to it.
        let d = body(serde_json::json!({"service_ip": "10.0.0.1", "service_port": 53, "proto": "udp", "last_seen": "2026-05-01"}))
            .create(tz, NOW)
            .unwrap();
        assert_eq!(d.first_seen, d.last_seen);
        assert_eq!(clock::format(d.first_seen, tz), "2026-05-01 00:00:00");
    }

    #[test]
    fn create_names_the_bad_field() {
        let tz = chrono_tz::UTC;
        let base =
            serde_json::json!({"service_ip": "10.0.0.1", "service_port": 80, "proto": "tcp"});
        for (key, value, needle) in [
            ("service_ip", serde_json::json!("10.0.0.0/24"), "service_ip"),
            ("service_ip", serde_json::json!("host"), "service_ip"),
            ("service_port", serde_json::json!(0), "service_port"),
            ("service_port", serde_json::json!(65536), "service_port"),
            ("proto", serde_json::json!("icmp"), "proto"),
            ("first_seen", serde_json::json!("2026-06-02"), "first_seen"),
            ("last_seen", serde_json::json!("yesterday"), "last_seen"),
        ] {
            let mut b = base.clone();
            b[key] = value;
            if key == "first_seen" {
                b["last_seen"] = serde_json::json!("2026-06-01 00:00");
            }
            let e = body(b).create(tz, NOW).unwrap_err();
            assert!(e.message.contains(needle), "{key}: {}", e.message);
        }
        let e = body(serde_json::json!({"service_port": 80, "proto": "tcp"}))
            .create(tz, NOW)
            .unwrap_err();
        assert!(e.message.contains("service_ip"), "{}", e.message);
    }

    #[test]
    fn blocks_and_addresses_share_one_text() {
        let t = |s: &str| parse_ip_or_cidr(s).map(|n| block_text(&n));
        assert_eq!(t("10.0.0.5").unwrap(), "10.0.0.5");
        assert_eq!(t("10.0.0.5/32").unwrap(), "10.0.0.5");
        assert_eq!(t("10.0.0.0/24").unwrap(), "10.0.0.0/24");
        assert_eq!(t("2001:DB8::/32").unwrap(), "2001:db8::/32");
        assert!(t("10.0.0.5/24").unwrap_err().contains("host bits"));
        assert!(t("*").is_err());
    }

    #[test]
    fn sort_aliases() {
        for (n, f) in [
            ("ip", ServiceSort::ServiceIp),
            ("PROTOCOL", ServiceSort::Proto),
            ("port", ServiceSort::ServicePort),
            ("first", ServiceSort::FirstSeen),
            ("last", ServiceSort::LastSeen),
            ("id", ServiceSort::Id),
        ] {
            assert_eq!(ServiceSort::parse(n), Some(f), "{n}");
        }
        assert_eq!(ServiceSort::parse("name"), None);
    }
}
