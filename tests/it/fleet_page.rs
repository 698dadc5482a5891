//! The fleet view (issue 23) on the many-sites rig (`central_rig`): a central nats-server
//! and PostgreSQL database of the test's own, `sitewatch central` and two `sitewatch serve`
//! sites as child processes. The centre refuses the unsigned with the site's error body;
//! an operator made with `sitewatch central user add` signs in; the API's figures follow
//! what the sites did (an alarm raised, an incident breached, a request overdue, the
//! month's KPIs as the site computes them); a site stopped is cut off after the
//! threshold, listed with since-when and in `/metrics`; and the page in a real headless
//! Chromium in zh-CN and English at 390 and 1920 px, with screenshots. From the page's
//! site panel a duty engineer acknowledges an alarm (applied, acknowledged at the site's
//! own API) and, with the site killed, is told not delivered; a viewer gets no buttons.

use std::path::PathBuf;

use chrono::{Duration as Span, Utc};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::browser::{WAIT, browser, shoot};
use crate::central_rig::{LONG, Proc, Site, add_operator, central_process, http, nats, sign_in};
use crate::helpers::{Db, TestDb, eventually, free_port, fresh_db};

/// A site silent this long is cut off: short, yet far above the gap between a live
/// site's records (it forwards every sample, polled every 100 ms).
const LINK_DOWN_AFTER: &str = "8s";

/// The centre and its sites, stopped on drop.
struct Fleet {
    _dir: tempfile::TempDir,
    _nats: Proc,
    _db: TestDb,
    central_toml: PathBuf,
    _central: Proc,
    base: String,
    sites: Vec<Site>,
}

/// NATS, a central database, `sitewatch central` with `[[sites]]` for north (Shanghai,
/// with its dashboard link) and south (London), and the two sites; `extra` ends north's
/// config.
async fn fleet(extra: &str) -> Fleet {
    let dir = tempfile::tempdir().expect("dir");
    let nats_port = free_port();
    let server = nats(nats_port, &dir.path().join("nats"));
    let nats_url = format!("nats://127.0.0.1:{nats_port}");
    let db = fresh_db(Db::Postgres).await;
    let port = free_port();
    let central_toml = dir.path().join("central.toml");
    std::fs::write(&central_toml, central_config(&nats_url, &db.url, port)).expect("config");
    let central = central_process(&central_toml);
    let north = Site::with(dir.path(), "north", &nats_url, extra).await;
    let south = Site::new(dir.path(), "south", &nats_url).await;
    let base = format!("http://127.0.0.1:{port}");
    eventually("the centre answers", LONG, || async {
        let url = format!("{base}/healthz");
        http()
            .get(&url)
            .send()
            .await
            .ok()
            .filter(|r| r.status().is_success())
    })
    .await;
    Fleet {
        _dir: dir,
        _nats: server,
        _db: db,
        central_toml,
        _central: central,
        base,
        sites: vec![north, south],
    }
}

fn central_config(nats_url: &str, db_url: &str, port: u16) -> String {
    format!(
        r#"[nats]
url = "{nats_url}"

[database]
url = "{db_url}"

[http]
listen = "127.0.0.1:{port}"

[fleet]
link_down_after = "{LINK_DOWN_AFTER}"

[[sites]]
id = "north"
name = "北苑 North Garden"
url = "http://127.0.0.1:1/north-dashboard"
timezone = "Asia/Shanghai"

[[sites]]
id = "south"
name = "South Quay"
timezone = "Europe/London"
"#
    )
}

impl Fleet {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn operator(&self, name: &str, role: &str, password: &str) {
        add_operator(&self.central_toml, name, role, password);
    }
}

/// One site's row in `rows`.
fn row<'a>(rows: &'a Value, site: &str) -> Option<&'a Value> {
    rows.as_array()?.iter().find(|r| r["site"] == site)
}

/// `(name, count, of)` of each KPI in a list.
fn kpi_figures(kpis: &Value) -> Vec<(String, i64, i64)> {
    kpis.as_array()
        .map(|a| {
            a.iter()
                .map(|k| {
                    let name = k["name"].as_str().unwrap_or_default().to_owned();
                    (
                        name,
                        k["count"].as_i64().unwrap_or(-1),
                        k["of"].as_i64().unwrap_or(-1),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_api_is_signed_in_and_shows_what_each_site_did_and_which_is_cut_off() {
    // North's repairs must be reached within a minute: one request is overdue in the test.
    let extra = "[service]\nordinary_repair = [\n  { sla = \"on_site\", anchor = \"reported\", within = { minutes = 1 } },\n]\n";
    let mut f = fleet(extra).await;
    let north = &f.sites[0];
    let units = http()
        .post(north.url("/api/v1/units/import"))
        .header("content-type", "text/csv")
        .body(crate::customers::three_units())
        .send()
        .await
        .expect("import");
    assert_eq!(units.status().as_u16(), 200);
    let request = json!({"kind": {"type": "repair", "emergency": false}, "channel": "hotline",
        "unit": "1-0301", "owner": "王芳", "summary": "厨房漏水 kitchen leak",
        "received_by": "desk-chen"});
    assert_eq!(north.post("/api/v1/requests", request).await, 201);
    // An accident that happened 13 hours ago: its 12-hour report clock is already past.
    let occurred = (Utc::now() - Span::hours(13)).to_rfc3339();
    let incident = json!({"category": "water_ingress", "title": "B2 水浸", "location": "B2",
        "reported_by": "desk-chen", "occurred_at": occurred, "source": "manual"});
    assert_eq!(north.post("/api/v1/incidents", incident).await, 201);
    north.sim.set(3, "fault", 1.0);

    // Unsigned: the site's stable error body, the page sends to the log-in form, and
    // /metrics stays open.
    let resp = http()
        .get(f.url("/api/v1/fleet"))
        .send()
        .await
        .expect("fleet");
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        body,
        json!({"code": "unauthorized", "message": "sign in or give a bearer token"})
    );
    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(f.url("/"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.headers()["location"], "/login");
    let metrics = http().get(f.url("/metrics")).send().await.expect("metrics");
    assert_eq!(metrics.status().as_u16(), 200);

    // A wrong password is refused with the site's body; the right one signs in.
    f.operator("zhao", "admin", "zhao-password");
    f.operator("guard-li", "guard", "guard-password");
    let wrong = http()
        .post(f.url("/login"))
        .header("accept", "application/json")
        .form(&[("username", "zhao"), ("password", "not-it")])
        .send()
        .await
        .expect("login");
    assert_eq!(wrong.status().as_u16(), 401);
    let wrong: Value = wrong.json().await.expect("json");
    assert_eq!(wrong["code"], "unauthorized");
    let guard = sign_in(&f.base, "guard-li", "guard-password").await;
    let (status, body) = guard.get(&f.url("/api/v1/fleet")).await;
    assert_eq!(
        (status, &body["code"]),
        (403, &json!("forbidden")),
        "guards work on site"
    );
    let me = sign_in(&f.base, "zhao", "zhao-password").await;
    assert_eq!(me.csrf.len(), 64, "the session's CSRF token, for changes");

    // The figures follow what the sites did.
    let fleet_url = f.url("/api/v1/fleet");
    let north_row = eventually(
        "north's alarm, breach and overdue request",
        LONG,
        || async {
            let (status, rows) = me.get(&fleet_url).await;
            assert_eq!(status, 200, "{rows}");
            let r = row(&rows, "north")?.clone();
            let alarms: i64 = r["open_alarms"]
                .as_object()?
                .values()
                .filter_map(Value::as_i64)
                .sum();
            let done = alarms > 0
                && r["incidents_breached"] == 1
                && r["requests_overdue"] == 1
                && row(&rows, "south").is_some();
            done.then_some(r)
        },
    )
    .await;
    assert_eq!(north_row["name"], "北苑 North Garden");
    assert_eq!(north_row["url"], "http://127.0.0.1:1/north-dashboard");
    assert_eq!(north_row["incidents_open"], 1);
    assert_eq!(north_row["requests_open"], 1);
    assert_eq!(north_row["link"]["down"], false);
    let (_, rows) = me.get(&fleet_url).await;
    let south_row = row(&rows, "south").expect("south");
    assert_eq!(south_row["timezone"], "Europe/London");
    assert_eq!(south_row["incidents_open"], 0);
    assert_eq!(south_row["requests_overdue"], 0);
    assert!(
        south_row["open_alarms"]
            .as_object()
            .is_some_and(|m| m.is_empty()),
        "{south_row}"
    );

    // The month's KPIs as the site computes them, once the site's breach has arrived.
    let kpis_url = north.url("/api/v1/kpis");
    let expected = eventually("north marks its request breached", LONG, || async {
        let site_kpis: Value = http().get(&kpis_url).send().await.ok()?.json().await.ok()?;
        let figures = kpi_figures(&site_kpis["kpis"]);
        figures
            .iter()
            .any(|(n, _, of)| n == "responses_in_time" && *of == 1)
            .then_some(figures)
    })
    .await;
    eventually("the centre's KPIs match north's", LONG, || async {
        let (_, rows) = me.get(&fleet_url).await;
        (kpi_figures(&row(&rows, "north")?["kpis"]) == expected).then_some(())
    })
    .await;

    // South stops: cut off after the threshold, listed with since-when, in /metrics.
    let (_, alarms) = me.get(&f.url("/api/v1/fleet/alarms")).await;
    assert_eq!(alarms, json!([]), "both sites are talking");
    f.sites[1].proc.as_mut().expect("running").kill();
    let alarms_url = f.url("/api/v1/fleet/alarms");
    let listed = eventually("south is cut off", LONG, || async {
        let (_, alarms) = me.get(&alarms_url).await;
        let list = alarms.as_array()?.clone();
        (!list.is_empty()).then_some(list)
    })
    .await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["site"], "south");
    assert_eq!(listed[0]["kind"], "link_down");
    let since = listed[0]["since_ms"].as_i64().expect("since");
    let last = listed[0]["last_received_ms"].as_i64().expect("last");
    assert_eq!(
        since - last,
        8_000,
        "since = the last record + the threshold"
    );
    let text = http()
        .get(f.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        text.contains("sitewatch_fleet_link_down{site=\"south\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("sitewatch_fleet_link_down{site=\"north\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("sitewatch_central_auth_refused_total{reason=\"bad_credentials\"} 1"),
        "{text}"
    );
}

/// Signs in through the log-in form.
async fn sign_in_page(c: &Client, base: &str, name: &str, password: &str) {
    c.goto(&format!("{base}/")).await.expect("open");
    let form = c.form(Locator::Css("form")).await.expect("log-in form");
    form.set_by_name("username", name).await.expect("name");
    form.set_by_name("password", password)
        .await
        .expect("password");
    form.submit().await.expect("submit");
}

/// The rows' text once both sites are shown and south is cut off.
async fn rows_shown(c: &Client) -> String {
    eventually("both rows, south cut off", WAIT * 4, || async {
        c.find(Locator::Css("tr.down-row[data-site=\"south\"]"))
            .await
            .ok()?;
        c.find(Locator::Css("tr[data-site=\"north\"]:not(.down-row)"))
            .await
            .ok()?;
        c.find(Locator::Css("#rows")).await.ok()?.text().await.ok()
    })
    .await
}

/// Whether the page is no wider than the window (nothing cut off at the side).
async fn fits(c: &Client) -> bool {
    let v = c
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .expect("script");
    v.as_bool().unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_page_shows_each_site_in_zh_cn_and_english_at_390_and_1920_px() {
    let mut f = fleet("").await;
    f.operator("zhao", "viewer", "zhao-password");
    f.sites[0].sim.set(3, "fault", 1.0);
    let occurred = (Utc::now() - Span::hours(13)).to_rfc3339();
    let incident = json!({"category": "water_ingress", "title": "B2 水浸", "location": "B2",
        "reported_by": "desk-chen", "occurred_at": occurred, "source": "manual"});
    assert_eq!(f.sites[0].post("/api/v1/incidents", incident).await, 201);
    // South stops once the centre has heard from it: its row turns red after the threshold.
    let api = sign_in(&f.base, "zhao", "zhao-password").await;
    let fleet_url = f.url("/api/v1/fleet");
    eventually("the centre hears south", LONG, || async {
        let (_, rows) = api.get(&fleet_url).await;
        row(&rows, "south")?["link"]["last_received_ms"]
            .as_i64()
            .map(drop)
    })
    .await;
    f.sites[1].proc.as_mut().expect("running").kill();
    let b = browser().await;
    let c = &b.client;
    c.set_window_size(1920, 1080).await.expect("control room");
    sign_in_page(c, &f.base, "zhao", "zhao-password").await;
    let zh = rows_shown(c).await;
    assert!(
        zh.contains("北苑 North Garden") && zh.contains("断线"),
        "{zh}"
    );
    assert!(zh.contains("项目时间"), "site time: {zh}");
    let link = c
        .find(Locator::Css("tr[data-site=\"north\"] a"))
        .await
        .expect("link")
        .attr("href")
        .await
        .expect("href");
    assert_eq!(link.as_deref(), Some("http://127.0.0.1:1/north-dashboard"));
    eventually(
        "north's alarm and breached incident shown",
        WAIT * 4,
        || async {
            c.find(Locator::Css("tr[data-site=\"north\"] .alarms .badge"))
                .await
                .ok()?;
            c.find(Locator::Css("tr[data-site=\"north\"] td.incidents.bad"))
                .await
                .ok()
        },
    )
    .await;
    assert!(fits(c).await, "1920 px: nothing cut off");
    shoot(c, "fleet_zh_1920").await;
    c.set_window_size(1440, 900).await.expect("office screen");
    rows_shown(c).await;
    assert!(fits(c).await, "1440 px: nothing cut off");
    shoot(c, "fleet_zh_1440").await;
    c.set_window_size(390, 844).await.expect("phone");
    rows_shown(c).await;
    assert!(fits(c).await, "390 px: nothing cut off");
    shoot(c, "fleet_zh_390").await;

    c.find(Locator::Css("#lang"))
        .await
        .expect("switch")
        .click()
        .await
        .expect("click");
    eventually("the page in English", WAIT, || async {
        let lang = c
            .find(Locator::Css("html"))
            .await
            .ok()?
            .attr("lang")
            .await
            .ok()??;
        (lang == "en").then_some(())
    })
    .await;
    let text = rows_shown(c).await;
    assert!(
        text.contains("cut off") && text.contains("site time"),
        "{text}"
    );
    assert!(fits(c).await, "390 px in English");
    shoot(c, "fleet_en_390").await;
    c.set_window_size(1920, 1080).await.expect("control room");
    rows_shown(c).await;
    assert!(fits(c).await, "1920 px in English");
    shoot(c, "fleet_en_1920").await;
    c.set_window_size(1440, 900).await.expect("office screen");
    rows_shown(c).await;
    assert!(fits(c).await, "1440 px in English");
    shoot(c, "fleet_en_1440").await;
}

/// A record of `site` as a site forwards it: on the stream, with its id in the header.
async fn forward(
    js: &async_nats::jetstream::Context,
    site: &str,
    id: i64,
    kind: &str,
    body: Value,
) {
    use async_nats::jetstream::message::PublishMessage;
    let payload = json!({"at_ms": Utc::now().timestamp_millis(), "subject": "", "body": body});
    let message = PublishMessage::build()
        .payload(payload.to_string().into())
        .message_id(format!("{site}:{id}"))
        .header("Sitewatch-Record", id.to_string().as_str());
    let ack = js
        .send_publish(format!("sitewatch.rec.{site}.{kind}"), message)
        .await
        .expect("publish");
    ack.into_future().await.expect("stored");
}

/// A centre with no site running: NATS, its database and `sitewatch central`.
struct Centre {
    _dir: tempfile::TempDir,
    _nats: Proc,
    _db: TestDb,
    _central: Proc,
    central_toml: PathBuf,
    nats_url: String,
    base: String,
}

async fn centre_alone() -> Centre {
    let dir = tempfile::tempdir().expect("dir");
    let nats_port = free_port();
    let server = nats(nats_port, &dir.path().join("nats"));
    let nats_url = format!("nats://127.0.0.1:{nats_port}");
    let db = fresh_db(Db::Postgres).await;
    let port = free_port();
    let central_toml = dir.path().join("central.toml");
    std::fs::write(&central_toml, central_config(&nats_url, &db.url, port)).expect("config");
    let central = central_process(&central_toml);
    let base = format!("http://127.0.0.1:{port}");
    eventually("the centre answers", LONG, || async {
        let url = format!("{base}/healthz");
        http()
            .get(&url)
            .send()
            .await
            .ok()
            .filter(|r| r.status().is_success())
    })
    .await;
    Centre {
        _dir: dir,
        _nats: server,
        _db: db,
        _central: central,
        central_toml,
        nats_url,
        base,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patrol_on_time_is_the_months_rounds_closed_on_time_out_of_those_closed() {
    let c = centre_alone().await;
    let client = eventually("nats-server answers", LONG, || async {
        async_nats::connect(c.nats_url.as_str()).await.ok()
    })
    .await;
    sitewatch::central::consumer::declare(&client)
        .await
        .expect("stream");
    let js = async_nats::jetstream::new(client);
    // East's patrol journal this month: one round on time, one late, one incomplete, and
    // a checkpoint that does not close a round.
    let rounds = [
        json!({"kind": "tour_completed", "tour": {"id": 1}, "on_time": true}),
        json!({"kind": "tour_completed", "tour": {"id": 2}, "on_time": false}),
        json!({"kind": "tour_incomplete", "tour": {"id": 3}}),
        json!({"kind": "checkpoint_done", "tour": 4, "checkpoint": "lobby_1", "late": false}),
    ];
    for (id, body) in (1..).zip(rounds) {
        forward(&js, "east", id, "patrol", body).await;
    }
    add_operator(&c.central_toml, "zhao", "viewer", "zhao-password");
    let me = sign_in(&c.base, "zhao", "zhao-password").await;
    let url = format!("{}/api/v1/fleet", c.base);
    let patrol = eventually("east's rounds counted", LONG, || async {
        let (_, rows) = me.get(&url).await;
        let p = row(&rows, "east")?["patrol"].clone();
        (p["of"] == 3).then_some(p)
    })
    .await;
    assert_eq!(patrol["count"], 1, "{patrol}");
    let ratio = patrol["ratio"].as_f64().expect("ratio");
    assert!((ratio - 1.0 / 3.0).abs() < 1e-9, "{patrol}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_integration_reads_the_fleet_and_its_openapi_document_with_a_central_token() {
    let c = centre_alone().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sitewatch"))
        .args([
            "central",
            "token",
            "wallboard",
            "--role",
            "viewer",
            "--config",
        ])
        .arg(&c.central_toml)
        .env_remove("SITEWATCH_CENTRAL_DATABASE_URL")
        .output()
        .expect("token");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The token is the line of 64 hex digits (the log shares stdout).
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let token = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 64 && l.chars().all(|c| c.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("no token printed: {stdout}"))
        .to_owned();
    let get = |path: &str, token: &str| {
        http()
            .get(format!("{}{path}", c.base))
            .bearer_auth(token)
            .send()
    };
    let resp = get("/api/v1/fleet", "not-a-token").await.expect("fleet");
    assert_eq!(resp.status().as_u16(), 401);
    let resp = get("/api/v1/fleet", &token).await.expect("fleet");
    assert_eq!(resp.status().as_u16(), 200);
    // Both named sites are listed before either has sent anything.
    let rows: Value = resp.json().await.expect("json");
    let names: Vec<&str> = rows
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["site"].as_str())
        .collect();
    assert_eq!(names, ["north", "south"], "{rows}");
    assert_eq!(rows[0]["link"]["last_received_ms"], Value::Null);
    let doc: Value = get("/api/v1/openapi.json", &token)
        .await
        .expect("doc")
        .json()
        .await
        .expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    for path in ["/api/v1/fleet", "/api/v1/fleet/alarms"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path}: {doc}");
    }
    assert!(
        doc["components"]["securitySchemes"]["bearer"].is_object(),
        "{doc}"
    );
}

/// The text of the first element matching `css` once it is non-empty and not "sending".
async fn result_text(c: &Client, css: &str) -> String {
    eventually(css, LONG, || async {
        let text = c.find(Locator::Css(css)).await.ok()?.text().await.ok()?;
        let done = !text.is_empty() && !text.contains("发送中") && !text.contains("Sending");
        done.then_some(text)
    })
    .await
}

/// Opens north's panel and waits for `alarm`'s Acknowledge form in it.
async fn open_north(c: &Client, alarm: &str) {
    eventually("north's row", WAIT * 4, || async {
        c.find(Locator::Css("tr[data-site=\"north\"] button.open-detail"))
            .await
            .ok()?
            .click()
            .await
            .ok()
    })
    .await;
    let form = format!("#detail-alarms form[data-alarm=\"{alarm}\"]");
    eventually("the alarm's form", WAIT * 4, || async {
        c.find(Locator::Css(&form)).await.ok()
    })
    .await;
}

/// Acknowledges `alarm` from the open panel with `comment`.
async fn acknowledge(c: &Client, alarm: &str, comment: &str) {
    let form = format!("#detail-alarms form[data-alarm=\"{alarm}\"]");
    let input = c
        .find(Locator::Css(&format!("{form} input")))
        .await
        .expect("comment box");
    input.send_keys(comment).await.expect("type");
    c.find(Locator::Css(&format!("{form} button")))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duty_engineer_acknowledges_from_the_fleet_page_and_a_dead_site_is_not_delivered() {
    const FIRE: &str = "fire_panel.zone2_alarm:discrete";
    const PUMP: &str = "pump_1.fault:discrete";
    let mut f = fleet("").await;
    f.operator("duty-li", "duty_engineer", "li-password");
    f.operator("view-wu", "viewer", "wu-password");
    // A fire alarm (it opens an incident) and a pump fault standing at north.
    f.sites[0].sim.set(4, "zone2_alarm", 1.0);
    f.sites[0].sim.set(3, "fault", 1.0);
    let api = sign_in(&f.base, "duty-li", "li-password").await;
    let open_url = f.url("/api/v1/sites/north/open");
    eventually(
        "north's alarms and incident at the centre",
        LONG,
        || async {
            let (_, open) = api.get(&open_url).await;
            let ids: Vec<&str> = open["alarms"]
                .as_array()?
                .iter()
                .filter_map(|a| a["id"].as_str())
                .collect();
            let both = ids.contains(&FIRE) && ids.contains(&PUMP);
            (both && !open["incidents"].as_array()?.is_empty()).then_some(())
        },
    )
    .await;

    let b = browser().await;
    let c = &b.client;
    c.set_window_size(1920, 1080).await.expect("control room");
    sign_in_page(c, &f.base, "duty-li", "li-password").await;
    open_north(c, FIRE).await;
    acknowledge(c, FIRE, "总部已知悉").await;
    let said = result_text(c, &format!("form[data-alarm=\"{FIRE}\"] .result")).await;
    assert_eq!(said, "已执行", "applied, in Chinese");
    let north = &f.sites[0];
    let alarm: Value = http()
        .get(north.url(&format!("/api/v1/alarms/{FIRE}")))
        .send()
        .await
        .expect("site answers")
        .json()
        .await
        .expect("json");
    assert_eq!(alarm["state"], "ack_active", "{alarm}");
    assert_eq!(alarm["acked_by"], "central:duty-li", "{alarm}");
    let listed = eventually("the command listed", WAIT, || async {
        let text = c
            .find(Locator::Css("#detail-commands"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.contains("duty-li").then_some(text)
    })
    .await;
    assert!(
        listed.contains("确认告警") && listed.contains("已执行"),
        "{listed}"
    );
    // The fire incident dispatched from the page too.
    let incident = "#detail-incidents form[data-incident=\"1\"]";
    c.find(Locator::Css(&format!("{incident} input")))
        .await
        .expect("to whom")
        .send_keys("zhang.wei")
        .await
        .expect("type");
    c.find(Locator::Css(&format!("{incident} button")))
        .await
        .expect("dispatch")
        .click()
        .await
        .expect("click");
    let said = result_text(c, &format!("{incident} .result")).await;
    assert_eq!(said, "已执行", "dispatched");
    let shown: Value = http()
        .get(north.url("/api/v1/incidents/1"))
        .send()
        .await
        .expect("site answers")
        .json()
        .await
        .expect("json");
    assert_eq!(shown["state"], "dispatched", "{shown}");
    assert!(fits(c).await, "1920 px with the panel");
    shoot(c, "fleet_site_zh_1920").await;
    c.set_window_size(390, 844).await.expect("phone");
    assert!(fits(c).await, "390 px with the panel");
    shoot(c, "fleet_site_zh_390").await;

    // In English, with north killed: the page says not delivered.
    c.find(Locator::Css("#detail-close"))
        .await
        .expect("close")
        .click()
        .await
        .expect("click");
    c.find(Locator::Css("#lang"))
        .await
        .expect("switch")
        .click()
        .await
        .expect("click");
    eventually("the page in English", WAIT, || async {
        let lang = c
            .find(Locator::Css("html"))
            .await
            .ok()?
            .attr("lang")
            .await
            .ok()??;
        (lang == "en").then_some(())
    })
    .await;
    f.sites[0].proc.as_mut().expect("running").kill();
    open_north(c, PUMP).await;
    acknowledge(c, PUMP, "").await;
    let said = result_text(c, &format!("form[data-alarm=\"{PUMP}\"] .result")).await;
    assert!(said.starts_with("Not delivered"), "{said}");
    let (status, commands) = api.get(&f.url("/api/v1/sites/north/commands")).await;
    assert_eq!(status, 200, "{commands}");
    let outcomes: Vec<&str> = commands
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|c| c["outcome"].as_str())
        .collect();
    assert_eq!(
        outcomes,
        ["not_delivered", "applied", "applied"],
        "newest first"
    );
    eventually("the page lists it", WAIT, || async {
        let text = c
            .find(Locator::Css("#detail-commands"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.contains("not delivered").then_some(())
    })
    .await;
    assert!(fits(c).await, "390 px in English");
    shoot(c, "fleet_site_en_390").await;
    c.set_window_size(1920, 1080).await.expect("control room");
    assert!(fits(c).await, "1920 px in English");
    shoot(c, "fleet_site_en_1920").await;

    // A viewer sees the panel without buttons.
    c.delete_all_cookies().await.expect("signed out");
    sign_in_page(c, &f.base, "view-wu", "wu-password").await;
    eventually("north's row", WAIT * 4, || async {
        c.find(Locator::Css("tr[data-site=\"north\"] button.open-detail"))
            .await
            .ok()?
            .click()
            .await
            .ok()
    })
    .await;
    let alarm = format!("#detail-alarms li[data-alarm=\"{PUMP}\"]");
    eventually("the alarms listed", WAIT * 4, || async {
        c.find(Locator::Css(&alarm)).await.ok()
    })
    .await;
    let forms = c
        .find_all(Locator::Css("#detail form"))
        .await
        .expect("find");
    assert!(forms.is_empty(), "a viewer gets no buttons");
    let note = c
        .find(Locator::Css("#detail-readonly"))
        .await
        .expect("note");
    assert!(note.is_displayed().await.expect("shown"), "read only said");
}
