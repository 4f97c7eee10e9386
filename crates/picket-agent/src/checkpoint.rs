//! The positions checkpoint (`positions.json` in the spool directory): for every followed file,
//! its identity and how far its lines are spooled or acknowledged, plus the last spooled batch
//! the checkpoint covers. Written atomically and durably after every spooled batch.

use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::fsx;

pub const FILE_NAME: &str = "positions.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: u32,
    /// Every spooled batch up to this sequence number is covered by `files`.
    pub covered_seq: u64,
    pub files: Vec<Position>,
}

/// One followed file: identity, generation, fingerprint, offset of the next unread byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub source: u32,
    pub path: PathBuf,
    pub ino: u64,
    pub gen: u32,
    /// Fingerprint of the first line, once the file has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp: Option<u64>,
    pub offset: u64,
}

/// Reads the checkpoint; a missing file is an empty one (first start).
pub fn load(dir: &Path) -> anyhow::Result<Checkpoint> {
    let path = dir.join(FILE_NAME);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "positions file {} is not readable JSON; move it away to start over \
                 (files are then shipped from their beginning)",
                path.display()
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Checkpoint {
            version: 1,
            ..Checkpoint::default()
        }),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Saves the checkpoint atomically and durably.
pub fn save(dir: &Path, cp: &Checkpoint) -> io::Result<()> {
    let json = serde_json::to_vec(cp).map_err(io::Error::other)?;
    fsx::write_atomic(dir, FILE_NAME, &[&json])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_first_start() {
        let dir = tempfile::tempdir().unwrap();
        let empty = load(dir.path()).unwrap();
        assert!(empty.files.is_empty());
        let cp = Checkpoint {
            version: 1,
            covered_seq: 42,
            files: vec![Position {
                source: 9,
                path: "/x/eve.json".into(),
                ino: 77,
                gen: 2,
                fp: Some(5),
                offset: 1234,
            }],
        };
        save(dir.path(), &cp).unwrap();
        assert_eq!(load(dir.path()).unwrap(), cp);
    }

    #[test]
    fn a_corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), b"{not json").unwrap();
        let e = format!("{:#}", load(dir.path()).unwrap_err());
        assert!(
            e.contains("positions file") && e.contains("move it away"),
            "{e}"
        );
    }
}
