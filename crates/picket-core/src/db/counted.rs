//! The declaration of a counted table and the triggers that keep its counts, rendered per
//! backend; what reads the counts is [`super::counts`].

use super::Backend;

/// A UTC day in Unix ms: the counts' time bucket.
pub const DAY_MS: i64 = 86_400_000;

/// A table whose rows are counted in `row_counts`, under the table's name as the dataset.
#[derive(Debug, Clone, Copy)]
pub struct Counted {
    pub table: &'static str,
    /// The time column (Unix ms) the days are taken from.
    pub time: &'static str,
    /// An integer column counted apart (e.g. `level`), or none.
    pub int_key: Option<&'static str>,
    /// A text column counted apart (e.g. `type`), or none.
    pub text_key: Option<&'static str>,
}

/// `floor(col / DAY_MS)` on both backends (integer division truncates toward zero).
fn day_of(col: &str) -> String {
    format!(
        "(CASE WHEN {col} < 0 AND {col} % {DAY_MS} <> 0 THEN {col} / {DAY_MS} - 1 \
         ELSE {col} / {DAY_MS} END)"
    )
}

impl Counted {
    fn int_of(&self, row: &str) -> String {
        self.int_key
            .map_or("0".to_string(), |c| format!("{row}{c}"))
    }
    fn text_of(&self, row: &str) -> String {
        self.text_key
            .map_or("''".to_string(), |c| format!("{row}{c}"))
    }
    /// The columns an update must change to move a row between counts.
    fn watched(&self) -> Vec<&'static str> {
        let mut v = vec![self.time];
        v.extend(self.int_key);
        v.extend(self.text_key);
        v
    }
    fn changed(&self, distinct: &str) -> String {
        self.watched()
            .iter()
            .map(|c| format!("OLD.{c} {distinct} NEW.{c}"))
            .collect::<Vec<_>>()
            .join(" OR ")
    }
    fn key_match(&self, row: &str) -> String {
        format!(
            "tenant_id = {row}tenant_id AND dataset = '{t}' AND day = {day} AND k_int = {ki} \
             AND k_text = {kt}",
            t = self.table,
            day = day_of(&format!("{row}{}", self.time)),
            ki = self.int_of(row),
            kt = self.text_of(row),
        )
    }
    fn upsert_one(&self, row: &str, n: &str) -> String {
        format!(
            "INSERT INTO row_counts (tenant_id, dataset, day, k_int, k_text, n) \
             VALUES ({row}tenant_id, '{t}', {day}, {ki}, {kt}, {n}) \
             ON CONFLICT (tenant_id, dataset, day, k_int, k_text) DO UPDATE SET n = row_counts.n + {n}",
            t = self.table,
            day = day_of(&format!("{row}{}", self.time)),
            ki = self.int_of(row),
            kt = self.text_of(row),
        )
    }
    /// `SELECT tenant_id, day, k_int, k_text, COUNT(*)` of `source`, grouped.
    fn grouped(&self, source: &str) -> String {
        format!(
            "SELECT tenant_id, {day} AS day, {ki} AS k_int, {kt} AS k_text, COUNT(*) AS n \
             FROM {source} GROUP BY 1, 2, 3, 4",
            day = day_of(self.time),
            ki = self.int_of(""),
            kt = self.text_of(""),
        )
    }

    /// Drops and creates the triggers (idempotent).
    pub fn trigger_ddl(&self, backend: Backend) -> String {
        let t = self.table;
        match backend {
            Backend::Sqlite => format!(
                "DROP TRIGGER IF EXISTS {t}_count_ins;\n\
                 DROP TRIGGER IF EXISTS {t}_count_del;\n\
                 DROP TRIGGER IF EXISTS {t}_count_upd;\n\
                 CREATE TRIGGER {t}_count_ins AFTER INSERT ON {t} BEGIN {ins}; END;\n\
                 CREATE TRIGGER {t}_count_del AFTER DELETE ON {t} BEGIN \
                   UPDATE row_counts SET n = n - 1 WHERE {old}; END;\n\
                 CREATE TRIGGER {t}_count_upd AFTER UPDATE OF {cols} ON {t} WHEN {changed} BEGIN \
                   UPDATE row_counts SET n = n - 1 WHERE {old}; {ins}; END;\n",
                ins = self.upsert_one("NEW.", "1"),
                old = self.key_match("OLD."),
                cols = self.watched().join(", "),
                changed = self.changed("IS NOT"),
            ),
            Backend::Postgres => format!(
                "CREATE OR REPLACE FUNCTION picket_{t}_count_ins() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN \
                   INSERT INTO row_counts (tenant_id, dataset, day, k_int, k_text, n) \
                   SELECT tenant_id, '{t}', day, k_int, k_text, n FROM ({new_rows}) g ORDER BY 1, 3, 4, 5 \
                   ON CONFLICT (tenant_id, dataset, day, k_int, k_text) DO UPDATE SET n = row_counts.n + EXCLUDED.n; \
                   RETURN NULL; END $f$;\n\
                 CREATE OR REPLACE FUNCTION picket_{t}_count_del() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN \
                   UPDATE row_counts c SET n = c.n - g.n FROM ({old_rows}) g \
                   WHERE c.tenant_id = g.tenant_id AND c.dataset = '{t}' AND c.day = g.day \
                   AND c.k_int = g.k_int AND c.k_text = g.k_text; \
                   RETURN NULL; END $f$;\n\
                 CREATE OR REPLACE FUNCTION picket_{t}_count_upd() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN \
                   UPDATE row_counts SET n = n - 1 WHERE {old}; {ins}; \
                   RETURN NULL; END $f$;\n\
                 DROP TRIGGER IF EXISTS {t}_count_ins ON {t};\n\
                 DROP TRIGGER IF EXISTS {t}_count_del ON {t};\n\
                 DROP TRIGGER IF EXISTS {t}_count_upd ON {t};\n\
                 CREATE TRIGGER {t}_count_ins AFTER INSERT ON {t} REFERENCING NEW TABLE AS picket_new \
                   FOR EACH STATEMENT EXECUTE FUNCTION picket_{t}_count_ins();\n\
                 CREATE TRIGGER {t}_count_del AFTER DELETE ON {t} REFERENCING OLD TABLE AS picket_old \
                   FOR EACH STATEMENT EXECUTE FUNCTION picket_{t}_count_del();\n\
                 CREATE TRIGGER {t}_count_upd AFTER UPDATE OF {cols} ON {t} FOR EACH ROW \
                   WHEN ({changed}) EXECUTE FUNCTION picket_{t}_count_upd();\n",
                new_rows = self.grouped("picket_new"),
                old_rows = self.grouped("picket_old"),
                old = self.key_match("OLD."),
                ins = self.upsert_one("NEW.", "1"),
                cols = self.watched().join(", "),
                changed = self.changed("IS DISTINCT FROM"),
            ),
        }
    }

    /// Recounts the table's rows into `row_counts` (a migration that adds the triggers).
    pub fn backfill_sql(&self) -> String {
        let t = self.table;
        format!(
            "DELETE FROM row_counts WHERE dataset = '{t}';\n\
             INSERT INTO row_counts (tenant_id, dataset, day, k_int, k_text, n) \
             SELECT tenant_id, '{t}', day, k_int, k_text, n FROM ({rows}) g;\n",
            rows = self.grouped(t),
        )
    }

    /// The name of the insert trigger, whose presence says the counts are kept.
    pub fn insert_trigger(&self) -> String {
        format!("{}_count_ins", self.table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_render_for_both_backends() {
        let c = Counted {
            table: "alerts",
            time: "ts",
            int_key: Some("level"),
            text_key: Some("type"),
        };
        let s = c.trigger_ddl(Backend::Sqlite);
        assert!(
            s.contains("AFTER UPDATE OF ts, level, type ON alerts"),
            "{s}"
        );
        let p = c.trigger_ddl(Backend::Postgres);
        assert!(p.contains("REFERENCING NEW TABLE AS picket_new"), "{p}");
        assert!(c.backfill_sql().contains("GROUP BY 1, 2, 3, 4"));
    }
}
