//! One base for every relative path in a site config: the config file's folder. A command
//! started from another folder then opens the same SQLite database as the daemon (a second,
//! empty database had left a daemon open to anyone, with the users in the first).

use std::path::Path;

/// `url` with a relative SQLite file put under `base`; PostgreSQL URLs, absolute paths
/// and in-memory databases are returned as they are.
pub(super) fn resolve_database_url(url: &str, base: &Path) -> String {
    let Some(sqlite) = crate::dburl::parse(url) else {
        return url.to_owned();
    };
    if sqlite.in_memory() || Path::new(sqlite.file).is_absolute() {
        return url.to_owned();
    }
    let joined = base.join(sqlite.file);
    match sqlite.query {
        Some(q) => format!("sqlite://{}?{q}", joined.display()),
        None => format!("sqlite://{}", joined.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_sqlite_files_go_under_the_config_folder() {
        let base = Path::new("/etc/sitewatch");
        let cases = [
            ("sqlite://data/sw.db", "sqlite:///etc/sitewatch/data/sw.db"),
            ("sqlite:sw.db", "sqlite:///etc/sitewatch/sw.db"),
            (
                "sqlite://sw.db?mode=ro",
                "sqlite:///etc/sitewatch/sw.db?mode=ro",
            ),
            ("sqlite:///var/lib/sw.db", "sqlite:///var/lib/sw.db"),
            ("sqlite::memory:", "sqlite::memory:"),
            ("postgres://u@h/db", "postgres://u@h/db"),
        ];
        for (given, want) in cases {
            assert_eq!(resolve_database_url(given, base), want, "{given}");
        }
    }

    #[test]
    fn a_config_in_the_working_directory_keeps_its_relative_path() {
        // `--config site.toml`: the parent is "", and the file stays where it was.
        assert_eq!(
            resolve_database_url("sqlite://data/sw.db", Path::new("")),
            "sqlite://data/sw.db"
        );
    }
}
