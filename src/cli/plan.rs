//! The demo's site plan: building 1's basement (B1) with its pump, leak sensor, water
//! meter, main energy meter and the pump-room checkpoint placed on it. The image is an
//! original drawing made by `scripts/demo_plan.py`.

use chrono::Utc;

use crate::store::{MarkerRow, PlanRow, Store, StoredFile};

const IMAGE: &[u8] = include_bytes!("../../examples/demo/plan-1-B1.png");

/// What sits where on the drawing, as fractions of its width and height.
const MARKERS: &[(&str, &str, f64, f64)] = &[
    ("device", "pump_1", 0.19, 0.25),
    ("device", "leak_b1_pump_room", 0.09, 0.37),
    ("device", "wm_main", 0.42, 0.51),
    ("device", "em_b1", 0.46, 0.18),
    ("checkpoint", "b1_pump_room", 0.28, 0.48),
];

/// Puts the demo's plan in a database that has none for building 1, floor B1.
pub(super) async fn seed_demo(store: &Store) -> anyhow::Result<()> {
    if store.plan("1", "B1").await?.is_some() {
        return Ok(());
    }
    let now = Utc::now().timestamp_millis();
    let file = StoredFile::new("image/png", IMAGE.to_vec());
    store.insert_file(&file, "demo", now).await?;
    let plan = PlanRow {
        building: "1".into(),
        floor: "B1".into(),
        file_id: file.id,
        updated_by: "demo".into(),
        updated_ms: now,
    };
    store.set_plan_image(&plan).await?;
    let markers: Vec<MarkerRow> = MARKERS
        .iter()
        .map(|(kind, id, x, y)| MarkerRow {
            kind: (*kind).into(),
            item_id: (*id).into(),
            x: *x,
            y: *y,
        })
        .collect();
    store
        .set_plan_markers("1", "B1", &markers, "demo", now)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A renamed demo device would leave its marker pointing at nothing.
    #[test]
    fn every_demo_marker_names_a_device_or_checkpoint_of_the_demo() {
        let config = super::super::demo_config().expect("demo config");
        for (kind, id, x, y) in MARKERS {
            let known = match *kind {
                "device" => config.devices.iter().any(|d| d.config.id == *id),
                _ => config.patrol.checkpoints.iter().any(|c| c.id == *id),
            };
            assert!(known, "{kind} {id}");
            assert!((0.0..=1.0).contains(x) && (0.0..=1.0).contains(y), "{id}");
        }
        assert!(IMAGE.starts_with(b"\x89PNG\r\n\x1a\n"));
    }
}
