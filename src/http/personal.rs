//! Personal data has one rule: owners' and tenants' names, phones and e-mail addresses
//! reach only the roles that `GET /api/v1/owners` admits (the access table decides, so the
//! rule and that route cannot drift apart), on every route that carries them. A handler
//! takes `Personal` and passes what it answers through `Personal::apply`; each type that
//! carries such data says which fields in its `Redact`. Redacted names are empty,
//! redacted phones, e-mails and addresses are `null`; everything else stays.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sitewatch_core::incidents::{Incident, ServiceRequest};

use super::Principal;
use super::auth::policy;
use crate::access::Role;
use crate::register::messages::MessageRecord;
use crate::register::notices::Notice;
use crate::register::{Contact, Unit};

/// The route whose roles may see personal data.
const OWNERS: &str = "/api/v1/owners";

/// Whether the caller may see personal data (see the module doc).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Personal {
    shown: bool,
}

impl Personal {
    /// The rule: the roles `/owners` admits. Nobody signed in is open mode (no user
    /// exists yet, or an open route), where everything is shown.
    pub(crate) fn shown_to(role: Option<Role>) -> bool {
        role.is_none_or(|r| policy::rule_for("GET", OWNERS).access.allows(r))
    }

    /// `value` as this caller may see it.
    pub(crate) fn apply<T: Redact>(self, mut value: T) -> T {
        if !self.shown {
            value.redact();
        }
        value
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Personal {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Personal, Infallible> {
        let role = parts.extensions.get::<Principal>().map(|p| p.role);
        Ok(Personal {
            shown: Personal::shown_to(role),
        })
    }
}

/// A record that may carry personal data, and how to take it out.
pub(crate) trait Redact {
    /// Blanks every name, phone number and e-mail address of an owner or tenant.
    fn redact(&mut self);
}

impl<T: Redact> Redact for Vec<T> {
    fn redact(&mut self) {
        self.iter_mut().for_each(Redact::redact);
    }
}

impl<T: Redact> Redact for Option<T> {
    fn redact(&mut self) {
        if let Some(v) = self {
            v.redact();
        }
    }
}

impl Redact for Contact {
    fn redact(&mut self) {
        self.name.clear();
        self.phone = None;
        self.email = None;
    }
}

impl Redact for Unit {
    fn redact(&mut self) {
        self.contacts.redact();
    }
}

impl Redact for ServiceRequest {
    fn redact(&mut self) {
        self.owner = None;
    }
}

impl Redact for Incident {
    fn redact(&mut self) {
        for h in &mut self.households {
            h.owner = None;
        }
    }
}

impl Redact for MessageRecord {
    fn redact(&mut self) {
        self.name.clear();
        self.address = None;
    }
}

impl Redact for Notice {
    fn redact(&mut self) {
        self.recipients.redact();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roles_that_search_owners_see_personal_data_and_no_other() {
        use Role::*;
        for (role, shown) in [
            (Admin, true),
            (DutyEngineer, true),
            (CustomerService, true),
            (Guard, false),
            (Viewer, false),
        ] {
            assert_eq!(Personal::shown_to(Some(role)), shown, "{role}");
        }
        assert!(Personal::shown_to(None), "open mode shows everything");
    }
}
