//! Notices and their per-unit delivery and confirmation records (rules.md §13.14).

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::notify::{Planned, plan_in};
use super::outbox::enqueue_in;
use super::{OutMessage, Store, StoreError};
use crate::register::notices::{
    Delivery, DeliveryChannel, Notice, NoticeLevel, NoticeTarget, NoticeTemplate,
};
use crate::register::plan::{Policy, Recipient};

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn opt_ms(row: &AnyRow, col: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    Ok(row.try_get::<Option<i64>, _>(col)?.map(from_ms))
}

/// A delivery or confirmation to record.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    /// The unit.
    pub unit: String,
    /// How.
    pub channel: DeliveryChannel,
    /// Delivered at this time (kept if already delivered).
    pub delivered: bool,
    /// Confirmed by the household at this time.
    pub confirmed: bool,
    /// Who records it.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl Store {
    /// Keeps a notice (its `id` is ignored) with one record per target unit and, when
    /// `send` gives the `[notify]` policy, one message per recipient (flood control
    /// decided here, against what the store already holds) and the notice on MQTT, all in
    /// one transaction. Its number and the messages planned.
    pub async fn insert_notice(
        &self,
        n: &Notice,
        units: &[String],
        send: Option<(&Policy, &[Recipient])>,
    ) -> Result<(i64, Planned), StoreError> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "insert into notices (level, template, title, body, starts_at_ms, ends_at_ms, expires_at_ms, \
             target, created_by, created_at_ms, updated_at_ms) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) returning notice_id",
        )
        .bind(n.level.as_str())
        .bind(n.template.as_str())
        .bind(n.title.clone())
        .bind(n.body.clone())
        .bind(n.starts_at.map(ms))
        .bind(n.ends_at.map(ms))
        .bind(ms(n.expires_at))
        .bind(serde_json::to_string(&n.target).unwrap_or_default())
        .bind(n.created_by.clone())
        .bind(ms(n.created_at))
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("notice_id")?;
        for unit in units {
            sqlx::query(
                "insert into notice_units (notice_id, unit_id, created_at_ms, updated_at_ms) values ($1, $2, $3, $3)",
            )
            .bind(id)
            .bind(unit.clone())
            .bind(ms(n.created_at))
            .execute(&mut *tx)
            .await?;
        }
        let mut planned = Planned::default();
        if let Some((policy, recipients)) = send {
            let incident = match n.target {
                NoticeTarget::Incident { incident } => Some(incident),
                _ => None,
            };
            if self.backend() == super::Backend::Postgres {
                // Flood control reads what earlier notices queued: one planner at a time,
                // as SQLite's `BEGIN IMMEDIATE` already gives (readers are not blocked).
                sqlx::query("lock table notice_messages in exclusive mode")
                    .execute(&mut *tx)
                    .await?;
            }
            planned = plan_in(&mut tx, id, incident, recipients, policy, n.created_at).await?;
            if let Some(prefix) = &policy.mqtt_prefix {
                enqueue_in(&mut tx, n.created_at, &[mqtt_message(prefix, id, n)]).await?;
            }
        }
        let mut central = self.outside();
        let body = serde_json::json!({"notice": Notice { id, ..n.clone() }, "units": units});
        central.push("notice", n.created_at, &id.to_string(), &body);
        self.feed_in(&mut tx, central).await?;
        tx.commit().await?;
        Ok((id, planned))
    }

    /// Notices, newest first, with their records; only those still posted at `now` when
    /// `current` is set.
    pub async fn notices(&self, current: Option<DateTime<Utc>>) -> Result<Vec<Notice>, StoreError> {
        let rows =
            sqlx::query("select * from notices where expires_at_ms > $1 order by notice_id desc")
                .bind(current.map_or(i64::MIN, ms))
                .fetch_all(self.pool())
                .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut notice = notice_of(r)?;
            notice.deliveries = self.deliveries(notice.id).await?;
            notice.recipients = self.notice_messages(notice.id).await?;
            out.push(notice);
        }
        Ok(out)
    }

    /// Notices for exactly `target` (e.g. an incident's households), newest first, with
    /// their records. The target column holds the target as serde writes it, so equal
    /// targets are equal text.
    pub async fn notices_targeting(
        &self,
        target: &NoticeTarget,
    ) -> Result<Vec<Notice>, StoreError> {
        let rows = sqlx::query("select * from notices where target = $1 order by notice_id desc")
            .bind(serde_json::to_string(target).unwrap_or_default())
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut notice = notice_of(r)?;
            notice.deliveries = self.deliveries(notice.id).await?;
            notice.recipients = self.notice_messages(notice.id).await?;
            out.push(notice);
        }
        Ok(out)
    }

    /// One notice with its records and recipients' messages.
    pub async fn notice(&self, id: i64) -> Result<Option<Notice>, StoreError> {
        let row = sqlx::query("select * from notices where notice_id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut notice = notice_of(&row)?;
        notice.deliveries = self.deliveries(id).await?;
        notice.recipients = self.notice_messages(id).await?;
        Ok(Some(notice))
    }

    async fn deliveries(&self, notice: i64) -> Result<Vec<Delivery>, StoreError> {
        let rows = sqlx::query(
            "select unit_id, channel, delivered_at_ms, confirmed_at_ms, recorded_by from notice_units \
             where notice_id = $1 order by unit_id",
        )
        .bind(notice)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let channel: Option<String> = r.try_get("channel")?;
                Ok(Delivery {
                    unit: r.try_get("unit_id")?,
                    channel: channel.as_deref().and_then(DeliveryChannel::parse),
                    delivered_at: opt_ms(r, "delivered_at_ms")?,
                    confirmed_at: opt_ms(r, "confirmed_at_ms")?,
                    recorded_by: r.try_get("recorded_by")?,
                })
            })
            .collect()
    }

    /// Records a delivery or confirmation for a target unit; false when the unit is not a
    /// target of the notice. A confirmation implies delivery; first times stand.
    pub async fn record_delivery(
        &self,
        notice: i64,
        d: &DeliveryRecord,
    ) -> Result<bool, StoreError> {
        let at = ms(d.at);
        let delivered = (d.delivered || d.confirmed).then_some(at);
        let confirmed = d.confirmed.then_some(at);
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "update notice_units set channel = $1, recorded_by = $2, updated_at_ms = $3, \
             delivered_at_ms = coalesce(delivered_at_ms, $4), confirmed_at_ms = coalesce(confirmed_at_ms, $5) \
             where notice_id = $6 and unit_id = $7",
        )
        .bind(d.channel.as_str())
        .bind(d.by.clone())
        .bind(at)
        .bind(delivered)
        .bind(confirmed)
        .bind(notice)
        .bind(d.unit.clone())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            let mut central = self.outside();
            let body = serde_json::json!({
                "notice": notice, "unit": d.unit, "channel": d.channel.as_str(),
                "delivered": d.delivered || d.confirmed, "confirmed": d.confirmed, "by": d.by,
            });
            central.push(
                "notice_delivery",
                d.at,
                &format!("{notice}:{}", d.unit),
                &body,
            );
            self.feed_in(&mut tx, central).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }
}

fn notice_of(r: &AnyRow) -> Result<Notice, StoreError> {
    let level: String = r.try_get("level")?;
    let level = NoticeLevel::parse(&level).unwrap_or(NoticeLevel::Notice);
    let template: String = r.try_get("template")?;
    let target: String = r.try_get("target")?;
    Ok(Notice {
        id: r.try_get("notice_id")?,
        level,
        color: level.color().to_owned(),
        template: NoticeTemplate::parse(&template).unwrap_or(NoticeTemplate::General),
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        starts_at: opt_ms(r, "starts_at_ms")?,
        ends_at: opt_ms(r, "ends_at_ms")?,
        expires_at: from_ms(r.try_get("expires_at_ms")?),
        target: serde_json::from_str(&target).unwrap_or(NoticeTarget::All),
        created_by: r.try_get("created_by")?,
        created_at: from_ms(r.try_get("created_at_ms")?),
        deliveries: Vec::new(),
        recipients: Vec::new(),
    })
}

/// The notice itself on `{prefix}/{id}` (a lobby screen, an app), through the outbox.
fn mqtt_message(prefix: &str, id: i64, n: &Notice) -> OutMessage {
    let payload = serde_json::json!({
        "id": id,
        "level": n.level,
        "color": n.color,
        "title": n.title,
        "body": n.body,
        "starts_at": n.starts_at,
        "ends_at": n.ends_at,
        "expires_at": n.expires_at,
        "target": n.target,
    });
    OutMessage {
        channel: "mqtt".into(),
        target: format!("{prefix}/{id}"),
        payload: payload.to_string(),
        retain: false,
    }
}
