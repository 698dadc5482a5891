//! The access table: for each method and matched route, who may call it and which body
//! field names the person acting (overwritten with the authenticated name). One table,
//! checked in one middleware; a route missing from it is admin-only.

use axum::http::Method;

use crate::access::Role;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Anyone, signed in or not (health, metrics, the log-in form).
    Open,
    /// Only these roles (admin is always added).
    Roles(&'static [Role]),
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    /// `GET`, `POST`, `PUT`…
    pub method: &'static str,
    /// The route as registered (`/api/v1/alarms/{id}/acknowledge`).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// The body field naming who acts, set to the signed-in name.
    pub actor_field: Option<&'static str>,
    /// A query parameter a guard may only set to their own name.
    pub own_query: Option<&'static str>,
    /// A role that may send only some kinds of body here.
    pub narrow: Option<Narrow>,
}

/// `role` may call the route only with one of `values` at the body's JSON `pointer`, and
/// only the manager (admin) may send the kinds in `manager_only`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Narrow {
    /// The role narrowed.
    pub role: Role,
    /// Where the kind is (`/action/type`).
    pub pointer: &'static str,
    /// The kinds it may send.
    pub values: &'static [&'static str],
    /// Kinds no role but admin may send.
    pub manager_only: &'static [&'static str],
}

impl Narrow {
    /// Whether `role` may send `body`.
    pub(crate) fn allows(&self, role: Role, body: Option<&serde_json::Value>) -> bool {
        let kind = body
            .and_then(|b| b.pointer(self.pointer))
            .and_then(|v| v.as_str());
        if role == Role::Admin {
            return true;
        }
        if kind.is_some_and(|k| self.manager_only.contains(&k)) {
            return false;
        }
        role != self.role || kind.is_some_and(|k| self.values.contains(&k))
    }
}

/// Customer service works an incident's households and notes, not its field steps.
const CS_INCIDENT_STEPS: Narrow = Narrow {
    role: Cs,
    pointer: "/action/type",
    values: &[
        "add_note",
        "link_household",
        "contact_household",
        "list_damage",
        "record_compensation",
        "follow_up",
    ],
    // Closing an accident with its evidence open is the manager's call (rules.md §13.3–7).
    manager_only: &["waive_evidence"],
};

use Role::{CustomerService as Cs, DutyEngineer as Duty, Guard, Viewer};

/// Readers: every role but the guard, who sees only the guard page.
const READ: &[Role] = &[Duty, Cs, Viewer];
const DUTY: &[Role] = &[Duty];
const CS: &[Role] = &[Cs];
const DUTY_CS: &[Role] = &[Duty, Cs];
const PATROL: &[Role] = &[Duty, Guard];
const GUARD_PAGE: &[Role] = &[Duty, Guard, Viewer];
const ADMIN: &[Role] = &[];
/// Photos and documents: guards (findings), duty engineers and customer service.
const UPLOAD: &[Role] = &[Duty, Guard, Cs];
const GUARD_PAGE_CS: &[Role] = &[Duty, Guard, Cs, Viewer];
/// Every signed-in role.
const ANY: &[Role] = &[Duty, Guard, Cs, Viewer];
/// A staff member's own settings (paging channel order): every role that may be paged;
/// a viewer (the wall screen, a read-only account) writes nothing.
const OWN: &[Role] = &[Duty, Guard, Cs];

const fn r(method: &'static str, path: &'static str, access: Access) -> Rule {
    Rule {
        method,
        path,
        access,
        actor_field: None,
        own_query: None,
        narrow: None,
    }
}

const fn w(
    method: &'static str,
    path: &'static str,
    roles: &'static [Role],
    actor: &'static str,
) -> Rule {
    Rule {
        method,
        path,
        access: Access::Roles(roles),
        actor_field: Some(actor),
        own_query: None,
        narrow: None,
    }
}

/// A read a guard may make only about themselves (`?guard=` their own name).
const fn own(path: &'static str, roles: &'static [Role], query: &'static str) -> Rule {
    Rule {
        method: "GET",
        path,
        access: Access::Roles(roles),
        actor_field: None,
        own_query: Some(query),
        narrow: None,
    }
}

const OPEN: Access = Access::Open;
const fn only(roles: &'static [Role]) -> Access {
    Access::Roles(roles)
}

/// Every route of `http::router`, with who may call it.
pub(crate) const TABLE: &[Rule] = &[
    r("GET", "/healthz", OPEN),
    r("GET", "/readyz", OPEN),
    r("GET", "/metrics", OPEN),
    r("GET", "/login", OPEN),
    r("POST", "/login", OPEN),
    r("POST", "/logout", OPEN),
    r("GET", "/", only(READ)),
    r("GET", "/guard", only(GUARD_PAGE)),
    r("GET", "/incidents/{id}", only(READ)),
    // The phone page a page's link opens: the signed token is the permission.
    r("GET", "/p/{token}", OPEN),
    r("POST", "/p/{token}", OPEN),
    r("GET", "/service", only(READ)),
    r("GET", "/service/requests/{id}", only(READ)),
    r("GET", "/service/notices/new", only(READ)),
    r("GET", "/service/notices/{id}", only(READ)),
    r("GET", "/service/units", only(READ)),
    r("GET", "/plan", only(READ)),
    r("GET", "/assets/{name}", OPEN),
    r("GET", "/audit", only(ADMIN)),
    r("GET", "/api/v1/audit", only(ADMIN)),
    r("GET", "/api/v1/openapi.json", only(ANY)),
    r("GET", "/api/v1/devices", only(READ)),
    r("GET", "/api/v1/points", only(READ)),
    r("GET", "/api/v1/points/{id}", only(READ)),
    r("GET", "/api/v1/points/{id}/readings", only(READ)),
    r("GET", "/api/v1/points/{id}/chart", only(READ)),
    r("GET", "/api/v1/readings", only(READ)),
    r("GET", "/api/v1/events", only(READ)),
    r("GET", "/api/v1/meter-snapshots", only(READ)),
    r("POST", "/api/v1/files", only(UPLOAD)),
    r("GET", "/api/v1/files/{id}", only(GUARD_PAGE_CS)),
    // Site plans: every signed-in role reads; only an admin places things.
    r("GET", "/api/v1/plans", only(ANY)),
    r("GET", "/api/v1/plans/placeable", only(ANY)),
    r("GET", "/api/v1/plans/{building}/{floor}", only(ANY)),
    r("PUT", "/api/v1/plans/{building}/{floor}", only(ADMIN)),
    r(
        "PUT",
        "/api/v1/plans/{building}/{floor}/markers",
        only(ADMIN),
    ),
    r("GET", "/api/v1/meter-snapshots/periods", only(READ)),
    r("GET", "/api/v1/meter-snapshots/cutoff", only(READ)),
    r("GET", "/api/v1/stream", only(READ)),
    r("GET", "/api/v1/alarms", only(READ)),
    r("GET", "/api/v1/alarms/history", only(READ)),
    r("GET", "/api/v1/alarms/suppressions", only(READ)),
    r("GET", "/api/v1/alarms/{id}", only(READ)),
    r("GET", "/api/v1/alarms/{id}/chart", only(READ)),
    r("GET", "/api/v1/oncall", only(READ)),
    r("GET", "/api/v1/pages", only(READ)),
    // Each person sets their own order of channels: the handler takes the signed-in name.
    r("GET", "/api/v1/oncall/me/channels", only(ANY)),
    r("PUT", "/api/v1/oncall/me/channels", only(OWN)),
    // The SMS gateway posts replies here; the shared secret is its permission.
    r("POST", "/api/v1/paging/sms-replies", OPEN),
    w("POST", "/api/v1/alarms/commands", DUTY, "actor"),
    w("POST", "/api/v1/alarms/acknowledge", DUTY, "actor"),
    w("POST", "/api/v1/alarms/suppress", DUTY, "actor"),
    w("POST", "/api/v1/alarms/unsuppress", DUTY, "actor"),
    w("POST", "/api/v1/alarms/{id}/acknowledge", DUTY, "actor"),
    w("POST", "/api/v1/alarms/{id}/shelve", DUTY, "actor"),
    w("POST", "/api/v1/alarms/{id}/unshelve", DUTY, "actor"),
    r("GET", "/api/v1/incidents", only(READ)),
    w("POST", "/api/v1/incidents", DUTY_CS, "reported_by"),
    r("GET", "/api/v1/incidents/board", only(READ)),
    r("GET", "/api/v1/incidents/{id}", only(READ)),
    Rule {
        narrow: Some(CS_INCIDENT_STEPS),
        ..w("POST", "/api/v1/incidents/{id}/commands", DUTY_CS, "actor")
    },
    w("POST", "/api/v1/patrol/scans", PATROL, "guard"),
    r("GET", "/api/v1/patrol/scans", only(READ)),
    w("POST", "/api/v1/patrol/findings", PATROL, "guard"),
    r("GET", "/api/v1/patrol/tours", only(READ)),
    own("/api/v1/patrol/next", GUARD_PAGE, "guard"),
    r("GET", "/api/v1/patrol/report", only(READ)),
    r("GET", "/api/v1/units", only(READ)),
    r("POST", "/api/v1/units/import", only(CS)),
    r("POST", "/api/v1/meters/import", only(DUTY)),
    r("GET", "/api/v1/meters", only(READ)),
    r("GET", "/api/v1/gateways", only(READ)),
    r("GET", "/api/v1/units/{id}", only(READ)),
    r("GET", "/api/v1/owners", only(DUTY_CS)),
    w("PUT", "/api/v1/units/{id}/occupancy", CS, "actor"),
    w("PUT", "/api/v1/units/{id}/cs-person", CS, "actor"),
    r("GET", "/api/v1/staff", only(DUTY_CS)),
    r("GET", "/api/v1/requests", only(READ)),
    w("POST", "/api/v1/requests", CS, "received_by"),
    r("GET", "/api/v1/requests/{id}", only(READ)),
    w("POST", "/api/v1/requests/{id}/commands", CS, "actor"),
    r("GET", "/api/v1/followups/due", only(READ)),
    r("GET", "/api/v1/inspections/due", only(READ)),
    w("POST", "/api/v1/inspections", DUTY_CS, "inspector"),
    r("POST", "/api/v1/keys/{set}/sign-out", only(DUTY_CS)),
    w("POST", "/api/v1/keys/{set}/sign-in", DUTY_CS, "by"),
    r("GET", "/api/v1/notices", only(READ)),
    w("POST", "/api/v1/notices/preview", CS, "created_by"),
    w("POST", "/api/v1/notices", CS, "created_by"),
    r("GET", "/api/v1/notices/{id}", only(READ)),
    w("POST", "/api/v1/notices/{id}/deliveries", CS, "by"),
    r("GET", "/api/v1/notices/{id}/fire-tests", only(READ)),
    // The compliance register (rules.md §13.24): engineering's duty desk keeps it.
    r("GET", "/api/v1/compliance", only(READ)),
    w("POST", "/api/v1/compliance", DUTY, "actor"),
    r("POST", "/api/v1/compliance/import", only(DUTY)),
    r("GET", "/api/v1/compliance/due", only(READ)),
    w("POST", "/api/v1/compliance/{id}/done", DUTY, "actor"),
    // The key register (rules.md §13.23): the front desk keeps the public keys (seed
    // 000:209) and the duty engineers draw plant-room keys.
    r("GET", "/api/v1/keys", only(READ)),
    w("POST", "/api/v1/keys", DUTY_CS, "actor"),
    r("POST", "/api/v1/keys/import", only(DUTY_CS)),
    r("GET", "/api/v1/keys/overdue", only(READ)),
    r("GET", "/api/v1/keys/inventory", only(READ)),
    w("POST", "/api/v1/keys/inventory", DUTY_CS, "by"),
    // Pump and plant maintenance (rules.md §13.13): engineering's duty desk.
    r("GET", "/api/v1/maintenance", only(READ)),
    w("POST", "/api/v1/maintenance", DUTY, "actor"),
    r("POST", "/api/v1/maintenance/import", only(DUTY)),
    r("GET", "/api/v1/maintenance/due", only(READ)),
    w("POST", "/api/v1/maintenance/{id}/done", DUTY, "actor"),
    r("GET", "/api/v1/pump-sets", only(READ)),
    w("POST", "/api/v1/pump-sets", DUTY, "actor"),
    r("POST", "/api/v1/pump-sets/import", only(DUTY)),
    w("POST", "/api/v1/pump-sets/{id}/switch-over", DUTY, "actor"),
    w("POST", "/api/v1/requests/{id}/incident", DUTY_CS, "actor"),
    r("GET", "/api/v1/incidents/{id}/requests", only(READ)),
    r("GET", "/api/v1/kpis", only(READ)),
    // Hand-over (交接班, rules.md §13.19): the duty engineers and the front desk hand over.
    r("GET", "/api/v1/handovers", only(READ)),
    w("POST", "/api/v1/handovers", DUTY_CS, "outgoing"),
    r("GET", "/api/v1/handovers/{id}", only(READ)),
    w("POST", "/api/v1/handovers/{id}/commands", DUTY_CS, "actor"),
    // The duty log is the staff's own record, reviewed by the manager (admin), §13.19.
    r("GET", "/api/v1/duty-log", only(DUTY_CS)),
    w("POST", "/api/v1/duty-log", DUTY_CS, "author"),
];

const ADMIN_ONLY: Rule = r("", "", only(ADMIN));

/// The rule for a request; admin-only when the route is not in the table.
pub(crate) fn rule(method: &Method, path: &str) -> Rule {
    let m = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    rule_for(m, path)
}

/// The rule for a method given by name and a route as registered.
pub(crate) fn rule_for(method: &str, path: &str) -> Rule {
    TABLE
        .iter()
        .find(|r| r.method == method && r.path == path)
        .copied()
        .unwrap_or(ADMIN_ONLY)
}

impl Access {
    /// Whether `role` may call the route.
    pub(crate) fn allows(self, role: Role) -> bool {
        match self {
            Access::Open => true,
            Access::Roles(roles) => role == Role::Admin || roles.contains(&role),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_routes_are_admin_only() {
        let r = rule(&Method::DELETE, "/api/v1/alarms/{id}");
        assert!(r.access.allows(Role::Admin));
        assert!(!r.access.allows(Role::DutyEngineer));
    }

    #[test]
    fn only_the_manager_waives_an_accidents_evidence() {
        let r = rule(&Method::POST, "/api/v1/incidents/{id}/commands");
        let narrow = r.narrow.unwrap();
        let waive = serde_json::json!({"action": {"type": "waive_evidence", "reason": "x"}});
        let dispatch = serde_json::json!({"action": {"type": "dispatch"}});
        assert!(narrow.allows(Role::Admin, Some(&waive)));
        assert!(!narrow.allows(Role::DutyEngineer, Some(&waive)));
        assert!(!narrow.allows(Role::CustomerService, Some(&waive)));
        assert!(narrow.allows(Role::DutyEngineer, Some(&dispatch)));
        assert!(!narrow.allows(Role::CustomerService, Some(&dispatch)));
    }

    #[test]
    fn each_route_is_listed_once() {
        for (i, a) in TABLE.iter().enumerate() {
            assert!(
                !TABLE[i + 1..]
                    .iter()
                    .any(|b| a.method == b.method && a.path == b.path),
                "{} {} twice",
                a.method,
                a.path
            );
        }
    }

    /// Reads kept from viewers: the staff's own duty log (rules.md §13.19), the search
    /// of owners by name or phone (personal data, for whoever is on the phone with them),
    /// and the staff list (whom a step names).
    const STAFF_ONLY: &[&str] = &["/api/v1/duty-log", "/api/v1/owners", "/api/v1/staff"];

    #[test]
    fn viewers_read_and_never_write() {
        for rule in TABLE.iter().filter(|r| r.access != Access::Open) {
            assert_eq!(
                rule.access.allows(Role::Viewer),
                rule.method == "GET"
                    && !rule.path.contains("audit")
                    && !STAFF_ONLY.contains(&rule.path),
                "{} {}",
                rule.method,
                rule.path
            );
        }
    }
}
