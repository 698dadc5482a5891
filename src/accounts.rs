//! Accounts from the command line: `user add`, `user list`, `token create`, `token revoke`,
//! the demo's one user per role, and the rule that a daemon without users stays on
//! loopback.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use chrono::Utc;

use crate::access::{Role, Secret, hash_password, new_token, token_hash};
use crate::store::{Store, UserRow};

/// The demo's logins: user name, role, password.
pub const DEMO_USERS: [(&str, Role, &str); 5] = [
    ("admin", Role::Admin, "admin-demo"),
    ("duty", Role::DutyEngineer, "duty-demo"),
    ("guard", Role::Guard, "guard-demo"),
    ("service", Role::CustomerService, "service-demo"),
    ("viewer", Role::Viewer, "viewer-demo"),
];

/// Refuses to listen beyond loopback while no user exists: the API would be open to all.
pub async fn check_listen(store: &Store, listen: SocketAddr) -> anyhow::Result<()> {
    if listen.ip().is_loopback() {
        return Ok(());
    }
    let users = store.user_count().await.context("Failed to count users")?;
    anyhow::ensure!(
        users > 0,
        "refusing to listen on {listen}: no user exists yet, so the API would be open to anyone. \
         Create the first admin with `sitewatch user add NAME --role admin`, or listen on loopback"
    );
    Ok(())
}

/// Adds a user with a password read from stdin (one line); false if the name is taken.
pub async fn add_user(
    store: &Store,
    name: &str,
    role: Role,
    from_stdin: bool,
) -> anyhow::Result<()> {
    let from = if from_stdin {
        PasswordFrom::Stdin
    } else {
        PasswordFrom::Prompt(name)
    };
    let password = read_password(from)?;
    anyhow::ensure!(
        create(store, name, role, &password).await?,
        "user `{name}` already exists"
    );
    println!("user {name} added ({role})");
    Ok(())
}

/// Where a new user's password comes from.
#[derive(Debug, Clone, Copy)]
pub enum PasswordFrom<'a> {
    /// Asked for on the terminal, for this user.
    Prompt(&'a str),
    /// One line of stdin, no prompt.
    Stdin,
    /// The first line of a file.
    File(&'a Path),
}

/// Reads a new password (one line, at least 8 characters): the site's and the centre's
/// `user add`.
pub fn read_password(from: PasswordFrom<'_>) -> anyhow::Result<Secret> {
    let mut line = String::new();
    match from {
        PasswordFrom::File(path) => {
            line = std::fs::read_to_string(path)
                .with_context(|| format!("Failed to read the password file {}", path.display()))?;
            line.truncate(line.find('\n').unwrap_or(line.len()));
        }
        PasswordFrom::Prompt(name) => {
            eprint!("password for {name}: ");
            std::io::stderr().flush().ok();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("Failed to read the password")?;
        }
        PasswordFrom::Stdin => {
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("Failed to read the password")?;
        }
    }
    let password = Secret::new(line.trim_end_matches(['\r', '\n']));
    anyhow::ensure!(
        password.expose().chars().count() >= 8,
        "a password needs at least 8 characters"
    );
    Ok(password)
}

/// Creates a user unless the name is taken; whether it was created.
pub async fn create(
    store: &Store,
    name: &str,
    role: Role,
    password: &Secret,
) -> anyhow::Result<bool> {
    anyhow::ensure!(!name.trim().is_empty(), "a user needs a name");
    let hash = hash_password(password)?;
    let user = UserRow {
        username: name.to_owned(),
        display_name: name.to_owned(),
        role,
        disabled: false,
    };
    Ok(store.add_user(&user, &hash, Utc::now()).await?)
}

/// Prints every user.
pub async fn list_users(store: &Store) -> anyhow::Result<()> {
    for u in store.users().await? {
        let state = if u.disabled { " (disabled)" } else { "" };
        println!("{}\t{}{state}", u.username, u.role);
    }
    Ok(())
}

/// Creates an API token and prints it, once: only its hash is kept.
pub async fn create_token(store: &Store, name: &str, role: Role) -> anyhow::Result<()> {
    let token = new_token();
    store
        .create_token(name, role, &token_hash(token.expose()), Utc::now())
        .await?;
    println!("{}", token.expose());
    eprintln!("token {name} ({role}) created; it is shown only this once");
    Ok(())
}

/// Revokes every live token of this name.
pub async fn revoke_token(store: &Store, name: &str) -> anyhow::Result<()> {
    let n = store.revoke_token(name, Utc::now()).await?;
    anyhow::ensure!(n > 0, "no live token named `{name}`");
    println!("token {name} revoked");
    Ok(())
}

/// Creates the demo's users that do not exist yet and prints every login.
pub async fn seed_demo(store: &Store) -> anyhow::Result<()> {
    for (name, role, password) in DEMO_USERS {
        create(store, name, role, &Secret::new(password)).await?;
        println!("login:          {name} / {password}  ({role})");
    }
    Ok(())
}
