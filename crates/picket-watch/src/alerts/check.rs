//! A `PUT /v1/alerts/rules` body, checked: every rule valid and every id unique, or a 400
//! that names the rule's index and field. Types (severities, receiver types) are already
//! checked by deserialization, which names the path the same way.

use std::collections::HashMap;

use picket_core::ApiError;

use super::wire::RuleInput;

fn bad(i: usize, field: &str, why: &str) -> ApiError {
    ApiError::bad_request(format!("invalid field `rules[{i}].{field}`: {why}"))
}

/// Trims ids and titles, then checks each rule and the set's ids.
pub fn rule_set(mut rules: Vec<RuleInput>) -> Result<Vec<RuleInput>, ApiError> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, r) in rules.iter_mut().enumerate() {
        r.id = r.id.trim().to_string();
        r.title = r.title.trim().to_string();
        if r.id.is_empty() {
            return Err(bad(i, "id", "must not be empty"));
        }
        if r.id.len() > 200 {
            return Err(bad(i, "id", "at most 200 characters"));
        }
        if let Some(first) = seen.insert(r.id.clone(), i) {
            return Err(bad(
                i,
                "id",
                &format!("duplicate rule id `{}` (also rules[{first}])", r.id),
            ));
        }
        if r.title.is_empty() {
            return Err(bad(i, "title", "must not be empty"));
        }
        if r.severity_threshold.is_empty() {
            return Err(bad(i, "severity_threshold", "list at least one severity"));
        }
        r.severity_threshold.sort();
        r.severity_threshold.dedup();
        if let Some(ids) = &r.asset_ids {
            if ids.iter().any(|a| a.trim().is_empty()) {
                return Err(bad(i, "asset_ids", "asset ids must not be empty"));
            }
        }
        if let Some(types) = &r.threat_types {
            if types.iter().any(|t| t.trim().is_empty()) {
                return Err(bad(i, "threat_types", "threat types must not be empty"));
            }
        }
        if let Some(d) = r.max_distance_km {
            if !d.is_finite() || d <= 0.0 {
                return Err(bad(i, "max_distance_km", "must be a number > 0, or null"));
            }
        }
        if !r.mute_interval_hours.is_finite() || r.mute_interval_hours < 0.0 {
            return Err(bad(i, "mute_interval_hours", "must be a number ≥ 0"));
        }
        for (j, x) in r.external_receivers.iter_mut().enumerate() {
            let field = format!("external_receivers[{j}]");
            x.email = x
                .email
                .take()
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty());
            x.phone = x
                .phone
                .take()
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty());
            if x.email.is_none() && x.phone.is_none() {
                return Err(bad(i, &field, "give an `email` or a `phone`"));
            }
            if let Some(e) = &x.email {
                let ok = e
                    .split_once('@')
                    .is_some_and(|(u, d)| !u.is_empty() && d.contains('.') && !d.contains('@'));
                if !ok {
                    return Err(bad(i, &format!("{field}.email"), "not an e-mail address"));
                }
            }
            if let Some(p) = &x.phone {
                let digits = p.trim_start_matches('+');
                let ok = !digits.is_empty()
                    && digits
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == ' ' || c == '-');
                if !ok {
                    return Err(bad(i, &format!("{field}.phone"), "not a phone number"));
                }
            }
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(v: serde_json::Value) -> Result<Vec<RuleInput>, String> {
        let input: Vec<RuleInput> = serde_json::from_value(v).map_err(|e| e.to_string())?;
        rule_set(input).map_err(|e| e.to_string())
    }

    fn ok_rule(id: &str) -> serde_json::Value {
        serde_json::json!({"id": id, "title": "Near HQ", "severity_threshold": ["high"]})
    }

    #[test]
    fn defaults_and_trimming() {
        let r = rules(serde_json::json!([{"id": " r1 ", "title": " T ", "severity_threshold": ["high", "critical", "high"]}])).unwrap();
        assert_eq!((r[0].id.as_str(), r[0].title.as_str()), ("r1", "T"));
        assert!(r[0].enabled && r[0].asset_ids.is_none() && r[0].mute_interval_hours == 0.0);
        assert_eq!(r[0].severity_threshold.len(), 2);
    }

    #[test]
    fn errors_name_the_rule_and_field() {
        let e = rules(serde_json::json!([ok_rule("a"), ok_rule("a")])).unwrap_err();
        assert!(e.contains("rules[1].id") && e.contains("duplicate"), "{e}");
        let mut r = ok_rule("a");
        r["max_distance_km"] = serde_json::json!(0);
        let e = rules(serde_json::json!([ok_rule("b"), r])).unwrap_err();
        assert!(e.contains("rules[1].max_distance_km"), "{e}");
        let mut r = ok_rule("a");
        r["external_receivers"] = serde_json::json!([{"email": "nobody"}]);
        let e = rules(serde_json::json!([r])).unwrap_err();
        assert!(e.contains("rules[0].external_receivers[0].email"), "{e}");
        let mut r = ok_rule("a");
        r["severity_threshold"] = serde_json::json!([]);
        assert!(rules(serde_json::json!([r]))
            .unwrap_err()
            .contains("severity_threshold"));
    }
}
