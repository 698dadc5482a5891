//! The JetStream forwarder (issue 23): the central feed's outbox rows (channel `central`,
//! written with the records they carry, by the store writer or beside it) go to the
//! centre's JetStream stream, each with `Nats-Msg-Id = {site}:{row id}`. A row counts as
//! forwarded only on JetStream's acknowledgement (then it is marked sent with the stream
//! sequence it got), and is deleted only once the centre's confirmation for this site (a
//! key in a JetStream key-value bucket the central consumer writes after its commits,
//! [`Confirmed`]) covers that sequence: a row lost between the engines is
//! still on site to send again, and the centre upserts by id, so a resend past the
//! stream's 2-minute duplicate window is applied once.
//!
//! The site publishes straight to the centre, no leaf node: the outbox is already the
//! site's durable buffer (it survives restarts, is bounded by `[central]` and is counted
//! in `/metrics`), so a leaf node's JetStream domain would be a second buffer, a second
//! process to run and watch, and a second bound to keep; docs/architecture.md has the rest.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, message::PublishMessage};
use futures_util::future::join_all;
use sitewatch_core::clock::Clock;
use tokio_util::sync::CancellationToken;

use super::metrics::CentralMetrics;
use crate::engine::EngineHandle;
use crate::store::central::{Buffered, CHANNEL, Gate};
use crate::store::{Queued, Store};

/// The stream every site's records go to.
pub const STREAM: &str = "SITEWATCH";
/// Its subjects: `sitewatch.rec.{site}.{kind}`.
pub const SUBJECTS: &str = "sitewatch.rec.>";
/// The key-value bucket of the centre's watermarks, one key per site: the highest row
/// id the centre has committed.
pub const WATERMARKS: &str = "sitewatch_watermarks";
/// What the centre confirms to a site, the value of its key in [`WATERMARKS`]: every
/// message of the stream at or below `stream_seq` is committed at the centre (the site
/// purges its rows by it), and `watermark` is the highest record id committed with all
/// of the site's batches before it (shown in the site's `/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Confirmed {
    /// The highest record id of the site's batches under the ack floor.
    pub watermark: i64,
    /// The durable consumer's ack floor when it was put.
    pub stream_seq: i64,
}

/// The stream behind that bucket (JetStream's key-value convention).
pub const WATERMARKS_STREAM: &str = "KV_sitewatch_watermarks";
/// The header carrying the row's id.
pub const RECORD_HEADER: &str = "Sitewatch-Record";
/// The header with how many records the site still holds unsent after this one: the
/// fleet view's backlog per site.
pub const BACKLOG_HEADER: &str = "Sitewatch-Backlog";
/// JetStream forgets message ids after this (its default); an outage is longer, which is
/// why the centre upserts by id.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// The subject of a record of `kind` from `site`.
pub fn subject(site: &str, kind: &str) -> String {
    format!("sitewatch.rec.{site}.{kind}")
}

/// The subject of `site`'s watermark in the bucket.
pub fn watermark_subject(site: &str) -> String {
    format!("$KV.{WATERMARKS}.{site}")
}

/// A JetStream API request by hand, its answer as JSON; an answer with `error` is an
/// error. (async-nats 0.52 cannot read the stream and consumer info Debian's
/// nats-server 2.9 sends, so the few API calls that return one are made here.)
pub async fn api(
    client: &async_nats::Client,
    subject: String,
    body: &serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let answer = client.request(subject, body.to_string().into()).await?;
    let value: serde_json::Value = serde_json::from_slice(&answer.payload)?;
    match value.get("error") {
        Some(e) => anyhow::bail!("JetStream API: {e}"),
        None => Ok(value),
    }
}

/// Rows read and published at once.
const BATCH: i64 = 500;
/// How often the outbox is read when the last read found nothing.
const POLL: Duration = Duration::from_millis(200);
/// How often the watermark is read and the buffer measured.
const MEASURE: Duration = Duration::from_secs(2);
/// Longest pause between tries while the centre cannot be reached.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Longest the watermark read may hold the buffer's measurement.
const WATERMARK_WAIT: Duration = Duration::from_secs(1);
/// The buffer's fill at which history stops being forwarded (records still are).
const HISTORY_STOP: f64 = 0.9;
/// The fill at which the buffer warns (and the alarm rises).
pub const WARN_AT: f64 = 0.8;

/// The forward buffer's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Most payload bytes.
    pub bytes: u64,
    /// Oldest row.
    pub age: Duration,
}

impl Bounds {
    /// How full `b` is: the larger of its size and its age over their bounds.
    pub fn fill(&self, b: &Buffered, now_ms: i64) -> f64 {
        let size = b.bytes as f64 / self.bytes.max(1) as f64;
        let age_ms = b.oldest_ms.map_or(0, |o| (now_ms - o).max(0));
        let age = age_ms as f64 / self.age.as_millis().max(1) as f64;
        size.max(age)
    }
}

/// The forwarder task.
#[derive(Debug)]
pub struct Forwarder {
    /// The central NATS server.
    pub url: String,
    /// This site's id at the centre.
    pub site: String,
    /// The site's store (its outbox).
    pub store: Store,
    /// The buffer's gate, closed by measure.
    pub gate: Arc<Gate>,
    /// The buffer's bounds.
    pub bounds: Bounds,
    /// Its figures.
    pub metrics: CentralMetrics,
    /// The site's clock (buffer age).
    pub clock: Arc<dyn Clock>,
    /// The engine, told when the buffer crosses 80 % (its alarm).
    pub engine: EngineHandle,
}

impl Forwarder {
    /// Forwards until `cancel`. Publishing may wait on the link for long; the buffer is
    /// measured (and the gate set) beside it, never behind it.
    pub async fn run(self, cancel: CancellationToken) {
        let options = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(2))
            .max_reconnects(None);
        let client = match options.connect(self.url.as_str()).await {
            Ok(c) => c,
            Err(e) => {
                return tracing::error!(error = %e, url = %self.url, "central NATS url refused");
            }
        };
        let js = jetstream::new(client.clone());
        tokio::join!(
            self.forward(&js, &cancel),
            self.measure_every(&client, &cancel)
        );
        let _ = tokio::time::timeout(Duration::from_secs(1), client.flush()).await;
    }

    /// Publishes rows as they come until `cancel`, backing off while the centre is away.
    async fn forward(&self, js: &jetstream::Context, cancel: &CancellationToken) {
        let mut cursor = 0_i64;
        let mut backoff = POLL;
        while !cancel.is_cancelled() {
            let more = tokio::select! {
                () = cancel.cancelled() => break,
                more = self.pump(js, &mut cursor) => more,
            };
            match more {
                Ok(true) => backoff = POLL,
                Ok(false) => {
                    backoff = POLL;
                    // Caught up: read from the start again. On PostgreSQL a register
                    // import or a notice (written beside the store writer) may commit a
                    // lower id after a higher one was read; the index on unsent rows keeps
                    // this read as cheap as one from the cursor.
                    cursor = 0;
                    pause(cancel, POLL).await;
                }
                Err(()) => {
                    pause(cancel, backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Measures the buffer every [`MEASURE`] until `cancel`.
    async fn measure_every(&self, client: &async_nats::Client, cancel: &CancellationToken) {
        let mut tick = tokio::time::interval(MEASURE);
        let mut filling = None;
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = tick.tick() => {}
            }
            // Cancellable too: shutdown never waits on the store or the engine here.
            tokio::select! {
                () = cancel.cancelled() => break,
                () = self.measure_once(client, &mut filling) => {}
            }
        }
    }

    /// One measurement; tells the engine when the buffer crosses [`WARN_AT`].
    async fn measure_once(&self, client: &async_nats::Client, filling: &mut Option<bool>) {
        let up = client.connection_state() == async_nats::connection::State::Connected;
        self.metrics.connected(up);
        let Some(fill) = self.measure(client, up).await else {
            return;
        };
        let now = fill >= WARN_AT;
        if *filling != Some(now) && self.engine.forward_buffer(now).await.is_ok() {
            *filling = Some(now);
        }
    }

    /// Publishes the next rows after `cursor` and marks those JetStream acknowledged.
    /// `Ok(true)` when a full batch went (more may wait), `Err` when one failed (the
    /// cursor goes back to the first that failed).
    async fn pump(&self, js: &jetstream::Context, cursor: &mut i64) -> Result<bool, ()> {
        let rows = match self.store.unsent(CHANNEL, *cursor, BATCH).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "central outbox unreadable; will retry");
                return Err(());
            }
        };
        let full = rows.len() as i64 == BATCH;
        // What waits from this batch's first row on, for the centre's backlog figure. A
        // batch short of full read every unsent row, so only a full one is counted (the
        // steady state costs no query); a count that fails leaves the header out rather
        // than holding the records up.
        let unsent = if full {
            self.store.central_unsent().await.ok()
        } else {
            Some(rows.len() as i64)
        };
        let (acked, failed) = Forwarder::publish(js, &self.site, &rows, unsent).await;
        if !acked.is_empty() {
            let now = self.clock.now();
            if let Err(e) = self.store.mark_forwarded(&acked, now).await {
                tracing::warn!(error = %e, "cannot mark forwarded rows; they go again");
                return Err(());
            }
            self.metrics.forwarded(acked.len());
        }
        match failed {
            Some(first) => {
                *cursor = first - 1;
                Err(())
            }
            None => {
                *cursor = rows.last().map_or(*cursor, |q| q.id);
                Ok(full)
            }
        }
    }

    /// Publishes `site`'s `rows` (pipelined), then waits for each acknowledgement: the ids
    /// acknowledged with their stream sequences, and the first that was not. (An
    /// associated function, public, so that `bench fleet`'s simulated sites publish
    /// through it.)
    /// `unsent` is how many rows waited when `rows` were read (each message carries what
    /// waits after it).
    pub async fn publish(
        js: &jetstream::Context,
        site: &str,
        rows: &[Queued],
        unsent: Option<i64>,
    ) -> (Vec<(i64, i64)>, Option<i64>) {
        let mut pending = Vec::with_capacity(rows.len());
        let mut failed = None;
        for (i, q) in rows.iter().enumerate() {
            let after = unsent.map(|n| (n - i as i64 - 1).max(0));
            match send(js, site, q, after).await {
                Ok(ack) => pending.push((q.id, ack)),
                Err(e) => {
                    tracing::debug!(error = %e, "central publish failed");
                    failed = Some(q.id);
                    break;
                }
            }
        }
        let (ids, acks): (Vec<i64>, Vec<_>) = pending.into_iter().unzip();
        let mut acked = Vec::with_capacity(ids.len());
        for (id, ack) in ids
            .into_iter()
            .zip(join_all(acks.into_iter().map(|a| a.into_future())).await)
        {
            match ack {
                // A duplicate (a resend inside the window) answers with the first copy's
                // sequence: the one the centre's confirmation has to cover.
                Ok(ack) => acked.push((id, ack.sequence as i64)),
                Err(e) => {
                    tracing::debug!(error = %e, id, "central publish not acknowledged");
                    failed = Some(failed.map_or(id, |f: i64| f.min(id)));
                }
            }
        }
        (acked, failed)
    }

    /// Reads the centre's confirmation and purges what it covers, then measures the
    /// buffer and sets the gate; the buffer's fill, once measured.
    async fn measure(&self, client: &async_nats::Client, connected: bool) -> Option<f64> {
        let read = tokio::time::timeout(WATERMARK_WAIT, self.watermark(client));
        let watermark = if connected {
            read.await.ok().flatten()
        } else {
            None
        };
        if let Some(confirmed) = watermark {
            self.metrics.watermark(confirmed.watermark);
            match self.store.purge_central(confirmed.stream_seq).await {
                Ok(n) => self.metrics.purged(n),
                Err(e) => tracing::warn!(error = %e, "cannot purge confirmed rows; will retry"),
            }
        }
        let buffered = match self.store.central_buffered().await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "cannot measure the forward buffer");
                return None;
            }
        };
        let now = self.clock.now().timestamp_millis();
        let fill = self.bounds.fill(&buffered, now);
        self.gate.set(fill < HISTORY_STOP, fill < 1.0);
        self.metrics.buffer(&buffered, fill, now);
        if fill >= WARN_AT {
            tracing::warn!(
                fill = format!("{:.0}%", fill * 100.0),
                rows = buffered.rows,
                "central forward buffer filling: the link to the centre has been down long"
            );
        }
        Some(fill)
    }

    /// The centre's confirmation for this site, when the bucket and key exist (a bare
    /// number, from a centre older than the stream sequence column, purges nothing).
    async fn watermark(&self, client: &async_nats::Client) -> Option<Confirmed> {
        use base64::Engine as _;
        let body = serde_json::json!({"last_by_subj": watermark_subject(&self.site)});
        let subject = format!("$JS.API.STREAM.MSG.GET.{WATERMARKS_STREAM}");
        let answer = api(client, subject, &body).await.ok()?;
        let data = answer.pointer("/message/data")?.as_str()?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// Publishes one outbox row as the forwarder does (subject by kind, `Nats-Msg-Id =
/// {site}:{id}`, the id in [`RECORD_HEADER`]); the acknowledgement to wait for.
pub async fn send(
    js: &jetstream::Context,
    site: &str,
    q: &Queued,
    backlog: Option<i64>,
) -> Result<jetstream::context::PublishAckFuture, jetstream::context::PublishError> {
    let mut message = PublishMessage::build()
        .payload(q.message.payload.clone().into())
        .message_id(format!("{site}:{}", q.id))
        .header(RECORD_HEADER, q.id.to_string().as_str());
    if let Some(n) = backlog {
        message = message.header(BACKLOG_HEADER, n.to_string().as_str());
    }
    js.send_publish(subject(site, &q.message.target), message)
        .await
}

async fn pause(cancel: &CancellationToken, d: Duration) {
    tokio::select! {
        () = cancel.cancelled() => {}
        () = tokio::time::sleep(d) => {}
    }
}
