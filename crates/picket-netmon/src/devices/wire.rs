//! Devices on the wire: the object with its derived `network` and `is_gateway`, the list
//! envelope, the update body, the search filters and the sort fields with their aliases.

use sea_query::Order;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::listing::{OneOrMany, PageInfo, SearchFilters, SortField};

/// A device as answered; every response carries the full object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Device {
    pub id: i64,
    /// Upper-case colon form.
    pub mac: String,
    pub last_ip: String,
    pub hostname: String,
    /// Set by users.
    pub friendly_name: String,
    /// From the offline IEEE OUI table; `""` when unregistered.
    pub vendor: String,
    /// Name of the most specific network whose CIDR holds `last_ip`; `""` when none does.
    pub network: String,
    /// True when `last_ip` is some network's `gateway_ip`.
    pub is_gateway: bool,
    /// `YYYY-MM-DD HH:MM:SS`, server timezone.
    pub first_seen: String,
    pub last_seen: String,
}

/// `{"devices": […], "page", "page_size", "total_rows", "total_pages"}`
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceList {
    pub devices: Vec<Device>,
    #[serde(flatten)]
    pub page: PageInfo,
}

/// `{"device": …}`
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceOne {
    pub device: Device,
}

/// Update body: at least one field; afterwards the device needs a non-empty `hostname` or
/// `friendly_name`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceUpdate {
    pub hostname: Option<String>,
    pub friendly_name: Option<String>,
}

/// `filters` of `POST /api/v1/devices/search`; every string filter takes `%`/`_` wildcards.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceFilters {
    /// Any notation; normalised before matching.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub mac: OneOrMany<String>,
    /// Matches `last_ip`.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub ip: OneOrMany<String>,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub vendor: OneOrMany<String>,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub hostname: OneOrMany<String>,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub friendly_name: OneOrMany<String>,
}

impl SearchFilters for DeviceFilters {
    type Sort = DeviceSort;
    const PAGINATED: bool = true;
    /// Filter names refused on `GET /api/v1/devices`.
    const NAMES: &'static [&'static str] = &["ip", "mac", "vendor", "hostname", "friendly_name"];
    const SEARCH_PATH: &'static str = "/api/v1/devices/search";
    const SORT_DOC: &'static str =
        "last_ip (lastip, ip), hostname, friendly_name (name), mac, vendor, gateway (is_gateway), ipcount (ip_count, ip_history), first_seen (first), last_seen (last); default last_ip";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSort {
    LastIp,
    Hostname,
    FriendlyName,
    Mac,
    Vendor,
    Gateway,
    IpCount,
    FirstSeen,
    LastSeen,
}

impl SortField for DeviceSort {
    const DEFAULT: DeviceSort = DeviceSort::LastIp;
    const DEFAULT_ORDER: Order = Order::Asc;
    fn parse(name: &str) -> Option<DeviceSort> {
        Some(match name.to_ascii_lowercase().as_str() {
            "last_ip" | "lastip" | "ip" => DeviceSort::LastIp,
            "hostname" => DeviceSort::Hostname,
            "friendly_name" | "name" => DeviceSort::FriendlyName,
            "mac" => DeviceSort::Mac,
            "vendor" => DeviceSort::Vendor,
            "gateway" | "is_gateway" => DeviceSort::Gateway,
            "ipcount" | "ip_count" | "ip_history" => DeviceSort::IpCount,
            "first_seen" | "first" => DeviceSort::FirstSeen,
            "last_seen" | "last" => DeviceSort::LastSeen,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_aliases_parse() {
        for (names, field) in [
            (&["last_ip", "lastip", "ip"][..], DeviceSort::LastIp),
            (&["friendly_name", "name"][..], DeviceSort::FriendlyName),
            (&["gateway", "is_gateway"][..], DeviceSort::Gateway),
            (
                &["ipcount", "ip_count", "ip_history"][..],
                DeviceSort::IpCount,
            ),
            (&["first_seen", "first"][..], DeviceSort::FirstSeen),
            (&["last_seen", "LAST"][..], DeviceSort::LastSeen),
        ] {
            for n in names {
                assert_eq!(DeviceSort::parse(n), Some(field), "{n}");
            }
        }
        assert_eq!(DeviceSort::parse("ip_address"), None);
    }
}
