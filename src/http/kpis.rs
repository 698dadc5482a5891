//! `/api/v1/kpis`: the service KPIs of a period (rules.md §9, §13.17): follow-up rate
//! (回访率), satisfaction (满意率), repairs in time (维修及时率) and responses in time,
//! each with its count, its base and its target (`[kpis]`). `?period=2026-11` is a month
//! in site time; `?from=&to=` any span.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::incidents::Kpi;

use utoipa::{IntoParams, OpenApi, ToSchema};

use super::page::ApiQuery;
use super::{ApiError, AppState, ErrorBody};
use crate::engine::month;

#[derive(OpenApi)]
#[openapi(paths(kpis))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/kpis", get(kpis))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct KpiQuery {
    /// A month in site time, `YYYY-MM`; the current month when nothing is given.
    period: Option<String>,
    /// Or a span: from this time…
    from: Option<DateTime<Utc>>,
    /// …to this time (both needed).
    to: Option<DateTime<Utc>>,
}

/// The KPIs of a span with their targets.
#[derive(Serialize, ToSchema)]
struct KpiReport {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    kpis: Vec<Kpi>,
}

/// Follow-up rate, satisfaction, repairs and responses in time (rules.md §9, §13.17).
#[utoipa::path(get, path = "/kpis", tag = "service", params(KpiQuery),
    responses(
        (status = 200, description = "The KPIs of the span", body = KpiReport),
        (status = 422, description = "Bad `period` or span", body = ErrorBody),
    ))]
async fn kpis(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<KpiQuery>,
) -> Result<Json<KpiReport>, ApiError> {
    let (from, to) = span(&s, &q)?;
    let kpis = (s.engine.kpis(from, to, s.kpis).await).ok_or(ApiError::Unavailable)?;
    Ok(Json(KpiReport { from, to, kpis }))
}

/// The span asked for: a month, a `from`–`to` span, or the current month.
fn span(s: &AppState, q: &KpiQuery) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let tz = s.site.tz();
    match (&q.period, q.from, q.to) {
        (Some(p), None, None) => {
            month(p, tz).ok_or_else(|| ApiError::invalid("period", "use YYYY-MM"))
        }
        (None, Some(from), Some(to)) if from < to => Ok((from, to)),
        (None, Some(_), Some(_)) => Err(ApiError::invalid("to", "`to` must be after `from`")),
        (None, None, None) => {
            let local = s.clock.now().with_timezone(&tz);
            let p = local.format("%Y-%m").to_string();
            month(&p, tz).ok_or_else(|| ApiError::invalid("period", "use YYYY-MM"))
        }
        _ => Err(ApiError::invalid(
            "period",
            "give either period=YYYY-MM or both from and to",
        )),
    }
}
