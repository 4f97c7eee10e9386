//! Country codes the importers meet, turned into ISO 3166-1 alpha-2: FIPS 10-4 (GDELT's
//! `*Geo_CountryCode`) and ISO 3166-1 numeric (ACLED's `iso`).
//!
//! One row per country or territory: alpha-2, FIPS 10-4, numeric. Written from the public
//! FIPS 10-4 / ISO 3166 correspondence (the CIA World Factbook appendix D lists both).

/// `(alpha-2, FIPS 10-4, ISO numeric)`.
const COUNTRIES: &[(&str, &str, u16)] = &[
    ("AD", "AN", 20),
    ("AE", "AE", 784),
    ("AF", "AF", 4),
    ("AG", "AC", 28),
    ("AI", "AV", 660),
    ("AL", "AL", 8),
    ("AM", "AM", 51),
    ("AO", "AO", 24),
    ("AQ", "AY", 10),
    ("AR", "AR", 32),
    ("AS", "AQ", 16),
    ("AT", "AU", 40),
    ("AU", "AS", 36),
    ("AW", "AA", 533),
    ("AZ", "AJ", 31),
    ("BA", "BK", 70),
    ("BB", "BB", 52),
    ("BD", "BG", 50),
    ("BE", "BE", 56),
    ("BF", "UV", 854),
    ("BG", "BU", 100),
    ("BH", "BA", 48),
    ("BI", "BY", 108),
    ("BJ", "BN", 204),
    ("BL", "TB", 652),
    ("BM", "BD", 60),
    ("BN", "BX", 96),
    ("BO", "BL", 68),
    ("BR", "BR", 76),
    ("BS", "BF", 44),
    ("BT", "BT", 64),
    ("BV", "BV", 74),
    ("BW", "BC", 72),
    ("BY", "BO", 112),
    ("BZ", "BH", 84),
    ("CA", "CA", 124),
    ("CC", "CK", 166),
    ("CD", "CG", 180),
    ("CF", "CT", 140),
    ("CG", "CF", 178),
    ("CH", "SZ", 756),
    ("CI", "IV", 384),
    ("CK", "CW", 184),
    ("CL", "CI", 152),
    ("CM", "CM", 120),
    ("CN", "CH", 156),
    ("CO", "CO", 170),
    ("CR", "CS", 188),
    ("CU", "CU", 192),
    ("CV", "CV", 132),
    ("CW", "UC", 531),
    ("CX", "KT", 162),
    ("CY", "CY", 196),
    ("CZ", "EZ", 203),
    ("DE", "GM", 276),
    ("DJ", "DJ", 262),
    ("DK", "DA", 208),
    ("DM", "DO", 212),
    ("DO", "DR", 214),
    ("DZ", "AG", 12),
    ("EC", "EC", 218),
    ("EE", "EN", 233),
    ("EG", "EG", 818),
    ("EH", "WI", 732),
    ("ER", "ER", 232),
    ("ES", "SP", 724),
    ("ET", "ET", 231),
    ("FI", "FI", 246),
    ("FJ", "FJ", 242),
    ("FK", "FK", 238),
    ("FM", "FM", 583),
    ("FO", "FO", 234),
    ("FR", "FR", 250),
    ("GA", "GB", 266),
    ("GB", "UK", 826),
    ("GD", "GJ", 308),
    ("GE", "GG", 268),
    ("GF", "FG", 254),
    ("GG", "GK", 831),
    ("GH", "GH", 288),
    ("GI", "GI", 292),
    ("GL", "GL", 304),
    ("GM", "GA", 270),
    ("GN", "GV", 324),
    ("GP", "GP", 312),
    ("GQ", "EK", 226),
    ("GR", "GR", 300),
    ("GS", "SX", 239),
    ("GT", "GT", 320),
    ("GU", "GQ", 316),
    ("GW", "PU", 624),
    ("GY", "GY", 328),
    ("HK", "HK", 344),
    ("HM", "HM", 334),
    ("HN", "HO", 340),
    ("HR", "HR", 191),
    ("HT", "HA", 332),
    ("HU", "HU", 348),
    ("ID", "ID", 360),
    ("IE", "EI", 372),
    ("IL", "IS", 376),
    ("IM", "IM", 833),
    ("IN", "IN", 356),
    ("IO", "IO", 86),
    ("IQ", "IZ", 368),
    ("IR", "IR", 364),
    ("IS", "IC", 352),
    ("IT", "IT", 380),
    ("JE", "JE", 832),
    ("JM", "JM", 388),
    ("JO", "JO", 400),
    ("JP", "JA", 392),
    ("KE", "KE", 404),
    ("KG", "KG", 417),
    ("KH", "CB", 116),
    ("KI", "KR", 296),
    ("KM", "CN", 174),
    ("KN", "SC", 659),
    ("KP", "KN", 408),
    ("KR", "KS", 410),
    ("KW", "KU", 414),
    ("KY", "CJ", 136),
    ("KZ", "KZ", 398),
    ("LA", "LA", 418),
    ("LB", "LE", 422),
    ("LC", "ST", 662),
    ("LI", "LS", 438),
    ("LK", "CE", 144),
    ("LR", "LI", 430),
    ("LS", "LT", 426),
    ("LT", "LH", 440),
    ("LU", "LU", 442),
    ("LV", "LG", 428),
    ("LY", "LY", 434),
    ("MA", "MO", 504),
    ("MC", "MN", 492),
    ("MD", "MD", 498),
    ("ME", "MJ", 499),
    ("MF", "RN", 663),
    ("MG", "MA", 450),
    ("MH", "RM", 584),
    ("MK", "MK", 807),
    ("ML", "ML", 466),
    ("MM", "BM", 104),
    ("MN", "MG", 496),
    ("MO", "MC", 446),
    ("MP", "CQ", 580),
    ("MQ", "MB", 474),
    ("MR", "MR", 478),
    ("MS", "MH", 500),
    ("MT", "MT", 470),
    ("MU", "MP", 480),
    ("MV", "MV", 462),
    ("MW", "MI", 454),
    ("MX", "MX", 484),
    ("MY", "MY", 458),
    ("MZ", "MZ", 508),
    ("NA", "WA", 516),
    ("NC", "NC", 540),
    ("NE", "NG", 562),
    ("NF", "NF", 574),
    ("NG", "NI", 566),
    ("NI", "NU", 558),
    ("NL", "NL", 528),
    ("NO", "NO", 578),
    ("NP", "NP", 524),
    ("NR", "NR", 520),
    ("NU", "NE", 570),
    ("NZ", "NZ", 554),
    ("OM", "MU", 512),
    ("PA", "PM", 591),
    ("PE", "PE", 604),
    ("PF", "FP", 258),
    ("PG", "PP", 598),
    ("PH", "RP", 608),
    ("PK", "PK", 586),
    ("PL", "PL", 616),
    ("PM", "SB", 666),
    ("PN", "PC", 612),
    ("PR", "RQ", 630),
    ("PS", "WE", 275),
    ("PT", "PO", 620),
    ("PW", "PS", 585),
    ("PY", "PA", 600),
    ("QA", "QA", 634),
    ("RE", "RE", 638),
    ("RO", "RO", 642),
    ("RS", "RI", 688),
    ("RU", "RS", 643),
    ("RW", "RW", 646),
    ("SA", "SA", 682),
    ("SB", "BP", 90),
    ("SC", "SE", 690),
    ("SD", "SU", 729),
    ("SE", "SW", 752),
    ("SG", "SN", 702),
    ("SH", "SH", 654),
    ("SI", "SI", 705),
    ("SJ", "SV", 744),
    ("SK", "LO", 703),
    ("SL", "SL", 694),
    ("SM", "SM", 674),
    ("SN", "SG", 686),
    ("SO", "SO", 706),
    ("SR", "NS", 740),
    ("SS", "OD", 728),
    ("ST", "TP", 678),
    ("SV", "ES", 222),
    ("SX", "NN", 534),
    ("SY", "SY", 760),
    ("SZ", "WZ", 748),
    ("TC", "TK", 796),
    ("TD", "CD", 148),
    ("TF", "FS", 260),
    ("TG", "TO", 768),
    ("TH", "TH", 764),
    ("TJ", "TI", 762),
    ("TK", "TL", 772),
    ("TL", "TT", 626),
    ("TM", "TX", 795),
    ("TN", "TS", 788),
    ("TO", "TN", 776),
    ("TR", "TU", 792),
    ("TT", "TD", 780),
    ("TV", "TV", 798),
    ("TW", "TW", 158),
    ("TZ", "TZ", 834),
    ("UA", "UP", 804),
    ("UG", "UG", 800),
    ("US", "US", 840),
    ("UY", "UY", 858),
    ("UZ", "UZ", 860),
    ("VA", "VT", 336),
    ("VC", "VC", 670),
    ("VE", "VE", 862),
    ("VG", "VI", 92),
    ("VI", "VQ", 850),
    ("VN", "VM", 704),
    ("VU", "NH", 548),
    ("WF", "WF", 876),
    ("WS", "WS", 882),
    ("YE", "YM", 887),
    ("YT", "MF", 175),
    ("ZA", "SF", 710),
    ("ZM", "ZA", 894),
    ("ZW", "ZI", 716),
];

/// FIPS codes with no row of their own above: parts of an ISO country, or places without one
/// (`None`: oceans, disputed reefs).
const FIPS_EXTRA: &[(&str, Option<&str>)] = &[
    ("GZ", Some("PS")), // Gaza Strip
    ("KV", Some("XK")), // Kosovo (user-assigned code in common use)
    ("RB", Some("RS")), // Serbia, as some GDELT releases write it
    ("JN", Some("SJ")), // Jan Mayen
    ("AT", Some("AU")), // Ashmore and Cartier Islands
    ("CR", Some("AU")), // Coral Sea Islands
    ("IP", Some("FR")), // Clipperton Island
    ("BS", Some("TF")), // Bassas da India
    ("EU", Some("TF")), // Europa Island
    ("GO", Some("TF")), // Glorioso Islands
    ("JU", Some("TF")), // Juan de Nova Island
    ("TE", Some("TF")), // Tromelin Island
    ("BQ", Some("UM")), // Navassa Island
    ("FQ", Some("UM")), // Baker Island
    ("HQ", Some("UM")), // Howland Island
    ("DQ", Some("UM")), // Jarvis Island
    ("JQ", Some("UM")), // Johnston Atoll
    ("KQ", Some("UM")), // Kingman Reef
    ("LQ", Some("UM")), // Palmyra Atoll
    ("MQ", Some("UM")), // Midway Islands
    ("WQ", Some("UM")), // Wake Island
    ("AX", Some("GB")), // UK sovereign bases on Cyprus (Akrotiri)
    ("DX", Some("GB")), // UK sovereign bases on Cyprus (Dhekelia)
    ("PF", None),       // Paracel Islands
    ("PG", None),       // Spratly Islands
    ("OS", None),       // Oceans
];

/// A FIPS 10-4 code as ISO alpha-2: `Ok(None)` for a known place without one, `Err` for a code
/// that is not FIPS 10-4.
pub fn from_fips(code: &str) -> Result<Option<&'static str>, String> {
    let code = code.trim();
    if let Some((_, iso)) = FIPS_EXTRA.iter().find(|(f, _)| *f == code) {
        return Ok(*iso);
    }
    COUNTRIES
        .iter()
        .find(|(_, f, _)| *f == code)
        .map(|(iso, _, _)| Some(*iso))
        .ok_or_else(|| format!("unknown FIPS 10-4 country code `{code}`"))
}

/// An ISO 3166-1 numeric code as alpha-2.
pub fn from_numeric(code: u16) -> Option<&'static str> {
    COUNTRIES
        .iter()
        .find(|(_, _, n)| *n == code)
        .map(|(iso, _, _)| *iso)
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
    fn the_table_has_no_duplicate_codes() {
        let mut seen = std::collections::HashSet::new();
        for (iso, fips, n) in COUNTRIES {
            assert!(seen.insert(format!("iso {iso}")), "{iso}");
            assert!(seen.insert(format!("fips {fips}")), "{fips}");
            assert!(seen.insert(format!("num {n}")), "{n}");
        }
        for (fips, _) in FIPS_EXTRA {
            assert!(seen.insert(format!("fips {fips}")), "{fips}");
        }
    }
}
