//! String matching for search filters (§1.7): case-insensitive LIKE where `%` and `_` are
//! wildcards and `\` makes the next character literal; a value without wildcards means
//! equality. Several values of one filter are ORed; the caller ANDs the filters.

use picket_core::db::schema::TextIndex;
use picket_core::db::text::Rarity;
use picket_core::db::{Backend, Db, DbResult};
use sea_query::{Condition, Expr, Func, LikeExpr, SimpleExpr};

use crate::addr::MacAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// No wildcard: the value itself, escapes removed.
    Exact(String),
    /// A LIKE pattern written with `\` as its escape character.
    Like(String),
}

impl Pattern {
    pub fn parse(value: &str) -> Pattern {
        let mut literal = String::new();
        let mut like = String::new();
        let mut wild = false;
        let mut chars = value.chars();
        while let Some(c) = chars.next() {
            match c {
                '%' | '_' => {
                    wild = true;
                    like.push(c);
                }
                // A trailing `\` has nothing to escape and is itself literal.
                '\\' => push_literal(chars.next().unwrap_or('\\'), &mut literal, &mut like),
                c => push_literal(c, &mut literal, &mut like),
            }
        }
        if wild {
            Pattern::Like(like)
        } else {
            Pattern::Exact(literal)
        }
    }

    /// The same pattern with `f` applied to every literal character (MAC normalisation).
    fn map_literals(&self, f: impl Fn(char) -> Option<char>) -> Pattern {
        match self {
            Pattern::Exact(s) => Pattern::Exact(s.chars().filter_map(f).collect()),
            Pattern::Like(p) => {
                let mut out = String::new();
                let mut chars = p.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '%' | '_' => out.push(c),
                        '\\' => {
                            if let Some(l) = chars.next().and_then(&f) {
                                push_escaped(l, &mut out);
                            }
                        }
                        c => {
                            if let Some(l) = f(c) {
                                push_escaped(l, &mut out);
                            }
                        }
                    }
                }
                Pattern::Like(out)
            }
        }
    }
}

fn push_literal(c: char, literal: &mut String, like: &mut String) {
    literal.push(c);
    push_escaped(c, like);
}

fn push_escaped(c: char, like: &mut String) {
    if matches!(c, '%' | '_' | '\\') {
        like.push('\\');
    }
    like.push(c);
}

/// `LOWER(col) = LOWER(v)`, or `LOWER(col) LIKE p ESCAPE '\'` where `p` is lower-cased here
/// as the backend's `LOWER` would (a LIKE pattern must be a literal to carry its ESCAPE clause,
/// and SQLite's `LOWER` folds only ASCII). Lower-casing the column in SQL makes PostgreSQL's
/// case-sensitive LIKE and SQLite's case-insensitive one agree.
fn text_cond(col: SimpleExpr, pattern: Pattern, backend: Backend) -> SimpleExpr {
    match pattern {
        Pattern::Exact(v) => Expr::expr(Func::lower(col)).eq(Func::lower(Expr::val(v))),
        pattern => {
            let p = like_pattern(pattern, backend).unwrap_or_default();
            Expr::expr(Func::lower(col)).like(LikeExpr::new(p).escape('\\'))
        }
    }
}

/// The LIKE pattern [`text_cond`] compares with, `None` for an exact value (compared with
/// `=`, not LIKE).
fn like_pattern(pattern: Pattern, backend: Backend) -> Option<String> {
    match pattern {
        Pattern::Exact(_) => None,
        Pattern::Like(p) => Some(match backend {
            Backend::Sqlite => p.to_ascii_lowercase(),
            Backend::Postgres => p.to_lowercase(),
        }),
    }
}

/// How a "contains" filter reaches its rows: through the text index ([`text_prefilter`]) or
/// by LIKE alone, which reads every row the other filters leave. Requests always take the
/// index; the LIKE-only path is the reference the property tests compare it with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TextPath {
    #[default]
    Indexed,
    LikeOnly,
}

/// A condition that narrows the rows of `table` to those the text `index` says may match one
/// of `values` ([`TextIndex::prefilter`]), asking it for the rarest trigrams when `rarity`
/// knows them; AND it with the [`any_text`] conditions over the index's columns, which decide.
/// `None` (read the rows as before) when a value is exact or has no literal run of three
/// characters.
pub fn text_prefilter(
    index: &TextIndex,
    table: &str,
    id: impl Into<SimpleExpr>,
    values: &[String],
    backend: Backend,
    path: TextPath,
    rarity: &Rarity,
) -> Option<Condition> {
    if path == TextPath::LikeOnly {
        return None;
    }
    index.prefilter(
        backend,
        table,
        id.into(),
        &like_patterns(values, backend)?,
        rarity,
    )
}

/// The LIKE patterns of `values` as the text index takes them; `None` when one is exact.
fn like_patterns(values: &[String], backend: Backend) -> Option<Vec<String>> {
    values
        .iter()
        .map(|v| like_pattern(Pattern::parse(v), backend))
        .collect()
}

/// How many rows hold each trigram of `values` in the text `index` ([`TextIndex::rarity`]),
/// for [`text_prefilter`]; empty for `TextPath::LikeOnly` and where the index is not asked.
pub async fn text_rarity(
    db: &Db,
    index: &TextIndex,
    values: &[String],
    path: TextPath,
) -> DbResult<Rarity> {
    match like_patterns(values, db.backend()) {
        Some(patterns) if path == TextPath::Indexed && !patterns.is_empty() => {
            index.rarity(db, &patterns).await
        }
        _ => Ok(Rarity::default()),
    }
}

/// Any of `values` matches `col` case-insensitively; `None` when there are no values.
pub fn any_text(
    col: impl Into<SimpleExpr> + Clone,
    values: &[String],
    backend: Backend,
) -> Option<Condition> {
    any(values, |v| {
        text_cond(col.clone().into(), Pattern::parse(v), backend)
    })
}

/// Like [`any_text`] for columns stored in a canonical form (IP addresses, CIDR blocks): an
/// exact value that `canon` recognises compares equal to its canonical text, which reads the
/// column's index and also matches other spellings (`2001:DB8::0001` finds `2001:db8::1`).
pub fn any_canonical(
    col: impl Into<SimpleExpr> + Clone,
    values: &[String],
    backend: Backend,
    canon: impl Fn(&str) -> Option<String>,
) -> Option<Condition> {
    any(values, |v| match Pattern::parse(v) {
        Pattern::Exact(s) if canon(&s).is_some() => {
            Expr::expr(col.clone().into()).eq(canon(&s).unwrap_or_default())
        }
        pattern => text_cond(col.clone().into(), pattern, backend),
    })
}

/// Any of `values` matches a stored MAC (upper-case colon form). Values are normalised first:
/// a whole MAC in any notation compares equal to its canonical form; partial values and
/// patterns compare against the address without separators, so `aa-bb%`, `AABB%` and
/// `aa:bb:%` all match `AA:BB:…`.
pub fn any_mac(
    col: impl Into<SimpleExpr> + Clone,
    values: &[String],
    backend: Backend,
) -> Option<Condition> {
    any(values, |v| {
        let pattern = Pattern::parse(v);
        if let Pattern::Exact(s) = &pattern {
            if let Ok(mac) = MacAddr::parse(s) {
                return Expr::expr(col.clone().into()).eq(mac.as_str());
            }
        }
        let bare = pattern.map_literals(|c| match c {
            ':' | '-' => None,
            c => Some(c.to_ascii_uppercase()),
        });
        let stripped: SimpleExpr = Func::cust(sea_query::Alias::new("REPLACE"))
            .arg(col.clone().into())
            .arg(":")
            .arg("")
            .into();
        text_cond(stripped, bare, backend)
    })
}

/// Any of `values` equals `col` exactly.
pub fn any_int(col: impl Into<SimpleExpr>, values: &[i64]) -> Option<Condition> {
    if values.is_empty() {
        return None;
    }
    Some(Condition::all().add(Expr::expr(col.into()).is_in(values.iter().copied())))
}

fn any(values: &[String], f: impl Fn(&str) -> SimpleExpr) -> Option<Condition> {
    if values.is_empty() {
        return None;
    }
    Some(values.iter().fold(Condition::any(), |c, v| c.add(f(v))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_escapes_and_equality() {
        assert_eq!(
            Pattern::parse("Office LAN"),
            Pattern::Exact("Office LAN".into())
        );
        assert_eq!(Pattern::parse("Office%"), Pattern::Like("Office%".into()));
        assert_eq!(Pattern::parse("50\\%"), Pattern::Exact("50%".into()));
        assert_eq!(Pattern::parse("50\\%%"), Pattern::Like("50\\%%".into()));
        assert_eq!(Pattern::parse("a_b"), Pattern::Like("a_b".into()));
        assert_eq!(Pattern::parse("c:\\\\x"), Pattern::Exact("c:\\x".into()));
        assert_eq!(Pattern::parse("end\\"), Pattern::Exact("end\\".into()));
    }

    #[test]
    fn mac_patterns_lose_separators_and_case() {
        let bare = |v: &str| {
            Pattern::parse(v).map_literals(|c| match c {
                ':' | '-' => None,
                c => Some(c.to_ascii_uppercase()),
            })
        };
        assert_eq!(bare("aa-bb%"), Pattern::Like("AABB%".into()));
        assert_eq!(bare("aa:b_:%"), Pattern::Like("AAB_%".into()));
        assert_eq!(bare("aa:bb"), Pattern::Exact("AABB".into()));
    }
}
