//! Commands down (issue 23), on one machine: the central rig (`central_rig.rs`: a
//! nats-server of the test's own, a PostgreSQL database, `sitewatch central` and two
//! `sitewatch serve` sites as child processes). An operator at the centre (a bearer token
//! from `sitewatch central token`) acknowledges a site's alarm and dispatches its
//! incident; the site's API shows them done by `central:{operator}` and the journal
//! record comes back to the centre. A resent command id is applied once, a refusal
//! answers the site's own code, bad JSON on the command subject gets an error reply while
//! the site keeps answering, a burst to a stalled site is answered in full (queued or
//! busy), a site stopped with SIGSTOP answers "not delivered" on the timeout and, resumed,
//! refuses the late command as expired (a resend is a fresh try), one killed
//! with SIGKILL at once with nothing recorded as done, and after a NATS restart commands
//! flow again.

use futures_util::StreamExt as _;
use serde_json::{Value, json};

use crate::central_rig::{Centre, LONG, Site, bounded, central_process, central_toml, http, nats};
use crate::helpers::{Db, eventually, free_port, fresh_db};

const OPERATOR: &str = "li.wei";
const FIRE: &str = "fire_panel.zone2_alarm:discrete";
const PUMP: &str = "pump_1.fault:discrete";
/// Commands sent at once to a stalled site.
const BURST: u32 = 1000;

/// The centre's HTTP API as the signed-in operator.
struct Api {
    base: String,
    token: String,
}

impl Api {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = bounded(
            path,
            http()
                .post(format!("{}{path}", self.base))
                .bearer_auth(&self.token)
                .json(&body)
                .send(),
        )
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn metrics(&self) -> String {
        let url = format!("{}/metrics", self.base);
        let resp = http().get(url).send().await.expect("metrics");
        resp.text().await.expect("text")
    }
}

/// A site's JSON at `path`.
async fn site_json(site: &Site, path: &str) -> Value {
    let resp = http()
        .get(site.url(path))
        .send()
        .await
        .expect("site answers");
    resp.json().await.expect("json")
}

/// The value of a sample line in a `/metrics` text.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

/// An operator token at the centre, made with the CLI.
fn token(config: &std::path::Path, name: &str, role: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sitewatch"))
        .args(["central", "token", name, "--role", role, "--config"])
        .arg(config)
        .env_remove("SITEWATCH_DATABASE_URL")
        .output()
        .expect("binary runs");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    text.split_whitespace().last().expect("a token").to_owned()
}

/// A request and its reply straight on NATS (as the centre sends, or anything else).
async fn nats_request(client: &async_nats::Client, site: &str, payload: String) -> Value {
    let subject = format!("sitewatch.cmd.{site}");
    let reply = bounded("a site's reply", client.request(subject, payload.into()))
        .await
        .expect("a reply");
    serde_json::from_slice(&reply.payload).expect("json reply")
}

/// Sends `sig` to the process `pid` (stop and continue a site).
fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a child of this test; no memory is shared.
    let done = unsafe { libc::kill(pid, sig) };
    assert_eq!(done, 0, "signal {sig} to {pid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_from_the_centre_are_applied_on_site_once_or_answered_not_delivered() {
    let dir = tempfile::tempdir().expect("dir");
    let nats_port = free_port();
    let nats_dir = dir.path().join("nats");
    let mut server = nats(nats_port, &nats_dir);
    let nats_url = format!("nats://127.0.0.1:{nats_port}");
    let db = fresh_db(Db::Postgres).await;
    let centre = Centre {
        url: db.url.clone(),
    };
    let central_port = free_port();
    let central_toml = central_toml(
        dir.path(),
        &nats_url,
        &db.url,
        central_port,
        "\n[fleet]\ncommand_timeout = \"3s\"\n",
    );
    let _central = central_process(&central_toml);
    let base = format!("http://127.0.0.1:{central_port}");
    eventually("the centre answers", LONG, || async {
        http().get(format!("{base}/metrics")).send().await.ok()
    })
    .await;
    let api = Api {
        token: token(&central_toml, OPERATOR, "duty_engineer"),
        base,
    };
    let mut north = Site::new(dir.path(), "north", &nats_url).await;
    let mut south = Site::new(dir.path(), "south", &nats_url).await;
    let client = eventually("nats-server answers", LONG, || async {
        async_nats::connect(nats_url.as_str()).await.ok()
    })
    .await;

    // A fire alarm on each site (it opens a fire incident at once).
    for site in [&north, &south] {
        site.sim.set(4, "zone2_alarm", 1.0);
        eventually("the fire alarm is raised", LONG, || async {
            let a = site_json(site, &format!("/api/v1/alarms/{FIRE}")).await;
            (a["state"] == "unack_active").then_some(())
        })
        .await;
    }

    // Acknowledged from the centre: applied on site, by the operator, and the
    // acknowledgement's record comes back to the centre.
    let ack = format!("/api/v1/sites/north/alarms/{FIRE}/ack");
    let body = json!({"comment": "seen from head office", "command_id": "ack-north-1"});
    let (status, answer) = api.post(&ack, body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "applied", "{answer}");
    let alarm = site_json(&north, &format!("/api/v1/alarms/{FIRE}")).await;
    assert_eq!(alarm["state"], "ack_active", "{alarm}");
    assert_eq!(alarm["acked_by"], format!("central:{OPERATOR}"), "{alarm}");
    eventually(
        "the acknowledgement's record reaches the centre",
        LONG,
        || async {
            let n = centre
                .one(
                    "select count(*) from central_records where site_id = $1 and kind = 'alarm' \
                 and body::text like '%central:li.wei%' and body::text like '%acknowledged%'",
                    "north",
                )
                .await;
            (n == 1).then_some(())
        },
    )
    .await;

    // The same command id again: answered, applied once.
    let (status, again) = api.post(&ack, body).await;
    assert_eq!(
        (status, &again["outcome"]),
        (200, &json!("applied")),
        "{again}"
    );
    // Another command id: the site refuses (already acknowledged) with its own code.
    let body = json!({"command_id": "ack-north-2"});
    let (status, refused) = api.post(&ack, body).await;
    assert_eq!(
        (status, &refused["error"]),
        (409, &json!("conflict")),
        "{refused}"
    );
    let (status, unknown) = api
        .post("/api/v1/sites/north/alarms/nope/ack", json!({}))
        .await;
    assert_eq!(
        (status, &unknown["error"]),
        (404, &json!("not_found")),
        "{unknown}"
    );
    let acks = north
        .count(
            "select count(*) from events where kind = 'alarm' \
             and body like '%acknowledged%' and body like '%central:li.wei%'",
        )
        .await;
    assert_eq!(acks, 1, "one acknowledgement in the site's journal");

    // A dispatch of south's incident; the same command sent again straight on NATS
    // answers its first outcome and is not applied twice (a second dispatch would be a
    // conflict).
    let incidents = site_json(&south, "/api/v1/incidents").await;
    let incident = incidents[0]["id"].as_i64().expect("a fire incident");
    let dispatch = format!("/api/v1/sites/south/incidents/{incident}/dispatch");
    let (status, answer) = api
        .post(&dispatch, json!({"to": "zhang.wei", "command_id": "d-1"}))
        .await;
    assert_eq!(
        (status, &answer["outcome"]),
        (200, &json!("applied")),
        "{answer}"
    );
    let resend = json!({"v": 1, "command_id": "d-1", "operator": OPERATOR,
        "action": {"type": "dispatch", "incident": incident, "to": "zhang.wei", "note": ""}});
    let reply = nats_request(&client, "south", resend.to_string()).await;
    assert_eq!(reply["outcome"], "applied", "{reply}");
    let other = resend.to_string().replace("\"d-1\"", "\"d-2\"");
    let reply = nats_request(&client, "south", other).await;
    assert_eq!(
        (&reply["outcome"], &reply["status"]),
        (&json!("refused"), &json!(409))
    );
    let shown = site_json(&south, &format!("/api/v1/incidents/{incident}")).await;
    assert_eq!(shown["state"], "dispatched", "{shown}");
    let dispatched = south
        .count("select count(*) from events where kind = 'incident' and body like '%zhang.wei%'")
        .await;
    assert_eq!(dispatched, 1, "one dispatch in the site's journal");

    // Bad JSON on the subject: an error reply, counted, and the site keeps answering.
    let reply = nats_request(&client, "south", "{not json".to_owned()).await;
    assert_eq!(
        (&reply["outcome"], &reply["code"]),
        (&json!("bad_command"), &json!("bad_command"))
    );
    let reply = nats_request(&client, "south", "{\"v\":1}".to_owned()).await;
    assert_eq!(reply["outcome"], "bad_command", "{reply}");
    let metrics = http()
        .get(south.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    let text = metrics.text().await.expect("text");
    let bad = r#"sitewatch_central_commands_received_total{outcome="bad_command"}"#;
    assert_eq!(sample(&text, bad), Some(2.0), "{text}");
    let (status, answer) = api
        .post(&format!("/api/v1/sites/south/alarms/{FIRE}/ack"), json!({}))
        .await;
    assert_eq!(
        (status, &answer["outcome"]),
        (200, &json!("applied")),
        "{answer}"
    );

    // A burst while the site is stalled: at most 64 wait and the rest are answered busy
    // at once; every command gets an answer, and the two counts add up.
    let pid = south.proc.as_ref().expect("running").0.id() as i32;
    let inbox = client.new_inbox();
    let mut replies = client.subscribe(inbox.clone()).await.expect("inbox");
    signal(pid, libc::SIGSTOP);
    for _ in 0..BURST {
        let to = inbox.clone();
        let sent = client.publish_with_reply("sitewatch.cmd.south", to, "{burst".into());
        sent.await.expect("published");
    }
    bounded("the burst is sent", client.flush())
        .await
        .expect("flushed");
    signal(pid, libc::SIGCONT);
    let (mut busy, mut answered) = (0, 0);
    for _ in 0..BURST {
        let reply = bounded("a reply to the burst", replies.next())
            .await
            .expect("reply");
        let reply: Value = serde_json::from_slice(&reply.payload).expect("json");
        match reply["code"].as_str() {
            Some("busy") => busy += 1,
            Some("bad_command") => answered += 1,
            other => panic!("unexpected reply {other:?}: {reply}"),
        }
    }
    eprintln!("a burst of {BURST}: {answered} answered, {busy} busy");
    assert!(
        busy > 0 && answered >= 64,
        "busy {busy}, answered {answered}"
    );
    let text = http()
        .get(south.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    let text = text.text().await.expect("text");
    let busy_series = r#"sitewatch_central_commands_received_total{outcome="busy"}"#;
    assert_eq!(sample(&text, busy_series), Some(f64::from(busy)), "{text}");
    assert_eq!(sample(&text, bad), Some(f64::from(2 + answered)), "{text}");

    // A site that stops answering (SIGSTOP): not delivered on the timeout. It gets the
    // command when it runs again, past its expiry: refused `expired` there, nothing done,
    // the alarm still unacknowledged. The same command id sent again is a fresh try.
    south.sim.set(3, "fault", 1.0);
    eventually("the pump alarm is raised", LONG, || async {
        let a = site_json(&south, &format!("/api/v1/alarms/{PUMP}")).await;
        (a["state"] == "unack_active").then_some(())
    })
    .await;
    signal(pid, libc::SIGSTOP);
    let late = format!("/api/v1/sites/south/alarms/{PUMP}/ack");
    let (status, answer) = api.post(&late, json!({"command_id": "late-1"})).await;
    signal(pid, libc::SIGCONT);
    assert_eq!(
        (status, &answer["error"]),
        (504, &json!("not_delivered")),
        "{answer}"
    );
    assert_eq!(answer["reason"], "timeout", "{answer}");
    let expired = r#"sitewatch_central_commands_received_total{outcome="expired"}"#;
    eventually(
        "the late command is refused as expired on site",
        LONG,
        || async {
            let text = http().get(south.url("/metrics")).send().await.ok()?;
            let text = text.text().await.ok()?;
            (sample(&text, expired) == Some(1.0)).then_some(())
        },
    )
    .await;
    let a = site_json(&south, &format!("/api/v1/alarms/{PUMP}")).await;
    assert_eq!(
        a["state"], "unack_active",
        "not applied after the centre gave up: {a}"
    );
    let (status, answer) = api.post(&late, json!({"command_id": "late-1"})).await;
    assert_eq!(
        (status, &answer["outcome"]),
        (200, &json!("applied")),
        "{answer}"
    );
    let a = site_json(&south, &format!("/api/v1/alarms/{PUMP}")).await;
    assert_eq!(a["state"], "ack_active", "the fresh try is applied: {a}");

    // A site killed with SIGKILL: not delivered, and nothing recorded as done.
    north.proc.as_mut().expect("running").kill();
    let (status, answer) = api
        .post(&ack, json!({"command_id": "ack-north-dead"}))
        .await;
    assert!(status == 502 || status == 504, "{status} {answer}");
    assert_eq!(answer["error"], "not_delivered", "{answer}");
    let done = centre
        .one(
            "select count(*) from central_commands where site_id = $1 \
             and command_id = 'ack-north-dead' and outcome = 'not_delivered'",
            "north",
        )
        .await;
    assert_eq!(done, 1, "recorded as not delivered");
    let applied = centre
        .one(
            "select count(*) from central_commands where site_id = $1 and outcome = 'applied'",
            "north",
        )
        .await;
    assert_eq!(
        applied, 1,
        "only the first acknowledgement is recorded as done"
    );
    let text = api.metrics().await;
    let series = |o: &str| format!(r#"sitewatch_central_commands_total{{outcome="{o}"}}"#);
    assert_eq!(sample(&text, &series("applied")), Some(4.0), "{text}");
    assert_eq!(sample(&text, &series("not_delivered")), Some(2.0), "{text}");
    assert_eq!(
        sample(&text, &series("answered_again")),
        Some(1.0),
        "{text}"
    );
    assert_eq!(sample(&text, &series("refused")), Some(2.0), "{text}");

    // A viewer may not send commands.
    let viewer = Api {
        token: token(&central_toml, "viewer-wu", "viewer"),
        base: api.base.clone(),
    };
    let (status, _) = viewer
        .post("/api/v1/sites/south/alarms/x/ack", json!({}))
        .await;
    assert_eq!(status, 403);

    // The NATS server restarts: the site and the centre connect again by themselves and
    // the site takes commands again.
    south.sim.set(4, "zone1_fault", 1.0);
    let zone1 = "fire_panel.zone1_fault:discrete";
    eventually("the zone fault is raised", LONG, || async {
        let a = site_json(&south, &format!("/api/v1/alarms/{zone1}")).await;
        (a["state"] == "unack_active").then_some(())
    })
    .await;
    server.kill();
    server = nats(nats_port, &nats_dir);
    let path = format!("/api/v1/sites/south/alarms/{zone1}/ack");
    eventually("a command is applied after the restart", LONG, || async {
        let (status, answer) = api.post(&path, json!({"command_id": "after"})).await;
        (status == 200 && answer["outcome"] == "applied").then_some(())
    })
    .await;
    let a = site_json(&south, &format!("/api/v1/alarms/{zone1}")).await;
    assert_eq!(a["acked_by"], format!("central:{OPERATOR}"), "{a}");
    south.proc.as_mut().expect("running").kill();
    drop(server);
}
