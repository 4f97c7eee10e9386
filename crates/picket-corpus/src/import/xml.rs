//! One walker for the XML feeds (CAP alerts, GDACS RSS items): it streams the document and
//! hands each record element (`<alert>`, `<item>`) to the importer as a flat map of its
//! descendants' text, keyed by their path below the record (`info/area/polygon`), and of their
//! attributes, keyed by the element's path, `@` and the attribute's name
//! (`gdacs:severity@value`).
//!
//! When an element repeats, the first one's text is kept (CAP's first `<info>` block). CDATA
//! sections count as text. Records read before a malformed or cut-off spot are kept; the record
//! in which reading stopped is refused with the reason; a document that breaks before its first
//! record fails as a whole.

use std::collections::{HashMap, HashSet};

use quick_xml::events::Event;
use quick_xml::Reader;

/// How element names are spelled in the paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// Without namespace prefix (`cap:alert` is `alert`).
    Local,
    /// As written, prefix included (`gdacs:eventtype`).
    Qualified,
}

/// The text of one record's descendants, by path below the record element.
#[derive(Debug, Default)]
pub struct Fields(HashMap<String, String>);

impl Fields {
    /// The trimmed text at `path`; `None` when the element is missing or blank.
    pub fn get(&self, path: &str) -> Option<&str> {
        self.0.get(path).map(|s| s.trim()).filter(|s| !s.is_empty())
    }

    fn keep_first(&mut self, path: &[String], value: String) {
        self.0.entry(path.join("/")).or_insert(value);
    }

    /// Keeps the attributes of the element at `path` (the first such element's).
    fn keep_attributes(
        &mut self,
        path: &[String],
        e: &quick_xml::events::BytesStart<'_>,
        names: Names,
    ) {
        let at = path.join("/");
        for a in e.attributes().flatten() {
            let key = match names {
                Names::Local => a.key.local_name().into_inner(),
                Names::Qualified => a.key.into_inner(),
            };
            let Ok(value) = a.unescape_value() else {
                continue;
            };
            self.0
                .entry(format!("{at}@{}", String::from_utf8_lossy(key)))
                .or_insert_with(|| value.into_owned());
        }
    }
}

/// What a walk found: each record's outcome by 0-based index, and the names of the elements
/// met outside records (to recognise the document type).
#[derive(Debug)]
pub struct Walk<T> {
    pub records: Vec<(usize, Result<T, String>)>,
    outside: HashSet<String>,
}

impl<T> Walk<T> {
    /// Whether an element of this name was opened outside any record.
    pub fn saw(&self, name: &str) -> bool {
        self.outside.contains(name)
    }
}

/// Streams `bytes` and passes every `<record>` element's [`Fields`] to `convert`.
pub fn walk<T>(
    bytes: &[u8],
    record: &str,
    names: Names,
    mut convert: impl FnMut(&Fields) -> Result<T, String>,
) -> Result<Walk<T>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))?;
    let mut reader = Reader::from_str(text.trim_start_matches('\u{feff}'));
    reader.config_mut().trim_text(true);
    let mut walk = Walk {
        records: Vec::new(),
        outside: HashSet::new(),
    };
    // Element names from the record down to the current element; `None` outside records.
    let mut path: Option<Vec<String>> = None;
    let mut fields = Fields::default();
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                let reason = format!("malformed XML at byte {}: {e}", reader.error_position());
                if path.is_some() {
                    walk.records.push((walk.records.len(), Err(reason)));
                } else if walk.records.is_empty() {
                    return Err(reason);
                }
                break;
            }
        };
        match event {
            Event::Start(e) => {
                let name = match names {
                    Names::Local => e.local_name().into_inner(),
                    Names::Qualified => e.name().into_inner(),
                };
                let name = String::from_utf8_lossy(name).into_owned();
                match &mut path {
                    Some(p) => {
                        p.push(name);
                        fields.keep_attributes(p, &e, names);
                    }
                    None if name == record => {
                        path = Some(Vec::new());
                        fields = Fields::default();
                    }
                    None => {
                        walk.outside.insert(name);
                    }
                }
            }
            Event::Empty(e) => {
                if let Some(p) = &path {
                    let name = match names {
                        Names::Local => e.local_name().into_inner(),
                        Names::Qualified => e.name().into_inner(),
                    };
                    let mut at = p.clone();
                    at.push(String::from_utf8_lossy(name).into_owned());
                    fields.keep_attributes(&at, &e, names);
                }
            }
            Event::End(_) => match &mut path {
                Some(p) if p.is_empty() => {
                    walk.records.push((walk.records.len(), convert(&fields)));
                    path = None;
                }
                Some(p) => {
                    p.pop();
                }
                None => {}
            },
            Event::Text(t) => {
                if let Some(p) = &path {
                    let value = t.unescape().map(|v| v.into_owned()).unwrap_or_default();
                    fields.keep_first(p, value);
                }
            }
            Event::CData(c) => {
                if let Some(p) = &path {
                    fields.keep_first(p, String::from_utf8_lossy(&c).into_owned());
                }
            }
            Event::Eof => {
                if path.is_some() {
                    let reason = format!("the file ends inside this {record}");
                    walk.records.push((walk.records.len(), Err(reason)));
                }
                break;
            }
            _ => {}
        }
    }
    Ok(walk)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(bytes: &[u8], record: &str, names: Names) -> Walk<Vec<(String, String)>> {
        walk(bytes, record, names, |f| {
            let mut all: Vec<(String, String)> =
                f.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            all.sort();
            Ok(all)
        })
        .unwrap()
    }

    #[test]
    fn records_become_flat_paths_first_value_wins() {
        let doc = "\u{feff}<feed><x:rec><a>1</a><b><c> two </c></b><b><c>3</c></b>\
                   <d><![CDATA[<p>4</p>]]></d><e/></x:rec><other/><x:rec><a>5 &amp; 6</a></x:rec></feed>";
        let walk = paths(doc.as_bytes(), "rec", Names::Local);
        let got: Vec<_> = walk.records.iter().map(|(i, r)| (*i, r.clone())).collect();
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(
            got,
            vec![
                (
                    0,
                    Ok(vec![
                        pair("a", "1"),
                        pair("b/c", "two"),
                        pair("d", "<p>4</p>")
                    ])
                ),
                (1, Ok(vec![pair("a", "5 & 6")])),
            ]
        );
        assert!(walk.saw("feed") && !walk.saw("rec"));

        let qualified = paths(doc.as_bytes(), "rec", Names::Qualified);
        assert!(qualified.records.is_empty(), "`x:rec` is not `rec`");
        assert!(qualified.saw("x:rec"));
    }

    #[test]
    fn attributes_are_kept_by_path() {
        let doc =
            br#"<r><s unit="km/h" value="129.6">Storm</s><p unit="" value="0"/><s value="2"/></r>"#;
        let walk = walk(doc, "r", Names::Local, |f| {
            Ok((
                f.get("s@unit").map(str::to_string),
                f.get("s@value").map(str::to_string),
                f.get("p@value").map(str::to_string),
                f.get("p@unit").is_none(),
                f.get("s").map(str::to_string),
            ))
        })
        .unwrap();
        assert_eq!(
            walk.records,
            vec![(
                0,
                Ok((
                    Some("km/h".into()),
                    Some("129.6".into()),
                    Some("0".into()),
                    true,
                    Some("Storm".into())
                ))
            )]
        );
    }

    #[test]
    fn blank_text_reads_as_missing() {
        let walk = walk(b"<r><a>  </a><b>x</b></r>", "r", Names::Local, |f| {
            Ok((f.get("a").is_none(), f.get("b").map(str::to_string)))
        })
        .unwrap();
        assert_eq!(walk.records, vec![(0, Ok((true, Some("x".into()))))]);
    }

    #[test]
    fn breaks_refuse_the_record_they_fall_in() {
        let keep = |_: &Fields| Ok(());
        let cut = walk(b"<f><r><a>1</a></r><r><a>2</a>", "r", Names::Local, keep).unwrap();
        assert_eq!(cut.records[0], (0, Ok(())));
        assert_eq!(
            cut.records[1],
            (1, Err("the file ends inside this r".into()))
        );

        let bad = walk(b"<f><r></r><r><a>1</b></r></f>", "r", Names::Local, keep).unwrap();
        assert_eq!(bad.records.len(), 2);
        assert!(bad.records[1]
            .1
            .as_ref()
            .unwrap_err()
            .starts_with("malformed XML"));

        assert!(walk(b"<f><a></b>", "r", Names::Local, keep)
            .unwrap_err()
            .starts_with("malformed XML"));
        assert!(walk(b"\xff", "r", Names::Local, keep)
            .unwrap_err()
            .contains("UTF-8"));
    }
}
