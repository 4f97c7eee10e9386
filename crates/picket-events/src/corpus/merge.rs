//! Merging near-identical reports (contract §9): a record from one source that describes an
//! event another source already reported — same category, within 2 km and 6 hours, similar
//! title — is folded into that event instead of becoming a second one. The event counts one
//! more article and lists the record in `sources`; the record's `(source, source_id)` is kept
//! as an alias so that importing it again updates the same event.

use picket_core::db::{DbResult, Tx};
use sea_query::{Expr, Iden, Query};

use super::model::{Attribution, NewEvent};
use super::store::{Events, Scope};

pub const MAX_DISTANCE_KM: f64 = 2.0;
pub const MAX_GAP_MS: i64 = 6 * 3600 * 1000;
/// Share of distinct title words two reports must have in common (Jaccard index).
pub const MIN_TITLE_SIMILARITY: f64 = 0.5;

#[derive(Iden, Clone, Copy)]
pub(crate) enum EventAliases {
    Table,
    Scope,
    Source,
    SourceId,
    EventId,
}

/// Great-circle distance (haversine, mean Earth radius).
pub fn distance_km(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lng2 - lng1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * a.sqrt().asin()
}

fn words(title: &str) -> std::collections::BTreeSet<String> {
    title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Jaccard index of the two titles' word sets, 0..1.
pub fn title_similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (words(a), words(b));
    let union = a.union(&b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(&b).count() as f64 / union as f64
}

#[derive(sqlx::FromRow)]
pub(crate) struct Candidate {
    pub id: String,
    pub title: String,
    pub lat: f64,
    pub lng: f64,
    pub severity: String,
    pub article_count: i64,
    pub sources: String,
}

/// The event this record should be merged into, if any.
pub(crate) async fn find(tx: &mut Tx, scope: Scope, e: &NewEvent) -> DbResult<Option<Candidate>> {
    // A bounding box first, so the indexes narrow the search; the exact test follows.
    let dlat = MAX_DISTANCE_KM / 111.0;
    let dlng = dlat / e.lat.to_radians().cos().max(0.01);
    let q = Query::select()
        .columns([
            Events::Id,
            Events::Title,
            Events::Lat,
            Events::Lng,
            Events::Severity,
            Events::ArticleCount,
            Events::Sources,
        ])
        .from(Events::Table)
        .and_where(Expr::col(Events::Scope).eq(scope.key()))
        .and_where(Expr::col(Events::EventCategory).eq(e.event_category))
        .and_where(Expr::col(Events::Source).ne(e.source.as_str()))
        .and_where(Expr::col(Events::Lat).between(e.lat - dlat, e.lat + dlat))
        .and_where(Expr::col(Events::Lng).between(e.lng - dlng, e.lng + dlng))
        .and_where(
            Expr::col(Events::OccurredAt)
                .between(e.occurred_at - MAX_GAP_MS, e.occurred_at + MAX_GAP_MS),
        )
        .to_owned();
    let rows: Vec<Candidate> = tx.fetch_all(&q).await?;
    Ok(rows
        .into_iter()
        .filter(|c| distance_km(c.lat, c.lng, e.lat, e.lng) <= MAX_DISTANCE_KM)
        .filter(|c| !has_source(&c.sources, &e.source))
        .map(|c| (title_similarity(&c.title, &e.title), c))
        .filter(|(s, _)| *s >= MIN_TITLE_SIMILARITY)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c))
}

fn has_source(sources: &str, source: &str) -> bool {
    parse(sources).iter().any(|a| a.source == source)
}

pub(crate) fn parse(sources: &str) -> Vec<Attribution> {
    serde_json::from_str(sources).unwrap_or_default()
}

/// The attribution list with `a` added, or replacing the entry of the same origin.
pub(crate) fn with_attribution(sources: &str, a: Attribution) -> Vec<Attribution> {
    let mut list = parse(sources);
    match list
        .iter_mut()
        .find(|x| x.source == a.source && x.source_id == a.source_id)
    {
        Some(x) => *x = a,
        None => list.push(a),
    }
    list
}

/// The event a merged record was folded into.
pub(crate) async fn alias(tx: &mut Tx, scope: Scope, e: &NewEvent) -> DbResult<Option<String>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        event_id: String,
    }
    let q = Query::select()
        .column(EventAliases::EventId)
        .from(EventAliases::Table)
        .and_where(Expr::col(EventAliases::Scope).eq(scope.key()))
        .and_where(Expr::col(EventAliases::Source).eq(e.source.as_str()))
        .and_where(Expr::col(EventAliases::SourceId).eq(e.source_id.as_str()))
        .to_owned();
    Ok(tx.fetch_optional::<Row>(&q).await?.map(|r| r.event_id))
}

pub(crate) async fn add_alias(
    tx: &mut Tx,
    scope: Scope,
    e: &NewEvent,
    event_id: &str,
) -> DbResult<()> {
    let q = Query::insert()
        .into_table(EventAliases::Table)
        .columns([
            EventAliases::Scope,
            EventAliases::Source,
            EventAliases::SourceId,
            EventAliases::EventId,
        ])
        .values_panic([
            scope.key().into(),
            e.source.clone().into(),
            e.source_id.clone().into(),
            event_id.into(),
        ])
        .to_owned();
    tx.execute(&q).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_and_similarity() {
        // One hundredth of a degree of latitude is about 1.11 km.
        assert!((distance_km(10.0, 20.0, 10.01, 20.0) - 1.112).abs() < 0.01);
        assert!(distance_km(0.0, 179.999, 0.0, -179.999) < 0.3);
        assert_eq!(
            title_similarity("M 5.3 - Papua New Guinea", "Papua New Guinea: M 5.3"),
            1.0
        );
        assert!(title_similarity("Flood in Lagos", "Riot in Abuja") < MIN_TITLE_SIMILARITY);
        assert_eq!(title_similarity("", ""), 0.0);
    }

    #[test]
    fn attributions_are_replaced_by_origin() {
        let a = |id: &str, url: &str| Attribution {
            source: "usgs".into(),
            source_id: id.into(),
            url: Some(url.into()),
            published_at: None,
        };
        let json = serde_json::to_string(&vec![a("x", "old")]).unwrap();
        assert_eq!(with_attribution(&json, a("x", "new")), vec![a("x", "new")]);
        assert_eq!(with_attribution(&json, a("y", "u")).len(), 2);
    }
}
