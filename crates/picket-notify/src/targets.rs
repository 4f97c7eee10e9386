//! Validation of targets as a tenant saves them: URLs, e-mail addresses, phone numbers. A
//! 400 names the field.

use picket_core::ApiError;

use crate::guard;

fn bad(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("invalid field `{field}`: {why}"))
}

/// An http(s) URL with a host, not a literal internal address unless `allow_private`.
pub fn url(field: &str, raw: &str, allow_private: bool) -> Result<String, ApiError> {
    let raw = raw.trim();
    if raw.len() > 2048 {
        return Err(bad(field, "longer than 2048 characters"));
    }
    let u = reqwest::Url::parse(raw).map_err(|e| bad(field, format!("not a URL ({e})")))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none_or(str::is_empty) {
        return Err(bad(field, "must be an http:// or https:// URL with a host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad(field, "must not carry credentials before the host"));
    }
    if !allow_private {
        if let Some(why) = guard::literal_refusal(&u) {
            return Err(bad(field, format!("{why}; internal targets are refused")));
        }
    }
    Ok(raw.to_string())
}

/// A plain `local@domain` address.
pub fn email(field: &str, raw: &str) -> Result<String, ApiError> {
    let a = raw.trim();
    let ok = a.len() <= 254
        && a.parse::<lettre::Address>().is_ok()
        && a.rsplit_once('@').is_some_and(|(_, d)| d.contains('.'));
    if ok {
        Ok(a.to_string())
    } else {
        Err(bad(field, format!("`{raw}` is not an e-mail address")))
    }
}

/// E.164: `+` then 8–15 digits (spaces, dashes and dots are removed first).
pub fn phone(field: &str, raw: &str) -> Result<String, ApiError> {
    let p: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.'))
        .collect();
    let digits = p.strip_prefix('+').unwrap_or("");
    if (8..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
    {
        Ok(p)
    } else {
        Err(bad(
            field,
            format!("`{raw}` is not a phone number in E.164 form (+ and 8–15 digits)"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_checked() {
        assert!(url("u", "https://hooks.slack.com/services/T/B/x", false).is_ok());
        assert!(url("u", "ftp://x.example/y", false).is_err());
        assert!(url("u", "http://10.0.0.1/x", false).is_err());
        assert!(url("u", "http://10.0.0.1/x", true).is_ok());
        assert!(email("e", "ops@example.org").is_ok());
        assert!(email("e", "ops@localhost").is_err());
        assert!(email("e", "not an address").is_err());
        assert_eq!(phone("p", "+1 555-0100-999").unwrap(), "+15550100999");
        assert!(phone("p", "5550100").is_err());
    }
}
