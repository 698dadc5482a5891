//! Who may do what: the roles, secrets that never reach a log, password hashing (argon2)
//! and random tokens (stored as sha256). The HTTP side (`http::auth`) and the CLI use it.

use std::fmt;
use std::str::FromStr;

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A person's or an integration's role; each route names the roles that may call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users' audit trail.
    Admin,
    /// Alarms, incidents, patrols and inspections.
    DutyEngineer,
    /// Patrol scans and findings, the guard page.
    Guard,
    /// Units, requests, notices, follow-ups, incidents' households and notes.
    CustomerService,
    /// Reads everything, changes nothing.
    Viewer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::DutyEngineer,
        Role::Guard,
        Role::CustomerService,
        Role::Viewer,
    ];

    /// The stable name (`duty_engineer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::DutyEngineer => "duty_engineer",
            Role::Guard => "guard",
            Role::CustomerService => "customer_service",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown role `{s}`: use admin, duty_engineer, guard, customer_service or viewer")
            })
    }
}

/// A password or token in memory. Its `Debug` prints `***`, so it cannot leak into a log
/// line by accident.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for hashing or printing once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A failure hashing a password.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// The argon2 PHC string for a password (random salt).
pub fn hash_password(password: &Secret) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches a stored PHC string.
pub fn verify_password(password: &Secret, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.expose().as_bytes(), &h)
            .is_ok()
    })
}

/// A fresh random token: 32 bytes from the OS, hex.
pub fn new_token() -> Secret {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    Secret(hex(&bytes))
}

/// What is stored for a token: its sha256, hex.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_print_as_stars() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
    }

    #[test]
    fn a_password_verifies_against_its_hash_only() {
        let h = hash_password(&Secret::new("right")).expect("hash");
        assert!(h.starts_with("$argon2"));
        assert!(verify_password(&Secret::new("right"), &h));
        assert!(!verify_password(&Secret::new("wrong"), &h));
    }

    #[test]
    fn roles_round_trip_by_name() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
