//! Networks on the wire: the object, the create/update body parsed into validated
//! [`NetworkData`], the search filters and the sort fields.

use picket_core::ApiError;
use sea_query::Order;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::addr::{parse_cidr, parse_ip, MacAddr};
use crate::listing::{OneOrMany, SearchFilters, SortField};

/// A network as answered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Network {
    pub id: i64,
    pub name: String,
    /// Canonical CIDR block, IPv4 or IPv6.
    pub cidr: String,
    /// `""` when not set.
    pub gateway_ip: String,
    /// Upper-case colon form; `""` when not set.
    pub gateway_mac: String,
    /// New-device alert level: 0 (none), 10, 20 or 30.
    pub alert: i64,
}

/// `{"network": …}`
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkOne {
    pub network: Network,
}

/// `{"networks": […]}`
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkList {
    pub networks: Vec<Network>,
}

/// `{"deleted": true, "network": …}`, the row as it was.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkDeleted {
    pub deleted: bool,
    pub network: Network,
}

/// Create body (`name` and `cidr` required) or update body (any subset, at least one).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkInput {
    pub name: Option<String>,
    pub cidr: Option<String>,
    pub gateway_ip: Option<String>,
    pub gateway_mac: Option<String>,
    pub alert: Option<i64>,
}

/// A network that passed validation: what the store writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkData {
    pub name: String,
    pub cidr: ipnet::IpNet,
    pub gateway_ip: String,
    pub gateway_mac: String,
    pub alert: i64,
}

pub const ALERT_LEVELS: [i64; 4] = [0, 10, 20, 30];

impl NetworkInput {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.cidr.is_none()
            && self.gateway_ip.is_none()
            && self.gateway_mac.is_none()
            && self.alert.is_none()
    }

    /// Validates a create body.
    pub fn create(self) -> Result<NetworkData, ApiError> {
        let name = self.name.clone().ok_or_else(|| missing("name"))?;
        let cidr = self.cidr.clone().ok_or_else(|| missing("cidr"))?;
        validate(
            name,
            &cidr,
            self.gateway_ip.as_deref().unwrap_or(""),
            self.gateway_mac.as_deref().unwrap_or(""),
            self.alert.unwrap_or(0),
        )
    }

    /// Applies an update body to the current network and validates the result as a whole.
    pub fn apply_to(self, current: &Network) -> Result<NetworkData, ApiError> {
        if self.is_empty() {
            return Err(ApiError::bad_request(
                "at least one of `name`, `cidr`, `gateway_ip`, `gateway_mac`, `alert` is required",
            ));
        }
        validate(
            self.name.unwrap_or_else(|| current.name.clone()),
            self.cidr.as_deref().unwrap_or(&current.cidr),
            self.gateway_ip.as_deref().unwrap_or(&current.gateway_ip),
            self.gateway_mac.as_deref().unwrap_or(&current.gateway_mac),
            self.alert.unwrap_or(current.alert),
        )
    }
}

fn missing(field: &str) -> ApiError {
    ApiError::bad_request(format!("invalid JSON body: missing field `{field}`"))
}

fn invalid(field: &str, why: String) -> ApiError {
    ApiError::bad_request(format!("invalid field `{field}`: {why}"))
}

fn validate(
    name: String,
    cidr: &str,
    gateway_ip: &str,
    gateway_mac: &str,
    alert: i64,
) -> Result<NetworkData, ApiError> {
    let name = name.trim().to_string();
    if name.is_empty() {
        return Err(invalid("name", "must not be empty".into()));
    }
    let cidr = parse_cidr(cidr).map_err(|e| invalid("cidr", e))?;
    let gateway_ip = match gateway_ip.trim() {
        "" => String::new(),
        s => parse_ip(s)
            .map_err(|e| invalid("gateway_ip", e))?
            .to_string(),
    };
    let gateway_mac = match gateway_mac.trim() {
        "" => String::new(),
        s => MacAddr::parse(s)
            .map_err(|e| invalid("gateway_mac", e))?
            .as_str()
            .to_string(),
    };
    if !ALERT_LEVELS.contains(&alert) {
        return Err(invalid(
            "alert",
            format!("`{alert}` is not a level; use 0, 10, 20 or 30"),
        ));
    }
    Ok(NetworkData {
        name,
        cidr,
        gateway_ip,
        gateway_mac,
        alert,
    })
}

/// `filters` of `POST /api/v1/networks/search`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkFilters {
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub name: OneOrMany<String>,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub cidr: OneOrMany<String>,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub gateway_ip: OneOrMany<String>,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub gateway_mac: OneOrMany<String>,
    #[serde(default)]
    #[schema(value_type = Vec<i64>)]
    pub alert: OneOrMany<i64>,
}

impl SearchFilters for NetworkFilters {
    type Sort = NetworkSort;
    const PAGINATED: bool = false;
    /// Filter names refused on `GET /api/v1/networks`.
    const NAMES: &'static [&'static str] = &["name", "cidr", "gateway_ip", "gateway_mac", "alert"];
    const SEARCH_PATH: &'static str = "/api/v1/networks/search";
    const SORT_DOC: &'static str = "id, name, cidr, gateway_ip, gateway_mac or alert; default name";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkSort {
    Id,
    Name,
    Cidr,
    GatewayIp,
    GatewayMac,
    Alert,
}

impl SortField for NetworkSort {
    const DEFAULT: NetworkSort = NetworkSort::Name;
    const DEFAULT_ORDER: Order = Order::Asc;
    fn parse(name: &str) -> Option<NetworkSort> {
        Some(match name.to_ascii_lowercase().as_str() {
            "id" => NetworkSort::Id,
            "name" => NetworkSort::Name,
            "cidr" => NetworkSort::Cidr,
            "gateway_ip" => NetworkSort::GatewayIp,
            "gateway_mac" => NetworkSort::GatewayMac,
            "alert" => NetworkSort::Alert,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_validates_and_normalises() {
        let d = NetworkInput {
            name: Some(" Office LAN ".into()),
            cidr: Some("10.0.0.0/24".into()),
            gateway_ip: Some("10.0.0.1".into()),
            gateway_mac: Some("aa-bb-cc-dd-ee-ff".into()),
            alert: None,
        }
        .create()
        .unwrap();
        assert_eq!(d.name, "Office LAN");
        assert_eq!(d.gateway_mac, "AA:BB:CC:DD:EE:FF");
        assert_eq!(d.alert, 0);
        let bad = |i: NetworkInput, needle: &str| {
            let e = i.create().unwrap_err();
            assert!(e.message.contains(needle), "{}", e.message);
        };
        let base = NetworkInput {
            name: Some("n".into()),
            cidr: Some("10.0.0.0/24".into()),
            ..Default::default()
        };
        bad(
            NetworkInput {
                name: None,
                ..base.clone()
            },
            "name",
        );
        bad(
            NetworkInput {
                name: Some(" ".into()),
                ..base.clone()
            },
            "name",
        );
        bad(
            NetworkInput {
                cidr: Some("10.0.0.5/24".into()),
                ..base.clone()
            },
            "host bits",
        );
        bad(
            NetworkInput {
                gateway_ip: Some("10.0.0".into()),
                ..base.clone()
            },
            "gateway_ip",
        );
        bad(
            NetworkInput {
                gateway_mac: Some("zz".into()),
                ..base.clone()
            },
            "gateway_mac",
        );
        bad(
            NetworkInput {
                alert: Some(15),
                ..base
            },
            "alert",
        );
    }

    #[test]
    fn sort_names_are_case_insensitive_whitelist() {
        assert_eq!(NetworkSort::parse("CIDR"), Some(NetworkSort::Cidr));
        assert_eq!(NetworkSort::parse("name; DROP TABLE"), None);
    }
}
