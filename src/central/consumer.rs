//! The central consumer: a durable JetStream pull consumer on the sites' stream. Each
//! batch is applied to PostgreSQL in one transaction (upserts keyed by site and record),
//! acknowledged to JetStream only after the commit, and then each site's watermark (the
//! highest record id committed) is put in the key-value bucket the sites read before they
//! purge. A crash between commit and ack only redelivers what is already applied.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, kv, stream};
use futures_util::StreamExt as _;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::db::{self, Incoming};
use super::metrics::FleetMetrics;
use crate::outbox::jetstream::{DUPLICATE_WINDOW, RECORD_HEADER, STREAM, SUBJECTS, WATERMARKS};

/// The durable consumer's name.
pub const DURABLE: &str = "central";
/// Most messages applied in one transaction.
const BATCH: usize = 1000;
/// Longest a pull waits for a full batch.
const PULL_WAIT: Duration = Duration::from_millis(500);
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

/// The stream and the watermark bucket, made if missing (the centre owns their config).
pub async fn declare(js: &jetstream::Context) -> anyhow::Result<(stream::Stream, kv::Store)> {
    let stream = js
        .get_or_create_stream(stream::Config {
            name: STREAM.into(),
            subjects: vec![SUBJECTS.into()],
            storage: stream::StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        })
        .await?;
    let bucket = match js.get_key_value(WATERMARKS).await {
        Ok(b) => b,
        Err(_) => {
            js.create_key_value(kv::Config {
                bucket: WATERMARKS.into(),
                history: 1,
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await?
        }
    };
    Ok((stream, bucket))
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
        let js = jetstream::new(client);
        let mut backoff = Duration::from_millis(200);
        while !cancel.is_cancelled() {
            let result = tokio::select! {
                () = cancel.cancelled() => break,
                r = self.consume(&js, &cancel) => r,
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
    async fn consume(&self, js: &jetstream::Context, cancel: &CancellationToken) -> anyhow::Result<()> {
        let (stream, bucket) = declare(js).await?;
        let consumer = stream
            .get_or_create_consumer(
                DURABLE,
                pull::Config {
                    durable_name: Some(DURABLE.into()),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(30),
                    max_ack_pending: 20_000,
                    ..Default::default()
                },
            )
            .await?;
        self.metrics.connected(true);
        let mut known = BTreeMap::new();
        for (site, mark) in db::watermarks(&self.pool).await? {
            put_watermark(&bucket, &site, mark).await;
            known.insert(site, mark);
        }
        db::make_partitions(&self.pool, chrono::Utc::now()).await;
        while !cancel.is_cancelled() {
            let mut batch = consumer
                .batch()
                .max_messages(BATCH)
                .expires(PULL_WAIT)
                .messages()
                .await?;
            let mut messages = Vec::new();
            while let Some(m) = batch.next().await {
                messages.push(m.map_err(|e| anyhow::anyhow!(e))?);
            }
            if !messages.is_empty() {
                self.apply(&messages, &bucket, &mut known).await?;
            }
        }
        Ok(())
    }

    /// Applies one batch, acknowledges it and publishes the watermarks that moved.
    async fn apply(
        &self,
        messages: &[jetstream::Message],
        bucket: &kv::Store,
        known: &mut BTreeMap<String, i64>,
    ) -> anyhow::Result<()> {
        let records: Vec<Incoming> = messages.iter().filter_map(|m| self.parse(m)).collect();
        let now = chrono::Utc::now().timestamp_millis();
        let marks = self.commit(&records, now).await;
        for m in messages {
            // A lost ack only redelivers a record already applied.
            let _ = m.ack().await;
        }
        self.metrics.applied(records.len());
        for (site, mark) in marks {
            if known.get(&site).is_none_or(|k| *k < mark) {
                put_watermark(bucket, &site, mark).await;
                known.insert(site, mark);
            }
        }
        Ok(())
    }

    /// Commits `records`, trying again until the database takes them (nothing is
    /// acknowledged before it is kept).
    async fn commit(&self, records: &[Incoming], now: i64) -> BTreeMap<String, i64> {
        let mut backoff = Duration::from_millis(200);
        loop {
            match db::apply(&self.pool, records, now).await {
                Ok(marks) => return marks,
                Err(e) => {
                    self.metrics.db_error();
                    tracing::warn!(error = %e, "central database refused a batch; will retry");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// A message as a record; `None` (counted) when it is not one.
    fn parse(&self, m: &jetstream::Message) -> Option<Incoming> {
        let parsed = parse(&m.subject, m.headers.as_ref(), &m.payload);
        if parsed.is_none() {
            self.metrics.rejected();
            tracing::warn!(subject = %m.subject, "central message is not a record; dropped");
        }
        parsed
    }
}

/// `sitewatch.rec.{site}.{kind}`, the record id header and the envelope.
fn parse(subject: &str, headers: Option<&async_nats::HeaderMap>, payload: &[u8]) -> Option<Incoming> {
    let mut parts = subject.strip_prefix("sitewatch.rec.")?.splitn(2, '.');
    let (site, kind) = (parts.next()?, parts.next()?);
    let id = headers?.get(RECORD_HEADER)?.as_str().parse().ok()?;
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
        kind: kind.to_owned(),
        at_ms: e.at_ms,
        subject: e.subject,
        body: e.body,
    })
}

async fn put_watermark(bucket: &kv::Store, site: &str, mark: i64) {
    if let Err(e) = bucket.put(site, mark.to_string().into()).await {
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
        let r = parse("sitewatch.rec.north.alarm", Some(&h), body).expect("a record");
        assert_eq!((r.site.as_str(), r.id, r.kind.as_str()), ("north", 42, "alarm"));
        assert_eq!(r.subject, "pump_1.fault");
        assert!(parse("sitewatch.rec.north.alarm", None, body).is_none(), "no id, no record");
        assert!(parse("other.north.alarm", Some(&h), body).is_none());
    }
}
