//! The corpus as a change feed: events in `(updated_at, id)` order after a cursor, with the
//! columns the threat engine reads. The jobs that keep threats up to date with the corpus
//! page through it.
//!
//! Each event comes with its attributes ([`ChangedEvent::attributes`]). An event stored
//! before attributes existed gets what can be recovered from the text its importer wrote (a
//! USGS or GDACS earthquake's magnitude and depth, a GDACS event's alert level and last
//! report); an event with an end date (`event_date_end`) and no other last report counts as
//! going on until the end of that day (the next midnight UTC).

use chrono::DateTime;
use picket_core::db::json::JsonText;
use picket_core::db::{Db, DbResult};
use picket_core::identity::TenantId;
use sea_query::{Cond, Expr, Order, Query};

use super::model::{parse_date, start_of_day_ms};
use super::store::Events;
use super::taxonomy::{EventAttributes, Severity};

/// The columns of a changed event that the threat engine reads.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChangedEvent {
    pub id: String,
    pub tenant_id: Option<i64>,
    pub title: String,
    pub description: Option<String>,
    pub event_category: String,
    pub event_type: Option<String>,
    pub severity: String,
    pub occurred_at: i64,
    pub location: Option<String>,
    pub location_country: Option<String>,
    pub lat: f64,
    pub lng: f64,
    pub article_count: i64,
    /// The event's own source: the importer that created it, or `push`.
    pub source: String,
    pub data_source: String,
    pub sources: JsonText<Vec<serde_json::Value>>,
    pub event_date_end: Option<String>,
    attributes: Option<JsonText<EventAttributes>>,
    pub updated_at: i64,
}

/// No attributes.
static NONE: EventAttributes = EventAttributes {
    reported_at: None,
    ends_at: None,
    magnitude: None,
    depth_km: None,
    mmi: None,
    pager_alert: None,
    alert_level: None,
    wind_kmh: None,
    warning: None,
    area: None,
    frp_mw: None,
    confidence: None,
    source_count: None,
    precision: None,
};

impl ChangedEvent {
    /// What the source says beyond the shared fields (see the module comment).
    pub fn attributes(&self) -> &EventAttributes {
        self.attributes.as_ref().map_or(&NONE, |a| &a.0)
    }

    /// Completes the attributes as read: recovered for rows from before attributes existed,
    /// and an end from `event_date_end`.
    fn complete(&mut self) {
        let mut a = match self.attributes.take() {
            Some(a) => a.0,
            None => recovered(self),
        };
        if a.reported_at.is_none() && a.ends_at.is_none() {
            a.ends_at = self
                .event_date_end
                .as_deref()
                .and_then(|d| parse_date("event_date_end", d).ok())
                .map(|d| start_of_day_ms(d) + 86_400_000);
        }
        self.attributes = (!a.is_empty()).then_some(JsonText(a));
    }
}

/// The number after `prefix` in `text`, up to the first character that is not part of one.
fn number_after(text: &str, prefix: &str) -> Option<f64> {
    let rest = &text[text.find(prefix)? + prefix.len()..];
    rest.trim_start()
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .next()?
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite())
}

/// Attributes of an event stored before they existed, from what its importer wrote: a USGS
/// title `M 5.3 - …` and description `Magnitude 5.3 mww, depth 10.64 km`; a GDACS title
/// `… (Magnitude 5.3M, Depth:10km) …`, severity (its alert level) and attributions' times.
fn recovered(e: &ChangedEvent) -> EventAttributes {
    let mut a = EventAttributes::default();
    match e.source.as_str() {
        "usgs" => {
            let t = e.title.trim_start();
            a.magnitude = t
                .strip_prefix("M ")
                .or_else(|| t.strip_prefix('M'))
                .and_then(|r| r.split_whitespace().next())
                .and_then(|m| m.parse().ok());
            a.depth_km = e
                .description
                .as_deref()
                .and_then(|d| number_after(d, "depth "));
        }
        "gdacs" => {
            a.alert_level = match Severity::parse(&e.severity) {
                Some(Severity::Critical) => Some("Red".into()),
                Some(Severity::High) => Some("Orange".into()),
                Some(Severity::Low) => Some("Green".into()),
                _ => None,
            };
            if e.event_type.as_deref() == Some("earthquake") {
                a.magnitude = number_after(&e.title, "Magnitude ");
                a.depth_km = number_after(&e.title, "Depth:");
            } else {
                a.reported_at = e
                    .sources
                    .0
                    .iter()
                    .filter(|s| s["source"] == "gdacs")
                    .filter_map(|s| s["published_at"].as_str())
                    .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.timestamp_millis())
                    .max();
            }
        }
        _ => {}
    }
    a
}

const COLUMNS: [Events; 19] = [
    Events::Id,
    Events::TenantId,
    Events::Title,
    Events::Description,
    Events::EventCategory,
    Events::EventType,
    Events::Severity,
    Events::OccurredAt,
    Events::Location,
    Events::LocationCountry,
    Events::Lat,
    Events::Lng,
    Events::ArticleCount,
    Events::Source,
    Events::DataSource,
    Events::Sources,
    Events::EventDateEnd,
    Events::Attributes,
    Events::UpdatedAt,
];

/// Up to `limit` events of every scope changed after `after` (`(updated_at, id)`).
pub async fn changed_after(db: &Db, after: (i64, &str), limit: u64) -> DbResult<Vec<ChangedEvent>> {
    events_after(db, after, None, limit).await
}

/// Up to `limit` events of `tenant`'s view (global plus its own) that occurred since `since`
/// or go on past it (an end date on or after its day), after `after` in `(updated_at, id)`
/// order.
pub async fn visible_since(
    db: &Db,
    tenant: TenantId,
    since: i64,
    after: (i64, &str),
    limit: u64,
) -> DbResult<Vec<ChangedEvent>> {
    let mut recent = Cond::any().add(Expr::col(Events::OccurredAt).gte(since));
    if let Some(day) = super::model::date_of_ms(since) {
        // Dates are stored as `YYYY-MM-DD`, so text order is date order.
        recent = recent.add(Expr::col(Events::EventDateEnd).gte(day.to_string()));
    }
    let scope = Cond::all()
        .add(
            Cond::any()
                .add(Expr::col(Events::TenantId).is_null())
                .add(Expr::col(Events::TenantId).eq(tenant)),
        )
        .add(recent);
    events_after(db, after, Some(scope), limit).await
}

/// The events with these ids, of every scope, in id order (at most a few thousand per call).
pub async fn by_ids(db: &Db, ids: &[String]) -> DbResult<Vec<ChangedEvent>> {
    let q = Query::select()
        .columns(COLUMNS)
        .from(Events::table())
        .and_where(Expr::col(Events::Id).is_in(ids.iter().cloned()))
        .order_by(Events::Id, Order::Asc)
        .to_owned();
    let mut rows: Vec<ChangedEvent> = db.fetch_all(&q).await?;
    rows.iter_mut().for_each(ChangedEvent::complete);
    Ok(rows)
}

/// Events of a scope, keyset-paged by `(updated_at, id)` after `after`.
async fn events_after(
    db: &Db,
    after: (i64, &str),
    extra: Option<Cond>,
    limit: u64,
) -> DbResult<Vec<ChangedEvent>> {
    let mut q = Query::select();
    q.columns(COLUMNS)
        .from(Events::table())
        // A row-value comparison, which both databases answer with one range scan of the
        // (updated_at, id) index; the equivalent OR made SQLite sort everything after the
        // cursor for every batch.
        .and_where(
            Expr::tuple([
                Expr::col(Events::UpdatedAt).into(),
                Expr::col(Events::Id).into(),
            ])
            .gt(Expr::tuple([after.0.into(), after.1.into()])),
        )
        .order_by(Events::UpdatedAt, Order::Asc)
        .order_by(Events::Id, Order::Asc)
        .limit(limit);
    if let Some(c) = extra {
        q.cond_where(c);
    }
    let mut rows: Vec<ChangedEvent> = db.fetch_all(&q).await?;
    rows.iter_mut().for_each(ChangedEvent::complete);
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(source: &str, title: &str, description: Option<&str>, severity: &str) -> ChangedEvent {
        ChangedEvent {
            id: "e".into(),
            tenant_id: None,
            title: title.into(),
            description: description.map(str::to_string),
            event_category: "geological".into(),
            event_type: Some("earthquake".into()),
            severity: severity.into(),
            occurred_at: 0,
            location: None,
            location_country: None,
            lat: 0.0,
            lng: 0.0,
            article_count: 1,
            source: source.into(),
            data_source: source.to_uppercase(),
            sources: JsonText(vec![]),
            event_date_end: None,
            attributes: None,
            updated_at: 0,
        }
    }

    #[test]
    fn rows_from_before_attributes_recover_what_their_importer_wrote() {
        let mut usgs = event(
            "usgs",
            "M 6.4 - 22km NNE of Hualian, Taiwan",
            Some("Magnitude 6.4 mww, depth 10.64 km"),
            "high",
        );
        usgs.complete();
        let a = usgs.attributes();
        assert_eq!((a.magnitude, a.depth_km), (Some(6.4), Some(10.64)));

        let mut gdacs = event(
            "gdacs",
            "Green earthquake alert (Magnitude 5.3M, Depth:10km) in [unknown] 29/12/2019 18:24 UTC",
            None,
            "low",
        );
        gdacs.complete();
        let a = gdacs.attributes();
        assert_eq!(
            (a.magnitude, a.depth_km, a.alert_level.as_deref()),
            (Some(5.3), Some(10.0), Some("Green"))
        );

        let mut drought = event("gdacs", "Drought is on going in Australia", None, "high");
        drought.event_type = Some("drought".into());
        drought.event_date_end = Some("2019-12-30".into());
        drought.sources = JsonText(vec![serde_json::json!(
            {"source": "gdacs", "source_id": "DR1", "published_at": "2019-12-30T00:17:00Z"})]);
        drought.complete();
        assert_eq!(drought.attributes().reported_at, Some(1577665020000));
        assert_eq!(
            drought.attributes().ends_at,
            None,
            "its last report says when"
        );

        // A pushed event with an end date goes on until the end of that day.
        let mut conflict = event("push", "Clashes continue", None, "high");
        conflict.event_date_end = Some("1970-01-02".into());
        conflict.complete();
        assert_eq!(conflict.attributes().ends_at, Some(2 * 86_400_000));

        // Stored attributes are kept as they are.
        let mut stored = event("usgs", "M 6.4 - x", None, "high");
        stored.attributes = Some(JsonText(EventAttributes {
            magnitude: Some(6.5),
            ..EventAttributes::default()
        }));
        stored.complete();
        assert_eq!(stored.attributes().magnitude, Some(6.5));
        assert_eq!(stored.attributes().depth_km, None);
    }
}
