//! The declaration of a counted table and the triggers that keep its counts, rendered per
//! backend; what reads the counts is [`super::counts`].

use super::Backend;

/// A UTC day in Unix ms: the time bucket of `row_counts`.
pub const DAY_MS: i64 = 86_400_000;
/// An hour in Unix ms: the time bucket of `row_counts_hourly`.
pub const HOUR_MS: i64 = 3_600_000;

/// The two time buckets the triggers count every row in: `row_counts` per UTC day, which
/// whole-day totals read, and `row_counts_hourly` per hour, which only the partial days at a
/// time range's edges read (so those are counted from the rows of at most two partial hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    Day,
    Hour,
}

impl Grain {
    pub const ALL: [Grain; 2] = [Grain::Day, Grain::Hour];

    /// The table holding this grain's counts.
    pub fn table(self) -> &'static str {
        match self {
            Grain::Day => "row_counts",
            Grain::Hour => "row_counts_hourly",
        }
    }

    /// The column holding the bucket's number (`floor(time / ms)`).
    pub fn column(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Hour => "hour",
        }
    }

    pub fn ms(self) -> i64 {
        match self {
            Grain::Day => DAY_MS,
            Grain::Hour => HOUR_MS,
        }
    }
}

/// A table whose rows are counted in `row_counts` and `row_counts_hourly` under `dataset`: the
/// table's name for its main counts, `{table}.{what}` for a second set of counts of the same
/// rows by other dimensions (a table may have several; each has its own triggers).
#[derive(Debug, Clone, Copy)]
pub struct Counted {
    pub table: &'static str,
    /// The name the counts are kept under (`row_counts.dataset`).
    pub dataset: &'static str,
    /// The time column (Unix ms) the days and hours are taken from.
    pub time: &'static str,
    /// An integer column counted apart (e.g. `level`), or none.
    pub int_key: Option<&'static str>,
    /// What `k_text` holds, or none.
    pub text_key: Option<TextKey>,
}

/// The text dimension of a set of counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKey {
    /// One text column (e.g. `type`).
    Column(&'static str),
    /// An IP column and a MAC column together, as one endpoint (an alert's source), so that a
    /// filter on either, or on a device that names both, is answered from the counts. `k_text`
    /// is `{length of ip}|{ip}{mac}`, which [`endpoint_parts`] takes apart exactly whatever
    /// either holds.
    Endpoint { ip: &'static str, mac: &'static str },
}

impl TextKey {
    fn columns(self) -> Vec<&'static str> {
        match self {
            TextKey::Column(c) => vec![c],
            TextKey::Endpoint { ip, mac } => vec![ip, mac],
        }
    }

    /// The value of `k_text` for the row whose columns are prefixed `row` (`NEW.`, `OLD.`, or
    /// nothing).
    fn value(self, row: &str) -> String {
        match self {
            TextKey::Column(c) => format!("{row}{c}"),
            TextKey::Endpoint { ip, mac } => {
                format!("CAST(LENGTH({row}{ip}) AS TEXT) || '|' || {row}{ip} || {row}{mac}")
            }
        }
    }
}

/// SQL expressions for the IP and the MAC held in the counts of `dataset` (kept with
/// [`TextKey::Endpoint`]) in the counts table `table`: the inverse of its encoding on each
/// backend (character positions on both, as `LENGTH` counts characters on both). They never
/// fail on the counts of other datasets, should a plan test those rows first: SQLite reads a
/// missing length as 0, and PostgreSQL takes the length only from rows of `dataset` (a `CASE`,
/// which PostgreSQL evaluates lazily; a regular expression instead cost five times as much).
pub fn endpoint_parts(backend: Backend, table: &str, dataset: &str) -> (String, String) {
    let k = format!("{table}.k_text");
    let (bar, len) = match backend {
        Backend::Sqlite => {
            let bar = format!("INSTR({k}, '|')");
            let len = format!("CAST(SUBSTR({k}, 1, {bar} - 1) AS INTEGER)");
            (bar, len)
        }
        Backend::Postgres => (
            format!("STRPOS({k}, '|')"),
            format!(
                "(CASE WHEN {table}.dataset = '{dataset}' \
                 THEN CAST(SPLIT_PART({k}, '|', 1) AS INTEGER) ELSE 0 END)"
            ),
        ),
    };
    (
        format!("SUBSTR({k}, {bar} + 1, {len})"),
        format!("SUBSTR({k}, {bar} + 1 + {len})"),
    )
}

/// `floor(expr / by)` on both backends (integer division truncates toward zero).
fn floor_div(expr: &str, by: i64) -> String {
    format!("(CASE WHEN {expr} < 0 AND {expr} % {by} <> 0 THEN {expr} / {by} - 1 ELSE {expr} / {by} END)")
}

/// The bucket of the time `col` in `grain`.
fn bucket_of(col: &str, grain: Grain) -> String {
    floor_div(col, grain.ms())
}

impl Counted {
    fn int_of(&self, row: &str) -> String {
        self.int_key
            .map_or("0".to_string(), |c| format!("{row}{c}"))
    }
    fn text_of(&self, row: &str) -> String {
        self.text_key.map_or("''".to_string(), |k| k.value(row))
    }
    /// The columns an update must change to move a row between counts.
    fn watched(&self) -> Vec<&'static str> {
        let mut v = vec![self.time];
        v.extend(self.int_key);
        v.extend(self.text_key.map(TextKey::columns).unwrap_or_default());
        v
    }
    /// The prefix of the trigger and function names: the dataset, made an identifier.
    fn name(&self) -> String {
        self.dataset.replace('.', "_")
    }
    fn changed(&self, distinct: &str) -> String {
        self.watched()
            .iter()
            .map(|c| format!("OLD.{c} {distinct} NEW.{c}"))
            .collect::<Vec<_>>()
            .join(" OR ")
    }
    /// `UPDATE … SET n = n - 1` of the count row of `row` in `grain`.
    fn decrement_one(&self, row: &str, g: Grain) -> String {
        format!(
            "UPDATE {table} SET n = n - 1 WHERE tenant_id = {row}tenant_id AND dataset = '{t}' \
             AND {col} = {bucket} AND k_int = {ki} AND k_text = {kt}",
            table = g.table(),
            col = g.column(),
            t = self.dataset,
            bucket = bucket_of(&format!("{row}{}", self.time), g),
            ki = self.int_of(row),
            kt = self.text_of(row),
        )
    }
    /// Counts `row` once more in `grain`.
    fn upsert_one(&self, row: &str, g: Grain) -> String {
        format!(
            "INSERT INTO {table} (tenant_id, dataset, {col}, k_int, k_text, n) \
             VALUES ({row}tenant_id, '{t}', {bucket}, {ki}, {kt}, 1) \
             ON CONFLICT (tenant_id, dataset, {col}, k_int, k_text) DO UPDATE SET n = {table}.n + 1",
            table = g.table(),
            col = g.column(),
            t = self.dataset,
            bucket = bucket_of(&format!("{row}{}", self.time), g),
            ki = self.int_of(row),
            kt = self.text_of(row),
        )
    }
    /// Both grains' statements for one row, `;`-separated.
    fn per_row(&self, f: impl Fn(Grain) -> String) -> String {
        Grain::ALL.map(f).join("; ")
    }
    /// `SELECT tenant_id, bucket, k_int, k_text, COUNT(*)` of `source` in `grain`, grouped.
    fn grouped(&self, source: &str, g: Grain) -> String {
        format!(
            "SELECT tenant_id, {bucket} AS b, {ki} AS k_int, {kt} AS k_text, COUNT(*) AS n \
             FROM {source} GROUP BY 1, 2, 3, 4",
            bucket = bucket_of(self.time, g),
            ki = self.int_of(""),
            kt = self.text_of(""),
        )
    }
    /// PostgreSQL: adds the grouped counts of the transition table `source` to `grain`'s
    /// table, its count rows locked in key order.
    fn add_grouped(&self, source: &str, g: Grain) -> String {
        format!(
            "INSERT INTO {table} (tenant_id, dataset, {col}, k_int, k_text, n) \
             SELECT tenant_id, '{t}', b, k_int, k_text, n FROM ({rows}) g ORDER BY 1, 3, 4, 5 \
             ON CONFLICT (tenant_id, dataset, {col}, k_int, k_text) DO UPDATE SET n = {table}.n + EXCLUDED.n",
            table = g.table(),
            col = g.column(),
            t = self.dataset,
            rows = self.grouped(source, g),
        )
    }
    /// PostgreSQL: takes the grouped counts of the transition table `source` off `grain`'s
    /// table.
    fn subtract_grouped(&self, source: &str, g: Grain) -> String {
        format!(
            "UPDATE {table} c SET n = c.n - g.n FROM ({rows}) g \
             WHERE c.tenant_id = g.tenant_id AND c.dataset = '{t}' AND c.{col} = g.b \
             AND c.k_int = g.k_int AND c.k_text = g.k_text",
            table = g.table(),
            col = g.column(),
            t = self.dataset,
            rows = self.grouped(source, g),
        )
    }

    /// Drops and creates the triggers (idempotent).
    pub fn trigger_ddl(&self, backend: Backend) -> String {
        let (n, t) = (self.name(), self.table);
        match backend {
            Backend::Sqlite => format!(
                "DROP TRIGGER IF EXISTS {n}_count_ins;\n\
                 DROP TRIGGER IF EXISTS {n}_count_del;\n\
                 DROP TRIGGER IF EXISTS {n}_count_upd;\n\
                 CREATE TRIGGER {n}_count_ins AFTER INSERT ON {t} BEGIN {ins}; END;\n\
                 CREATE TRIGGER {n}_count_del AFTER DELETE ON {t} BEGIN {del}; END;\n\
                 CREATE TRIGGER {n}_count_upd AFTER UPDATE OF {cols} ON {t} WHEN {changed} BEGIN \
                   {del}; {ins}; END;\n",
                ins = self.per_row(|g| self.upsert_one("NEW.", g)),
                del = self.per_row(|g| self.decrement_one("OLD.", g)),
                cols = self.watched().join(", "),
                changed = self.changed("IS NOT"),
            ),
            Backend::Postgres => format!(
                "CREATE OR REPLACE FUNCTION picket_{n}_count_ins() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN \
                   {add}; RETURN NULL; END $f$;\n\
                 CREATE OR REPLACE FUNCTION picket_{n}_count_del() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN \
                   {sub}; RETURN NULL; END $f$;\n\
                 CREATE OR REPLACE FUNCTION picket_{n}_count_upd() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN \
                   {del}; {ins}; RETURN NULL; END $f$;\n\
                 DROP TRIGGER IF EXISTS {n}_count_ins ON {t};\n\
                 DROP TRIGGER IF EXISTS {n}_count_del ON {t};\n\
                 DROP TRIGGER IF EXISTS {n}_count_upd ON {t};\n\
                 CREATE TRIGGER {n}_count_ins AFTER INSERT ON {t} REFERENCING NEW TABLE AS picket_new \
                   FOR EACH STATEMENT EXECUTE FUNCTION picket_{n}_count_ins();\n\
                 CREATE TRIGGER {n}_count_del AFTER DELETE ON {t} REFERENCING OLD TABLE AS picket_old \
                   FOR EACH STATEMENT EXECUTE FUNCTION picket_{n}_count_del();\n\
                 CREATE TRIGGER {n}_count_upd AFTER UPDATE OF {cols} ON {t} FOR EACH ROW \
                   WHEN ({changed}) EXECUTE FUNCTION picket_{n}_count_upd();\n",
                add = self.per_row(|g| self.add_grouped("picket_new", g)),
                sub = self.per_row(|g| self.subtract_grouped("picket_old", g)),
                del = self.per_row(|g| self.decrement_one("OLD.", g)),
                ins = self.per_row(|g| self.upsert_one("NEW.", g)),
                cols = self.watched().join(", "),
                changed = self.changed("IS DISTINCT FROM"),
            ),
        }
    }

    /// Recounts the table's rows into `row_counts_hourly`, and the days from those hours into
    /// `row_counts` (a migration that adds or changes the triggers): the table is read once.
    pub fn backfill_sql(&self) -> String {
        let t = self.dataset;
        let (hours, days) = (Grain::Hour.table(), Grain::Day.table());
        format!(
            "DELETE FROM {hours} WHERE dataset = '{t}';\n\
             INSERT INTO {hours} (tenant_id, dataset, hour, k_int, k_text, n) \
             SELECT tenant_id, '{t}', b, k_int, k_text, n FROM ({rows}) g;\n\
             DELETE FROM {days} WHERE dataset = '{t}';\n\
             INSERT INTO {days} (tenant_id, dataset, day, k_int, k_text, n) \
             SELECT tenant_id, dataset, {day}, k_int, k_text, SUM(n) FROM {hours} \
             WHERE dataset = '{t}' GROUP BY 1, 2, 3, 4, 5;\n",
            rows = self.grouped(self.table, Grain::Hour),
            day = floor_div("hour", DAY_MS / HOUR_MS),
        )
    }

    /// The name of the insert trigger, whose presence says the counts are kept.
    pub fn insert_trigger(&self) -> String {
        let [ins, ..] = self.trigger_names();
        ins
    }

    /// The names of the insert, delete and update triggers.
    pub fn trigger_names(&self) -> [String; 3] {
        ["ins", "del", "upd"].map(|kind| format!("{}_count_{kind}", self.name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_render_for_both_backends() {
        let c = Counted {
            table: "alerts",
            dataset: "alerts",
            time: "ts",
            int_key: Some("level"),
            text_key: Some(TextKey::Column("type")),
        };
        let s = c.trigger_ddl(Backend::Sqlite);
        assert!(
            s.contains("AFTER UPDATE OF ts, level, type ON alerts"),
            "{s}"
        );
        // Every row trigger counts in both grains.
        for grain in Grain::ALL {
            let upsert = format!("INSERT INTO {} ", grain.table());
            let decrement = format!("UPDATE {} SET n = n - 1", grain.table());
            for (trigger, has) in [("ins", &upsert), ("del", &decrement), ("upd", &upsert)] {
                let body = s
                    .lines()
                    .find(|l| l.starts_with(&format!("CREATE TRIGGER alerts_count_{trigger} ")))
                    .unwrap();
                assert!(body.contains(has.as_str()), "{body}");
            }
        }
        let p = c.trigger_ddl(Backend::Postgres);
        assert!(p.contains("REFERENCING NEW TABLE AS picket_new"), "{p}");
        assert!(p.contains("INSERT INTO row_counts_hourly "), "{p}");
        assert!(
            p.contains("UPDATE row_counts_hourly c SET n = c.n - g.n"),
            "{p}"
        );
        let b = c.backfill_sql();
        assert!(b.contains("GROUP BY 1, 2, 3, 4"), "{b}");
        assert!(b.contains("DELETE FROM row_counts_hourly WHERE dataset = 'alerts'"));
    }

    #[test]
    fn a_second_set_of_counts_has_its_own_name_and_endpoint_key() {
        let c = Counted {
            table: "alerts",
            dataset: "alerts.by_source",
            time: "ts",
            int_key: Some("level"),
            text_key: Some(TextKey::Endpoint {
                ip: "src_ip",
                mac: "src_mac",
            }),
        };
        let s = c.trigger_ddl(Backend::Sqlite);
        // Its own triggers on the table, watching both columns of the key.
        assert!(
            s.contains("CREATE TRIGGER alerts_by_source_count_ins AFTER INSERT ON alerts "),
            "{s}"
        );
        assert!(
            s.contains("AFTER UPDATE OF ts, level, src_ip, src_mac ON alerts"),
            "{s}"
        );
        assert!(s.contains("'alerts.by_source'"), "{s}");
        assert!(
            s.contains("CAST(LENGTH(NEW.src_ip) AS TEXT) || '|' || NEW.src_ip || NEW.src_mac"),
            "{s}"
        );
        let p = c.trigger_ddl(Backend::Postgres);
        assert!(
            p.contains("FUNCTION picket_alerts_by_source_count_ins()"),
            "{p}"
        );
        let b = c.backfill_sql();
        assert!(b.contains("WHERE dataset = 'alerts.by_source'"), "{b}");
        assert!(b.contains("FROM alerts GROUP BY"), "{b}");
        assert_eq!(c.insert_trigger(), "alerts_by_source_count_ins");
    }
}
