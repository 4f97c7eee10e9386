//! Field checks shared by the JSON parsers: each names the field it refuses.

use std::borrow::Cow;
use std::net::IpAddr;

use picket_netmon::addr::MacAddr;
use serde::de::{Deserializer, Visitor};
use serde::Deserialize;

/// A JSON string borrowed from the line when it has no escapes (most values), owned otherwise.
/// (`Option<Cow<str>>` fields always copy: serde borrows only a bare `Cow`.)
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Text<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v))
            }
        }
        d.deserialize_str(V).map(Text)
    }
}

/// An integer some sensor versions write as a string (`"200"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Int(pub i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = i64;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E>(self, v: i64) -> Result<i64, E> {
                Ok(v)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
                i64::try_from(v).map_err(|_| E::custom("integer out of range"))
            }
            fn visit_f64<E>(self, v: f64) -> Result<i64, E> {
                Ok(v as i64)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<i64, E> {
                v.trim()
                    .parse()
                    .map_err(|_| E::custom(format!("`{}` is not an integer", clip(v))))
            }
        }
        d.deserialize_any(V).map(Int)
    }
}

/// An optional IP address field; absent or empty is `None`, anything else must parse.
pub fn ip(field: &str, v: Option<&str>) -> Result<Option<IpAddr>, String> {
    match v.map(|s| s.trim()) {
        None | Some("") => Ok(None),
        Some(s) => s
            .parse::<IpAddr>()
            .map(Some)
            .map_err(|_| format!("`{field}` is not an IP address: `{}`", clip(s))),
    }
}

/// An optional MAC address field into upper-case colon form; absent or empty is `None`.
pub fn mac(field: &str, v: Option<&str>) -> Result<Option<String>, String> {
    match v.map(|s| s.trim()) {
        None | Some("") => Ok(None),
        Some(s) => MacAddr::parse(s)
            .map(|m| Some(m.as_str().to_string()))
            .map_err(|_| format!("`{field}` is not a MAC address: `{}`", clip(s))),
    }
}

/// Text of an optional field, owned.
pub fn text(v: &Option<Text<'_>>) -> String {
    v.as_deref().unwrap_or_default().to_string()
}

/// At most 60 characters of a value quoted in an error.
pub fn clip(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// A JSON error without serde's "at line 1 column N" when the line is all there is.
pub fn json_error(format: &str, e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let msg = msg
        .rsplit_once(" at line ")
        .map_or(msg.as_str(), |(m, _)| m)
        .to_string();
    format!("not valid {format} JSON: {msg} (column {})", e.column())
}
