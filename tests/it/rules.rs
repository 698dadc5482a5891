//! Issue 22: the site manuals' rules (../shared/domain/rules.md §13–§14) as the API keeps
//! them, one test per rule; the logic itself is tested in core with a manual clock.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use sitewatch::access::Role;
use sitewatch::core::clock::ManualClock;

use crate::auth_walk::{raw_client, token, user};
use crate::customers::{import_csv, three_units};
use crate::helpers::{Db, TestApp, spawn_app, spawn_app_with};

/// POSTs `body` to `path` as the holder of `token`; the status and the JSON answer.
async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let resp = raw_client()
        .post(format!("{}{path}", app.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let resp = raw_client()
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.json().await.expect("json")
}

async fn step(app: &TestApp, token: &str, id: i64, action: Value) -> (u16, Value) {
    let path = format!("/api/v1/incidents/{id}/commands");
    post(
        app,
        token,
        &path,
        json!({"actor": "x", "note": "", "action": action}),
    )
    .await
}

/// rules.md §13.3–7: an accident resolves only with its report and insurer call on file;
/// only the manager may waive that, with a reason the record keeps and shows.
#[tokio::test]
async fn only_the_manager_lets_an_accident_close_without_evidence_and_the_reason_is_kept() {
    let app = spawn_app(Db::Sqlite).await;
    user(&app, "root", Role::Admin, "root-password").await;
    let duty = token(&app, "li.wei", Role::DutyEngineer).await;
    let manager = token(&app, "manager.wang", Role::Admin).await;
    let new = json!({"category": "water_ingress", "title": "B2 水浸", "location": "B2",
        "reported_by": "x", "occurred_at": null, "source": "manual"});
    let (status, body) = post(&app, &duty, "/api/v1/incidents", new).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().expect("id");
    assert_eq!(
        step(&app, &duty, id, json!({"type": "arrive_on_site"}))
            .await
            .0,
        200
    );

    let (status, body) = step(&app, &duty, id, json!({"type": "resolve"})).await;
    assert_eq!(status, 409, "{body}");
    let message = body["message"].as_str().unwrap_or_default().to_owned();
    assert!(
        message.contains("incident_report") && message.contains("insurer_notified"),
        "{body}"
    );

    let reason = "below the policy excess; insurer agreed by phone not to open a case";
    let waive = json!({"type": "waive_evidence", "reason": reason});
    assert_eq!(step(&app, &duty, id, waive.clone()).await.0, 403);
    let (status, body) = step(&app, &manager, id, waive).await;
    assert_eq!(status, 200, "{body}");
    for action in ["resolve", "follow_up", "close"] {
        let (status, body) = step(&app, &duty, id, json!({"type": action})).await;
        assert_eq!(status, 200, "{action}: {body}");
    }

    let record = get(&app, &duty, &format!("/api/v1/incidents/{id}")).await;
    assert_eq!(record["state"], "closed");
    assert_eq!(record["evidence_waiver"][0]["by"], "manager.wang");
    assert_eq!(record["evidence_waiver"][1], reason);
    let timeline = record["timeline"].as_array().expect("timeline");
    let waived = timeline
        .iter()
        .find(|e| e["kind"]["type"] == "evidence_waived")
        .expect("the waiver is on the timeline");
    assert_eq!(waived["note"], reason);
    assert_eq!(
        waived["kind"]["open"],
        json!(["incident_report", "insurer_notified", "claim_notice"])
    );
    // Closed, but its evidence clocks still run on the board.
    let board = record["board"].as_array().expect("board");
    assert_eq!(board.len(), 3, "{board:?}");
}

/// rules.md §14 Repairs: a site's `[service]` deadlines are the ones a new request gets
/// through `/requests` (here an ordinary repair on site in 4 h instead of 24 h).
#[tokio::test]
async fn a_site_sets_its_own_repair_deadlines_in_the_service_section() {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 24, 2, 0, 0)
        .single()
        .expect("time");
    let clock = Arc::new(ManualClock::new(now));
    let extra = "[service]\nordinary_repair = [\n  { sla = \"on_site\", anchor = \"reported\", within = { hours = 4 } },\n  { sla = \"follow_up\", anchor = \"resolved\", within = { working_days = 1 } },\n]\n";
    let app = spawn_app_with(Db::Sqlite, extra, clock).await;
    let (status, body) = import_csv(&app, &three_units()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post_json(
            "/api/v1/requests",
            json!({"kind": {"type": "repair", "emergency": false}, "channel": "hotline",
                   "unit": "1-0301", "owner": "王芳", "summary": "厨房水龙头漏水",
                   "received_by": "desk-chen"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let clocks = body["clocks"].as_array().expect("clocks");
    let slas: Vec<&str> = clocks.iter().filter_map(|c| c["sla"].as_str()).collect();
    assert_eq!(slas, ["on_site"], "only the site's clocks start: {body}");
    let due: DateTime<Utc> = clocks[0]["due_at"]
        .as_str()
        .expect("due")
        .parse()
        .expect("time");
    assert_eq!(due, now + chrono::Duration::hours(4));
}

/// rules.md §14 Complaints, §1.4: a complaint taken in at 21:50 Shanghai time is due for
/// acknowledgement at 08:50 the next morning (30 min of desk time), and at 23:00 the API
/// shows its clock paused until the desk opens at 08:30.
#[tokio::test]
async fn a_complaint_acknowledgement_clock_pauses_overnight_and_says_when_it_resumes() {
    let taken = Utc
        .with_ymd_and_hms(2026, 11, 24, 13, 50, 0)
        .single()
        .expect("time");
    let clock = Arc::new(ManualClock::new(taken));
    let app = spawn_app_with(Db::Sqlite, "", clock.clone()).await;
    let (status, body) = import_csv(&app, &three_units()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post_json(
            "/api/v1/requests",
            json!({"kind": {"type": "complaint", "important": false}, "channel": "hotline",
                   "unit": "1-0301", "owner": null, "summary": "楼上装修噪音",
                   "received_by": "night.manager"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().expect("id");
    let opens = Utc
        .with_ymd_and_hms(2026, 11, 25, 0, 30, 0)
        .single()
        .expect("time");
    let ack = &body["clocks"][0];
    assert_eq!(ack["sla"], "acknowledged", "{body}");
    let due: DateTime<Utc> = ack["due_at"].as_str().expect("due").parse().expect("time");
    assert_eq!(due, opens + chrono::Duration::minutes(20));
    clock.advance(chrono::Duration::minutes(70));
    let request = app.get_json(&format!("/api/v1/requests/{id}")).await;
    let running = &request["running"][0];
    assert_eq!(running["sla"], "acknowledged", "{request}");
    let resumes: DateTime<Utc> = running["resumes_at"]
        .as_str()
        .expect("resumes_at while the desk is closed")
        .parse()
        .expect("time");
    assert_eq!(resumes, opens);
    assert_eq!(request["overdue"], false, "{request}");
}

/// Issue 22 item 14, seed 003:751 (贴心管家): the unit register names each unit's own
/// customer-service person; a request from the unit goes to them unless the desk names
/// someone else, and a person's open work is one list.
#[tokio::test]
async fn a_request_goes_to_its_units_own_customer_service_person_by_default() {
    let app = spawn_app(Db::Sqlite).await;
    let csv = "building,floor,unit,occupancy,owner_name,owner_phone,cs_person\n\
               1,3,0301,occupied,王芳,13800000001,desk-zhou\n\
               1,3,0302,occupied,张伟,13800000003,\n";
    let (status, body) = import_csv(&app, csv).await;
    assert_eq!(status, 200, "{body}");
    let unit = app.get_json("/api/v1/units/1-0301").await;
    assert_eq!(unit["cs_person"], "desk-zhou", "{unit}");
    let intake = |unit: &str, assigned: Option<&str>| {
        json!({"kind": {"type": "repair", "emergency": false}, "channel": "phone",
               "unit": unit, "owner": null, "summary": "门锁坏了",
               "received_by": "desk-chen", "assigned_to": assigned})
    };
    let (status, own) = app
        .post_json("/api/v1/requests", intake("1-0301", None))
        .await;
    assert_eq!(status, 201, "{own}");
    assert_eq!(own["assigned_to"], "desk-zhou", "{own}");
    let (_, named) = app
        .post_json("/api/v1/requests", intake("1-0301", Some("desk-li")))
        .await;
    assert_eq!(named["assigned_to"], "desk-li", "{named}");
    let (_, nobody) = app
        .post_json("/api/v1/requests", intake("1-0302", None))
        .await;
    assert_eq!(nobody["assigned_to"], Value::Null, "{nobody}");
    let put = |body: Value| {
        app.client
            .put(format!("{}/api/v1/units/1-0302/cs-person", app.base))
            .json(&body)
            .send()
    };
    let resp = put(json!({"cs_person": "desk-zhou", "actor": "desk-chen"}))
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let blank = put(json!({"cs_person": " ", "actor": "desk-chen"}))
        .await
        .expect("request");
    assert_eq!(blank.status(), 422);
    let (_, second) = app
        .post_json("/api/v1/requests", intake("1-0302", None))
        .await;
    assert_eq!(second["assigned_to"], "desk-zhou", "{second}");
    let id = own["id"].as_i64().expect("id");
    let work = app
        .get_json("/api/v1/requests?assigned_to=desk-zhou&open=true")
        .await;
    let ids: Vec<i64> = (work.as_array().expect("list").iter())
        .filter_map(|r| r["id"].as_i64())
        .collect();
    let second = second["id"].as_i64().expect("id");
    assert_eq!(ids, [id, second], "{work}");
    let decline = json!({"actor": "desk-zhou", "note": "",
        "action": {"type": "decline", "reason": "业主自行维修"}});
    let (status, _) = app
        .post_json(&format!("/api/v1/requests/{id}/commands"), decline)
        .await;
    assert_eq!(status, 200);
    let work = app
        .get_json("/api/v1/requests?assigned_to=desk-zhou&open=true")
        .await;
    let left: Vec<i64> = (work.as_array().expect("list").iter())
        .filter_map(|r| r["id"].as_i64())
        .collect();
    assert_eq!(left, [second], "declined work leaves the list");
}

/// Issue 22 item 13, seed 001:741: a request passed to engineering carries the work order
/// with its deadline; the delay's reason reaches the owner as a notice to the unit; the
/// department's result is written on the order.
#[tokio::test]
async fn work_passed_to_a_department_tells_the_owner_of_a_delay_by_notice() {
    let app = spawn_app(Db::Sqlite).await;
    let (status, body) = import_csv(&app, &three_units()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post_json(
            "/api/v1/requests",
            json!({"kind": {"type": "repair", "emergency": false}, "channel": "phone",
                   "unit": "1-0301", "owner": "王芳", "summary": "立管阀门漏水",
                   "received_by": "desk-chen"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().expect("id");
    let path = format!("/api/v1/requests/{id}/commands");
    let step = |action: Value| json!({"actor": "desk-chen", "note": "", "action": action});
    let due = (Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let (status, body) = app
        .post_json(
            &path,
            step(json!({"type": "pass_on", "department": "engineering",
                        "task": "更换立管阀门", "due_at": due})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post_json(
            &path,
            step(json!({"type": "pass_on", "department": "", "task": "x", "due_at": due})),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("department")),
        "{body}"
    );
    let reason = "阀门缺货，周一到货后更换";
    let (status, body) = app
        .post_json(
            &path,
            step(json!({"type": "warn_owner_of_delay", "reason": reason})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let notices = app.get_json("/api/v1/notices").await;
    let told = (notices.as_array().expect("notices").iter()).find(|n| {
        n["target"]["units"] == json!(["1-0301"])
            && n["body"].as_str().is_some_and(|b| b.contains(reason))
    });
    assert!(
        told.is_some(),
        "the owner's notice names the reason: {notices}"
    );
    let (status, body) = app
        .post_json(
            &path,
            step(json!({"type": "work_order_result", "text": "阀门已更换，试压正常"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let request = app.get_json(&format!("/api/v1/requests/{id}")).await;
    let order = &request["work_orders"][0];
    assert_eq!(order["department"], "engineering", "{request}");
    assert_eq!(order["result"]["text"], "阀门已更换，试压正常", "{request}");
    assert_eq!(order["delay"]["text"], reason, "{request}");
    assert_eq!(request["state"], "in_progress", "{request}");
}

/// rules.md §13.4, seed 004:135/139/153: the insurer call keeps the time, the insurer, the
/// person spoken to, the reference, the place and the under-control time; a blank field is
/// a 422 naming it.
#[tokio::test]
async fn the_insurer_call_keeps_who_when_where_and_refuses_a_blank_field() {
    let app = spawn_app(Db::Sqlite).await;
    let new = json!({"category": "water_ingress", "title": "B2 水浸", "location": "B2",
        "reported_by": "li.wei", "occurred_at": null, "source": "manual"});
    let (status, body) = app.post_json("/api/v1/incidents", new).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().expect("id");
    let reported_at = body["reported_at"]
        .as_str()
        .expect("reported_at")
        .to_owned();
    let mut call = json!({"type": "notify_insurer", "called_at": reported_at,
        "under_control_at": reported_at, "insurer": "中国人保深圳分公司", "spoken_to": "周女士",
        "reference": "RPT-0509-17", "insured_object": "B2 水泵房", "policy_number": "PA-0098",
        "cause": "立管爆裂", "place": "B2 水泵房", "loss_outline": "两台水泵浸水"});
    let path = format!("/api/v1/incidents/{id}/commands");
    for field in ["spoken_to", "reference", "place"] {
        let mut blank = call.clone();
        blank[field] = json!("  ");
        let (status, body) = app
            .post_json(
                &path,
                json!({"actor": "li.wei", "note": "", "action": blank}),
            )
            .await;
        assert_eq!(
            (status, body["field"].as_str()),
            (422, Some(field)),
            "{body}"
        );
    }
    call["spoken_to"] = json!("周女士");
    let (status, body) = app
        .post_json(
            &path,
            json!({"actor": "li.wei", "note": "", "action": call}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let record = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    let kept = &record["claim"]["insurer_call"][1];
    assert_eq!(kept["insurer"], "中国人保深圳分公司");
    assert_eq!(kept["spoken_to"], "周女士");
    assert_eq!(kept["reference"], "RPT-0509-17");
    assert_eq!(kept["place"], "B2 水泵房");
    assert_eq!(kept["under_control_at"], reported_at);
    assert_eq!(record["claim"]["insurer_call"][0]["by"], "li.wei");
}

/// Issue 22 item 2: a routine fault is a work order for Engineering, not an accident; a
/// duty engineer raises it to one (customer service may not), and the record says so.
#[tokio::test]
async fn a_duty_engineer_raises_a_fault_to_an_accident() {
    let app = spawn_app(Db::Sqlite).await;
    user(&app, "root", Role::Admin, "root-password").await;
    let duty = token(&app, "li.wei", Role::DutyEngineer).await;
    let desk = token(&app, "desk-chen", Role::CustomerService).await;
    let new = json!({"category": "fault", "title": "2 号泵变频器跳闸", "location": "B2",
        "reported_by": "x", "occurred_at": null, "source": "manual"});
    let (status, body) = post(&app, &duty, "/api/v1/incidents", new).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (body["accident"].as_bool(), body["department"].as_str()),
        (Some(false), Some("engineering"))
    );
    let id = body["id"].as_i64().expect("id");
    let raise = json!({"type": "raise_to_accident", "category": "equipment_damage"});
    assert_eq!(step(&app, &desk, id, raise.clone()).await.0, 403);
    let (status, body) = step(
        &app,
        &duty,
        id,
        json!({"type": "raise_to_accident", "category": "repair"}),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("category")),
        "{body}"
    );
    let (status, body) = step(&app, &duty, id, raise).await;
    assert_eq!(status, 200, "{body}");
    let record = get(&app, &duty, &format!("/api/v1/incidents/{id}")).await;
    assert_eq!(record["category"], "equipment_damage");
    assert_eq!(record["accident"], true);
    let raised = record["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .find(|e| e["kind"]["type"] == "raised_to_accident")
        .expect("the raise is on the timeline")
        .clone();
    assert_eq!(raised["actor"], "li.wei");
}

/// An insurer call stored before the record grew (with `insurer_reference`, no times)
/// still loads, so an upgraded site keeps its incidents at restart.
#[test]
fn an_insurer_call_stored_by_an_older_version_still_loads() {
    let old = r#"{"insured_object":"B2","policy_number":"PA-1","cause":"riser",
        "loss_outline":"pumps wet","insurer_reference":null}"#;
    let call: sitewatch::core::incidents::InsurerCall =
        serde_json::from_str(old).expect("an old call loads");
    assert_eq!((call.reference.as_str(), call.called_at), ("", None));
    let old = r#"{"insured_object":"B2","policy_number":"PA-1","cause":"riser",
        "loss_outline":"pumps wet","insurer_reference":"R-9"}"#;
    let call: sitewatch::core::incidents::InsurerCall = serde_json::from_str(old).expect("loads");
    assert_eq!(call.reference, "R-9");
}
