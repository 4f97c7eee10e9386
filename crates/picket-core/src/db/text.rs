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
//! The index never decides a match. [`TextIndex::prefilter`] narrows the rows to those that
//! may match, and the caller's LIKE condition, unchanged, decides among them. The narrowing
//! keeps every row the LIKE accepts: each literal run of a pattern, and so each trigram of it,
//! must occur in such a row, and FTS5 folds case per character at least as far as SQLite's
//! `LOWER` and LIKE do (ASCII), so a run that occurs after the LIKE's folding also occurs
//! after FTS5's. On PostgreSQL the
//! prefilter is the LIKE itself on the indexed expressions, which pg_trgm rechecks exactly.

use sea_query::{Alias, Condition, Expr, Func, LikeExpr, Query, SimpleExpr};

use super::Backend;

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

    /// A condition that holds for every row of `table` (key `id`) whose indexed text may match
    /// one of `patterns`: LIKE patterns with `\` as escape, lower-cased as the caller's LIKE
    /// has them. `None` when the index cannot narrow the rows: no patterns, or a pattern
    /// without a literal run of [`MIN_RUN`] characters (that LIKE reads the rows as before).
    pub fn prefilter(
        &self,
        backend: Backend,
        table: &str,
        id: SimpleExpr,
        patterns: &[String],
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
                        let trigrams: Vec<String> = runs
                            .iter()
                            .flat_map(|r| covering_trigrams(r))
                            .map(|t| fts_phrase(&t))
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
        assert_eq!(s.len(), 5);
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
            .prefilter(Backend::Sqlite, "events", id, &["%hualien%".to_string()])
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
        assert!(IDX
            .prefilter(Backend::Sqlite, "things", id(), &p(&["%ab%"]))
            .is_none());
        assert!(IDX
            .prefilter(Backend::Sqlite, "things", id(), &p(&["%abc%", "%a_b%"]))
            .is_none());
        assert!(IDX
            .prefilter(Backend::Sqlite, "things", id(), &p(&["%ab_cde%"]))
            .is_some());
        assert_eq!(fts_phrase("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(covering_trigrams("abcdefg"), vec!["abc", "def", "efg"]);
        assert_eq!(covering_trigrams("abcdef"), vec!["abc", "def"]);
        assert_eq!(covering_trigrams("éa😀"), vec!["éa😀"]);
    }
}
