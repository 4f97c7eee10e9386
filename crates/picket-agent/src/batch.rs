//! One batch: whole lines of one file, gzip-compressed as they are posted, with a header that
//! says where they came from. The header's key is deterministic (source, file identity, byte
//! range), so the same lines always travel under the same `Idempotency-Key`, whichever run of
//! the agent sends them.

use std::io::{self, Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};

/// The sensor format of a source, and so the ingest endpoint its batches go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Suricata EVE JSON lines → `POST /api/agent/v1/eve`.
    Eve,
    /// Zeek JSON log lines with `_path` → `POST /api/agent/v1/zeek`.
    Zeek,
    /// Raw syslog lines → `POST /api/agent/v1/syslog`.
    Syslog,
}

impl Format {
    /// The endpoint's last path segment.
    pub fn endpoint(self) -> &'static str {
        match self {
            Format::Eve => "eve",
            Format::Zeek => "zeek",
            Format::Syslog => "syslog",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Eve | Format::Zeek => "application/x-ndjson",
            Format::Syslog => "text/plain; charset=utf-8",
        }
    }
}

/// Where a batch's lines came from. Stored at the head of its spool file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: Format,
    /// Source id: a hash of the format and the configured path (see [`crate::tail`]).
    pub source: u32,
    /// The file's path when the batch was read (for logs; files are followed by inode).
    pub path: String,
    pub ino: u64,
    /// Bumped each time the file is found truncated or rewritten, so new content at old
    /// offsets never reuses an old key.
    pub gen: u32,
    /// Fingerprint of the file's first line (see [`crate::tail::fingerprint`]).
    pub fp: u64,
    /// Byte range `[start, end)` of the file that this batch covers (whole lines).
    pub start: u64,
    pub end: u64,
    /// Lines in this batch's body.
    pub lines: u32,
    /// After a split (413): the line range `[lo, hi)` of the original batch this part holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<(u32, u32)>,
}

impl Header {
    /// The `Idempotency-Key`: the same lines of the same file always get the same key.
    pub fn key(&self) -> String {
        let base = format!(
            "{:08x}-{:x}-{}-{:016x}-{}-{}",
            self.source, self.ino, self.gen, self.fp, self.start, self.end
        );
        match self.part {
            None => base,
            Some((lo, hi)) => format!("{base}~{lo}-{hi}"),
        }
    }
}

/// gzip at the fastest level: the agent runs on the sensor, where CPU belongs to the sensor;
/// level 1 still shrinks EVE JSON about sixfold.
pub fn gzip(body: &[u8]) -> io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
    enc.write_all(body)?;
    enc.finish()
}

/// Decompresses a body the agent itself compressed, refusing more than `limit` bytes.
pub fn gunzip(gz: &[u8], limit: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(gz)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)?;
    if out.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "batch body larger than expected",
        ));
    }
    Ok(out)
}

/// Splits a batch in two halves by line count (the server answered 413). Each half keeps the
/// original's file range and names its line range, so its key is as deterministic as the
/// original's. `None` when the batch holds a single line.
pub fn split(header: &Header, body: &[u8]) -> Option<[(Header, Vec<u8>); 2]> {
    let lines: Vec<&[u8]> = body
        .split_inclusive(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() < 2 {
        return None;
    }
    let (lo, hi) = header.part.unwrap_or((0, lines.len() as u32));
    let mid = lines.len() / 2;
    let cut = lo + mid as u32;
    let join = |ls: &[&[u8]]| ls.concat();
    let mut a = header.clone();
    a.part = Some((lo, cut));
    a.lines = mid as u32;
    let mut b = header.clone();
    b.part = Some((cut, hi));
    b.lines = (lines.len() - mid) as u32;
    Some([(a, join(&lines[..mid])), (b, join(&lines[mid..]))])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            format: Format::Eve,
            source: 0xabcd,
            path: "/var/log/suricata/eve.json".into(),
            ino: 0x1234,
            gen: 0,
            fp: 7,
            start: 100,
            end: 250,
            lines: 5,
            part: None,
        }
    }

    #[test]
    fn keys_name_source_file_generation_and_range() {
        let h = header();
        assert_eq!(h.key(), "0000abcd-1234-0-0000000000000007-100-250");
        let mut next_gen = h.clone();
        next_gen.gen = 1;
        assert_ne!(
            h.key(),
            next_gen.key(),
            "a truncated file's new lines get new keys"
        );
    }

    #[test]
    fn halves_keep_the_range_and_name_their_lines() {
        let body = b"a\nb\nc\nd\ne\n";
        let [(ha, a), (hb, b)] = split(&header(), body).unwrap();
        assert_eq!(a, b"a\nb\n");
        assert_eq!(b, b"c\nd\ne\n");
        assert_eq!((ha.part, ha.lines), (Some((0, 2)), 2));
        assert_eq!((hb.part, hb.lines), (Some((2, 5)), 3));
        assert!(ha.key().ends_with("-100-250~0-2"));
        // Splitting a half again names lines of the original batch.
        let [(hba, _), (hbb, bb)] = split(&hb, &b).unwrap();
        assert_eq!(hba.part, Some((2, 3)));
        assert_eq!(hbb.part, Some((3, 5)));
        assert_eq!(bb, b"d\ne\n");
        // Deterministic: the same split gives the same keys.
        let again = split(&header(), body).unwrap();
        assert_eq!(again[0].0.key(), ha.key());
        assert!(split(&ha, b"only\n").is_none());
    }

    #[test]
    fn gzip_round_trip_and_limit() {
        let body = b"{\"event_type\":\"dns\"}\n".repeat(1000);
        let gz = gzip(&body).unwrap();
        assert!(gz.len() < body.len() / 10);
        assert_eq!(gunzip(&gz, body.len()).unwrap(), body);
        assert!(gunzip(&gz, body.len() - 1).is_err());
    }
}
