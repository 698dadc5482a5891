//! The dashboard and the guard's phone page: server-rendered HTML with a little
//! JavaScript (live updates over SSE, a timer for values and clocks). No build step.

use axum::Extension;
use axum::extract::State;
use axum::response::Html;

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

/// `/guard`: the guard's phone page (Web NFC where the browser has it, typed code
/// otherwise, scans queued while offline).
pub(super) async fn guard(
    State(s): State<AppState>,
    who: Option<Extension<Principal>>,
) -> Html<String> {
    Html(render(GUARD, &s, who.as_deref()))
}

/// Fills in the site name, and the signed-in user and their CSRF token (empty when open),
/// which the page's `fetch` calls send back in `X-CSRF-Token`.
fn render(page: &str, s: &AppState, who: Option<&Principal>) -> String {
    page.replace("{{site_name}}", &html_escape(&s.site.name))
        .replace("{{user}}", &html_escape(who.map_or("", |p| &p.name)))
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
