//! The dashboard: one server-rendered page with a little JavaScript that refreshes the
//! plant view every second. No front-end build step.

use axum::extract::State;
use axum::response::Html;

use super::AppState;

const PAGE: &str = include_str!("assets/dashboard.html");

/// `/`: the plant view.
pub(super) async fn page(State(s): State<AppState>) -> Html<String> {
    let name = html_escape(&s.site.name);
    Html(PAGE.replace("{{site_name}}", &name))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
