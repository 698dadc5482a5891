//! The guard page across an ended session, in headless Chromium: scans made after the
//! session ended stay queued on the phone, the page asks for the password itself, and
//! once the guard signs in there the queue is sent and each scan stored once.

use fantoccini::{Client, Locator};
use serde_json::Value;
use sitewatch::access::{Role, token_hash};

use crate::auth_walk::{raw_client, token, user};
use crate::browser::{WAIT, browser, text_of};
use crate::helpers::{Db, TestApp, eventually, spawn_app_with};

async fn type_into(c: &Client, id: &str, text: &str) {
    let input = c.find(Locator::Id(id)).await.expect("input");
    input.send_keys(text).await.expect("type");
}

async fn click(c: &Client, id: &str) {
    let button = c.find(Locator::Id(id)).await.expect("button");
    button.click().await.expect("click");
}

/// Scans stored, as an admin reads them: (id, checkpoint).
async fn stored(app: &TestApp, admin: &str) -> Vec<(String, String)> {
    let url = "/api/v1/patrol/scans?from=2026-11-24T00:00:00Z&to=2026-11-26T00:00:00Z";
    let rows: Value = raw_client()
        .get(format!("{}{url}", app.base))
        .bearer_auth(admin)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let field = |r: &Value, at: &str| {
        r.pointer(at)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    rows.as_array()
        .map(|rows| {
            let row = |r| (field(r, "/scan/id"), field(r, "/checkpoint"));
            rows.iter().map(row).collect()
        })
        .unwrap_or_default()
}

/// The page's queue as kept in the phone's storage.
async fn queued(c: &Client) -> usize {
    let q = c
        .execute(
            "return JSON.parse(localStorage.getItem('scanQueue') || '[]').length;",
            vec![],
        )
        .await
        .expect("script runs");
    q.as_u64().map_or(0, |n| n as usize)
}

#[tokio::test]
async fn the_guard_page_keeps_its_queue_across_an_ended_session_and_sends_it_after_sign_in() {
    let app = spawn_app_with(Db::Sqlite, crate::patrol::PATROL, crate::patrol::clock()).await;
    crate::patrol::open_tour(&app).await;
    user(&app, "wang", Role::Guard, "wang-password").await;
    let admin = token(&app, "auditor", Role::Admin).await;
    let b = browser().await;
    let c = &b.client;
    c.set_window_size(390, 844)
        .await
        .expect("phone-sized window");
    c.goto(&format!("{}/login", app.base))
        .await
        .expect("log-in page");
    type_into(c, "username", "wang").await;
    type_into(c, "password", "wang-password").await;
    click(c, "signin").await;
    eventually("the guard page", WAIT, || async {
        c.current_url().await.ok().filter(|u| u.path() == "/guard")
    })
    .await;
    c.execute("localStorage.removeItem('scanQueue');", vec![])
        .await
        .expect("script runs");

    // The session ends on the server (expired, or ended elsewhere).
    let cookie = c
        .get_named_cookie("sw_session")
        .await
        .expect("session cookie");
    let hash = token_hash(cookie.value());
    app.store()
        .await
        .delete_session(&hash)
        .await
        .expect("session ended");
    for code in ["b1l", "ROOF"] {
        type_into(c, "code", code).await;
        click(c, "send").await;
    }
    eventually("the page asks for the password", WAIT, || async {
        let form = c.find(Locator::Id("signin")).await.ok()?;
        form.is_displayed().await.ok()?.then_some(())
    })
    .await;
    assert_eq!(queued(c).await, 2, "both scans kept on the phone");
    assert!(stored(&app, &admin).await.is_empty(), "nothing stored yet");
    let queue = text_of(c, "#queue").await.unwrap_or_default();
    assert!(queue.contains('2'), "{queue}");
    crate::browser::shoot(c, "guard-session-ended-390").await;

    type_into(c, "si-password", "wang-password").await;
    click(c, "si-go").await;
    let scans = eventually("both queued scans stored", WAIT, || async {
        let s = stored(&app, &admin).await;
        (s.len() == 2).then_some(s)
    })
    .await;
    let checkpoints: Vec<&str> = scans.iter().map(|(_, cp)| cp.as_str()).collect();
    assert_eq!(checkpoints, ["b1_lobby", "roof"]);
    assert_ne!(scans[0].0, scans[1].0, "each scan kept its own id");
    eventually("the queue emptied", WAIT, || async {
        (queued(c).await == 0).then_some(())
    })
    .await;
    let form = c.find(Locator::Id("signin")).await.expect("form");
    assert!(
        !form.is_displayed().await.expect("shown?"),
        "the form is gone once signed in"
    );
    crate::browser::shoot(c, "guard-signed-in-again-390").await;
    c.clone().close().await.ok();
}
