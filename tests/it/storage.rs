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
    let t0 = Utc
        .with_ymd_and_hms(2026, 11, 25, 2, 14, 0)
        .single()
        .expect("time");
    let rows: Vec<Reading> = (0..1200)
        .map(|i| Reading {
            point: format!("m{}.kwh", i % 2),
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
    let at = Utc
        .with_ymd_and_hms(2026, 11, 25, 2, 14, 0)
        .single()
        .expect("time");
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
