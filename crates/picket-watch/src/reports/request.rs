//! A `POST /v1/reports` body checked into what a report covers: the id its type needs and
//! nothing another type needs, ids the tenant owns, a window that runs forward.

use chrono::DateTime;
use picket_core::db::Db;
use picket_core::identity::TenantId;
use picket_core::time::{now_ms, to_datetime};
use picket_core::ApiError;

use super::store::{NewReport, Params};
use super::wire::{CreateReport, ReportType};
use crate::assets::store as assets;
use crate::threats::store as threats;

/// Landscape window when `from` is absent: 7 days before `to`.
pub const DEFAULT_WINDOW_MS: i64 = 7 * 86_400_000;
/// The longest landscape window: a year and a day.
pub const MAX_WINDOW_MS: i64 = 366 * 86_400_000;
pub const MAX_TITLE: usize = 200;

fn bad(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("invalid field `{field}`: {why}"))
}

fn timestamp(field: &str, v: &Option<String>) -> Result<Option<i64>, ApiError> {
    v.as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.timestamp_millis())
                .map_err(|e| bad(field, format!("`{s}` is not an RFC 3339 timestamp ({e})")))
        })
        .transpose()
}

/// `text` cut to `max` characters, with an ellipsis when cut.
pub(crate) fn clipped(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max - 1).collect();
    s.push('…');
    s
}

/// Checks a request against the tenant's data.
pub async fn checked(db: &Db, tenant: TenantId, body: CreateReport) -> Result<NewReport, ApiError> {
    let title = match body.title.as_deref().map(str::trim) {
        Some("") => return Err(bad("title", "must not be empty")),
        Some(t) if t.chars().count() > MAX_TITLE => {
            return Err(bad("title", format!("at most {MAX_TITLE} characters")))
        }
        t => t.map(str::to_string),
    };
    let kind = body.kind;
    // Fields of the other types are refused rather than ignored: a client who sent them meant
    // something this report would not do.
    let foreign: &[(&str, bool)] = &[
        (
            "threat_id",
            body.threat_id.is_some() && kind != ReportType::Threat,
        ),
        (
            "incident_id",
            body.incident_id.is_some() && kind != ReportType::Incident,
        ),
        (
            "asset_ids",
            body.asset_ids.is_some() && kind != ReportType::Landscape,
        ),
        ("from", body.from.is_some() && kind != ReportType::Landscape),
        ("to", body.to.is_some() && kind != ReportType::Landscape),
    ];
    if let Some((field, _)) = foreign.iter().find(|(_, set)| *set) {
        return Err(bad(
            field,
            format!("not used by a `{}` report", kind.as_str()),
        ));
    }
    match kind {
        ReportType::Threat => {
            let id = body
                .threat_id
                .ok_or_else(|| bad("threat_id", "required for a `threat` report"))?;
            let row = threats::get(db, tenant, &id)
                .await?
                .ok_or_else(|| bad("threat_id", format!("unknown threat `{id}`")))?;
            Ok(NewReport {
                kind: kind.as_str(),
                title: title.unwrap_or_else(|| {
                    clipped(&format!("Threat report: {}", row.title), MAX_TITLE)
                }),
                params: Params {
                    threat_id: Some(row.id),
                    ..Default::default()
                },
                schedule_id: None,
            })
        }
        ReportType::Incident => {
            let id = body
                .incident_id
                .ok_or_else(|| bad("incident_id", "required for an `incident` report"))?;
            let mut tx = db.begin().await?;
            let row = crate::incidents::store::get(&mut tx, tenant, &id)
                .await?
                .ok_or_else(|| bad("incident_id", format!("unknown incident `{id}`")))?;
            tx.commit().await?;
            Ok(NewReport {
                kind: kind.as_str(),
                title: title.unwrap_or_else(|| {
                    clipped(&format!("Incident report: {}", row.title), MAX_TITLE)
                }),
                params: Params {
                    incident_id: Some(row.id),
                    ..Default::default()
                },
                schedule_id: None,
            })
        }
        ReportType::Landscape => {
            let to = timestamp("to", &body.to)?.unwrap_or_else(now_ms);
            let from = timestamp("from", &body.from)?.unwrap_or(to - DEFAULT_WINDOW_MS);
            if from > to {
                return Err(bad("from", "must not be after `to`"));
            }
            if to - from > MAX_WINDOW_MS {
                return Err(bad(
                    "from",
                    "the window from `from` to `to` is at most 366 days",
                ));
            }
            let asset_uuids = match body.asset_ids {
                None => None,
                Some(keys) if keys.is_empty() => {
                    return Err(bad(
                        "asset_ids",
                        "must name at least one asset when present",
                    ))
                }
                Some(keys) => Some(resolve_assets(db, tenant, &keys).await?),
            };
            let params = Params {
                asset_uuids,
                from: Some(from),
                to: Some(to),
                ..Default::default()
            };
            Ok(NewReport {
                kind: kind.as_str(),
                title: title.unwrap_or_else(|| landscape_title(&params)),
                params,
                schedule_id: None,
            })
        }
    }
}

/// Server ids of the assets `keys` name, or 400 naming the unknown ones.
pub(crate) async fn resolve_assets(
    db: &Db,
    tenant: TenantId,
    keys: &[String],
) -> Result<Vec<String>, ApiError> {
    let mut conn = db.conn().await?;
    let resolved = assets::resolve_keys(&mut conn, tenant, keys).await?;
    let unknown: Vec<&str> = keys
        .iter()
        .zip(&resolved)
        .filter(|(_, r)| r.is_none())
        .map(|(k, _)| k.as_str())
        .collect();
    if !unknown.is_empty() {
        return Err(bad(
            "asset_ids",
            format!("unknown asset(s) {}", unknown.join(", ")),
        ));
    }
    let mut uuids: Vec<String> = resolved.into_iter().flatten().collect();
    uuids.sort();
    uuids.dedup();
    Ok(uuids)
}

/// `Threat landscape 2026-04-11 to 2026-04-18` (and the number of assets when scoped).
pub(crate) fn landscape_title(p: &Params) -> String {
    let day = |ms: Option<i64>| {
        to_datetime(ms.unwrap_or_default())
            .format("%Y-%m-%d")
            .to_string()
    };
    let mut t = format!("Threat landscape {} to {}", day(p.from), day(p.to));
    if let Some(a) = &p.asset_uuids {
        t.push_str(&format!(
            ", {} asset{}",
            a.len(),
            if a.len() == 1 { "" } else { "s" }
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_clipped_and_dated() {
        assert_eq!(clipped("abc", 5), "abc");
        assert_eq!(clipped("abcdef", 4), "abc…");
        let p = Params {
            from: Some(1_776_502_800_000 - DEFAULT_WINDOW_MS),
            to: Some(1_776_502_800_000),
            asset_uuids: Some(vec!["a".into()]),
            ..Default::default()
        };
        assert_eq!(
            landscape_title(&p),
            "Threat landscape 2026-04-11 to 2026-04-18, 1 asset"
        );
    }
}
