//! Writing a chunk's working set back: one multi-row insert of new events and one of new
//! aliases, one `UPDATE` per changed existing event.

use picket_core::db::bulk::insert_rows;
use picket_core::db::{DbResult, Tx};
use sea_query::{Expr, Iden, Query, SimpleExpr, Value};

use super::working::{Slot, Working};
use crate::model::{Attribution, NewEvent};
use crate::store::{EventAliases, Events, Scope, GRID};

fn json(sources: &[Attribution]) -> Value {
    serde_json::to_string(sources).unwrap_or_default().into()
}

/// The record's data columns, in the order of [`DATA_COLUMNS`].
fn data_values(e: &NewEvent) -> Vec<Value> {
    vec![
        e.title.clone().into(),
        e.description.clone().into(),
        e.event_category.into(),
        e.event_type.clone().into(),
        e.event_subtype.clone().into(),
        e.event_date.to_string().into(),
        e.event_date_end.map(|d| d.to_string()).into(),
        e.occurred_at.into(),
        e.location.clone().into(),
        e.location_country.clone().into(),
        e.lat.into(),
        e.lng.into(),
        e.salience_score.into(),
        e.actor_count.into(),
        serde_json::to_string(&e.actors).unwrap_or_default().into(),
        e.data_source.clone().into(),
        GRID.cell(e.lat, e.lng).into(),
        (!e.attributes.is_empty())
            .then(|| serde_json::to_string(&e.attributes).unwrap_or_default())
            .into(),
    ]
}

const DATA_COLUMNS: [Events; 18] = [
    Events::Title,
    Events::Description,
    Events::EventCategory,
    Events::EventType,
    Events::EventSubtype,
    Events::EventDate,
    Events::EventDateEnd,
    Events::OccurredAt,
    Events::Location,
    Events::LocationCountry,
    Events::Lat,
    Events::Lng,
    Events::SalienceScore,
    Events::ActorCount,
    Events::Actors,
    Events::DataSource,
    Events::MergeCell,
    Events::Attributes,
];

/// What every change writes besides the data columns.
fn state_values(s: &Slot) -> Vec<(Events, Value)> {
    vec![
        (Events::Severity, s.severity.as_str().into()),
        (Events::ArticleCount, s.article_count.into()),
        (Events::Sources, json(&s.sources)),
        (Events::UpdatedAt, s.updated_at.into()),
    ]
}

pub(super) async fn write(
    tx: &mut Tx,
    scope: Scope,
    w: Working,
    chunk: &[NewEvent],
    now: i64,
) -> DbResult<()> {
    let mut created: Vec<Vec<Value>> = Vec::new();
    for s in w.slots.iter().filter(|s| s.dirty) {
        let data = s.data.map(|at| data_values(&chunk[at]));
        if s.created {
            let mut row: Vec<Value> = vec![
                s.id.clone().into(),
                scope.key().into(),
                scope.tenant_id().into(),
                s.source.clone().into(),
                s.source_id.clone().into(),
                now.into(),
            ];
            row.extend(data.expect("a created event has its record"));
            row.extend(state_values(s).into_iter().map(|(_, v)| v));
            created.push(row);
            continue;
        }
        let mut values: Vec<(Events, SimpleExpr)> = state_values(s)
            .into_iter()
            .map(|(c, v)| (c, v.into()))
            .collect();
        if let Some(data) = data {
            values.extend(
                DATA_COLUMNS
                    .into_iter()
                    .zip(data.into_iter().map(Into::into)),
            );
        }
        tx.execute(
            &Query::update()
                .table(Events::table())
                .values(values)
                .and_where(Expr::col(Events::Id).eq(s.id.clone()))
                .to_owned(),
        )
        .await?;
    }
    let mut columns: Vec<String> = [
        Events::Id,
        Events::Scope,
        Events::TenantId,
        Events::Source,
        Events::SourceId,
        Events::CreatedAt,
    ]
    .iter()
    .chain(DATA_COLUMNS.iter())
    .map(Iden::to_string)
    .collect();
    columns.extend(
        [
            Events::Severity,
            Events::ArticleCount,
            Events::Sources,
            Events::UpdatedAt,
        ]
        .iter()
        .map(Iden::to_string),
    );
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    insert_rows(tx, Events::table().as_str(), &columns, created).await?;
    insert_rows(
        tx,
        EventAliases::table().as_str(),
        &["scope", "source", "source_id", "event_id"],
        w.new_aliases.into_iter().map(|((source, source_id), id)| {
            vec![
                scope.key().into(),
                source.into(),
                source_id.into(),
                id.into(),
            ]
        }),
    )
    .await?;
    Ok(())
}
