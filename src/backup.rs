//! `sitewatch backup` and `restore` for a SQLite site. A backup is SQLite's `VACUUM INTO`:
//! one read transaction, so the copy is consistent while the daemon goes on writing, and
//! the result is a plain database file. A restore checks the file, copies it in beside the
//! site's database and renames it over it, then applies any newer migrations. PostgreSQL
//! sites use `pg_dump` and `pg_restore` (docs/backup.md).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row};

use crate::config::Config;
use crate::store::Store;

/// Writes a consistent copy of the site's database to `file`, which must not exist.
pub async fn backup(config: &Config, file: &Path) -> anyhow::Result<()> {
    let db = sqlite_file(&config.database.url)?;
    anyhow::ensure!(
        db.exists(),
        "no database at {} yet (`serve` or `migrate` creates it)",
        db.display()
    );
    anyhow::ensure!(
        !file.exists(),
        "{} exists; a backup never overwrites a file",
        file.display()
    );
    let mut conn = open(&db).await?;
    sqlx::query("VACUUM INTO ?")
        .bind(file.display().to_string())
        .execute(&mut conn)
        .await
        .with_context(|| format!("Failed to back up {} to {}", db.display(), file.display()))?;
    println!("backed up {} to {}", db.display(), file.display());
    Ok(())
}

/// Puts the backup `file` in place of the site's database. Refuses when that database
/// holds records, unless `overwrite`. The daemon must be stopped.
pub async fn restore(config: &Config, file: &Path, overwrite: bool) -> anyhow::Result<()> {
    let db = sqlite_file(&config.database.url)?;
    let mut backup = open(file).await?;
    let check: String = sqlx::query_scalar("pragma integrity_check")
        .fetch_one(&mut backup)
        .await
        .with_context(|| format!("{} is not a SQLite database", file.display()))?;
    anyhow::ensure!(check == "ok", "{} is damaged: {check}", file.display());
    if db.exists() && !overwrite {
        let rows = rows_kept(&mut open(&db).await?).await?;
        anyhow::ensure!(
            rows == 0,
            "{} holds {rows} records; stop the daemon and add --overwrite to replace them",
            db.display()
        );
    }
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    // A copy beside the database first, so the rename over it is one step on one disk.
    let incoming = sibling(&db, "restoring");
    let _ = std::fs::remove_file(&incoming);
    sqlx::query("VACUUM INTO ?")
        .bind(incoming.display().to_string())
        .execute(&mut backup)
        .await
        .with_context(|| format!("Failed to copy {}", file.display()))?;
    for stale in [sibling(&db, "wal"), sibling(&db, "shm")] {
        let _ = std::fs::remove_file(stale);
    }
    std::fs::rename(&incoming, &db)
        .with_context(|| format!("Failed to move the restored copy to {}", db.display()))?;
    Store::connect(&config.database.url)
        .await?
        .migrate()
        .await?;
    println!("restored {} from {}", db.display(), file.display());
    Ok(())
}

/// The SQLite file a database URL names; PostgreSQL has its own tools.
fn sqlite_file(url: &str) -> anyhow::Result<PathBuf> {
    let Some(sqlite) = crate::dburl::parse(url) else {
        anyhow::bail!("the database is not SQLite: use pg_dump and pg_restore (docs/backup.md)");
    };
    anyhow::ensure!(!sqlite.in_memory(), "`{url}` is not a database file");
    Ok(PathBuf::from(sqlite.file))
}

async fn open(file: &Path) -> anyhow::Result<SqliteConnection> {
    anyhow::ensure!(file.exists(), "{} does not exist", file.display());
    let options = SqliteConnectOptions::new()
        .filename(file)
        .busy_timeout(Duration::from_secs(30));
    SqliteConnection::connect_with(&options)
        .await
        .with_context(|| format!("Failed to open {}", file.display()))
}

/// Rows in every table but the migration ledger: what a restore would throw away.
async fn rows_kept(conn: &mut SqliteConnection) -> anyhow::Result<i64> {
    let tables: Vec<String> = sqlx::query(
        "select name from sqlite_master where type = 'table' \
         and name not like 'sqlite_%' and name != '_sqlx_migrations'",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect();
    let mut rows = 0;
    for t in tables {
        let q = format!("select count(*) from \"{}\"", t.replace('"', "\"\""));
        rows += sqlx::query_scalar::<_, i64>(&q)
            .fetch_one(&mut *conn)
            .await?;
    }
    Ok(rows)
}

fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(format!("-{suffix}"));
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sqlite_files_are_backed_up_here() {
        assert_eq!(
            sqlite_file("sqlite:///var/lib/sitewatch/sitewatch.db?mode=rwc").unwrap(),
            PathBuf::from("/var/lib/sitewatch/sitewatch.db")
        );
        let pg = sqlite_file("postgres://u@h/db").unwrap_err().to_string();
        assert!(pg.contains("pg_dump"), "{pg}");
        assert!(sqlite_file("sqlite::memory:").is_err());
    }
}
