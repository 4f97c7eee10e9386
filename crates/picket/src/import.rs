//! `picket import …`: load files into the event corpus with the same importers a feed uses.
//! Prints one line of counts on stdout and each refused record on stderr; fails only when the
//! file cannot be read or parsed at all (or the tenant does not exist).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Subcommand;
use picket_core::db::Db;
use picket_core::identity::store;
use picket_corpus::import::{self, Format};
use picket_corpus::{store_records, Scope};

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import events from a file into the global corpus, or into one tenant's private events.
    Events {
        /// usgs (USGS earthquake GeoJSON), gdacs (GDACS RSS), geojson (FeatureCollection of
        /// Picket events), ndjson (one Picket event per line), cap (CAP 1.1/1.2 alerts), firms (NASA
        /// FIRMS active-fire CSV), gdelt (GDELT 2.0 event export), acled (ACLED CSV export).
        #[arg(long, value_parser = parse_format)]
        format: Format,
        /// The file to import.
        file: PathBuf,
        /// Import as this tenant's private events instead of the global corpus.
        #[arg(long)]
        tenant: Option<String>,
    },
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
        format!("unknown format `{s}`; expected one of {}", names.join(", "))
    })
}

pub async fn run(
    db: &Db,
    cmd: ImportCommand,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    let ImportCommand::Events {
        format,
        file,
        tenant,
    } = cmd;
    let scope = match tenant {
        Some(name) => match store::tenant_by_name(db, &name).await? {
            Some(t) => Scope::Tenant(t.id),
            None => bail!("no tenant `{name}`"),
        },
        None => Scope::Global,
    };
    let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let records = import::parse(format, &bytes)
        .map_err(|e| anyhow::anyhow!("cannot import {}: {e}", file.display()))?;
    let report = store_records(db, scope, records)
        .await
        .context("storing the events failed")?;
    for (index, reason) in &report.rejected {
        writeln!(err, "rejected record {index}: {reason}")?;
    }
    writeln!(
        out,
        "new {}, updated {}, merged {}, rejected {}",
        report.new,
        report.updated,
        report.merged,
        report.rejected.len()
    )?;
    Ok(())
}
