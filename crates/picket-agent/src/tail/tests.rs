use std::fs::OpenOptions;
use std::io::Write;

use super::*;

fn limits() -> Limits {
    Limits {
        batch_lines: 1000,
        batch_bytes: 1 << 20,
        idle_close: Duration::from_secs(3600),
    }
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Scans, then reads and commits every file until nothing is left; the batches' bodies, in
/// the order read, with their headers.
fn drain(t: &mut Tailer) -> Vec<(Header, String)> {
    t.scan();
    let mut out = Vec::new();
    loop {
        let mut any = false;
        for ix in 0..t.len() {
            match t.read(ix).unwrap() {
                Read::Batch(h, body) => {
                    t.commit(ix, h.end);
                    out.push((h, String::from_utf8(body).unwrap()));
                    any = true;
                }
                Read::Advanced(end) => {
                    t.commit(ix, end);
                    any = true;
                }
                Read::Nothing => {}
            }
        }
        if !any {
            return out;
        }
    }
}

fn bodies(batches: &[(Header, String)]) -> String {
    batches.iter().map(|(_, b)| b.as_str()).collect()
}

fn eve(path: &Path) -> Tailer {
    Tailer::new(vec![Source::file(Format::Eve, path)], limits())
}

#[test]
fn only_whole_lines_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eve.json");
    append(&path, "a\nb\npart");
    let mut t = eve(&path);
    let got = drain(&mut t);
    assert_eq!(bodies(&got), "a\nb\n");
    assert_eq!((got[0].0.start, got[0].0.end, got[0].0.lines), (0, 4, 2));
    append(&path, "ial\r\n\n  \nc\n");
    let got = drain(&mut t);
    assert_eq!(bodies(&got), "partial\nc\n", "CR and blank lines dropped");
    assert_eq!(got[0].0.start, 4);
    assert!(drain(&mut t).is_empty());
}

#[test]
fn batches_stop_at_the_line_and_byte_limits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eve.json");
    let text: String = (0..25).map(|i| format!("line {i:02}\n")).collect();
    append(&path, &text);
    let mut t = Tailer::new(
        vec![Source::file(Format::Eve, &path)],
        Limits {
            batch_lines: 10,
            batch_bytes: 1024,
            ..limits()
        },
    );
    let got = drain(&mut t);
    assert_eq!(
        got.iter().map(|(h, _)| h.lines).collect::<Vec<_>>(),
        [10, 10, 5]
    );
    assert_eq!(bodies(&got), text);
    // Ranges follow each other without gaps.
    assert_eq!(got[1].0.start, got[0].0.end);
    assert_eq!(got[2].0.end, text.len() as u64);

    let path = dir.path().join("bytes.json");
    append(&path, &text);
    let mut t = Tailer::new(
        vec![Source::file(Format::Eve, &path)],
        Limits {
            batch_lines: 1000,
            batch_bytes: 35,
            ..limits()
        },
    );
    let got = drain(&mut t);
    assert!(got.iter().all(|(h, _)| h.end - h.start <= 35));
    assert_eq!(bodies(&got), text);
}

#[test]
fn a_line_longer_than_a_batch_is_skipped_once_complete() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eve.json");
    append(&path, "short\n");
    append(&path, &"x".repeat(5000));
    let mut t = Tailer::new(
        vec![Source::file(Format::Eve, &path)],
        Limits {
            batch_bytes: 1024,
            ..limits()
        },
    );
    assert_eq!(bodies(&drain(&mut t)), "short\n");
    append(&path, "xxx\nafter\n");
    assert_eq!(bodies(&drain(&mut t)), "after\n");
}

#[test]
fn rotation_drains_the_old_file_then_reads_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eve.json");
    let rotated = dir.path().join("eve.json.1");
    append(&path, "old 1\n");
    let mut t = Tailer::new(
        vec![Source::file(Format::Eve, &path)],
        Limits {
            idle_close: Duration::ZERO,
            ..limits()
        },
    );
    assert_eq!(bodies(&drain(&mut t)), "old 1\n");
    // logrotate: rename, the writer finishes a line in the old file, a new file appears.
    fs::rename(&path, &rotated).unwrap();
    append(&rotated, "old 2\n");
    append(&path, "new 1\n");
    let got = drain(&mut t);
    assert_eq!(
        bodies(&got),
        "old 2\nnew 1\n",
        "the old file's rest comes first"
    );
    assert_ne!(got[0].0.ino, got[1].0.ino);
    assert_eq!(got[1].0.start, 0);
    // Idle at its end and gone from the source: let go.
    t.scan();
    assert_eq!(t.len(), 1);
    append(&path, "new 2\n");
    assert_eq!(bodies(&drain(&mut t)), "new 2\n");
}

#[test]
fn a_rotated_file_keeps_its_unfinished_last_line_until_it_idles() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syslog");
    append(&path, "one\ntwo without newline");
    let src = vec![Source::file(Format::Syslog, &path)];
    let mut t = Tailer::new(src.clone(), limits());
    assert_eq!(bodies(&drain(&mut t)), "one\n");
    fs::rename(&path, dir.path().join("syslog.1")).unwrap();
    assert!(
        drain(&mut t).is_empty(),
        "not idle yet: the line may still end"
    );
    let mut t2 = Tailer::new(
        src,
        Limits {
            idle_close: Duration::ZERO,
            ..limits()
        },
    );
    t2.restore(&t.positions());
    assert_eq!(bodies(&drain(&mut t2)), "two without newline\n");
}

#[test]
fn truncation_starts_over_under_a_new_generation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eve.json");
    append(&path, "first a\nfirst b\n");
    let mut t = eve(&path);
    let first = drain(&mut t);
    assert_eq!(first[0].0.gen, 0);
    // copytruncate, then fewer bytes than before.
    fs::File::create(&path).unwrap();
    append(&path, "second\n");
    let got = drain(&mut t);
    assert_eq!(bodies(&got), "second\n");
    assert_eq!((got[0].0.gen, got[0].0.start), (1, 0));
    assert_ne!(got[0].0.key(), first[0].0.key());
}

#[test]
fn a_file_rewritten_past_the_position_is_noticed_by_its_first_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eve.json");
    append(&path, "{\"n\":1}\n");
    let mut t = eve(&path);
    drain(&mut t);
    // Truncated and refilled beyond the old position between two looks.
    fs::File::create(&path).unwrap();
    append(&path, "{\"n\":2, \"longer\": true}\n{\"n\":3}\n");
    let got = drain(&mut t);
    assert_eq!(bodies(&got), "{\"n\":2, \"longer\": true}\n{\"n\":3}\n");
    assert_eq!(got[0].0.gen, 1);
}

#[test]
fn restore_resumes_at_the_position_even_after_a_rename() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eve.json");
    append(&path, "a\nb\n");
    let mut t = eve(&path);
    drain(&mut t);
    let saved = t.positions();
    drop(t);
    // While the agent was down: more lines, then a rotation and a new file.
    append(&path, "c\n");
    fs::rename(&path, dir.path().join("eve.json.1")).unwrap();
    append(&path, "d\n");
    let mut t = eve(&path);
    t.restore(&saved);
    assert_eq!(bodies(&drain(&mut t)), "c\nd\n");
}

#[test]
fn restore_notices_a_file_changed_while_down() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eve.json");
    append(&path, "original line\nmore\n");
    let mut t = eve(&path);
    drain(&mut t);
    let saved = t.positions();
    drop(t);
    // Same inode, other content, longer than the saved position.
    fs::write(&path, "replaced line, longer than before\n").unwrap();
    let mut t = eve(&path);
    t.restore(&saved);
    let got = drain(&mut t);
    assert_eq!(bodies(&got), "replaced line, longer than before\n");
    assert_eq!(got[0].0.gen, saved[0].gen + 1);
}

#[test]
fn zeek_lines_get_their_path_and_rotation_in_the_directory_reads_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let zeek = dir.path().join("zeek");
    fs::create_dir(&zeek).unwrap();
    append(
        &zeek.join("conn.log"),
        "{\"ts\":1.5,\"uid\":\"C1\"}\n#close\t2024\n{\"_path\":\"conn\",\"uid\":\"C2\"}\n{}\n",
    );
    append(
        &zeek.join("dns.log"),
        "{\"ts\":2.0,\"query\":\"example.org\"}\n",
    );
    append(&zeek.join("notes.txt"), "not a log\n");
    let mut t = Tailer::new(vec![Source::zeek_dir(&zeek)], limits());
    let got = drain(&mut t);
    assert_eq!(
        bodies(&got),
        "{\"_path\":\"conn\",\"ts\":1.5,\"uid\":\"C1\"}\n\
         {\"_path\":\"conn\",\"uid\":\"C2\"}\n\
         {\"_path\":\"conn\"}\n\
         {\"_path\":\"dns\",\"ts\":2.0,\"query\":\"example.org\"}\n"
    );
    assert!(got.iter().all(|(h, _)| h.format == Format::Zeek));
    // Zeek rotates in place: the renamed file is the same inode, its new lines only are read.
    append(&zeek.join("conn.log"), "{\"uid\":\"C3\"}\n");
    fs::rename(
        zeek.join("conn.log"),
        zeek.join("conn.2024-05-01-10-00-00.log"),
    )
    .unwrap();
    append(&zeek.join("conn.log"), "{\"uid\":\"C4\"}\n");
    let got = drain(&mut t);
    assert_eq!(
        bodies(&got),
        "{\"_path\":\"conn\",\"uid\":\"C3\"}\n{\"_path\":\"conn\",\"uid\":\"C4\"}\n"
    );
}

#[test]
fn idle_files_of_a_directory_are_closed_and_reopened_when_they_grow() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("http.log");
    append(&log, "{\"uid\":\"H1\"}\n");
    let mut t = Tailer::new(
        vec![Source::zeek_dir(dir.path())],
        Limits {
            idle_close: Duration::ZERO,
            ..limits()
        },
    );
    assert_eq!(drain(&mut t).len(), 1);
    t.scan();
    assert!(t.files[0].file.is_none(), "closed while idle");
    assert_eq!(t.len(), 1, "but its position is kept");
    append(&log, "{\"uid\":\"H2\"}\n");
    assert_eq!(
        bodies(&drain(&mut t)),
        "{\"_path\":\"http\",\"uid\":\"H2\"}\n"
    );
}

#[test]
fn fingerprints_need_a_whole_first_line_or_256_bytes() {
    assert_eq!(fingerprint_of(b"abc"), None);
    assert_eq!(fingerprint_of(b"abc\ndef"), Some(fnv64(b"abc\n")));
    let long = vec![b'x'; 300];
    assert_eq!(fingerprint_of(&long), Some(fnv64(&long[..256])));
}

#[test]
fn zeek_path_from_file_names() {
    assert_eq!(zeek_path(Path::new("/z/conn.log")), "conn");
    assert_eq!(
        zeek_path(Path::new("/z/dns.2024-05-01-10-00-00.log")),
        "dns"
    );
}
