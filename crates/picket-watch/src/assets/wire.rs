//! Wire types of assets and the validation that turns input into [`AssetData`].

use std::collections::BTreeMap;

use picket_core::time::serde_rfc3339;
use picket_core::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use picket_corpus::taxonomy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[derive(strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum AssetType {
    Facility,
    Residence,
}

impl AssetType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
    pub fn parse(s: &str) -> Option<AssetType> {
        s.parse().ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
#[derive(strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum AssetStatus {
    #[default]
    Active,
    Archived,
}

impl AssetStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
    pub fn parse(s: &str) -> Option<AssetStatus> {
        s.parse().ok()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attributes {
    /// Latitude, −90..90.
    #[serde(default)]
    pub lat: Option<f64>,
    /// Longitude, −180..180.
    #[serde(default)]
    pub lng: Option<f64>,
    #[serde(default)]
    pub address: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. `NG`.
    #[serde(default)]
    pub country: Option<String>,
    /// Monitoring radius in km, > 0 and ≤ 1000.
    #[serde(default)]
    pub monitoring_radius_km: Option<f64>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThreatConfig {
    /// General threat engine switch (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub alert_classes: Vec<String>,
    #[serde(default)]
    pub custom_instructions: Option<String>,
    /// Categories or event types to monitor; empty means all.
    #[serde(default)]
    pub monitored_event_types: Vec<String>,
    /// How far back an asset's first scan looks (default 30).
    #[serde(default)]
    pub lookback_days: Option<u32>,
}

impl Default for ThreatConfig {
    fn default() -> Self {
        ThreatConfig {
            enabled: true,
            alert_classes: vec![],
            custom_instructions: None,
            monitored_event_types: vec![],
            lookback_days: Some(DEFAULT_LOOKBACK_DAYS),
        }
    }
}

pub const DEFAULT_LOOKBACK_DAYS: u32 = 30;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhysicalThreatConfig {
    /// Physical evaluation switch (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub alert_classes: Vec<String>,
    #[serde(default)]
    pub custom_instructions: Option<String>,
    #[serde(default)]
    pub monitored_event_types: Vec<String>,
    /// Category → hours; overrides the category's default maximum age.
    #[serde(default)]
    pub max_age_hours_by_category: BTreeMap<String, f64>,
    /// Category → km; overrides the category's radius for this asset.
    #[serde(default)]
    pub radius_km_by_category: BTreeMap<String, f64>,
}

impl Default for PhysicalThreatConfig {
    fn default() -> Self {
        PhysicalThreatConfig {
            enabled: true,
            alert_classes: vec![],
            custom_instructions: None,
            monitored_event_types: vec![],
            max_age_hours_by_category: BTreeMap::new(),
            radius_km_by_category: BTreeMap::new(),
        }
    }
}

/// An asset as clients send it (create, bulk upsert; PATCH sends any subset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetInput {
    /// The client's stable id, unique in the tenant.
    pub asset_id: String,
    #[serde(rename = "type")]
    pub asset_type: AssetType,
    pub name: String,
    #[serde(default)]
    pub status: Option<AssetStatus>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub attributes: Option<Attributes>,
    #[serde(default)]
    pub threat_config: Option<ThreatConfig>,
    #[serde(default)]
    pub physical_threat_config: Option<PhysicalThreatConfig>,
}

/// A validated asset, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetData {
    pub asset_id: String,
    pub asset_type: AssetType,
    pub name: String,
    pub status: AssetStatus,
    pub role: Option<String>,
    pub attributes: Attributes,
    pub threat_config: ThreatConfig,
    pub physical_threat_config: PhysicalThreatConfig,
}

const MAX_ID_LEN: usize = 200;
const MAX_TEXT_LEN: usize = 10_000;

fn invalid(prefix: &str, field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("invalid field `{prefix}{field}`: {why}"))
}

fn check_text(prefix: &str, field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(invalid(
            prefix,
            field,
            format!("longer than {max} characters"),
        ));
    }
    Ok(())
}

fn check_types(prefix: &str, field: &str, list: &[String]) -> Result<(), ApiError> {
    for (i, v) in list.iter().enumerate() {
        if v.trim().is_empty() {
            return Err(invalid(
                prefix,
                &format!("{field}[{i}]"),
                "must not be empty",
            ));
        }
        check_text(prefix, &format!("{field}[{i}]"), v, MAX_ID_LEN)?;
    }
    Ok(())
}

fn check_category_map(
    prefix: &str,
    field: &str,
    map: &BTreeMap<String, f64>,
    max: f64,
) -> Result<(), ApiError> {
    for (k, v) in map {
        if taxonomy::category(k).is_none() {
            return Err(invalid(
                prefix,
                &format!("{field}.{k}"),
                format!(
                    "unknown category; expected one of {}",
                    taxonomy::category_keys()
                ),
            ));
        }
        if !v.is_finite() || *v <= 0.0 || *v > max {
            return Err(invalid(
                prefix,
                &format!("{field}.{k}"),
                format!("must be > 0 and ≤ {max}"),
            ));
        }
    }
    Ok(())
}

impl AssetInput {
    /// Validates the input; `prefix` locates it in the request (`assets[3].`) for messages.
    pub fn validate(self, prefix: &str) -> Result<AssetData, ApiError> {
        let asset_id = self.asset_id.trim().to_string();
        if asset_id.is_empty() {
            return Err(invalid(prefix, "asset_id", "must not be empty"));
        }
        check_text(prefix, "asset_id", &asset_id, MAX_ID_LEN)?;
        let name = self.name.trim().to_string();
        if name.is_empty() {
            return Err(invalid(prefix, "name", "must not be empty"));
        }
        check_text(prefix, "name", &name, MAX_ID_LEN)?;
        if let Some(role) = &self.role {
            check_text(prefix, "role", role, MAX_ID_LEN)?;
        }

        let mut attributes = self.attributes.unwrap_or_default();
        match (attributes.lat, attributes.lng) {
            (Some(lat), _) if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) => {
                return Err(invalid(
                    prefix,
                    "attributes.lat",
                    "must be between -90 and 90",
                ));
            }
            (_, Some(lng)) if !(lng.is_finite() && (-180.0..=180.0).contains(&lng)) => {
                return Err(invalid(
                    prefix,
                    "attributes.lng",
                    "must be between -180 and 180",
                ));
            }
            (Some(_), None) => {
                return Err(invalid(
                    prefix,
                    "attributes.lng",
                    "is required when `lat` is given",
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    prefix,
                    "attributes.lat",
                    "is required when `lng` is given",
                ))
            }
            _ => {}
        }
        if let Some(r) = attributes.monitoring_radius_km {
            if !(r.is_finite() && r > 0.0 && r <= 1000.0) {
                return Err(invalid(
                    prefix,
                    "attributes.monitoring_radius_km",
                    "must be > 0 and ≤ 1000",
                ));
            }
        }
        if let Some(c) = &attributes.country {
            let upper = c.trim().to_ascii_uppercase();
            if upper.len() != 2 || !upper.chars().all(|ch| ch.is_ascii_alphabetic()) {
                return Err(invalid(
                    prefix,
                    "attributes.country",
                    "must be an ISO 3166-1 alpha-2 code such as `NG`",
                ));
            }
            attributes.country = Some(upper);
        }
        if let Some(a) = &attributes.address {
            check_text(prefix, "attributes.address", a, MAX_TEXT_LEN)?;
        }

        let mut threat_config = self.threat_config.unwrap_or_default();
        check_types(
            prefix,
            "threat_config.alert_classes",
            &threat_config.alert_classes,
        )?;
        check_types(
            prefix,
            "threat_config.monitored_event_types",
            &threat_config.monitored_event_types,
        )?;
        match threat_config.lookback_days {
            Some(d) if d == 0 || d > 3650 => {
                return Err(invalid(
                    prefix,
                    "threat_config.lookback_days",
                    "must be between 1 and 3650",
                ));
            }
            None => threat_config.lookback_days = Some(DEFAULT_LOOKBACK_DAYS),
            _ => {}
        }
        if let Some(ci) = &threat_config.custom_instructions {
            check_text(
                prefix,
                "threat_config.custom_instructions",
                ci,
                MAX_TEXT_LEN,
            )?;
        }

        let physical = self.physical_threat_config.unwrap_or_default();
        check_types(
            prefix,
            "physical_threat_config.alert_classes",
            &physical.alert_classes,
        )?;
        check_types(
            prefix,
            "physical_threat_config.monitored_event_types",
            &physical.monitored_event_types,
        )?;
        check_category_map(
            prefix,
            "physical_threat_config.max_age_hours_by_category",
            &physical.max_age_hours_by_category,
            24.0 * 3650.0,
        )?;
        check_category_map(
            prefix,
            "physical_threat_config.radius_km_by_category",
            &physical.radius_km_by_category,
            1000.0,
        )?;
        if let Some(ci) = &physical.custom_instructions {
            check_text(
                prefix,
                "physical_threat_config.custom_instructions",
                ci,
                MAX_TEXT_LEN,
            )?;
        }

        Ok(AssetData {
            asset_id,
            asset_type: self.asset_type,
            name,
            status: self.status.unwrap_or_default(),
            role: self.role,
            attributes,
            threat_config,
            physical_threat_config: physical,
        })
    }
}

impl AssetData {
    /// The input that reproduces this asset (the base a PATCH is merged onto).
    pub fn to_input(&self) -> AssetInput {
        AssetInput {
            asset_id: self.asset_id.clone(),
            asset_type: self.asset_type,
            name: self.name.clone(),
            status: Some(self.status),
            role: self.role.clone(),
            attributes: Some(self.attributes.clone()),
            threat_config: Some(self.threat_config.clone()),
            physical_threat_config: Some(self.physical_threat_config.clone()),
        }
    }
}

/// An asset as the API returns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Asset {
    /// Server id (UUID).
    pub id: String,
    pub asset_id: String,
    #[serde(rename = "type")]
    pub asset_type: AssetType,
    pub name: String,
    pub status: AssetStatus,
    pub role: Option<String>,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
    pub attributes: Attributes,
    pub threat_config: ThreatConfig,
    pub physical_threat_config: PhysicalThreatConfig,
    /// False when the asset lacks usable coordinates (no location-based threats).
    pub monitorable: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssetList {
    pub assets: Vec<Asset>,
    pub total: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpsertedAssets {
    pub assets: Vec<Asset>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpsertBody {
    pub assets: Vec<AssetInput>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `active` or `archived`.
    pub status: Option<AssetStatus>,
    /// `facility` or `residence`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub asset_type: Option<AssetType>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_statuses_read_as_the_wire_spells_them() {
        for t in [AssetType::Facility, AssetType::Residence] {
            assert_eq!(AssetType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        for s in [AssetStatus::Active, AssetStatus::Archived] {
            assert_eq!(AssetStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(AssetType::Residence.as_str(), "residence");
        assert_eq!(AssetType::parse("Facility"), None);
        assert_eq!(AssetStatus::parse("deleted"), None);
    }

    fn input(json: serde_json::Value) -> AssetInput {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn defaults_are_filled() {
        let a = input(serde_json::json!({"asset_id": " hq ", "type": "facility", "name": "HQ"}))
            .validate("")
            .unwrap();
        assert_eq!(a.asset_id, "hq");
        assert_eq!(a.status, AssetStatus::Active);
        assert!(a.threat_config.enabled);
        assert_eq!(a.threat_config.lookback_days, Some(30));
        assert!(a.physical_threat_config.enabled);
    }

    #[test]
    fn ranges_are_checked_and_named() {
        let cases = [
            (
                serde_json::json!({"lat": 91.0, "lng": 3.0}),
                "attributes.lat",
            ),
            (
                serde_json::json!({"lat": 6.0, "lng": -181.0}),
                "attributes.lng",
            ),
            (serde_json::json!({"lat": 6.0}), "attributes.lng"),
            (
                serde_json::json!({"monitoring_radius_km": 0.0}),
                "attributes.monitoring_radius_km",
            ),
            (
                serde_json::json!({"monitoring_radius_km": 1000.5}),
                "attributes.monitoring_radius_km",
            ),
            (serde_json::json!({"country": "NGA"}), "attributes.country"),
        ];
        for (attrs, field) in cases {
            let e = input(serde_json::json!({"asset_id": "a", "type": "facility", "name": "n", "attributes": attrs}))
                .validate("assets[4].")
                .unwrap_err();
            assert!(
                e.message.contains(&format!("assets[4].{field}")),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn country_is_upper_cased_and_categories_checked() {
        let a = input(serde_json::json!({"asset_id": "a", "type": "residence", "name": "n", "attributes": {"country": "ng"}}))
            .validate("")
            .unwrap();
        assert_eq!(a.attributes.country.as_deref(), Some("NG"));
        let e = input(
            serde_json::json!({"asset_id": "a", "type": "residence", "name": "n",
            "physical_threat_config": {"radius_km_by_category": {"volcano": 3}}}),
        )
        .validate("")
        .unwrap_err();
        assert!(
            e.message.contains("radius_km_by_category.volcano"),
            "{}",
            e.message
        );
    }
}
