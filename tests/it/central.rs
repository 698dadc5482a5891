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

use serde_json::json;

use crate::central_rig::{
    Centre, LONG, Site, add_operator, bounded, central_process, http, nats, sign_in,
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
    let central_toml = dir.path().join("central.toml");
    let central_port = free_port();
    std::fs::write(
        &central_toml,
        format!(
            "[nats]\nurl = \"{nats_url}\"\n\n[database]\nurl = \"{}\"\n\n[http]\nlisten = \"127.0.0.1:{central_port}\"\n",
            db.url
        ),
    )
    .expect("write central config");
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

/// The watermark in the bucket for `site` (0 before there is one).
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
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.trim().parse().ok())
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
