//! The demo's estate (issue 24): a power and a water meter for every unit of the demo's
//! unit register, behind two simulated gateways, so the plant tab's gateway cards and
//! `/api/v1/meters` show something. Seeded once into an empty meter register.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::config::{Config, GatewayConfig, Transport};
use crate::devices::simulator::{SimDevice, Simulator};
use crate::store::Store;

/// The demo's gateways: id, name, meter kind, profile, id prefix.
const GATEWAYS: [(&str, &str, &str, &str, &str); 2] = [
    (
        "gw_power",
        "电表集中器 Power meters",
        "electricity",
        "household_electricity",
        "e",
    ),
    (
        "gw_water",
        "水表集中器 Water meters",
        "water",
        "household_water",
        "w",
    ),
];

/// Starts a simulated gateway per meter kind with a meter per unit of the unit register
/// (read from `store`, which must hold it), adds the gateways to `config`, and fills an
/// empty meter register. The simulators serve until dropped.
pub(super) async fn start(config: &mut Config, store: &Store) -> anyhow::Result<Vec<Simulator>> {
    let mut units: Vec<String> = store.unit_buildings().await?.into_keys().collect();
    units.sort();
    units.truncate(247);
    let mut sims = Vec::new();
    let mut csv = String::from("meter,unit,kind,profile,gateway,unit_id\n");
    for (id, name, kind, profile, prefix) in GATEWAYS {
        let profile_def = (config.profiles.get(profile).cloned())
            .with_context(|| format!("built-in profile `{profile}`"))?;
        let meters: Vec<SimDevice> = (1..=units.len())
            .filter_map(|u| {
                Some(SimDevice {
                    unit_id: u8::try_from(u).ok()?,
                    profile: Arc::clone(&profile_def),
                })
            })
            .collect();
        let sim = Simulator::start("127.0.0.1:0".parse()?, &meters).await?;
        config.gateways.push(GatewayConfig {
            id: id.to_owned(),
            name: name.to_owned(),
            transport: Transport::Tcp,
            address: sim.addr().to_string(),
            serial: None,
            poll_interval: Duration::from_secs(10),
            timeout: Duration::from_millis(500),
            comm_loss_after: 2,
        });
        for (i, unit) in units.iter().enumerate() {
            let meter = format!("{prefix}_{}", unit.replace('-', "_"));
            csv.push_str(&format!("{meter},{unit},{kind},{profile},{id},{}\n", i + 1));
        }
        sims.push(sim);
    }
    if store.meters().await?.is_empty() && !units.is_empty() {
        let t = config.register_targets();
        let known = crate::customers::meters::Known {
            gateways: t.gateways,
            profiles: t.profiles,
            units: units.iter().cloned().collect(),
            devices: t.devices,
        };
        let meters =
            crate::customers::import_meters(store, csv, &known, "demo", chrono::Utc::now())
                .await
                .map_err(|e| anyhow::anyhow!("demo meters: {e}"))?;
        tracing::info!(meters = meters.len(), "demo meter register loaded");
    }
    Ok(sims)
}
