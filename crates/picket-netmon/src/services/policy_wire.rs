//! Allowed-service entries and exclude rules on the wire, and their bodies parsed into
//! validated data.

use ipnet::IpNet;
use picket_core::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::wire::{block_text, invalid, parse_ip_or_cidr, parse_port, Proto};

/// An allowed-service entry: the ports it matches are authorized unless an exclude rule
/// matches them too.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AllowedService {
    pub id: i64,
    /// An address, a CIDR block, or `*` (every address).
    pub service_ip: String,
    pub service_port: i64,
    pub proto: String,
    pub name: String,
    pub created_at: String,
}

/// `{"allowed_service": …}`
#[derive(Debug, Serialize, ToSchema)]
pub struct AllowedServiceOne {
    pub allowed_service: AllowedService,
}

/// `{"allowed_services": […]}`
#[derive(Debug, Serialize, ToSchema)]
pub struct AllowedServiceList {
    pub allowed_services: Vec<AllowedService>,
}

/// `{"deleted": true, "allowed_service": …}`, the entry as it was.
#[derive(Debug, Serialize, ToSchema)]
pub struct AllowedServiceDeleted {
    pub deleted: bool,
    pub allowed_service: AllowedService,
}

/// Body of `POST /api/v1/services/authorize`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeInput {
    /// An address, a CIDR block, or `*`.
    pub service_ip: String,
    pub service_port: i64,
    /// `tcp` or `udp`, any case.
    pub proto: String,
    /// Kept when omitted on an existing entry.
    pub name: Option<String>,
}

/// What an allowed-service entry matches by address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Any,
    Block(IpNet),
}

impl Target {
    pub fn parse(input: &str) -> Result<Target, String> {
        match input.trim() {
            "*" => Ok(Target::Any),
            s => parse_ip_or_cidr(s)
                .map(Target::Block)
                .map_err(|e| format!("{e}; or use `*` for every address")),
        }
    }

    /// The stored text: `*`, an address, or a CIDR block.
    pub fn text(&self) -> String {
        match self {
            Target::Any => "*".into(),
            Target::Block(net) => block_text(net),
        }
    }
}

/// An allowed-service entry that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedData {
    pub target: Target,
    pub port: i64,
    pub proto: Proto,
    /// `None`: keep the existing entry's name (empty for a new one).
    pub name: Option<String>,
}

impl AuthorizeInput {
    pub fn validate(self) -> Result<AllowedData, ApiError> {
        Ok(AllowedData {
            target: Target::parse(&self.service_ip).map_err(|e| invalid("service_ip", e))?,
            port: parse_port(self.service_port).map_err(|e| invalid("service_port", e))?,
            proto: Proto::parse(&self.proto).map_err(|e| invalid("proto", e))?,
            name: self.name.map(|n| n.trim().to_string()),
        })
    }
}

/// An exclude rule: ports it matches are not authorized, whatever the allowed entries say.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExcludeRule {
    pub id: i64,
    /// An address or a CIDR block.
    pub ip: String,
    /// `null` with `port_to`: every port.
    pub port_from: Option<i64>,
    pub port_to: Option<i64>,
    /// `tcp`, `udp`, or `null` for both.
    pub proto: Option<String>,
    pub comment: String,
    pub created_at: String,
}

/// `{"exclude_rule": …}`
#[derive(Debug, Serialize, ToSchema)]
pub struct ExcludeRuleOne {
    pub exclude_rule: ExcludeRule,
}

/// `{"exclude_rules": […]}`
#[derive(Debug, Serialize, ToSchema)]
pub struct ExcludeRuleList {
    pub exclude_rules: Vec<ExcludeRule>,
}

/// `{"deleted": true, "exclude_rule": …}`, the rule as it was.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExcludeRuleDeleted {
    pub deleted: bool,
    pub exclude_rule: ExcludeRule,
}

/// Body of `POST /api/v1/services/exclude-rules`. A single bound is a one-port range.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExcludeRuleInput {
    /// An address or a CIDR block.
    pub ip: String,
    pub port_from: Option<i64>,
    pub port_to: Option<i64>,
    /// `tcp`, `udp` (any case), or `null`/omitted for both.
    pub proto: Option<String>,
    pub comment: Option<String>,
}

/// An exclude rule that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExcludeData {
    pub net: IpNet,
    /// Inclusive; `None`: every port.
    pub ports: Option<(i64, i64)>,
    pub proto: Option<Proto>,
    pub comment: String,
}

impl ExcludeRuleInput {
    pub fn validate(self) -> Result<ExcludeData, ApiError> {
        let net = parse_ip_or_cidr(&self.ip).map_err(|e| invalid("ip", e))?;
        let from = self
            .port_from
            .map(|p| parse_port(p).map_err(|e| invalid("port_from", e)))
            .transpose()?;
        let to = self
            .port_to
            .map(|p| parse_port(p).map_err(|e| invalid("port_to", e)))
            .transpose()?;
        let ports = match (from, to) {
            (None, None) => None,
            (Some(f), None) => Some((f, f)),
            (None, Some(t)) => Some((t, t)),
            (Some(f), Some(t)) if f > t => {
                return Err(invalid("port_from", format!("{f} is above `port_to` {t}")))
            }
            (Some(f), Some(t)) => Some((f, t)),
        };
        let proto = self
            .proto
            .map(|p| Proto::parse(&p).map_err(|e| invalid("proto", e)))
            .transpose()?;
        Ok(ExcludeData {
            net,
            ports,
            proto,
            comment: self.comment.unwrap_or_default().trim().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(v: serde_json::Value) -> Result<ExcludeData, ApiError> {
        serde_json::from_value::<ExcludeRuleInput>(v)
            .unwrap()
            .validate()
    }

    #[test]
    fn targets_are_addresses_blocks_or_star() {
        assert_eq!(Target::parse(" * ").unwrap(), Target::Any);
        assert_eq!(Target::parse("10.0.0.0/8").unwrap().text(), "10.0.0.0/8");
        assert_eq!(Target::parse("10.0.0.7/32").unwrap().text(), "10.0.0.7");
        assert!(Target::parse("10.0.0.7/8")
            .unwrap_err()
            .contains("host bits"));
        assert!(Target::parse("any").unwrap_err().contains('*'));
    }

    #[test]
    fn exclude_rules_take_ranges_single_ports_or_none() {
        let r = rule(serde_json::json!({"ip": "10.0.0.0/24"})).unwrap();
        assert_eq!((r.ports, r.proto), (None, None));
        let r = rule(serde_json::json!({"ip": "10.0.0.1", "port_from": 8000, "port_to": 8080, "proto": "UDP"})).unwrap();
        assert_eq!((r.ports, r.proto), (Some((8000, 8080)), Some(Proto::Udp)));
        let r = rule(serde_json::json!({"ip": "::1", "port_to": 22, "proto": null})).unwrap();
        assert_eq!(r.ports, Some((22, 22)));
        for (v, needle) in [
            (serde_json::json!({"ip": "10.0.0.1/24"}), "ip"),
            (serde_json::json!({"ip": "*"}), "ip"),
            (
                serde_json::json!({"ip": "10.0.0.1", "port_from": 0}),
                "port_from",
            ),
            (
                serde_json::json!({"ip": "10.0.0.1", "port_to": 70000}),
                "port_to",
            ),
            (
                serde_json::json!({"ip": "10.0.0.1", "port_from": 90, "port_to": 80}),
                "port_from",
            ),
            (
                serde_json::json!({"ip": "10.0.0.1", "proto": "sctp"}),
                "proto",
            ),
        ] {
            let e = rule(v.clone()).unwrap_err();
            assert!(e.message.contains(needle), "{v}: {}", e.message);
        }
    }
}
