//! MISP indicators: the JSON of MISP feeds and REST searches, and MISP's CSV export.
//!
//! Of the attributes, the address and name types become indicators: `ip-src`, `ip-dst` (and
//! their `|port` forms), `domain` (which also matches its subdomains), `hostname` (only
//! itself), `domain|ip` (both halves) and `hostname|port`. Attributes with `to_ids` off are
//! context, not indicators, and are skipped like other types, as MISP's own IDS exports do.
//! A CIDR block other than a single address is refused (lookups match single addresses).

use std::net::IpAddr;

use serde_json::Value;

use super::{Entries, MispEntry};

/// What a MISP JSON document holds.
#[derive(Debug)]
pub enum Json {
    Entries(Entries),
    /// A feed's `manifest.json`: the UUIDs of its events, each in `<uuid>.json` beside it.
    Manifest(Vec<String>),
}

/// The event an attribute belongs to.
#[derive(Debug, Clone, Default)]
struct Event {
    id: String,
    info: String,
}

/// Reads one MISP JSON document: a feed's manifest, one event (`{"Event": …}`), a list of
/// events, or a REST search answer (`{"response": [events]}` or
/// `{"response": {"Attribute": [...]}}`).
pub fn json(body: &[u8]) -> Result<Json, String> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| format!("not a MISP JSON document: {e}"))?;
    let mut out = Entries::default();
    let doc = doc.get("response").unwrap_or(&doc);
    match doc {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                match item.get("Event").or_else(|| is_event(item).then_some(item)) {
                    Some(ev) => event(&mut out, ev),
                    None => out.refuse(format!("item {}", i + 1), "not a MISP event"),
                }
            }
        }
        Value::Object(map) => {
            if let Some(ev) = map.get("Event") {
                event(&mut out, ev);
            } else if let Some(Value::Array(attrs)) = map.get("Attribute") {
                // An event object has its own `info` or `uuid`; an attribute search has not.
                if map.contains_key("info") || map.contains_key("uuid") {
                    event(&mut out, doc);
                } else {
                    // Attribute search: each attribute names its event.
                    for (i, a) in attrs.iter().enumerate() {
                        let ev = Event {
                            id: text(a.get("event_id"))
                                .or_else(|| a.get("Event").and_then(|e| text(e.get("id"))))
                                .unwrap_or_default(),
                            info: a
                                .get("Event")
                                .and_then(|e| text(e.get("info")))
                                .unwrap_or_default(),
                        };
                        attribute(&mut out, &format!("attribute {}", i + 1), a, &ev);
                    }
                }
            } else if let Some(uuids) = manifest(map) {
                return Ok(Json::Manifest(uuids));
            } else {
                return Err(
                    "not a MISP document: expected `Event`, `response`, `Attribute` or a feed manifest"
                        .into(),
                );
            }
        }
        _ => return Err("not a MISP document: expected a JSON object or array".into()),
    }
    Ok(Json::Entries(out))
}

fn is_event(v: &Value) -> bool {
    v.get("Attribute").is_some() || v.get("Object").is_some()
}

/// A manifest maps event UUIDs to summaries (`info`, `timestamp`, `Orgc`, …).
fn manifest(map: &serde_json::Map<String, Value>) -> Option<Vec<String>> {
    if map.is_empty() {
        return None;
    }
    let uuid_like = |k: &str| {
        k.len() == 36
            && k.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
            && k.matches('-').count() == 4
    };
    let all = map.iter().all(|(k, v)| {
        uuid_like(k) && v.is_object() && (v.get("info").is_some() || v.get("timestamp").is_some())
    });
    all.then(|| map.keys().cloned().collect())
}

/// A string or number field as text.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `to_ids` as MISP writes it: a boolean, `0`/`1`, or `"0"`/`"1"`; absent means on.
fn flag(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64() != Some(0),
        Some(Value::String(s)) => !matches!(s.trim(), "0" | "false" | "False" | ""),
        Some(_) => true,
    }
}

/// The attributes of one event, its objects' attributes included.
fn event(out: &mut Entries, ev: &Value) {
    let meta = Event {
        id: text(ev.get("id"))
            .or_else(|| text(ev.get("uuid")))
            .unwrap_or_default(),
        info: text(ev.get("info")).unwrap_or_default(),
    };
    let name = if meta.id.is_empty() {
        "event".to_string()
    } else {
        format!("event {}", meta.id)
    };
    let attrs = ev.get("Attribute").and_then(Value::as_array);
    for (i, a) in attrs.into_iter().flatten().enumerate() {
        attribute(out, &format!("{name} attribute {}", i + 1), a, &meta);
    }
    let objects = ev.get("Object").and_then(Value::as_array);
    for (o, obj) in objects.into_iter().flatten().enumerate() {
        let attrs = obj.get("Attribute").and_then(Value::as_array);
        for (i, a) in attrs.into_iter().flatten().enumerate() {
            attribute(
                out,
                &format!("{name} object {} attribute {}", o + 1, i + 1),
                a,
                &meta,
            );
        }
    }
}

fn attribute(out: &mut Entries, at: &str, a: &Value, ev: &Event) {
    let kind = text(a.get("type")).unwrap_or_default();
    let value = text(a.get("value")).unwrap_or_default();
    let fields = Fields {
        kind: &kind,
        value: &value,
        to_ids: flag(a.get("to_ids")),
        event: &ev.id,
        info: &ev.info,
        category: &text(a.get("category")).unwrap_or_default(),
        comment: &text(a.get("comment")).unwrap_or_default(),
    };
    add(out, at, &fields);
}

/// One attribute, whatever the format.
struct Fields<'a> {
    kind: &'a str,
    value: &'a str,
    to_ids: bool,
    event: &'a str,
    info: &'a str,
    category: &'a str,
    comment: &'a str,
}

impl Fields<'_> {
    fn entry(&self, value: String, subdomains: bool) -> MispEntry {
        MispEntry {
            value,
            kind: self.kind.to_string(),
            event: self.event.to_string(),
            info: self.info.to_string(),
            category: self.category.to_string(),
            comment: self.comment.to_string(),
            subdomains,
        }
    }
}

/// An address indicator: a single address, or a CIDR block of one address.
fn ip_value(v: &str) -> Result<IpAddr, String> {
    let v = v.trim();
    let (addr, prefix) = match v.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (v, None),
    };
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("`{v}` is not an IP address"))?;
    let single = match (prefix, ip) {
        (None, _) => true,
        (Some(p), IpAddr::V4(_)) => p == "32",
        (Some(p), IpAddr::V6(_)) => p == "128",
    };
    if !single {
        return Err(format!(
            "`{v}` is a CIDR block; only single addresses are matched"
        ));
    }
    Ok(ip.to_canonical())
}

/// A domain or host name indicator, lower case without a trailing dot; `*.example.com` is
/// `example.com` with its subdomains.
fn name_value(v: &str) -> Result<(String, bool), String> {
    let raw = v.trim();
    let (name, wildcard) = match raw.strip_prefix("*.") {
        Some(rest) => (rest, true),
        None => (raw, false),
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let ok = name.len() <= 253
        && name.contains('.')
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if !ok {
        return Err(format!("`{raw}` is not a domain name"));
    }
    Ok((name, wildcard))
}

fn add(out: &mut Entries, at: &str, f: &Fields) {
    if !f.to_ids {
        out.skipped += 1;
        return;
    }
    let first = |v: &str| v.split('|').next().unwrap_or("").to_string();
    let second = |v: &str| v.split_once('|').map(|(_, b)| b.to_string());
    let ip = |out: &mut Entries, v: &str| match ip_value(v) {
        Ok(ip) => out.misp_ips.push(f.entry(ip.to_string(), false)),
        Err(e) => out.refuse(at, e),
    };
    let name = |out: &mut Entries, v: &str, subdomains: bool| match name_value(v) {
        Ok((n, wildcard)) => out.misp_domains.push(f.entry(n, subdomains || wildcard)),
        Err(e) => out.refuse(at, e),
    };
    match f.kind {
        "ip-src" | "ip-dst" => ip(out, f.value),
        "ip-src|port" | "ip-dst|port" => ip(out, &first(f.value)),
        "domain" => name(out, f.value, true),
        "hostname" => name(out, f.value, false),
        "hostname|port" => name(out, &first(f.value), false),
        "domain|ip" => match second(f.value) {
            Some(addr) => {
                name(out, &first(f.value), true);
                ip(out, &addr);
            }
            None => out.refuse(at, format!("`{}` is not `domain|ip`", f.value)),
        },
        _ => out.skipped += 1,
    }
}

/// MISP's CSV export: a header row naming the columns (`uuid, event_id, category, type,
/// value, comment, to_ids, date`, in any order, others ignored; `type` and `value` are
/// required), then one attribute per row.
pub fn csv(body: &[u8]) -> Result<Entries, String> {
    let mut reader = ::csv::ReaderBuilder::new()
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(body);
    let headers = reader
        .headers()
        .map_err(|e| format!("cannot read the CSV header: {e}"))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(kind), Some(value)) = (col("type"), col("value")) else {
        return Err(format!(
            "not a MISP CSV export: the header must name `type` and `value` columns, found `{}`",
            headers.iter().collect::<Vec<_>>().join(",")
        ));
    };
    let (event, info, category, comment, to_ids) = (
        col("event_id"),
        col("event_info"),
        col("category"),
        col("comment"),
        col("to_ids"),
    );
    let mut out = Entries::default();
    for row in reader.records() {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                out.refuse(format!("line {line}"), format!("unreadable CSV row: {e}"));
                continue;
            }
        };
        let at = format!("line {}", row.position().map_or(0, |p| p.line()));
        let get = |c: Option<usize>| c.and_then(|c| row.get(c)).unwrap_or("");
        if row.get(value).is_none() {
            out.refuse(at, "the row has no `value` column");
            continue;
        }
        let fields = Fields {
            kind: get(Some(kind)),
            value: get(Some(value)),
            to_ids: to_ids.is_none_or(|_| !matches!(get(to_ids), "0" | "false" | "False")),
            event: get(event),
            info: get(info),
            category: get(category),
            comment: get(comment),
        };
        add(&mut out, &at, &fields);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(j: Json) -> Entries {
        match j {
            Json::Entries(e) => e,
            Json::Manifest(m) => panic!("a manifest: {m:?}"),
        }
    }

    #[test]
    fn a_feed_event_with_objects() {
        let body = br#"{"Event":{"uuid":"5f1c7a2e-0c4e-4d7b-9a51-2b7c1f0e9d11","info":"Phishing kit hosting","date":"2026-04-30",
          "Attribute":[
            {"type":"ip-dst","category":"Network activity","value":"203.0.113.80","to_ids":true,"comment":"C2"},
            {"type":"domain","category":"Network activity","value":"Login-Example.TEST.","to_ids":true},
            {"type":"ip-dst","category":"Network activity","value":"198.51.100.0/24","to_ids":true},
            {"type":"ip-src","value":"192.0.2.1","to_ids":false},
            {"type":"md5","value":"d41d8cd98f00b204e9800998ecf8427e","to_ids":true},
            {"type":"hostname","value":"not a host","to_ids":"1"}
          ],
          "Object":[{"name":"domain-ip","Attribute":[
            {"type":"domain|ip","value":"cdn.bad.test|198.51.100.77","to_ids":"1","category":"Network activity"},
            {"type":"ip-dst|port","value":"203.0.113.81|8443","to_ids":1}
          ]}]}}"#;
        let e = entries(json(body).unwrap());
        let ips: Vec<&str> = e.misp_ips.iter().map(|m| m.value.as_str()).collect();
        assert_eq!(ips, ["203.0.113.80", "198.51.100.77", "203.0.113.81"]);
        let names: Vec<(&str, bool)> = e
            .misp_domains
            .iter()
            .map(|m| (m.value.as_str(), m.subdomains))
            .collect();
        assert_eq!(
            names,
            [("login-example.test", true), ("cdn.bad.test", true)]
        );
        let first = &e.misp_ips[0];
        assert_eq!(first.event, "5f1c7a2e-0c4e-4d7b-9a51-2b7c1f0e9d11");
        assert_eq!(first.info, "Phishing kit hosting");
        assert_eq!(
            (
                first.kind.as_str(),
                first.category.as_str(),
                first.comment.as_str()
            ),
            ("ip-dst", "Network activity", "C2")
        );
        assert_eq!(e.skipped, 2, "to_ids off, and an md5");
        let refused: Vec<(&str, &str)> = e
            .refused
            .iter()
            .map(|r| (r.at.as_str(), r.reason.as_str()))
            .collect();
        assert_eq!(
            refused,
            [
                (
                    "event 5f1c7a2e-0c4e-4d7b-9a51-2b7c1f0e9d11 attribute 3",
                    "`198.51.100.0/24` is a CIDR block; only single addresses are matched"
                ),
                (
                    "event 5f1c7a2e-0c4e-4d7b-9a51-2b7c1f0e9d11 attribute 6",
                    "`not a host` is not a domain name"
                ),
            ]
        );
    }

    #[test]
    fn manifests_and_rest_answers() {
        let manifest = br#"{"5f1c7a2e-0c4e-4d7b-9a51-2b7c1f0e9d11":{"info":"a","timestamp":"1714470000","Orgc":{"name":"CIRCL"}},
                            "0b8d5c44-6a1f-4e0f-8d4b-3f3a8c2d7e21":{"info":"b","timestamp":"1714480000"}}"#;
        match json(manifest).unwrap() {
            Json::Manifest(mut m) => {
                m.sort();
                assert_eq!(
                    m,
                    [
                        "0b8d5c44-6a1f-4e0f-8d4b-3f3a8c2d7e21",
                        "5f1c7a2e-0c4e-4d7b-9a51-2b7c1f0e9d11"
                    ]
                );
            }
            Json::Entries(_) => panic!("a manifest"),
        }
        let events = br#"{"response":[{"Event":{"id":"12","info":"Botnet","Attribute":[{"type":"ip-src","value":"203.0.113.9","to_ids":true}]}}]}"#;
        let e = entries(json(events).unwrap());
        assert_eq!(
            (e.misp_ips[0].event.as_str(), e.misp_ips[0].info.as_str()),
            ("12", "Botnet")
        );
        let attrs = br#"{"response":{"Attribute":[{"event_id":"44","type":"hostname","value":"c2.bad.test","to_ids":true,"Event":{"info":"RAT"}}]}}"#;
        let e = entries(json(attrs).unwrap());
        assert_eq!(e.misp_domains[0].value, "c2.bad.test");
        assert!(!e.misp_domains[0].subdomains);
        assert_eq!(
            (
                e.misp_domains[0].event.as_str(),
                e.misp_domains[0].info.as_str()
            ),
            ("44", "RAT")
        );
        assert!(json(b"{\"hello\":1}")
            .unwrap_err()
            .contains("not a MISP document"));
        assert!(json(b"not json").is_err());
    }

    #[test]
    fn csv_export() {
        let body = b"uuid,event_id,category,type,value,comment,to_ids,date\n\
a1,7,Network activity,ip-dst,203.0.113.66,scanner,1,20260430\n\
a2,7,Network activity,domain,*.evil.test,,1,20260430\n\
a3,7,Network activity,hostname,www.phish.test,,0,20260430\n\
a4,7,Payload delivery,url,http://x.test/a,,1,20260430\n\
a5,8,Network activity,ip-src,not-an-ip,,1,20260430\n\
a6,8,Network activity,ip-src|port,\"2001:db8::66|22\",,1,20260430\n";
        let e = csv(body).unwrap();
        let ips: Vec<&str> = e.misp_ips.iter().map(|m| m.value.as_str()).collect();
        assert_eq!(ips, ["203.0.113.66", "2001:db8::66"]);
        assert_eq!(e.misp_ips[0].event, "7");
        assert_eq!(e.misp_domains.len(), 1);
        assert_eq!(
            (
                e.misp_domains[0].value.as_str(),
                e.misp_domains[0].subdomains
            ),
            ("evil.test", true)
        );
        assert_eq!(e.skipped, 2);
        assert_eq!(e.refused.len(), 1);
        assert_eq!(e.refused[0].at, "line 6");
        assert!(csv(b"a,b\n1,2\n")
            .unwrap_err()
            .contains("`type` and `value`"));
    }
}
