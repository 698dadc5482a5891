//! The service desk's buttons for work passed to another department (seed 001:741) and a
//! unit's own person (贴心管家, seed 003:751), in zh and en: a request is passed to a
//! department with a deadline, the owner is told of a delay, the department's result is
//! written and the request re-assigned, all from the request page; the unit card names
//! the unit's person. A 390 px phone fits. Screenshots in `target/screenshots/`.

use crate::browser::{browser, shoot};
use crate::customers::{import_csv, three_units};
use crate::service_desk::{
    Lang, app, assert_all_chinese, assert_fits, click, open, type_in, wait_text,
};

async fn work_passed_on(lang: Lang) {
    let app = app().await;
    let (status, body) = import_csv(&app, three_units()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post_json(
            "/api/v1/requests",
            serde_json::json!({"kind": {"type": "repair", "emergency": false},
                "channel": "phone", "unit": "1-0301", "owner": null,
                "summary": "外墙渗水", "received_by": "desk-chen"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().expect("id");
    let b = browser().await;
    let c = &b.client;
    c.set_window_size(1440, 900).await.expect("desk screen");
    open(c, &app, &format!("/service/requests/{id}"), lang).await;
    wait_text(c, "div[data-request-page]", "外墙渗水").await;
    // No work order yet: its result and the delay notice say why they are not offered.
    wait_text(
        c,
        r#"[data-why="work_order_result"]"#,
        lang.pick("没有", "no work order"),
    )
    .await;
    type_in(c, "#st-pass_on-department", "工程部").await;
    type_in(c, "#st-pass_on-task", "检查外墙防水").await;
    c.execute(
        "document.getElementById('st-pass_on-due').value = '2026-11-26T18:00';",
        vec![],
    )
    .await
    .expect("deadline");
    click(c, "#st-pass_on").await;
    wait_text(c, "[data-work-order]", "工程部").await;
    wait_text(c, r#"[data-why="pass_on"]"#, "工程部").await;
    type_in(c, "#st-warn_owner_of_delay-text", "等待材料").await;
    click(c, "#st-warn_owner_of_delay").await;
    wait_text(c, "div[data-request-page]", "等待材料").await;
    type_in(c, "#st-work_order_result-text", "已修补防水层").await;
    click(c, "#st-work_order_result").await;
    wait_text(c, "div[data-request-page]", "已修补防水层").await;
    type_in(c, "#st-assign-who", "cs-liu").await;
    click(c, "#st-assign").await;
    wait_text(c, "div[data-request-page]", "cs-liu").await;
    shoot(c, &format!("cs-work-order-{}-1440", lang.code())).await;
    if lang == Lang::Zh {
        assert_all_chinese(c, "request page, work order").await;
    }
    let r = app.get_json(&format!("/api/v1/requests/{id}")).await;
    let order = &r["work_orders"][0];
    assert_eq!(
        (
            order["department"].as_str(),
            order["result"]["text"].as_str()
        ),
        (Some("工程部"), Some("已修补防水层")),
        "{r}"
    );
    assert_eq!(order["delay"]["text"], "等待材料");
    assert_eq!(
        order["due_at"], "2026-11-26T10:00:00Z",
        "site time, 18:00 in Shanghai"
    );
    assert_eq!(r["assigned_to"], "cs-liu");

    // The unit card names the unit's own person.
    open(c, &app, "/service?unit=1-0301", lang).await;
    wait_text(c, r#"div[data-unit-card="1-0301"]"#, "1-0301").await;
    type_in(c, "#cs-person-name", "cs-zhou").await;
    click(c, "#cs-person-set").await;
    wait_text(c, "#cs-person", "cs-zhou").await;
    let unit = app.get_json("/api/v1/units/1-0301").await;
    assert_eq!(unit["cs_person"], "cs-zhou", "{unit}");
    if lang == Lang::Zh {
        assert_all_chinese(c, "unit card, own person").await;
    }
    c.set_window_size(390, 844).await.expect("phone");
    let pages = [
        ("/service?unit=1-0301".to_owned(), "#cs-person"),
        (format!("/service/requests/{id}"), "[data-work-order]"),
    ];
    for (page, css) in pages {
        open(c, &app, &page, lang).await;
        wait_text(c, css, "").await;
        assert_fits(c, &page).await;
    }
    shoot(c, &format!("cs-work-order-{}-390", lang.code())).await;
    b.client.clone().close().await.ok();
}

#[tokio::test]
async fn a_request_is_passed_to_a_department_and_a_unit_named_its_own_person_from_the_desk_zh() {
    work_passed_on(Lang::Zh).await;
}

#[tokio::test]
async fn a_request_is_passed_to_a_department_and_a_unit_named_its_own_person_from_the_desk_en() {
    work_passed_on(Lang::En).await;
}
