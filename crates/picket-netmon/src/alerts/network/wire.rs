//! Network alerts on the wire: the object with its derived device, network and public-address
//! fields, the envelopes, the search filters (checked into [`NetworkQuery`]) and the sort fields.

use chrono_tz::Tz;
use picket_core::ApiError;
use sea_query::Order;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::addr::{canonical_ip, MacAddr};
use crate::alerts::filters::{invalid, levels, lowered, TimeRange};
use crate::listing::matching::TextPath;
use crate::listing::{OneOrMany, PageInfo, SearchFilters, SortField};

/// A network alert as answered; every response carries the full object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NetworkAlert {
    pub id: i64,
    /// `YYYY-MM-DD HH:MM:SS`, server timezone.
    pub timestamp: String,
    /// Agent hash.
    pub agent: String,
    pub agent_name: String,
    pub src_mac: String,
    pub dst_mac: String,
    pub src_ip: String,
    pub dst_ip: String,
    pub src_port: i64,
    pub dst_port: i64,
    /// Hostname of the device holding `src_ip`; `""` when none.
    pub src_hostname: String,
    pub dst_hostname: String,
    /// 10 (low), 20 (medium) or 30 (high).
    pub level: i64,
    /// e.g. `portscan`, `ids`, `new_device`.
    #[serde(rename = "type")]
    pub kind: String,
    pub subject: String,
    pub message: String,
    /// The alert's capture, downloadable at `/api/v1/networkalerts/{id}/pcap`; null when none.
    pub pcap_id: Option<i64>,
    /// Friendly name, else hostname, of the device holding the address; `""` when none.
    pub src_device_name: String,
    pub dst_device_name: String,
    /// Name of the most specific network holding the address; `""` when none.
    pub src_network_name: String,
    pub dst_network_name: String,
    /// False for private, loopback, link-local, CGNAT, multicast and documentation ranges.
    pub is_src_public_ip: bool,
    pub is_dst_public_ip: bool,
}

/// `{"network_alerts": […], "page", "page_size", "total_rows", "total_pages"}`
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkAlertList {
    pub network_alerts: Vec<NetworkAlert>,
    #[serde(flatten)]
    pub page: PageInfo,
}

/// `{"deleted": true, "network_alert": …}`, the alert as it was.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkAlertDeleted {
    pub deleted: bool,
    pub network_alert: NetworkAlert,
}

/// A packet capture in pcap format, for the OpenAPI document.
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct PcapFile(pub Vec<u8>);

/// `filters` of `POST /api/v1/networkalerts/search`. Arrays match any of their values; all
/// given filters must match.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkAlertFilters {
    /// Inclusive lower bound: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` or `YYYY-MM-DD HH:MM:SS`,
    /// server timezone.
    pub from: Option<String>,
    /// Inclusive upper bound; a date covers its whole day, `HH:MM` its whole minute.
    pub to: Option<String>,
    /// Agent hashes (alias `agent_id`).
    #[serde(default, alias = "agent_id")]
    #[schema(value_type = Vec<String>)]
    pub agent: OneOrMany<String>,
    /// 10, 20 or 30.
    #[serde(default)]
    #[schema(value_type = Vec<i64>)]
    pub level: OneOrMany<i64>,
    /// Alert types.
    #[serde(default, rename = "type")]
    #[schema(value_type = Vec<String>)]
    pub kind: OneOrMany<String>,
    /// 1: only the listed types (default); 2: every type but the listed ones.
    pub type_mode: Option<i64>,
    /// Source IP or MAC, or the hostname or friendly name of a device; `%`/`_` wildcards.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub source: OneOrMany<String>,
    /// Destination IP or MAC, or a device's name; `%`/`_` wildcards.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub destination: OneOrMany<String>,
    /// Exact destination ports (alias `dst_port`).
    #[serde(default, alias = "dst_port")]
    #[schema(value_type = Vec<i64>)]
    pub destination_port: OneOrMany<i64>,
    /// Contained in `dst_ip`, `subject`, `message` or `dst_ip:dst_port`.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub search: OneOrMany<String>,
    /// `source`, `destination`, `destinationport` or `pair`: one row per group, the newest.
    pub unique: Option<String>,
}

impl SearchFilters for NetworkAlertFilters {
    type Sort = NetworkAlertSort;
    const PAGINATED: bool = true;
    /// Filter names refused on `GET /api/v1/networkalerts`.
    const NAMES: &'static [&'static str] = &[
        "from",
        "to",
        "agent",
        "agent_id",
        "level",
        "type",
        "type_mode",
        "source",
        "destination",
        "destination_port",
        "dst_port",
        "search",
        "unique",
    ];
    const SEARCH_PATH: &'static str = "/api/v1/networkalerts/search";
    const SORT_DOC: &'static str =
        "id, timestamp (first), agent, source, destination, src_ip, dst_ip, dst_port, type, level, subject, message; default timestamp";
}

/// `unique`: which columns make a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    Source,
    Destination,
    DestinationPort,
    Pair,
}

/// One `source` / `destination` term, classified once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A whole IP address, canonical.
    Ip(String),
    /// A whole MAC address, canonical.
    Mac(String),
    /// Anything else: a device name, a partial address or a wildcard pattern.
    Other(String),
}

impl Endpoint {
    fn parse(field: &str, value: &str) -> Result<Endpoint, ApiError> {
        let v = value.trim();
        let plain = !v.contains(['%', '_', '\\']);
        if plain {
            if let Some(ip) = canonical_ip(v) {
                return Ok(Endpoint::Ip(ip));
            }
            if let Ok(mac) = MacAddr::parse(v) {
                return Ok(Endpoint::Mac(mac.as_str().to_string()));
            }
            if looks_like_ip(v) {
                return Err(invalid(
                    field,
                    format!("`{v}` is not an IPv4 or IPv6 address"),
                ));
            }
        }
        Ok(Endpoint::Other(v.to_string()))
    }
}

/// Text that can only be meant as an address: digits and dots with a dot (no hostname is all
/// numeric), or hex digits and colons with two colons or more that is not a MAC.
fn looks_like_ip(v: &str) -> bool {
    let dotted = v.contains('.') && v.chars().all(|c| c.is_ascii_digit() || c == '.');
    let coloned = v.matches(':').count() >= 2
        && v.chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        && MacAddr::parse(v).is_err();
    dotted || coloned
}

/// The search filters after validation: what the store turns into SQL.
#[derive(Debug, Clone, Default)]
pub struct NetworkQuery {
    pub time: TimeRange,
    pub agents: Vec<String>,
    pub levels: Vec<i64>,
    pub types: Vec<String>,
    /// `type_mode` 2: every type but `types`.
    pub exclude_types: bool,
    pub sources: Vec<Endpoint>,
    pub destinations: Vec<Endpoint>,
    pub dst_ports: Vec<i64>,
    pub search: Vec<String>,
    /// How `search` reaches the rows (always the index for requests).
    pub text_path: TextPath,
    pub unique: Option<Unique>,
}

impl NetworkAlertFilters {
    pub fn check(self, tz: Tz) -> Result<NetworkQuery, ApiError> {
        let exclude_types = match self.type_mode {
            None | Some(1) => false,
            Some(2) => true,
            Some(n) => {
                return Err(invalid(
                    "type_mode",
                    format!(
                        "{n} is not a type mode; use 1 (only these types) or 2 (all but these)"
                    ),
                ))
            }
        };
        let unique = match self
            .unique
            .as_deref()
            .map(|u| u.trim().to_ascii_lowercase())
        {
            None => None,
            Some(u) if u.is_empty() => None,
            Some(u) => Some(match u.as_str() {
                "source" => Unique::Source,
                "destination" => Unique::Destination,
                "destinationport" => Unique::DestinationPort,
                "pair" => Unique::Pair,
                _ => {
                    return Err(invalid(
                        "unique",
                        format!("`{u}` is not one of source, destination, destinationport, pair"),
                    ))
                }
            }),
        };
        let endpoints = |field: &str, values: &[String]| -> Result<Vec<Endpoint>, ApiError> {
            values
                .iter()
                .filter(|v| !v.trim().is_empty())
                .map(|v| Endpoint::parse(field, v))
                .collect()
        };
        Ok(NetworkQuery {
            time: TimeRange::parse(self.from.as_deref(), self.to.as_deref(), tz)?,
            agents: lowered(&self.agent.0),
            levels: levels(&self.level.0)?,
            types: lowered(&self.kind.0),
            exclude_types,
            sources: endpoints("source", &self.source.0)?,
            destinations: endpoints("destination", &self.destination.0)?,
            dst_ports: self.destination_port.0,
            search: self
                .search
                .0
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect(),
            text_path: TextPath::Indexed,
            unique,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkAlertSort {
    Id,
    Timestamp,
    Agent,
    Source,
    Destination,
    SrcIp,
    DstIp,
    DstPort,
    Type,
    Level,
    Subject,
    Message,
}

impl SortField for NetworkAlertSort {
    const DEFAULT: NetworkAlertSort = NetworkAlertSort::Timestamp;
    const DEFAULT_ORDER: Order = Order::Desc;
    fn parse(name: &str) -> Option<NetworkAlertSort> {
        use NetworkAlertSort::*;
        Some(match name.to_ascii_lowercase().as_str() {
            "id" => Id,
            "timestamp" | "first" => Timestamp,
            "agent" => Agent,
            "source" => Source,
            "destination" => Destination,
            "src_ip" => SrcIp,
            "dst_ip" => DstIp,
            "dst_port" => DstPort,
            "type" => Type,
            "level" => Level,
            "subject" => Subject,
            "message" => Message,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_classified_and_bad_addresses_refused() {
        let p = |v| Endpoint::parse("source", v);
        assert_eq!(p("10.0.0.25").unwrap(), Endpoint::Ip("10.0.0.25".into()));
        assert_eq!(
            p("2001:DB8::0001").unwrap(),
            Endpoint::Ip("2001:db8::1".into())
        );
        assert_eq!(
            p("aa-bb-cc-dd-ee-ff").unwrap(),
            Endpoint::Mac("AA:BB:CC:DD:EE:FF".into())
        );
        assert_eq!(p("10.0.0.%").unwrap(), Endpoint::Other("10.0.0.%".into()));
        assert_eq!(
            p("workstation-01").unwrap(),
            Endpoint::Other("workstation-01".into())
        );
        assert_eq!(p("aabb").unwrap(), Endpoint::Other("aabb".into()));
        for bad in ["10.0.0.300", "10.0.0", "fe80:::1", "1.2.3.4.5"] {
            let e = p(bad).unwrap_err();
            assert!(
                e.message.contains("`filters.source`"),
                "{bad}: {}",
                e.message
            );
        }
    }

    #[test]
    fn documented_sort_names_parse() {
        assert_eq!(
            NetworkAlertSort::parse("first"),
            Some(NetworkAlertSort::Timestamp)
        );
        assert_eq!(
            NetworkAlertSort::parse("DST_PORT"),
            Some(NetworkAlertSort::DstPort)
        );
        assert_eq!(NetworkAlertSort::parse("pcap"), None);
    }
}
