//! The fleet page (`GET /`, signed in): one row per site, drawn by its script from
//! `/api/v1/fleet` and polled every 5 s. The desks' approach: one catalogue of strings
//! (`page/strings.toml`) in zh-CN and English, the `lang` cookie picks the language, the
//! template reads keys on the server and the page carries its table for the script.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use minijinja::{Environment, context};
use serde::Deserialize;

use super::auth::{Csrf, Operator};
use crate::access::Role;
use crate::http::desks::catalogue::Lang;

const STRINGS: &str = include_str!("page/strings.toml");
const TEMPLATE: &str = include_str!("page/fleet.html");
/// The page's script and style sheet, at `/assets/{name}`.
const ASSETS: [(&str, &str, &str); 4] = [
    ("fleet.js", "text/javascript", include_str!("page/fleet.js")),
    ("fleet.css", "text/css", include_str!("page/fleet.css")),
    ("site.js", "text/javascript", include_str!("page/site.js")),
    ("site.css", "text/css", include_str!("page/site.css")),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    zh: String,
    en: String,
}

static ENTRIES: LazyLock<BTreeMap<String, Entry>> = LazyLock::new(|| {
    // Compiled in and checked by the tests below, so a broken file never ships.
    toml::from_str(STRINGS).unwrap_or_default()
});

/// Every key in `lang`.
fn table(lang: Lang) -> BTreeMap<&'static str, &'static str> {
    ENTRIES
        .iter()
        .map(|(k, e)| {
            let text = if lang == Lang::En { &e.en } else { &e.zh };
            (k.as_str(), text.as_str())
        })
        .collect()
}

pub(super) fn router() -> Router {
    Router::new()
        .route("/", get(page))
        .route("/assets/{name}", get(asset))
}

/// `/`: the fleet page for the signed-in operator, in the cookie's language.
async fn page(
    operator: Extension<Operator>,
    csrf: Option<Extension<Csrf>>,
    headers: HeaderMap,
) -> Response {
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
    let me = Me {
        name: &operator.name,
        csrf: csrf.as_ref().map_or("", |c| c.0.0.as_str()),
        commands: matches!(operator.role, Role::Admin | Role::DutyEngineer),
    };
    match render(Lang::from_cookies(cookie), &me) {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "fleet page not rendered");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Who the page is for: the site panel's buttons are shown to those who may send commands.
struct Me<'a> {
    name: &'a str,
    csrf: &'a str,
    commands: bool,
}

fn render(lang: Lang, me: &Me<'_>) -> Result<String, minijinja::Error> {
    let strings = table(lang);
    let mut env = Environment::new();
    let lookup = strings.clone();
    env.add_function("t", move |key: &str| {
        lookup.get(key).copied().unwrap_or_default().to_owned()
    });
    env.add_template("fleet.html", TEMPLATE)?;
    let ctx = context! { lang => lang.tag(), user => me.name, csrf => me.csrf,
    commands => me.commands, strings => strings };
    env.get_template("fleet.html")?.render(ctx)
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, body)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_both_languages_and_every_key_used_is_listed() {
        let raw: BTreeMap<String, toml::Value> = toml::from_str(STRINGS).expect("strings.toml");
        assert_eq!(
            ENTRIES.len(),
            raw.len(),
            "every entry has exactly zh and en"
        );
        for (k, e) in ENTRIES.iter() {
            assert!(!e.zh.trim().is_empty() && !e.en.trim().is_empty(), "{k}");
        }
        let used = regex_keys(TEMPLATE, "t(\"")
            .into_iter()
            .chain(regex_keys(ASSETS[0].2, "t(\""))
            .chain(regex_keys(ASSETS[2].2, "t(\""));
        // `t("p_" + p)`: a prefix, checked below for each value.
        for key in used.filter(|k| !k.ends_with('_')) {
            assert!(
                ENTRIES.contains_key(&key),
                "`{key}` is used but not in strings.toml"
            );
        }
        for o in [
            "applied",
            "refused",
            "not_delivered",
            "unavailable",
            "bad_reply",
            "sending",
        ] {
            assert!(ENTRIES.contains_key(&format!("o_{o}")), "{o}");
        }
        for s in ["unack_active", "ack_active", "unack_returned"] {
            assert!(ENTRIES.contains_key(&format!("s_{s}")), "{s}");
        }
        for s in [
            "reported",
            "dispatched",
            "on_site",
            "resolved",
            "followed_up",
        ] {
            assert!(ENTRIES.contains_key(&format!("i_{s}")), "{s}");
        }
        for p in ["emergency", "high", "medium", "low"] {
            assert!(ENTRIES.contains_key(&format!("p_{p}")), "{p}");
        }
        for k in [
            "follow_up_rate",
            "satisfaction",
            "repairs_in_time",
            "responses_in_time",
        ] {
            assert!(ENTRIES.contains_key(&format!("k_{k}")), "{k}");
        }
    }

    /// The literal keys after each `open` (`t("key"`).
    fn regex_keys(text: &str, open: &str) -> Vec<String> {
        text.match_indices(open)
            // `t(` itself, not the end of a longer name such as `closest(`.
            .filter(|(i, _)| {
                !text[..*i]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
            })
            .filter_map(|(i, _)| {
                let rest = &text[i + open.len()..];
                rest.find('"').map(|end| rest[..end].to_owned())
            })
            .collect()
    }

    #[test]
    fn the_page_renders_in_both_languages() {
        let me = |name| Me {
            name,
            csrf: "",
            commands: false,
        };
        let zh = render(Lang::Zh, &me("wang")).expect("zh");
        assert!(
            zh.contains("lang=\"zh-CN\"") && zh.contains("未恢复告警"),
            "{zh}"
        );
        let en = render(Lang::En, &me("<b>")).expect("en");
        assert!(en.contains("lang=\"en\"") && en.contains("Open alarms"));
        assert!(!en.contains("<b>"), "names are escaped");
    }
}
