//! `sitewatch bench fleet --quick` (issue 23) runs end to end on a nats-server of its own
//! and a PostgreSQL database, and prints every figure it promises; times are printed,
//! never asserted.

use std::process::Command;

use crate::helpers::{Db, fresh_db};

#[tokio::test(flavor = "multi_thread")]
async fn bench_fleet_quick_prints_the_drain_the_ratio_the_lag_and_the_sites_carried() {
    let db = fresh_db(Db::Postgres).await;
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_sitewatch"))
            .args(["bench", "fleet", "--quick", "--database-url", &db.url])
            .env("RUST_LOG", "warn")
            .output()
            .expect("the bench runs")
    })
    .await
    .expect("joined");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for figure in [
        "2 sites x 1 min = ",
        "drain, sitewatch central",
        "drain, bare async-nats",
        "x the bare consumer's rate",
        "live     2 sites: offered",
        "sustained",
        "lag p50",
        "p99",
        "sites carried with lag p99 < 5 s: ",
        "sites by the drain rate: ",
    ] {
        assert!(said.contains(figure), "`{figure}` missing:\n{said}");
    }
    assert!(!said.contains("NOT DRAINED"), "{said}");
}
