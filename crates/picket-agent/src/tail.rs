//! Following files. A file is followed by its inode, not its name: when the configured path
//! names a new file (rotation), the old one is drained to its end through the descriptor
//! still open on it before it is let go; when a file shrinks below the position or its first
//! line changes (truncation, or rewritten in place), it is read again from the start under a
//! new generation. Only whole lines are read; a last line without its newline waits for it.
//!
//! A Zeek directory source follows every `*.log` file in it: Zeek's own rotation renames
//! `conn.log` to `conn.<time>.log` in the same directory, and the inode shows it is the same
//! file, so nothing is read twice. A Zeek line without `_path` gets it from the file name.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::de::IgnoredAny;

use crate::batch::{Format, Header};
use crate::checkpoint::Position;
use crate::fsx::fnv64;

/// What to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Stable id (format and absolute path hashed): part of every batch key.
    pub id: u32,
    pub format: Format,
    pub spec: Spec,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// One path; a new file at the path is a rotation.
    File(PathBuf),
    /// Every `*.log` file in a directory (Zeek).
    Dir(PathBuf),
}

impl Source {
    pub fn file(format: Format, path: &Path) -> Source {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        Source {
            id: source_id(format, &path),
            format,
            spec: Spec::File(path),
        }
    }

    pub fn zeek_dir(dir: &Path) -> Source {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        Source {
            id: source_id(Format::Zeek, &dir),
            format: Format::Zeek,
            spec: Spec::Dir(dir),
        }
    }

    pub fn path(&self) -> &Path {
        match &self.spec {
            Spec::File(p) | Spec::Dir(p) => p,
        }
    }

    /// The files that belong to this source now: `(path, inode, size)`.
    fn candidates(&self) -> Vec<(PathBuf, u64, u64)> {
        match &self.spec {
            Spec::File(p) => match fs::metadata(p) {
                Ok(m) if m.is_file() => vec![(p.clone(), ino(&m), m.len())],
                _ => Vec::new(),
            },
            Spec::Dir(d) => {
                let Ok(entries) = fs::read_dir(d) else {
                    return Vec::new();
                };
                let mut out: Vec<_> = entries
                    .flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
                    .filter_map(|e| {
                        let p = e.path();
                        let m = fs::metadata(&p).ok().filter(|m| m.is_file())?;
                        Some((p, ino(&m), m.len()))
                    })
                    .collect();
                // Older rotated files first, so their lines ship before the current ones.
                out.sort();
                out
            }
        }
    }
}

fn source_id(format: Format, path: &Path) -> u32 {
    let mut key = format.endpoint().as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(path.to_string_lossy().as_bytes());
    let h = fnv64(&key);
    (h ^ (h >> 32)) as u32
}

#[cfg(unix)]
fn ino(m: &fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(m)
}

#[cfg(not(unix))]
fn ino(_: &fs::Metadata) -> u64 {
    0
}

/// Reads at `offset` into `buf` until it is full or the file ends; the bytes read.
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(file, &mut buf[done..], offset + done as u64)?;
        #[cfg(not(unix))]
        let n = {
            use std::io::{Read, Seek, SeekFrom};
            let mut f = file;
            f.seek(SeekFrom::Start(offset + done as u64))?;
            f.read(&mut buf[done..])?
        };
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}

/// Bytes of a file's start that identify it.
const FP_BYTES: usize = 256;

/// A file's fingerprint: the hash of its first line (at most 256 bytes of it); `None` while
/// the first line is incomplete. Tells a rewritten file from the one whose position is saved
/// when the inode is the same.
pub fn fingerprint(file: &File) -> io::Result<Option<u64>> {
    let mut buf = [0u8; FP_BYTES];
    let n = read_at(file, &mut buf, 0)?;
    Ok(fingerprint_of(&buf[..n]))
}

fn fingerprint_of(start: &[u8]) -> Option<u64> {
    match memchr::memchr(b'\n', &start[..start.len().min(FP_BYTES)]) {
        Some(nl) => Some(fnv64(&start[..=nl])),
        None if start.len() >= FP_BYTES => Some(fnv64(&start[..FP_BYTES])),
        None => None,
    }
}

/// Batch bounds and how long a rotated-away or finished file is kept open.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub batch_lines: usize,
    /// Also the longest line read; a longer one is skipped with a warning.
    pub batch_bytes: usize,
    /// A file that left its source (rotated away, removed) is read until it has not grown
    /// for this long, then closed; a finished file of a directory source is closed after it
    /// too (and reopened when it grows).
    pub idle_close: Duration,
}

/// One followed file.
#[derive(Debug)]
struct Tracked {
    source: usize,
    path: PathBuf,
    /// `None` while dormant (finished file of a directory source, closed after idling).
    file: Option<File>,
    ino: u64,
    gen: u32,
    fp: Option<u64>,
    offset: u64,
    /// Still a file of its source at the last scan.
    current: bool,
    last_size: u64,
    last_change: Instant,
    zeek_path: Option<String>,
}

impl Tracked {
    fn position(&self, source_id: u32) -> Position {
        Position {
            source: source_id,
            path: self.path.clone(),
            ino: self.ino,
            gen: self.gen,
            fp: self.fp,
            offset: self.offset,
        }
    }

    fn restart(&mut self, why: &str) {
        tracing::warn!(
            file = %self.path.display(),
            position = self.offset,
            "{why}; reading it again from the start"
        );
        self.gen += 1;
        self.offset = 0;
        self.fp = None;
    }
}

/// What reading a file gave.
#[derive(Debug)]
pub enum Read {
    /// Whole lines: the batch's header (not yet committed) and its uncompressed body.
    Batch(Header, Vec<u8>),
    /// Bytes were consumed without a batch (blank lines, a skipped over-long line): commit
    /// the new offset.
    Advanced(u64),
    /// Nothing complete to read now.
    Nothing,
}

/// All followed files of all sources.
#[derive(Debug)]
pub struct Tailer {
    sources: Vec<Source>,
    files: Vec<Tracked>,
    limits: Limits,
    buf: Vec<u8>,
}

impl Tailer {
    pub fn new(sources: Vec<Source>, limits: Limits) -> Tailer {
        Tailer {
            sources,
            files: Vec::new(),
            limits,
            buf: Vec::new(),
        }
    }

    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// Number of followed files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Positions to save.
    pub fn positions(&self) -> Vec<Position> {
        self.files
            .iter()
            .map(|t| t.position(self.sources[t.source].id))
            .collect()
    }

    /// Finds the files of saved positions again (at their path, or by inode in the same
    /// directory after a rotation) and resumes them; a file whose content changed starts over
    /// under a new generation, one that is gone is forgotten.
    pub fn restore(&mut self, saved: &[Position]) {
        for pos in saved {
            let Some(source) = self.sources.iter().position(|s| s.id == pos.source) else {
                tracing::info!(file = %pos.path.display(), "no longer configured; forgetting its position");
                continue;
            };
            let Some((path, file)) = find_by_inode(&pos.path, pos.ino) else {
                tracing::warn!(
                    file = %pos.path.display(),
                    position = pos.offset,
                    "a followed file is gone; lines it held past the saved position, if any, cannot be shipped"
                );
                continue;
            };
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            let mut t = self.track(source, path, file, pos.ino, size);
            t.gen = pos.gen;
            t.fp = pos.fp;
            t.offset = pos.offset;
            t.current = false;
            let fp_now = t.file.as_ref().and_then(|f| fingerprint(f).ok().flatten());
            if size < t.offset {
                t.restart("file is shorter than the saved position (truncated)");
            } else if t.offset > 0 && pos.fp.is_some() && fp_now != pos.fp {
                t.restart("file's first line changed since its position was saved (rewritten)");
            }
            tracing::info!(file = %t.path.display(), position = t.offset, "resuming");
            self.files.push(t);
        }
    }

    fn track(&self, source: usize, path: PathBuf, file: File, ino: u64, size: u64) -> Tracked {
        let zeek_path = (self.sources[source].format == Format::Zeek).then(|| zeek_path(&path));
        Tracked {
            source,
            path,
            file: Some(file),
            ino,
            gen: 0,
            fp: None,
            offset: 0,
            current: true,
            last_size: size,
            last_change: Instant::now(),
            zeek_path,
        }
    }

    /// Looks at every source: new files are followed from their start, files that left their
    /// source are drained and then let go, truncated or rewritten files start over, idle
    /// finished files are closed.
    pub fn scan(&mut self) {
        for t in &mut self.files {
            t.current = false;
        }
        for (si, source) in self.sources.iter().enumerate() {
            for (path, ino, size) in source.candidates() {
                if let Some(t) = self
                    .files
                    .iter_mut()
                    .find(|t| t.source == si && t.ino == ino)
                {
                    t.current = true;
                    t.path = path;
                    if t.file.is_none() && size != t.offset {
                        // A dormant file changed: open it again.
                        match File::open(&t.path) {
                            Ok(f) => t.file = Some(f),
                            Err(e) => {
                                tracing::warn!(file = %t.path.display(), error = %e, "cannot open");
                            }
                        }
                    }
                    continue;
                }
                let file = match File::open(&path) {
                    Ok(f) => f,
                    Err(e) => {
                        tracing::warn!(file = %path.display(), error = %e, "cannot open; will try again");
                        continue;
                    }
                };
                // The path may name another file by now: identify what was opened.
                let Ok(meta) = file.metadata() else { continue };
                let ino = ino_of(&meta);
                if self.files.iter().any(|t| t.source == si && t.ino == ino) {
                    continue;
                }
                tracing::info!(file = %path.display(), "following new file");
                let t = self.track(si, path, file, ino, meta.len());
                self.files.push(t);
            }
        }
        let now = Instant::now();
        let idle_close = self.limits.idle_close;
        for t in &mut self.files {
            let Some(f) = &t.file else { continue };
            let Ok(meta) = f.metadata() else { continue };
            let size = meta.len();
            let fp_now = (t.offset > 0 && t.fp.is_some() && size >= t.offset)
                .then(|| fingerprint(f).ok())
                .flatten();
            if size != t.last_size {
                t.last_size = size;
                t.last_change = now;
            }
            if size < t.offset {
                t.restart("file shrank below the position (truncated)");
            } else if fp_now.is_some_and(|fp| fp != t.fp) {
                t.restart("file's first line changed (rewritten)");
            }
        }
        // Let go of files that are done: left their source (or are dormant and gone), or,
        // in a directory source, finished and idle (they are reopened when they grow).
        self.files.retain_mut(|t| {
            let at_end = t.offset >= t.last_size;
            let idle = now.duration_since(t.last_change) >= idle_close;
            if !t.current && (t.file.is_none() || (at_end && idle)) {
                tracing::info!(file = %t.path.display(), "finished with a file that left its source");
                return false;
            }
            true
        });
        for t in &mut self.files {
            let is_dir = matches!(self.sources[t.source].spec, Spec::Dir(_));
            let idle = now.duration_since(t.last_change) >= idle_close;
            if is_dir && t.current && t.file.is_some() && t.offset >= t.last_size && idle {
                t.file = None;
            }
        }
    }

    /// Reads the next batch of file `ix` (at most the batch limits), without moving its
    /// position: call [`Tailer::commit`] once the batch is safe.
    pub fn read(&mut self, ix: usize) -> io::Result<Read> {
        let limits = self.limits;
        let Tailer {
            sources,
            files,
            buf,
            ..
        } = self;
        let t = &mut files[ix];
        let Some(file) = &t.file else {
            return Ok(Read::Nothing);
        };
        let size = file.metadata()?.len();
        if size <= t.offset {
            return Ok(Read::Nothing);
        }
        let want = ((size - t.offset) as usize).min(limits.batch_bytes);
        buf.resize(want, 0);
        let got = read_at(file, buf, t.offset)?;
        buf.truncate(got);
        // A file that left its source and stopped growing will not finish its last line.
        let final_flush = !t.current
            && t.last_change.elapsed() >= limits.idle_close
            && got as u64 == size - t.offset;
        let cut = match cut_lines(buf, limits.batch_lines) {
            Some(cut) => cut,
            None if final_flush && got > 0 => got,
            None if got == limits.batch_bytes => {
                let Some(end) = end_of_long_line(file, t.offset + got as u64)? else {
                    return Ok(Read::Nothing);
                };
                tracing::warn!(
                    file = %t.path.display(),
                    offset = t.offset,
                    bytes = end - t.offset,
                    limit = limits.batch_bytes,
                    "skipped a line longer than --batch-bytes"
                );
                if t.fp.is_none() {
                    t.fp = fingerprint(file)?;
                }
                return Ok(Read::Advanced(end));
            }
            None => return Ok(Read::Nothing),
        };
        if t.fp.is_none() {
            t.fp = fingerprint(file)?;
        }
        let mut body = Vec::with_capacity(cut + 64);
        let mut lines = 0u32;
        for line in buf[..cut].split(|&b| b == b'\n') {
            if push_line(&mut body, line, t.zeek_path.as_deref()) {
                lines += 1;
            }
        }
        let end = t.offset + cut as u64;
        if lines == 0 {
            return Ok(Read::Advanced(end));
        }
        let header = Header {
            format: sources[t.source].format,
            source: sources[t.source].id,
            path: t.path.to_string_lossy().into_owned(),
            ino: t.ino,
            gen: t.gen,
            fp: t.fp.unwrap_or(0),
            start: t.offset,
            end,
            lines,
            part: None,
        };
        Ok(Read::Batch(header, body))
    }

    /// Moves file `ix`'s position to `end` (its batch is spooled, or its bytes need none).
    pub fn commit(&mut self, ix: usize, end: u64) {
        let t = &mut self.files[ix];
        debug_assert!(end >= t.offset);
        t.offset = end;
    }

    /// The followed file `ix`'s path, for logs.
    pub fn path(&self, ix: usize) -> &Path {
        &self.files[ix].path
    }
}

fn ino_of(m: &fs::Metadata) -> u64 {
    ino(m)
}

/// Finds the file with inode `ino`: at `path`, or renamed in the same directory.
fn find_by_inode(path: &Path, ino_wanted: u64) -> Option<(PathBuf, File)> {
    let open_if = |p: &Path| -> Option<(PathBuf, File)> {
        let f = File::open(p).ok()?;
        let m = f.metadata().ok()?;
        (m.is_file() && ino(&m) == ino_wanted).then(|| (p.to_path_buf(), f))
    };
    if let Some(found) = open_if(path) {
        return Some(found);
    }
    let dir = path.parent()?;
    fs::read_dir(dir).ok()?.flatten().find_map(|e| {
        let m = e.metadata().ok()?;
        (m.is_file() && ino(&m) == ino_wanted).then(|| open_if(&e.path()))?
    })
}

/// Where a batch of whole lines ends in `buf`: after the last newline, or after the
/// `max_lines`-th one. `None` when `buf` holds no newline.
fn cut_lines(buf: &[u8], max_lines: usize) -> Option<usize> {
    let mut last = None;
    for (n, nl) in memchr::memchr_iter(b'\n', buf).enumerate() {
        last = Some(nl + 1);
        if n + 1 >= max_lines {
            break;
        }
    }
    last
}

/// The end (past its newline) of a line that continues at `from`; `None` while unfinished.
fn end_of_long_line(file: &File, from: u64) -> io::Result<Option<u64>> {
    let mut pos = from;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = read_at(file, &mut chunk, pos)?;
        if n == 0 {
            return Ok(None);
        }
        if let Some(nl) = memchr::memchr(b'\n', &chunk[..n]) {
            return Ok(Some(pos + nl as u64 + 1));
        }
        pos += n as u64;
    }
}

/// Appends one line (without its newline) to a batch body, with `_path` added to a Zeek line
/// that lacks it. Blank lines, and Zeek's `#` header lines, are left out. Whether it was added.
fn push_line(body: &mut Vec<u8>, line: &[u8], zeek_path: Option<&str>) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(|b| b.is_ascii_whitespace()) {
        return false;
    }
    if let Some(name) = zeek_path {
        if line.first() == Some(&b'#') {
            return false;
        }
        #[derive(serde::Deserialize)]
        struct Probe {
            #[serde(rename = "_path")]
            path: Option<IgnoredAny>,
        }
        // A line that is not a JSON object is sent as it is: the server names its error.
        if let Ok(Probe { path: None }) = serde_json::from_slice::<Probe>(line) {
            if let Some(open) = line.iter().position(|&b| b == b'{') {
                let rest = &line[open + 1..];
                let empty = rest
                    .iter()
                    .find(|b| !b.is_ascii_whitespace())
                    .is_some_and(|&b| b == b'}');
                body.extend_from_slice(b"{\"_path\":\"");
                body.extend_from_slice(name.as_bytes());
                body.extend_from_slice(if empty { b"\"" } else { b"\"," });
                body.extend_from_slice(rest);
                body.push(b'\n');
                return true;
            }
        }
    }
    body.extend_from_slice(line);
    body.push(b'\n');
    true
}

/// Zeek's log name from a file name: `conn.log` and `conn.2024-05-01-10-00-00.log` → `conn`.
fn zeek_path(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.split('.')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

#[cfg(test)]
mod tests;
