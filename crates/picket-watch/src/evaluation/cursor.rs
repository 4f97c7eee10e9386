//! Where the evaluation of changed events stopped: one row per named cursor.

use picket_core::db::schema::Table;
use picket_core::db::{Db, DbResult};
use sea_query::{Expr, OnConflict, Query};

picket_core::table! {
    pub(crate) enum EngineCursors in "engine_cursors" {
        Name: Text .primary_key(),
        Value: BigInt,
    }
}

pub const TABLES: &[Table] = &[EngineCursors::DECLARED];

#[derive(sqlx::FromRow)]
struct Cursor {
    value: i64,
}

/// The cursor's value; 0 before it is first set.
pub async fn get(db: &Db, name: &str) -> DbResult<i64> {
    let q = Query::select()
        .column(EngineCursors::Value)
        .from(EngineCursors::table())
        .and_where(Expr::col(EngineCursors::Name).eq(name))
        .to_owned();
    Ok(db
        .fetch_optional::<Cursor>(&q)
        .await?
        .map_or(0, |c| c.value))
}

pub async fn set(db: &Db, name: &str, value: i64) -> DbResult<()> {
    let q = Query::insert()
        .into_table(EngineCursors::table())
        .columns([EngineCursors::Name, EngineCursors::Value])
        .values_panic([name.into(), value.into()])
        .on_conflict(
            OnConflict::column(EngineCursors::Name)
                .update_column(EngineCursors::Value)
                .to_owned(),
        )
        .to_owned();
    db.execute(&q).await.map(|_| ())
}
