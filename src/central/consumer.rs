//! The central consumer: a durable JetStream pull consumer on the sites' stream. Each
//! batch is applied to PostgreSQL in one transaction (upserts keyed by site and record),
//! acknowledged to JetStream only after the commit. Each site's watermark, put in the
//! key-value bucket the sites read before they purge, is the highest record id of the
//! batches at or below the durable consumer's ack floor (its stream sequence below which
//! every message is acknowledged, so committed): a batch applied while messages before it
//! wait for redelivery (a consumer killed mid-drain) does not raise it. The ack floor goes
//! beside it, and the sites purge by that: a row whose own stream sequence it covers is
//! committed. A crash between commit and ack only redelivers what is already applied; a
//! database that refuses is retried with the batch unacknowledged.

use std::time::Duration;

use async_nats::jetstream;
use futures_util::StreamExt as _;
use serde_json::json;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::db::{self, Incoming};
use super::metrics::FleetMetrics;
use crate::outbox::jetstream::{
    BACKLOG_HEADER, Confirmed, DUPLICATE_WINDOW, RECORD_HEADER, STREAM, SUBJECTS, WATERMARKS,
    WATERMARKS_STREAM, api, watermark_subject,
};

/// The durable consumer's name.
pub const DURABLE: &str = "central";
/// Most messages applied in one transaction.
const BATCH: usize = 1000;
/// Longest a pull waits for a full batch.
const PULL_WAIT: Duration = Duration::from_millis(500);
/// How much longer than its own expiry a pull may take before it counts as lost.
const PULL_GRACE: Duration = Duration::from_secs(5);
/// How long past its expiry a pull that has messages waits for JetStream's closing
/// status: some pulls end without one (seen with nats-server 2.9 under load, measured by
/// `bench fleet`), and the messages already in must not wait out [`PULL_GRACE`].
const PULL_CLOSE: Duration = Duration::from_millis(250);
/// How long JetStream waits for an ack before it delivers again.
const ACK_WAIT: Duration = Duration::from_secs(10);
/// Longest pause between tries while NATS or PostgreSQL is away.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The consumer task.
#[derive(Debug)]
pub struct Consumer {
    /// The central NATS server.
    pub url: String,
    /// The central database.
    pub pool: PgPool,
    /// Its figures.
    pub metrics: FleetMetrics,
}

/// The stream, the watermark bucket and the durable consumer, made if missing (the
/// centre owns their config). By hand: see [`api`].
pub async fn declare(client: &async_nats::Client) -> anyhow::Result<()> {
    let window = DUPLICATE_WINDOW.as_nanos() as u64;
    let stream = json!({
        "name": STREAM, "subjects": [SUBJECTS], "storage": "file", "retention": "limits",
        "discard": "old", "num_replicas": 1, "max_consumers": -1, "max_msgs": -1,
        "max_bytes": -1, "max_age": 0, "max_msg_size": -1, "duplicate_window": window,
    });
    create_stream(client, STREAM, &stream).await?;
    let bucket = json!({
        "name": WATERMARKS_STREAM, "subjects": [format!("$KV.{WATERMARKS}.>")],
        "storage": "file", "retention": "limits", "discard": "new", "num_replicas": 1,
        "max_consumers": -1, "max_msgs": -1, "max_bytes": -1, "max_age": 0,
        "max_msg_size": -1, "max_msgs_per_subject": 1, "allow_rollup_hdrs": true,
        "deny_delete": true, "duplicate_window": window,
    });
    create_stream(client, WATERMARKS_STREAM, &bucket).await?;
    let consumer = json!({
        "stream_name": STREAM,
        "config": {
            "durable_name": DURABLE, "ack_policy": "explicit", "deliver_policy": "all",
            "replay_policy": "instant", "ack_wait": ACK_WAIT.as_nanos() as u64,
            "max_ack_pending": 20_000, "max_waiting": 512,
        },
    });
    let subject = format!("$JS.API.CONSUMER.DURABLE.CREATE.{STREAM}.{DURABLE}");
    match api(client, subject, &consumer).await {
        // Made before with other settings (an older version): it is used as it is.
        Err(e) if e.to_string().contains("10013") => {
            tracing::warn!(error = %e, "central consumer kept with its earlier settings");
            Ok(())
        }
        other => other.map(drop),
    }
}

/// Creates a stream; one already there with this config is fine.
async fn create_stream(
    client: &async_nats::Client,
    name: &str,
    config: &serde_json::Value,
) -> anyhow::Result<()> {
    match api(client, format!("$JS.API.STREAM.CREATE.{name}"), config).await {
        Ok(_) => Ok(()),
        Err(e) if e.to_string().contains("10058") => Ok(()),
        Err(e) => Err(e),
    }
}

impl Consumer {
    /// Consumes until `cancel`.
    pub async fn run(self, cancel: CancellationToken) {
        let options = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(2))
            .max_reconnects(None);
        let client = match options.connect(self.url.as_str()).await {
            Ok(c) => c,
            Err(e) => return tracing::error!(error = %e, "central NATS url refused"),
        };
        let js = jetstream::new(client.clone());
        let mut backoff = Duration::from_millis(200);
        while !cancel.is_cancelled() {
            let result = tokio::select! {
                () = cancel.cancelled() => break,
                r = self.consume(&client, &js, &cancel) => r,
            };
            if let Err(e) = result {
                self.metrics.connected(false);
                tracing::warn!(error = %e, "central consumer interrupted; will retry");
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }

    /// Declares, then applies batches until something fails.
    async fn consume(
        &self,
        client: &async_nats::Client,
        js: &jetstream::Context,
        cancel: &CancellationToken,
    ) -> anyhow::Result<()> {
        declare(client).await?;
        self.metrics.connected(true);
        // Every message at or below the ack floor is committed: what the sites may purge.
        let floor = ack_floor(client).await?;
        for (site, mark) in db::watermarks(&self.pool).await? {
            put_watermark(js, &site, mark, floor).await;
        }
        db::make_partitions(&self.pool, chrono::Utc::now()).await;
        // The highest stream sequence applied that no watermark covers yet (0: none).
        let mut uncovered = 0;
        while !cancel.is_cancelled() {
            let messages = pull(client).await?;
            if !messages.is_empty() {
                uncovered = uncovered.max(self.apply(client, js, &messages).await);
            }
            if uncovered > 0 && self.advance(client, js).await? >= uncovered {
                uncovered = 0;
            }
        }
        Ok(())
    }

    /// Applies one batch and acknowledges it; its highest stream sequence.
    async fn apply(
        &self,
        client: &async_nats::Client,
        js: &jetstream::Context,
        messages: &[async_nats::Message],
    ) -> i64 {
        let records: Vec<Incoming> = messages.iter().filter_map(|m| self.parse(js, m)).collect();
        let now = chrono::Utc::now().timestamp_millis();
        self.commit(&records, now).await;
        for reply in messages.iter().filter_map(|m| m.reply.clone()) {
            // A lost ack only redelivers a record already applied.
            let _ = client.publish(reply, "+ACK".into()).await;
        }
        self.metrics.applied(records.len());
        records.iter().map(|r| r.seq).max().unwrap_or(0)
    }

    /// Reads the consumer's ack floor, raises the watermarks it covers and publishes them
    /// with it, for each site with a batch under it; the ack floor.
    async fn advance(
        &self,
        client: &async_nats::Client,
        js: &jetstream::Context,
    ) -> anyhow::Result<i64> {
        let floor = ack_floor(client).await?;
        let marks = match db::advance(&self.pool, floor).await {
            Ok(marks) => marks,
            Err(e) => {
                self.metrics.db_error();
                tracing::warn!(error = %e, "cannot raise the watermarks; will retry");
                return Ok(0);
            }
        };
        for (site, mark) in marks {
            put_watermark(js, &site, mark, floor).await;
        }
        Ok(floor)
    }

    /// Commits `records`, trying again until the database takes them (nothing is
    /// acknowledged before it is kept). Every refusal is counted; the log says once that
    /// the database refuses and once that it takes batches again, not every try.
    async fn commit(&self, records: &[Incoming], now: i64) {
        let mut backoff = Duration::from_millis(200);
        let mut refused = 0_u64;
        loop {
            match db::apply(&self.pool, records, now).await {
                Ok(()) if refused == 0 => return,
                Ok(()) => {
                    return tracing::info!(
                        tries = refused + 1,
                        "central database takes batches again"
                    );
                }
                Err(e) => {
                    self.metrics.db_error();
                    if refused == 0 {
                        tracing::warn!(error = %e, "central database refused a batch; \
                            retrying with backoff, nothing acknowledged meanwhile");
                    } else {
                        tracing::debug!(error = %e, tries = refused + 1, "central database still refuses");
                    }
                    refused += 1;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// A message as a record; `None` (counted) when it is not one.
    fn parse(&self, js: &jetstream::Context, m: &async_nats::Message) -> Option<Incoming> {
        let message = jetstream::Message {
            message: m.clone(),
            context: js.clone(),
        };
        let seq = message.info().ok()?.stream_sequence as i64;
        let parsed = parse(&m.subject, m.headers.as_ref(), &m.payload, seq);
        if parsed.is_none() {
            self.metrics.rejected();
            tracing::warn!(subject = %m.subject, "central message is not a record; dropped");
        }
        parsed
    }
}

/// `sitewatch.rec.{site}.{kind}`, the record id header and the envelope.
fn parse(
    subject: &str,
    headers: Option<&async_nats::HeaderMap>,
    payload: &[u8],
    seq: i64,
) -> Option<Incoming> {
    let mut parts = subject.strip_prefix("sitewatch.rec.")?.splitn(2, '.');
    let (site, kind) = (parts.next()?, parts.next()?);
    let id = headers?.get(RECORD_HEADER)?.as_str().parse().ok()?;
    let backlog = headers
        .and_then(|h| h.get(BACKLOG_HEADER))
        .and_then(|v| v.as_str().parse().ok());
    #[derive(serde::Deserialize)]
    struct Envelope {
        at_ms: i64,
        subject: String,
        body: serde_json::Value,
    }
    let e: Envelope = serde_json::from_slice(payload).ok()?;
    Some(Incoming {
        site: site.to_owned(),
        id,
        seq,
        kind: kind.to_owned(),
        at_ms: e.at_ms,
        subject: e.subject,
        body: e.body,
        backlog,
    })
}

/// One pull of up to [`BATCH`] messages, waiting at most [`PULL_WAIT`] for them: the
/// server ends it with a status (408 expired, 404 none), or it is full.
async fn pull(client: &async_nats::Client) -> anyhow::Result<Vec<async_nats::Message>> {
    let inbox = client.new_inbox();
    let mut replies = client.subscribe(inbox.clone()).await?;
    let request = json!({"batch": BATCH, "expires": PULL_WAIT.as_nanos() as u64});
    let subject = format!("$JS.API.CONSUMER.MSG.NEXT.{STREAM}.{DURABLE}");
    client
        .publish_with_reply(subject, inbox, request.to_string().into())
        .await?;
    let mut messages = Vec::new();
    // A pull lost with the connection never ends by itself: bounded.
    let started = tokio::time::Instant::now();
    let (lost, closed) = (
        started + PULL_WAIT + PULL_GRACE,
        started + PULL_WAIT + PULL_CLOSE,
    );
    while messages.len() < BATCH {
        let deadline = if messages.is_empty() { lost } else { closed };
        let next = tokio::time::timeout_at(deadline, replies.next()).await;
        match next {
            Ok(Some(m)) if m.status.is_none() => messages.push(m),
            Ok(Some(_status)) => break,
            Ok(None) => anyhow::bail!("pull subscription closed"),
            Err(_) if messages.is_empty() => anyhow::bail!("pull not answered"),
            Err(_) => break,
        }
    }
    let _ = replies.unsubscribe().await;
    Ok(messages)
}

/// The durable consumer's ack floor: every message at or below this stream sequence is
/// acknowledged, and the consumer acknowledges only what it has committed.
async fn ack_floor(client: &async_nats::Client) -> anyhow::Result<i64> {
    let subject = format!("$JS.API.CONSUMER.INFO.{STREAM}.{DURABLE}");
    let info = api(client, subject, &json!({})).await?;
    Ok(info
        .pointer("/ack_floor/stream_seq")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0))
}

/// Puts `site`'s confirmation in the bucket (its watermark, the highest record id
/// committed with every one before it, and the ack floor, which the site purges by) and
/// waits for JetStream to keep it.
async fn put_watermark(js: &jetstream::Context, site: &str, mark: i64, floor: i64) {
    let value = Confirmed {
        watermark: mark,
        stream_seq: floor,
    };
    let put = async {
        js.publish(watermark_subject(site), serde_json::to_vec(&value)?.into())
            .await?
            .await
            .map_err(anyhow::Error::from)
    };
    if let Err(e) = put.await {
        tracing::warn!(error = %e, site, "cannot publish the watermark; the site purges later");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_read_from_its_subject_header_and_envelope() {
        let mut h = async_nats::HeaderMap::new();
        h.insert(RECORD_HEADER, "42");
        let body = br#"{"at_ms": 1000, "subject": "pump_1.fault", "body": {"x": 1}}"#;
        let r = parse("sitewatch.rec.north.alarm", Some(&h), body, 7).expect("a record");
        assert_eq!(
            (r.site.as_str(), r.id, r.kind.as_str()),
            ("north", 42, "alarm")
        );
        assert_eq!(r.subject, "pump_1.fault");
        assert!(
            parse("sitewatch.rec.north.alarm", None, body, 7).is_none(),
            "no id, no record"
        );
        assert!(parse("other.north.alarm", Some(&h), body, 7).is_none());
    }
}
