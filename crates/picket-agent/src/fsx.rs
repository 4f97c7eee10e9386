//! Durable file operations: a file is written whole under a temporary name, flushed to disk,
//! renamed over its final name, and the directory entry flushed too, so after a crash (of the
//! process or of the machine) either the old or the new content is there, never a torn one.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// Suffix of files being written; leftovers of a crash are removed at start.
pub(crate) const TMP_SUFFIX: &str = ".tmp";

/// Writes `parts` (concatenated) to `dir/name` atomically and durably.
pub(crate) fn write_atomic(dir: &Path, name: &str, parts: &[&[u8]]) -> io::Result<()> {
    let tmp = dir.join(format!("{name}{TMP_SUFFIX}"));
    let target = dir.join(name);
    {
        let mut f = File::create(&tmp)?;
        for p in parts {
            f.write_all(p)?;
        }
        f.sync_all()?;
    }
    fs::rename(&tmp, &target)?;
    sync_dir(dir)
}

/// Flushes a directory's entries (renames and creations in it) to disk.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// FNV-1a, 64 bits: a stable hash for file fingerprints and source ids (the std hasher may
/// change between Rust releases, and these values are stored).
pub(crate) fn fnv64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_is_the_published_function() {
        // Test vectors of FNV-1a 64.
        assert_eq!(fnv64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), "x.json", &[b"one"]).unwrap();
        write_atomic(dir.path(), "x.json", &[b"two", b"-parts"]).unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("x.json")).unwrap(),
            "two-parts"
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }
}
