//! A file or a fetched body into a source of the intel lists: parse, then replace the
//! source's entries (see [`super::store::replace`]). `picket import intel` and the poller
//! both come here.

use std::path::Path;

use picket_core::db::{Db, DbError};

use super::misp::{self, Json};
use super::store::{self, Stored};
use super::{Entries, Format, Refusal};

/// What an import stored, skipped and refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub stored: Stored,
    pub skipped: usize,
    pub refused: Vec<Refusal>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input cannot be read as the format, or holds nothing usable; nothing changed.
    #[error("{0}")]
    Content(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Adds `more` (one event file of a feed) to `into`.
pub(crate) fn merge(into: &mut Entries, more: Entries) {
    into.tor.extend(more.tor);
    into.misp_ips.extend(more.misp_ips);
    into.misp_domains.extend(more.misp_domains);
    into.skipped += more.skipped;
    into.refused.extend(more.refused);
}

/// Replaces `source` with `entries`, unless they hold nothing usable but refusals (an error
/// page or a file of the wrong format must not empty a list).
pub(crate) async fn store(
    db: &Db,
    format: Format,
    source: &str,
    entries: Entries,
) -> Result<Report, ImportError> {
    if entries.is_empty() && !entries.refused.is_empty() {
        let first = &entries.refused[0];
        return Err(ImportError::Content(format!(
            "no usable entry: {} record(s) refused, the first at {}: {}",
            entries.refused.len(),
            first.at,
            first.reason
        )));
    }
    let stored = store::replace(db, source, format.lists(), &entries).await?;
    Ok(Report {
        stored,
        skipped: entries.skipped,
        refused: entries.refused,
    })
}

/// Imports one body of `format` (a MISP feed's manifest is refused here: its events are
/// separate files, see [`import_path`] and the poller).
pub async fn import_bytes(
    db: &Db,
    format: Format,
    source: &str,
    body: &[u8],
) -> Result<Report, ImportError> {
    let entries = super::parse(format, body).map_err(ImportError::Content)?;
    store(db, format, source, entries).await
}

/// Imports a file; for `misp-json`, also a feed's directory or its `manifest.json`, whose
/// events are read from `<uuid>.json` beside it (an event file that cannot be read is
/// refused, the others are imported).
pub async fn import_path(
    db: &Db,
    format: Format,
    source: &str,
    path: &Path,
) -> Result<Report, ImportError> {
    let read = |p: &Path| {
        std::fs::read(p)
            .map_err(|e| ImportError::Content(format!("cannot read {}: {e}", p.display())))
    };
    if format != Format::MispJson {
        return import_bytes(db, format, source, &read(path)?).await;
    }
    let (dir, manifest_path) = if path.is_dir() {
        (path.to_path_buf(), path.join("manifest.json"))
    } else {
        (
            path.parent().map(Path::to_path_buf).unwrap_or_default(),
            path.to_path_buf(),
        )
    };
    let cannot =
        |e: String| ImportError::Content(format!("cannot import {}: {e}", manifest_path.display()));
    let entries = match misp::json(&read(&manifest_path)?).map_err(cannot)? {
        Json::Entries(e) => e,
        Json::Manifest(uuids) => {
            let mut all = Entries::default();
            for uuid in uuids {
                let file = dir.join(format!("{uuid}.json"));
                let parsed = std::fs::read(&file)
                    .map_err(|e| format!("cannot read {}: {e}", file.display()))
                    .and_then(|b| misp::json(&b));
                match parsed {
                    Ok(Json::Entries(e)) => merge(&mut all, e),
                    Ok(Json::Manifest(_)) => {
                        all.refuse(format!("event {uuid}"), "the event file is a manifest")
                    }
                    Err(e) => all.refuse(format!("event {uuid}"), e),
                }
            }
            all
        }
    };
    store(db, format, source, entries).await
}
