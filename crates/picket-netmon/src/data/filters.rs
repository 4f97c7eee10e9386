//! The data-management filter object (§8): `from`, `to` and `agent_id` at the top, each
//! dataset's filters nested under its key, and the Web UI form's prefixed names
//! (`na_srcip`, `dns_query`) at the top as well. Values are scalars, strings or numbers.
//! Agents and a network alert's `search` match as in alert search: through the same functions.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use picket_core::db::Backend;
use picket_core::ApiError;
use sea_query::{Alias, Condition, Expr};
use serde_json::{Map, Value};

use super::sets::{Dataset, Filter, Match, ALL};
use crate::alerts::filters::{any_agent, contains, lowered, network_search};
use crate::clock::{self, Bound};
use crate::datasets::NetworkAlerts;
use crate::listing::matching;
use crate::listing::matching::TextPath;
use picket_core::db::text::Rarity;

/// Parsed filters, valid for every dataset: a value for a dataset that is not exported or
/// deleted is checked but not applied.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Lower case, as agents are stored.
    pub agent: Option<String>,
    /// Per dataset key: (filter, value) pairs, all of which must match.
    by_set: BTreeMap<&'static str, Vec<(&'static Filter, String)>>,
}

impl Filters {
    pub fn parse(filters: Option<&Value>, tz: Tz) -> Result<Filters, ApiError> {
        let mut out = Filters::default();
        let obj = match filters {
            None | Some(Value::Null) => return Ok(out),
            Some(Value::Object(o)) => o,
            Some(_) => return Err(ApiError::bad_request("`filters` must be an object")),
        };
        for (key, value) in obj {
            let path = format!("filters.{key}");
            match key.as_str() {
                "from" => out.from = time(value, &path, tz, Bound::Lower)?,
                "to" => out.to = time(value, &path, tz, Bound::Upper)?,
                "agent_id" | "agent" => {
                    out.agent = scalar(value, &path)?
                        .filter(|a| !a.eq_ignore_ascii_case("all"))
                        .and_then(|a| lowered(&[a]).pop())
                }
                k => {
                    if let Some(set) = Dataset::by_key(k) {
                        out.nested(set, value, &path)?;
                    } else if let Some((set, f)) = prefixed(k) {
                        out.add(set, f, value, &path)?;
                    } else {
                        return Err(ApiError::bad_request(format!(
                            "unknown filter `{path}`; expected from, to, agent_id, a dataset key \
                             or a Web UI field name such as na_srcip"
                        )));
                    }
                }
            }
        }
        Ok(out)
    }

    fn nested(&mut self, set: &'static Dataset, value: &Value, path: &str) -> Result<(), ApiError> {
        let obj: &Map<String, Value> = match value {
            Value::Null => return Ok(()),
            Value::Object(o) => o,
            _ => return Err(ApiError::bad_request(format!("`{path}` must be an object"))),
        };
        for (name, v) in obj {
            let path = format!("{path}.{name}");
            let f = set.filter(name).ok_or_else(|| {
                let known: Vec<_> = set.filters.iter().map(Filter::name).collect();
                ApiError::bad_request(format!(
                    "unknown filter `{path}`; {} takes {}",
                    set.key,
                    known.join(", ")
                ))
            })?;
            self.add(set, f, v, &path)?;
        }
        Ok(())
    }

    fn add(
        &mut self,
        set: &'static Dataset,
        f: &'static Filter,
        value: &Value,
        path: &str,
    ) -> Result<(), ApiError> {
        let Some(v) = scalar(value, path)? else {
            return Ok(());
        };
        match f.how {
            Match::Int => {
                v.trim().parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!("invalid `{path}`: `{v}` is not an integer"))
                })?;
            }
            Match::GeoIp => {
                return Err(ApiError::bad_request(format!(
                    "filter `{path}` needs a GeoIP database, and this server has none configured"
                )))
            }
            _ => {}
        }
        self.by_set.entry(set.key).or_default().push((f, v));
        Ok(())
    }

    /// Whether anything narrows the rows of `set`: a time bound, an agent, or one of its filters.
    pub fn bounds(&self, set: &Dataset) -> bool {
        self.from.is_some()
            || self.to.is_some()
            || self.agent.is_some()
            || self.by_set.get(set.key).is_some_and(|v| !v.is_empty())
    }

    /// The rows of `set` that these filters select, within a statement that
    /// [`Dataset::owned`] started for one tenant.
    pub fn condition(&self, set: &Dataset, backend: Backend) -> Condition {
        let col = |c: &str| Expr::col(Alias::new(c));
        let mut cond = Condition::all();
        if let Some(from) = self.from {
            cond = cond.add(col("ts").gte(from));
        }
        if let Some(to) = self.to {
            cond = cond.add(col("ts").lte(to));
        }
        let agents: &[String] = self.agent.as_slice();
        cond = cond.add_option(any_agent(col("agent"), agents));
        for (f, v) in self.by_set.get(set.key).into_iter().flatten() {
            let values = std::slice::from_ref(v);
            let one = match f.how {
                Match::Text => f.columns.iter().fold(Condition::any(), |c, name| {
                    c.add_option(matching::any_text(col(name), values, backend))
                }),
                // Alert search's own: it also looks in `dst_ip:dst_port`.
                Match::Contains if set.table.name == NetworkAlerts::DECLARED.name => {
                    Condition::any().add_option(network_search(
                        values,
                        backend,
                        TextPath::Indexed,
                        &Rarity::default(),
                    ))
                }
                Match::Contains => {
                    let pattern = [contains(v)];
                    f.columns.iter().fold(Condition::any(), |c, name| {
                        c.add_option(matching::any_text(col(name), &pattern, backend))
                    })
                }
                Match::Int => {
                    let n: i64 = v.trim().parse().unwrap_or_default();
                    Condition::all().add(col(f.columns[0]).eq(n))
                }
                Match::Mac => Condition::any().add_option(matching::any_mac(
                    col(f.columns[0]),
                    values,
                    backend,
                )),
                Match::IpOrMac => Condition::any()
                    .add_option(matching::any_text(col(f.columns[0]), values, backend))
                    .add_option(matching::any_mac(col(f.columns[1]), values, backend)),
                // Refused while parsing.
                Match::GeoIp => Condition::all(),
            };
            cond = cond.add(one);
        }
        cond
    }
}

/// A Web UI form name: a dataset's prefix and one of its filter names (`na_srcip`).
fn prefixed(key: &str) -> Option<(&'static Dataset, &'static Filter)> {
    ALL.iter().find_map(|set| {
        let name = key.strip_prefix(set.form_prefix)?;
        set.filter(name).map(|f| (set, f))
    })
}

/// A scalar filter value as text: strings as they are, numbers and booleans spelled out;
/// `null` is no filter.
fn scalar(value: &Value, path: &str) -> Result<Option<String>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Array(_) | Value::Object(_) => Err(ApiError::bad_request(format!(
            "invalid `{path}`: data-management filters take a single value, not an array or object"
        ))),
    }
}

fn time(value: &Value, path: &str, tz: Tz, bound: Bound) -> Result<Option<i64>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => clock::parse(s, tz, bound)
            .map(Some)
            .map_err(|e| ApiError::bad_request(format!("invalid `{path}`: {e}"))),
        _ => Err(ApiError::bad_request(format!(
            "invalid `{path}`: expected a time string"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Filters, String> {
        Filters::parse(Some(&v), chrono_tz::UTC).map_err(|e| e.message)
    }

    #[test]
    fn nested_prefixed_and_common_filters() {
        let f = parse(json!({
            "from": "2026-06-03", "agent_id": "all",
            "na_srcip": "10.0.0.%", "dns_metadata": {"query": "%.example.com"},
            "tcp_dport": 443
        }))
        .unwrap();
        assert!(f.from.is_some() && f.to.is_none() && f.agent.is_none());
        assert_eq!(
            parse(json!({"agent_id": " AB12 "})).unwrap().agent.unwrap(),
            "ab12"
        );
        assert_eq!(f.by_set["network_alerts"][0].0.name(), "source");
        assert_eq!(f.by_set["dns_metadata"][0].1, "%.example.com");
        assert_eq!(f.by_set["tcp_metadata"][0].1, "443");
    }

    #[test]
    fn bad_input_names_the_field() {
        let e = parse(json!({"network_alerts": {"colour": "red"}})).unwrap_err();
        assert!(e.contains("filters.network_alerts.colour"), "{e}");
        let e = parse(json!({"na_level": "high"})).unwrap_err();
        assert!(e.contains("filters.na_level"), "{e}");
        let e = parse(json!({"to": "tomorrow"})).unwrap_err();
        assert!(e.contains("filters.to"), "{e}");
        let e = parse(json!({"dns_metadata": {"query": ["a", "b"]}})).unwrap_err();
        assert!(e.contains("filters.dns_metadata.query"), "{e}");
        let e = parse(json!({"tcp_metadata": {"geoip": "DE"}})).unwrap_err();
        assert!(e.contains("GeoIP"), "{e}");
        let e = parse(json!({"bogus": 1})).unwrap_err();
        assert!(e.contains("filters.bogus"), "{e}");
    }
}
