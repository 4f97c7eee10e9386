//! Substring ("contains") indexes over text, declared with their table (`text_indexes` in
//! [`table!`](crate::table)) and rendered per backend:
//!
//! - SQLite: a contentless FTS5 table with the `trigram` tokenizer (`contentless_delete=1`),
//!   named after the index. Its rowid is the row's `id` when that is an integer
//!   ([`TextKey::Integer`]). A table keyed by text ([`TextKey::Text`]) has no stable integer
//!   to use (its implicit rowid may be renumbered by `VACUUM`), so a key table
//!   `{index}_keys (seq INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE)` gives each row a
//!   number, and the FTS rowid is that `seq`. Triggers on the table keep both in step with
//!   every insert, update and delete, whichever path writes (generator, sensor ingest,
//!   importers, retention, data delete); an update rewrites the FTS row only when the indexed
//!   text (or the key) really changed, so the importers' merges that touch counts and sources
//!   cost nothing here. The migration that creates an index fills it from the rows already
//!   there, and replaces triggers whose definition changed.
//! - PostgreSQL: one GIN index `LOWER(expr) gin_trgm_ops` per column, named
//!   `{index}_{column}`, when the `pg_trgm` extension is installed or the migration can
//!   install it. A database without it gets no such index; searches then read the rows as
//!   before: the same answers, slower.
//!
//! Which trigrams a search asks the SQLite index for matters: one that occurs in most rows
//! costs a walk of its whole posting list, a rare one almost nothing. [`TextIndex::rarity`]
//! reads how many rows hold each trigram of a search from the index's vocabulary
//! (`{index}_vocab`, an `fts5vocab` table), remembered a few minutes per database
//! ([`TermCache`]), and the prefilter then asks for the rarest few only. The counts only
//! choose among trigrams every match must contain, so a stale count can make a search slower,
//! never wrong.
//!
//! The index never decides a match. [`TextIndex::prefilter`] narrows the rows to those that
//! may match, and the caller's LIKE condition, unchanged, decides among them. The narrowing
//! keeps every row the LIKE accepts: each literal run of a pattern, and so each trigram of it,
//! must occur in such a row, and FTS5 folds case per character at least as far as SQLite's
//! `LOWER` and LIKE do (ASCII), so a run that occurs after the LIKE's folding also occurs
//! after FTS5's. On PostgreSQL the
//! prefilter is the LIKE itself on the indexed expressions, which pg_trgm rechecks exactly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_query::{Alias, Condition, Expr, Func, LikeExpr, Query, SimpleExpr, Values};

use super::{Backend, Db, DbResult};

/// A text column of a [`TextIndex`]: a name and the SQL expression indexed under it, written
/// with `{t}` before every column of the row (`{t}line`, `{t}dst_ip || ':' || …`).
#[derive(Debug, Clone, Copy)]
pub struct TextColumn {
    pub name: &'static str,
    pub expr: &'static str,
}

impl TextColumn {
    /// The expression with its columns prefixed by `prefix` (`new.`, `table.` or nothing).
    pub fn expr(&self, prefix: &str) -> String {
        self.expr.replace("{t}", prefix)
    }

    /// The row's columns the expression reads.
    fn sources(&self) -> Vec<&'static str> {
        self.expr
            .split("{t}")
            .skip(1)
            .map(|rest| {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                &rest[..end]
            })
            .collect()
    }
}

/// What identifies a row of an indexed table: its `id` column, of either type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextKey {
    /// `id` is an integer (`Serial`): it is the FTS rowid.
    #[default]
    Integer,
    /// `id` is text: SQLite numbers the keys in `{index}_keys` and the FTS rowid is that
    /// number.
    Text,
}

/// A substring index over some text columns of one table whose key is `id`.
#[derive(Debug, Clone, Copy)]
pub struct TextIndex {
    pub name: &'static str,
    pub key: TextKey,
    pub columns: &'static [TextColumn],
}

/// Literal runs shorter than this cannot be looked up in a trigram index.
pub const MIN_RUN: usize = 3;

impl TextIndex {
    fn column_list(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
        names.join(", ")
    }

    fn exprs(&self, prefix: &str) -> String {
        let exprs: Vec<String> = self.columns.iter().map(|c| c.expr(prefix)).collect();
        exprs.join(", ")
    }

    /// The row's columns the indexed text is made of, sorted.
    fn sources(&self) -> Vec<&'static str> {
        let mut sources: Vec<&str> = self.columns.iter().flat_map(|c| c.sources()).collect();
        sources.sort_unstable();
        sources.dedup();
        sources
    }

    /// The PostgreSQL index names, one per column.
    pub fn pg_index_names(&self) -> Vec<String> {
        self.columns
            .iter()
            .map(|c| format!("{}_{}", self.name, c.name))
            .collect()
    }

    /// SQLite's key table, for an index keyed by text.
    pub fn sqlite_key_table(&self) -> Option<String> {
        (self.key == TextKey::Text).then(|| format!("{}_keys", self.name))
    }

    /// The SQLite tables: the FTS table, then the key table if there is one.
    pub fn sqlite_table_names(&self) -> Vec<String> {
        let mut v = vec![self.name.to_string()];
        v.extend(self.sqlite_key_table());
        v
    }

    /// The SQLite triggers' names.
    pub fn sqlite_trigger_names(&self) -> [String; 3] {
        ["ai", "ad", "au"].map(|s| format!("{}_{s}", self.name))
    }

    /// The SQLite vocabulary table: rows per trigram, which [`TextIndex::rarity`] reads.
    pub fn sqlite_vocab_name(&self) -> String {
        format!("{}_vocab", self.name)
    }

    /// SQLite: the vocabulary table over the index, idempotently (read-only: it keeps no
    /// data of its own, so it needs no filling and never goes stale).
    pub fn sqlite_vocab_ddl(&self) -> String {
        format!(
            "CREATE VIRTUAL TABLE IF NOT EXISTS {} USING fts5vocab({}, 'row')",
            self.sqlite_vocab_name(),
            self.name
        )
    }

    /// SQLite: the tables, idempotently.
    pub fn sqlite_tables_ddl(&self) -> Vec<String> {
        let mut v = vec![format!(
            "CREATE VIRTUAL TABLE IF NOT EXISTS {} USING fts5({}, \
             content='', contentless_delete=1, detail=none, tokenize='trigram')",
            self.name,
            self.column_list()
        )];
        if let Some(keys) = self.sqlite_key_table() {
            v.push(format!(
                "CREATE TABLE IF NOT EXISTS {keys} \
                 (seq INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE)"
            ));
        }
        v
    }

    /// SQLite: the triggers on `table`, by name, each created if it does not exist. The update
    /// trigger fires only when the key or a column the text is made of really changed.
    pub fn sqlite_triggers(&self, table: &str) -> Vec<(String, String)> {
        let (name, cols) = (self.name, self.column_list());
        let insert = |rowid: &str| {
            format!(
                "INSERT INTO {name} (rowid, {cols}) VALUES ({rowid}, {})",
                self.exprs("new.")
            )
        };
        let (on_insert, on_delete, on_update) = match self.sqlite_key_table() {
            None => {
                let delete = format!("DELETE FROM {name} WHERE rowid = old.id");
                (
                    insert("new.id"),
                    delete.clone(),
                    format!("{delete}; {}", insert("new.id")),
                )
            }
            Some(keys) => {
                let seq = |row: &str| format!("(SELECT seq FROM {keys} WHERE key = {row}.id)");
                let delete = format!("DELETE FROM {name} WHERE rowid = {}", seq("old"));
                (
                    // Within a trigger, last_insert_rowid() is the row the trigger inserted.
                    format!(
                        "INSERT INTO {keys} (key) VALUES (new.id); {}",
                        insert("last_insert_rowid()")
                    ),
                    format!("{delete}; DELETE FROM {keys} WHERE key = old.id"),
                    format!(
                        "{delete}; UPDATE {keys} SET key = new.id \
                         WHERE key = old.id AND new.id IS NOT old.id; {}",
                        insert(&seq("new"))
                    ),
                )
            }
        };
        let mut watched = vec!["id"];
        watched.extend(self.sources().into_iter().filter(|c| *c != "id"));
        let changed: Vec<String> = watched
            .iter()
            .map(|c| format!("old.{c} IS NOT new.{c}"))
            .collect();
        let [ai, ad, au] = self.sqlite_trigger_names();
        vec![
            (
                ai.clone(),
                format!(
                    "CREATE TRIGGER IF NOT EXISTS {ai} AFTER INSERT ON {table} \
                     BEGIN {on_insert}; END"
                ),
            ),
            (
                ad.clone(),
                format!(
                    "CREATE TRIGGER IF NOT EXISTS {ad} AFTER DELETE ON {table} \
                     BEGIN {on_delete}; END"
                ),
            ),
            (
                au.clone(),
                format!(
                    "CREATE TRIGGER IF NOT EXISTS {au} AFTER UPDATE OF {} ON {table} \
                     WHEN {} BEGIN {on_update}; END",
                    watched.join(", "),
                    changed.join(" OR ")
                ),
            ),
        ]
    }

    /// DDL that creates the index on `table`, idempotently. `trgm_schema` is the schema that
    /// holds pg_trgm (PostgreSQL only).
    pub fn ddl(&self, table: &str, backend: Backend, trgm_schema: &str) -> Vec<String> {
        match backend {
            Backend::Sqlite => {
                let mut v = self.sqlite_tables_ddl();
                v.extend(self.sqlite_triggers(table).into_iter().map(|(_, ddl)| ddl));
                v.push(self.sqlite_vocab_ddl());
                v
            }
            Backend::Postgres => self
                .columns
                .iter()
                .zip(self.pg_index_names())
                .map(|(c, index)| {
                    format!(
                        "CREATE INDEX IF NOT EXISTS {index} ON {table} \
                         USING gin (LOWER({}) {trgm_schema}.gin_trgm_ops)",
                        c.expr("")
                    )
                })
                .collect(),
        }
    }

    /// SQLite: fills new (empty) tables of the index from the rows already in `table`.
    pub fn sqlite_backfill(&self, table: &str) -> Vec<String> {
        let (name, cols) = (self.name, self.column_list());
        match self.sqlite_key_table() {
            None => vec![format!(
                "INSERT INTO {name} (rowid, {cols}) SELECT id, {} FROM {table}",
                self.exprs("")
            )],
            Some(keys) => vec![
                format!("INSERT INTO {keys} (key) SELECT id FROM {table}"),
                format!(
                    "INSERT INTO {name} (rowid, {cols}) SELECT k.seq, {} \
                     FROM {table} JOIN {keys} k ON k.key = {table}.id",
                    self.exprs(&format!("{table}."))
                ),
            ],
        }
    }

    /// How many rows hold each trigram of `patterns` (as [`TextIndex::prefilter`] takes them),
    /// from the database's [`TermCache`] or the index's vocabulary. Empty on PostgreSQL (whose
    /// planner weighs trigrams itself) and for patterns with more than [`MAX_LOOKUPS`]
    /// trigrams between them (the prefilter then takes every third).
    pub async fn rarity(&self, db: &Db, patterns: &[String]) -> DbResult<Rarity> {
        if db.backend() != Backend::Sqlite {
            return Ok(Rarity::default());
        }
        let mut wanted: Vec<String> = patterns
            .iter()
            .flat_map(|p| like_literals(p))
            .flat_map(|run| all_trigrams(&run))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.is_empty() || wanted.len() > MAX_LOOKUPS {
            return Ok(Rarity::default());
        }
        let cache = db.term_cache();
        let (mut known, missing) = cache.get(self.name, &wanted);
        if !missing.is_empty() {
            let sql = format!(
                "SELECT doc AS n FROM {} WHERE term = ?",
                self.sqlite_vocab_name()
            );
            let mut found = Vec::with_capacity(missing.len());
            for t in missing {
                #[derive(sqlx::FromRow)]
                struct Doc {
                    n: i64,
                }
                // The vocabulary holds terms folded to lower case, as the tokenizer does.
                let doc: Option<Doc> = db
                    .fetch_optional_sql(&sql, Values(vec![t.to_lowercase().into()]))
                    .await?;
                found.push((t, doc.map_or(0, |d| d.n)));
            }
            cache.put(self.name, &found);
            known.extend(found);
        }
        Ok(Rarity(Arc::new(known.into_iter().collect())))
    }

    /// A condition that holds for every row of `table` (key `id`) whose indexed text may match
    /// one of `patterns`: LIKE patterns with `\` as escape, lower-cased as the caller's LIKE
    /// has them. `None` when the index cannot narrow the rows: no patterns, or a pattern
    /// without a literal run of [`MIN_RUN`] characters (that LIKE reads the rows as before).
    /// With the trigrams' [`Rarity`], the index is asked for each pattern's rarest trigrams;
    /// without it, for every third trigram of each run.
    pub fn prefilter(
        &self,
        backend: Backend,
        table: &str,
        id: SimpleExpr,
        patterns: &[String],
        rarity: &Rarity,
    ) -> Option<Condition> {
        if patterns.is_empty() {
            return None;
        }
        let mut alternatives = Vec::new();
        for p in patterns {
            let runs: Vec<String> = like_literals(p)
                .into_iter()
                .filter(|r| r.chars().count() >= MIN_RUN)
                .collect();
            if runs.is_empty() {
                return None;
            }
            alternatives.push(runs);
        }
        match backend {
            Backend::Sqlite => {
                let query = alternatives
                    .iter()
                    .map(|runs| {
                        let trigrams: Vec<String> = rarity
                            .rarest(runs)
                            .unwrap_or_else(|| {
                                runs.iter().flat_map(|r| covering_trigrams(r)).collect()
                            })
                            .iter()
                            .map(|t| fts_phrase(t))
                            .collect();
                        format!("({})", trigrams.join(" AND "))
                    })
                    .collect::<Vec<_>>()
                    .join(" OR ");
                let rows = Query::select()
                    .expr(Expr::cust("rowid"))
                    .from(Alias::new(self.name))
                    .and_where(Expr::cust_with_values(
                        format!("{} MATCH ?", self.name),
                        [query],
                    ))
                    .to_owned();
                let keys = match self.sqlite_key_table() {
                    None => rows,
                    Some(keys) => Query::select()
                        .column(Alias::new("key"))
                        .from(Alias::new(keys))
                        .and_where(Expr::col(Alias::new("seq")).in_subquery(rows))
                        .to_owned(),
                };
                Some(Condition::all().add(Expr::expr(id).in_subquery(keys)))
            }
            Backend::Postgres => {
                let prefix = format!("{table}.");
                let mut any = Condition::any();
                for p in patterns {
                    for c in self.columns {
                        any = any.add(
                            Expr::expr(Func::lower(Expr::cust(c.expr(&prefix))))
                                .like(LikeExpr::new(p.clone()).escape('\\')),
                        );
                    }
                }
                Some(any)
            }
        }
    }
}

/// Most trigrams [`TextIndex::rarity`] looks up for one search.
pub const MAX_LOOKUPS: usize = 64;
/// Most trigrams asked of the index per pattern when their counts are known…
const MAX_RARE: usize = 3;
/// …each held by at most this many times the rows of the rarest.
const RARE_SPREAD: i64 = 4;

/// How many rows hold each trigram of a search ([`TextIndex::rarity`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rarity(Arc<HashMap<String, i64>>);

impl Rarity {
    /// The rarest trigrams of `runs` (all of one pattern): the rarest, and up to
    /// [`MAX_RARE`] in all of those held by at most [`RARE_SPREAD`] times its rows. `None`
    /// when a trigram's count is unknown.
    fn rarest(&self, runs: &[String]) -> Option<Vec<String>> {
        let mut counted: Vec<(i64, String)> = runs
            .iter()
            .flat_map(|r| all_trigrams(r))
            .map(|t| self.0.get(&t).map(|n| (*n, t)))
            .collect::<Option<_>>()?;
        counted.sort_unstable();
        counted.dedup();
        let first = counted.first()?.0;
        Some(
            counted
                .into_iter()
                .take_while(|(n, _)| *n <= first.saturating_mul(RARE_SPREAD).max(first))
                .take(MAX_RARE)
                .map(|(_, t)| t)
                .collect(),
        )
    }
}

/// Rows per trigram of the SQLite text indexes, as last read from their vocabularies; one per
/// database, kept in its [`Db`] handle. Entries expire after [`TERM_TTL`]; past
/// [`TERM_CAP`] entries the cache starts over.
#[derive(Debug, Default)]
pub struct TermCache {
    entries: Mutex<HashMap<TermKey, (i64, Instant)>>,
}

/// A trigram of one index.
type TermKey = (&'static str, String);

const TERM_TTL: Duration = Duration::from_secs(300);
const TERM_CAP: usize = 100_000;

impl TermCache {
    /// The fresh counts of `terms` in `index`, and the terms without one.
    fn get(&self, index: &'static str, terms: &[String]) -> (Vec<(String, i64)>, Vec<String>) {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (mut known, mut missing) = (Vec::new(), Vec::new());
        for t in terms {
            match entries.get(&(index, t.clone())) {
                Some((n, at)) if at.elapsed() < TERM_TTL => known.push((t.clone(), *n)),
                _ => missing.push(t.clone()),
            }
        }
        (known, missing)
    }

    fn put(&self, index: &'static str, counted: &[(String, i64)]) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() + counted.len() > TERM_CAP {
            entries.clear();
        }
        let now = Instant::now();
        for (t, n) in counted {
            entries.insert((index, t.clone()), (*n, now));
        }
    }
}

/// Every trigram of `run`, in order.
fn all_trigrams(run: &str) -> Vec<String> {
    let chars: Vec<char> = run.chars().collect();
    chars.windows(MIN_RUN).map(|w| w.iter().collect()).collect()
}

/// Trigrams of `run` that together cover it: every third one, and the last. A row that
/// contains the run contains each of them; asking for these few rather than the phrase of
/// all its trigrams merges a third of the lists, and needs no positions (`detail=none`
/// keeps none, which makes the index about a third the size and its writes cheaper).
fn covering_trigrams(run: &str) -> Vec<String> {
    let chars: Vec<char> = run.chars().collect();
    if chars.len() < MIN_RUN {
        return Vec::new();
    }
    let last = chars.len() - MIN_RUN;
    let mut starts: Vec<usize> = (0..=last).step_by(MIN_RUN).collect();
    if starts.last() != Some(&last) {
        starts.push(last);
    }
    let mut out: Vec<String> = starts
        .into_iter()
        .map(|i| chars[i..i + MIN_RUN].iter().collect())
        .collect();
    out.dedup();
    out
}

/// An FTS5 string: the text in double quotes, its own double quotes doubled.
fn fts_phrase(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The literal runs of a LIKE pattern written with `\` as its escape character: the text
/// between unescaped `%` and `_`, escapes removed. A trailing lone `\` is literal.
pub fn like_literals(pattern: &str) -> Vec<String> {
    let mut runs = Vec::new();
    let mut run = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' | '_' => {
                if !run.is_empty() {
                    runs.push(std::mem::take(&mut run));
                }
            }
            '\\' => run.push(chars.next().unwrap_or('\\')),
            c => run.push(c),
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDX: TextIndex = TextIndex {
        name: "things_text",
        key: TextKey::Integer,
        columns: &[
            TextColumn {
                name: "line",
                expr: "{t}line",
            },
            TextColumn {
                name: "endpoint",
                expr: "{t}ip || ':' || CAST({t}port AS TEXT)",
            },
        ],
    };

    #[test]
    fn literal_runs_split_at_wildcards_and_drop_escapes() {
        assert_eq!(like_literals("%abc%"), vec!["abc"]);
        assert_eq!(like_literals("%a_bcd%ef%"), vec!["a", "bcd", "ef"]);
        assert_eq!(like_literals("%50\\%\\_x\\\\%"), vec!["50%_x\\"]);
        assert_eq!(like_literals("%end\\"), vec!["end\\"]);
        assert!(like_literals("%%_").is_empty());
    }

    #[test]
    fn renders_fts5_with_triggers_and_gin_per_column() {
        let s = IDX.ddl("things", Backend::Sqlite, "public");
        assert!(
            s[0].contains("USING fts5(line, endpoint, content=''"),
            "{}",
            s[0]
        );
        assert!(s[1].contains("VALUES (new.id, new.line, new.ip || ':' || CAST(new.port"));
        assert!(
            s[3].contains(
                "AFTER UPDATE OF id, ip, line, port ON things WHEN old.id IS NOT new.id \
                 OR old.ip IS NOT new.ip OR old.line IS NOT new.line OR old.port IS NOT new.port \
                 BEGIN DELETE FROM things_text WHERE rowid = old.id; INSERT"
            ),
            "{}",
            s[3]
        );
        assert_eq!(
            s[4],
            "CREATE VIRTUAL TABLE IF NOT EXISTS things_text_vocab USING fts5vocab(things_text, 'row')"
        );
        let p = IDX.ddl("things", Backend::Postgres, "public");
        assert_eq!(
            p[1],
            "CREATE INDEX IF NOT EXISTS things_text_endpoint ON things USING gin \
             (LOWER(ip || ':' || CAST(port AS TEXT)) public.gin_trgm_ops)"
        );
    }

    const KEYED: TextIndex = TextIndex {
        name: "events_text",
        key: TextKey::Text,
        columns: &[
            TextColumn {
                name: "title",
                expr: "{t}title",
            },
            TextColumn {
                name: "description",
                expr: "{t}description",
            },
        ],
    };

    #[test]
    fn a_text_key_is_numbered_in_a_key_table() {
        assert_eq!(
            KEYED.sqlite_table_names(),
            vec!["events_text", "events_text_keys"]
        );
        let s = KEYED.ddl("events", Backend::Sqlite, "public");
        assert_eq!(
            s.len(),
            6,
            "the FTS and key tables, three triggers, the vocabulary"
        );
        assert!(
            s[1].contains("events_text_keys (seq INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE)")
        );
        assert!(
            s[2].contains(
                "BEGIN INSERT INTO events_text_keys (key) VALUES (new.id); INSERT INTO events_text \
                 (rowid, title, description) VALUES (last_insert_rowid(), new.title, new.description)"
            ),
            "{}",
            s[2]
        );
        assert!(
            s[3].contains(
                "DELETE FROM events_text WHERE rowid = \
                 (SELECT seq FROM events_text_keys WHERE key = old.id); \
                 DELETE FROM events_text_keys WHERE key = old.id"
            ),
            "{}",
            s[3]
        );
        assert!(
            s[4].contains("AFTER UPDATE OF id, description, title ON events WHEN"),
            "{}",
            s[4]
        );
        let fill = KEYED.sqlite_backfill("events");
        assert_eq!(
            fill[1],
            "INSERT INTO events_text (rowid, title, description) SELECT k.seq, events.title, \
             events.description FROM events JOIN events_text_keys k ON k.key = events.id"
        );
        // No key table on PostgreSQL: its prefilter is the LIKE on the indexed expressions.
        assert_eq!(KEYED.ddl("events", Backend::Postgres, "public").len(), 2);

        let id = Expr::col(Alias::new("id")).into();
        let cond = KEYED
            .prefilter(
                Backend::Sqlite,
                "events",
                id,
                &["%hualien%".to_string()],
                &Rarity::default(),
            )
            .unwrap();
        let sql = Query::select()
            .column(Alias::new("id"))
            .from(Alias::new("events"))
            .cond_where(cond)
            .to_string(sea_query::SqliteQueryBuilder);
        assert_eq!(
            sql,
            "SELECT \"id\" FROM \"events\" WHERE \"id\" IN (SELECT \"key\" FROM \"events_text_keys\" \
             WHERE \"seq\" IN (SELECT rowid FROM \"events_text\" WHERE events_text MATCH \
             '(\"hua\" AND \"lie\" AND \"ien\")'))"
        );
    }

    #[test]
    fn short_runs_cannot_narrow() {
        let id = || Expr::col(Alias::new("id")).into();
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let none = Rarity::default();
        assert!(IDX
            .prefilter(Backend::Sqlite, "things", id(), &p(&["%ab%"]), &none)
            .is_none());
        assert!(IDX
            .prefilter(
                Backend::Sqlite,
                "things",
                id(),
                &p(&["%abc%", "%a_b%"]),
                &none
            )
            .is_none());
        assert!(IDX
            .prefilter(Backend::Sqlite, "things", id(), &p(&["%ab_cde%"]), &none)
            .is_some());
        assert_eq!(fts_phrase("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(covering_trigrams("abcdefg"), vec!["abc", "def", "efg"]);
        assert_eq!(covering_trigrams("abcdef"), vec!["abc", "def"]);
        assert_eq!(covering_trigrams("éa😀"), vec!["éa😀"]);
    }

    #[test]
    fn known_counts_pick_the_rarest_trigrams() {
        let rarity = |pairs: &[(&str, i64)]| {
            Rarity(Arc::new(
                pairs.iter().map(|(t, n)| (t.to_string(), *n)).collect(),
            ))
        };
        let runs = vec!["from 42 ".to_string()];
        let r = rarity(&[
            ("fro", 9000),
            ("rom", 9000),
            ("om ", 9000),
            ("m 4", 300),
            (" 42", 120),
            ("42 ", 100),
        ]);
        // The rarest, and those within four times its rows, at most three.
        assert_eq!(r.rarest(&runs).unwrap(), vec!["42 ", " 42", "m 4"]);
        let r = rarity(&[
            ("fro", 9000),
            ("rom", 9000),
            ("om ", 9000),
            ("m 4", 5000),
            (" 42", 5000),
            ("42 ", 100),
        ]);
        assert_eq!(r.rarest(&runs).unwrap(), vec!["42 "]);
        // A trigram no row holds is the whole answer: nothing can match.
        let r = rarity(&[
            ("fro", 0),
            ("rom", 9000),
            ("om ", 9000),
            ("m 4", 5000),
            (" 42", 5000),
            ("42 ", 100),
        ]);
        assert_eq!(r.rarest(&runs).unwrap(), vec!["fro"]);
        // An unknown count: the caller falls back to covering trigrams.
        assert!(rarity(&[("fro", 1)]).rarest(&runs).is_none());
        assert_eq!(all_trigrams("abcd"), vec!["abc", "bcd"]);
    }
}
