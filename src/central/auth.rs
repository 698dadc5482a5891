//! Stand-in until the centre's sign-in (branch `fleet`) is merged: the operator its layer
//! puts into every signed-in request's extensions.

use crate::access::Role;

/// The signed-in operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// User name, or the API token's name.
    pub name: String,
    /// Its role (the site's roles).
    pub role: Role,
}
