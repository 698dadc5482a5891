//! Device I/O: profiles (register maps as data), decoding, the Modbus poller and the
//! built-in simulated plant.

pub mod decode;
pub mod modbus;
mod plant;
pub mod profile;
pub mod simulator;

use std::sync::Arc;

use sitewatch_core::points::{DeviceSpec, PointSpec};

use crate::config::Device;

/// The hub's view of the configured devices and their points.
pub fn specs(devices: &[Device]) -> (Vec<DeviceSpec>, Vec<PointSpec>) {
    let device_specs = devices
        .iter()
        .map(|d| DeviceSpec {
            id: d.config.id.clone(),
            comm_loss_after: d.config.modbus.comm_loss_after,
        })
        .collect();
    let point_specs = devices
        .iter()
        .flat_map(|d| {
            d.profile.points.iter().map(|p| PointSpec {
                id: format!("{}.{}", d.config.id, p.name),
                device: d.config.id.clone(),
                unit: p.unit.clone(),
                // Polled points go comm-lost, not stale; staleness is for pushed values.
                stale_after: None,
                history_deadband: p.deadband,
                history_heartbeat: chrono::Duration::minutes(5),
            })
        })
        .collect();
    (device_specs, point_specs)
}

/// The simulator's view of the configured devices.
pub fn sim_devices(devices: &[Device]) -> Vec<simulator::SimDevice> {
    devices
        .iter()
        .map(|d| simulator::SimDevice {
            unit_id: d.config.modbus.unit_id,
            profile: Arc::clone(&d.profile),
        })
        .collect()
}
