//! CAMEO event codes (GDELT's `EventCode`): their names, from the bundled `cameo-codes.json`,
//! and the mapping into Picket's taxonomy.
//!
//! Only codes that describe something physically happening map; statements, appeals,
//! cooperation, threats and sanctions (roots 01–13, 16, and the non-violent parts of 17) are
//! not security events, and a GDELT row carrying one is refused with that reason.
//!
//! | CAMEO | category | event_type |
//! |---|---|---|
//! | 140–144 protest, hunger strike, strike, obstruction | civil_unrest | protest |
//! | 145 protest violently, riot | civil_unrest | riot |
//! | 15 exhibit force posture | armed_conflict | force_posture |
//! | 170 coerce | crime_violence | coercion |
//! | 171 seize or damage property | crime_violence | property_seizure_or_damage |
//! | 173 arrest, detain | crime_violence | arrest |
//! | 175 violent repression | civil_unrest | violent_repression |
//! | 176 attack cybernetically | cyber_attack | cyber_attack |
//! | 180, 182 unconventional violence, physical assault | crime_violence | assault |
//! | 181 abduct, hijack, take hostage | crime_violence | abduction |
//! | 183 non-military bombing | terrorism | bombing |
//! | 184 use as human shield | crime_violence | human_shield |
//! | 185, 186 (attempted) assassination | terrorism | assassination |
//! | 19 fight | armed_conflict | armed_clash |
//! | 20 unconventional mass violence | armed_conflict | mass_violence |
//!
//! `event_subtype` is the exact code's CAMEO name in snake case (`demonstrate_for_rights`).

use std::collections::HashMap;
use std::sync::OnceLock;

/// Longest matching prefix wins.
const TAXONOMY: &[(&str, &str, &str)] = &[
    ("140", "civil_unrest", "protest"),
    ("141", "civil_unrest", "protest"),
    ("142", "civil_unrest", "protest"),
    ("143", "civil_unrest", "protest"),
    ("144", "civil_unrest", "protest"),
    ("145", "civil_unrest", "riot"),
    ("15", "armed_conflict", "force_posture"),
    ("170", "crime_violence", "coercion"),
    ("171", "crime_violence", "property_seizure_or_damage"),
    ("173", "crime_violence", "arrest"),
    ("175", "civil_unrest", "violent_repression"),
    ("176", "cyber_attack", "cyber_attack"),
    ("180", "crime_violence", "assault"),
    ("181", "crime_violence", "abduction"),
    ("182", "crime_violence", "assault"),
    ("183", "terrorism", "bombing"),
    ("184", "crime_violence", "human_shield"),
    ("185", "terrorism", "assassination"),
    ("186", "terrorism", "assassination"),
    ("19", "armed_conflict", "armed_clash"),
    ("20", "armed_conflict", "mass_violence"),
];

/// A CAMEO code's place in the taxonomy.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub name: String,
    pub category: &'static str,
    pub event_type: &'static str,
    pub subtype: String,
}

fn names() -> &'static HashMap<String, String> {
    static NAMES: OnceLock<HashMap<String, String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let doc: HashMap<String, serde_json::Value> =
            serde_json::from_str(include_str!("../../data/cameo-codes.json"))
                .expect("the bundled CAMEO table is JSON");
        doc.into_iter()
            .filter_map(|(code, v)| {
                let name = v.get("name")?.as_str()?.replace("Threate n", "Threaten");
                // The source lists 183 as 1883; no CAMEO code has four digits starting 188.
                let code = if code == "1883" { "183".into() } else { code };
                Some((code, name))
            })
            .collect()
    })
}

/// The CAMEO name of a code, as the bundled table spells it.
pub fn name(code: &str) -> Option<&'static str> {
    names().get(code).map(String::as_str)
}

/// `Err` for a code CAMEO does not define, `Ok(None)` for one that is not a security event.
pub fn map(code: &str) -> Result<Option<Mapped>, String> {
    let name = name(code).ok_or_else(|| format!("unknown CAMEO EventCode `{code}`"))?;
    let Some((_, category, event_type)) = TAXONOMY
        .iter()
        .filter(|(prefix, _, _)| code.starts_with(prefix))
        .max_by_key(|(prefix, _, _)| prefix.len())
    else {
        return Ok(None);
    };
    Ok(Some(Mapped {
        name: tidy(name),
        category,
        event_type,
        subtype: snake(name),
    }))
}

/// "Demonstrate or rally, not specified below" → "Demonstrate or rally"; roots are upper case.
fn tidy(name: &str) -> String {
    let short = name.trim_end_matches(", not specified below").trim();
    if short.chars().any(|c| c.is_ascii_lowercase()) {
        short.to_string()
    } else {
        let lower = short.to_lowercase();
        let mut chars = lower.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    }
}

/// Snake case of a name: lower-case words joined by `_`.
pub fn snake(name: &str) -> String {
    tidy(name)
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_bundled_table_with_its_slips_fixed() {
        assert_eq!(name("193"), Some("Fight with small arms and light weapons"));
        assert!(name("183").unwrap().starts_with("Conduct suicide, car"));
        assert_eq!(
            name("1384"),
            Some("Threaten conventional attack"),
            "`Threate n` is repaired"
        );
        assert!(names().len() > 300);
    }

    #[test]
    fn codes_map_by_longest_prefix() {
        let riot = map("1452").unwrap().unwrap();
        assert_eq!((riot.category, riot.event_type), ("civil_unrest", "riot"));
        assert_eq!(riot.subtype, "engage_in_violent_protest_for_policy_change");
        let rally = map("141").unwrap().unwrap();
        assert_eq!(
            (rally.event_type, rally.name.as_str()),
            ("protest", "Demonstrate or rally")
        );
        assert_eq!(rally.subtype, "demonstrate_or_rally");
        assert_eq!(map("1833").unwrap().unwrap().category, "terrorism");
        assert_eq!(map("176").unwrap().unwrap().category, "cyber_attack");
        assert_eq!(map("19").unwrap().unwrap().name, "Fight");
        assert_eq!(
            map("042").unwrap(),
            None,
            "a consultation is no security event"
        );
        assert_eq!(map("172").unwrap(), None);
        assert!(map("999").unwrap_err().contains("999"));
    }
}
