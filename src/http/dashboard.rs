//! The dashboard and the guard's phone page: server-rendered HTML with a little
//! JavaScript (live updates over SSE, a timer for values and clocks). No build step.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use sitewatch_core::incidents::IncidentId;

use super::{AppState, Principal};

const PAGE: &str = include_str!("assets/dashboard.html");
const GUARD: &str = include_str!("assets/guard.html");

/// `/`: the plant view.
pub(super) async fn page(
    State(s): State<AppState>,
    who: Option<Extension<Principal>>,
) -> Html<String> {
    Html(render(PAGE, &s, who.as_deref()))
}

/// `/incidents/{id}`: one incident's page, a URL one can share. The same page as `/`;
/// its script sees the path and shows the incident (header, clocks, timeline, notices,
/// households, attachments, actions). An incident that does not exist is a 404.
pub(super) async fn incident(
    State(s): State<AppState>,
    Path(id): Path<IncidentId>,
    who: Option<Extension<Principal>>,
) -> Response {
    match super::incidents::exists(&s, id).await {
        Ok(true) => Html(render(PAGE, &s, who.as_deref())).into_response(),
        Ok(false) => (StatusCode::NOT_FOUND, format!("incident {id} not found")).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `/guard`: the guard's phone page (Web NFC where the browser has it, typed code
/// otherwise, scans queued while offline).
pub(super) async fn guard(
    State(s): State<AppState>,
    who: Option<Extension<Principal>>,
) -> Html<String> {
    Html(render(GUARD, &s, who.as_deref()))
}

/// Fills in the site name, and the signed-in user, their role (so the page offers only
/// the steps it may take) and their CSRF token (empty when open), which the page's
/// `fetch` calls send back in `X-CSRF-Token`.
fn render(page: &str, s: &AppState, who: Option<&Principal>) -> String {
    page.replace("{{site_name}}", &html_escape(&s.site.name))
        .replace("{{user}}", &html_escape(who.map_or("", |p| &p.name)))
        .replace("{{role}}", who.map_or("", |p| p.role.as_str()))
        .replace(
            "{{csrf}}",
            &html_escape(who.and_then(|p| p.csrf.as_deref()).unwrap_or("")),
        )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
