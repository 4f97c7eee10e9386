//! Permission keys of both surfaces. A user marked admin holds every permission.

macro_rules! perms {
    ($($variant:ident => $key:literal),* $(,)?) => {
        /// One permission key, spelled on the wire and in the CLI exactly as the contracts do.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(strum::Display, strum::EnumString, strum::IntoStaticStr)]
        #[derive(strum::VariantArray, strum::VariantNames)]
        #[strum(parse_err_ty = String, parse_err_fn = unknown_perm)]
        pub enum Perm { $(#[strum(serialize = $key)] $variant),* }

        /// Zero-sized markers naming one permission each, for [`super::auth::Authed`].
        pub mod need {
            $(
                #[derive(Debug, Clone, Copy)]
                pub struct $variant;
                impl super::PermKey for $variant {
                    const PERM: super::Perm = super::Perm::$variant;
                }
            )*
        }
    };
}

perms! {
    // Network Monitoring API (/api/v1)
    DevicesR => "perm_devices_r",
    DevicesW => "perm_devices_w",
    NetworksR => "perm_networks_r",
    NetworksW => "perm_networks_w",
    AlertsR => "perm_alerts_r",
    AlertsW => "perm_alerts_w",
    DataR => "perm_data_r",
    DataW => "perm_data_w",
    // Events Monitoring API (/v1)
    AssetsR => "perm_assets_r",
    AssetsW => "perm_assets_w",
    ThreatsR => "perm_threats_r",
    ThreatsW => "perm_threats_w",
    IncidentsR => "perm_incidents_r",
    IncidentsW => "perm_incidents_w",
    RulesR => "perm_rules_r",
    RulesW => "perm_rules_w",
    EventsR => "perm_events_r",
    EventsW => "perm_events_w",
    ReportsR => "perm_reports_r",
    ReportsW => "perm_reports_w",
}

/// A type that names one permission (see [`need`]).
pub trait PermKey {
    const PERM: Perm;
}

impl Perm {
    pub const ALL: &'static [Perm] = <Perm as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The error of `"…".parse::<Perm>()`, listing the known keys.
fn unknown_perm(other: &str) -> String {
    format!(
        "unknown permission `{other}`; known: {}",
        <Perm as strum::VariantNames>::VARIANTS.join(", ")
    )
}

/// Stored form: space-separated keys.
pub fn encode(perms: &[Perm]) -> String {
    let mut v: Vec<&str> = perms.iter().map(|p| p.as_str()).collect();
    v.sort_unstable();
    v.dedup();
    v.join(" ")
}

/// Reads the stored form, skipping keys this build no longer knows.
pub fn decode(stored: &str) -> Vec<Perm> {
    stored
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for p in Perm::ALL {
            assert_eq!(p.as_str().parse::<Perm>().unwrap(), *p);
        }
        assert_eq!(
            decode(&encode(&[Perm::DataW, Perm::AssetsR, Perm::DataW])),
            vec![Perm::AssetsR, Perm::DataW]
        );
        let unknown = "perm_nope".parse::<Perm>().unwrap_err();
        assert!(
            unknown.starts_with("unknown permission `perm_nope`; known: perm_devices_r, ")
                && unknown.ends_with(", perm_reports_w"),
            "{unknown}"
        );
        assert_eq!(Perm::ALL.len(), 20);
        assert_eq!(Perm::EventsW.to_string(), "perm_events_w");
    }
}
