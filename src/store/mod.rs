//! Storage on SQLite (embedded default, WAL) or PostgreSQL through one sqlx `AnyPool`.
//! SQL is portable; timestamps are UTC milliseconds in `bigint` columns; each backend has
//! its own migrations (`migrations/sqlite`, `migrations/postgres`).

mod audit;
pub mod backlog;
pub mod central;
mod compliance;
mod customers;
pub mod duty;
mod files;
mod health;
mod inspections;
mod meters;
mod metrics;
pub mod notices;
pub mod notify;
mod outbox;
pub mod pages;
mod patrol;
mod plans;
mod readings;
pub mod records;
mod snapshots;
mod state;
mod users;
pub mod writer;

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Connection, Executor};
use thiserror::Error;

pub use audit::{AuditEntry, AuditFilter};
pub use customers::ImportSummary;
pub use duty::{DutyEntry, FireTest};
pub use files::StoredFile;
pub use health::WriteReport;
pub use metrics::StoreMetrics;
pub use outbox::{OutMessage, Queued, Unwritten};
pub use pages::{FloodRow, NewPage, Outcome, PageRecord, PagesTx};
pub use plans::{MarkerRow, PlanRow};
pub use readings::PointKeys;
pub use readings::{EventRow, JournalRow, Reading};
pub use records::Record;
pub use users::{Holder, UserRow};

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file, WAL mode.
    Sqlite,
    /// A server.
    Postgres,
}

/// A store failure.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The URL names no supported backend.
    #[error("unsupported database url `{0}`: use sqlite://… or postgres://…")]
    Url(String),
    /// The data directory could not be made.
    #[error("cannot create data directory {0}: {1}")]
    Dir(String, std::io::Error),
    /// The database refused or failed.
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// A migration failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A point has no key in `point_keys` even after one was given (something else
    /// deleted it meanwhile).
    #[error("point {0} has no key in point_keys")]
    NoPointKey(String),
}

/// Cheap-clone handle to the database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The central feed, set once at start when `[central]` is: records written outside
    /// the writer (registers, notices) put their outbox row in with them. Shared by every
    /// clone.
    central: std::sync::Arc<std::sync::OnceLock<central::Feed>>,
}

impl Store {
    /// Connects (creating a SQLite file and its directory when missing). Does not migrate.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        install_default_drivers();
        let backend = backend_of(url)?;
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let pool = AnyPoolOptions::new()
            // SQLite takes one writer at a time and WAL readers do not wait for it, so two
            // connections let a read run beside a write; more would only hold more
            // threads, parsed schemas and page caches.
            .max_connections(if backend == Backend::Sqlite { 2 } else { 8 })
            .acquire_timeout(Duration::from_secs(5))
            // A failed COMMIT or ROLLBACK can leave sqlx counting a transaction the database
            // has already ended (SQLite rolls back by itself when the disk is full), and such
            // a connection refuses every later BEGIN ("attempted to call begin_with at
            // non-zero transaction depth"). An idle connection is never in a transaction:
            // close one that says so and let the pool open a fresh one.
            .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // One statement each: not every driver path runs a multi-statement string.
                        for pragma in [
                            "pragma journal_mode = wal",
                            "pragma busy_timeout = 5000",
                            "pragma synchronous = normal",
                            // Statement journals (a multi-row insert inside a transaction
                            // keeps one to undo itself) in memory, not in a temporary file
                            // written and deleted per transaction.
                            "pragma temp_store = memory",
                            // 512 KiB of page cache per connection instead of 2 MiB: four
                            // connections could otherwise grow the daemon by 8 MiB over
                            // days of history queries; the OS caches the file anyway.
                            "pragma cache_size = -512",
                        ] {
                            conn.execute(pragma).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        Ok(Store {
            pool,
            backend,
            central: std::sync::Arc::default(),
        })
    }

    /// Applies pending migrations for this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => SQLITE.run(&self.pool).await?,
            Backend::Postgres => POSTGRES.run(&self.pool).await?,
        }
        Ok(())
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("select 1").execute(&self.pool).await.is_ok()
    }

    /// A transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads first and writes later fails
    /// at once with "database is locked" when another writer got in between, instead of
    /// waiting its turn.
    pub(crate) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// The pool, for the per-aggregate modules.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes every connection, waiting for those in use.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn backend_of(url: &str) -> Result<Backend, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::Url(url.to_owned()))
    }
}

/// Adds `mode=rwc` and creates the file's directory, so a fresh clone just works.
fn sqlite_url(url: &str) -> Result<String, StoreError> {
    let sqlite = crate::dburl::parse(url).ok_or_else(|| StoreError::Url(url.to_owned()))?;
    if let Some(dir) = Path::new(sqlite.file)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Dir(dir.display().to_string(), e))?;
    }
    Ok(match sqlite.query {
        Some(q) => format!("sqlite://{}?{q}", sqlite.file),
        None => format!("sqlite://{}?mode=rwc", sqlite.file),
    })
}

/// `($1, $2, $3), ($4, $5, $6), …` for a multi-row insert on PostgreSQL; `(?, ?, ?), …` on
/// SQLite (`conn` tells which). On SQLite the plain `?` matters: sqlx looks up the name of
/// every parameter of a statement, and SQLite finds a `$n` name by scanning the
/// statement's list of names, so `$n` costs the square of the parameters per statement
/// (a tenth of all CPU of an MQTT burst), while an unnamed `?` has no name to scan.
pub(crate) fn placeholders(conn: &sqlx::AnyConnection, rows: usize, cols: usize) -> String {
    numbered_placeholders(conn.backend_name() != "SQLite", rows, cols)
}

fn numbered_placeholders(numbered: bool, rows: usize, cols: usize) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(rows * cols * 6);
    for r in 0..rows {
        s.push_str(if r == 0 { "(" } else { ", (" });
        for c in 1..=cols {
            if c > 1 {
                s.push_str(", ");
            }
            if numbered {
                let _ = write!(s, "${}", r * cols + c);
            } else {
                s.push('?');
            }
        }
        s.push(')');
    }
    s
}

/// Most rows in one multi-row insert: up to 1,536 parameters (outbox rows have 6), far
/// below either backend's limit (SQLite 32,766, PostgreSQL 65,535).
const STATEMENT_ROWS: usize = 256;

/// `rows` in pieces for multi-row inserts: at most [`STATEMENT_ROWS`] each, the rest in
/// falling powers of two (37 rows: 32, 4, 1), so a handful of sizes keeps the
/// prepared-statement cache warm. Fewer, larger statements mean fewer round trips to
/// SQLite's worker thread and fewer statement journals in a transaction.
pub(crate) fn statement_chunks<T>(mut rows: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if rows.is_empty() {
            return None;
        }
        let n = rows.len().min(STATEMENT_ROWS);
        let (head, rest) = rows.split_at(1 << n.ilog2());
        rows = rest;
        Some(head)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_take_few_distinct_sizes_and_every_row() {
        let rows: Vec<usize> = (0..600).collect();
        let sizes: Vec<usize> = statement_chunks(&rows).map(<[usize]>::len).collect();
        assert_eq!(sizes, vec![256, 256, 64, 16, 8]);
        let back: Vec<usize> = statement_chunks(&rows).flatten().copied().collect();
        assert_eq!(back, rows);
    }

    #[test]
    fn placeholders_number_every_cell() {
        assert_eq!(numbered_placeholders(true, 2, 2), "($1, $2), ($3, $4)");
        assert_eq!(numbered_placeholders(false, 2, 3), "(?, ?, ?), (?, ?, ?)");
    }

    #[test]
    fn unknown_scheme_is_refused() {
        assert!(matches!(backend_of("mysql://x"), Err(StoreError::Url(_))));
    }
}
