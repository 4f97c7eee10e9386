//! `picket import …`: load files into the event corpus, or into the threat-intelligence lists,
//! with the same importers their polled forms use. Prints one line of counts on stdout and
//! each refused record on stderr; fails only when the file cannot be read or parsed at all
//! (or holds nothing usable, or the tenant does not exist).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Subcommand;
use picket_core::db::Db;
use picket_core::identity::store;
use picket_corpus::import::{self, Format};
use picket_corpus::{store_records, Scope};
use picket_sensor::intel;

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
    /// Import a Tor relay list or MISP indicators into the threat-intelligence lists (shared by
    /// every tenant). The file's entries replace those of the earlier import of the same name.
    Intel {
        /// tor-exits (Tor's exit-addresses, or one address per line), onionoo (an Onionoo
        /// details document), misp-json (a MISP feed's directory or manifest.json, one event, or
        /// a REST search answer), misp-csv (MISP's CSV export).
        #[arg(long, value_parser = parse_intel_format)]
        format: intel::Format,
        /// The file (for misp-json, also a feed's directory).
        file: PathBuf,
        /// The source these entries stand for [default: the format's name]. An `[[intel]]`
        /// list's source is its `name`.
        #[arg(long)]
        name: Option<String>,
    },
}

fn parse_intel_format(s: &str) -> Result<intel::Format, String> {
    intel::Format::parse(s).ok_or_else(|| {
        format!(
            "unknown format `{s}`; expected one of {}",
            intel::Format::names()
        )
    })
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
    let (format, file, tenant) = match cmd {
        ImportCommand::Events {
            format,
            file,
            tenant,
        } => (format, file, tenant),
        ImportCommand::Intel { format, file, name } => {
            return import_intel(db, format, &file, name.as_deref(), out, err).await
        }
    };
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

async fn import_intel(
    db: &Db,
    format: intel::Format,
    file: &std::path::Path,
    name: Option<&str>,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    let source = name.unwrap_or(format.as_str());
    if source.is_empty() {
        bail!("`--name` must not be empty");
    }
    let report = match intel::import_path(db, format, source, file).await {
        Ok(r) => r,
        Err(intel::import::ImportError::Content(msg)) => {
            bail!("cannot import {}: {msg}", file.display())
        }
        Err(intel::import::ImportError::Db(e)) => {
            return Err(anyhow::Error::new(e).context("storing the entries failed"))
        }
    };
    for r in &report.refused {
        writeln!(err, "rejected {}: {}", r.at, r.reason)?;
    }
    let s = report.stored;
    writeln!(
        out,
        "source {source}: tor relays {}, misp ips {}, misp domains {}, skipped {}, rejected {}",
        s.tor,
        s.misp_ips,
        s.misp_domains,
        report.skipped,
        report.refused.len()
    )?;
    Ok(())
}
