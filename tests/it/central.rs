//! Many sites, one centre (issue 23), on one machine: a central nats-server of the test's
//! own (free port, its own store directory; the shared one on 4222 is never touched), a
//! central PostgreSQL database of the test's own, `sitewatch central` and three
//! `sitewatch serve` sites as child processes (each its own simulator, SQLite file and
//! port), so they can be killed with SIGKILL.
//!
//! The link is cut by stopping the central NATS server while the sites raise alarms and
//! take requests; thousands of records queue; one site is killed with SIGKILL and started
//! again during the outage; NATS returns; the central consumer is killed while it drains
//! and started again. At the end every record of every site is at the centre exactly
//! once: a site's outbox ids are dense (no other channel is configured), so the centre
//! must hold ids 1..=N with N the site's last id, each once, and the site's buffer is
//! empty. While the consumer is down, forwarded rows stay on site (no watermark covers
//! them).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
use sqlx::Connection as _;

use crate::central_rig::{
    Centre, LONG, Proc, Session, Site, add_operator, bounded, central_process, central_toml, http,
    nats, sign_in,
};
use crate::customers::three_units;
use crate::helpers::{Db, eventually, free_port, fresh_db};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_of_three_sites_reaches_the_centre_exactly_once_across_outages_and_kills() {
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
    let central_toml = central_toml(dir.path(), &nats_url, &db.url, central_port, "");
    let mut consumer = central_process(&central_toml);

    let mut sites = Vec::new();
    for id in ["north", "south", "east"] {
        let site = Site::new(dir.path(), id, &nats_url).await;
        let csv = three_units();
        let resp = http()
            .post(site.url("/api/v1/units/import"))
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .expect("import");
        assert_eq!(resp.status().as_u16(), 200);
        site.activity(3, "before").await;
        sites.push(site);
    }
    for site in &sites {
        eventually("the centre hears every site", LONG, || async {
            (centre.rows(&site.id).await > 0).then_some(())
        })
        .await;
    }

    // The link is cut: records queue on each site while it keeps working.
    server.kill();
    for site in &sites {
        site.activity(5, "outage").await;
    }
    // One site dies hard during the outage and comes back on its own buffer.
    sites[1].proc.as_mut().expect("running").kill();
    sites[1].start().await;
    sites[1].activity(2, "restarted").await;
    for site in &sites {
        eventually("thousands of records queue on each site", LONG, || async {
            (site.unsent().await >= 1000).then_some(())
        })
        .await;
    }

    // The link returns; the consumer dies while draining and is started again.
    server = nats(nats_port, &nats_dir);
    let before: i64 = {
        let mut sum = 0;
        for s in &sites {
            sum += centre.rows(&s.id).await;
        }
        sum
    };
    eventually("the centre drains", LONG, || async {
        let mut sum = 0;
        for s in &sites {
            s.purged_only_what_the_centre_holds(&centre).await;
            sum += centre.rows(&s.id).await;
        }
        (sum > before).then_some(())
    })
    .await;
    consumer.kill();
    // With the consumer down, JetStream still takes the sites' records, and the sites
    // keep what they forwarded: no watermark covers it yet.
    eventually(
        "forwarded rows wait on site for the watermark",
        LONG,
        || async {
            sites[0].purged_only_what_the_centre_holds(&centre).await;
            (sites[0].kept_after_forwarding().await >= 500).then_some(())
        },
    )
    .await;
    consumer = central_process(&central_toml);

    // Quiet the plants, then every record is at the centre once.
    for site in &sites {
        site.sim.stop();
    }
    for site in &sites {
        let (distinct, max, last, rows) = eventually("every record once", LONG, || async {
            // The consumer restarted: redeliveries sit below later batches.
            site.purged_only_what_the_centre_holds(&centre).await;
            let last = site.last_id().await;
            let (distinct, max) = centre.ids(&site.id).await;
            let rows = centre.rows(&site.id).await;
            let left = site.count("select count(*) from outbox").await;
            // A record in a pull the killed consumer never acknowledged comes again
            // after the consumer's ack wait: waited for, not assumed.
            let stable = last > 0 && max == last && distinct == last && left == 0;
            if !stable {
                eprintln!(
                    "{}: last {last} max {max} distinct {distinct} left {left}",
                    site.id
                );
            }
            stable.then_some((distinct, max, last, rows))
        })
        .await;
        assert_eq!(
            max, last,
            "{}: the centre has the site's last record",
            site.id
        );
        assert_eq!(distinct, last, "{}: ids 1..={last} each present", site.id);
        assert_eq!(rows, last, "{}: no record twice", site.id);
        let requests = site
            .count("select count(*) from events where kind = 'request'")
            .await;
        let at_centre = centre
            .one(
                "select count(*) from central_records where site_id = $1 and kind = 'request'",
                &site.id,
            )
            .await;
        assert_eq!(at_centre, requests, "{}: every request entry", site.id);
    }
    add_operator(&central_toml, "wang", "viewer", "wang-password");
    let base = format!("http://127.0.0.1:{central_port}");
    let session = sign_in(&base, "wang", "wang-password").await;
    let (status, fleet) = session.get(&format!("{base}/api/v1/fleet")).await;
    assert_eq!(status, 200, "{fleet}");
    let listed: Vec<&str> = fleet
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["site"].as_str())
        .collect();
    assert_eq!(listed, ["east", "north", "south"], "{fleet}");
    // The backlog each site reported with its newest record: nothing left to send.
    for row in fleet.as_array().expect("rows") {
        assert_eq!(row["link"]["backlog"], json!(0), "{row}");
    }
    drop(consumer);
    drop(server);
}

/// A record of `site` with id `id`, as a site forwards it.
async fn publish_record(js: &async_nats::jetstream::Context, site: &str, id: i64) {
    use async_nats::jetstream::message::PublishMessage;
    let payload =
        json!({"at_ms": 1_700_000_000_000_i64 + id, "subject": "pump_1.fault", "body": {}});
    let message = PublishMessage::build()
        .payload(payload.to_string().into())
        .message_id(format!("{site}:{id}"))
        .header("Sitewatch-Record", id.to_string().as_str());
    let ack = js
        .send_publish(format!("sitewatch.rec.{site}.alarm"), message)
        .await
        .expect("publish");
    bounded("JetStream's ack", ack.into_future())
        .await
        .expect("stored");
}

/// The watermark in the bucket for `site` (its `watermark`; 0 before there is one).
async fn watermark(client: &async_nats::Client, site: &str) -> i64 {
    use base64::Engine as _;
    let subject = "$JS.API.STREAM.MSG.GET.KV_sitewatch_watermarks".to_owned();
    let body = json!({"last_by_subj": format!("$KV.sitewatch_watermarks.{site}")});
    let answer = bounded(
        "the watermark read",
        client.request(subject, body.to_string().into()),
    )
    .await
    .expect("answer");
    let value: serde_json::Value = serde_json::from_slice(&answer.payload).expect("json");
    value
        .pointer("/message/data")
        .and_then(|d| d.as_str())
        .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["watermark"].as_i64())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watermark_never_passes_a_record_a_killed_consumer_left_unacknowledged() {
    use futures_util::StreamExt as _;
    use sitewatch::central::consumer::{Consumer, declare};
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let _server = nats(port, &dir.path().join("nats"));
    let url = format!("nats://127.0.0.1:{port}");
    let client = eventually("nats-server answers", LONG, || async {
        async_nats::connect(url.as_str()).await.ok()
    })
    .await;
    let js = async_nats::jetstream::new(client.clone());
    bounded("the stream and consumer", declare(&client))
        .await
        .expect("declared");
    for id in 1..=10 {
        publish_record(&js, "west", id).await;
    }
    // A consumer takes records 1..=5 and dies before acknowledging them.
    let inbox = client.new_inbox();
    let mut dead = client.subscribe(inbox.clone()).await.expect("inbox");
    let pull = json!({"batch": 5, "expires": 2_000_000_000_u64});
    client
        .publish_with_reply(
            "$JS.API.CONSUMER.MSG.NEXT.SITEWATCH.central",
            inbox,
            pull.to_string().into(),
        )
        .await
        .expect("pull");
    for _ in 0..5 {
        bounded("the dead consumer's messages", dead.next())
            .await
            .expect("a message");
    }
    drop(dead);

    // The next consumer applies 6..=10 at once, and 1..=5 only after JetStream's ack wait.
    let db = fresh_db(Db::Postgres).await;
    let centre = Centre {
        url: db.url.clone(),
    };
    let pool = sitewatch::central::db::connect(&db.url)
        .await
        .expect("central db");
    let cancel = tokio_util::sync::CancellationToken::new();
    let consumer = Consumer {
        url: url.clone(),
        pool,
        metrics: sitewatch::central::FleetMetrics::register(&sitewatch::metrics::Registry::new()),
    };
    let task = tokio::spawn(consumer.run(cancel.clone()));
    let seen_before_redelivery = std::sync::atomic::AtomicBool::new(false);
    eventually("the watermark reaches 10", LONG, || async {
        // Read the watermark first: every id at or below it must be held when read after.
        let mark = watermark(&client, "west").await;
        let held = centre.record_ids("west").await;
        let missing: Vec<i64> = (1..=mark).filter(|id| !held.contains(id)).collect();
        assert!(
            missing.is_empty(),
            "the watermark {mark} covers records the centre does not hold: {missing:?}"
        );
        if held.contains(&10) && !held.contains(&1) {
            seen_before_redelivery.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        (mark == 10).then_some(())
    })
    .await;
    assert!(
        seen_before_redelivery.into_inner(),
        "the later records were applied before the redelivered ones (the case under test)"
    );
    cancel.cancel();
    let _ = bounded("the consumer stops", task).await;
}

/// A central test record's outbox message on site.
fn central_message(n: i64) -> sitewatch::store::OutMessage {
    sitewatch::store::OutMessage {
        channel: "central".into(),
        target: "alarm".into(),
        payload: json!({"at_ms": 1_700_000_000_000_i64 + n, "subject": "pump_1.fault", "body": {}})
            .to_string(),
        retain: false,
    }
}

/// The centre's consumer on `url` and `pool`, running until the token is cancelled.
fn start_consumer(
    url: &str,
    pool: sqlx::PgPool,
) -> (
    tokio_util::sync::CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let cancel = tokio_util::sync::CancellationToken::new();
    let consumer = sitewatch::central::consumer::Consumer {
        url: url.to_owned(),
        pool,
        metrics: sitewatch::central::FleetMetrics::register(&sitewatch::metrics::Registry::new()),
    };
    (cancel.clone(), tokio::spawn(consumer.run(cancel)))
}

/// The known gap of the first central release, closed: a row whose first publish was lost
/// goes again behind a later row that went through, so it sits above that row in the
/// stream. The centre commits the later row and confirms it; the site must keep the
/// resent row (JetStream holds it, the centre does not yet) until the centre's
/// confirmation covers the row's own stream sequence. Purged by record id, as before,
/// it went on the later row's confirmation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_resent_behind_a_later_one_stays_on_site_until_the_centre_holds_it() {
    resent_row_stays(Db::Sqlite).await;
}

/// The same with the site on PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_resent_behind_a_later_one_stays_on_a_postgres_site_until_the_centre_holds_it() {
    resent_row_stays(Db::Postgres).await;
}

async fn resent_row_stays(kind: Db) {
    use sitewatch::outbox::jetstream::{Bounds, Forwarder, send};
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let _server = nats(port, &dir.path().join("nats"));
    let url = format!("nats://127.0.0.1:{port}");
    let client = eventually("nats-server answers", LONG, || async {
        async_nats::connect(url.as_str()).await.ok()
    })
    .await;
    let js = async_nats::jetstream::new(client.clone());
    bounded(
        "the stream and consumer",
        sitewatch::central::consumer::declare(&client),
    )
    .await
    .expect("declared");
    let site_db = fresh_db(kind).await;
    let store = sitewatch::store::Store::connect(&site_db.url)
        .await
        .expect("site db");
    store.migrate().await.expect("migrate");
    let now = chrono::Utc::now();
    store
        .enqueue(now, &[central_message(1), central_message(2)])
        .await
        .expect("two central rows");
    let rows = store.unsent("central", 0, 10).await.expect("rows");
    assert_eq!(rows.iter().map(|q| q.id).collect::<Vec<_>>(), [1, 2]);

    // Row 1's first publish is lost; row 2's goes through and the centre commits it.
    let publish = |q: sitewatch::store::Queued| {
        let js = js.clone();
        async move {
            let ack = send(&js, "west", &q, None).await.expect("publish");
            bounded("JetStream's ack", ack.into_future())
                .await
                .expect("stored")
                .sequence as i64
        }
    };
    let seq2 = publish(rows[1].clone()).await;
    store
        .mark_forwarded(&[(2, seq2)], now)
        .await
        .expect("mark 2");
    let central_db = fresh_db(Db::Postgres).await;
    let centre = Centre {
        url: central_db.url.clone(),
    };
    let pool = sitewatch::central::db::connect(&central_db.url)
        .await
        .expect("central db");
    let (cancel, task) = start_consumer(&url, pool.clone());
    eventually("the centre confirms row 2", LONG, || async {
        (watermark(&client, "west").await == 2).then_some(())
    })
    .await;
    cancel.cancel();
    let _ = bounded("the consumer stops", task).await;

    // Row 1 goes again and lands behind row 2; JetStream acknowledges it, the centre is
    // away and does not hold it.
    let seq1 = publish(rows[0].clone()).await;
    assert!(seq1 > seq2, "the resent row is later in the stream");
    store
        .mark_forwarded(&[(1, seq1)], now)
        .await
        .expect("mark 1");
    assert_eq!(centre.record_ids("west").await, [2].into());

    // The site's forwarder reads the centre's confirmation and purges what it covers.
    let registry = sitewatch::metrics::Registry::new();
    let forwarder = Forwarder {
        url: url.clone(),
        site: "west".into(),
        store: store.clone(),
        gate: sitewatch::store::central::Gate::register(&registry),
        bounds: Bounds {
            bytes: 1 << 30,
            age: Duration::from_secs(86_400),
        },
        metrics: sitewatch::outbox::CentralMetrics::register(&registry),
        clock: std::sync::Arc::new(sitewatch_core::clock::SystemClock),
        engine: sitewatch::engine::Engine::channels().0,
    };
    let stop = tokio_util::sync::CancellationToken::new();
    let forwarding = tokio::spawn(forwarder.run(stop.clone()));
    eventually("the site purges on the confirmation", LONG, || async {
        let purged = crate::helpers::metric(&registry.render(), "sitewatch_central_purged_total");
        (purged >= Some(1.0)).then_some(())
    })
    .await;
    let kept: Vec<i64> = store
        .unsent("central", 0, 10)
        .await
        .expect("unsent")
        .iter()
        .map(|q| q.id)
        .collect();
    assert!(kept.is_empty(), "both rows stay forwarded: {kept:?}");
    assert_eq!(
        store.central_buffered().await.expect("buffer").rows,
        1,
        "row 2 is purged, row 1 stays on site: the confirmation covers row 2's stream \
         sequence, not row 1's"
    );

    // The centre takes row 1; its confirmation now covers it, and the site lets it go.
    let (cancel, task) = start_consumer(&url, pool);
    eventually(
        "the centre holds row 1 and the site lets it go",
        LONG,
        || async {
            let held = centre.record_ids("west").await;
            let left = store.central_buffered().await.ok()?.rows;
            (held == [1, 2].into() && left == 0).then_some(())
        },
    )
    .await;
    stop.cancel();
    cancel.cancel();
    let _ = bounded("the forwarder stops", forwarding).await;
    let _ = bounded("the consumer stops", task).await;
}

/// Waits until the centre holds every record of `site` once: ids 1..=N with N the site's
/// last outbox id (every outbox row is a central record here), and the site's buffer is
/// empty; on the way, no row is gone from the site that the centre does not hold.
async fn every_record_once(site: &Site, centre: &Centre) {
    let (distinct, max, last, rows) = eventually("every record once", LONG, || async {
        site.purged_only_what_the_centre_holds(centre).await;
        let last = site.last_id().await;
        let (distinct, max) = centre.ids(&site.id).await;
        let rows = centre.rows(&site.id).await;
        let left = site.count("select count(*) from outbox").await;
        let done = last > 0 && max == last && distinct == last && left == 0;
        done.then_some((distinct, max, last, rows))
    })
    .await;
    assert_eq!(
        max, last,
        "{}: the centre has the site's last record",
        site.id
    );
    assert_eq!(distinct, last, "{}: ids 1..={last} each present", site.id);
    assert_eq!(rows, last, "{}: no record twice", site.id);
}

/// `sitewatch central` with its log in `log` (the test counts its lines).
fn central_logged(config: &Path, log: &Path) -> Proc {
    let file = std::fs::File::create(log).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_sitewatch"))
        .args(["central", "--config", config.to_str().expect("utf-8")])
        .env("RUST_LOG", "info")
        .stdout(Stdio::from(file.try_clone().expect("log file")))
        .stderr(Stdio::from(file))
        .spawn()
        .expect("binary runs");
    Proc(child)
}

/// The centre's `/api/v1/fleet` as a signed-in operator: status and body.
async fn fleet(session: &Session, port: u16) -> Option<(u16, serde_json::Value)> {
    let resp = http()
        .get(format!("http://127.0.0.1:{port}/api/v1/fleet"))
        .header("cookie", &session.cookie)
        .send()
        .await
        .ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.json().await.ok()?))
}

/// A series of the centre's `/metrics`.
async fn centre_metric(port: u16, series: &str) -> Option<f64> {
    let text = http()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    crate::helpers::metric(&text, series)
}

/// The central PostgreSQL stops (immediate: connections cut, as in a crash) while the
/// sites forward and the consumer drains, the sites keep raising records, and it starts
/// again. `sitewatch central` keeps running, answers the fleet view with 503 and the
/// stable error body meanwhile, counts the refused commits and says so once in its log;
/// nothing is acknowledged that was not committed, so the sites keep what they forwarded;
/// at the end every record of every site is at the centre once, the unit register each
/// imported and the notice each sent among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_reaches_the_centre_once_across_a_restart_of_its_database() {
    use crate::pg_server::PgServer;
    let dir = tempfile::tempdir().expect("dir");
    let nats_port = free_port();
    let _server = nats(nats_port, &dir.path().join("nats"));
    let nats_url = format!("nats://127.0.0.1:{nats_port}");
    let pg = std::sync::Arc::new(
        tokio::task::spawn_blocking(PgServer::start)
            .await
            .expect("pg"),
    );
    let db_url = pg.create_db("centre").await;
    let centre = Centre {
        url: db_url.clone(),
    };
    let port = free_port();
    let central_toml = central_toml(dir.path(), &nats_url, &db_url, port, "");
    let log = dir.path().join("central.log");
    let mut consumer = central_logged(&central_toml, &log);
    let base = format!("http://127.0.0.1:{port}");
    // The centre has made its tables (operators among them) once it answers.
    eventually("the centre answers", LONG, || async {
        http().get(format!("{base}/healthz")).send().await.ok()
    })
    .await;
    add_operator(&central_toml, "wang", "viewer", "wang-password");
    let session = sign_in(&base, "wang", "wang-password").await;

    let mut sites = Vec::new();
    for id in ["north", "south", "east"] {
        let site = Site::new(dir.path(), id, &nats_url).await;
        let resp = http()
            .post(site.url("/api/v1/units/import"))
            .header("content-type", "text/csv")
            .body(three_units())
            .send()
            .await
            .expect("import");
        assert_eq!(resp.status().as_u16(), 200, "{id}: units imported");
        let starts_at = chrono::Utc::now() + chrono::Duration::hours(25);
        let notice = json!({
            "level": "important", "template": "water_stoppage", "starts_at": starts_at,
            "ends_at": starts_at + chrono::Duration::hours(4),
            "expires_at": starts_at + chrono::Duration::hours(5),
            "target": {"type": "building", "building": "1"}, "created_by": "desk-chen"
        });
        let resp = http()
            .post(site.url("/api/v1/notices"))
            .json(&notice)
            .send()
            .await
            .expect("notice");
        assert_eq!(resp.status().as_u16(), 201, "{id}: notice sent");
        let n: serde_json::Value = resp.json().await.expect("notice json");
        let deliveries = json!({"by": "desk-chen", "records": [
            {"unit": "1-0301", "channel": "sms"},
            {"unit": "1-0302", "channel": "paper", "confirmed": true}
        ]});
        let path = format!("/api/v1/notices/{}/deliveries", n["id"]);
        assert_eq!(site.post(&path, deliveries).await, 200, "{id}: deliveries");
        site.activity(3, "before").await;
        sites.push(site);
    }
    for site in &sites {
        eventually("the centre hears every site", LONG, || async {
            (centre.rows(&site.id).await > 0).then_some(())
        })
        .await;
    }

    // Mid-drain (the plants keep every site's history flowing), the database stops.
    let pg_step = |step: fn(&PgServer)| {
        let pg = pg.clone();
        tokio::task::spawn_blocking(move || step(&pg))
    };
    pg_step(PgServer::stop).await.expect("pg stops");
    for site in &sites {
        site.activity(5, "database down").await;
    }
    let (status, body) = eventually("the fleet view says the database is away", LONG, || async {
        fleet(&session, port).await.filter(|(s, _)| *s == 503)
    })
    .await;
    assert_eq!(
        (status, &body["code"]),
        (503, &json!("unavailable")),
        "{body}"
    );
    assert!(body["message"].is_string(), "{body}");
    eventually("the refused commits are counted", LONG, || async {
        let n = centre_metric(port, "sitewatch_central_db_errors_total").await?;
        (n >= 2.0).then_some(())
    })
    .await;
    // Nothing is confirmed while nothing is committed: what the sites forward stays.
    eventually("forwarded rows wait on site", LONG, || async {
        (sites[0].kept_after_forwarding().await >= 500).then_some(())
    })
    .await;
    assert!(
        consumer.0.try_wait().expect("wait").is_none(),
        "sitewatch central keeps running"
    );

    pg_step(PgServer::start_again).await.expect("pg starts");
    for site in &sites {
        site.activity(2, "after").await;
        site.sim.stop();
    }
    for site in &sites {
        every_record_once(site, &centre).await;
        for (kind, n) in [
            ("unit", 3),
            ("occupancy", 3),
            ("notice", 1),
            ("notice_delivery", 2),
        ] {
            let at_centre = centre
                .one(
                    &format!(
                        "select count(*) from central_records where site_id = $1 and kind = '{kind}'"
                    ),
                    &site.id,
                )
                .await;
            assert_eq!(at_centre, n, "{}: {kind} records at the centre", site.id);
        }
    }
    let (status, body) = fleet(&session, port).await.expect("fleet answers");
    assert_eq!(status, 200, "{body}");
    assert!(
        consumer.0.try_wait().expect("wait").is_none(),
        "sitewatch central kept running"
    );
    let text = std::fs::read_to_string(&log).expect("log");
    let refused = text.matches("central database refused a batch").count();
    let back = text.matches("central database takes batches again").count();
    assert_eq!(
        (refused, back),
        (1, 1),
        "one outage, said once each way, not per try:\n{text}"
    );
}

/// A unit register imported from the command line travels like one imported over HTTP:
/// with `[central]` its rows are in the site's outbox, for the daemon's forwarder.
#[tokio::test]
async fn a_unit_register_imported_from_the_command_line_waits_in_the_forward_buffer() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("site.db");
    let config = dir.path().join("site.toml");
    let text = format!(
        "[site]\nid = \"west\"\nname = \"Estate west\"\n\n[database]\nurl = \"sqlite://{}\"\n\n\
         [central]\nurl = \"nats://127.0.0.1:{}\"\n",
        db.display(),
        free_port()
    );
    std::fs::write(&config, text).expect("write config");
    let csv = dir.path().join("units.csv");
    std::fs::write(&csv, three_units()).expect("write csv");
    let out = Command::new(env!("CARGO_BIN_EXE_sitewatch"))
        .args(["import", "units", "--config"])
        .arg(&config)
        .arg(&csv)
        .env_remove("SITEWATCH_DATABASE_URL")
        .output()
        .expect("binary runs");
    assert!(
        out.status.success(),
        "import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = format!("sqlite://{}?mode=ro", db.display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open site db");
    let kinds: Vec<(String, i64)> = sqlx::query_as(
        "select target, count(*) from outbox where channel = 'central' and sent_ms is null \
         group by target order by target",
    )
    .fetch_all(&mut conn)
    .await
    .expect("outbox");
    assert_eq!(
        kinds,
        [("occupancy".to_owned(), 3), ("unit".to_owned(), 3)],
        "each unit and its first occupancy wait to be forwarded"
    );
}
