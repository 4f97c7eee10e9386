//! `POST /api/v1/data/export`: a ZIP of one CSV per dataset, streamed while the rows are read.
//!
//! Three stages joined by bounded channels, so memory stays flat at any row count: a task reads
//! each dataset with one streaming query and formats CSV in chunks of about [`CHUNK`] bytes; a
//! blocking thread deflates them into a ZIP written without seeking (data descriptors); the
//! response body forwards the ZIP's bytes as they come. A slow client stalls the query, a
//! client that goes away stops it. Errors after the 200 has gone out can only cut the body,
//! which a ZIP reader notices (no central directory).

use std::io::{self, Write};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono_tz::Tz;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use picket_core::db::schema::ColType;
use picket_core::db::{Db, Raw};
use picket_core::error::NetworkErrorBody;
use picket_core::extract::{Json, NoQuery};
use picket_core::identity::{need, Authed, TenantId};
use picket_core::{ApiError, AppState};
use sea_query::{Alias, Order};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;
use utoipa::ToSchema;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::filters::Filters;
use super::sets::{self, Dataset};
use crate::clock;

/// CSV bytes handed to the ZIP stage at a time, and ZIP bytes per body chunk.
const CHUNK: usize = 128 * 1024;
/// Chunks in flight between stages.
const IN_FLIGHT: usize = 4;
/// Fast deflate: CSV still shrinks several times, and the export keeps up with the reads.
const DEFLATE_LEVEL: i64 = 1;

/// Export request: the datasets by key (`datasets`, or its alias `tables`, or a single `table`)
/// and the filters of §8.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportBody {
    pub datasets: Option<Vec<String>>,
    /// Alias of `datasets`.
    pub tables: Option<Vec<String>>,
    /// A single dataset.
    pub table: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub filters: Option<Value>,
}

impl ExportBody {
    fn datasets(&self) -> Result<Vec<&'static Dataset>, ApiError> {
        let many = match (&self.datasets, &self.tables) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_request(
                    "give `datasets` or its alias `tables`, not both",
                ))
            }
            (Some(v), None) | (None, Some(v)) => Some(v),
            (None, None) => None,
        };
        let keys: Vec<&String> = match (many, &self.table) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_request(
                    "give `datasets` (or `tables`) or `table`, not both",
                ))
            }
            (Some(v), None) => v.iter().collect(),
            (None, Some(t)) => vec![t],
            (None, None) => {
                return Err(ApiError::bad_request(format!(
                    "no dataset given: set `datasets` to some of {}",
                    sets::keys()
                )))
            }
        };
        if keys.is_empty() {
            return Err(ApiError::bad_request(format!(
                "`datasets` is empty: name some of {}",
                sets::keys()
            )));
        }
        let mut out: Vec<&'static Dataset> = Vec::new();
        for k in keys {
            let set = Dataset::by_key(k).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unknown dataset `{k}`; expected one of {}",
                    sets::keys()
                ))
            })?;
            if !out.iter().any(|d| d.key == set.key) {
                out.push(set);
            }
        }
        Ok(out)
    }
}

/// Export datasets as a ZIP archive holding one CSV per dataset (`networkalerts.csv`,
/// `syslogalerts.csv`, `metadata_dns.csv`, `metadata_connections.csv`, `dhcpflow.csv`,
/// `httpflow.csv`). CSV: a header row always, RFC 4180 quoting, UTF-8, times in the server's
/// timezone. Streamed.
#[utoipa::path(post, path = "/api/v1/data/export", tag = "data",
    request_body = ExportBody,
    responses(
        (status = 200, description = "ZIP archive, one CSV per dataset", content_type = "application/zip"),
        (status = 400, body = NetworkErrorBody)))]
pub async fn export(
    State(s): State<AppState>,
    auth: Authed<need::DataR>,
    _: NoQuery,
    Json(body): Json<ExportBody>,
) -> Result<Response, ApiError> {
    let sets = body.datasets()?;
    let tz = s.tz;
    let filters = Filters::parse(body.filters.as_ref(), tz)?;
    let (zip_tx, zip_rx) = mpsc::channel::<io::Result<Bytes>>(IN_FLIGHT);
    let (csv_tx, csv_rx) = mpsc::channel::<Piece>(IN_FLIGHT);
    tokio::task::spawn_blocking(move || zip_pieces(csv_rx, zip_tx));
    let (db, tenant) = (s.db.clone(), auth.tenant_id);
    tokio::spawn(async move {
        match read_sets(&db, tenant, &sets, &filters, tz, &csv_tx).await {
            Ok(()) | Err(Stop::ClientGone) => {}
            Err(Stop::Failed(e)) => {
                tracing::error!(error = %e, "export failed after the response started");
                let _ = csv_tx.send(Piece::Failed).await;
            }
        }
    });
    // Fused: a body wrapper (the response compression) may poll again after the end.
    let stream = futures::StreamExt::fuse(futures::stream::unfold(zip_rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    Ok((
        [
            (CONTENT_TYPE, "application/zip"),
            (
                CONTENT_DISPOSITION,
                "attachment; filename=\"picket-export.zip\"",
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// What the reading stage hands the ZIP stage.
enum Piece {
    /// A new entry begins.
    Entry(&'static str),
    Csv(Vec<u8>),
    /// Reading failed: end the body with an error rather than a well-formed ZIP.
    Failed,
}

enum Stop {
    ClientGone,
    Failed(String),
}

impl From<sqlx::Error> for Stop {
    fn from(e: sqlx::Error) -> Stop {
        Stop::Failed(e.to_string())
    }
}

impl From<picket_core::db::DbError> for Stop {
    fn from(e: picket_core::db::DbError) -> Stop {
        Stop::Failed(e.to_string())
    }
}

impl From<csv::Error> for Stop {
    fn from(e: csv::Error) -> Stop {
        Stop::Failed(e.to_string())
    }
}

/// How one exported column is read and written.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Int,
    Float,
    Bool,
    Text,
    /// Unix ms written as server-local `YYYY-MM-DD HH:MM:SS`.
    Time,
}

/// The exported columns: the stored ones in schema order, without the tenant and the
/// internal sort keys (`src_ip_key`, …); `ts` is written as `timestamp`.
fn columns(set: &Dataset) -> Vec<(&'static str, &'static str, Kind)> {
    set.table
        .columns
        .iter()
        .filter(|c| c.name != "tenant_id" && !c.name.ends_with("_key") && c.ty != ColType::Bytes)
        .map(|c| match (c.name, c.ty) {
            ("ts", _) => ("ts", "timestamp", Kind::Time),
            (n, ColType::Serial | ColType::BigInt) => (n, n, Kind::Int),
            (n, ColType::Double) => (n, n, Kind::Float),
            (n, ColType::Bool) => (n, n, Kind::Bool),
            (n, _) => (n, n, Kind::Text),
        })
        .collect()
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(CHUNK + CHUNK / 4))
}

async fn read_sets(
    db: &Db,
    tenant: TenantId,
    sets: &[&'static Dataset],
    filters: &Filters,
    tz: Tz,
    out: &mpsc::Sender<Piece>,
) -> Result<(), Stop> {
    for set in sets {
        send(out, Piece::Entry(set.entry)).await?;
        let cols = columns(set);
        let mut w = csv_writer();
        w.write_record(cols.iter().map(|c| c.1))?;
        let stmt = set
            .owned()
            .select(tenant)
            .columns(cols.iter().map(|c| Alias::new(c.0)))
            .cond_where(filters.condition(set, db.backend()))
            .order_by(Alias::new("ts"), Order::Asc)
            .order_by(Alias::new("id"), Order::Asc)
            .to_owned();
        let (sql, values) = db.render(&stmt);
        let mut conn = db.conn().await?;
        let w = match conn.raw() {
            Raw::Sqlite(c) => {
                let rows = sqlx::query_with::<sqlx::Sqlite, _>(&sql, values).fetch(c);
                pump(rows.boxed(), &cols, tz, w, out).await?
            }
            Raw::Postgres(c) => {
                let rows = sqlx::query_with::<sqlx::Postgres, _>(&sql, values).fetch(c);
                pump(rows.boxed(), &cols, tz, w, out).await?
            }
        };
        send(out, Piece::Csv(finish(w)?)).await?;
    }
    Ok(())
}

async fn send(out: &mpsc::Sender<Piece>, piece: Piece) -> Result<(), Stop> {
    out.send(piece).await.map_err(|_| Stop::ClientGone)
}

fn finish(w: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, Stop> {
    w.into_inner()
        .map_err(|e| Stop::Failed(e.error().to_string()))
}

/// Writes every row as CSV, handing over a chunk whenever one is full; returns the writer
/// holding the last, partial chunk.
async fn pump<R>(
    mut rows: BoxStream<'_, Result<R, sqlx::Error>>,
    cols: &[(&str, &str, Kind)],
    tz: Tz,
    mut w: csv::Writer<Vec<u8>>,
    out: &mpsc::Sender<Piece>,
) -> Result<csv::Writer<Vec<u8>>, Stop>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<f64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<bool>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut field = String::new();
    // Rows come in time order, many within one second: format each second once.
    let mut second = (i64::MIN, String::new());
    while let Some(row) = rows.try_next().await? {
        for (i, (_, _, kind)) in cols.iter().enumerate() {
            field.clear();
            match kind {
                Kind::Int => {
                    if let Some(v) = row.try_get::<Option<i64>, _>(i)? {
                        field.push_str(&v.to_string());
                    }
                }
                Kind::Time => {
                    if let Some(v) = row.try_get::<Option<i64>, _>(i)? {
                        let s = v.div_euclid(1000);
                        if s != second.0 {
                            second = (s, clock::format(v, tz));
                        }
                        field.push_str(&second.1);
                    }
                }
                Kind::Float => {
                    if let Some(v) = row.try_get::<Option<f64>, _>(i)? {
                        field.push_str(&v.to_string());
                    }
                }
                Kind::Bool => {
                    if let Some(v) = row.try_get::<Option<bool>, _>(i)? {
                        field.push_str(if v { "true" } else { "false" });
                    }
                }
                Kind::Text => {
                    if let Some(v) = row.try_get::<Option<String>, _>(i)? {
                        field = v;
                    }
                }
            }
            w.write_field(field.as_bytes())?;
        }
        w.write_record(None::<&[u8]>)?;
        if w.get_ref().len() >= CHUNK {
            let full = finish(std::mem::replace(&mut w, csv_writer()))?;
            send(out, Piece::Csv(full)).await?;
        }
    }
    Ok(w)
}

/// The ZIP stage, on a blocking thread: deflates the CSV pieces into entries.
fn zip_pieces(mut rx: mpsc::Receiver<Piece>, tx: mpsc::Sender<io::Result<Bytes>>) {
    let result = (|| -> io::Result<()> {
        let mut zip = ZipWriter::new_stream(BodyWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        });
        let stamp = zip_time(chrono::Utc::now().naive_utc());
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(DEFLATE_LEVEL))
            .last_modified_time(stamp)
            // Sizes are unknown when an entry starts; ZIP64 fields keep entries past 4 GiB valid.
            .large_file(true);
        while let Some(piece) = rx.blocking_recv() {
            match piece {
                Piece::Entry(name) => zip.start_file(name, options)?,
                Piece::Csv(bytes) => zip.write_all(&bytes)?,
                Piece::Failed => return Err(io::Error::other("export failed while reading")),
            }
        }
        zip.finish()?.into_inner().flush()
    })();
    if let Err(e) = result {
        let _ = tx.blocking_send(Err(e));
    }
}

/// The ZIP's output: bytes gathered into chunks and sent to the response body.
struct BodyWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl BodyWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
    }
}

impl Write for BodyWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// A ZIP entry time (the format has no zone; UTC, like the server's logs).
fn zip_time(t: chrono::NaiveDateTime) -> zip::DateTime {
    use chrono::{Datelike, Timelike};
    zip::DateTime::from_date_and_time(
        t.year().clamp(1980, 2107) as u16,
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
    )
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_leave_out_the_tenant_and_sort_keys() {
        let set = Dataset::by_key("network_alerts").expect("network alerts");
        let names: Vec<&str> = columns(set).iter().map(|c| c.1).collect();
        assert_eq!(names.first(), Some(&"id"));
        assert!(names.contains(&"timestamp") && names.contains(&"src_ip"));
        assert!(
            !names
                .iter()
                .any(|n| *n == "tenant_id" || n.ends_with("_key")),
            "{names:?}"
        );
    }
}
