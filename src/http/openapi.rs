//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document, generated from the handlers'
//! `#[utoipa::path]` attributes and the types' `ToSchema` derives, so it cannot drift from
//! the code by hand. Each operation also states the roles the access table gives it.

use std::sync::LazyLock;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{HttpMethod, OpenApi as Document};
use utoipa::{Modify, OpenApi};

use super::auth::policy::{self, Access};
use super::{AppState, ErrorBody};
use super::{alarms, api, files, followups, incidents, inspections, live, notices, patrol};
use super::{requests, snapshots, units};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sitewatch",
        description = "Building operations: plant, alarms, incidents, patrols, inspections, \
            units, service requests, notices. Lists page with `limit` (1 to 10000, default \
            1000) and `offset`; the next page's offset comes in `X-Next-Offset` (and a \
            `Link: rel=\"next\"` header). Refusals carry `ErrorBody`."
    ),
    paths(openapi_json),
    components(schemas(ErrorBody)),
    security(("bearer" = []), ("session" = [])),
    modifiers(&Security)
)]
struct Root;

/// Bearer API tokens for devices and integrations; the session cookie for people.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(super::auth::COOKIE))),
        );
    }
}

/// The whole document: every router's part, nested under `/api/v1`.
pub fn document() -> Document {
    let parts = [
        api::Doc::openapi(),
        alarms::Doc::openapi(),
        incidents::Doc::openapi(),
        patrol::Doc::openapi(),
        live::Doc::openapi(),
        snapshots::Doc::openapi(),
        files::Doc::openapi(),
        units::Doc::openapi(),
        requests::Doc::openapi(),
        followups::Doc::openapi(),
        inspections::Doc::openapi(),
        notices::Doc::openapi(),
        super::auth::audit_doc(),
    ];
    let mut v1 = Root::openapi();
    for part in parts {
        v1.merge(part);
    }
    let mut doc = Document::builder().info(v1.info.clone()).build();
    doc.security = v1.security.take();
    doc = doc.nest("/api/v1", v1);
    with_roles(&mut doc);
    doc
}

/// Adds to each operation who may call it, from the access table.
fn with_roles(doc: &mut Document) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            (HttpMethod::Get, "GET", &mut item.get),
            (HttpMethod::Post, "POST", &mut item.post),
            (HttpMethod::Put, "PUT", &mut item.put),
            (HttpMethod::Delete, "DELETE", &mut item.delete),
            (HttpMethod::Patch, "PATCH", &mut item.patch),
        ];
        for (_, method, op) in ops {
            let Some(op) = op.as_mut() else { continue };
            let roles = roles(policy::rule_for(method, path).access);
            let line = format!("Roles: {roles}.");
            op.description = Some(match op.description.take() {
                Some(d) if !d.is_empty() => format!("{d}\n\n{line}"),
                _ => line,
            });
        }
    }
}

fn roles(access: Access) -> String {
    match access {
        Access::Open => "anyone".to_owned(),
        Access::Roles(roles) => std::iter::once("admin")
            .chain(roles.iter().map(|r| r.as_str()))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

static JSON: LazyLock<String> = LazyLock::new(|| {
    document()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
});

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi_json))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], JSON.as_str())
}
