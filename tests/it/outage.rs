//! Storage outages under polling load, against real parts: a PostgreSQL server of the
//! test's own stopped for half a minute, and a SQLite file on a small tmpfs that fills up
//! and is freed. Alarms keep reaching the live view while writes fail, `/readyz` answers
//! and says the write path fails, and the writer catches up by itself, without a restart:
//! every alarm transition the engine made is journalled and the readings of the outage
//! are stored.
//!
//! The live view is the SSE stream the dashboard holds open: during an outage every new
//! API request meets the sign-in check, which reads the database (issue 18's auth part).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use sitewatch::core::clock::SystemClock;
use sitewatch::store::Store;
use sqlx::Connection as _;

use crate::helpers::{TestApp, TestDb, eventually, metric, spawn_app_at};
use crate::pg_server::PgServer;

const WAIT: Duration = Duration::from_secs(30);
const ZONE: &str = "fire_panel.zone2_alarm:discrete";
const VOLTS: &str = "em_b1.voltage_l1";

/// The test plant (three devices polled every 100 ms) on the database at `url`.
async fn spawn_on(url: String) -> TestApp {
    spawn_app_at(TestDb::at(url), "", Arc::new(SystemClock)).await
}

/// `/readyz`'s status and body. It bounds its own waits at 2 s, so it must answer well
/// within the 10 s given here even with the database gone (it used to hang).
pub async fn ready(app: &TestApp) -> (u16, Value) {
    let get = app.client.get(format!("{}/readyz", app.base)).send();
    let resp = tokio::time::timeout(Duration::from_secs(10), get)
        .await
        .expect("/readyz answers while writes fail")
        .expect("request");
    (resp.status().as_u16(), resp.json().await.expect("json"))
}

pub async fn wait_ready(app: &TestApp) {
    eventually("/readyz says ready", WAIT, || async {
        let (status, body) = ready(app).await;
        (status == 200 && body["writes"]["ok"] == true).then_some(())
    })
    .await;
}

pub async fn wait_failing(app: &TestApp) -> Value {
    eventually("/readyz says writes fail", WAIT, || async {
        let (status, body) = ready(app).await;
        (status == 503 && body["writes"]["failing"] == true).then_some(body)
    })
    .await
}

/// A store gauge or counter from `/metrics`.
async fn store_metric(app: &TestApp, series: &str) -> f64 {
    metric(&app.metrics().await, series).unwrap_or_else(|| panic!("{series} in /metrics"))
}

/// Every alarm transition the engine made, from its metrics.
fn transitions(metrics: &str) -> usize {
    let sum: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("sitewatch_alarm_transitions_total{"))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum();
    sum as usize
}

/// Waits until the journal holds every alarm transition the engine made.
async fn all_transitions_journalled(app: &TestApp, store: &Store) -> usize {
    eventually("every alarm transition journalled", WAIT, || async {
        let made = transitions(&app.metrics().await);
        let kept = store.events(0, Some("alarm"), 100_000).await.ok()?.len();
        (made > 0 && kept == made).then_some(kept)
    })
    .await
}

/// Moves the meter's voltage by 2 V (past its 1 V deadband) every 300 ms, `n` times:
/// each value is polled at least twice and must become a reading. Stays within 230 V
/// ± 10 % so no voltage alarm muddles the count.
async fn move_volts(app: &TestApp, from: f64, n: usize) -> Vec<f64> {
    let mut set = Vec::new();
    for i in 0..n {
        let v = from + 2.0 * i as f64;
        app.sim().set(1, "voltage_l1", v);
        set.push(v);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    set
}

/// Waits until every value in `volts` is in history: the journal is written ahead of
/// readings in each catch-up batch, so readings may land a batch or two later.
async fn assert_stored(store: &Store, since: chrono::DateTime<chrono::Utc>, volts: &[f64]) {
    let mut kept: Vec<f64> = Vec::new();
    for _ in 0..100 {
        let rows = store
            .readings(VOLTS, since, 100_000)
            .await
            .expect("readings");
        kept = rows.iter().map(|r| r.value).collect();
        if volts.iter().all(|v| kept.contains(v)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let missing: Vec<_> = volts.iter().filter(|v| !kept.contains(v)).collect();
    panic!("{missing:?} V read during the outage are not in history: {kept:?}");
}

/// The live stream's text as it arrives, read by a task of its own.
pub struct Live(Arc<Mutex<String>>);

impl Live {
    /// Opens `/api/v1/stream` for `kinds` (comma-separated).
    pub async fn open(app: &TestApp, kinds: &str) -> Live {
        let url = format!("{}/api/v1/stream?kinds={kinds}", app.base);
        let mut resp = app.client.get(url).send().await.expect("stream");
        assert_eq!(resp.status(), 200);
        let text = Arc::new(Mutex::new(String::new()));
        let sink = text.clone();
        tokio::spawn(async move {
            while let Ok(Some(chunk)) = resp.chunk().await {
                let mut t = sink.lock().expect("lock");
                t.push_str(&String::from_utf8_lossy(&chunk));
            }
        });
        Live(text)
    }

    /// Whether an event's data holds every one of `needles`.
    fn has(&self, needles: &[&str]) -> bool {
        let text = self.0.lock().expect("lock");
        text.lines()
            .filter(|l| l.starts_with("data:"))
            .any(|l| needles.iter().all(|n| l.contains(n)))
    }

    /// Waits until an event's data holds every one of `needles`.
    pub async fn wait(&self, what: &str, needles: &[&str]) {
        eventually(what, WAIT, || async { self.has(needles).then_some(()) }).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_under_polling_load_loses_no_alarm_and_the_writer_heals_itself() {
    let pg = PgServer::start();
    let url = pg.create_db("outage").await;
    let mut app = spawn_on(url).await;
    wait_ready(&app).await;
    let live = Live::open(&app, "alarm").await;
    let stopped_at = tokio::time::Instant::now();
    let since = chrono::Utc::now();
    tokio::task::block_in_place(|| pg.stop());

    let body = wait_failing(&app).await;
    assert_eq!(body["database"], false, "{body}");
    assert_eq!(
        body["engine"], true,
        "the engine never waits on storage: {body}"
    );
    eventually("readings held in the backlog", WAIT, || async {
        metric(
            &app.metrics().await,
            "sitewatch_store_backlog_rows{kind=\"readings\"}",
        )
        .filter(|n| *n > 0.0)
    })
    .await;
    assert_eq!(
        store_metric(&app, "sitewatch_store_write_failing").await,
        1.0
    );

    // A fire alarm while the database is gone is raised and shown live, and returns.
    app.sim().set(4, "zone2_alarm", 1.0);
    live.wait(
        "the fire alarm live while the database is down",
        &[ZONE, "unack_active"],
    )
    .await;
    let volts = move_volts(&app, 221.0, 10).await;
    app.sim().set(4, "zone2_alarm", 0.0);
    live.wait("the alarm's return live", &[ZONE, "unack_returned"])
        .await;
    let (status, body) = ready(&app).await;
    assert_eq!(status, 503, "still down: {body}");
    assert!(
        body["writes"]["backlog"]["journal"].as_u64() > Some(0),
        "{body}"
    );
    // Half a minute of outage in all: many failed tries, each pausing at most 2 s.
    tokio::time::sleep_until(stopped_at + Duration::from_secs(30)).await;
    tokio::task::block_in_place(|| pg.start_again());

    wait_ready(&app).await;
    let store = app.store().await;
    let kept = all_transitions_journalled(&app, &store).await;
    assert!(kept >= 2, "raised and returned at least: {kept}");
    assert_stored(&store, since, &volts).await;
    let metrics = app.metrics().await;
    for kind in ["readings", "outbox", "journal", "snapshots"] {
        let dropped = format!("sitewatch_store_backlog_dropped_total{{kind=\"{kind}\"}}");
        assert_eq!(metric(&metrics, &dropped), Some(0.0), "{dropped}");
    }
    assert_eq!(metric(&metrics, "sitewatch_store_write_failing"), Some(0.0));
    app.stop().await;
}

/// A tmpfs of the test's own (the tests run as root), unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().expect("temp dir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(ok.success(), "mount a tmpfs (the tests run as root)");
        Tmpfs(dir)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a daemon still closing its files must not leave the mount behind.
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

/// Takes every free byte of the disk under `dir` with one file.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).expect("filler");
    let block = [0u8; 4096];
    while f.write_all(&block).is_ok() {}
    path
}

/// Moves the write-ahead log into the database file and empties it, so the daemon's next
/// writes need new room on the disk rather than reusing the log's.
async fn empty_wal(url: &str) {
    let mut conn = sqlx::SqliteConnection::connect(url)
        .await
        .expect("open the daemon's file");
    sqlx::query("pragma busy_timeout = 5000")
        .execute(&mut conn)
        .await
        .expect("busy timeout");
    for _ in 0..50 {
        let busy: i64 = sqlx::query_scalar("pragma wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut conn)
            .await
            .expect("checkpoint");
        if busy == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the write-ahead log never emptied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sqlite_disk_fails_writes_visibly_and_the_writer_catches_up_once_freed() {
    let disk = Tmpfs::mount("8m");
    let url = format!("sqlite://{}", disk.path().join("site.db").display());
    let mut app = spawn_on(url.clone()).await;
    wait_ready(&app).await;
    let since = chrono::Utc::now();
    empty_wal(&url).await;
    let filler = fill(disk.path());

    let body = wait_failing(&app).await;
    assert_eq!(
        body["database"], true,
        "a read ping alone would call this fine: {body}"
    );
    assert!(store_metric(&app, "sitewatch_store_backlog_bytes").await > 0.0);
    assert_eq!(
        store_metric(&app, "sitewatch_store_write_failing").await,
        1.0
    );
    app.sim().set(4, "zone2_alarm", 1.0);
    let volts = move_volts(&app, 222.0, 5).await;
    eventually("the alarm raised while the disk is full", WAIT, || async {
        (transitions(&app.metrics().await) > 0).then_some(())
    })
    .await;
    let (status, body) = ready(&app).await;
    assert_eq!(status, 503, "still full: {body}");

    std::fs::remove_file(filler).expect("free the disk");
    wait_ready(&app).await;
    let store = app.store().await;
    all_transitions_journalled(&app, &store).await;
    assert_stored(&store, since, &volts).await;
    let metrics = app.metrics().await;
    assert_eq!(
        metric(&metrics, "sitewatch_store_backlog_rows{kind=\"journal\"}"),
        Some(0.0)
    );
    store.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_a_banner_while_the_disk_is_full_and_drops_it_once_freed() {
    let disk = Tmpfs::mount("8m");
    let url = format!("sqlite://{}", disk.path().join("site.db").display());
    let mut app = spawn_on(url.clone()).await;
    wait_ready(&app).await;
    let b = crate::browser::browser().await;
    b.client.goto(&app.base).await.expect("open the dashboard");
    let banner = || async { crate::browser::text_of(&b.client, "#storage").await };
    eventually("the dashboard drawn", WAIT, || async {
        crate::browser::text_of(&b.client, "#status")
            .await
            .filter(|t| !t.is_empty())
    })
    .await;
    assert_eq!(
        banner().await.as_deref(),
        Some(""),
        "no banner while writes work"
    );

    empty_wal(&url).await;
    let filler = fill(disk.path());
    wait_failing(&app).await;
    eventually("the banner says writes fail", WAIT, || async {
        banner().await.filter(|t| t.contains("数据库写入失败"))
    })
    .await;
    std::fs::remove_file(filler).expect("free the disk");
    wait_ready(&app).await;
    eventually("the banner gone once writes work", WAIT, || async {
        banner().await.filter(|t| t.is_empty())
    })
    .await;
    app.stop().await;
}
