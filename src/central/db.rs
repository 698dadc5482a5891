//! The central PostgreSQL database: migrations (`migrations/central`), monthly partitions,
//! and one batch of records applied in one transaction with upserts, so a record
//! delivered twice (a redelivery, or a site's resend after the stream's duplicate window)
//! is applied once.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder};

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/central");

/// One record as it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// The site.
    pub site: String,
    /// Its id at the site (the site's outbox row id).
    pub id: i64,
    /// Its sequence in the JetStream stream.
    pub seq: i64,
    /// Its kind (`alarm`, `scan`, `state`, `reading`…).
    pub kind: String,
    /// When it was decided (ms since the epoch).
    pub at_ms: i64,
    /// What it is about (alarm id, point, book name…).
    pub subject: String,
    /// The record itself.
    pub body: serde_json::Value,
    /// How many records the site still held unsent after this one (`Sitewatch-Backlog`;
    /// absent from a site older than the header).
    pub backlog: Option<i64>,
}

/// Connects and migrates.
pub async fn connect(url: &str) -> anyhow::Result<PgPool> {
    use anyhow::Context as _;
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect(url)
        .await
        .context("Failed to connect to the central database")?;
    MIGRATIONS
        .run(&pool)
        .await
        .context("Failed to migrate the central database")?;
    Ok(pool)
}

/// Makes the monthly partitions of records and history from last month to two months
/// ahead (a partition whose month already has rows in the default one is left: those
/// rows stay there).
pub async fn make_partitions(pool: &PgPool, now: DateTime<Utc>) {
    let Some(this) = NaiveDate::from_ymd_opt(now.year(), now.month(), 1) else {
        return;
    };
    for step in 0..4 {
        let Some(from) = this
            .checked_sub_months(Months::new(1))
            .and_then(|m| m.checked_add_months(Months::new(step)))
        else {
            continue;
        };
        let Some(to) = from.checked_add_months(Months::new(1)) else {
            continue;
        };
        for table in ["central_records", "central_history"] {
            let name = format!("{table}_y{}m{:02}", from.year(), from.month());
            let sql = format!(
                "create table if not exists {name} partition of {table} \
                 for values from ('{from}') to ('{to}')"
            );
            if let Err(e) = sqlx::query(&sql).execute(pool).await {
                tracing::debug!(error = %e, partition = %name, "partition not made");
            }
        }
    }
}

/// Applies `batch` in one transaction, with each site's highest stream sequence and id in
/// `central_marks` (the watermark moves later, by [`advance`]).
pub async fn apply(pool: &PgPool, batch: &[Incoming], now_ms: i64) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let (history, rest): (Vec<&Incoming>, Vec<&Incoming>) =
        batch.iter().partition(|r| r.kind == "reading");
    // Book snapshots are records too (every id a site sent is kept once); the latest of
    // each book is also kept apart, for the fleet view.
    let states: Vec<&Incoming> = rest.iter().copied().filter(|r| r.kind == "state").collect();
    for chunk in rest.chunks(1000) {
        insert_records(&mut tx, chunk, now_ms).await?;
    }
    for chunk in history.chunks(2000) {
        insert_history(&mut tx, chunk).await?;
    }
    for s in &states {
        upsert_state(&mut tx, s).await?;
    }
    for (site, m) in &high_marks(batch) {
        upsert_site(&mut tx, site, m, now_ms).await?;
        sqlx::query(
            "insert into central_marks (site_id, stream_seq, record_id) values ($1, $2, $3) \
             on conflict do nothing",
        )
        .bind(site)
        .bind(m.seq)
        .bind(m.id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// One site's highest figures in a batch.
#[derive(Debug, Default)]
struct High {
    id: i64,
    seq: i64,
    last_ms: i64,
    /// The backlog the highest sequence carried.
    backlog: Option<i64>,
}

/// Per site: the highest id, stream sequence and record time.
fn high_marks(batch: &[Incoming]) -> BTreeMap<String, High> {
    let mut marks: BTreeMap<String, High> = BTreeMap::new();
    for r in batch {
        let m = marks.entry(r.site.clone()).or_default();
        m.id = m.id.max(r.id);
        if r.seq > m.seq {
            m.backlog = r.backlog;
        }
        m.seq = m.seq.max(r.seq);
        m.last_ms = m.last_ms.max(r.at_ms);
    }
    marks
}

/// Raises the watermarks the consumer's ack floor now covers: every message at or below
/// `ack_floor` is acknowledged, so committed, and a batch whose highest sequence is there
/// was committed whole. The highest id of a batch applied later than messages still
/// waiting for redelivery (a consumer killed mid-drain) waits until they are in. Returns
/// the sites whose watermark was raised, with it.
pub async fn advance(pool: &PgPool, ack_floor: i64) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "with covered as (delete from central_marks where stream_seq <= $1 \
           returning site_id, record_id), \
         high as (select site_id, max(record_id) as mark from covered group by site_id) \
         update central_sites s set watermark = greatest(s.watermark, high.mark) \
         from high where s.site_id = high.site_id returning s.site_id, s.watermark",
    )
    .bind(ack_floor)
    .fetch_all(pool)
    .await
}

async fn insert_records(
    tx: &mut sqlx::PgConnection,
    rows: &[&Incoming],
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
        "insert into central_records (site_id, record_id, at, kind, subject, body, received_ms) ",
    );
    q.push_values(rows, |mut b, r| {
        b.push_bind(&r.site)
            .push_bind(r.id)
            .push("to_timestamp(")
            .push_bind_unseparated(r.at_ms as f64 / 1000.0)
            .push_unseparated(")")
            .push_bind(&r.kind)
            .push_bind(&r.subject)
            .push_bind(r.body.to_string())
            .push_unseparated("::jsonb")
            .push_bind(now_ms);
    });
    q.push(" on conflict do nothing");
    q.build().execute(&mut *tx).await?;
    Ok(())
}

async fn insert_history(
    tx: &mut sqlx::PgConnection,
    rows: &[&Incoming],
) -> Result<(), sqlx::Error> {
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new("insert into central_history (site_id, record_id, at, point, value) ");
    q.push_values(rows, |mut b, r| {
        b.push_bind(&r.site)
            .push_bind(r.id)
            .push("to_timestamp(")
            .push_bind_unseparated(r.at_ms as f64 / 1000.0)
            .push_unseparated(")")
            .push_bind(&r.subject)
            .push_bind(r.body.as_f64().unwrap_or(f64::NAN));
    });
    q.push(" on conflict do nothing");
    q.build().execute(&mut *tx).await?;
    Ok(())
}

async fn upsert_state(tx: &mut sqlx::PgConnection, r: &Incoming) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into central_state (site_id, name, record_id, at, body) \
         values ($1, $2, $3, to_timestamp($4), $5::jsonb) \
         on conflict (site_id, name) do update \
         set record_id = excluded.record_id, at = excluded.at, body = excluded.body \
         where central_state.record_id < excluded.record_id",
    )
    .bind(&r.site)
    .bind(&r.subject)
    .bind(r.id)
    .bind(r.at_ms as f64 / 1000.0)
    .bind(r.body.to_string())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn upsert_site(
    tx: &mut sqlx::PgConnection,
    site: &str,
    high: &High,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into central_sites (site_id, first_ms, last_received_ms, last_record_ms, \
         backlog, backlog_seq) values ($1, $2, $2, $3, $4, $5) \
         on conflict (site_id) do update set last_received_ms = excluded.last_received_ms, \
         last_record_ms = greatest(central_sites.last_record_ms, excluded.last_record_ms), \
         backlog = case when excluded.backlog_seq > central_sites.backlog_seq \
           and excluded.backlog is not null then excluded.backlog else central_sites.backlog end, \
         backlog_seq = greatest(central_sites.backlog_seq, excluded.backlog_seq)",
    )
    .bind(site)
    .bind(now_ms)
    .bind(high.last_ms)
    .bind(high.backlog)
    .bind(high.seq)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Every site's watermark as committed.
pub async fn watermarks(pool: &PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("select site_id, watermark from central_sites")
        .fetch_all(pool)
        .await
}
