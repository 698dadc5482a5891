//! The dashboard in a real headless Chromium (Debian's chromium and chromium-driver,
//! driven over WebDriver): values refresh by themselves, a fire alarm appears in the
//! console with a count in the title, and the duty engineer acknowledges it.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use sitewatch::core::clock::ManualClock;

use crate::helpers::{Db, eventually, free_port, spawn_app_with};

pub const WAIT: Duration = Duration::from_secs(15);

/// A chromedriver on a free port, killed on drop, with its own profile directory.
pub struct Browser {
    driver: Child,
    _profile: tempfile::TempDir,
    pub client: Client,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

pub async fn browser() -> Browser {
    // As the daemon does: name rustls's provider rather than rely on it being the only one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let port = free_port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver runs (scripts/test installs chromium-driver)");
    let profile = tempfile::tempdir().expect("profile dir");
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ];
    let mut args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    args.push(format!("--user-data-dir={}", profile.path().display()));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": "/usr/bin/chromium", "args": args}),
    );
    let url = format!("http://127.0.0.1:{port}");
    let client = eventually("chromedriver answers", WAIT, || {
        let caps = caps.clone();
        let url = url.clone();
        async move {
            ClientBuilder::rustls()
                .ok()?
                .capabilities(caps)
                .connect(&url)
                .await
                .ok()
        }
    })
    .await;
    Browser {
        driver,
        _profile: profile,
        client,
    }
}

/// Clicks the element with `id`.
async fn click_id(c: &Client, id: &str) {
    c.find(Locator::Id(id))
        .await
        .expect("element")
        .click()
        .await
        .expect("click");
}

/// Types `text` into the element with `id`.
async fn type_into(c: &Client, id: &str, text: &str) {
    c.find(Locator::Id(id))
        .await
        .expect("input")
        .send_keys(text)
        .await
        .expect("type");
}

pub async fn text_of(c: &Client, css: &str) -> Option<String> {
    c.find(Locator::Css(css)).await.ok()?.text().await.ok()
}

#[tokio::test]
async fn plant_values_refresh_by_themselves() {
    let app = spawn_app_with(
        Db::Sqlite,
        "",
        Arc::new(sitewatch::core::clock::SystemClock),
    )
    .await;
    let b = browser().await;
    app.sim().set(1, "voltage_l1", 228.5);
    b.client
        .goto(&format!("{}/#plant", app.base))
        .await
        .expect("page loads");
    let cell = r#"tr[data-point="em_b1.voltage_l1"] td.value"#;
    eventually("228.5 shown", WAIT, || async {
        text_of(&b.client, cell).await.filter(|t| t == "228.5")
    })
    .await;
    eventually("unit V shown", WAIT, || async {
        text_of(&b.client, r#"tr[data-point="em_b1.voltage_l1"] td.unit"#)
            .await
            .filter(|t| t == "V")
    })
    .await;
    // No reload: the page follows the plant.
    app.sim().set(1, "voltage_l1", 231.25);
    eventually("231.25 shown", WAIT, || async {
        text_of(&b.client, cell).await.filter(|t| t == "231.25")
    })
    .await;
    app.sim().stop();
    let badge = r#"div[data-device="em_b1"] .badge"#;
    eventually("comm lost shown", WAIT, || async {
        text_of(&b.client, badge).await.filter(|t| t == "通讯中断")
    })
    .await;
    b.client.clone().close().await.ok();
}

#[tokio::test]
async fn fire_alarm_appears_in_the_console_and_is_acknowledged() {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 18, 14, 0)
            .single()
            .expect("time"),
    ));
    let app = spawn_app_with(Db::Sqlite, "", clock).await;
    let b = browser().await;
    b.client
        .goto(&format!("{}/#alarms", app.base))
        .await
        .expect("page loads");
    b.client
        .execute(
            "localStorage.setItem('actor', 'duty-li'); localStorage.setItem('tab', 'alarms');",
            vec![],
        )
        .await
        .expect("script runs");
    app.sim().set(4, "zone3_alarm", 1.0);
    let row = r#"tr[data-alarm="fire_panel.zone3_alarm:discrete"]"#;
    eventually("alarm row shown", WAIT, || async {
        text_of(&b.client, row).await
    })
    .await;
    let title = eventually("count in the title", WAIT, || async {
        b.client.title().await.ok().filter(|t| t.starts_with("(1)"))
    })
    .await;
    assert!(title.contains("Test Estate"));
    b.client
        .find(Locator::Css(&format!("{row} button")))
        .await
        .expect("acknowledge button")
        .click()
        .await
        .expect("click");
    let state = format!("{row} td.state");
    eventually("acknowledged shown", WAIT, || async {
        text_of(&b.client, &state)
            .await
            .filter(|t| t.starts_with("已确认"))
    })
    .await;
    let alarm = app
        .get_json("/api/v1/alarms/fire_panel.zone3_alarm:discrete")
        .await;
    assert_eq!(alarm["acked_by"], "duty-li");
    // The console's history lists the acknowledgement, newest first.
    eventually("history shows the acknowledgement", WAIT, || async {
        text_of(&b.client, "#alarms .card:last-child tbody tr:first-child")
            .await
            .filter(|t| t.contains("确认") && t.contains("duty-li"))
    })
    .await;
    // The service tab draws its three lists (empty on a new site).
    b.client
        .find(Locator::Css(r#"nav button[data-tab="service"]"#))
        .await
        .expect("service tab")
        .click()
        .await
        .expect("click");
    eventually("service lists shown", WAIT, || async {
        text_of(&b.client, "#service")
            .await
            .filter(|t| t.contains("报修与投诉") && t.contains("待回访") && t.contains("通知"))
    })
    .await;
    // Its KPI panel names the manuals' KPIs with their targets (no data yet on a new site).
    eventually("KPI panel shown", WAIT, || async {
        text_of(&b.client, "#service")
            .await
            .filter(|t| t.contains("本月指标") && t.contains("回访率") && t.contains("95.0%"))
    })
    .await;
    // The hand-over tab lists the hand-overs (none yet).
    open_tab(&b.client, "handover", "#handover .card").await;
    eventually("hand-over list shown", WAIT, || async {
        text_of(&b.client, "#handover")
            .await
            .filter(|t| t.contains("交接班记录"))
    })
    .await;
    b.client.clone().close().await.ok();
}

async fn guard_page(app: &crate::helpers::TestApp) -> Browser {
    let b = browser().await;
    b.client
        .goto(&format!("{}/guard", app.base))
        .await
        .expect("page loads");
    b.client
        .execute(
            // The English page: these tests read its words ("ok…", "Hold…").
            "localStorage.setItem('guard', 'guard-zhang'); localStorage.removeItem('scanQueue');
             document.cookie = 'lang=en; path=/';",
            vec![],
        )
        .await
        .expect("script runs");
    b.client.refresh().await.expect("reload");
    b
}

async fn stored_results(app: &crate::helpers::TestApp) -> Vec<String> {
    let rows = app
        .get_json("/api/v1/patrol/scans?from=2026-11-24T00:00:00Z&to=2026-11-26T00:00:00Z")
        .await;
    rows.as_array()
        .map(|r| {
            r.iter()
                .filter_map(|x| {
                    x["record"]["checkpoint"]
                        .as_str()
                        .or(x["checkpoint"].as_str())
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn guard_types_a_short_code_and_a_queued_scan_is_sent_when_back_online() {
    let app = spawn_app_with(Db::Sqlite, crate::patrol::PATROL, crate::patrol::clock()).await;
    crate::patrol::open_tour(&app).await;
    let b = guard_page(&app).await;
    // Headless Chromium has no Web NFC: the page offers the typed code.
    let nfc = b.client.find(Locator::Id("nfc")).await.expect("nfc button");
    assert!(!nfc.is_enabled().await.expect("state"));
    type_into(&b.client, "code", "b1l").await;
    click_id(&b.client, "send").await;
    eventually("ok shown", WAIT, || async {
        text_of(&b.client, "#result")
            .await
            .filter(|t| t.starts_with("ok"))
    })
    .await;
    eventually("next checkpoint shown", WAIT, || async {
        text_of(&b.client, "#tour")
            .await
            .filter(|t| t.contains("roof"))
    })
    .await;
    // The network drops: the scan waits on the phone with its time, then goes when it can.
    b.client
        .execute("window.realFetch = window.fetch; window.fetch = () => Promise.reject(new Error('offline'));", vec![])
        .await
        .expect("script runs");
    type_into(&b.client, "code", "ROOF").await;
    click_id(&b.client, "send").await;
    eventually("queued", WAIT, || async {
        text_of(&b.client, "#queue")
            .await
            .filter(|t| t.contains("1"))
    })
    .await;
    assert_eq!(stored_results(&app).await, vec!["b1_lobby"]);
    b.client
        .execute("window.fetch = window.realFetch; flush();", vec![])
        .await
        .expect("script runs");
    eventually("queue emptied", WAIT, || async {
        text_of(&b.client, "#queue").await.filter(|t| t.is_empty())
    })
    .await;
    let stored = eventually("both scans stored", WAIT, || async {
        let s = stored_results(&app).await;
        (s.len() == 2).then_some(s)
    })
    .await;
    assert_eq!(stored, vec!["b1_lobby", "roof"]);
    b.client.clone().close().await.ok();
}

#[tokio::test]
async fn a_tag_read_through_web_nfc_is_scanned() {
    let app = spawn_app_with(Db::Sqlite, crate::patrol::PATROL, crate::patrol::clock()).await;
    crate::patrol::open_tour(&app).await;
    let b = guard_page(&app).await;
    // A stand-in NDEFReader: the page's NFC path runs as on a phone; the test plays the tag.
    let stub =
        "window.NDEFReader = class { async scan() { window.nfcReader = this; } }; setupNfc();";
    b.client.execute(stub, vec![]).await.expect("stub installs");
    click_id(&b.client, "nfc").await;
    eventually("reader waiting", WAIT, || async {
        text_of(&b.client, "#result")
            .await
            .filter(|t| t.contains("Hold"))
    })
    .await;
    b.client
        .execute(
            "window.nfcReader.onreading({ serialNumber: '04:a2:3b:11' });",
            vec![],
        )
        .await
        .expect("tag read");
    eventually("ok shown", WAIT, || async {
        text_of(&b.client, "#result")
            .await
            .filter(|t| t.starts_with("ok"))
    })
    .await;
    assert_eq!(stored_results(&app).await, vec!["b1_lobby"]);
    b.client.clone().close().await.ok();
}

/// Where screenshots go: `target/screenshots/` in the crate, kept as a test artifact.
fn screenshot_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

pub async fn shoot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).expect("write png");
}

pub async fn open_tab(c: &Client, tab: &str, ready_css: &str) {
    c.find(Locator::Css(&format!(r#"nav button[data-tab="{tab}"]"#)))
        .await
        .expect("tab button")
        .click()
        .await
        .expect("click tab");
    eventually(&format!("{tab} tab shown"), WAIT, || async {
        c.find(Locator::Css(ready_css)).await.ok()
    })
    .await;
}

#[tokio::test]
async fn a_duty_engineer_signs_in_acknowledges_a_fire_alarm_and_signs_out() {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 18, 14, 0)
            .single()
            .expect("time"),
    ));
    let app = spawn_app_with(Db::Sqlite, "", clock).await;
    crate::auth_walk::user(
        &app,
        "li",
        sitewatch::access::Role::DutyEngineer,
        "li-password",
    )
    .await;
    let api = crate::auth_walk::token(&app, "checker", sitewatch::access::Role::Viewer).await;
    let b = browser().await;
    let c = &b.client;
    c.goto(&format!("{}/", app.base)).await.expect("page loads");
    eventually("sent to the log-in form", WAIT, || async {
        c.current_url().await.ok().filter(|u| u.path() == "/login")
    })
    .await;
    shoot(c, "login").await;
    c.find(Locator::Id("username"))
        .await
        .expect("name")
        .send_keys("li")
        .await
        .expect("type");
    c.find(Locator::Id("password"))
        .await
        .expect("pw")
        .send_keys("li-password")
        .await
        .expect("type");
    c.find(Locator::Id("signin"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    eventually("signed in as li", WAIT, || async {
        text_of(c, "#me").await.filter(|t| t == "li")
    })
    .await;
    app.sim().set(4, "zone3_alarm", 1.0);
    let row = r#"tr[data-alarm="fire_panel.zone3_alarm:discrete"]"#;
    open_tab(c, "alarms", row).await;
    shoot(c, "alarms").await;
    c.find(Locator::Css(&format!("{row} button")))
        .await
        .expect("acknowledge button")
        .click()
        .await
        .expect("click");
    eventually("acknowledged shown", WAIT, || async {
        text_of(c, &format!("{row} td.state"))
            .await
            .filter(|t| t.starts_with("已确认"))
    })
    .await;
    let alarm: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/alarms/fire_panel.zone3_alarm:discrete",
            app.base
        ))
        .bearer_auth(&api)
        .send()
        .await
        .expect("alarm")
        .json()
        .await
        .expect("json");
    assert_eq!(alarm["acked_by"], "li");
    let clock_css = r#"div[data-incident] span[class^="s-"]"#;
    open_tab(c, "incidents", clock_css).await;
    // The page redraws every second; read until a drawn clock shows the time left in
    // words ("剩余 2 分 59 秒"), never as "2:59".
    eventually("an SLA clock runs", WAIT, || async {
        text_of(c, clock_css)
            .await
            .filter(|t| t.starts_with("剩余") && !t.contains(':'))
    })
    .await;
    shoot(c, "incidents").await;
    open_tab(c, "patrol", "#patrol .card").await;
    shoot(c, "patrol").await;
    open_tab(c, "plant", r#"tr[data-point="em_b1.voltage_l1"]"#).await;
    shoot(c, "plant").await;
    c.goto(&format!("{}/guard", app.base))
        .await
        .expect("guard page");
    eventually("guard page shows the signed-in user", WAIT, || async {
        let v = c
            .find(Locator::Id("guard"))
            .await
            .ok()?
            .prop("value")
            .await
            .ok()??;
        (v == "li").then_some(())
    })
    .await;
    shoot(c, "guard").await;
    c.goto(&format!("{}/", app.base))
        .await
        .expect("back to the desk");
    let logout = eventually("log-out button", WAIT, || async {
        let b = c.find(Locator::Id("logout")).await.ok()?;
        b.is_displayed().await.ok()?.then_some(b)
    })
    .await;
    logout.click().await.expect("log out");
    eventually("back at the log-in form", WAIT, || async {
        c.current_url().await.ok().filter(|u| u.path() == "/login")
    })
    .await;
    c.goto(&format!("{}/", app.base)).await.expect("page");
    let url = c.current_url().await.expect("url");
    assert_eq!(url.path(), "/login", "the session ended");
    b.client.clone().close().await.ok();
}
