//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document, generated from the handlers'
//! `#[utoipa::path]` attributes and the types' `ToSchema` derives, so it cannot drift from
//! the code by hand. Each operation also states the roles the access table gives it.

use std::sync::LazyLock;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::auth::policy::{self, Access};
use super::page::{NEXT_OFFSET, TOTAL_COUNT};
use super::{AppState, ErrorBody};
use super::{alarms, api, files, followups, incidents, inspections, live, notices, patrol, plans};
use super::{
    compliance, duty, fire_tests, keys, kpis, links, maintenance, meters, oncall, requests,
    sms_reply, snapshots, staff, units,
};

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
pub(crate) struct Security;

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

/// Each router's part of the document.
fn parts() -> [Document; 25] {
    [
        api::Doc::openapi(),
        alarms::Doc::openapi(),
        incidents::Doc::openapi(),
        patrol::Doc::openapi(),
        live::Doc::openapi(),
        snapshots::Doc::openapi(),
        files::Doc::openapi(),
        units::Doc::openapi(),
        meters::Doc::openapi(),
        requests::Doc::openapi(),
        followups::Doc::openapi(),
        inspections::Doc::openapi(),
        notices::Doc::openapi(),
        duty::Doc::openapi(),
        kpis::Doc::openapi(),
        links::Doc::openapi(),
        staff::Doc::openapi(),
        fire_tests::Doc::openapi(),
        compliance::Doc::openapi(),
        keys::Doc::openapi(),
        maintenance::Doc::openapi(),
        oncall::Doc::openapi(),
        sms_reply::Doc::openapi(),
        plans::Doc::openapi(),
        super::auth::audit_doc(),
    ]
}

/// The whole document: every router's part, nested under `/api/v1`.
pub fn document() -> Document {
    let mut v1 = Root::openapi();
    for part in parts() {
        v1.merge(part);
    }
    let mut doc = Document::builder().info(v1.info.clone()).build();
    doc.security = v1.security.take();
    doc = doc.nest("/api/v1", v1);
    finish(&mut doc);
    doc
}

/// Adds to each operation who may call it (from the access table) and the refusals of
/// sign-in that go with it, an id unique in the document (handlers of different routers
/// share names such as `list`), and on lists the paging headers.
fn finish(doc: &mut Document) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            ("GET", &mut item.get),
            ("POST", &mut item.post),
            ("PUT", &mut item.put),
            ("DELETE", &mut item.delete),
            ("PATCH", &mut item.patch),
        ];
        for (method, op) in ops {
            let Some(op) = op.as_mut() else { continue };
            let access = policy::rule_for(method, path).access;
            let line = format!("Roles: {}.", roles(access));
            op.description = Some(match op.description.take() {
                Some(d) if !d.is_empty() => format!("{d}\n\n{line}"),
                _ => line,
            });
            op.operation_id = Some(operation_id(method, path));
            paging_headers(op);
            refusals(op, access);
        }
    }
}

/// `post_alarms_id_acknowledge` for `POST /api/v1/alarms/{id}/acknowledge`.
fn operation_id(method: &str, path: &str) -> String {
    let words = path
        .trim_start_matches("/api/v1/")
        .split(['/', '-', '.'])
        .map(|w| w.trim_matches(['{', '}']))
        .filter(|w| !w.is_empty());
    std::iter::once(method.to_ascii_lowercase().as_str())
        .chain(words)
        .collect::<Vec<_>>()
        .join("_")
}

/// A list (it takes `limit`) says in its 200 answer how the next page is found.
fn paging_headers(op: &mut Operation) {
    let paged = op
        .parameters
        .as_ref()
        .is_some_and(|ps| ps.iter().any(|p| p.name == "limit"));
    let Some(RefOr::T(ok)) = op.responses.responses.get_mut("200") else {
        return;
    };
    if !paged {
        return;
    }
    let describe = |t: Type, text: &str| {
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(t))
            .description(Some(text))
            .build()
    };
    let headers = [
        (
            NEXT_OFFSET,
            Type::Integer,
            "The `offset` of the next page; absent on the last page.",
        ),
        (
            TOTAL_COUNT,
            Type::Integer,
            "Items in the whole list, where known without a second query.",
        ),
        (
            header::LINK,
            Type::String,
            "`<…offset=N>; rel=\"next\"`: the next page's URL.",
        ),
    ];
    for (name, t, text) in headers {
        ok.headers
            .insert(name.as_str().to_owned(), describe(t, text));
    }
}

/// The refusals every operation of its kind can answer, with the error body: 401 and 403
/// where a role is needed, 503 there too (the sign-in check reads the database, so every
/// such operation can meet an outage, whatever it does itself), 415 where a JSON body is
/// taken (another content type). A handler's own description of the same status is kept,
/// but for 503.
fn refusals(op: &mut Operation, access: Access) {
    let takes_json = op
        .request_body
        .as_ref()
        .is_some_and(|b| b.content.contains_key("application/json"));
    let mut add = |status: &str, text: &str| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(error_response(text)));
    };
    if access != Access::Open {
        add(
            "401",
            "Not signed in and no valid bearer token (`unauthorized`); only once a user exists",
        );
        add(
            "403",
            "The role may not do this, or the session's X-CSRF-Token is missing or wrong (`forbidden`)",
        );
    }
    if takes_json {
        add(
            "415",
            "The body is not sent as `application/json` (`bad_body`)",
        );
    }
    if access != Access::Open {
        // In place of a handler's own 503, which names only the engine.
        op.responses.responses.insert(
            "503".to_owned(),
            RefOr::T(error_response(
                "The database (or the engine) cannot answer now: the sign-in check or the \
                 operation's own read or write failed (`unavailable`; nothing was done, try \
                 again shortly); or, for a change, it was made but the database has not \
                 kept it within 5 s (`not_yet_stored`; it is written when the database \
                 returns: do not send it again, look it up later)",
            )),
        );
    }
}

/// A response carrying the error body.
fn error_response(text: &str) -> Response {
    ResponseBuilder::new()
        .description(text)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn operation_ids_are_unique_and_readable() {
        let doc = document();
        let mut ids = BTreeSet::new();
        for item in doc.paths.paths.values() {
            for op in [&item.get, &item.post, &item.put, &item.delete, &item.patch]
                .into_iter()
                .flatten()
            {
                let id = op.operation_id.clone().unwrap_or_default();
                assert!(ids.insert(id.clone()), "{id} twice");
            }
        }
        assert!(ids.contains("post_alarms_id_acknowledge"), "{ids:?}");
        assert!(ids.contains("get_openapi_json"), "{ids:?}");
    }

    /// Two types of one name (two `CommandBody`s once) leave one of them documented in
    /// the other's place: every part must mean the same by each schema name.
    #[test]
    fn no_two_parts_give_one_schema_name_different_types() {
        let mut seen: std::collections::BTreeMap<String, String> = Default::default();
        let mut clashes = Vec::new();
        for part in parts() {
            let schemas = part.components.map(|c| c.schemas).unwrap_or_default();
            for (name, schema) in schemas {
                let text = serde_json::to_string(&schema).unwrap_or_default();
                match seen.get(&name) {
                    Some(other) if *other != text => clashes.push(name),
                    Some(_) => {}
                    None => {
                        seen.insert(name, text);
                    }
                }
            }
        }
        assert!(
            clashes.is_empty(),
            "schema names with two meanings: {clashes:?}"
        );
        for name in ["HandoverCommandBody", "RequestCommandBody"] {
            assert!(seen.contains_key(name), "{name} among the schemas");
        }
    }
}
