//! Device I/O: reading devices through their profiles (`config::profile`, register maps
//! and MQTT bindings as data): decoding, the Modbus poller, the MQTT source, NFC readers and the built-in simulated plant and sensors.

pub mod binding;
pub mod decode;
pub mod modbus;
pub mod mqtt;
pub mod nfc;
pub mod payload;
mod plant;
pub mod sensors;
pub mod simulator;
pub mod throttle;
pub mod topics;

use std::sync::Arc;

use sitewatch_core::points::{DeviceSpec, PointSpec};

use crate::config::Device;

/// The hub's view of the configured devices and their points.
pub fn specs(devices: &[Device]) -> (Vec<DeviceSpec>, Vec<PointSpec>) {
    let device_specs = devices
        .iter()
        .map(|d| DeviceSpec {
            id: d.config.id.clone(),
            // MQTT devices never miss a poll; staleness speaks for them.
            comm_loss_after: d.config.modbus.as_ref().map_or(1, |m| m.comm_loss_after),
        })
        .collect();
    let point_specs = devices
        .iter()
        .filter(|d| d.config.modbus.is_some())
        .flat_map(|d| {
            d.profile.points.iter().map(|p| PointSpec {
                id: d.point_id(&p.name).into(),
                device: d.config.id.clone(),
                unit: p.unit.clone(),
                // Polled points go comm-lost, not stale; staleness is for pushed values.
                stale_after: None,
                history_deadband: p.deadband,
                history_heartbeat: chrono::Duration::minutes(5),
            })
        })
        .chain(devices.iter().flat_map(mqtt_specs))
        .collect();
    (device_specs, point_specs)
}

fn mqtt_specs(d: &Device) -> impl Iterator<Item = PointSpec> + '_ {
    let mqtt = d.config.mqtt.as_ref();
    let points = if mqtt.is_some() {
        d.profile.mqtt_points.as_slice()
    } else {
        &[]
    };
    let device_stale = mqtt.and_then(|m| m.stale_after);
    points.iter().map(move |p| PointSpec {
        id: d.point_id(&p.name).into(),
        device: d.config.id.clone(),
        unit: p.unit.clone(),
        stale_after: device_stale
            .or(p.stale_after)
            .and_then(|s| chrono::Duration::from_std(s).ok()),
        history_deadband: p.deadband,
        history_heartbeat: chrono::Duration::minutes(5),
    })
}

/// The simulator's view of the configured devices.
pub fn sim_devices(devices: &[Device]) -> Vec<simulator::SimDevice> {
    devices
        .iter()
        .filter_map(|d| {
            Some(simulator::SimDevice {
                unit_id: d.config.modbus.as_ref()?.unit_id,
                profile: Arc::clone(&d.profile),
            })
        })
        .collect()
}
