//! Service requests (报修, 投诉, suggestions): one row per request holding the core's
//! `ServiceRequest` as JSON, with its number from the database and a version that turns a
//! lost update into a refusal.

use chrono::{DateTime, Utc};
use sitewatch_core::incidents::{RequestId, RequestKind, RequestState, ServiceRequest};
use sqlx::Row;

use super::{Store, StoreError};

/// A stored request and the version it was read at.
#[derive(Debug, Clone)]
pub struct StoredRequest {
    /// The request.
    pub request: ServiceRequest,
    /// Row version; a save must name it.
    pub version: i64,
}

/// The stable name of a request kind, for the store and metrics.
pub fn kind_name(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Repair { .. } => "repair",
        RequestKind::Complaint { .. } => "complaint",
        RequestKind::Suggestion => "suggestion",
    }
}

impl Store {
    /// Takes in a request: the database hands out its number, `build` makes it.
    pub async fn create_request<F>(
        &self,
        now: DateTime<Utc>,
        build: F,
    ) -> Result<ServiceRequest, StoreError>
    where
        F: FnOnce(RequestId) -> ServiceRequest,
    {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "insert into service_requests (kind, state, unit_id, body, version, created_at_ms, updated_at_ms) \
             values ('', '', '', '{}', 0, $1, $1) returning service_request_id",
        )
        .bind(now.timestamp_millis())
        .fetch_one(&mut *tx)
        .await?;
        let request = build(row.try_get("service_request_id")?);
        sqlx::query(
            "update service_requests set kind = $1, state = $2, unit_id = $3, body = $4, version = 1, \
             incident_id = $6 where service_request_id = $5",
        )
        .bind(kind_name(request.kind))
        .bind(request.state.as_str())
        .bind(request.unit.clone())
        .bind(serde_json::to_string(&request).unwrap_or_default())
        .bind(request.id)
        .bind(request.incident)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(request)
    }

    /// One request.
    pub async fn request(&self, id: RequestId) -> Result<Option<StoredRequest>, StoreError> {
        let row =
            sqlx::query("select body, version from service_requests where service_request_id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.as_ref().and_then(stored_request))
    }

    /// Requests, optionally in one state and of one kind, by number.
    pub async fn requests(
        &self,
        state: Option<RequestState>,
        kind: Option<&str>,
    ) -> Result<Vec<StoredRequest>, StoreError> {
        let rows = sqlx::query(
            "select body, version from service_requests where ($1 = '' or state = $1) \
             and ($2 = '' or kind = $2) and state <> '' order by service_request_id",
        )
        .bind(state.map_or("", RequestState::as_str))
        .bind(kind.unwrap_or("").to_owned())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().filter_map(stored_request).collect())
    }

    /// Requests still open (not closed or declined).
    pub async fn open_requests(&self) -> Result<Vec<StoredRequest>, StoreError> {
        let rows = sqlx::query(
            "select body, version from service_requests \
             where state not in ('closed', 'declined', '') order by service_request_id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().filter_map(stored_request).collect())
    }

    /// Requests changed since `since` (for the follow-up rate).
    pub async fn requests_updated_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<ServiceRequest>, StoreError> {
        let rows = sqlx::query(
            "select body, version from service_requests where updated_at_ms >= $1 and state <> ''",
        )
        .bind(since.timestamp_millis())
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .filter_map(stored_request)
            .map(|s| s.request)
            .collect())
    }

    /// Requests per (kind, state), for the gauges.
    pub async fn request_counts(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "select kind, state, count(*) as n from service_requests where state <> '' group by kind, state",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("kind")?, r.try_get("state")?, r.try_get("n")?)))
            .collect()
    }

    /// Saves a changed request if nobody saved it since `version` was read. Returns false
    /// when someone did (nothing written; read it again).
    pub async fn save_request(
        &self,
        request: &ServiceRequest,
        version: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "update service_requests set state = $1, body = $2, version = version + 1, updated_at_ms = $3, \
             incident_id = $6 where service_request_id = $4 and version = $5",
        )
        .bind(request.state.as_str())
        .bind(serde_json::to_string(request).unwrap_or_default())
        .bind(now.timestamp_millis())
        .bind(request.id)
        .bind(version)
        .bind(request.incident)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

pub(super) fn stored_request(row: &sqlx::any::AnyRow) -> Option<StoredRequest> {
    let body: String = row.try_get("body").ok()?;
    match serde_json::from_str(&body) {
        Ok(request) => Some(StoredRequest {
            request,
            version: row.try_get("version").ok()?,
        }),
        Err(e) => {
            tracing::error!(error = %e, "stored service request unreadable; skipped");
            None
        }
    }
}
