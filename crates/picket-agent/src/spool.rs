//! The spool: every batch is written here durably before the reader moves on, and sent from
//! here in order. Layout of the spool directory:
//!
//! ```text
//! lock               held (flock) by the running agent
//! positions.json     the checkpoint (see crate::checkpoint)
//! batches/<seq>.batch         waiting to be sent, in name order
//! batches/<seq>a.batch, …b    the halves of a batch the server found too large
//! rejected/          batches the server refused outright (kept for inspection)
//! ```
//!
//! A batch file is `PKTSPOOL1\n`, its header as one JSON line, then the gzip body exactly as
//! it is posted. A split writes both halves before it removes the whole, so after a crash a
//! half whose parent is still there is an unfinished split and is removed (the parent is split
//! again, into the same halves with the same keys).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use anyhow::Context;

use crate::batch::Header;
use crate::fsx::{self, TMP_SUFFIX};

const MAGIC: &[u8] = b"PKTSPOOL1\n";
const SUFFIX: &str = ".batch";
/// Digits of a batch's sequence number in its name.
const SEQ_DIGITS: usize = 16;

/// A batch read back from the spool.
#[derive(Debug, Clone)]
pub struct Spooled {
    pub name: String,
    pub seq: u64,
    pub header: Header,
    pub gz: Vec<u8>,
}

#[derive(Debug)]
pub struct Spool {
    root: PathBuf,
    batches: PathBuf,
    rejected: PathBuf,
    _lock: File,
    /// Waiting batches by name (so in order), with their sizes.
    queue: Mutex<BTreeMap<String, u64>>,
    bytes: AtomicU64,
    max_bytes: u64,
    next_seq: AtomicU64,
    /// Highest sequence number the saved checkpoint covers.
    durable: AtomicU64,
    /// Wakes the sender: a batch was spooled or the checkpoint moved.
    pub(crate) changed: tokio::sync::Notify,
    /// Wakes the reader: room was freed.
    room: (Mutex<()>, Condvar),
}

impl Spool {
    /// Opens (creating) the spool directory, takes its lock, and recovers from a crash:
    /// removes half-written files and unfinished splits.
    pub fn open(root: &Path, max_bytes: u64) -> anyhow::Result<Spool> {
        fs::create_dir_all(root)
            .with_context(|| format!("cannot create spool directory {}", root.display()))?;
        let probe = root.join(".write-test");
        fs::write(&probe, b"ok")
            .and_then(|_| fs::remove_file(&probe))
            .with_context(|| format!("spool directory {} is not writable", root.display()))?;
        let lock = lock(root)?;
        let batches = root.join("batches");
        let rejected = root.join("rejected");
        for d in [&batches, &rejected] {
            fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
        }
        let mut names = BTreeMap::new();
        for e in
            fs::read_dir(&batches).with_context(|| format!("cannot list {}", batches.display()))?
        {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(TMP_SUFFIX) {
                fs::remove_file(e.path())?;
            } else if parse_seq(&name).is_some() {
                names.insert(name, e.metadata()?.len());
            }
        }
        let _ = fs::remove_file(root.join(format!("{}{TMP_SUFFIX}", crate::checkpoint::FILE_NAME)));
        // A half whose parent (or grandparent…) is still there belongs to an unfinished split.
        let unfinished: Vec<String> = names
            .keys()
            .filter(|n| ancestors(n).any(|a| names.contains_key(&a)))
            .cloned()
            .collect();
        for n in unfinished {
            tracing::info!(batch = %n, "removing a half of an unfinished split");
            fs::remove_file(batches.join(&n))?;
            names.remove(&n);
        }
        let next = names
            .keys()
            .filter_map(|n| parse_seq(n))
            .max()
            .map_or(1, |s| s + 1);
        let bytes = names.values().sum();
        Ok(Spool {
            root: root.to_path_buf(),
            batches,
            rejected,
            _lock: lock,
            queue: Mutex::new(names),
            bytes: AtomicU64::new(bytes),
            max_bytes,
            next_seq: AtomicU64::new(next),
            durable: AtomicU64::new(0),
            changed: tokio::sync::Notify::new(),
            room: (Mutex::new(()), Condvar::new()),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Batches waiting to be sent.
    pub fn depth(&self) -> u64 {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).len() as u64
    }

    /// Bytes of the waiting batches.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The next sequence number to be written, so the checkpoint can say it covers all before.
    pub fn last_seq(&self) -> u64 {
        self.next_seq.load(Ordering::Relaxed) - 1
    }

    /// Every waiting batch's sequence number and header (for the positions at start).
    pub fn headers(&self) -> anyhow::Result<Vec<(u64, Header)>> {
        let names: Vec<String> = self.lock_queue().keys().cloned().collect();
        names
            .into_iter()
            .map(|n| {
                let b = self.read(&n)?;
                Ok((b.seq, b.header))
            })
            .collect()
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, u64>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes a batch durably; its sequence number.
    pub fn write(&self, header: &Header, gz: &[u8]) -> io::Result<u64> {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let name = format!("{seq:0w$}{SUFFIX}", w = SEQ_DIGITS);
        let size = self.write_file(&name, header, gz)?;
        self.lock_queue().insert(name, size);
        self.bytes.fetch_add(size, Ordering::Relaxed);
        self.changed.notify_one();
        Ok(seq)
    }

    fn write_file(&self, name: &str, header: &Header, gz: &[u8]) -> io::Result<u64> {
        let mut head = serde_json::to_vec(header).map_err(io::Error::other)?;
        head.push(b'\n');
        fsx::write_atomic(&self.batches, name, &[MAGIC, &head, gz])?;
        Ok((MAGIC.len() + head.len() + gz.len()) as u64)
    }

    /// Blocks the reader while the spool is full (one batch always fits); `false` when asked
    /// to stop meanwhile.
    pub fn wait_for_room(&self, incoming: u64, stop: &AtomicBool) -> bool {
        let (lock, cv) = &self.room;
        let mut guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut warned = false;
        while self.depth() > 0 && self.bytes() + incoming > self.max_bytes {
            if stop.load(Ordering::Relaxed) {
                return false;
            }
            if !warned {
                tracing::warn!(
                    bytes = self.bytes(),
                    max_bytes = self.max_bytes,
                    "spool is full; reading paused until the server takes batches"
                );
                warned = true;
            }
            guard = cv
                .wait_timeout(guard, Duration::from_millis(200))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        !stop.load(Ordering::Relaxed)
    }

    /// The first waiting batch's name.
    pub fn first(&self) -> Option<String> {
        self.lock_queue().keys().next().cloned()
    }

    pub fn read(&self, name: &str) -> anyhow::Result<Spooled> {
        let path = self.batches.join(name);
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let corrupt = || anyhow::anyhow!("spooled batch {} is corrupt", path.display());
        let rest = bytes.strip_prefix(MAGIC).ok_or_else(corrupt)?;
        let nl = memchr::memchr(b'\n', rest).ok_or_else(corrupt)?;
        let header: Header = serde_json::from_slice(&rest[..nl]).map_err(|_| corrupt())?;
        Ok(Spooled {
            name: name.to_string(),
            seq: parse_seq(name).ok_or_else(corrupt)?,
            header,
            gz: rest[nl + 1..].to_vec(),
        })
    }

    /// Removes a batch the server acknowledged.
    pub fn remove(&self, name: &str) -> io::Result<()> {
        match fs::remove_file(self.batches.join(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        self.forget(name);
        Ok(())
    }

    fn forget(&self, name: &str) {
        if let Some(size) = self.lock_queue().remove(name) {
            self.bytes.fetch_sub(size, Ordering::Relaxed);
        }
        let _guard = self.room.0.lock().unwrap_or_else(|p| p.into_inner());
        self.room.1.notify_all();
    }

    /// Replaces a batch by its two halves (written first, so a crash leaves the whole).
    pub fn split(&self, name: &str, halves: [(Header, Vec<u8>); 2]) -> io::Result<()> {
        let stem = name.strip_suffix(SUFFIX).unwrap_or(name);
        let mut added = Vec::new();
        for ((h, gz), tag) in halves.iter().zip(["a", "b"]) {
            let half = format!("{stem}{tag}{SUFFIX}");
            let size = self.write_file(&half, h, gz)?;
            added.push((half, size));
        }
        fs::remove_file(self.batches.join(name))?;
        self.forget(name);
        let mut q = self.lock_queue();
        for (n, size) in added {
            q.insert(n, size);
            self.bytes.fetch_add(size, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Moves a batch the server refused outright to `rejected/`, with the reason beside it.
    pub fn reject(&self, name: &str, reason: &str) -> io::Result<()> {
        fs::write(self.rejected.join(format!("{name}.reason")), reason)?;
        fs::rename(self.batches.join(name), self.rejected.join(name))?;
        self.forget(name);
        Ok(())
    }

    /// The checkpoint covering every batch up to `seq` is saved.
    pub fn mark_durable(&self, seq: u64) {
        self.durable.fetch_max(seq, Ordering::Relaxed);
        self.changed.notify_one();
    }

    pub fn durable(&self) -> u64 {
        self.durable.load(Ordering::Relaxed)
    }
}

/// Sequence number from a batch file name.
fn parse_seq(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(SUFFIX)?;
    if stem.len() < SEQ_DIGITS || !stem[SEQ_DIGITS..].bytes().all(|b| b == b'a' || b == b'b') {
        return None;
    }
    stem[..SEQ_DIGITS].parse().ok()
}

/// Names of the batches a half was split from, nearest first.
fn ancestors(name: &str) -> impl Iterator<Item = String> + '_ {
    let stem = name.strip_suffix(SUFFIX).unwrap_or(name);
    (SEQ_DIGITS..stem.len())
        .rev()
        .map(move |k| format!("{}{SUFFIX}", &stem[..k]))
}

#[cfg(unix)]
fn lock(root: &Path) -> anyhow::Result<File> {
    let path = root.join("lock");
    let f = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(|_| {
        anyhow::anyhow!(
            "spool directory {} is in use by another picket agent (each agent needs its own)",
            root.display()
        )
    })?;
    Ok(f)
}

#[cfg(not(unix))]
fn lock(root: &Path) -> anyhow::Result<File> {
    let path = root.join("lock");
    File::create(&path).with_context(|| format!("cannot create {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{gzip, Format};

    fn header(start: u64, end: u64) -> Header {
        Header {
            format: Format::Syslog,
            source: 1,
            path: "/var/log/auth.log".into(),
            ino: 2,
            gen: 0,
            fp: 3,
            start,
            end,
            lines: 2,
            part: None,
        }
    }

    #[test]
    fn batches_come_back_in_order_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), u64::MAX).unwrap();
        let gz = gzip(b"a\nb\n").unwrap();
        assert_eq!(spool.write(&header(0, 4), &gz).unwrap(), 1);
        assert_eq!(spool.write(&header(4, 8), &gz).unwrap(), 2);
        drop(spool);
        let spool = Spool::open(dir.path(), u64::MAX).unwrap();
        assert_eq!(spool.depth(), 2);
        let first = spool.read(&spool.first().unwrap()).unwrap();
        assert_eq!((first.seq, first.header.clone()), (1, header(0, 4)));
        assert_eq!(first.gz, gz);
        spool.remove(&first.name).unwrap();
        assert_eq!(spool.read(&spool.first().unwrap()).unwrap().seq, 2);
        assert_eq!(spool.write(&header(8, 12), &gz).unwrap(), 3);
        assert_eq!(spool.headers().unwrap().len(), 2);
    }

    #[test]
    fn halves_replace_the_whole_and_an_unfinished_split_is_undone() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), u64::MAX).unwrap();
        spool
            .write(&header(0, 4), &gzip(b"a\nb\n").unwrap())
            .unwrap();
        spool
            .write(&header(4, 8), &gzip(b"c\nd\n").unwrap())
            .unwrap();
        let first = spool.read(&spool.first().unwrap()).unwrap();
        let halves = crate::batch::split(&first.header, b"a\nb\n")
            .unwrap()
            .map(|(h, body)| (h, gzip(&body).unwrap()));
        spool.split(&first.name, halves.clone()).unwrap();
        let order: Vec<_> = spool.lock_queue().keys().cloned().collect();
        assert_eq!(
            order,
            [
                "0000000000000001a.batch",
                "0000000000000001b.batch",
                "0000000000000002.batch"
            ]
        );
        assert_eq!(spool.read(&order[0]).unwrap().header.part, Some((0, 1)));

        // A crash after writing one half: the parent is still there, the half goes.
        let batches = dir.path().join("batches");
        fs::copy(
            batches.join(&order[2]),
            batches.join("0000000000000002a.batch"),
        )
        .unwrap();
        drop(spool);
        let spool = Spool::open(dir.path(), u64::MAX).unwrap();
        let order: Vec<_> = spool.lock_queue().keys().cloned().collect();
        assert_eq!(order.len(), 3, "{order:?}");
        assert!(!order.iter().any(|n| n == "0000000000000002a.batch"));
    }

    #[test]
    fn one_agent_per_spool() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Spool::open(dir.path(), u64::MAX).unwrap();
        let e = Spool::open(dir.path(), u64::MAX).unwrap_err().to_string();
        assert!(e.contains("in use by another picket agent"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn an_unwritable_spool_is_a_clear_error() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ro = dir.path().join("ro");
        fs::create_dir(&ro).unwrap();
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o500)).unwrap();
        // Root ignores permissions; the check is only meaningful for other users.
        if fs::write(ro.join("x"), b"").is_ok() {
            return;
        }
        let e = format!("{:#}", Spool::open(&ro, u64::MAX).unwrap_err());
        assert!(e.contains("is not writable"), "{e}");
    }

    #[test]
    fn a_full_spool_holds_the_reader_until_room_is_freed() {
        let dir = tempfile::tempdir().unwrap();
        let spool = std::sync::Arc::new(Spool::open(dir.path(), 10).unwrap());
        let stop = AtomicBool::new(false);
        // An empty spool takes any batch, however large.
        assert!(spool.wait_for_room(1000, &stop));
        spool
            .write(&header(0, 4), &gzip(b"a\nb\n").unwrap())
            .unwrap();
        let name = spool.first().unwrap();
        let s2 = spool.clone();
        let freer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            s2.remove(&name).unwrap();
        });
        assert!(spool.wait_for_room(5, &stop));
        assert_eq!(spool.depth(), 0);
        freer.join().unwrap();
    }
}
