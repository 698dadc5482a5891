//! Pages to people on call (`pages`, migration 0014): planned once per step by a unique
//! key, claimed before a channel is called, then delivered, queued again (retry or next
//! channel) or failed; an acknowledgement cancels every queued one of its alarm. The
//! queued rows are the schedule: a restart continues from them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{Store, StoreError};

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn at(row: &AnyRow, col: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    Ok(row
        .try_get::<Option<i64>, _>(col)?
        .and_then(DateTime::from_timestamp_millis))
}

/// One page as stored: who was told, how, and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PageRecord {
    /// Page number (the link names it).
    pub id: i64,
    /// `alarm` or `summary`.
    pub kind: String,
    /// The alarm paged about (none for a summary).
    pub alarm: Option<String>,
    /// When that alarm was raised (one escalation of it).
    pub raised_at: Option<DateTime<Utc>>,
    /// The alarm's priority.
    pub priority: String,
    /// Escalation level (`duty_engineer`, `shift_lead`, `manager`).
    pub level: String,
    /// 0 for the step itself, 1… for its repeats.
    pub seq: i64,
    /// Who (the person on call when it fell due).
    pub person: Option<String>,
    /// The channel of the last attempt (`sms`, `voice`, `wechat`, `dingtalk`, `email`, `mqtt`).
    pub channel: Option<String>,
    /// Where it went (number, address, topic; a webhook's host only).
    pub address: Option<String>,
    /// `queued`, `sending`, `delivered`, `failed`, `cancelled`, `summarised`, `held`.
    pub status: String,
    /// Why it failed or was held, or the last attempt's error while retrying; on a
    /// delivered page, the last failure before it (none when the first attempt went).
    pub reason: Option<String>,
    /// Attempts over every channel.
    pub attempts: i64,
    /// When it falls (or fell) due.
    pub due_at: DateTime<Utc>,
    /// When planned.
    pub created_at: DateTime<Utc>,
    /// Last handed to a channel.
    pub sent_at: Option<DateTime<Utc>>,
    /// Accepted by the channel.
    pub delivered_at: Option<DateTime<Utc>>,
    /// The acknowledgement that cancelled it (`acknowledged by wang`, `returned to normal`).
    pub cancelled_by: Option<String>,
    /// When its link was used, and for what (`acknowledge`, `own`).
    pub link_used_at: Option<DateTime<Utc>>,
    /// See `link_used_at`.
    pub link_action: Option<String>,
    /// The page's text.
    pub body: String,
    /// Which channel of the person's list the next attempt uses.
    #[serde(skip)]
    pub channel_index: i64,
    /// Attempts on that channel.
    #[serde(skip)]
    pub channel_attempts: i64,
}

fn record(r: &AnyRow) -> Result<PageRecord, sqlx::Error> {
    Ok(PageRecord {
        id: r.try_get("page_id")?,
        kind: r.try_get("kind")?,
        alarm: r.try_get("alarm_id")?,
        raised_at: at(r, "raised_at_ms")?,
        priority: r.try_get("priority")?,
        level: r.try_get("level")?,
        seq: r.try_get("seq")?,
        person: r.try_get("person")?,
        channel: r.try_get("channel")?,
        address: r.try_get("address")?,
        status: r.try_get("status")?,
        reason: r.try_get("reason")?,
        attempts: r.try_get("attempts")?,
        due_at: at(r, "due_ms")?.unwrap_or_default(),
        created_at: at(r, "created_at_ms")?.unwrap_or_default(),
        sent_at: at(r, "sent_at_ms")?,
        delivered_at: at(r, "delivered_at_ms")?,
        cancelled_by: r.try_get("cancelled_by")?,
        link_used_at: at(r, "link_used_ms")?,
        link_action: r.try_get("link_action")?,
        body: r.try_get("body")?,
        channel_index: r.try_get("channel_index")?,
        channel_attempts: r.try_get("channel_attempts")?,
    })
}

/// One page as flood control saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct FloodRow {
    /// Who.
    pub person: String,
    /// `alarm` or `summary`.
    pub kind: String,
    /// The alarm (empty for a summary).
    pub alarm: String,
    /// Whether an emergency.
    pub emergency: bool,
    /// Its status now.
    pub status: String,
    /// Whether it was handed to a channel at least once.
    pub attempted: bool,
    /// When it was last handed over, or settled.
    pub at: DateTime<Utc>,
}

/// A page to plan.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPage {
    /// Unique per step: planning it again does nothing.
    pub key: String,
    /// `alarm` or `summary`.
    pub kind: &'static str,
    /// The alarm.
    pub alarm: Option<String>,
    /// Its raise.
    pub raised_at: Option<DateTime<Utc>>,
    /// Its priority.
    pub priority: String,
    /// Level.
    pub level: String,
    /// Step 0, repeats 1….
    pub seq: i64,
    /// Who, when known at planning (summaries).
    pub person: Option<String>,
    /// When it falls due.
    pub due: DateTime<Utc>,
    /// Text.
    pub body: String,
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Accepted.
    Delivered,
    /// Try again at `due` on channel `index` (same or next), with the error.
    Retry {
        /// When.
        due: DateTime<Utc>,
        /// Channel index.
        index: i64,
        /// Attempts already made on it.
        channel_attempts: i64,
        /// The error.
        reason: String,
    },
    /// Given up, with the reason.
    Failed(String),
}

const COLUMNS: &str = "page_id, kind, alarm_id, raised_at_ms, priority, level, seq, person, channel, \
    address, status, reason, attempts, due_ms, created_at_ms, sent_at_ms, delivered_at_ms, \
    cancelled_by, link_used_ms, link_action, body, channel_index, channel_attempts";

/// One paging round's writes, in one transaction: the plans, the outcomes that came back
/// since the last round, the due pages read and each claimed or settled. Nothing is handed
/// to a channel before `commit`, so a claim (and the repeat planned with it) is stored
/// before its send, and one round costs one commit however many pages it moves.
#[derive(Debug)]
pub struct PagesTx {
    tx: Transaction<'static, Any>,
}

impl Store {
    /// A paging round's transaction.
    pub async fn pages_tx(&self) -> Result<PagesTx, StoreError> {
        Ok(PagesTx {
            tx: self.write_tx().await?,
        })
    }

    /// Records what an attempt came to, on its own (a delivery that outlived its task).
    pub async fn page_outcome(
        &self,
        id: i64,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        outcome_query(id, outcome, now).execute(self.pool()).await?;
        Ok(())
    }
}

impl PagesTx {
    /// Plans a page unless its key is already planned; whether it was new.
    pub async fn plan(&mut self, p: &NewPage, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "insert into pages (page_key, kind, alarm_id, raised_at_ms, priority, level, seq, person, \
             status, body, due_ms, created_at_ms, updated_at_ms) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9, $10, $11, $11) \
             on conflict (page_key) do nothing",
        )
        .bind(p.key.clone())
        .bind(p.kind)
        .bind(p.alarm.clone())
        .bind(p.raised_at.map(ms))
        .bind(p.priority.clone())
        .bind(p.level.clone())
        .bind(p.seq)
        .bind(p.person.clone())
        .bind(p.body.clone())
        .bind(ms(p.due))
        .bind(ms(now))
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Queued pages due at `now`, earliest first.
    pub async fn due(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<PageRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "select {COLUMNS} from pages where status = 'queued' and due_ms <= $1 \
             order by due_ms, page_id limit $2"
        ))
        .bind(ms(now))
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(rows.iter().map(record).collect::<Result<_, _>>()?)
    }

    /// Takes a queued page for an attempt on a channel; `false` when it is no longer
    /// queued (cancelled by an acknowledgement since it was read).
    pub async fn claim(
        &mut self,
        id: i64,
        person: &str,
        channel: &str,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "update pages set status = 'sending', person = $1, channel = $2, address = $3, \
             attempts = attempts + 1, channel_attempts = channel_attempts + 1, sent_at_ms = $4, \
             updated_at_ms = $4 where page_id = $5 and status = 'queued'",
        )
        .bind(person.to_owned())
        .bind(channel.to_owned())
        .bind(address.to_owned())
        .bind(ms(now))
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records what an attempt came to.
    pub async fn outcome(
        &mut self,
        id: i64,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        outcome_query(id, outcome, now)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Ends a queued page without an attempt (`failed`, `summarised`, `held`), naming the
    /// person it was for, if any; `false` when it was no longer queued.
    pub async fn settle(
        &mut self,
        id: i64,
        status: &str,
        person: Option<&str>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "update pages set status = $1, person = $2, reason = $3, updated_at_ms = $4 \
             where page_id = $5 and status = 'queued'",
        )
        .bind(status.to_owned())
        .bind(person.map(str::to_owned))
        .bind(reason.to_owned())
        .bind(ms(now))
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores the round.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

fn outcome_query(
    id: i64,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> sqlx::query::Query<'static, Any, sqlx::any::AnyArguments<'static>> {
    match outcome {
        Outcome::Delivered => sqlx::query(
            // Delivered before an acknowledgement could stop it: not cancelled by it. A
            // failure before (a retry, the channel before) stays as the reason.
            "update pages set status = 'delivered', cancelled_by = null, \
             delivered_at_ms = $1, updated_at_ms = $1 where page_id = $2",
        )
        .bind(ms(now))
        .bind(id),
        Outcome::Retry {
            due,
            index,
            channel_attempts,
            reason,
        } => sqlx::query(
            // An acknowledgement while the attempt was out marked it: no retry then.
            "update pages set status = case when cancelled_by is null then 'queued' else 'cancelled' end, \
             due_ms = $1, channel_index = $2, channel_attempts = $3, reason = $4, updated_at_ms = $5 \
             where page_id = $6",
        )
        .bind(ms(*due))
        .bind(*index)
        .bind(*channel_attempts)
        .bind(reason.clone())
        .bind(ms(now))
        .bind(id),
        Outcome::Failed(reason) => sqlx::query(
            "update pages set status = 'failed', reason = $1, updated_at_ms = $2 where page_id = $3",
        )
        .bind(reason.clone())
        .bind(ms(now))
        .bind(id),
    }
}

impl Store {
    /// Cancels every queued page of `alarm` (retries and repeats included); how many. A
    /// page out with a channel right now is marked too, so a failed attempt is not retried.
    pub async fn cancel_pages(
        &self,
        alarm: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        sqlx::query(
            "update pages set cancelled_by = $1 where alarm_id = $2 and status = 'sending' \
             and cancelled_by is null",
        )
        .bind(by.to_owned())
        .bind(alarm.to_owned())
        .execute(self.pool())
        .await?;
        let done = sqlx::query(
            "update pages set status = 'cancelled', cancelled_by = $1, updated_at_ms = $2 \
             where alarm_id = $3 and status = 'queued'",
        )
        .bind(by.to_owned())
        .bind(ms(now))
        .bind(alarm.to_owned())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// The alarms with queued pages.
    pub async fn queued_page_alarms(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "select distinct alarm_id from pages where status = 'queued' and alarm_id is not null",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get("alarm_id"))
            .collect::<Result<_, _>>()?)
    }

    /// Pages left `sending` by a stop are queued again (at least once; the receiver sees
    /// the same key). How many.
    pub async fn requeue_sending_pages(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "update pages set status = case when cancelled_by is null then 'queued' else 'cancelled' end, \
             channel_attempts = channel_attempts - 1, updated_at_ms = $1 where status = 'sending'",
        )
        .bind(ms(now))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// One page.
    pub async fn page(&self, id: i64) -> Result<Option<PageRecord>, StoreError> {
        let row = sqlx::query(&format!("select {COLUMNS} from pages where page_id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(record).transpose()?)
    }

    /// Pages, newest first: of some alarms, or every one; one page of the list.
    pub async fn pages(
        &self,
        alarms: Option<&[String]>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<PageRecord>, StoreError> {
        let mut sql = format!("select {COLUMNS} from pages");
        if let Some(alarms) = alarms {
            if alarms.is_empty() {
                return Ok(Vec::new());
            }
            let marks: Vec<String> = (1..=alarms.len()).map(|i| format!("${i}")).collect();
            sql.push_str(&format!(" where alarm_id in ({})", marks.join(", ")));
        }
        sql.push_str(&format!(
            " order by page_id desc limit {limit} offset {offset}"
        ));
        let mut q = sqlx::query(&sql);
        for a in alarms.unwrap_or_default() {
            q = q.bind(a.clone());
        }
        let rows = q.fetch_all(self.pool()).await?;
        Ok(rows.iter().map(record).collect::<Result<_, _>>()?)
    }

    /// Pages to a person since `since`, oldest first, with what became of them, for flood
    /// control to rebuild its state after a restart.
    pub async fn flood_record(&self, since: DateTime<Utc>) -> Result<Vec<FloodRow>, StoreError> {
        let rows = sqlx::query(
            "select person, kind, alarm_id, priority, status, attempts, \
             coalesce(sent_at_ms, updated_at_ms) as at_ms from pages \
             where person is not null and coalesce(sent_at_ms, updated_at_ms) >= $1 \
             order by at_ms, page_id",
        )
        .bind(ms(since))
        .fetch_all(self.pool())
        .await?;
        let row = |r: &AnyRow| -> Result<FloodRow, sqlx::Error> {
            Ok(FloodRow {
                person: r.try_get("person")?,
                kind: r.try_get("kind")?,
                alarm: r
                    .try_get::<Option<String>, _>("alarm_id")?
                    .unwrap_or_default(),
                emergency: r.try_get::<String, _>("priority")? == "emergency",
                status: r.try_get("status")?,
                attempted: r.try_get::<i64, _>("attempts")? > 0,
                at: at(r, "at_ms")?.unwrap_or_default(),
            })
        };
        Ok(rows.iter().map(row).collect::<Result<_, _>>()?)
    }

    /// The latest page handed to one of `numbers` by SMS or voice.
    pub async fn latest_page_to(
        &self,
        numbers: &[String],
    ) -> Result<Option<PageRecord>, StoreError> {
        let marks: Vec<String> = (1..=numbers.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "select {COLUMNS} from pages where channel in ('sms', 'voice') and sent_at_ms is not null \
             and address in ({}) order by sent_at_ms desc, page_id desc limit 1",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for n in numbers {
            q = q.bind(n.clone());
        }
        let row = q.fetch_optional(self.pool()).await?;
        Ok(row.as_ref().map(record).transpose()?)
    }

    /// Marks a page's link used for `action`; `false` when it already was.
    pub async fn use_page_link(
        &self,
        id: i64,
        action: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "update pages set link_used_ms = $1, link_action = $2 where page_id = $3 and link_used_ms is null",
        )
        .bind(ms(now))
        .bind(action.to_owned())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives a link back when its action failed, so it can be tried again.
    pub async fn release_page_link(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("update pages set link_used_ms = null, link_action = null where page_id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

impl Store {
    /// Every person's own order of channels (channel names, first to try first).
    pub async fn channel_orders(
        &self,
    ) -> Result<std::collections::BTreeMap<String, Vec<String>>, StoreError> {
        let rows = sqlx::query("select user_name, channels from channel_orders")
            .fetch_all(self.pool())
            .await?;
        let mut orders = std::collections::BTreeMap::new();
        for r in &rows {
            let user: String = r.try_get("user_name")?;
            let text: String = r.try_get("channels")?;
            // A row that is not a list of names (written by hand) leaves the config's order.
            match serde_json::from_str::<Vec<String>>(&text) {
                Ok(order) => {
                    orders.insert(user, order);
                }
                Err(e) => {
                    tracing::warn!(user, error = %e, "unreadable channel order; the config's order holds")
                }
            }
        }
        Ok(orders)
    }

    /// Stores `user`'s own order of channels.
    pub async fn set_channel_order(
        &self,
        user: &str,
        order: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let text = serde_json::to_string(order).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "insert into channel_orders (user_name, channels, updated_at_ms) values ($1, $2, $3) \
             on conflict (user_name) do update set channels = excluded.channels, \
             updated_at_ms = excluded.updated_at_ms",
        )
        .bind(user.to_owned())
        .bind(text)
        .bind(ms(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
