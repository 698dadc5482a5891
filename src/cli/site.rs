//! Site set-up commands: `init` writes a new site's config, `profiles` lists the device
//! profiles a site can use, and `check` names where each profile in use came from.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::{Config, load_profiles};

/// The commented config `init` writes; `check` accepts it as it is (a test runs it).
pub(super) const SITE_TEMPLATE: &str = include_str!("site.toml.in");

/// Writes `dir/site.toml` for a new site; never overwrites one.
pub(super) fn init(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("Failed to create {}", dir.display()))?;
    let path = dir.join("site.toml");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| {
            format!(
                "Failed to create {} (it is kept if it exists)",
                path.display()
            )
        })?;
    std::io::Write::write_all(&mut file, SITE_TEMPLATE.as_bytes())?;
    println!("wrote {}", path.display());
    println!(
        "next: edit it, then `sitewatch check --config {}`",
        path.display()
    );
    Ok(())
}

/// Prints every profile: the built-in ones, with a site's own folder when `config` is given.
pub(super) fn list_profiles(config: Option<&Path>) -> anyhow::Result<()> {
    let dir = config.map(profiles_dir).transpose()?.flatten();
    let profiles = load_profiles(dir.as_deref()).map_err(|p| anyhow::anyhow!("{p}"))?;
    for p in profiles.values() {
        let how = if p.topic.is_some() { "mqtt" } else { "modbus" };
        println!("{}  {} [{how}, {}]", p.id, p.name, p.source);
        println!("    manual: {}", p.manual);
    }
    Ok(())
}

/// The config's `[profiles] dir`, relative to the config file, when it has one.
fn profiles_dir(config: &Path) -> anyhow::Result<Option<PathBuf>> {
    let text = std::fs::read_to_string(config)
        .with_context(|| format!("Failed to read {}", config.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not TOML", config.display()))?;
    let dir = table
        .get("profiles")
        .and_then(|p| p.get("dir"))
        .and_then(|d| d.as_str());
    let base = config.parent().unwrap_or(Path::new("."));
    Ok(dir.map(|d| base.join(d)))
}

/// One line per profile the site's devices use, saying where it came from.
pub(super) fn print_profiles_used(config: &Config) {
    let mut seen = std::collections::BTreeSet::new();
    for d in &config.devices {
        if seen.insert(d.profile.id.as_str()) {
            println!("  profile {}: {}", d.profile.id, d.profile.source);
        }
    }
}
