//! The unit register on both backends: a CSV imports whole, a CSV with bad rows reports
//! each by line and imports nothing, a file that is not UTF-8 is refused with how to save
//! it, and an occupancy change keeps its meter bases.

use chrono::{TimeZone, Utc};
use sitewatch::customers::{self, ImportError};
use sitewatch::register::{MeterBase, Occupancy, OccupancyChange};
use sitewatch::store::Store;

use crate::helpers::{Db, TestApp, fresh_db, spawn_app};

pub const HEAD: &str = "building,floor,unit,area_m2,occupancy,owner_name,owner_phone,owner_email,preferred_channel,tenant_name,tenant_phone\n";

/// Three units of building 1; 1-0302 is vacant.
pub fn three_units() -> String {
    format!(
        "{HEAD}1,3,0301,89.5,occupied,王芳,13800000001,,sms,李雷,13900000002\n\
         1,3,0302,89.5,vacant,张伟,13800000003,,phone,,\n\
         1,3,0303,112,occupied,刘洋,,liu@example.cn,email,,\n"
    )
}

async fn migrated(kind: Db) -> (Store, crate::helpers::TestDb) {
    let db = fresh_db(kind).await;
    let store = Store::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    (store, db)
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 2, 0, 0)
        .single()
        .expect("time")
}

async fn import_round_trips(kind: Db) {
    let (store, _db) = migrated(kind).await;
    let summary = customers::import(&store, &three_units(), "test", now())
        .await
        .expect("imports");
    assert_eq!(summary.created, 3);
    let units = store.units(Some("1"), None).await.expect("units");
    assert_eq!(units.len(), 3);
    let u = store.unit("1-0301").await.expect("read").expect("unit");
    assert_eq!(u.area_m2, Some(89.5));
    assert_eq!(u.contacts.len(), 2, "owner and tenant: {u:?}");
    let vacant = store.vacant_units().await.expect("vacant");
    assert_eq!(vacant, vec![("1-0302".to_owned(), now())]);
    // Importing the same file again updates, it does not duplicate.
    let again = customers::import(&store, &three_units(), "test", now())
        .await
        .expect("imports again");
    assert_eq!((again.created, again.updated), (0, 3));
}

async fn bad_rows_import_nothing(kind: Db) {
    let (store, _db) = migrated(kind).await;
    let text = format!(
        "{}1,3,0304,abc,occupied,赵六,13800000009,,sms,,\n1,3,0305,70,moved out,钱七,13800000010,,sms,,\n",
        three_units()
    );
    let Err(ImportError::Rows(rows)) = customers::import(&store, &text, "test", now()).await else {
        panic!("bad rows must be refused");
    };
    let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![5, 6], "{rows:?}");
    assert!(rows[0].reason.contains("area_m2"), "{rows:?}");
    assert!(rows[1].reason.contains("occupancy"), "{rows:?}");
    assert_eq!(store.unit_count().await.expect("count"), 0);
}

async fn move_out_keeps_meter_bases(kind: Db) {
    let (store, _db) = migrated(kind).await;
    customers::import(&store, &three_units(), "test", now())
        .await
        .expect("imports");
    let change = OccupancyChange {
        unit: "1-0301".into(),
        occupancy: Occupancy::Vacant,
        at: now() + chrono::Duration::days(3),
        actor: "desk-wang".into(),
        meters: MeterBase {
            water: Some(321.5),
            power: Some(4410.0),
        },
    };
    assert!(store.set_occupancy(&change).await.expect("set"));
    assert!(
        !store
            .set_occupancy(&change)
            .await
            .expect("same again is a no-op")
    );
    let history = store.occupancy_history("1-0301").await.expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!(history[1], change);
}

#[tokio::test]
async fn csv_import_round_trips_on_sqlite() {
    import_round_trips(Db::Sqlite).await;
}

#[tokio::test]
async fn csv_import_round_trips_on_postgres() {
    import_round_trips(Db::Postgres).await;
}

#[tokio::test]
async fn csv_with_two_bad_rows_reports_both_lines_and_imports_nothing_on_sqlite() {
    bad_rows_import_nothing(Db::Sqlite).await;
}

#[tokio::test]
async fn csv_with_two_bad_rows_reports_both_lines_and_imports_nothing_on_postgres() {
    bad_rows_import_nothing(Db::Postgres).await;
}

#[tokio::test]
async fn move_out_keeps_meter_base_readings_on_sqlite() {
    move_out_keeps_meter_bases(Db::Sqlite).await;
}

#[tokio::test]
async fn move_out_keeps_meter_base_readings_on_postgres() {
    move_out_keeps_meter_bases(Db::Postgres).await;
}

/// POSTs a CSV file to the import route.
pub async fn import_csv(app: &TestApp, file: impl AsRef<[u8]>) -> (u16, serde_json::Value) {
    let resp = app
        .client
        .post(format!("{}/api/v1/units/import", app.base))
        .header("content-type", "text/csv")
        .body(file.as_ref().to_vec())
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

#[tokio::test]
async fn the_import_route_reports_bad_rows_by_line_and_the_register_stays_empty() {
    let app = spawn_app(Db::Sqlite).await;
    let text = format!(
        "{HEAD}1,1,0101,80,occupied,王五,12,,sms,,\n1,1,0102,80,occupied,,13800000001,,sms,,\n"
    );
    let (status, body) = import_csv(&app, &text).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "invalid_rows");
    let lines: Vec<u64> = body["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p["line"].as_u64())
        .collect();
    assert_eq!(lines, vec![2, 3]);
    let units = app.get_json("/api/v1/units").await;
    assert_eq!(units.as_array().map(Vec::len), Some(0));
    let (status, body) = import_csv(&app, &three_units()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["created"], 3);
    assert_eq!(body["vacancy_changed"], serde_json::json!(["1-0302"]));
    let unit = app.get_json("/api/v1/units/1-0303").await;
    assert_eq!(unit["contacts"][0]["preferred_channel"], "email");
}

/// Customer service on the phone: the caller's number or name finds them and their unit.
#[tokio::test]
async fn an_owner_is_found_by_phone_or_name_with_their_unit() {
    let app = crate::helpers::spawn_app(Db::Sqlite).await;
    let (status, body) = import_csv(&app, &three_units()).await;
    assert_eq!(status, 200, "{body}");
    let by_phone = app.get_json("/api/v1/owners?q=13900000002").await;
    assert_eq!(by_phone.as_array().map(Vec::len), Some(1), "{by_phone}");
    assert_eq!(
        (
            &by_phone[0]["name"],
            &by_phone[0]["role"],
            &by_phone[0]["unit"]
        ),
        (
            &serde_json::json!("李雷"),
            &serde_json::json!("tenant"),
            &serde_json::json!("1-0301")
        ),
    );
    let by_name = app.get_json("/api/v1/owners?q=张伟").await;
    assert_eq!(by_name[0]["unit"], "1-0302");
    assert_eq!(by_name[0]["occupancy"], "vacant");
    let by_mail = app.get_json("/api/v1/owners?q=LIU@EXAMPLE").await;
    assert_eq!(by_mail[0]["name"], "刘洋");
    let owners = app.get_json("/api/v1/owners?role=owner").await;
    assert_eq!(owners.as_array().map(Vec::len), Some(3), "{owners}");
    let nobody = app.get_json("/api/v1/owners?q=999999").await;
    assert_eq!(nobody, serde_json::json!([]));
    let resp = app
        .client
        .get(format!("{}/api/v1/owners?role=landlord", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 422);
    let bad: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(bad["field"], "role", "{bad}");
}

#[tokio::test]
async fn a_csv_that_is_not_utf8_is_refused_with_how_to_save_it() {
    let app = spawn_app(Db::Sqlite).await;
    // A spreadsheet saved as GBK: 王芳 is C0 CD B7 BC there.
    let mut file = HEAD.as_bytes().to_vec();
    file.extend_from_slice(b"1,3,0301,89.5,occupied,");
    file.extend_from_slice(&[0xC0, 0xCD, 0xB7, 0xBC]);
    file.extend_from_slice(b",13800000001,,sms,,\n");
    let (status, body) = import_csv(&app, &file).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_rows")),
        "{body}"
    );
    let problem = &body["problems"][0];
    assert_eq!(problem["line"], 2, "{body}");
    assert!(
        problem["reason"]
            .as_str()
            .is_some_and(|r| r.contains("save it as UTF-8")),
        "{body}"
    );
    assert_eq!(app.get_json("/api/v1/units").await, serde_json::json!([]));
}
