//! Notice messages (`notice_messages`): one row per recipient, planned in the notice's own
//! transaction, then moved along by the sender: queued → sent → delivered, or back to
//! queued with a later attempt, or failed. Rows are never deleted.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError};
use crate::register::Role;
use crate::register::messages::{MessageRecord, Outgoing};
use crate::register::plan::{self, Channel, History, Policy, Recipient, Status};

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn opt_at(row: &AnyRow, col: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    Ok(row
        .try_get::<Option<i64>, _>(col)?
        .and_then(DateTime::from_timestamp_millis))
}

/// `('queued', 'sent', 'delivered')`: the statuses a contact's count is made of.
fn counted() -> String {
    let names: Vec<String> = plan::COUNTED
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!("({})", names.join(", "))
}

/// What one planned notice produced, for the metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Planned {
    /// (channel, status) of every row written.
    pub rows: Vec<(Channel, Status)>,
}

/// Plans and writes the messages of notice `notice` inside the caller's transaction, so
/// the notice and its messages are kept together or not at all.
pub(crate) async fn plan_in(
    tx: &mut sqlx::AnyConnection,
    notice: i64,
    incident: Option<i64>,
    recipients: &[Recipient],
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Planned, StoreError> {
    let since = now - chrono::Duration::from_std(policy.window()).unwrap_or_default();
    let mut histories = std::collections::BTreeMap::new();
    for r in recipients {
        if !histories.contains_key(&r.key) {
            let h = history(tx, &r.key, incident, since).await?;
            histories.insert(r.key.clone(), h);
        }
    }
    let decisions = plan::decide(policy, incident, recipients, |k| {
        histories.get(k).cloned().unwrap_or_default()
    });
    let mut planned = Planned::default();
    for (r, d) in recipients.iter().zip(decisions) {
        sqlx::query(
            "insert into notice_messages (notice_id, unit_id, role, name, channel, address, contact_key, \
             incident_id, status, reason, attempts, idempotency_key, next_attempt_ms, created_at_ms, updated_at_ms, \
             preferred_channel) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12, $12, $12, $13)",
        )
        .bind(notice)
        .bind(r.unit.clone())
        .bind(r.role.as_str())
        .bind(r.name.clone())
        .bind(r.channel.as_str())
        .bind(r.address.clone())
        .bind(r.key.clone())
        .bind(incident)
        .bind(d.status.as_str())
        .bind(d.reason.clone())
        .bind(format!("notice-{notice}-{}-{}", r.unit, r.role.as_str()))
        .bind(ms(now))
        .bind(r.preferred.as_str())
        .execute(&mut *tx)
        .await?;
        planned.rows.push((r.channel, d.status));
    }
    Ok(planned)
}

async fn history(
    tx: &mut sqlx::AnyConnection,
    key: &str,
    incident: Option<i64>,
    since: DateTime<Utc>,
) -> Result<History, StoreError> {
    let row = sqlx::query(&format!(
        "select count(*) as n from notice_messages where contact_key = $1 and created_at_ms > $2 \
         and status in {}",
        counted()
    ))
    .bind(key.to_owned())
    .bind(ms(since))
    .fetch_one(&mut *tx)
    .await?;
    let recent: i64 = row.try_get("n")?;
    let mut h = History {
        recent: u32::try_from(recent).unwrap_or(u32::MAX),
        incident_message: None,
    };
    if let Some(incident) = incident {
        let row = sqlx::query(&format!(
            "select min(message_id) as m from notice_messages where contact_key = $1 \
             and incident_id = $2 and status in {}",
            counted()
        ))
        .bind(key.to_owned())
        .bind(incident)
        .fetch_one(&mut *tx)
        .await?;
        h.incident_message = row.try_get("m")?;
    }
    Ok(h)
}

impl Store {
    /// Every recipient record of a notice, by unit and role.
    pub async fn notice_messages(&self, notice: i64) -> Result<Vec<MessageRecord>, StoreError> {
        let rows = sqlx::query(
            "select * from notice_messages where notice_id = $1 order by unit_id, role, message_id",
        )
        .bind(notice)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(record_of).collect()
    }

    /// Queued messages whose next attempt is due at `now`, oldest first, with their text.
    pub async fn due_messages(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Outgoing>, StoreError> {
        let rows = sqlx::query(
            "select m.message_id, m.notice_id, m.unit_id, m.name, m.channel, m.preferred_channel, \
             m.address, m.attempts, \
             m.idempotency_key, n.title, n.body from notice_messages m \
             join notices n on n.notice_id = m.notice_id \
             where m.status = 'queued' and m.next_attempt_ms <= $1 order by m.message_id limit $2",
        )
        .bind(ms(now))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let channel: String = r.try_get("channel")?;
                Ok(Outgoing {
                    id: r.try_get("message_id")?,
                    notice: r.try_get("notice_id")?,
                    unit: r.try_get("unit_id")?,
                    name: r.try_get("name")?,
                    channel: Channel::parse(&channel).unwrap_or(Channel::Paper),
                    preferred: r.try_get("preferred_channel")?,
                    address: r
                        .try_get::<Option<String>, _>("address")?
                        .unwrap_or_default(),
                    attempts: r.try_get("attempts")?,
                    key: r.try_get("idempotency_key")?,
                    title: r.try_get("title")?,
                    body: r.try_get("body")?,
                })
            })
            .collect()
    }

    /// Records that an attempt starts: `sent`, one more attempt. Done before the transport
    /// is called, so a crash in between is seen at start (see [`Store::requeue_in_flight`]).
    pub async fn mark_message_sent(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "update notice_messages set status = 'sent', attempts = attempts + 1, last_attempt_ms = $1, \
             updated_at_ms = $1 where message_id = $2 and status = 'queued'",
        )
        .bind(ms(at))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records acceptance by the receiver.
    pub async fn mark_message_delivered(
        &self,
        id: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "update notice_messages set status = 'delivered', reason = null, delivered_at_ms = $1, \
             updated_at_ms = $1 where message_id = $2",
        )
        .bind(ms(at))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        self.message_outcome_in(&mut tx, id, at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a failed attempt: queued again for `retry_at`, or `failed` when `None`.
    pub async fn mark_message_failed(
        &self,
        id: i64,
        reason: &str,
        retry_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let status = if retry_at.is_some() {
            Status::Queued
        } else {
            Status::Failed
        };
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "update notice_messages set status = $1, reason = $2, next_attempt_ms = $3, updated_at_ms = $4 \
             where message_id = $5",
        )
        .bind(status.as_str())
        .bind(reason.to_owned())
        .bind(retry_at.map(ms))
        .bind(ms(at))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        self.message_outcome_in(&mut tx, id, at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The central row of a notice message's outcome (delivered, queued again, failed),
    /// read back on `tx` after the change.
    async fn message_outcome_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        id: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut central = self.outside();
        if !central.is_on() {
            return Ok(());
        }
        let row = sqlx::query(
            "select notice_id, unit_id, role, channel, status, reason, attempts \
             from notice_messages where message_id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(r) = row else { return Ok(()) };
        let body = serde_json::json!({
            "message": id,
            "notice": r.try_get::<i64, _>("notice_id")?,
            "unit": r.try_get::<String, _>("unit_id")?,
            "role": r.try_get::<String, _>("role")?,
            "channel": r.try_get::<String, _>("channel")?,
            "status": r.try_get::<String, _>("status")?,
            "reason": r.try_get::<Option<String>, _>("reason")?,
            "attempts": r.try_get::<i64, _>("attempts")?,
        });
        central.push("notice_message", at, &id.to_string(), &body);
        self.feed_in(tx, central).await
    }

    /// Puts messages left `sent` by a stop between handing over and recording the answer
    /// back in the queue (at least once: the receiver sees the same idempotency key).
    pub async fn requeue_in_flight(&self, at: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "update notice_messages set status = 'queued', next_attempt_ms = $1, updated_at_ms = $1, \
             reason = 'resent after a restart: the answer to the last attempt was not recorded' \
             where status = 'sent'",
        )
        .bind(ms(at))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// Messages waiting (queued or in flight), by channel.
    pub async fn message_queue(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "select channel, count(*) as n from notice_messages where status in ('queued', 'sent') \
             group by channel",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("channel")?, r.try_get("n")?)))
            .collect()
    }
}

fn record_of(r: &AnyRow) -> Result<MessageRecord, StoreError> {
    let channel: String = r.try_get("channel")?;
    let status: String = r.try_get("status")?;
    let role: String = r.try_get("role")?;
    let created: i64 = r.try_get("created_at_ms")?;
    Ok(MessageRecord {
        id: r.try_get("message_id")?,
        unit: r.try_get("unit_id")?,
        role: if role == "tenant" {
            Role::Tenant
        } else {
            Role::Owner
        },
        name: r.try_get("name")?,
        channel: Channel::parse(&channel).unwrap_or(Channel::Paper),
        address: r.try_get("address")?,
        incident: r.try_get("incident_id")?,
        status: Status::parse(&status).unwrap_or(Status::Failed),
        reason: r.try_get("reason")?,
        attempts: r.try_get("attempts")?,
        created_at: DateTime::from_timestamp_millis(created).unwrap_or_default(),
        last_attempt_at: opt_at(r, "last_attempt_ms")?,
        delivered_at: opt_at(r, "delivered_at_ms")?,
    })
}
