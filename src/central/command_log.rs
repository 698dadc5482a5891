//! The centre's record of the commands it sends to sites (`central_commands`, migration
//! `central/0003`): each is kept before it is sent and its outcome after, so a command id
//! given again is answered from here or sent again, never applied twice by the centre.

use serde_json::Value;
use sqlx::PgPool;

/// What to do with a command once recorded.
#[derive(Debug)]
pub(super) enum Started {
    /// New, or known but not answered (not delivered, or the centre stopped while
    /// waiting): send it, with this id.
    Send(String),
    /// Answered before (applied or refused): the status and body answered then.
    Answered(u16, Value),
    /// The id was given for another site or action.
    Reused(String),
}

/// How a sent command ended.
#[derive(Debug)]
pub(super) struct Outcome<'a> {
    /// `applied`, `refused`, `not_delivered`, `bad_reply`.
    pub(super) outcome: &'a str,
    /// The centre's answer's status.
    pub(super) status: u16,
    /// The site's code, or why it was not delivered.
    pub(super) code: Option<&'a str>,
    /// The centre's answer.
    pub(super) body: &'a Value,
}

/// Records a command before it is sent (`command_id` made here when not given).
pub(super) async fn record(
    pool: &PgPool,
    site: &str,
    operator: &str,
    command_id: Option<String>,
    action: &Value,
) -> Result<Started, sqlx::Error> {
    let now = chrono::Utc::now().timestamp_millis();
    let sent: Option<String> = sqlx::query_scalar(
        "insert into central_commands (command_id, site_id, operator, action, sent_ms, outcome) \
         values (coalesce($1, gen_random_uuid()::text), $2, $3, $4::jsonb, $5, 'sending') \
         on conflict (command_id) do update set tries = central_commands.tries + 1, \
         sent_ms = excluded.sent_ms, outcome = 'sending' \
         where central_commands.site_id = excluded.site_id \
         and central_commands.action = excluded.action \
         and central_commands.outcome not in ('applied', 'refused') \
         returning command_id",
    )
    .bind(&command_id)
    .bind(site)
    .bind(operator)
    .bind(action.to_string())
    .bind(now)
    .fetch_optional(pool)
    .await?;
    if let Some(id) = sent {
        return Ok(Started::Send(id));
    }
    let id = command_id.unwrap_or_default();
    let (known_site, known_action, status, answer): (String, Value, i32, Option<Value>) =
        sqlx::query_as(
            "select site_id, action, coalesce(status, 502), answer \
             from central_commands where command_id = $1",
        )
        .bind(&id)
        .fetch_one(pool)
        .await?;
    if known_site != site || &known_action != action {
        return Ok(Started::Reused(id));
    }
    let status = u16::try_from(status).unwrap_or(502);
    Ok(Started::Answered(status, answer.unwrap_or_default()))
}

/// Records how a command ended.
pub(super) async fn keep_outcome(
    pool: &PgPool,
    command_id: &str,
    o: &Outcome<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update central_commands set outcome = $2, answered_ms = $3, status = $4, code = $5, \
         answer = $6::jsonb where command_id = $1",
    )
    .bind(command_id)
    .bind(o.outcome)
    .bind(chrono::Utc::now().timestamp_millis())
    .bind(i32::from(o.status))
    .bind(o.code)
    .bind(o.body.to_string())
    .execute(pool)
    .await?;
    Ok(())
}
