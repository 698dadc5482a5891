//! The one reading of a SQLite database URL (`sqlite://file?query`, `sqlite:file`), shared
//! by the store (which opens it), the config (which puts a relative file under the config's
//! folder) and backups (which copy the file). A leaf: it imports nothing of the crate.

/// A SQLite URL taken apart; `None` from [`parse`] for any other database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteUrl<'a> {
    /// The file as written (relative, absolute, or empty / `:memory:` for an in-memory
    /// database).
    pub file: &'a str,
    /// What follows `?`, such as `mode=ro`.
    pub query: Option<&'a str>,
}

impl SqliteUrl<'_> {
    /// Whether the database lives in memory rather than in a file.
    pub fn in_memory(&self) -> bool {
        self.file.is_empty() || self.file.starts_with(':')
    }
}

/// `url` taken apart when it names a SQLite database.
pub fn parse(url: &str) -> Option<SqliteUrl<'_>> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (file, query) = rest
        .split_once('?')
        .map_or((rest, None), |(f, q)| (f, Some(q)));
    Some(SqliteUrl { file, query })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_and_the_query_are_read() {
        let url = parse("sqlite://data/sw.db?mode=ro").expect("sqlite");
        assert_eq!((url.file, url.query), ("data/sw.db", Some("mode=ro")));
        let url = parse("sqlite:sw.db").expect("sqlite");
        assert_eq!((url.file, url.query), ("sw.db", None));
        assert!(parse("sqlite::memory:").expect("sqlite").in_memory());
        assert!(parse("postgres://u@h/db").is_none());
    }
}
