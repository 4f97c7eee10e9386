//! Syslog over TCP, RFC 6587: each frame is either octet-counted (`<length> <message>`) or
//! ends at a newline (non-transparent framing; a NUL trailer is taken too, as some senders use
//! it). The framing is decided per frame, by its first byte: a digit starts a length. And
//! each message becomes one line of an ingest body, whatever newlines it held.

/// The longest message kept. Longer ones are skipped (octet-counted: exactly their length;
/// newline-framed: up to their end) and counted.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// Digits of the longest length accepted (`MAX_MESSAGE` has 5; a few more are skipped too).
const MAX_DIGITS: usize = 9;

/// What the buffered bytes hold next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Message(Vec<u8>),
    /// A message longer than [`MAX_MESSAGE`] was (or is being) skipped.
    Oversized,
    NeedMore,
}

/// Cuts a TCP byte stream into messages.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
    pos: usize,
    /// Bytes of an oversized octet-counted message still to skip.
    skip: usize,
    /// Inside an oversized newline-framed message: skip to its end.
    discarding: bool,
}

impl Framer {
    pub fn push(&mut self, data: &[u8]) {
        if self.pos > 0 && self.pos * 2 >= self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Bytes held (bounded by about [`MAX_MESSAGE`] plus one read).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn next_message(&mut self) -> Next {
        loop {
            let rest = &self.buf[self.pos..];
            if self.skip > 0 {
                let n = self.skip.min(rest.len());
                self.pos += n;
                self.skip -= n;
                if self.skip > 0 {
                    return Next::NeedMore;
                }
                continue;
            }
            if self.discarding {
                match rest.iter().position(|&b| b == b'\n' || b == 0) {
                    Some(i) => {
                        self.pos += i + 1;
                        self.discarding = false;
                        continue;
                    }
                    None => {
                        self.pos = self.buf.len();
                        return Next::NeedMore;
                    }
                }
            }
            if rest.is_empty() {
                return Next::NeedMore;
            }
            if rest[0] == b'\n' || rest[0] == b'\r' || rest[0] == 0 {
                // Stray trailers between frames.
                self.pos += 1;
                continue;
            }
            if rest[0].is_ascii_digit() {
                match octet_count(rest) {
                    Counted::Frame { digits, len } => {
                        let start = digits + 1;
                        if len > MAX_MESSAGE {
                            self.pos += start;
                            self.skip = len;
                            return Next::Oversized;
                        }
                        if rest.len() < start + len {
                            return Next::NeedMore;
                        }
                        let msg = rest[start..start + len].to_vec();
                        self.pos += start + len;
                        return Next::Message(msg);
                    }
                    Counted::NeedMore => return Next::NeedMore,
                    Counted::Newline => {}
                }
            }
            return match rest.iter().position(|&b| b == b'\n' || b == 0) {
                Some(i) if i > MAX_MESSAGE => {
                    self.pos += i + 1;
                    Next::Oversized
                }
                Some(i) => {
                    let msg = rest[..i].to_vec();
                    self.pos += i + 1;
                    Next::Message(msg)
                }
                None if rest.len() > MAX_MESSAGE => {
                    self.discarding = true;
                    self.pos = self.buf.len();
                    Next::Oversized
                }
                None => Next::NeedMore,
            };
        }
    }

    /// At the end of the stream: what is left, as a last newline-framed message (a sender
    /// may close without a final newline).
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        let rest = &self.buf[self.pos..];
        self.pos = self.buf.len();
        let cut_short = matches!(octet_count(rest), Counted::Frame { .. });
        (self.skip == 0 && !self.discarding && !cut_short && !rest.is_empty())
            .then(|| rest.to_vec())
    }
}

enum Counted {
    Frame {
        digits: usize,
        len: usize,
    },
    NeedMore,
    /// Digits not followed by a space: a newline-framed message that starts with a digit.
    Newline,
}

fn octet_count(rest: &[u8]) -> Counted {
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > MAX_DIGITS {
        return Counted::Newline;
    }
    match rest.get(digits) {
        None => Counted::NeedMore,
        Some(b' ') => {
            let len = std::str::from_utf8(&rest[..digits])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(usize::MAX);
            Counted::Frame { digits, len }
        }
        Some(_) => Counted::Newline,
    }
}

/// One message as one body line: trailing newlines, returns and NULs cut, inner ones turned
/// into spaces. `None` for an empty message.
pub fn to_line(msg: &[u8]) -> Option<Vec<u8>> {
    let end = msg.iter().rposition(|&b| !matches!(b, b'\n' | b'\r' | 0))? + 1;
    Some(
        msg[..end]
            .iter()
            .map(|&b| {
                if matches!(b, b'\n' | b'\r' | 0) {
                    b' '
                } else {
                    b
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(f: &mut Framer) -> Vec<Next> {
        let mut out = Vec::new();
        loop {
            match f.next_message() {
                Next::NeedMore => return out,
                n => out.push(n),
            }
        }
    }

    fn msg(s: &str) -> Next {
        Next::Message(s.as_bytes().to_vec())
    }

    #[test]
    fn octet_counting_and_newlines_mixed_frame_by_frame() {
        let mut f = Framer::default();
        let a = "<34>1 2024-05-01T10:00:00Z host app - - - with\nnewline";
        f.push(format!("{} {a}", a.len()).as_bytes());
        f.push(b"<13>May  1 10:00:00 host sshd[1]: plain\n");
        f.push(b"<13>May  1 10:00:01 host su: trailer NUL\0");
        f.push(b"2024-05-01 starts with digits, no length\r\n");
        assert_eq!(
            all(&mut f),
            vec![
                msg(a),
                msg("<13>May  1 10:00:00 host sshd[1]: plain"),
                msg("<13>May  1 10:00:01 host su: trailer NUL"),
                msg("2024-05-01 starts with digits, no length\r"),
            ]
        );
    }

    #[test]
    fn frames_split_across_reads() {
        let mut f = Framer::default();
        let stream = b"11 <13>hello A12 <13>hello BB<13>third\n";
        let mut got = Vec::new();
        for b in stream.chunks(1) {
            f.push(b);
            got.extend(all(&mut f));
        }
        assert_eq!(
            got,
            vec![msg("<13>hello A"), msg("<13>hello BB"), msg("<13>third")]
        );
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn oversized_messages_are_skipped_and_the_stream_goes_on() {
        let mut f = Framer::default();
        let big = MAX_MESSAGE + 10;
        f.push(format!("{big} ").as_bytes());
        f.push(&vec![b'x'; big]);
        f.push(b"5 <13>a");
        assert_eq!(all(&mut f), vec![Next::Oversized, msg("<13>a")]);

        let mut f = Framer::default();
        f.push(&vec![b'y'; MAX_MESSAGE + 1]);
        assert_eq!(all(&mut f), vec![Next::Oversized]);
        f.push(b"yyy\n<13>after\n");
        assert_eq!(all(&mut f), vec![msg("<13>after")]);
        assert!(f.buffered() < 64, "nothing of the skipped message kept");
    }

    #[test]
    fn the_last_message_may_lack_its_newline() {
        let mut f = Framer::default();
        f.push(b"<13>one\n<13>two");
        assert_eq!(all(&mut f), vec![msg("<13>one")]);
        assert_eq!(f.finish(), Some(b"<13>two".to_vec()));
        // An unfinished octet-counted frame is not a message.
        let mut f = Framer::default();
        f.push(b"5 <13>");
        assert_eq!(all(&mut f), vec![]);
        assert_eq!(f.finish(), None);
    }

    #[test]
    fn messages_become_single_lines() {
        assert_eq!(to_line(b"a\nb\r\n\0"), Some(b"a b".to_vec()));
        assert_eq!(to_line(b"\n\r"), None);
    }
}
