//! The desks in the browser: one page per desk, server-rendered from templates that share
//! one layout (`templates/layout.html`: header, desk links, the offline and storage
//! banners), with a small script per desk (`static/<desk>.js`) on top of one shared
//! script (`static/common.js`: strings, site time, durations, the live connection and
//! its banner, patching the page in place). Every string comes from the catalogue
//! (`catalogue`, `strings.toml`) in zh-CN or English, chosen by the `lang` cookie.
//!
//! - duty desk (值班台): `/` and `/incidents/{id}`, `duty.html` + `duty.js` (the tab
//!   shell and the smaller tabs), `duty_alarms.js` (the alarm console and its sound),
//!   `duty_incident.js` (the incident page);
//! - service desk (客服前台): `/service`, `/service/requests/{id}`,
//!   `/service/notices/new`, `/service/notices/{id}`, `/service/units`, `service.html` +
//!   `service.js`, `service_request.js`, `service_notices.js`;
//! - the guard's phone page: `/guard`, `guard.html` + `guard.js` (the tour, scans by NFC
//!   or code with their queue, findings);
//! - the duty desk's plant, hand-over and registers tabs: `duty_plant.js`,
//!   `duty_handover.js`, `duty_registers.js`;
//! - the site plan (平面图): `/plan`, `plan.html` + `plan.js` (a floor's image with its
//!   markers in their live state; an admin's edit mode places them).
//!
//! A page's actions are calls to the `/api/v1` routes; the server decides.

pub(crate) mod catalogue;

use std::sync::LazyLock;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, context};
use sitewatch_core::incidents::IncidentId;

use super::{AppState, Principal};
use catalogue::Lang;

/// The templates, parsed once.
static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    let pages = [
        ("layout.html", include_str!("templates/layout.html")),
        ("duty.html", include_str!("templates/duty.html")),
        ("service.html", include_str!("templates/service.html")),
        ("guard.html", include_str!("templates/guard.html")),
        ("plan.html", include_str!("templates/plan.html")),
    ];
    for (name, source) in pages {
        if let Err(e) = env.add_template(name, source) {
            // Compiled in and rendered by the tests: a broken template never ships.
            tracing::error!(template = name, error = %e, "template does not parse");
        }
    }
    env.add_function("t", |state: &minijinja::State, key: &str| {
        let lang = state.lookup("lang_code");
        let lang = if lang.as_ref().and_then(|v| v.as_str()) == Some("en") {
            Lang::En
        } else {
            Lang::Zh
        };
        catalogue::get(lang, key)
    });
    env
});

/// The scripts and the style sheet the pages load from `/assets/{name}`.
const ASSETS: &[(&str, &str, &str)] = &[
    ("style.css", "text/css", include_str!("static/style.css")),
    (
        "common.js",
        "text/javascript",
        include_str!("static/common.js"),
    ),
    ("duty.js", "text/javascript", include_str!("static/duty.js")),
    (
        "duty_alarms.js",
        "text/javascript",
        include_str!("static/duty_alarms.js"),
    ),
    (
        "duty_incident.js",
        "text/javascript",
        include_str!("static/duty_incident.js"),
    ),
    (
        "duty_plant.js",
        "text/javascript",
        include_str!("static/duty_plant.js"),
    ),
    (
        "duty_handover.js",
        "text/javascript",
        include_str!("static/duty_handover.js"),
    ),
    (
        "duty_registers.js",
        "text/javascript",
        include_str!("static/duty_registers.js"),
    ),
    (
        "guard.js",
        "text/javascript",
        include_str!("static/guard.js"),
    ),
    (
        "oncall.js",
        "text/javascript",
        include_str!("static/oncall.js"),
    ),
    (
        "service.js",
        "text/javascript",
        include_str!("static/service.js"),
    ),
    (
        "service_request.js",
        "text/javascript",
        include_str!("static/service_request.js"),
    ),
    (
        "service_notices.js",
        "text/javascript",
        include_str!("static/service_notices.js"),
    ),
    ("plan.js", "text/javascript", include_str!("static/plan.js")),
];

/// Renders desk page `template` for the signed-in user (if any) in the cookie's language.
fn render(template: &str, s: &AppState, who: Option<&Principal>, headers: &HeaderMap) -> Response {
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
    let lang = Lang::from_cookies(cookie);
    let ctx = context! {
        desk => template.trim_end_matches(".html"),
        site_name => s.site.name.as_str(),
        timezone => s.site.timezone.as_str(),
        user => who.map_or("", |p| p.name.as_str()),
        role => who.map_or("", |p| p.role.as_str()),
        csrf => who.and_then(|p| p.csrf.as_deref()).unwrap_or(""),
        lang => lang.tag(),
        lang_code => if lang == Lang::En { "en" } else { "zh" },
        strings => catalogue::table(lang),
    };
    let page = TEMPLATES.get_template(template).and_then(|t| t.render(ctx));
    match page {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(template, error = %e, "page not rendered");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `/`: the duty desk (alarms, incidents, patrol, service overview, plant, hand-over).
pub(super) async fn duty(
    State(s): State<AppState>,
    who: Option<Extension<Principal>>,
    headers: HeaderMap,
) -> Response {
    render("duty.html", &s, who.as_deref(), &headers)
}

/// `/incidents/{id}`: one incident's page, a URL one can share. The duty desk's page;
/// its script sees the path and shows the incident. An unknown incident is a 404.
pub(super) async fn incident(
    State(s): State<AppState>,
    Path(id): Path<IncidentId>,
    who: Option<Extension<Principal>>,
    headers: HeaderMap,
) -> Response {
    match super::incidents::exists(&s, id).await {
        Ok(true) => render("duty.html", &s, who.as_deref(), &headers),
        Ok(false) => (StatusCode::NOT_FOUND, format!("incident {id} not found")).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `/service` and its sub-pages: the customer-service desk. One page; its script sees
/// the path (a request, a notice, the compose form) and draws that view.
pub(super) async fn service(
    State(s): State<AppState>,
    who: Option<Extension<Principal>>,
    headers: HeaderMap,
) -> Response {
    render("service.html", &s, who.as_deref(), &headers)
}

/// `/assets/{name}`: the desks' scripts and style sheet, compiled in.
pub(super) async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, body)) => (
            [
                (header::CONTENT_TYPE, *kind),
                // Small files: always asked again, so a new build is never half-cached.
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/plan`: the site plan (平面图): a floor's image with its devices, checkpoints and
/// units in their live state; an admin places them.
pub(super) async fn plan(
    State(s): State<AppState>,
    who: Option<Extension<Principal>>,
    headers: HeaderMap,
) -> Response {
    render("plan.html", &s, who.as_deref(), &headers)
}

/// `/guard`: the guard's phone page (Web NFC where the browser has it, typed code
/// otherwise, scans queued while offline or signed out), on the desks' layout.
pub(super) async fn guard(
    State(s): State<AppState>,
    who: Option<Extension<Principal>>,
    headers: HeaderMap,
) -> Response {
    render("guard.html", &s, who.as_deref(), &headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        for name in [
            "layout.html",
            "duty.html",
            "service.html",
            "guard.html",
            "plan.html",
        ] {
            assert!(TEMPLATES.get_template(name).is_ok(), "{name}");
        }
    }
}
