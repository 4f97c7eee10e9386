//! Country codes the importers meet, turned into ISO 3166-1 alpha-2: FIPS 10-4 (GDELT's
//! `*Geo_CountryCode`) and ISO 3166-1 numeric (ACLED's `iso`).
//!
//! The tables are data files compiled in and read once: `data/countries.tsv` (one row per
//! country or territory: alpha-2, FIPS 10-4, numeric) and `data/fips-extra.tsv` (FIPS codes of
//! parts of a country or of places without an ISO code). `data/SOURCES.md` names their source.

use std::collections::HashMap;
use std::sync::LazyLock;

/// The code tables, indexed both ways the importers look them up.
struct Codes {
    /// FIPS 10-4 → alpha-2; `None` for a place without an ISO code.
    fips: HashMap<&'static str, Option<&'static str>>,
    /// ISO numeric → alpha-2.
    numeric: HashMap<u16, &'static str>,
}

static CODES: LazyLock<Codes> = LazyLock::new(|| {
    let mut codes = Codes {
        fips: HashMap::new(),
        numeric: HashMap::new(),
    };
    for [alpha2, fips, numeric] in rows(include_str!("../../data/countries.tsv")) {
        let numeric = numeric
            .parse()
            .unwrap_or_else(|_| panic!("countries.tsv: `{numeric}` is not a numeric code"));
        codes.fips.insert(fips, Some(alpha2));
        codes.numeric.insert(numeric, alpha2);
    }
    for [fips, alpha2, _place] in rows(include_str!("../../data/fips-extra.tsv")) {
        codes
            .fips
            .insert(fips, (!alpha2.is_empty()).then_some(alpha2));
    }
    codes
});

/// The data rows of a bundled table: `#` comment lines and the header row skipped, three
/// tab-separated fields each.
fn rows(table: &'static str) -> impl Iterator<Item = [&'static str; 3]> {
    table
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .skip(1)
        .map(|line| {
            let mut fields = line.split('\t').map(str::trim);
            let mut next = || fields.next().unwrap_or_default();
            [next(), next(), next()]
        })
}

/// A FIPS 10-4 code as ISO alpha-2: `Ok(None)` for a known place without one, `Err` for a code
/// that is not FIPS 10-4.
pub fn from_fips(code: &str) -> Result<Option<&'static str>, String> {
    let code = code.trim();
    CODES
        .fips
        .get(code)
        .copied()
        .ok_or_else(|| format!("unknown FIPS 10-4 country code `{code}`"))
}

/// An ISO 3166-1 numeric code as alpha-2.
pub fn from_numeric(code: u16) -> Option<&'static str> {
    CODES.numeric.get(&code).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fips_and_iso_differ_where_it_matters() {
        assert_eq!(from_fips("NI"), Ok(Some("NG")), "FIPS NI is Nigeria");
        assert_eq!(from_fips("NG"), Ok(Some("NE")), "FIPS NG is Niger");
        assert_eq!(from_fips("UK"), Ok(Some("GB")));
        assert_eq!(from_fips("GM"), Ok(Some("DE")));
        assert_eq!(from_fips("RS"), Ok(Some("RU")));
        assert_eq!(from_fips("GZ"), Ok(Some("PS")));
        assert_eq!(
            from_fips("PG"),
            Ok(None),
            "Spratly Islands have no ISO code"
        );
        assert!(from_fips("QQ").unwrap_err().contains("QQ"));
        assert_eq!(from_numeric(566), Some("NG"));
        assert_eq!(from_numeric(4), Some("AF"));
        assert_eq!(from_numeric(999), None);
    }

    #[test]
    fn the_tables_are_well_formed_without_duplicate_codes() {
        let code =
            |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_uppercase());
        let mut seen = std::collections::HashSet::new();
        let countries: Vec<_> = rows(include_str!("../../data/countries.tsv")).collect();
        assert_eq!(countries.len(), 246);
        assert_eq!(
            countries[0],
            ["AD", "AN", "20"],
            "the header row is skipped"
        );
        for [iso, fips, n] in countries {
            assert!(
                code(iso, 2) && code(fips, 2) && n.parse::<u16>().is_ok(),
                "{iso}"
            );
            assert!(seen.insert(format!("iso {iso}")), "{iso}");
            assert!(seen.insert(format!("fips {fips}")), "{fips}");
            assert!(seen.insert(format!("num {n}")), "{n}");
        }
        let extra: Vec<_> = rows(include_str!("../../data/fips-extra.tsv")).collect();
        assert_eq!(extra.len(), 26);
        for [fips, iso, place] in extra {
            assert!(code(fips, 2) && (iso.is_empty() || code(iso, 2)), "{fips}");
            assert!(!place.is_empty(), "{fips}");
            assert!(seen.insert(format!("fips {fips}")), "{fips}");
        }
        assert_eq!(from_fips("RB"), Ok(Some("RS")), "a place name with a comma");
        assert_eq!(from_fips("OS"), Ok(None), "the last row");
        assert_eq!(from_numeric(894), Some("ZM"));
    }
}
