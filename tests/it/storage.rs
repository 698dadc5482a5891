//! The store on both backends: migrations apply (twice, harmlessly), readings and journal
//! entries round-trip with their times, and queries filter as documented.

use chrono::{Duration, TimeZone, Utc};
use sitewatch::store::{Reading, Store};

use crate::helpers::{Db, fresh_db};

async fn migrated(kind: Db) -> (Store, crate::helpers::TestDb) {
    let db = fresh_db(kind).await;
    let store = Store::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    store.migrate().await.expect("migrating again is a no-op");
    (store, db)
}

async fn readings_round_trip(kind: Db) {
    let (store, _db) = migrated(kind).await;
    let t0 = t0();
    let rows: Vec<Reading> = (0..1200)
        .map(|i| Reading {
            point: format!("m{}.kwh", i % 2).into(),
            at: t0 + Duration::seconds(i),
            value: i as f64 * 0.5,
        })
        .collect();
    store.insert_readings(&rows).await.expect("insert");
    let got = store
        .readings("m1.kwh", t0 + Duration::seconds(1000), 10_000)
        .await
        .expect("query");
    assert_eq!(got.len(), 100);
    assert_eq!(
        got[0],
        Reading {
            point: "m1.kwh".into(),
            at: t0 + Duration::seconds(1001),
            value: 500.5
        }
    );
    assert!(got.windows(2).all(|w| w[0].at < w[1].at));
}

async fn journal_round_trip(kind: Db) {
    let (store, _db) = migrated(kind).await;
    let at = t0();
    let rows = vec![
        (
            at,
            "device".to_owned(),
            "pump_1".to_owned(),
            r#"{"up":false}"#.to_owned(),
        ),
        (
            at,
            "point_quality".to_owned(),
            "pump_1.running".to_owned(),
            r#"{"to":"comm_lost"}"#.to_owned(),
        ),
    ];
    store.insert_events(&rows).await.expect("insert");
    let all = store.events(0, None, 100).await.expect("query");
    assert_eq!(all.len(), 2);
    assert!(all[1].id > all[0].id);
    let devices = store.events(0, Some("device"), 100).await.expect("query");
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].body["up"], false);
    assert_eq!(devices[0].at, at);
    let after = store.events(all[0].id, None, 100).await.expect("query");
    assert_eq!(after.len(), 1);
}

#[tokio::test]
async fn readings_round_trip_on_sqlite() {
    readings_round_trip(Db::Sqlite).await;
}

#[tokio::test]
async fn readings_round_trip_on_postgres() {
    readings_round_trip(Db::Postgres).await;
}

#[tokio::test]
async fn journal_round_trips_on_sqlite() {
    journal_round_trip(Db::Sqlite).await;
}

#[tokio::test]
async fn journal_round_trips_on_postgres() {
    journal_round_trip(Db::Postgres).await;
}

/// The time every test here starts from: 02:14 on the night the tests are set in.
fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 2, 14, 0)
        .single()
        .expect("time")
}

/// Readings of one point: `(ms after t0, value)`.
fn at(t0: chrono::DateTime<Utc>, point: &str, rows: &[(i64, f64)]) -> Vec<Reading> {
    rows.iter()
        .map(|&(ms, value)| Reading {
            point: point.into(),
            at: t0 + Duration::milliseconds(ms),
            value,
        })
        .collect()
}

/// `(ms after t0, value)` of what a query returned.
fn pairs(t0: chrono::DateTime<Utc>, got: &[Reading]) -> Vec<(i64, f64)> {
    got.iter()
        .map(|r| ((r.at - t0).num_milliseconds(), r.value))
        .collect()
}

/// The history's key is (point, millisecond, value): the same reading written twice is
/// one reading, different values in one millisecond are all kept, ordered by value.
async fn same_reading_is_kept_once(kind: Db) {
    let (store, _db) = migrated(kind).await;
    let t0 = t0();
    let p = "pump_1.flow";
    // One batch: an exact duplicate, and three values in millisecond 20.
    let mut first = at(
        t0,
        p,
        &[(10, 1.5), (10, 1.5), (20, 3.0), (20, 1.0), (20, 2.0)],
    );
    // Another point in the same millisecond is a different reading.
    first.extend(at(t0, "pump_2.flow", &[(10, 1.5)]));
    store.insert_readings(&first).await.expect("first batch");
    // A second batch repeats stored readings and adds new ones.
    let second = at(t0, p, &[(10, 1.5), (20, 2.0), (30, 4.0), (20, 2.5)]);
    store.insert_readings(&second).await.expect("second batch");

    let all = vec![
        (10, 1.5),
        (20, 1.0),
        (20, 2.0),
        (20, 2.5),
        (20, 3.0),
        (30, 4.0),
    ];
    let everything = store
        .readings_page(p, (i64::MIN, i64::MAX), 0, 100)
        .await
        .expect("page");
    assert_eq!(pairs(t0, &everything), all);
    assert!(everything.iter().all(|r| &*r.point == p));

    // Pages of two, splitting the millisecond-20 group, give the same rows in turn.
    let mut paged = Vec::new();
    for offset in (0..8).step_by(2) {
        let page = store
            .readings_page(p, (i64::MIN, i64::MAX), offset, 2)
            .await
            .expect("page");
        paged.extend(pairs(t0, &page));
    }
    assert_eq!(paged, all);

    // The window is half-open: [20 ms, 30 ms).
    let from = t0.timestamp_millis();
    let window = store
        .readings_page(p, (from + 20, from + 30), 1, 10)
        .await
        .expect("window");
    assert_eq!(pairs(t0, &window), vec![(20, 2.0), (20, 2.5), (20, 3.0)]);

    // The newest three, oldest first, cut inside the millisecond-20 group.
    let recent = store.recent_readings(p, t0, 3).await.expect("recent");
    assert_eq!(pairs(t0, &recent), vec![(20, 2.5), (20, 3.0), (30, 4.0)]);
    let since_20 = store
        .recent_readings(p, t0 + Duration::milliseconds(20), 100)
        .await
        .expect("recent");
    assert_eq!(pairs(t0, &since_20), all[1..].to_vec());
    let other = store
        .readings("pump_2.flow", t0, 100)
        .await
        .expect("other point");
    assert_eq!(pairs(t0, &other), vec![(10, 1.5)]);
}

#[tokio::test]
async fn same_reading_is_kept_once_on_sqlite() {
    same_reading_is_kept_once(Db::Sqlite).await;
}

#[tokio::test]
async fn same_reading_is_kept_once_on_postgres() {
    same_reading_is_kept_once(Db::Postgres).await;
}

/// A fresh database migrated as an older sitewatch shipped it, the migrations before
/// `before` (the same files, so the same checksums, which a full migration then accepts),
/// holding `rows` (point id, ms after `t0()`, value) as that version stored them; then
/// opened as the store and migrated to the latest.
async fn history_from_before(
    kind: Db,
    before: &str,
    rows: &[(&str, i64, f64)],
) -> (crate::helpers::TestDb, Store) {
    use sqlx::Connection;
    use sqlx::migrate::Migrator;

    let old = tempfile::tempdir().expect("temp dir");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(match kind {
        Db::Sqlite => "migrations/sqlite",
        Db::Postgres => "migrations/postgres",
    });
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("migrations")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for f in files.iter().take_while(|f| {
        f.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n < before)
    }) {
        std::fs::copy(f, old.path().join(f.file_name().expect("name"))).expect("copy");
    }
    let older = Migrator::new(old.path()).await.expect("old migrations");
    let last: i64 = before.parse::<i64>().expect("version") - 1;
    assert_eq!(older.iter().last().map(|m| m.version), Some(last));

    let db = fresh_db(kind).await;
    sqlx::any::install_default_drivers();
    let url = match kind {
        Db::Sqlite => format!("{}?mode=rwc", db.url),
        Db::Postgres => db.url.clone(),
    };
    let mut conn = sqlx::AnyConnection::connect(&url).await.expect("connect");
    older.run(&mut conn).await.expect("older migrations");
    let ms0 = t0().timestamp_millis();
    for (point, ms, value) in rows {
        sqlx::query("insert into readings (point_id, ts_ms, value) values ($1, $2, $3)")
            .bind(*point)
            .bind(ms0 + ms)
            .bind(*value)
            .execute(&mut conn)
            .await
            .expect("old row");
    }
    conn.close().await.expect("close");

    let store = Store::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate to the latest");
    (db, store)
}

/// A database written before migration 0010 (readings with a plain index, exact
/// duplicates possible) keeps every distinct reading when migrated.
async fn history_survives_the_keyed_migration(kind: Db) {
    // Written newest first and interleaved, as rowid order need not be key order.
    let old_rows = [
        ("m1.kwh", 30, 7.0),
        ("m2.kwh", 10, 1.0),
        ("m1.kwh", 10, 5.0),
        ("m1.kwh", 20, 6.5),
        ("m1.kwh", 20, 6.0),
        ("m1.kwh", 10, 5.0), // an exact duplicate
        ("m2.kwh", 10, 2.0),
    ];
    let (_db, store) = history_from_before(kind, "0010", &old_rows).await;
    let t0 = t0();
    let m1 = store.readings("m1.kwh", t0, 100).await.expect("m1");
    assert_eq!(
        pairs(t0, &m1),
        vec![(10, 5.0), (20, 6.0), (20, 6.5), (30, 7.0)]
    );
    let m2 = store.readings("m2.kwh", t0, 100).await.expect("m2");
    assert_eq!(pairs(t0, &m2), vec![(10, 1.0), (10, 2.0)]);
    // The migrated table takes new readings under the new rule.
    store
        .insert_readings(&at(t0, "m1.kwh", &[(10, 5.0), (40, 8.0)]))
        .await
        .expect("insert after migration");
    let m1 = store.recent_readings("m1.kwh", t0, 100).await.expect("m1");
    assert_eq!(
        pairs(t0, &m1),
        vec![(10, 5.0), (20, 6.0), (20, 6.5), (30, 7.0), (40, 8.0)]
    );
}

#[tokio::test]
async fn history_survives_the_keyed_migration_on_sqlite() {
    history_survives_the_keyed_migration(Db::Sqlite).await;
}

#[tokio::test]
async fn history_survives_the_keyed_migration_on_postgres() {
    history_survives_the_keyed_migration(Db::Postgres).await;
}

/// A database written between migrations 0010 and 0011 (history keyed by the point's id
/// text) keeps its history under integer point keys, and new readings, of its points and
/// of new ones, go on under keys of their own.
async fn history_survives_the_point_key_migration(kind: Db) {
    let old_rows = [
        ("pump_2.flow", 10, 1.0),
        ("pump_1.flow", 10, 5.0),
        ("pump_1.flow", 20, 6.0),
        ("pump_1.flow", 20, 6.5),
        ("pump_2.flow", 30, 2.0),
    ];
    let (_db, store) = history_from_before(kind, "0011", &old_rows).await;
    let t0 = t0();
    let pump_1 = store
        .readings("pump_1.flow", t0, 100)
        .await
        .expect("pump 1");
    assert_eq!(pairs(t0, &pump_1), vec![(10, 5.0), (20, 6.0), (20, 6.5)]);
    assert!(pump_1.iter().all(|r| &*r.point == "pump_1.flow"));
    let pump_2 = store
        .readings("pump_2.flow", t0, 100)
        .await
        .expect("pump 2");
    assert_eq!(pairs(t0, &pump_2), vec![(10, 1.0), (30, 2.0)]);

    let mut new = at(t0, "pump_1.flow", &[(20, 6.0), (40, 7.0)]);
    new.extend(at(t0, "pump_3.flow", &[(40, 9.0)]));
    store
        .insert_readings(&new)
        .await
        .expect("insert after migration");
    let pump_1 = store
        .readings("pump_1.flow", t0, 100)
        .await
        .expect("pump 1");
    assert_eq!(
        pairs(t0, &pump_1),
        vec![(10, 5.0), (20, 6.0), (20, 6.5), (40, 7.0)]
    );
    let pump_3 = store
        .readings("pump_3.flow", t0, 100)
        .await
        .expect("pump 3");
    assert_eq!(pairs(t0, &pump_3), vec![(40, 9.0)]);
    let pump_2 = store
        .readings("pump_2.flow", t0, 100)
        .await
        .expect("pump 2");
    assert_eq!(pump_2.len(), 2, "a new point's key is not an old one's");
    assert!(
        store
            .readings("pump_4.flow", t0, 100)
            .await
            .expect("none")
            .is_empty()
    );
}

#[tokio::test]
async fn history_survives_the_point_key_migration_on_sqlite() {
    history_survives_the_point_key_migration(Db::Sqlite).await;
}

#[tokio::test]
async fn history_survives_the_point_key_migration_on_postgres() {
    history_survives_the_point_key_migration(Db::Postgres).await;
}
