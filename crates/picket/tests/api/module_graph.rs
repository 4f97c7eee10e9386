//! Tests of the workspace's shape, read from its source: no import cycle between the modules
//! of any crate, and a pure threat engine in `picket-watch`.
//!
//! Every file under `src/` is one module (`a/mod.rs` and `a.rs` are `a`, `a/b.rs` is `a::b`).
//! Its `crate::…` and `super::…` paths, outside comments, string literals and `#[cfg(test)]`
//! modules, are its references; each is attributed to the longest module its path names.
//! A reference between two modules is an edge between the children of their closest common
//! ancestor that lead to them: the top-level modules for `assets → threats`, `threats::store`
//! and `threats::handlers` for `threats/handlers.rs → threats/store/list.rs`. A child's use of
//! its own ancestor (usually an item the ancestor re-exports) is no edge. A cycle among the
//! children of any module fails the test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type ModPath = Vec<String>;

/// One module's source, reduced to code.
struct Source {
    module: ModPath,
    /// Relative to `src/`, for messages.
    file: PathBuf,
    code: String,
}

/// The sources of `picket-watch`, home of the engine.
fn sources() -> Vec<Source> {
    sources_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../picket-watch/src"))
}

/// The `src/` of every crate of the workspace.
fn workspace_crates() -> Vec<PathBuf> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut roots: Vec<PathBuf> = std::fs::read_dir(&crates)
        .expect("the crates folder")
        .map(|e| e.expect("an entry").path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    roots.sort();
    roots
}

fn sources_in(root: &Path) -> Vec<Source> {
    let mut files = Vec::new();
    collect(root, &mut files);
    files
        .into_iter()
        .map(|file| {
            let rel = file.strip_prefix(root).expect("under src");
            let mut module: ModPath = rel
                .iter()
                .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            let text = std::fs::read_to_string(&file).expect("readable source");
            Source {
                module,
                code: without_test_modules(&code_only(&text)),
                file: rel.to_path_buf(),
            }
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable src")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text with comments blanked and string and character literals emptied; line breaks kept.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if c == 'r' && (at(i + 1) == '"' || (at(i + 1) == '#' && !is_ident(at(i - 1)))) {
            // A raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            if at(j) != '"' {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (1..=hashes).all(|k| at(j + k) == '#') {
                    j += 1 + hashes;
                    break;
                }
                if chars[j] == '\n' {
                    out.push('\n');
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if at(i) == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && (at(i + 1) == '\\' || at(i + 2) == '\'') {
            // A character literal ('x', '\n', '\u{..}'); a lifetime has no closing quote.
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The code without `#[cfg(test)] mod … { … }` blocks: what tests import is no dependency.
fn without_test_modules(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(start) = rest.find("#[cfg(test)]") {
        let after = &rest[start + "#[cfg(test)]".len()..];
        let trimmed = after.trim_start();
        let is_mod = trimmed.starts_with("mod ") || trimmed.starts_with("pub(crate) mod ");
        let brace = trimmed.find('{');
        let semi = trimmed.find(';');
        match (is_mod, brace) {
            (true, Some(b)) if semi.is_none_or(|s| s > b) => {
                out.push_str(&rest[..start]);
                let body_start = rest.len() - trimmed.len() + b;
                let mut depth = 0;
                let mut end = rest.len();
                for (k, ch) in rest[body_start..].char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = body_start + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                out.extend(rest[start..end].chars().filter(|&ch| ch == '\n'));
                rest = &rest[end..];
            }
            _ => {
                out.push_str(&rest[..start + "#[cfg(test)]".len()]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every path the code names from `crate::` or `super::`, expanded from `{…}` groups, as
/// absolute module paths, with the line it starts on.
fn references(src: &Source) -> Vec<(ModPath, usize)> {
    let bytes: Vec<char> = src.code.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == '\n' {
            line += 1;
        }
        let starts_word = i == 0 || !(is_ident(bytes[i - 1]) || bytes[i - 1] == ':');
        if starts_word {
            for (word, base) in [
                ("crate::", Some(Vec::new())),
                ("super::", parent(&src.module)),
            ] {
                if matches(&bytes, i, word) {
                    let Some(mut base) = base else { continue };
                    let mut j = i + word.len();
                    // `super::super::…`
                    while word == "super::" && matches(&bytes, j, "super::") {
                        base.pop();
                        j += "super::".len();
                    }
                    for path in tree(&bytes, &mut j) {
                        let mut full = base.clone();
                        full.extend(path);
                        out.push((full, line));
                    }
                }
            }
        }
        i += 1;
    }
    out
}

/// The module `super` names in a file of `module`.
fn parent(module: &ModPath) -> Option<ModPath> {
    // In `a/b.rs` and in `a/b/mod.rs` alike the file is module `a::b` and `super` is `a`.
    let mut p = module.clone();
    p.pop().map(|_| p)
}

fn matches(chars: &[char], at: usize, word: &str) -> bool {
    word.chars()
        .enumerate()
        .all(|(k, c)| chars.get(at + k) == Some(&c))
}

/// The paths of a `use` tree or expression path starting at `*j`: `a::b`, `a::{b, c::d}`.
fn tree(chars: &[char], j: &mut usize) -> Vec<ModPath> {
    let skip_ws = |j: &mut usize| {
        while chars.get(*j).is_some_and(|c| c.is_whitespace()) {
            *j += 1;
        }
    };
    skip_ws(j);
    if chars.get(*j) == Some(&'{') {
        *j += 1;
        let mut out = Vec::new();
        loop {
            skip_ws(j);
            match chars.get(*j) {
                None => break,
                Some('}') => {
                    *j += 1;
                    break;
                }
                Some(',') => *j += 1,
                _ => {
                    let before = *j;
                    out.extend(tree(chars, j));
                    if *j == before {
                        *j += 1;
                    }
                }
            }
        }
        return out;
    }
    let mut ident = String::new();
    while chars.get(*j).is_some_and(|&c| is_ident(c)) {
        ident.push(chars[*j]);
        *j += 1;
    }
    if ident.is_empty() || ident == "self" {
        return vec![Vec::new()];
    }
    if matches(chars, *j, "::") {
        *j += 2;
        let rest = tree(chars, j);
        return rest
            .into_iter()
            .map(|mut p| {
                p.insert(0, ident.clone());
                p
            })
            .collect();
    }
    vec![vec![ident]]
}

/// Edges between sibling modules, keyed by their parent, each with one piece of evidence.
type Edges = BTreeMap<ModPath, BTreeMap<(String, String), String>>;

fn edges(sources: &[Source]) -> Edges {
    let modules: BTreeSet<ModPath> = sources.iter().map(|s| s.module.clone()).collect();
    let mut out: Edges = BTreeMap::new();
    for src in sources {
        for (path, line) in references(src) {
            // The longest module the path names.
            let Some(target) = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains(p))
            else {
                continue;
            };
            let common = src
                .module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common == src.module.len() || common == target.len() {
                continue; // within one module, or between a module and its own ancestor
            }
            let from = src.module[common].clone();
            let to = target[common].clone();
            out.entry(src.module[..common].to_vec())
                .or_default()
                .entry((from, to))
                .or_insert_with(|| {
                    format!("{}:{line} → {}", src.file.display(), target.join("::"))
                });
        }
    }
    out
}

/// The cycles among each module's children: strongly connected components of two or more.
fn cycles(edges: &Edges) -> Vec<String> {
    let mut found = Vec::new();
    for (parent, es) in edges {
        let nodes: BTreeSet<&String> = es.keys().flat_map(|(a, b)| [a, b]).collect();
        let reach = |from: &String| -> BTreeSet<String> {
            let mut seen = BTreeSet::new();
            let mut todo = vec![from.clone()];
            while let Some(n) = todo.pop() {
                for ((a, b), _) in es.iter() {
                    if *a == n && seen.insert(b.clone()) {
                        todo.push(b.clone());
                    }
                }
            }
            seen
        };
        let mut reported: BTreeSet<String> = BTreeSet::new();
        for n in &nodes {
            if reported.contains(*n) || !reach(n).contains(*n) {
                continue;
            }
            let component: BTreeSet<String> = nodes
                .iter()
                .filter(|m| reach(n).contains(**m) && reach(m).contains(*n))
                .map(|m| (*m).clone())
                .collect();
            let evidence: Vec<&String> = es
                .iter()
                .filter(|((a, b), _)| component.contains(a) && component.contains(b))
                .map(|(_, e)| e)
                .collect();
            let scope = if parent.is_empty() {
                "crate".to_string()
            } else {
                parent.join("::")
            };
            found.push(format!(
                "in {scope}: {} — {}",
                component.iter().cloned().collect::<Vec<_>>().join(", "),
                evidence
                    .iter()
                    .map(|e| e.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
            reported.extend(component);
        }
    }
    found
}

#[test]
fn no_module_import_cycles() {
    let mut found = Vec::new();
    for root in workspace_crates() {
        let krate = root
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for cycle in cycles(&edges(&sources_in(&root))) {
            found.push(format!("{krate}: {cycle}"));
        }
    }
    assert!(
        found.is_empty(),
        "module import cycles:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_engine_is_pure() {
    // Plain data in, decisions out: no storage, no jobs, no state, and of this crate only the
    // pure modules. Of `picket_core` only the tenant id newtype.
    let forbidden = [
        "sqlx",
        "sea_query",
        "AppState",
        "tokio",
        "reqwest",
        "Db",
        "Tx",
    ];
    let pure = ["engine"];
    let sources = sources();
    let mut found = Vec::new();
    for src in sources
        .iter()
        .filter(|s| s.module.first().is_some_and(|m| m == "engine"))
    {
        let words: BTreeSet<&str> = src
            .code
            .split(|c: char| !is_ident(c))
            .filter(|w| !w.is_empty())
            .collect();
        for word in forbidden {
            if words.contains(word) {
                found.push(format!("{} names `{word}`", src.file.display()));
            }
        }
        for (at, _) in src.code.match_indices("picket_corpus::") {
            let rest = &src.code[at + "picket_corpus::".len()..];
            if !(rest.starts_with("taxonomy") || rest.starts_with("grid")) {
                found.push(format!(
                    "{} uses `picket_corpus` beyond `taxonomy` and `grid`",
                    src.file.display()
                ));
            }
        }
        for (at, _) in src.code.match_indices("picket_core::") {
            if !src.code[at..].starts_with("picket_core::identity::TenantId") {
                found.push(format!(
                    "{} uses `picket_core` beyond `TenantId`",
                    src.file.display()
                ));
            }
        }
        for (path, line) in references(src) {
            if path.first().is_some_and(|m| !pure.contains(&m.as_str())) {
                found.push(format!(
                    "{}:{line} uses `{}`",
                    src.file.display(),
                    path.join("::")
                ));
            }
        }
    }
    let corpus = sources_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../picket-corpus/src"));
    for src in corpus
        .iter()
        .filter(|s| s.module == ["grid"] || s.module == ["taxonomy"])
    {
        for (path, line) in references(src) {
            if path
                .first()
                .is_some_and(|m| !["grid", "taxonomy"].contains(&m.as_str()))
            {
                found.push(format!(
                    "{}:{line} uses `{}`",
                    src.file.display(),
                    path.join("::")
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the engine is not pure:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_checker_sees_paths_and_cycles() {
    let src = |module: &[&str], file: &str, text: &str| Source {
        module: module.iter().map(|s| s.to_string()).collect(),
        file: PathBuf::from(file),
        code: without_test_modules(&code_only(text)),
    };
    let a = src(
        &["a", "x"],
        "a/x.rs",
        "use super::{y::{self, Z}, w};\n// crate::b::C\nlet s = \"crate::b\";\nfn f() { crate::b::g(); }\n\
         #[cfg(test)]\nmod tests { use crate::c::T; }\n",
    );
    let refs: Vec<ModPath> = references(&a).into_iter().map(|(p, _)| p).collect();
    let path = |s: &str| s.split("::").map(String::from).collect::<ModPath>();
    assert_eq!(
        refs,
        vec![path("a::y"), path("a::y::Z"), path("a::w"), path("b::g")]
    );

    let sources = vec![
        a,
        src(&["a"], "a/mod.rs", "mod x; mod y; mod w;"),
        src(&["a", "y"], "a/y.rs", "use super::x::F;"),
        src(&["a", "w"], "a/w.rs", "use crate::a::Reexported;"),
        src(&["b"], "b.rs", "use crate::a::x::F;"),
    ];
    let found = cycles(&edges(&sources));
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].starts_with("in crate: a, b"), "{found:?}");
    assert!(found[1].starts_with("in a: x, y"), "{found:?}");
}

/// Prints the edges between sibling modules of `picket-watch`: `cargo test -p picket --test api
/// module_graph::print -- --ignored --nocapture`.
#[test]
#[ignore = "prints the module graph"]
fn print_module_graph() {
    for (parent, es) in edges(&sources()) {
        let scope = if parent.is_empty() {
            "crate".to_string()
        } else {
            parent.join("::")
        };
        for ((from, to), evidence) in es {
            println!("{scope}: {from} → {to}   ({evidence})");
        }
    }
}
