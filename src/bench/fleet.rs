//! `sitewatch bench fleet` (issue 23): simulated sites publish records to a central
//! nats-server with JetStream of the bench's own, in the site forwarder's form and through
//! its own publish path (`outbox::jetstream::Forwarder::publish`:
//! `sitewatch.rec.{site}.{kind}`, `Nats-Msg-Id`, `Sitewatch-Record`, the
//! `{"at_ms","subject","body"}` envelope), and the real central consumer
//! (`central::consumer::Consumer`) applies them to PostgreSQL.
//!
//! Three figures, in one run: the drain time of a 60-minute outage's backlog (N sites'
//! records pre-loaded in the stream, then the consumer started) against a bare
//! async-nats consumer inserting the same rows into tables of the same shape; sustained
//! records/s and ingest lag p50/p99 with N sites live; and, doubling N, the most sites
//! one centre carries with lag p99 under 5 s. The sites run in this process, on this
//! machine: at large N their own publishing competes with the centre for the CPU.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use serde_json::json;
use sqlx::{Connection as _, PgPool, Postgres, QueryBuilder};
use tokio_util::sync::CancellationToken;

use crate::central::{FleetMetrics, consumer, db};
use crate::metrics::Registry;
use crate::outbox::jetstream::{Forwarder, RECORD_HEADER, STREAM, api};
use crate::store::central::reading_row;
use crate::store::{OutMessage, Queued, Reading};

/// History readings per second of the demo site with `history = "recorded"`: 19,100
/// records an hour, 98 % of them readings (docs/benchmarks.md, "Forward buffer").
pub const DEMO_HISTORY_PER_S: f64 = 19_100.0 * 0.98 / 3600.0;
/// The lag bound a centre must keep to carry a number of sites.
const LAG_BOUND_MS: f64 = 5_000.0;
/// How often a simulated site publishes what it decided since (the forwarder's poll).
const TICK: Duration = Duration::from_millis(200);
/// Longest warm-up of a live step before its figures are taken.
const WARM_UP: Duration = Duration::from_secs(10);
/// Rows a site publishes at once (the forwarder's batch).
const CHUNK: usize = 500;

/// What to run.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Sites in the outage and the first live step.
    pub sites: usize,
    /// Records per second per site, history aside.
    pub rate: f64,
    /// History readings per second per site (0 for `--history none`).
    pub history: f64,
    /// Seconds each live step runs.
    pub seconds: u64,
    /// Minutes of outage pre-loaded before the drain.
    pub outage_minutes: u64,
    /// Live steps double the sites up to this.
    pub max_sites: usize,
    /// The central database; a fresh one on 127.0.0.1:5432 (made and dropped) if `None`.
    pub database_url: Option<String>,
}

impl FleetOptions {
    /// The small run `--quick` asks for (a test's): 2 sites, 1 minute of outage, live
    /// steps of 2 s up to 4 sites.
    pub fn quick(self) -> FleetOptions {
        FleetOptions {
            sites: 2,
            seconds: 2,
            outage_minutes: 1,
            max_sites: 4,
            ..self
        }
    }
}

/// Runs the bench and prints its figures.
pub async fn run(o: FleetOptions) -> anyhow::Result<()> {
    let nats = Nats::start().await?;
    let db = BenchDb::open(o.database_url.as_deref()).await?;
    let result = measure(&o, &nats.url, &db.url).await;
    db.close().await;
    result
}

async fn measure(o: &FleetOptions, nats_url: &str, db_url: &str) -> anyhow::Result<()> {
    let per_site = o.rate + o.history;
    println!(
        "Fleet: sites at {:.1} records/s each ({:.1} records + {:.1} history readings), \
         nats-server {nats_url}, one central consumer into PostgreSQL",
        per_site, o.rate, o.history
    );
    let pool = db::connect(db_url).await?;
    let client = async_nats::connect(nats_url).await?;
    consumer::declare(&client).await?;
    let run_tag = format!("b{}", std::process::id() % 10_000);

    // The outage: N sites' records for the outage's length wait in the stream.
    let outage = Duration::from_secs(o.outage_minutes * 60);
    let started = Instant::now();
    let total = preload(&client, &format!("{run_tag}o"), o, outage).await?;
    println!(
        "  outage: {} sites x {} min = {total} records pre-loaded in {:.1} s",
        o.sites,
        o.outage_minutes,
        started.elapsed().as_secs_f64()
    );
    let registry = Arc::new(Registry::new());
    let cancel = CancellationToken::new();
    let centre = consumer::Consumer {
        url: nats_url.to_owned(),
        pool: pool.clone(),
        metrics: FleetMetrics::register(&registry),
    };
    let started = Instant::now();
    let task = tokio::spawn(centre.run(cancel.clone()));
    let drained = until_applied(&registry, total, drain_limit(total)).await;
    let sw = started.elapsed();
    let bare = bare_drain(&client, &pool, total).await?;
    let (sw_rate, bare_rate) = (
        total as f64 / sw.as_secs_f64(),
        total as f64 / bare.as_secs_f64(),
    );
    println!(
        "  drain, sitewatch central {:>8.1} s  {sw_rate:>8.0} records/s{}",
        sw.as_secs_f64(),
        if drained {
            ""
        } else {
            "  (NOT DRAINED: timed out)"
        }
    );
    println!(
        "  drain, bare async-nats   {:>8.1} s  {bare_rate:>8.0} records/s",
        bare.as_secs_f64()
    );
    println!(
        "  ratio                    {:>8.2}x the bare consumer's rate",
        sw_rate / bare_rate
    );

    // Live: sites publishing as they decide, doubling until the lag bound breaks.
    let mut n = o.sites.max(1);
    let mut carried = None;
    let mut step = 0;
    loop {
        step += 1;
        let tag = format!("{run_tag}l{step}");
        let s = live(o, nats_url, &pool, &registry, &tag, n).await?;
        println!(
            "  live {n:>5} sites: offered {:>7.0}/s, sustained {:>7.0} records/s, lag p50 {:>6.0} ms, p99 {:>6.0} ms{}",
            s.offered,
            s.sustained,
            s.p50_ms,
            s.p99_ms,
            if s.held() { "" } else { "  <- over the bound" }
        );
        println!(
            "        warm-up (the centre meets {n} new sites): longest lag {:.0} ms",
            s.warm_max_ms
        );
        if s.again > 0 {
            println!(
                "        ({} rows sent again by their sites: a publish not acknowledged in time)",
                s.again
            );
        }
        if !s.held() {
            break;
        }
        carried = Some(n);
        if n * 2 > o.max_sites {
            break;
        }
        n *= 2;
    }
    cancel.cancel();
    let _ = task.await;
    pool.close().await;
    let computed = (sw_rate / per_site).floor();
    match carried {
        Some(c) if c == n => println!(
            "  sites carried with lag p99 < 5 s: {c} measured (not broken up to --max-sites {})",
            o.max_sites
        ),
        Some(c) => println!("  sites carried with lag p99 < 5 s: {c} measured ({n} broke it)"),
        None => println!("  sites carried with lag p99 < 5 s: fewer than {n} measured"),
    }
    println!(
        "  sites by the drain rate: {computed:.0} ({sw_rate:.0} records/s / {per_site:.1} per site)"
    );
    Ok(())
}

/// How long a drain may take before the bench gives up on it.
fn drain_limit(total: u64) -> Duration {
    Duration::from_secs(60 + total / 200)
}

/// A simulated site: its id at the centre, its next record id and what it owes.
struct Site {
    id: String,
    next: i64,
    owed_records: f64,
    owed_history: f64,
}

impl Site {
    fn new(id: String) -> Site {
        Site {
            id,
            next: 1,
            owed_records: 0.0,
            owed_history: 0.0,
        }
    }

    /// The rows it decided in `dt` seconds ending `at`, in the forwarder's form.
    fn decide(&mut self, o: &FleetOptions, dt: f64, at: DateTime<Utc>) -> Vec<Queued> {
        self.owed_records += o.rate * dt;
        self.owed_history += o.history * dt;
        let mut rows = Vec::new();
        while self.owed_records >= 1.0 {
            self.owed_records -= 1.0;
            let message = record(self.next, at);
            rows.push(self.queued(message));
        }
        while self.owed_history >= 1.0 {
            self.owed_history -= 1.0;
            let point = format!("{}.value", POINTS[self.next as usize % POINTS.len()]);
            let reading = Reading {
                point: point.into(),
                at,
                value: (self.next % 1000) as f64 / 10.0,
            };
            if let Some(message) = reading_row(&reading) {
                rows.push(self.queued(message));
            }
        }
        rows
    }

    fn queued(&mut self, message: OutMessage) -> Queued {
        self.next += 1;
        Queued {
            id: self.next - 1,
            message,
        }
    }
}

/// The demo plant's devices, for the readings' point ids.
const POINTS: [&str; 7] = [
    "em_b1",
    "wm_main",
    "em_1_0302",
    "pump_1",
    "fire_panel",
    "tank_roof",
    "leak_b1",
];

/// A record of the kinds a site sends: mostly alarm transitions, incident events,
/// requests and scans; every 50th the `alarms` book snapshot the fleet view reads.
fn record(id: i64, at: DateTime<Utc>) -> OutMessage {
    let device = POINTS[id as usize % POINTS.len()];
    let (kind, subject, body) = match id % 50 {
        0 => {
            let alarms: Vec<_> = POINTS
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let state = if i % 3 == 0 { "unack_active" } else { "normal" };
                    json!({"id": format!("{d}.fault"), "priority": "high", "state": state})
                })
                .collect();
            ("state", "alarms".to_owned(), json!({ "alarms": alarms }))
        }
        n if n % 4 == 0 => (
            "incident_event",
            format!("{}", id / 40),
            json!({"incident": id / 40, "event": "note", "by": "duty", "text": "pump checked, running"}),
        ),
        n if n % 4 == 1 => (
            "request",
            format!("R-{}", id / 30),
            json!({"id": format!("R-{}", id / 30), "unit": "1-0302", "state": "assigned", "category": "plumbing"}),
        ),
        n if n % 4 == 2 => (
            "scan",
            format!("scan-{id}"),
            json!({"checkpoint": "cp_roof", "guard": "g1", "route": "night"}),
        ),
        _ => (
            "alarm",
            format!("{device}.fault"),
            json!({"alarm": format!("{device}.fault"), "transition": "raised", "priority": "high",
                   "state": "unack_active", "value": 1.0, "message": "drive fault"}),
        ),
    };
    let payload = json!({"at_ms": at.timestamp_millis(), "subject": subject, "body": body});
    OutMessage {
        channel: crate::store::central::CHANNEL.into(),
        target: kind.into(),
        payload: payload.to_string(),
        retain: false,
    }
}

/// Publishes `rows` for `site` until JetStream has acknowledged every one (a failed row
/// and those after it go again, as the forwarder does); the rows sent again.
async fn publish_all(
    js: &async_nats::jetstream::Context,
    site: &str,
    rows: &[Queued],
) -> anyhow::Result<u64> {
    let mut again = 0;
    for chunk in rows.chunks(CHUNK) {
        let mut rest = chunk;
        let mut tries = 0;
        while !rest.is_empty() {
            let (_, failed) = Forwarder::publish(js, site, rest, None).await;
            match failed {
                None => break,
                Some(first) => {
                    tries += 1;
                    anyhow::ensure!(tries < 20, "JetStream keeps refusing {site}:{first}");
                    rest = &rest[rest.iter().position(|q| q.id == first).unwrap_or(0)..];
                    again += rest.len() as u64;
                }
            }
        }
    }
    Ok(again)
}

/// Puts `outage` of `o.sites` sites' records in the stream, stamped over the outage as
/// they were decided; the number of records.
async fn preload(
    client: &async_nats::Client,
    tag: &str,
    o: &FleetOptions,
    outage: Duration,
) -> anyhow::Result<u64> {
    let js = async_nats::jetstream::new(client.clone());
    let from = Utc::now() - outage;
    let seconds = outage.as_secs();
    let results: Vec<anyhow::Result<u64>> = futures_util::stream::iter((0..o.sites).map(|i| {
        let js = js.clone();
        let mut site = Site::new(format!("{tag}-{i:04}"));
        async move {
            let mut rows = Vec::new();
            for s in 0..seconds {
                let at = from + chrono::Duration::seconds(s as i64);
                rows.extend(site.decide(o, 1.0, at));
            }
            publish_all(&js, &site.id, &rows).await?;
            Ok(rows.len() as u64)
        }
    }))
    .buffer_unordered(8)
    .collect()
    .await;
    results.into_iter().sum()
}

/// `sitewatch_central_applied_total` as the consumer counts it.
fn applied(registry: &Registry) -> u64 {
    registry
        .render()
        .lines()
        .find_map(|l| l.strip_prefix("sitewatch_central_applied_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// Waits until the consumer has applied `want` records, at most `limit`; whether it did.
async fn until_applied(registry: &Registry, want: u64, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while applied(registry) < want {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// One live step's figures.
struct Step {
    offered: f64,
    sustained: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// The longest lag in the warm-up, when the centre first meets the step's sites.
    warm_max_ms: f64,
    caught_up: bool,
    /// Rows the sites sent again (an acknowledgement JetStream did not give in time).
    again: u64,
}

/// What a live step's sites sent.
#[derive(Debug, Default)]
struct Counts {
    published: AtomicU64,
    again: AtomicU64,
}

impl Step {
    /// Lag p99 under the bound, and everything offered was applied soon after. (A
    /// centre that cannot keep up shows it in the lag: its backlog, and so the lag,
    /// grows all through the step.)
    fn held(&self) -> bool {
        self.caught_up && self.p99_ms < LAG_BOUND_MS
    }
}

/// `n` sites publishing as they decide for `o.seconds`; the centre's figures meanwhile.
async fn live(
    o: &FleetOptions,
    nats_url: &str,
    pool: &PgPool,
    registry: &Registry,
    tag: &str,
    n: usize,
) -> anyhow::Result<Step> {
    let cancel = CancellationToken::new();
    let counts = Arc::new(Counts::default());
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        // Each site its own connection, as real sites have.
        clients.push(async_nats::connect(nats_url).await?);
    }
    let mut tasks = Vec::with_capacity(n);
    for (i, client) in clients.into_iter().enumerate() {
        let (o, cancel, counts) = (o.clone(), cancel.clone(), counts.clone());
        let site = Site::new(format!("{tag}-{i:04}"));
        tasks.push(tokio::spawn(live_site(o, client, site, cancel, counts)));
    }
    // The first seconds are apart: the centre meets N new sites at once (their first
    // watermarks); the figures are the steady state after them.
    let warm = Duration::from_secs(o.seconds).div_f64(3.0).min(WARM_UP);
    tokio::time::sleep(warm).await;
    let (before, sent_before) = (applied(registry), counts.published.load(Ordering::Relaxed));
    let from = Utc::now();
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(o.seconds)).await;
    let window = start.elapsed().as_secs_f64();
    let during = applied(registry) - before;
    cancel.cancel();
    for t in tasks {
        let _ = t.await;
    }
    let sent = counts.published.load(Ordering::Relaxed);
    let caught_up = until_applied(
        registry,
        before + sent - sent_before,
        Duration::from_secs(30),
    )
    .await;
    let (p50_ms, p99_ms, warm_max_ms) = lag(pool, tag, from).await?;
    Ok(Step {
        offered: (sent - sent_before) as f64 / window,
        sustained: during as f64 / window,
        warm_max_ms,
        p50_ms,
        p99_ms,
        caught_up,
        again: counts.again.load(Ordering::Relaxed),
    })
}

/// One site: every [`TICK`] what it decided since, published and acknowledged.
async fn live_site(
    o: FleetOptions,
    client: async_nats::Client,
    mut site: Site,
    cancel: CancellationToken,
    counts: Arc<Counts>,
) {
    let js = async_nats::jetstream::new(client);
    let mut tick = tokio::time::interval(TICK);
    let mut last = Instant::now();
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = tick.tick() => {}
        }
        let dt = last.elapsed().as_secs_f64();
        last = Instant::now();
        let rows = site.decide(&o, dt, Utc::now());
        if let Ok(again) = publish_all(&js, &site.id, &rows).await {
            counts
                .published
                .fetch_add(rows.len() as u64, Ordering::Relaxed);
            counts.again.fetch_add(again, Ordering::Relaxed);
        }
    }
}

/// Ingest lag p50 and p99 of a step's records decided from `from` on, and the longest
/// before it (the warm-up): from the record's own time to the consumer taking it into a
/// batch (`received_ms`; the batch's commit, a few ms, comes on top). History rows keep
/// no receipt time; they travel in the same batches.
async fn lag(pool: &PgPool, tag: &str, from: DateTime<Utc>) -> anyhow::Result<(f64, f64, f64)> {
    let (p50, p99, warm): (Option<f64>, Option<f64>, Option<f64>) = sqlx::query_as(
        "select percentile_cont(0.5) within group (order by lag) filter (where at >= to_timestamp($2)), \
                percentile_cont(0.99) within group (order by lag) filter (where at >= to_timestamp($2)), \
                max(lag) filter (where at < to_timestamp($2)) \
         from (select at, (received_ms - extract(epoch from at) * 1000)::float8 as lag \
               from central_records where site_id like $1) l",
    )
    .bind(format!("{tag}-%"))
    .bind(from.timestamp_millis() as f64 / 1000.0)
    .fetch_one(pool)
    .await?;
    let nan = |v: Option<f64>| v.unwrap_or(f64::NAN);
    Ok((nan(p50), nan(p99), nan(warm)))
}

/// The bare reference: a durable pull consumer of its own on the same stream, each batch
/// inserted into tables of the central tables' shape in one transaction and acknowledged
/// after the commit, nothing else (no sites, book states, marks or watermarks). The time
/// it takes to drain `total` records.
async fn bare_drain(
    client: &async_nats::Client,
    pool: &PgPool,
    total: u64,
) -> anyhow::Result<Duration> {
    bare_tables(pool).await?;
    let config = json!({
        "stream_name": STREAM,
        "config": {"durable_name": "bare", "ack_policy": "explicit", "deliver_policy": "all",
                   "ack_wait": 10_000_000_000_u64, "max_ack_pending": 20_000},
    });
    api(
        client,
        format!("$JS.API.CONSUMER.DURABLE.CREATE.{STREAM}.bare"),
        &config,
    )
    .await?;
    let start = Instant::now();
    let deadline = start + drain_limit(total);
    let mut done = 0;
    while done < total {
        anyhow::ensure!(Instant::now() < deadline, "bare drain: {done} of {total}");
        let messages = bare_pull(client).await?;
        let rows: Vec<BareRow> = messages.iter().filter_map(bare_parse).collect();
        bare_insert(pool, &rows).await?;
        for reply in messages.iter().filter_map(|m| m.reply.clone()) {
            client.publish(reply, "+ACK".into()).await?;
        }
        done += rows.len() as u64;
    }
    let took = start.elapsed();
    let _ = api(
        client,
        format!("$JS.API.CONSUMER.DELETE.{STREAM}.bare"),
        &json!({}),
    )
    .await;
    Ok(took)
}

/// Up to 1,000 messages, waiting at most 500 ms (the central consumer's pull).
async fn bare_pull(client: &async_nats::Client) -> anyhow::Result<Vec<async_nats::Message>> {
    let inbox = client.new_inbox();
    let mut replies = client.subscribe(inbox.clone()).await?;
    let request = json!({"batch": 1000, "expires": 500_000_000_u64});
    client
        .publish_with_reply(
            format!("$JS.API.CONSUMER.MSG.NEXT.{STREAM}.bare"),
            inbox,
            request.to_string().into(),
        )
        .await?;
    let mut out = Vec::new();
    while out.len() < 1000 {
        match tokio::time::timeout(Duration::from_secs(6), replies.next()).await {
            Ok(Some(m)) if m.status.is_none() => out.push(m),
            _ => break,
        }
    }
    let _ = replies.unsubscribe().await;
    Ok(out)
}

struct BareRow {
    site: String,
    id: i64,
    kind: String,
    at_ms: i64,
    subject: String,
    body: serde_json::Value,
}

fn bare_parse(m: &async_nats::Message) -> Option<BareRow> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        at_ms: i64,
        subject: String,
        body: serde_json::Value,
    }
    let (site, kind) = m.subject.strip_prefix("sitewatch.rec.")?.split_once('.')?;
    let id = m
        .headers
        .as_ref()?
        .get(RECORD_HEADER)?
        .as_str()
        .parse()
        .ok()?;
    let e: Envelope = serde_json::from_slice(&m.payload).ok()?;
    Some(BareRow {
        site: site.to_owned(),
        id,
        kind: kind.to_owned(),
        at_ms: e.at_ms,
        subject: e.subject,
        body: e.body,
    })
}

/// `bare_records` and `bare_history`: the central tables' columns, keys and partitioning
/// (by month on `at`, with this month's partition and a default one).
async fn bare_tables(pool: &PgPool) -> anyhow::Result<()> {
    let now = Utc::now().date_naive();
    let from = now.format("%Y-%m-01").to_string();
    let to = (now + chrono::Months::new(1))
        .format("%Y-%m-01")
        .to_string();
    let statements = [
        "create table if not exists bare_records (site_id text not null, record_id bigint not null, \
         at timestamptz not null, kind text not null, subject text not null, body jsonb not null, \
         received_ms bigint not null, primary key (site_id, record_id, at)) partition by range (at)"
            .to_owned(),
        "create table if not exists bare_records_default partition of bare_records default".into(),
        format!(
            "create table if not exists bare_records_now partition of bare_records \
             for values from ('{from}') to ('{to}')"
        ),
        "create index if not exists bare_records_kind on bare_records (site_id, kind, at)".into(),
        "create table if not exists bare_history (site_id text not null, record_id bigint not null, \
         at timestamptz not null, point text not null, value double precision not null, \
         primary key (site_id, record_id, at)) partition by range (at)"
            .into(),
        "create table if not exists bare_history_default partition of bare_history default".into(),
        format!(
            "create table if not exists bare_history_now partition of bare_history \
             for values from ('{from}') to ('{to}')"
        ),
    ];
    for s in statements {
        sqlx::query(&s).execute(pool).await?;
    }
    Ok(())
}

/// One transaction: the records, then the readings, as multi-row inserts that skip a row
/// already there.
async fn bare_insert(pool: &PgPool, rows: &[BareRow]) -> anyhow::Result<()> {
    let now = Utc::now().timestamp_millis();
    let (history, records): (Vec<&BareRow>, Vec<&BareRow>) =
        rows.iter().partition(|r| r.kind == "reading");
    let mut tx = pool.begin().await?;
    if !records.is_empty() {
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
            "insert into bare_records (site_id, record_id, at, kind, subject, body, received_ms) ",
        );
        q.push_values(&records, |mut b, r| {
            b.push_bind(&r.site)
                .push_bind(r.id)
                .push("to_timestamp(")
                .push_bind_unseparated(r.at_ms as f64 / 1000.0)
                .push_unseparated(")")
                .push_bind(&r.kind)
                .push_bind(&r.subject)
                .push_bind(r.body.to_string())
                .push_unseparated("::jsonb")
                .push_bind(now);
        });
        q.push(" on conflict do nothing");
        q.build().execute(&mut *tx).await?;
    }
    if !history.is_empty() {
        let mut q: QueryBuilder<Postgres> =
            QueryBuilder::new("insert into bare_history (site_id, record_id, at, point, value) ");
        q.push_values(&history, |mut b, r| {
            b.push_bind(&r.site)
                .push_bind(r.id)
                .push("to_timestamp(")
                .push_bind_unseparated(r.at_ms as f64 / 1000.0)
                .push_unseparated(")")
                .push_bind(&r.subject)
                .push_bind(r.body.as_f64().unwrap_or(f64::NAN));
        });
        q.push(" on conflict do nothing");
        q.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A nats-server with JetStream of the bench's own: a free loopback port and a store
/// directory of its own, both gone when it is dropped.
struct Nats {
    url: String,
    child: Child,
    dir: PathBuf,
}

impl Nats {
    async fn start() -> anyhow::Result<Nats> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let dir =
            std::env::temp_dir().join(format!("sitewatch-bench-fleet-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("Failed to start nats-server (apt-get install nats-server)")?;
        let nats = Nats {
            url: format!("nats://127.0.0.1:{port}"),
            child,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            anyhow::ensure!(Instant::now() < deadline, "nats-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(nats)
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The central database: the one given, or a fresh one the bench makes and drops.
struct BenchDb {
    url: String,
    made: Option<(String, String)>,
}

impl BenchDb {
    async fn open(given: Option<&str>) -> anyhow::Result<BenchDb> {
        if let Some(url) = given {
            return Ok(BenchDb {
                url: url.to_owned(),
                made: None,
            });
        }
        let admin = "postgres://postgres@127.0.0.1:5432/postgres".to_owned();
        let name = format!("sitewatch_bench_fleet_{}", std::process::id());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .context("PostgreSQL on 127.0.0.1:5432 (or give --database-url)")?;
        sqlx::query(&format!("create database {name}"))
            .execute(&mut conn)
            .await?;
        Ok(BenchDb {
            url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
            made: Some((admin, name)),
        })
    }

    /// Drops the database the bench made.
    async fn close(self) {
        let Some((admin, name)) = self.made else {
            return;
        };
        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
            let drop = format!("drop database if exists {name} with (force)");
            if let Err(e) = sqlx::query(&drop).execute(&mut conn).await {
                eprintln!("could not drop {name}: {e}");
            }
        }
    }
}
