//! `/api/v1/staff`: the people a desk can name (a technician to dispatch, a person to hand
//! over to): every enabled user but viewers, by name. Log-in names and roles only; no
//! password, session or token ever leaves the store here.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::page::{ApiQuery, NoParams};
use super::{ApiError, AppState};
use crate::access::Role;

#[derive(OpenApi)]
#[openapi(paths(staff))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/staff", get(staff))
}

/// A person the desks can name.
#[derive(Serialize, ToSchema)]
struct StaffMember {
    /// Log-in name: what a step records as the person (`technician`, `incoming`).
    name: String,
    /// Shown name.
    display_name: String,
    /// Role (`duty_engineer`, `customer_service`, `guard`, `admin`).
    #[schema(value_type = String)]
    role: Role,
}

/// The staff list: enabled users other than viewers, by log-in name. Empty while sign-in
/// is off (no users), when a desk types the name instead.
#[utoipa::path(get, path = "/staff", tag = "staff",
    responses(
        (status = 200, description = "The staff, by log-in name", body = Vec<StaffMember>),
    ))]
async fn staff(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
) -> Result<Json<Vec<StaffMember>>, ApiError> {
    let users = s.store.users().await?;
    let staff = users
        .into_iter()
        .filter(|u| !u.disabled && u.role != Role::Viewer)
        .map(|u| StaffMember {
            name: u.username,
            display_name: u.display_name,
            role: u.role,
        })
        .collect();
    Ok(Json(staff))
}
