//! The dashboard and the guard's phone page: server-rendered HTML with a little
//! JavaScript (live updates over SSE, a timer for values and clocks). No build step.

use axum::extract::State;
use axum::response::Html;

use super::AppState;

const PAGE: &str = include_str!("assets/dashboard.html");
const GUARD: &str = include_str!("assets/guard.html");

/// `/`: the plant view.
pub(super) async fn page(State(s): State<AppState>) -> Html<String> {
    let name = html_escape(&s.site.name);
    Html(PAGE.replace("{{site_name}}", &name))
}

/// `/guard`: the guard's phone page (Web NFC where the browser has it, typed code
/// otherwise, scans queued while offline).
pub(super) async fn guard(State(s): State<AppState>) -> Html<String> {
    Html(GUARD.replace("{{site_name}}", &html_escape(&s.site.name)))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
