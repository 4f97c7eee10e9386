//! Tenant isolation by construction: no source file names a tenant-owned table except its
//! `table!` declaration, so every statement on one goes through `TenantTable` (which takes the
//! tenant) or through `TenantTable::across_tenants()` (named, with its reason). The few
//! hand-written SQL statements that remain are listed below with why; a new one fails this
//! test until it is either rewritten or listed, and a listed one that is gone must leave the
//! list. SQL assembled with `format!` from a declaration's name (`X::DECLARED.name`) is not
//! seen here; those few places (the 15-minute aggregates, the generator's spans) say beside
//! the statement how it binds the tenant.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// `(file under crates/, table)`: hand-written SQL on a tenant-owned table, each binding the
/// tenant itself.
const RAW_SQL: &[(&str, &str, &str)] = &[
    (
        "picket-core/src/db/counted.rs",
        "row_counts",
        "trigger DDL and the migration's recount: each count row takes the tenant_id of the \
         rows it counts (reads go through TenantTable)",
    ),
    (
        "picket-core/src/db/counted.rs",
        "row_counts_hourly",
        "the same triggers and recount for the hourly counts: each count row takes the tenant_id \
         of the rows it counts (reads go through TenantTable)",
    ),
    (
        "picket-core/src/db/watched.rs",
        "write_generations",
        "trigger DDL: each counter row takes the tenant_id of the rows written; the engine reads \
         every tenant's counter at once, as one pass evaluates events for every tenant",
    ),
    (
        "picket-netmon/src/about/mod.rs",
        "*",
        "per-dataset counts and first/last times in one UNION ALL; binds the tenant",
    ),
    (
        "picket-bench/src/network.rs",
        "*",
        "benchmark: first/last times of the generated tenant's rows; binds the tenant",
    ),
    (
        "picket-bench/src/ingest.rs",
        "*",
        "benchmark: counts every row the shipped EVE file became (one tenant holds them all)",
    ),
    (
        "picket-bench/src/reports.rs",
        "assets",
        "benchmark: reads the `assets` field of a JSON answer, no statement",
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Lines of `text` outside `#[cfg(test)]` modules (they sit at the end of a file).
fn production_part(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |i| &text[..i])
}

/// Where `line` names `table` as a table, not as its declaration or a foreign key.
fn names_table(line: &str, table: &str) -> bool {
    let quoted = format!("\"{table}\"");
    let trimmed = line.trim_start();
    if trimmed.starts_with("//") {
        return false;
    }
    let as_table = line.match_indices(&quoted).any(|(i, _)| {
        let before = line[..i].trim_end();
        let after = &line[i + quoted.len()..];
        // Not a declaration, a foreign key, an OpenAPI tag, a JSON key or a wire name.
        !(before.ends_with(" in")
            || before.ends_with(".references(")
            || before.ends_with("tag =")
            || before.ends_with("key:")
            || after.trim_start().starts_with(':'))
    });
    if as_table {
        return true;
    }
    let upper = line.to_ascii_uppercase();
    let name = table.to_ascii_uppercase();
    ["FROM ", "INTO ", "UPDATE ", "JOIN "].iter().any(|kw| {
        upper.match_indices(kw).any(|(i, _)| {
            let rest = &upper[i + kw.len()..];
            rest.starts_with(&name)
                && !rest[name.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        })
    })
}

#[test]
fn no_source_reaches_a_tenant_owned_table_around_its_declaration() {
    let schema = picket::app::schema();
    let owned: Vec<&str> = schema
        .tables()
        .iter()
        .filter(|t| t.tenant_owned)
        .map(|t| t.name)
        .collect();
    assert!(owned.contains(&"networks") && owned.contains(&"threats"));
    // Every table with a tenant column is declared tenant-owned, except the event corpus,
    // whose global rows belong to every tenant (reads filter with `corpus::store::visible`).
    let undeclared: Vec<&str> = schema
        .tables()
        .iter()
        .filter(|t| !t.tenant_owned && t.column("tenant_id").is_some() && t.name != "events")
        .map(|t| t.name)
        .collect();
    assert!(
        undeclared.is_empty(),
        "tenant_id without tenant_owned: {undeclared:?}"
    );

    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for krate in std::fs::read_dir(&crates).unwrap() {
        let src = krate.unwrap().path().join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    files.sort();

    let mut found = Vec::new();
    let mut listed_and_used = BTreeSet::new();
    for path in &files {
        let rel = path
            .strip_prefix(&crates)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in production_part(&text).lines().enumerate() {
            for table in &owned {
                if !names_table(line, table) {
                    continue;
                }
                let listed = RAW_SQL
                    .iter()
                    .find(|(f, t, _)| *f == rel && (*t == "*" || t == table));
                match listed {
                    Some((f, t, _)) => {
                        listed_and_used.insert((*f, *t));
                    }
                    None => found.push(format!("{rel}:{}: {table}: {}", n + 1, line.trim())),
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "statements on tenant-owned tables that bypass TenantTable (use it, or list the \
         file in RAW_SQL with why):\n{}",
        found.join("\n")
    );
    let stale: Vec<_> = RAW_SQL
        .iter()
        .filter(|(f, t, _)| !listed_and_used.contains(&(*f, *t)))
        .collect();
    assert!(
        stale.is_empty(),
        "RAW_SQL entries no longer needed: {stale:?}"
    );
}

#[test]
fn the_detector_sees_literals_and_sql_but_not_declarations() {
    assert!(names_table(
        r#"insert_rows(tx, "threats", &c, r)"#,
        "threats"
    ));
    assert!(names_table(
        "SELECT ts FROM dns_records WHERE",
        "dns_records"
    ));
    assert!(names_table("delete from devices where", "devices"));
    assert!(!names_table(
        "SELECT ts FROM dns_records_old",
        "dns_records"
    ));
    assert!(!names_table(
        r#"pub(crate) enum Networks in "networks", tenant_owned {"#,
        "networks"
    ));
    assert!(!names_table(
        r#"NetworkId: BigInt .references("networks", "id", OnDelete::Cascade),"#,
        "networks"
    ));
    assert!(!names_table("// FROM networks in a comment", "networks"));
    assert!(!names_table(r#"json!({"assets": list})"#, "assets"));
    assert!(!names_table(
        r#"get, path = "/v1/assets", tag = "assets","#,
        "assets"
    ));
}
