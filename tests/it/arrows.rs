//! Which top-level module of `src/` may import which: every `crate::` path (and every
//! `super::` path that climbs to the crate) must follow an arrow listed here, and every
//! top-level module must be listed. A wrong-way import fails with its file and line.
//! Keep `docs/architecture.md` ("Module arrows") in step with the list.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each top-level module and the modules it may import. Leaves import none.
const ARROWS: &[(&str, &[&str])] = &[
    // Leaves.
    ("access", &[]),
    ("broker", &[]),
    ("dburl", &[]),
    ("billing", &[]),
    ("health", &[]),
    ("memory", &[]),
    ("metrics", &[]),
    ("shutdown", &[]),
    ("telemetry", &[]),
    // Config reads database URLs one way, with the store and backups.
    ("config", &["dburl"]),
    // Devices read through the profiles config parsed and register their figures.
    ("devices", &["config", "metrics"]),
    // The unit register's records, notices and the message plan: plain types the store
    // persists and customers and notify use.
    ("register", &["config"]),
    (
        "store",
        &["access", "billing", "dburl", "metrics", "register"],
    ),
    // The estate's meter table (issue 24): swept by its own tasks, read by engine and http.
    (
        "estate",
        &["billing", "config", "devices", "metrics", "register"],
    ),
    (
        "engine",
        &[
            "billing", "config", "estate", "metrics", "register", "store",
        ],
    ),
    ("accounts", &["access", "store"]),
    ("backup", &["config", "dburl", "store"]),
    ("scans", &["devices", "engine", "store"]),
    (
        "customers",
        &["engine", "metrics", "notify", "register", "store"],
    ),
    ("notify", &["config", "metrics", "register", "store"]),
    // Paging takes the engine's alarm events from the queue the engine owns.
    (
        "paging",
        &["config", "engine", "metrics", "notify", "store"],
    ),
    // `http` for the refusals a command from the centre gets: the site route's own.
    (
        "outbox",
        &["config", "devices", "engine", "http", "metrics", "store"],
    ),
    (
        "http",
        &[
            "access",
            "billing",
            "config",
            "customers",
            "engine",
            "estate",
            "health",
            "metrics",
            "notify",
            "paging",
            "register",
            "scans",
            "store",
        ],
    ),
    // The wiring and the tools on top.
    (
        "app",
        &[
            "accounts",
            "config",
            "customers",
            "devices",
            "engine",
            "estate",
            "health",
            "http",
            "memory",
            "metrics",
            "notify",
            "outbox",
            "paging",
            "register",
            "scans",
            "store",
        ],
    ),
    // The central office: the forwarder's wire names, its own config read like a site's,
    // and the site's sign-in, roles and error bodies (its operators sign in like a site's).
    (
        "central",
        &[
            "access", "config", "engine", "http", "metrics", "outbox", "store",
        ],
    ),
    (
        "bench",
        &[
            "app",
            "broker",
            "central",
            "config",
            "customers",
            "devices",
            "metrics",
            "outbox",
            "store",
        ],
    ),
    ("fuzzing", &["config", "customers", "devices", "http"]),
    (
        "cli",
        &[
            "access",
            "accounts",
            "app",
            "backup",
            "bench",
            "billing",
            "broker",
            "central",
            "config",
            "customers",
            "devices",
            "shutdown",
            "store",
        ],
    ),
];

/// The crate roots: they declare the modules, they are no module of their own.
const ROOTS: [&str; 2] = ["lib", "main"];

#[test]
fn imports_follow_the_module_arrows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    let mut unlisted = BTreeSet::new();
    for file in rust_files(&src) {
        let rel = file.strip_prefix(&src).expect("under src");
        let path = module_path(rel);
        let Some(from) = path.first().map(String::as_str) else {
            continue;
        };
        let Some(allowed) = allowed(from) else {
            unlisted.insert(format!("src/{}", rel.display()));
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("readable");
        for (line, to) in crate_imports(&text, &path) {
            if to != from && !allowed.contains(&to.as_str()) {
                wrong.push(format!(
                    "src/{}:{line}: `{from}` imports `{to}`, not an allowed arrow",
                    rel.display()
                ));
            }
        }
    }
    assert!(
        unlisted.is_empty(),
        "top-level modules missing from ARROWS (tests/it/arrows.rs): {unlisted:#?}"
    );
    assert!(
        wrong.is_empty(),
        "imports going the wrong way:\n{}",
        wrong.join("\n")
    );
}

/// The list itself runs one way: no module reaches itself through its arrows, so a
/// back-arrow cannot be allowed by adding it to the list.
#[test]
fn the_arrows_make_no_cycle() {
    fn reaches(from: &str, target: &str, seen: &mut BTreeSet<String>) -> bool {
        allowed(from)
            .unwrap_or(&[])
            .iter()
            .any(|to| *to == target || (seen.insert((*to).to_owned()) && reaches(to, target, seen)))
    }
    let cycles: Vec<&str> = ARROWS
        .iter()
        .map(|(m, _)| *m)
        .filter(|m| reaches(m, m, &mut BTreeSet::new()))
        .collect();
    assert!(cycles.is_empty(), "modules on an import cycle: {cycles:?}");
}

#[test]
fn the_scanner_sees_grouped_nested_and_climbing_imports() {
    let text = "use crate::{\n    a::X,\n    b::{c, d},\n};\n// crate::commented\nfn f() { crate::e::g(); super::super::store::i(); super::helper(); }\n";
    let path = ["x".to_owned(), "y".to_owned()];
    let got = crate_imports(text, &path);
    let want = [(2, "a"), (3, "b"), (6, "e"), (6, "store")];
    let want: Vec<(usize, String)> = want.iter().map(|(l, m)| (*l, (*m).to_owned())).collect();
    assert_eq!(got, want);
    assert_eq!(module_path(Path::new("http/auth/mod.rs")), ["http", "auth"]);
    assert!(module_path(Path::new("lib.rs")).is_empty());
}

fn allowed(module: &str) -> Option<&'static [&'static str]> {
    ARROWS.iter().find(|(m, _)| *m == module).map(|(_, to)| *to)
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// `http/auth/login.rs` is `http::auth::login`; `http/mod.rs` is `http`; the crate roots
/// are no module.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts.len() == 1 && ROOTS.contains(&parts[0].as_str()) {
        parts.clear();
    }
    parts
}

/// Every top-level module a file's code names, with its line: `crate::m`, each name of a
/// `crate::{…}` group, and `super::` chains that climb to the crate root. Comments are
/// left out.
fn crate_imports(text: &str, path: &[String]) -> Vec<(usize, String)> {
    let code = without_comments(text);
    let mut out = Vec::new();
    let mut at = 0;
    let line_of = |offset: usize| code[..offset].matches('\n').count() + 1;
    while let Some((start, rest)) = next_path(&code, at) {
        at = start + 1;
        for (offset, name) in first_segments(&code[rest..]) {
            out.push((line_of(rest + offset), name));
        }
    }
    for (start, _) in code.match_indices("super::") {
        let preceded = code[..start].ends_with("super::");
        if preceded || is_ident_end(&code[..start]) {
            continue;
        }
        let mut rest = start;
        let mut climbs = 0;
        while code[rest..].starts_with("super::") {
            climbs += 1;
            rest += "super::".len();
        }
        // `super` in `a/b.rs` (module `a::b`) is `a`; one more climb is the crate. An
        // inline module (`mod tests`) climbs one more than its file: only names of
        // top-level modules count, so its `super::helper` is not taken for one.
        if climbs == path.len() {
            let names = first_segments(&code[rest..]).into_iter();
            let top = names.filter(|(_, n)| allowed(n).is_some());
            out.extend(top.map(|(offset, n)| (line_of(rest + offset), n)));
        }
    }
    out.sort();
    out
}

/// The next `crate::` at or after `from` that is a path (not `$crate::` or part of a
/// longer word): its start and where the path after it begins.
fn next_path(code: &str, from: usize) -> Option<(usize, usize)> {
    let mut at = from;
    loop {
        let i = at + code[at..].find("crate::")?;
        let before = &code[..i];
        if !before.ends_with('$') && !is_ident_end(before) {
            return Some((i, i + "crate::".len()));
        }
        at = i + 1;
    }
}

fn is_ident_end(s: &str) -> bool {
    s.chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// The first segment of the path at the start of `rest`, or of each path of a `{…}`
/// group there (`self` left out), with its offset in `rest`.
fn first_segments(rest: &str) -> Vec<(usize, String)> {
    let Some(group) = rest.strip_prefix('{') else {
        return ident(rest).map(|n| (0, n)).into_iter().collect();
    };
    let mut names = Vec::new();
    let mut depth = 0;
    let mut start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            c if start && !c.is_whitespace() => {
                start = false;
                names.extend(ident(&group[i..]).map(|n| (i + 1, n)));
            }
            _ => {}
        }
    }
    names.retain(|(_, n)| n != "self");
    names
}

fn ident(s: &str) -> Option<String> {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (end > 0).then(|| s[..end].to_owned())
}

/// The text with `//` comments blanked (line breaks kept, so lines still count); a `//`
/// inside a string literal is rare enough in `src/` to be taken as a comment too.
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}
