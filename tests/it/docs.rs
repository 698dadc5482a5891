//! The guides cannot drift from the code: every ```toml snippet in README.md and docs/ is
//! run through `sitewatch check`, a whole config as it is, a fragment appended to a
//! minimal site, and a ```toml profile snippet as a site's own profile.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One fenced snippet: where it starts, its info string and its text.
struct Snippet {
    at: String,
    info: String,
    text: String,
}

fn snippets(file: &Path) -> Vec<Snippet> {
    let text = std::fs::read_to_string(file).expect("readable doc");
    let mut out = Vec::new();
    let mut open: Option<(usize, usize, String, String)> = None;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match open.take() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```").filter(|i| !i.is_empty()) {
                    open = Some((n + 1, indent, info.trim().to_owned(), String::new()));
                }
            }
            Some((start, _, info, body)) if trimmed == "```" => {
                out.push(Snippet {
                    at: format!("{}:{start}", file.display()),
                    info,
                    text: body,
                });
            }
            Some((start, ind, info, mut body)) => {
                body.push_str(line.get(ind.min(indent)..).unwrap_or_default());
                body.push('\n');
                open = Some((start, ind, info, body));
            }
        }
    }
    out
}

fn docs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    files.push(root.join("README.md"));
    files
}

const BASE: &str = "[site]\nid = \"docs\"\nname = \"Docs\"\n\n";

/// `None` when `check` accepts the snippet, else what it said.
fn check(snippet: &Snippet) -> Option<String> {
    let dir = tempfile::tempdir().expect("dir");
    // Snippets may name these folders; they exist and are empty unless the snippet fills one.
    std::fs::create_dir(dir.path().join("devices")).expect("mkdir");
    std::fs::create_dir(dir.path().join("profiles")).expect("mkdir");
    let config = if snippet.info == "toml profile" {
        std::fs::write(dir.path().join("profiles/snippet.toml"), &snippet.text).expect("write");
        format!("{BASE}[profiles]\ndir = \"profiles\"\n")
    } else if snippet.text.contains("[site]") {
        snippet.text.clone()
    } else {
        format!("{BASE}{}", snippet.text)
    };
    let path = dir.path().join("site.toml");
    std::fs::write(&path, config).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_sitewatch"))
        .args(["check", "--config"])
        .arg(&path)
        .env("RUST_LOG", "warn")
        .output()
        .expect("binary runs");
    (!out.status.success()).then(|| String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn every_toml_snippet_in_the_guides_passes_check() {
    let all: Vec<Snippet> = docs()
        .iter()
        .flat_map(|f| snippets(f))
        .filter(|s| s.info == "toml" || s.info == "toml profile")
        .collect();
    // The guides show the site, devices, alarm limits, patrol, notices, KPIs, backups.
    assert!(all.len() >= 15, "only {} toml snippets found", all.len());
    let failures: Vec<String> = all
        .iter()
        .filter_map(|s| check(s).map(|why| format!("{}:\n{why}", s.at)))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_readme_cites_only_files_the_repository_has() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    for link in readme.split("](").skip(1) {
        let target = link.split(')').next().unwrap_or_default();
        let target = target.split('#').next().unwrap_or_default();
        if !target.starts_with("http") && !target.is_empty() {
            assert!(
                root.join(target).exists(),
                "README links to missing {target}"
            );
        }
    }
    assert!(
        !readme.contains("rules.md"),
        "README cites a rules.md the repository lacks"
    );
}
